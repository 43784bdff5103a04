"""The real components, started and broken by the tests: a Redis on a port of its own (restarted
at will, without persistence: a restart loses every message), Celery worker processes and
``runstudio`` pointed at the test database, and the scheduling loop in the test process.

Every process a test starts carries ``MARKER=<uuid>`` in its environment, and so does every job
(``environment_variables``): ``marked(marker)`` finds whatever is left behind."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import _require, running_executor
from tests.jobs.test_execution import _database_url_for_subprocess
from tests.runtime.test_no_orphans import marked

ROOT = Path(__file__).resolve().parents[2]


def wait_until(condition, timeout: float, what, interval: float = 0.05):
    """Poll ``condition`` until it returns something true; fail naming ``what`` after ``timeout``
    (a callable ``what`` says what it sees then, not what it saw when the wait began)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what() if callable(what) else what}: not within {timeout} s")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """``redis-server`` on its own port, no persistence: ``restart()`` loses every message."""

    def __init__(self, marker: str, log_dir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.marker = marker
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    def start(self) -> None:
        with open(self.log_dir / f"redis-{self.restarts}.log", "w") as log:
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "MARKER": self.marker})
        wait_until(self.ping, 10, f"redis-server on port {self.port} answering")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # a crash: nothing is saved
            self.proc.wait(10)

    def restart(self, down_for=None) -> None:
        """Kill it (everything queued is lost), run ``down_for()`` while it is down, start it again."""
        self.stop()
        if down_for is not None:
            down_for()
        self.restarts += 1
        self.start()


@pytest.fixture
def marker() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def redis_server(marker, tmp_path):
    _require("redis-server (Debian package redis-server)", shutil.which("redis-server") is not None)
    server = RedisServer(marker, tmp_path)
    server.start()
    yield server
    server.stop()


def subprocess_env(data_dir: Path, marker: str, **extra: str) -> dict:
    """The environment of a studio process on the test database and data folder."""
    env = {**os.environ, "DATABASE_URL": _database_url_for_subprocess(), "STUDIO_DATA_DIR": str(data_dir),
           "STUDIO_HEARTBEAT_SECONDS": "0.3", "MARKER": marker, **extra}
    if not extra.get("CELERY_BROKER_URL"):
        env.pop("CELERY_BROKER_URL", None)
    return env


class Processes:
    """Processes a test started; all of them are stopped (SIGKILL) at the end, whatever happened."""

    def __init__(self, tmp_path: Path, data_dir: Path, marker: str):
        self.tmp_path = tmp_path
        self.data_dir = data_dir
        self.marker = marker
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, args: list[str], **env: str) -> subprocess.Popen:
        log_path = self.tmp_path / f"{name}.log"
        with open(log_path, "w") as log:
            proc = subprocess.Popen(args, cwd=ROOT, env=subprocess_env(self.data_dir, self.marker, **env),
                                    stdout=log, stderr=subprocess.STDOUT)
        proc.log_path = log_path
        proc.name = name
        self.started.append(proc)
        return proc

    def worker(self, name: str, broker_url: str, *options: str) -> subprocess.Popen:
        return self.start(name, [sys.executable, "-m", "celery", "-A", "studio", "worker", "-n", f"{name}@%h",
                                 "--without-gossip", "--without-mingle", "--loglevel", "WARNING", *options],
                          CELERY_BROKER_URL=broker_url,
                          STUDIO_NODE_CLAIM_TIMEOUT_SECONDS="2")  # as the studio side (celery_studio) has it

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} (exit {p.poll()}):\n{p.log_path.read_text()[-3000:]}" for p in self.started)

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        for proc in self.started:
            proc.wait(10)


@pytest.fixture
def processes(tmp_path, data_dir, marker, transactional_db):
    started = Processes(tmp_path, data_dir, marker)
    yield started
    started.stop_all()


@pytest.fixture
def celery_studio(redis_server, settings, postgres, processes, monkeypatch):
    """The studio's side of a Celery deployment in this process: nodes are sent to our Redis, and
    the scheduling loop (reaper, resend) runs in a thread, as ``runstudio`` runs it."""
    from jobs.executors import LocalExecutor
    from studio.celery import app

    settings.STUDIO_EXECUTOR = "celery"
    settings.STUDIO_NODE_CLAIM_TIMEOUT_SECONDS = 2
    settings.STUDIO_NOT_RESPONDING_SECONDS = 1.5
    settings.STUDIO_NODE_LOST_SECONDS = 4
    previous = app.conf.broker_url
    monkeypatch.setenv("CELERY_BROKER_URL", redis_server.url)  # Celery reads it before its own setting
    app.conf.broker_url = redis_server.url
    _new_connections(app)
    with running_executor(LocalExecutor(max_nodes=0, interval=0.5)) as loop:
        yield loop
    processes.stop_all()
    app.conf.broker_url = previous
    _new_connections(app)


def _new_connections(app) -> None:
    """The app's connection and producer pools are made for one broker URL: start over with the new one."""
    app._pool = None
    app.amqp._producer_pool = None


def job_yaml(command: str, marker: str) -> str:
    return (f"command: {command}\nenvironment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest\n"
            f"environment_variables:\n  MARKER: {marker}\n")


def submit(api, command: str, marker: str) -> str:
    response = api.post("/api/v1/jobs", {"spec": job_yaml(command, marker)}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()["name"]


def outputs_per_node() -> dict[str, str]:
    """What each node printed, all runs together: a node that ran twice printed twice."""
    from jobs.models import LogChunk, Node

    texts = {str(node): "" for node in Node.objects.select_related("job")}
    for chunk in LogChunk.objects.select_related("node__job").order_by("node_id", "offset"):
        texts[str(chunk.node)] += chunk.text
    return texts


def none_left(marker: str, timeout: float = 15) -> None:
    wait_until(lambda: not marked(marker), timeout, f"processes left behind: {marked(marker)}")
