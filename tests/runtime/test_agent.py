"""The node agent runs real processes; a recording reporter stands in for the studio."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from jobs.runtime.agent import NodeAssignment, run_node
from jobs.specs import load_command_job
from tests.jobs.helpers import with_environment


class Recorder:
    """Records what the agent reports; ``cancel`` makes poll() ask the node to stop."""

    def __init__(self):
        self.phases: list[str] = []
        self.logs: list[str] = []
        self.system_lines: list[str] = []
        self.pid: int | None = None
        self.cancel = threading.Event()
        self.started_event = threading.Event()

    def phase(self, status):
        self.phases.append(status)

    def started(self, pid):
        self.pid = pid
        self.started_event.set()

    def log(self, text):
        self.logs.append(text)

    def system(self, message):
        self.system_lines.append(message)

    def poll(self):
        return self.cancel.is_set()

    @property
    def text(self):
        return "".join(self.logs)


def assignment(tmp_path: Path, yaml_text: str, **kwargs) -> NodeAssignment:
    spec = load_command_job(with_environment(yaml_text))
    return NodeAssignment(
        job_name="job1", root_job_name="job1", experiment_name="exp", workspace_name="ws",
        spec=spec.to_dict(), work_root=tmp_path / "work", artifacts_dir=tmp_path / "artifacts",
        timeout_seconds=spec.limits.timeout if spec.limits else None, **kwargs,
    )


def test_it_runs_the_command_and_keeps_logs_and_outputs(tmp_path):
    yaml_text = "command: echo hello && mkdir -p outputs && echo 42 > outputs/answer.txt\n"
    rec = Recorder()
    outcome = run_node(assignment(tmp_path, yaml_text), rec)
    assert outcome.status == "Completed" and outcome.exit_code == 0
    assert rec.text == "hello\n"
    assert rec.phases == ["Preparing", "Running", "Finalizing"]
    assert (tmp_path / "artifacts/outputs/answer.txt").read_text() == "42\n"
    assert (tmp_path / "artifacts/user_logs/std_log.txt").read_text() == "hello\n"
    assert not (tmp_path / "work/job1").exists(), "the working directory is removed after the node"
    assert any("worker's default Python" in line for line in rec.system_lines)


def test_it_reports_a_failing_command_with_its_exit_code(tmp_path):
    rec = Recorder()
    outcome = run_node(assignment(tmp_path, "command: echo oops >&2; exit 3\n"), rec)
    assert (outcome.status, outcome.exit_code, outcome.failure_kind) == ("Failed", 3, "user")
    assert "exited with code 3" in outcome.message
    assert rec.text == "oops\n"


def test_it_shows_the_job_its_variables_and_none_of_the_servers(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "server-secret")
    monkeypatch.setenv("DATABASE_URL", "postgres://secret")
    yaml_text = """
command: env | sort
inputs:
  lr: 0.01
environment_variables:
  MY_FLAG: "on"
"""
    rec = Recorder()
    run_node(assignment(tmp_path, yaml_text), rec)
    env = dict(line.split("=", 1) for line in rec.text.splitlines() if "=" in line)
    assert env["AZUREML_RUN_ID"] == "job1"
    assert env["AZUREML_ROOT_RUN_ID"] == "job1"
    assert env["AZUREML_ARM_WORKSPACE_NAME"] == "ws"
    assert env["AZURE_ML_INPUT_lr"] == "0.01"
    assert env["MY_FLAG"] == "on"
    assert "SECRET_KEY" not in env and "DATABASE_URL" not in env
    assert "server-secret" not in rec.text


def test_it_substitutes_inputs_and_outputs(tmp_path):
    yaml_text = """
command: echo ${{inputs.greeting}} > ${{outputs.result}}/out.txt
inputs:
  greeting: bonjour
outputs:
  result:
    type: uri_folder
