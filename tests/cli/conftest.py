"""CLI tests: no Django, no database; the studio is a FakeStudio (tests/cli/fakes.py)."""

from __future__ import annotations

import pytest

from studio.cli import main as cli_main
from studio.cli.commands import job as job_commands
from tests.cli.fakes import FakeStudio

collect_ignore: list[str] = []


@pytest.fixture(autouse=True)
def _local_executor_by_default():
    """Overrides the project-wide autouse fixture, which needs Django's settings: these tests
    run without Django (``-p no:django``) and start no executor."""


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    """No saved profile and no connection settings from the developer's own environment."""
    monkeypatch.setenv("STUDIO_CONFIG", str(tmp_path / "config" / "profile.json"))
    for name in ("STUDIO_URL", "STUDIO_TOKEN", "STUDIO_CODE_MAX_BYTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(job_commands, "POLL_SECONDS", 0.01)


@pytest.fixture
def studio():
    fake = FakeStudio()
    yield fake
    fake.close()


@pytest.fixture
def run(capsys):
    """Run the CLI in-process: (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli_main.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
