"""CLI tests.

Pure ones (arguments, output formatting, packing, extraction, the profile) need nothing. The
others run the CLI in-process (``run``) against the real studio (``studio``): pytest-django's
live server with the real API, a real user, token and workspace, state made through the real
services, and — where a job has to move — the real local executor (``local_executor``). A
command that must send nothing is pointed at ``nowhere``, where no studio listens.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import pytest

from studio.cli import main as cli_main
from studio.cli.commands import job as job_commands
from tests.cli.helpers import D2S_V3, ENVIRONMENT


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    """No saved profile and no connection settings from the developer's own environment."""
    monkeypatch.setenv("STUDIO_CONFIG", str(tmp_path / "config" / "profile.json"))
    for name in ("STUDIO_URL", "STUDIO_TOKEN", "STUDIO_CODE_MAX_BYTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(job_commands, "POLL_SECONDS", 0.05)


@pytest.fixture
def run(capsys):
    """Run the CLI in-process: (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli_main.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@dataclass
class Studio:
    """The live studio the CLI talks to, and the real services that give it something to show."""

    url: str
    token: str
    user: object
    workspace: object

    def token_for(self, user) -> str:
        from rest_framework.authtoken.models import Token

        return Token.objects.get_or_create(user=user)[0].key

    def submit(self, text: str = "command: echo hello\n", *, name: str | None = None, workspace=None):
        """Submit a job file as ``studio job create`` would (the scheduling cycle runs on commit)."""
        from jobs import services
        from jobs.specs import load_command_job
        from jobs.specs.overrides import with_name

        text = text if "environment:" in text else ENVIRONMENT + text
        spec = load_command_job(text, source="spec", overrides=with_name([], name))
        job = services.job_submit(user=self.user, workspace=workspace or self.workspace, spec=spec, spec_yaml=text)
        job.refresh_from_db()
        return job

    def job(self, name: str):
        from jobs.models import Job

        return Job.objects.get(name=name)

    def workspace_named(self, name: str):
        """Another workspace of ada's subscription, administered by her."""
        from quotas.services import workspace_ensure

        return workspace_ensure(subscription_name=self.workspace.subscription.name, workspace_name=name,
                                admin=self.user)


@pytest.fixture
def studio(live_server, user, workspace, data_dir, monkeypatch) -> Studio:
    """The real studio with ada's token in STUDIO_URL / STUDIO_TOKEN, as a user's shell would have."""
    from rest_framework.authtoken.models import Token

    studio = Studio(url=live_server.url, token=Token.objects.create(user=user).key, user=user, workspace=workspace)
    monkeypatch.setenv("STUDIO_URL", studio.url)
    monkeypatch.setenv("STUDIO_TOKEN", studio.token)
    return studio


@pytest.fixture
def busy(studio, set_quota):
    """Quota for one Standard_D2s_v3 (2 vCPUs of standardDSv3Family), taken by a job that holds it
    (admitted; no executor runs it): the next such job has to wait."""
    set_quota("standardDSv3Family", 2)
    blocker = studio.submit(D2S_V3, name="blocker")
    assert blocker.status == "Provisioning", blocker.pending_reason
    return blocker


@pytest.fixture
def nowhere(monkeypatch):
    """A studio address where nothing listens (the port is held, so nothing else takes it): a
    command pointed here that answers with its own error, not "cannot reach", sent nothing."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{held.getsockname()[1]}"
        monkeypatch.setenv("STUDIO_URL", url)
        monkeypatch.setenv("STUDIO_TOKEN", "t")
        yield url
