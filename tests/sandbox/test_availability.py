"""Where bubblewrap is missing or cannot make a sandbox, nodes still run (or, with
STUDIO_SANDBOX=require, are refused) and everything that reports on nodes says so plainly."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from jobs.runtime import sandbox
from jobs.runtime.agent import run_node
from tests.runtime.test_agent import Recorder, assignment

CONTAINER_BWRAP = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "bubblewrap 0.8.0"; exit 0; fi
echo "bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces." >&2
exit 1
"""


@pytest.fixture
def no_bwrap(tmp_path, monkeypatch):
    """A machine without bubblewrap: a PATH with bash on it, and nothing else."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bash").symlink_to(shutil.which("bash"))
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


@pytest.fixture
def broken_bwrap(no_bwrap):
    """bubblewrap installed where it cannot create namespaces (a container, a locked-down kernel)."""
    fake = no_bwrap / "bwrap"
    fake.write_text(CONTAINER_BWRAP)
    fake.chmod(0o755)
    return fake


def test_it_runs_unsandboxed_and_says_so_when_bubblewrap_is_missing(tmp_path, no_bwrap):
    rec = Recorder()
    outcome = run_node(assignment(tmp_path, "command: echo ran\n"), rec)
    assert outcome.status == "Completed" and rec.text == "ran\n"
    note = next(line for line in rec.system_lines if "sandboxed" in line)
    assert "node 0 is NOT sandboxed: bubblewrap (bwrap) is not installed" in note
    assert "apt-get install bubblewrap" in note


def test_it_refuses_to_start_a_node_when_a_sandbox_is_required(tmp_path, no_bwrap):
    rec = Recorder()
    outcome = run_node(assignment(tmp_path, f"command: touch {tmp_path}/ran\n", sandbox="require"), rec)
    assert (outcome.status, outcome.failure_kind) == ("Failed", "infrastructure")
    assert "NOT started: STUDIO_SANDBOX=require and bubblewrap (bwrap) is not installed" in outcome.message
    assert "apt-get install bubblewrap" in outcome.message
    assert not (tmp_path / "ran").exists() and rec.pid is None


def test_it_says_why_bubblewrap_cannot_make_a_sandbox(tmp_path, broken_bwrap):
    found = sandbox.availability()
    assert not found.available and "No permissions to create new namespace" in found.reason
    rec = Recorder()
    outcome = run_node(assignment(tmp_path, "command: echo ran\n"), rec)
    assert outcome.status == "Completed" and rec.text == "ran\n"
    assert any("NOT sandboxed" in line and "No permissions to create new namespace" in line
               for line in rec.system_lines)


def test_it_runs_unsandboxed_when_switched_off(tmp_path, bwrap):
    rec = Recorder()
    outcome = run_node(assignment(tmp_path, "command: echo ran\n", sandbox="off"), rec)
    assert outcome.status == "Completed"
    assert any("NOT sandboxed: STUDIO_SANDBOX=off" in line for line in rec.system_lines)


def test_it_tells_healthz_whether_nodes_are_sandboxed(client, no_bwrap, settings):
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["sandbox"] == {"mode": "auto", "available": False, "sandboxed": False,
                               "reason": "bubblewrap (bwrap) is not installed on this machine",
                               "fix": sandbox.FIX, "bubblewrap": ""}
    assert "apt-get install bubblewrap" in body["sandbox"]["fix"]


def test_it_tells_healthz_when_nodes_are_sandboxed(client, bwrap):
    assert client.get("/healthz").json()["sandbox"] == {
        "mode": django_settings.STUDIO_SANDBOX, "available": True, "sandboxed": True, "reason": "", "fix": "",
        "bubblewrap": bwrap.version}


def test_it_says_at_startup_whether_nodes_are_sandboxed(no_bwrap):
    assert sandbox.describe("auto").startswith("nodes are NOT sandboxed: bubblewrap (bwrap) is not installed")
    assert "apt-get install bubblewrap" in sandbox.describe("auto")
    assert sandbox.describe("require").startswith("nodes are NOT started: STUDIO_SANDBOX=require")


@pytest.mark.skipif(os.geteuid() != 0, reason="as an ordinary user, every sandboxed test already runs this way")
def test_it_sandboxes_a_node_started_by_an_ordinary_user(bwrap):
    """The laptop case: bubblewrap run by an unprivileged user makes a user namespace. The studio runs
    as root here, so a process that became ``nobody`` builds and runs the same command line."""
    folder = Path(tempfile.mkdtemp(prefix="studio-laptop-"))
    try:
        os.chown(folder, 65534, 65534)
        script = (
            "import subprocess, sys\n"
            "from pathlib import Path\n"
            f"sys.path.insert(0, {str(django_settings.BASE_DIR)!r})\n"
            "from jobs.runtime import sandbox\n"
            f"layout = sandbox.Layout(root=Path({str(folder)!r}), workdir=Path({str(folder)!r}))\n"
            "print(sandbox.availability().available, flush=True)\n"
            "command = 'id -u; grep CapEff /proc/self/status; echo made > out; "
            "unshare -U true 2>/dev/null && echo nested || echo no-nested; ls /proc | grep -c ^[0-9]'\n"
            "subprocess.run(sandbox.command(['/bin/sh', '-c', command], layout, bwrap='/usr/bin/bwrap'),"
            " env={'PATH': '/usr/bin:/bin'}, check=True)\n"
        )
        shown = subprocess.run(["/usr/bin/python3", "-c", script], user=65534, group=65534, extra_groups=[],
                               capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, cwd="/")
        assert shown.returncode == 0, shown.stderr
        available, uid, caps, nested, processes = shown.stdout.split("\n")[:5]
        assert (available, uid, caps.split()[-1], nested) == ("True", "65534", "0000000000000000", "no-nested")
        assert int(processes) <= 4  # its own PID namespace: bubblewrap's init, the shell, ls, grep
        assert (folder / "out").read_text() == "made\n" and (folder / "out").stat().st_uid == 65534
    finally:
        shutil.rmtree(folder, ignore_errors=True)

