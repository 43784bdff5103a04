#!/usr/bin/env python
"""Submit→Running and submit→Completed latency of trivial jobs, against baselines in the same run.

    .venv/bin/python bench/latency.py [--jobs 200] [--broker redis://127.0.0.1:6379/14]
                                      [--postgres postgres://postgres@127.0.0.1:5432/studio_bench]
                                      [--pending 10000]

Starts the real studio (web server, scheduling service, executor) on a free port with a fresh
database and data folder, submits ``--jobs`` jobs running ``echo hello`` through the REST API
one after another, and reads each job's server-side timestamps. It does this for the local
executor and, when ``--broker`` is given, for Celery workers on that broker. Baselines measured in
the same run: starting the same command with ``subprocess``, and a no-op Celery task round trip
on the same broker. With ``--pending N`` (default 10,000) it also submits, on the local executor,
with N jobs already waiting in the queue (for a VM family whose quota is busy, so they stay
there): the submit request's own time (``submit_request``) must not grow with the queue, and
is compared with the empty queue's in the same run. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
sys.path.insert(0, str(ROOT))

from jobs.lifecycle import TERMINAL, Status  # noqa: E402  (pure: the client side imports no Django)


def percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]  # noqa: E731
    return {"p50_ms": round(pick(0.5) * 1000, 2), "p95_ms": round(pick(0.95) * 1000, 2),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2), "n": len(ordered)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def baseline_subprocess(n: int) -> dict:
    bash = shutil.which("bash") or "/bin/sh"
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run([bash, "-c", "echo hello"], stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return percentiles(times)


def baseline_celery(n: int, env: dict) -> dict:
    """A no-op task round trip (send, run on a worker, result back) on the same broker."""
    code = (
        "import time, json\n"
        "from studio.celery import app\n"
        "import django; django.setup()\n"
        "app.send_task('jobs.noop', queue='bench-noop').get(timeout=30)\n"
        "t = []\n"
        f"for _ in range({n}):\n"
        "    s = time.perf_counter(); app.send_task('jobs.noop', queue='bench-noop').get(timeout=30)\n"
        "    t.append(time.perf_counter() - s)\n"
        "print(json.dumps(t))\n"
    )
    worker = start_celery_worker(env, "bench-noop")
    try:
        out = subprocess.run([PY, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
        return percentiles(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        stop(worker)


def start_celery_worker(env: dict, queue: str | None) -> subprocess.Popen:
    """A worker on ``queue``, or (None) on every VM size's queue, as users start it."""
    queues = ["-Q", queue] if queue else []
    return subprocess.Popen(
        [PY, "-m", "celery", "-A", "studio", "worker", *queues, "-c", "2", "--pool", "threads",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def manage(env: dict, *args: str) -> str:
    return subprocess.run([PY, "manage.py", *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout


QUEUE_FILLER = """
import os
from datetime import timedelta
from django.utils import timezone
from jobs.lifecycle import Status
from jobs.models import Job
from quotas.models import SubscriptionQuota, Workspace
from quotas.services import usage_open
from quotas.models import UsageRecord
pending = int(os.environ["BENCH_PENDING"])
workspace = Workspace.objects.select_related("subscription").get(name="demo-workspace")
user = workspace.subscription.admins.first()
# standardDSv3Family: 4 vCPUs, all of them held by two running 2-vCPU jobs: whatever waits for it stays.
# A waiting job holds the regional vCPUs it needs (so that it is not starved): the regional total is
# raised past what 10,000 waiting jobs hold, so that the measured jobs (another family) still run.
SubscriptionQuota.objects.filter(subscription=workspace.subscription, family_id="standardDSv3Family").update(limit=4)
SubscriptionQuota.objects.filter(subscription=workspace.subscription, family_id="cores").update(limit=4 * pending + 100)
now = timezone.now()
spec = {"command": "echo waiting", "environment": "azureml:AzureML-sklearn-1.0@latest",
        "resources": {"instance_type": "Standard_D2s_v3"}}
blockers = Job.objects.bulk_create([Job(
    name=f"blocker-{i}", workspace=workspace, submitted_by=user, spec=spec, status=Status.RUNNING,
    requested_instance_type="Standard_D2s_v3", instance_type="Standard_D2s_v3", admitted_at=now,
    started_at=now, attempt=1) for i in range(2)])
usage_open(records=[UsageRecord(workspace=workspace, user=user, job_name=b.name, node_id=10_000_000 + i,
                                compute="serverless", vm_size="Standard_D2s_v3", family="standardDSv3Family",
                                tier="Standard", vcpus=2, started_at=now) for i, b in enumerate(blockers)])
Job.objects.bulk_create([Job(
    name=f"waiting-{i:05d}", workspace=workspace, submitted_by=user, spec=spec, status=Status.NOT_STARTED,
    requested_instance_type="Standard_D2s_v3", created_at=now - timedelta(seconds=pending - i))
    for i in range(pending)], batch_size=2000)
"""


def run_studio(n: int, env: dict, label: str, *, pending: int = 0) -> dict:
    port = free_port()
    env = {**env, "PORT": str(port)}
    manage(env, "migrate", "--verbosity", "0")
    out = manage(env, "studio_setup", "--no-profile", "--url", f"http://127.0.0.1:{port}")
    if pending:
        subprocess.run([PY, "manage.py", "shell", "-c", QUEUE_FILLER], env={**env, "BENCH_PENDING": str(pending)},
                       cwd=ROOT, check=True)
    token = next(line.split()[-1] for line in out.splitlines() if line.startswith("API token:"))
    studio = subprocess.Popen([PY, "manage.py", "runstudio", "--workers", "2"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = start_celery_worker(env, None) if env.get("CELERY_BROKER_URL") else None
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if session.get(f"{base}/jobs?page_size=1", timeout=2).ok:
                    break
            except requests.RequestException:  # not up yet, or busy starting
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{label}: the studio did not come up")
            time.sleep(0.1)
        to_running, to_completed, client_seen, requests_ = [], [], [], []
        for i in range(n + 5):  # the first 5 warm up and are not counted
            sent = time.perf_counter()
            r = session.post(f"{base}/jobs", data="command: echo hello\nenvironment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest\n",
                             headers={"Content-Type": "application/yaml"}, timeout=60)
            answered = time.perf_counter() - sent
            r.raise_for_status()
            name = r.json()["name"]
            give_up = time.monotonic() + 120
            while True:
                job = session.get(f"{base}/jobs/{name}", timeout=30).json()
                if job["status"] in TERMINAL:
                    break
                if time.monotonic() > give_up:
                    raise SystemExit(f"{label}: job {name} is still {job['status']} after 120 s: "
                                     f"{(job.get('waiting') or {}).get('message', '')}")
                time.sleep(0.005)
            seen = time.perf_counter() - sent
            if job["status"] != Status.COMPLETED:
                raise SystemExit(f"{label}: job {name} ended {job['status']}: {job['error']}")
            if i < 5:
                continue
            created = datetime.fromisoformat(job["created_at"])
            to_running.append((datetime.fromisoformat(job["started_at"]) - created).total_seconds())
            to_completed.append((datetime.fromisoformat(job["ended_at"]) - created).total_seconds())
            client_seen.append(seen)
            requests_.append(answered)
        return {"pending_before": pending, "submit_request": percentiles(requests_),
                "submit_to_running": percentiles(to_running), "submit_to_completed": percentiles(to_completed),
                "client_submit_to_seen_completed": percentiles(client_seen)}
    finally:
        if worker:
            stop(worker)
        studio.send_signal(2)
        try:
            studio.wait(timeout=20)
        except subprocess.TimeoutExpired:
            studio.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--broker", default=os.environ.get("CELERY_BROKER_URL"))
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/studio_bench",
                        help="database for the Celery run (workers need a shared database)")
    parser.add_argument("--pending", type=int, default=10_000,
                        help="jobs already waiting in the queue for the long-queue run (0: skip it)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    # its own demo login too: the checkout's var/demo-login.json belongs to `dev.py run`'s database
    base_env.update(SECRET_KEY=secrets.token_urlsafe(32), STUDIO_LOG_LEVEL="WARNING", HOME=str(tmp),
                    STUDIO_DEMO_LOGIN_FILE=str(tmp / "demo-login.json"))
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "jobs": args.jobs,
        "baseline_subprocess_echo": baseline_subprocess(args.jobs),
    }
    try:
        local_env = {**base_env, "DATABASE_URL": f"sqlite:///{tmp / 'local.db'}", "STUDIO_DATA_DIR": str(tmp / "local")}
        result["local_executor_sqlite"] = run_studio(args.jobs, local_env, "local")
        if args.pending:
            long_env = {**local_env, "DATABASE_URL": f"sqlite:///{tmp / 'long.db'}",
                        "STUDIO_DATA_DIR": str(tmp / "long")}
            long = result["local_executor_sqlite_long_queue"] = run_studio(args.jobs, long_env, "long queue",
                                                                           pending=args.pending)
            empty = result["local_executor_sqlite"]["submit_request"]["p50_ms"]
            result["submit_request_p50_ratio_long_vs_empty_queue"] = round(
                long["submit_request"]["p50_ms"] / empty, 2) if empty else None
        if args.broker:
            celery_env = {**base_env, "CELERY_BROKER_URL": args.broker, "CELERY_RESULT_BACKEND": args.broker,
                          "DATABASE_URL": args.postgres, "STUDIO_DATA_DIR": str(tmp / "celery")}
            _recreate_postgres(args.postgres)
            result["baseline_celery_noop_round_trip"] = baseline_celery(args.jobs, celery_env)
            result["celery_executor_postgres"] = run_studio(args.jobs, celery_env, "celery")
            bare = result["baseline_celery_noop_round_trip"]["p50_ms"]
            result["celery_overhead_ratio_p50"] = round(
                result["celery_executor_postgres"]["submit_to_running"]["p50_ms"] / bare, 2) if bare else None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, indent=2))


def _recreate_postgres(url: str) -> None:
    import psycopg
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    main()