"""
    outcome = run_node(assignment(tmp_path, yaml_text), Recorder())
    assert outcome.status == "Completed", outcome.message
    assert (tmp_path / "artifacts/named-outputs/result/out.txt").read_text() == "bonjour\n"


def test_it_copies_the_code_snapshot_into_a_fresh_directory(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text("print('training', open('data.txt').read())\n")
    (code / "data.txt").write_text("ok")
    rec = Recorder()
    outcome = run_node(assignment(tmp_path, "command: python train.py\n", code_dir=code), rec)
    assert outcome.status == "Completed", rec.text
    assert rec.text == "training ok\n"


def live_members(pgid: int) -> list[int]:
    """Processes of the group that still run (a killed one may stay a zombie until init reaps it)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            members.append(int(stat.parent.name))
    return members


def wait_until(condition, timeout: float = 15.0) -> bool:
    """Wait for a condition (the deadline only keeps a broken build from hanging)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_it_enforces_the_timeout_on_the_whole_process_group(tmp_path):
    rec = Recorder()
    yaml_text = "command: sleep 300 > /dev/null 2>&1 & sleep 30\nlimits:\n  timeout: 1\n"  # the child holds no pipe
    outcome = run_node(assignment(tmp_path, yaml_text), rec)
    assert (outcome.status, outcome.failure_kind) == ("Failed", "timeout")
    assert "limits.timeout" in outcome.message
    # the backgrounded child (sleep 300) was in the node's process group: it is stopped too
    assert wait_until(lambda: not live_members(rec.pid)), f"still running: {live_members(rec.pid)}"


def test_it_stops_the_process_group_when_canceled(tmp_path):
    rec = Recorder()
    result = {}
    node = assignment(tmp_path, "command: sleep 600\n")
    thread = threading.Thread(target=lambda: result.update(o=run_node(node, rec)), daemon=True)
    thread.start()
    assert rec.started_event.wait(30)
    rec.cancel.set()
    thread.join(60)  # a deadline for the condition, not a measured duration (the command sleeps 600 s)
    assert not thread.is_alive(), "the node still runs after its cancel"
    assert result["o"].status == "Canceled"
    with pytest.raises(ProcessLookupError):
        os.killpg(rec.pid, 0)


def test_it_fails_with_a_reason_when_an_input_cannot_be_found(tmp_path):
    yaml_text = """
command: cat ${{inputs.data}}
inputs:
  data:
    type: uri_file
    path: azureml://datastores/workspaceblobstore/paths/missing.csv
"""
    a = assignment(tmp_path, yaml_text, datastores_dir=tmp_path / "datastores")
    outcome = run_node(a, Recorder())
    assert (outcome.status, outcome.failure_kind) == ("Failed", "infrastructure")
    assert "inputs.data" in outcome.message and "workspaceblobstore" in outcome.message


def test_it_reads_datastore_inputs(tmp_path):
    store = tmp_path / "datastores/workspaceblobstore/example-data"
    store.mkdir(parents=True)
    (store / "iris.csv").write_text("a,b\n1,2\n")
    yaml_text = """
command: cat ${{inputs.data}}
inputs:
  data:
    type: uri_file
    path: azureml://datastores/workspaceblobstore/paths/example-data/iris.csv
"""
    rec = Recorder()
    outcome = run_node(assignment(tmp_path, yaml_text, datastores_dir=tmp_path / "datastores"), rec)
    assert outcome.status == "Completed", outcome.message
    assert rec.text == "a,b\n1,2\n"


def test_it_sets_distributed_variables_per_node(tmp_path):
    yaml_text = """
command: echo $WORLD_SIZE $RANK $NODE_RANK $MASTER_ADDR
resources:
  instance_count: 2
distribution:
  type: pytorch
  process_count_per_instance: 1
"""
    rec = Recorder()
    run_node(assignment(tmp_path, yaml_text, node_index=1, node_count=2), rec)
    assert rec.text.split() == ["2", "1", "1", "127.0.0.1"]
