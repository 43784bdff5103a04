"""A node's working folder is removed however the node ends: completed, failed to prepare, refused a
sandbox, canceled, crashed in the agent, or declared lost (the next sweep on that machine)."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import uuid

import pytest
from django.utils import timezone

from jobs import storage
from jobs.executors import work_folders_sweep
from jobs.lifecycle import Status
from jobs.runtime.agent import run_node
from tests.runtime.test_agent import Recorder, assignment, wait_until
from tests.runtime.test_no_orphans import marked
from tests.tracking.conftest import make_job  # noqa: F401  (a fixture)


def test_it_removes_the_folder_when_preparation_fails(tmp_path):
    yaml_text = "command: cat ${{inputs.data}}\ninputs:\n  data:\n    type: uri_folder\n    path: ./missing\n"
    outcome = run_node(assignment(tmp_path, yaml_text), Recorder())
    assert (outcome.status, outcome.failure_kind) == ("Failed", "infrastructure")
    assert not (tmp_path / "work" / "job1").exists()


def test_it_removes_the_folder_when_a_sandbox_is_required_and_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap here
    outcome = run_node(assignment(tmp_path, "command: echo hi\n", sandbox="require"), Recorder())
    assert (outcome.status, outcome.failure_kind) == ("Failed", "infrastructure")
    assert not (tmp_path / "work" / "job1").exists()


def test_it_removes_the_folder_and_stops_the_command_when_the_agent_fails(tmp_path, sandbox_mode):
    class Broken(Recorder):
        def phase(self, status):  # the studio cannot be told the node runs (a database error, say)
            if status == "Running":
                raise RuntimeError("database is gone")
            super().phase(status)

    marker = uuid.uuid4().hex
    yaml_text = f"command: sleep 600 & sleep 600\nenvironment_variables:\n  MARKER: {marker}\n"
    with pytest.raises(RuntimeError):
        run_node(assignment(tmp_path, yaml_text, sandbox=sandbox_mode), Broken())
    assert not (tmp_path / "work" / "job1").exists()
    assert wait_until(lambda: not marked(marker)), f"still running: {marked(marker)}"


def test_it_removes_the_folder_when_canceled(tmp_path, sandbox_mode):
    rec = Recorder()
    node = assignment(tmp_path, "command: sleep 600\n", sandbox=sandbox_mode)
    thread = threading.Thread(target=run_node, args=(node, rec), daemon=True)
    thread.start()
    assert rec.started_event.wait(30)
    assert (tmp_path / "work" / "job1" / "node-0" / "wd").is_dir()
    rec.cancel.set()
    thread.join(60)
    assert not thread.is_alive() and not (tmp_path / "work" / "job1").exists()


@pytest.mark.django_db
def test_it_sweeps_the_folders_and_processes_that_ended_nodes_left(make_job, data_dir):
    """A worker killed mid-run leaves its node's folder and (unsandboxed) its children; once the node is
    declared lost, the sweep on that machine removes both. Live nodes and other machines' are kept."""
    from jobs.models import Node

    here = socket.gethostname()

    def node_with_folder(name, status, worker):
        node = Node.objects.create(job=make_job(name=name), index=0, status=status, worker=worker,
                                   heartbeat_at=timezone.now())
        folder = storage.work_root() / name / "node-0"
        (folder / "wd").mkdir(parents=True)
        return node, folder

    lost, lost_folder = node_with_folder("lost", Status.FAILED, f"local:{here}:1")
    leftover = subprocess.Popen(["sleep", "600"], start_new_session=True,
                                env={"AZUREML_RUN_ID": "lost", "AZUREML_NODE_RANK": "0"})
    Node.objects.filter(id=lost.id).update(pid=leftover.pid)
    _, live_folder = node_with_folder("live", Status.RUNNING, f"local:{here}:1")
    _, elsewhere_folder = node_with_folder("elsewhere", Status.FAILED, "celery:another-machine:7")
    stray = storage.work_root() / "deleted-job" / "node-0"
    stray.mkdir(parents=True)
    try:
        assert work_folders_sweep() == 2
        assert leftover.wait(timeout=30) == -signal.SIGKILL
    finally:
        if leftover.poll() is None:
            leftover.kill()
    assert not lost_folder.parent.exists() and not stray.parent.exists()
    assert live_folder.is_dir() and elsewhere_folder.is_dir()
