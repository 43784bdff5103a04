"""A node's processes die with it, even when its worker is killed with SIGKILL.

A real worker process runs the node agent; the node's command forks children and grandchildren
(one of them leaves the process group with setsid); the worker is killed with ``kill -9``.
Sandboxed, bubblewrap dies with the worker and takes the whole PID namespace with it.
Unsandboxed, the command itself dies with the worker (PR_SET_PDEATHSIG) and what it left in its
process group is killed by ``leftovers_kill``, which the heartbeat reaper calls for a lost node.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

from jobs.runtime.agent import leftovers_kill, run_node
from tests.runtime.test_agent import Recorder, assignment, wait_until

WORKER = r'''
import json, sys
from pathlib import Path
from jobs.runtime.agent import NodeAssignment, run_node
from jobs.specs import load_command_job

args = json.loads(sys.argv[1])


class Printer:
    def phase(self, status): pass
    def log(self, text): pass
    def system(self, message): pass
    def poll(self): return False
    def started(self, pid): print(pid, flush=True)


spec = load_command_job(args["yaml"])
run_node(NodeAssignment(job_name="orphans", root_job_name="orphans", experiment_name="e", workspace_name="w",
                        spec=spec.to_dict(), work_root=Path(args["work"]), artifacts_dir=Path(args["artifacts"]),
                        sandbox=args["sandbox"]), Printer())
'''

COMMAND = "bash -c 'sleep 600 & wait' & (setsid sleep 600 &); sleep 600"


def marked(marker: str) -> list[int]:
    """Live processes (not zombies) whose environment carries ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"MARKER={marker}".encode() not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
        except OSError:
            continue
        found.append(int(entry.name))
    return found


def start_worker(tmp_path: Path, mode: str) -> tuple[subprocess.Popen, int, str]:
    marker = uuid.uuid4().hex
    yaml_text = (f"command: {json.dumps(COMMAND)}\nenvironment:\n  image: python\n"
                 f"environment_variables:\n  MARKER: {marker}\n")
    args = {"yaml": yaml_text, "work": str(tmp_path / "work"), "artifacts": str(tmp_path / "artifacts"),
            "sandbox": mode}
    worker = subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(args)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    pgid = int(worker.stdout.readline())
    # bash, its child bash, the two sleeps under it... and the one that left the group
    assert wait_until(lambda: len(marked(marker)) >= 4), marked(marker)
    return worker, pgid, marker


def test_it_takes_a_sandboxed_node_down_with_its_worker(tmp_path, bwrap):
    worker, _, marker = start_worker(tmp_path, "auto")
    worker.kill()
    worker.wait()
    assert wait_until(lambda: not marked(marker)), f"still running: {marked(marker)}"


def test_it_kills_what_an_unsandboxed_node_left_in_its_group(tmp_path):
    worker, pgid, marker = start_worker(tmp_path, "off")

    def escaped() -> list[int]:
        return [pid for pid in marked(marker) if os.getpgid(pid) != pgid]

    assert wait_until(lambda: len(escaped()) == 1)  # the setsid has happened
    escaped = escaped()
    worker.kill()
    worker.wait()
    assert wait_until(lambda: pgid not in marked(marker)), "the command did not die with its worker"
    leftovers_kill(pgid=pgid, run_id="orphans", node_index=0)
    assert wait_until(lambda: set(marked(marker)) <= set(escaped)), f"still running: {marked(marker)}"
    for pid in escaped:  # setsid left the group: out of reach without a sandbox (this test's own tidying)
        os.kill(pid, signal.SIGKILL)


def test_it_leaves_a_group_alone_that_is_not_the_nodes(tmp_path):
    """A recycled group id: processes without the node's run id and rank in their environment."""
    other = subprocess.Popen(["sleep", "600"], start_new_session=True, env={"AZUREML_RUN_ID": "orphans"})
    try:
        assert leftovers_kill(pgid=other.pid, run_id="orphans", node_index=0) == []
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_it_ends_what_the_command_left_running(tmp_path, sandbox_mode):
    """The command ends while a child it started still runs (and holds its output): the node ends
    too, and the child with it."""
    marker = uuid.uuid4().hex
    yaml_text = f"command: sleep 600 & echo started\nenvironment_variables:\n  MARKER: {marker}\n"
    rec, result = Recorder(), {}
    node = assignment(tmp_path, yaml_text, sandbox=sandbox_mode)
    thread = threading.Thread(target=lambda: result.update(outcome=run_node(node, rec)), daemon=True)
    thread.start()
    thread.join(60)  # a deadline for the condition, not a measured duration (the child sleeps 600 s)
    assert not thread.is_alive(), "the node waits for a child its command left behind"
    assert result["outcome"].status == "Completed" and rec.text == "started\n"
    assert wait_until(lambda: not marked(marker)), f"still running: {marked(marker)}"
