"""``runstudio`` killed or stopped: its web server never outlives it, a new one starts cleanly on the
same port, and a job it was running is requeued, not failed (the embedded local executor)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from jobs.lifecycle import TERMINAL, Cause, Status
from jobs.models import Job, JobEvent, Node
from tests.faults.conftest import free_port, none_left, submit, wait_until


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                pass
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def runstudio(processes, settings):
    settings.STUDIO_HEARTBEAT_SECONDS = 0.3

    def start(port: int, name: str = "runstudio", *options: str) -> subprocess.Popen:
        return processes.start(name, [sys.executable, "manage.py", "runstudio", "--port", str(port),
                                      "--workers", "1", *options],
                               STUDIO_SCHEDULER_INTERVAL_SECONDS="0.3")
    return start


def test_a_killed_studio_takes_its_web_server_with_it_and_starts_again(runstudio, processes, marker):
    port = free_port()
    studio = runstudio(port)
    wait_until(lambda: serving(port), 30, f"the studio serving\n{processes.logs()}")
    web = children_of(studio.pid)
    assert web, "runstudio has no web server child"
    studio.send_signal(signal.SIGKILL)
    studio.wait(10)
    wait_until(lambda: not any(alive(pid) for pid in web), 15, "the web server exiting with its studio")
    assert not serving(port)

    again = runstudio(port, "runstudio-again")
    wait_until(lambda: serving(port), 30, f"a new studio serving on the same port\n{processes.logs()}")
    assert "Connection in use" not in again.log_path.read_text()
    again.send_signal(signal.SIGTERM)
    assert again.wait(30) == 0, processes.logs()
    assert "GET /healthz" in again.log_path.read_text()  # the access log
    none_left(marker)


def test_a_studio_on_a_port_held_by_another_process_says_who_holds_it(runstudio, processes):
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        studio = runstudio(port, "runstudio", "--port-wait", "0.5")
        assert studio.wait(30) != 0
    output = studio.log_path.read_text()
    assert f"port {port} on 127.0.0.1 is in use by pid {os.getpid()} (" in output, output
    assert "Connection in use" not in output


def test_a_studio_stopped_with_sigterm_requeues_its_running_job(api, runstudio, processes, marker, data_dir):
    port = free_port()
    studio = runstudio(port)
    wait_until(lambda: serving(port), 30, f"the studio serving\n{processes.logs()}")
    name = submit(api, "sleep 2 && echo done", marker)
    wait_until(lambda: Job.objects.get(name=name).status == Status.RUNNING, 30,
               f"the job running\n{processes.logs()}")
    studio.send_signal(signal.SIGTERM)
    assert studio.wait(30) == 0, processes.logs()
    job = Job.objects.get(name=name)  # back in the queue (and admitted again at once: quota is free)
    assert job.status in (Status.QUEUED, Status.PROVISIONING), (job.status, job.error)
    assert JobEvent.objects.filter(job=job, code=Cause.REQUEUED).exists()

    again = runstudio(port, "runstudio-again")
    job = wait_until(lambda: Job.objects.filter(name=name, status__in=TERMINAL).first(), 40,
                     f"the job ending after the restart\n{processes.logs()}", interval=0.2)
    assert (job.status, job.attempt, job.evictions) == (Status.COMPLETED, 2, 0), job.error
    assert Node.objects.get(job=job, attempt=1).failure_kind == "interrupted"
    again.send_signal(signal.SIGTERM)
    assert again.wait(30) == 0, processes.logs()
    none_left(marker)
