#!/usr/bin/env python
"""Server time of the studio's pages with 10,000 jobs: the jobs list, a job's page and the quota page.

    .venv/bin/python bench/ui.py [--jobs 10000] [--requests 100]
                                 [--postgres postgres://postgres@127.0.0.1:5432/studio_bench_ui]

A fresh database (an SQLite file in a temporary folder by default; with ``--postgres``, a
PostgreSQL database it drops and creates) gets one workspace with two clusters and jobs the way a
busy workspace has them: mostly finished, some running or queued, each admitted job with its node,
its usage-ledger record (spread over the last 30 days), its system-log events and a few log lines.

Each page is requested through Django's test Client, in process, signed in with ``force_login``,
so the figures are the server's time (middleware, view, queries, template) without a network or a
web server. Beside them, in the same run, a baseline: ``/healthz``, a view that returns a constant
through the same middleware. For every page: p50/p95/max over ``--requests`` requests, and the
number of queries one request makes at 100 jobs and at ``--jobs`` jobs (it must not grow).
Prints JSON. Target: p95 under 100 ms on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobs.lifecycle import Status  # noqa: E402  (pure: no Django needed yet)

FIRST = 100  # jobs when the query counts are first taken
DETAIL_JOB = "bench-job-00042"  # exists at 100 jobs already, so both counts are of the same page
TARGET_P95_MS = 100.0
SIZES = [("Standard_D2as_v4", "standardDASv4Family", 2, 0.096), ("Standard_DS3_v2", "standardDSv2Family", 4, 0.293),
         ("Standard_D4s_v3", "standardDSv3Family", 4, 0.192), ("Standard_F4s_v2", "standardFSv2Family", 4, 0.169)]
STATUSES = [Status.COMPLETED] * 85 + [Status.FAILED] * 6 + [Status.CANCELED] * 3 + [Status.QUEUED] * 3 \
    + [Status.RUNNING] * 3


def configure(args) -> tuple[str, callable]:
    """Point Django at a fresh database; returns its description and a clean-up function."""
    data = tempfile.mkdtemp(prefix="studio-bench-ui-")
    os.environ.update(SECRET_KEY=secrets.token_urlsafe(20), STUDIO_LOG_LEVEL="WARNING", DEBUG="false",
                      STUDIO_DATA_DIR=str(Path(data) / "data"), DJANGO_SETTINGS_MODULE="studio.settings")
    os.environ.pop("CELERY_BROKER_URL", None)
    if args.postgres:
        import psycopg
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(args.postgres)
        name = parts.path.lstrip("/")
        admin_url = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = args.postgres

        def cleanup():
            from django.db import connections

            connections.close_all()
            if not args.keep:
                with psycopg.connect(admin_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return f"postgresql ({name}, dropped afterwards)" if not args.keep else f"postgresql ({name})", cleanup
    path = Path(data) / "bench.db"
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"

    def cleanup():
        import shutil

        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    return f"sqlite ({path})", cleanup


def populate(user, workspace, start: int, stop: int, rng: random.Random, now) -> None:
    """Jobs ``start`` … ``stop - 1``, with nodes, usage records, events and log lines."""
    from jobs.models import Job, JobEvent, LogChunk, Node
    from quotas.models import UsageRecord
    from studio.db import bulk_set

    jobs, plans = [], []
    for i in range(start, stop):
        status = Status.RUNNING if i == start and start == 0 else rng.choice(STATUSES)
        size, family, vcpus, price = rng.choice(SIZES)
        compute = "serverless" if rng.random() < 0.8 else rng.choice(["cpu-cluster", "big-cluster"])
        created = now - timedelta(days=rng.uniform(0, 30))
        admitted = created + timedelta(seconds=rng.uniform(1, 120))
        ended = admitted + timedelta(minutes=rng.uniform(2, 180))
        running = status == Status.RUNNING
        queued = status == Status.QUEUED
        if running:
            created, admitted, ended = now - timedelta(minutes=40), now - timedelta(minutes=39), None
        job = Job(
            name=f"bench-job-{i:05d}", workspace=workspace, submitted_by=user, type="command",
            display_name=f"train model {i}", experiment_name=rng.choice(["Default", "mnist", "churn", "forecast"]),
            spec={"command": "python train.py", "environment": "azureml:AzureML-sklearn-1.0@latest"},
            spec_yaml="command: python train.py\nenvironment: azureml:AzureML-sklearn-1.0@latest\n",
            status=status, compute=compute, instance_type="" if queued else size, instance_count=1,
            pending_code="QuotaBusy" if queued else "", pending_reason="waiting for quota" if queued else "",
            queue_position=1 if queued else None,
            admitted_at=None if queued else admitted, started_at=None if queued else admitted,
            ended_at=None if (queued or running) else ended, attempt=0 if queued else 1,
            exit_code=None if (queued or running) else (0 if status == Status.COMPLETED else 1),
        )
        jobs.append(job)
        plans.append((job, created, admitted, ended, size, family, vcpus, price, queued))
    Job.objects.bulk_create(jobs, batch_size=1000)
    by_name = dict(Job.objects.filter(name__in=[j.name for j in jobs]).values_list("name", "id"))
    nodes, events = [], []
    for job, created, admitted, ended, *_ in plans:
        job.id = by_name[job.name]
        events.append(JobEvent(job_id=job.id, at=created, message="submitted by bench to serverless compute"))
        if job.admitted_at:
            nodes.append(Node(job_id=job.id, attempt=1, index=0, status=job.status, worker="bench",
                              started_at=admitted, ended_at=ended, heartbeat_at=ended or now, exit_code=job.exit_code,
                              log_size=60))
            events.append(JobEvent(job_id=job.id, at=admitted, message="admitted: cheapest general-purpose CPU size"))
    for job, created, *_ in plans:  # created_at is auto_now_add: spread it over the month like real submissions
        job.created_at = created
    bulk_set(Job, jobs, ["created_at"])
    Node.objects.bulk_create(nodes, batch_size=1000)
    JobEvent.objects.bulk_create(events, batch_size=1000)
    node_of = dict(Node.objects.filter(job_id__in=[j.id for j in jobs]).values_list("job_id", "id"))
    records, chunks = [], []
    for job, created, admitted, ended, size, family, vcpus, price, queued in plans:
        if queued:
            continue
        node_id = node_of[job.id]
        records.append(UsageRecord(workspace=workspace, user=user, job_name=job.name, node_id=node_id,
                                   compute=job.compute, vm_size=size, family=family, tier="Standard", vcpus=vcpus,
                                   price_per_hour=price, started_at=admitted, ended_at=ended))
        chunks += [LogChunk(node_id=node_id, offset=k * 20, text=f"epoch {k}: loss {1 / (k + 1):.4f}\n")
                   for k in range(3)]
    UsageRecord.objects.bulk_create(records, batch_size=1000)
    LogChunk.objects.bulk_create(chunks, batch_size=2000)


def measure(client, url: str, requests: int) -> dict:
    timings = []
    status = None
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        status = response.status_code
    timings.sort()
    return {"status": status, "p50_ms": round(statistics.median(timings), 2),
            "p95_ms": round(timings[max(0, int(round(0.95 * len(timings))) - 1)], 2),
            "max_ms": round(timings[-1], 2)}


def count_queries(client, url: str) -> tuple[int, int, bool]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    placeholder = b"Coming soon" in response.content
    return len(queries), response.status_code, placeholder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--postgres", metavar="URL", help="use (drop and create) this PostgreSQL database")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.jobs < FIRST:
        parser.error(f"--jobs must be at least {FIRST}")

    database, cleanup = configure(args)
    try:
        result = run(args, database)
    finally:
        cleanup()
    print(json.dumps(result, indent=2))


def run(args, database: str) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from quotas.models import UsageRecord
    from quotas.services import cluster_create, quota_set, workspace_ensure

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="x-" + secrets.token_hex(8))
    workspace = workspace_ensure(subscription_name="sub-bench", workspace_name="ws-bench", admin=user)
    for family in ("cores", "standardDASv4Family", "standardDSv2Family", "standardDSv3Family", "standardFSv2Family"):
        quota_set(user=user, subscription=workspace.subscription, family_id=family, limit=1000)
    cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_DS3_v2", max_instances=4)
    cluster_create(user=user, workspace=workspace, name="big-cluster", size="Standard_F4s_v2", min_instances=1,
                   max_instances=8)

    client = Client()
    client.force_login(user)
    pages = {"baseline /healthz": "/healthz", "jobs list": "/jobs/", "job detail": f"/jobs/{DETAIL_JOB}/",
             "quota page": "/quota/", "compute page": "/compute/"}
    rng = random.Random(42)
    now = timezone.now()

    populate(user, workspace, 0, FIRST, rng, now)
    for url in pages.values():
        client.get(url)  # warm: templates compiled, the session written once
    at_first = {label: count_queries(client, url) for label, url in pages.items()}
    small = {label: measure(client, url, max(20, args.requests // 5)) for label, url in pages.items()}

    started = time.perf_counter()
    for start in range(FIRST, args.jobs, 2000):
        populate(user, workspace, start, min(args.jobs, start + 2000), rng, now)
    fill_s = time.perf_counter() - started
    at_full = {label: count_queries(client, url) for label, url in pages.items()}
    for url in pages.values():
        client.get(url)
    full = {label: measure(client, url, args.requests) for label, url in pages.items()}

    baseline = full["baseline /healthz"]
    report = {}
    notes = []
    for label, url in pages.items():
        queries_first, status_first, placeholder = at_first[label]
        queries_full, status_full, placeholder_full = at_full[label]
        entry = {
            "url": url, "status": full[label]["status"],
            f"at_{args.jobs}_jobs": full[label],
            f"at_{FIRST}_jobs": small[label],
            f"queries_at_{FIRST}_jobs": queries_first, f"queries_at_{args.jobs}_jobs": queries_full,
            "queries_grow": queries_full > queries_first,
        }
        if label != "baseline /healthz":
            entry["p95_minus_baseline_ms"] = round(full[label]["p95_ms"] - baseline["p95_ms"], 2)
            entry["meets_p95_target"] = full[label]["p95_ms"] < TARGET_P95_MS
        if placeholder or placeholder_full:
            entry["placeholder"] = True
            notes.append(f"{url} still returns the 'Coming soon' placeholder: its figures are of the placeholder")
        if full[label]["status"] != 200:
            notes.append(f"{url} answered {full[label]['status']}")
        report[label] = entry
    window = UsageRecord.objects.filter(workspace=workspace, ended_at__gte=now - timedelta(days=14)).count()
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()]},
        "database": database,
        "jobs": args.jobs, "usage_records": UsageRecord.objects.count(), "usage_records_in_14_day_window": window,
        "requests_per_page": args.requests, "fill_seconds": round(fill_s, 1),
        "target_p95_ms": TARGET_P95_MS,
        "pages": report,
        "notes": notes,
    }


if __name__ == "__main__":
    main()
