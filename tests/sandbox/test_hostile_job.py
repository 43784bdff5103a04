"""A job that tries what the probes of issue 9 did, run by the real studio in the real sandbox.

The studio's data folder sits where it does by default, inside a checkout beside ``var/secret-key``
and ``var/studio.db``; another user's job is running with its snapshot, outputs and work folder
there; the worker's environment holds server secrets. The job finds none of it and can change none
of it; its own run, outputs and log still work.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3

import pytest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from jobs import storage
from jobs.lifecycle import Status
from jobs.models import Job, JobEvent, MetricPoint, Node
from tests.jobs.helpers import tar_gz
from tests.tracking.conftest import run_job

pytestmark = pytest.mark.django_db(transaction=True)

SERVER_SECRETS = {
    "SECRET_KEY": "server-secret-key-d41d8cd98f00b204",
    "DATABASE_URL": "postgres://studio:db-password-5f4dcc3b@127.0.0.1:5432/studio",
    "CELERY_BROKER_URL": "redis://:broker-password-7c6a180b@127.0.0.1:6379/0",
}

PROBE = r'''
import json, os, signal, socket, sys, urllib.error, urllib.request

E = os.environ
report = {}


def probe(name, action):
    try:
        report[name] = {"ok": True, "got": action()}
    except Exception as exc:
        report[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


def read(path, mode="r"):
    with open(path, mode) as f:
        data = f.read()
    return data if isinstance(data, str) else data.decode("latin-1")


def write(path):
    with open(path, "w") as f:
        f.write("planted by a job")
    return path


def environs():
    seen = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                seen[pid] = read(f"/proc/{pid}/environ", "rb")
            except OSError:
                pass
    return seen


def post(token, run_id):
    body = json.dumps({"run_id": run_id, "key": "planted", "value": 1, "timestamp": 0, "step": 0}).encode()
    request = urllib.request.Request(E["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric", data=body,
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


checkout, base, data, victim = E["CHECKOUT"], E["BASE_DIR"], E["DATA_DIR"], E["VICTIM"]
probe("secret key", lambda: read(f"{checkout}/var/secret-key"))
probe("secret key, relative", lambda: read("../../../../../secret-key"))
probe("sqlite database", lambda: read(f"{checkout}/var/studio.db", "rb"))
probe("studio code", lambda: read(f"{base}/manage.py"))
probe("checkout listing", lambda: sorted(os.listdir(base)))
probe("postgres socket", lambda: socket.socket(socket.AF_UNIX).connect("/var/run/postgresql/.s.PGSQL.5432"))
probe("postgres socket folder", lambda: os.listdir("/run/postgresql"))
probe("parent environ", lambda: read(f"/proc/{os.getppid()}/environ", "rb"))
probe("pid 1 environ", lambda: read("/proc/1/environ", "rb"))
probe("every environ", environs)
probe("own environment", lambda: dict(os.environ))
probe("data folder listing", lambda: sorted(os.listdir(data)))
probe("work listing", lambda: sorted(os.listdir(f"{data}/work")))
probe("other job's outputs", lambda: read(f"{data}/artifacts/{victim}/outputs/secret.txt"))
probe("other job's snapshot", lambda: read(f"{data}/snapshots/{victim}/code/train.py"))
probe("other job's work folder", lambda: os.listdir(f"{data}/work/{victim}"))
probe("datastore", lambda: read(f"{data}/datastores/store/data.csv"))
probe("write the studio's code", lambda: write(f"{base}/jobs/planted.py"))
probe("write the checkout's code", lambda: write(f"{checkout}/jobs/planted.py"))
probe("write the studio's python", lambda: write(f"{sys.prefix}/planted.pth"))
probe("signal the studio", lambda: os.kill(int(E["STUDIO_PID"]), 0))
probe("see the studio", lambda: read(f"/proc/{E['STUDIO_PID']}/cmdline", "rb"))
probe("shadow passwords", lambda: read("/etc/shadow"))
probe("forged token", lambda: post(E["FORGED_TOKEN"], victim))
probe("own token on the other job", lambda: post(E["MLFLOW_TRACKING_TOKEN"], victim))
probe("own token on its own run", lambda: post(E["MLFLOW_TRACKING_TOKEN"], E["MLFLOW_RUN_ID"]))
os.makedirs("outputs", exist_ok=True)
with open("outputs/report.json", "w") as f:
    json.dump(report, f)
print("probed", len(report))
'''


@pytest.fixture
def checkout(data_dir, settings, tmp_path):
    """A checkout laid out as `dev.py run` leaves it, with the data folder where it is by default."""
    root = tmp_path / "checkout"
    (root / "var").mkdir(parents=True)
    (root / "jobs").mkdir()
    (root / "manage.py").write_text("# the studio's code\n")
    (root / "jobs" / "models.py").write_text("# the studio's code\n")
    (root / "var" / "secret-key").write_text(SERVER_SECRETS["SECRET_KEY"])
    (root / "var" / "secret-key").chmod(0o600)
    with sqlite3.connect(root / "var" / "studio.db") as db:
        db.execute("create table authtoken_token (key text, user_id int)")
        db.execute("insert into authtoken_token values ('admins-api-token-0123456789', 1)")
    settings.STUDIO_DATA_DIR = root / "var" / "data"
    settings.STUDIO_DATA_DIR.mkdir()
    return root


@pytest.fixture
def victim(outsider, outsider_workspace):
    """bob's job, running, with its snapshot, outputs, work folder and a datastore on the same disk."""
    job = Job.objects.create(name="bobs-running-job", workspace=outsider_workspace, submitted_by=outsider,
                             status=Status.RUNNING, experiment_name="bob", spec={"command": "python train.py"})
    Node.objects.create(job=job, index=0, status=Status.RUNNING, worker=f"local:{socket.gethostname()}:1",
                        heartbeat_at=timezone.now())
    for path in (storage.artifacts_dir(job.files) / "outputs" / "secret.txt",
                 storage.code_dir(job.files) / "train.py",
                 storage.work_root() / job.files / "node-0" / "wd" / "model.bin",
                 storage.datastores_dir() / "store" / "data.csv"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("bob's secret data")
    return job


def test_it_finds_nothing_and_can_do_nothing(api, studio, bwrap, checkout, victim, settings, monkeypatch):
    for name, value in SERVER_SECRETS.items():
        monkeypatch.setenv(name, value)  # the worker's own environment (the local executor runs nodes here)
    settings.SECRET_KEY = SERVER_SECRETS["SECRET_KEY"]
    # The old tracking token of bob's job, derived as it used to be, by someone who knows SECRET_KEY.
    forged = f"{victim.name}." + salted_hmac("jobs.tracking.job-token", f"{victim.name}:",
                                             algorithm="sha256").hexdigest()
    variables = {"CHECKOUT": checkout, "BASE_DIR": settings.BASE_DIR, "DATA_DIR": settings.STUDIO_DATA_DIR,
                 "VICTIM": victim.name, "STUDIO_PID": os.getpid(), "FORGED_TOKEN": forged}
    spec = "code: src\ncommand: python probe.py\nenvironment_variables:\n" + \
        "".join(f"  {name}: '{value}'\n" for name, value in variables.items())

    job, log = run_job(api, spec, code=tar_gz({"probe.py": PROBE}))
    report = json.loads((storage.artifacts_dir(job.files) / "outputs" / "report.json").read_text())
    assert "probed" in log

    refused = ["secret key", "secret key, relative", "sqlite database", "studio code", "postgres socket",
               "postgres socket folder", "other job's outputs", "other job's snapshot", "other job's work folder",
               "datastore", "write the studio's code", "write the checkout's code", "write the studio's python",
               "signal the studio", "see the studio", "shadow passwords"]
    assert {name: report[name] for name in refused if report[name]["ok"]} == {}
    # Of the checkout it sees only the interpreter it runs; of the data folder only its own node.
    assert report["checkout listing"]["got"] == [".venv"]
    assert report["data folder listing"]["got"] == ["work"]
    assert report["work listing"]["got"] == [job.files]
    # No process it can see carries a server secret, nor does its own environment.
    seen = json.dumps([report[name].get("got") for name in
                       ("parent environ", "pid 1 environ", "every environ", "own environment")])
    assert not [name for name, value in SERVER_SECRETS.items() if value in seen or f"{name}=" in seen]
    assert report["own environment"]["got"]["MLFLOW_RUN_ID"] == job.name
    # Tokens: the forged one is refused, its own reaches only its own run.
    assert (report["forged token"]["got"], report["own token on the other job"]["got"],
            report["own token on its own run"]["got"]) == (401, 403, 200)
    assert not MetricPoint.objects.filter(job=victim).exists()
    assert MetricPoint.objects.filter(job=job, key="planted").count() == 1

    assert not (settings.BASE_DIR / "jobs" / "planted.py").exists()
    assert not (checkout / "jobs" / "planted.py").exists()
    assert (checkout / "var" / "secret-key").read_text() == SERVER_SECRETS["SECRET_KEY"]
    notes = list(JobEvent.objects.filter(job=job).values_list("message", flat=True))
    assert any("node 0 is sandboxed" in note for note in notes), notes
