"""Jobs really run: the API, the scheduling service and a real executor, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from jobs.lifecycle import Status
from jobs.models import Job, Node
from tests.jobs.helpers import tar_gz, wait_for_status, with_environment

pytestmark = pytest.mark.django_db(transaction=True)


def submit(api, text, **files):
    response = api.post("/api/v1/jobs", {"spec": with_environment(text), **files}, format="multipart")
    assert response.status_code == 201, response.json()
    return response.json()["name"]


def test_it_runs_a_command_job_on_the_local_executor(api, local_executor):
    name = submit(api, "command: echo hello from $AZUREML_RUN_ID && echo done > outputs/result.txt\n")
    job = wait_for_status(name)
    assert job.status == Status.COMPLETED, job.error
    assert api.get(f"/api/v1/jobs/{name}/logs").json()["text"] == f"hello from {name}\n"
    paths = [f["path"] for f in api.get(f"/api/v1/jobs/{name}/outputs").json()]
    assert paths == ["outputs/result.txt", "user_logs/std_log.txt"]
    events = list(job.events.values_list("message", flat=True))
    assert any("worker's default Python" in e for e in events)
    assert Node.objects.get(job=job).worker == local_executor.name


def test_it_runs_uploaded_code_and_data(api, local_executor):
    text = """
code: src
command: python train.py --data ${{inputs.data}} --out ${{outputs.model}}
inputs:
  data:
    type: uri_folder
    path: ./data
outputs:
  model:
    type: uri_folder
"""
    code = tar_gz({"train.py": (
        "import argparse, os, pathlib\n"
        "p = argparse.ArgumentParser(); p.add_argument('--data'); p.add_argument('--out'); a = p.parse_args()\n"
        "rows = pathlib.Path(a.data, 'rows.csv').read_text().splitlines()\n"
        "pathlib.Path(a.out, 'model.txt').write_text(str(len(rows)))\n"
        "print('trained on', len(rows), 'rows')\n")})
    data = tar_gz({"rows.csv": "1\n2\n3\n"})
    name = submit(api, text, code=code, **{"inputs.data": data})
    job = wait_for_status(name)
    assert job.status == Status.COMPLETED, job.error
    assert api.get(f"/api/v1/jobs/{name}/logs").json()["text"] == "trained on 3 rows\n"
    response = api.get(f"/api/v1/jobs/{name}/outputs/named-outputs/model/model.txt")
    assert b"".join(response.streaming_content) == b"3"


def test_it_reports_a_failing_command(api, local_executor):
    name = submit(api, "command: echo about to fail; exit 7\n")
    job = wait_for_status(name)
    assert (job.status, job.exit_code, job.failure_kind) == (Status.FAILED, 7, "user")
    assert api.get(f"/api/v1/jobs/{name}/logs").json()["finished"] is True


def test_it_stops_a_running_job_that_is_canceled(api, local_executor):
    name = submit(api, "command: echo started; sleep 120; echo never printed\n")
    wait_for_status(name, {Status.RUNNING})
    assert api.post(f"/api/v1/jobs/{name}/cancel").json()["status"] == Status.CANCEL_REQUESTED
    job = wait_for_status(name)  # long before the command's own two minutes: its process group was stopped
    assert (job.status, job.failure_kind) == (Status.CANCELED, "canceled")
    assert "never printed" not in api.get(f"/api/v1/jobs/{name}/logs").json()["text"]


def test_it_times_out(api, local_executor):
    job = wait_for_status(submit(api, "command: sleep 60\nlimits:\n  timeout: 1\n"), timeout=15)
    assert (job.status, job.failure_kind) == (Status.FAILED, "timeout")


def test_it_keeps_nodes_provisioning_while_local_slots_are_full(api, local_executor):
    local_executor.max_nodes = 1
    first = submit(api, "command: sleep 60\n")
    wait_for_status(first, {Status.RUNNING})
    second = submit(api, "command: echo second\n")
    wait_for_status(second, {Status.PROVISIONING})
    assert Job.objects.get(name=second).status == Status.PROVISIONING
    api.post(f"/api/v1/jobs/{first}/cancel")
    assert wait_for_status(second).status == Status.COMPLETED


def _database_url_for_subprocess() -> str:
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(settings_dict['NAME']).resolve()}"
    url = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(url._replace(path="/" + settings_dict["NAME"]))


@pytest.fixture
def celery_worker(data_dir, broker_url, settings, tmp_path):
    """A real Celery worker process on the broker, sharing the test database and data folder."""
    from studio.celery import app

    settings.STUDIO_EXECUTOR = "celery"
    app.conf.broker_url = broker_url
    app.control.purge()
    env = {**os.environ, "DATABASE_URL": _database_url_for_subprocess(), "CELERY_BROKER_URL": broker_url,
           "STUDIO_DATA_DIR": str(data_dir), "STUDIO_HEARTBEAT_SECONDS": "0.3"}
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "studio", "worker", "-c", "2",
             "--pool", "threads", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    worker.log_path = log_path
    yield worker
    if worker.poll() is None:
        worker.terminate()
        worker.wait(timeout=20)


def test_it_runs_the_same_job_on_a_celery_worker(api, celery_worker):
    name = submit(api, "command: echo hello from celery\n")
    job = wait_for_status(name, timeout=60)
    assert job.status == Status.COMPLETED, (job.error, celery_worker.log_path.read_text())
    assert api.get(f"/api/v1/jobs/{name}/logs").json()["text"] == "hello from celery\n"
    assert Node.objects.get(job=job).worker.startswith("celery:")


def test_it_fails_a_job_whose_worker_dies_instead_of_running_forever(api, celery_worker, settings):
    from jobs.executors import LocalExecutor

    settings.STUDIO_NOT_RESPONDING_SECONDS = 1.5
    settings.STUDIO_NODE_LOST_SECONDS = 4
    scheduler = LocalExecutor(max_nodes=0, interval=0.2)  # the scheduling loop alone, as with Celery
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    try:
        name = submit(api, "command: sleep 120\n")
        wait_for_status(name, {Status.RUNNING}, timeout=60)
        celery_worker.kill()
        celery_worker.wait()
        assert wait_for_status(name, {Status.NOT_RESPONDING}, timeout=10).status == Status.NOT_RESPONDING
        job = wait_for_status(name, timeout=15)
        assert (job.status, job.failure_kind) == (Status.FAILED, "infrastructure")
        assert "stopped responding" in job.error
    finally:
        scheduler.stop.set()
        thread.join(timeout=10)
