#!/usr/bin/env python
"""The scheduler at scale: 10,000 pending and 1,000 running jobs over the catalogue's families.

    .venv/bin/python bench/scheduler.py [--pending 10000] [--running 1000]
                                        [--postgres postgres://postgres@127.0.0.1:5432/studio_bench_sched]

1. The pure core: decisions per second of ``decide`` over the snapshot, next to a baseline in
   the same run: a bare first-come-first-served admission loop over the same jobs (sort, then
   subtract vCPUs from a dict) with no VM choice, no explanations and no estimates. A third of
   the jobs have a time limit, a third a history of recent runs, a third neither, so that the
   core's estimates have every kind of basis to work from.
2. End to end on PostgreSQL (a fresh database it creates): one scheduling cycle that queues the
   10,000 jobs, a cycle with nothing changed, and a cycle after quota is raised that admits as
   many jobs as fit, each with its wall time and number of queries; admissions per second.
Prints JSON.
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
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = ["Standard_D2s_v3", "Standard_D4s_v3", "Standard_DS3_v2", "Standard_F4s_v2", "Standard_E4s_v3",
         "Standard_D2as_v4", "Standard_D4ds_v4", "Standard_NC4as_T4_v3", None, None, None]


def workload(rng: random.Random, pending: int, running: int, now: datetime):
    """(pending jobs, running jobs) as plain tuples: workspace, size, count, tier, priority, age."""
    def job(i):
        return ("ws-1" if i % 3 else "ws-2", rng.choice(SIZES), rng.choice([1, 1, 1, 2, 4]),
                "Spot" if rng.random() < 0.2 else "Standard", rng.choice([0, 0, 0, 1, -1]), rng.random() * 3600)
    return [job(i) for i in range(pending)], [job(i) for i in range(running)]


def bench_core(pending_jobs, running_jobs, now):
    from jobs.scheduling import core
    from quotas.catalogue import DEFAULT_SPOT_LIMIT, default_families, default_sizes
    from quotas.core import Quotas, SubscriptionQuota, WorkspaceQuota

    catalogue = {s.name: s for s in default_sizes()}
    limits = {f.id: 2000 for f in default_families()}
    limits["cores"] = 20000
    quotas = Quotas({"sub": SubscriptionQuota(limits, DEFAULT_SPOT_LIMIT * 50)},
                    {"ws-1": WorkspaceQuota("sub"), "ws-2": WorkspaceQuota("sub", {"standardDSv3Family": 400})})
    def basis(i):  # what is known of a job's run: a time limit, recent runs, or nothing
        if i % 3 == 0:
            return {"timeout_seconds": 3600}
        if i % 3 == 1:
            return {"typical": core.Typical(600, 1800, 10, f"experiment 'exp-{i % 7}'")}
        return {}

    running = tuple(core.RunningJob(10_000_000 + i, ws, size or "Standard_D2as_v4", count, tier, prio,
                                    now - timedelta(seconds=age), **basis(i))
                    for i, (ws, size, count, tier, prio, age) in enumerate(running_jobs))
    pending = tuple(core.PendingJob(i, f"job{i}", now - timedelta(seconds=age), ws, count, size, tier, prio,
                                    **basis(i))
                    for i, (ws, size, count, tier, prio, age) in enumerate(pending_jobs))
    snapshot = core.Snapshot(now, catalogue, quotas, running, pending)

    def baseline():
        free = dict(limits)
        admitted = 0
        for job in sorted(pending, key=lambda j: (-j.priority, j.submitted_at, j.id)):
            family = catalogue[job.instance_type or "Standard_D2as_v4"].family
            need = catalogue[job.instance_type or "Standard_D2as_v4"].vcpus * job.instance_count
            if free.get(family, 0) >= need:
                free[family] -= need
                admitted += 1
        return admitted

    def timed(fn, runs=5):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
        return min(times), statistics.median(times), result

    best, median, decisions = timed(lambda: core.decide(snapshot))
    base_best, base_median, _ = timed(baseline)
    kinds, estimates = {}, {"range": 0, "no latest": 0, "none": 0}
    for d in decisions:
        kinds[type(d).__name__] = kinds.get(type(d).__name__, 0) + 1
        if isinstance(d, core.Wait):
            estimates["none" if d.estimate is None else "no latest" if d.estimate.latest is None else "range"] += 1
    return {
        "pending": len(pending), "running": len(running), "decisions": kinds, "wait_estimates": estimates,
        "decide_s_best": round(best, 4), "decide_s_median": round(median, 4),
        "decisions_per_s": round(len(pending) / best),
        "baseline_fcfs_s_best": round(base_best, 4), "baseline_decisions_per_s": round(len(pending) / base_best),
        "overhead_vs_baseline": round(best / base_best, 1),
    }


def bench_postgres(url: str, pending_jobs, running_jobs):
    import psycopg
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parts.path.lstrip("/")}"')
    os.environ.update(DATABASE_URL=url, SECRET_KEY=secrets.token_urlsafe(20), STUDIO_LOG_LEVEL="WARNING",
                      DJANGO_SETTINGS_MODULE="studio.settings")
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone as dj_tz

    from jobs.lifecycle import Status
    from jobs.models import Job
    from jobs.scheduling.service import schedule_cycle
    from quotas.models import SubscriptionQuota
    from quotas.services import workspace_ensure

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="x-" + secrets.token_hex(8))
    ws = {name: workspace_ensure(subscription_name="sub", workspace_name=name, admin=user) for name in ("ws-1", "ws-2")}
    now = dj_tz.now()
    running = [Job(name=f"run-{i}", workspace=ws[w], submitted_by=user, spec={}, status=Status.RUNNING,
                   instance_type=size or "Standard_D2as_v4", requested_instance_type=size or "",
                   instance_count=count, tier=tier, priority=prio, admitted_at=now - timedelta(seconds=age), attempt=1)
               for i, (w, size, count, tier, prio, age) in enumerate(running_jobs)]
    pending = [Job(name=f"job-{i}", workspace=ws[w], submitted_by=user, spec={}, requested_instance_type=size or "",
                   instance_count=count, tier=tier, priority=prio)
               for i, (w, size, count, tier, prio, age) in enumerate(pending_jobs)]
    Job.objects.bulk_create(running, batch_size=1000)
    Job.objects.bulk_create(pending, batch_size=1000)
    # Quota that the running jobs mostly fill, so that nearly everything waits at first.
    SubscriptionQuota.objects.update(limit=100)
    SubscriptionQuota.objects.filter(family_id="cores").update(limit=100)

    def cycle():
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            decisions = schedule_cycle()
            elapsed = time.perf_counter() - start
        admitted = sum(1 for d in decisions if type(d).__name__ == "Admit")
        return {"s": round(elapsed, 3), "queries": len(queries), "decisions": len(decisions), "admitted": admitted}

    first = cycle()
    unchanged = cycle()
    SubscriptionQuota.objects.update(limit=6000)
    SubscriptionQuota.objects.filter(family_id="cores").update(limit=60000)
    user.administered_subscriptions.update(spot_vcpu_limit=20000)
    admitting = cycle()
    return {
        "first_cycle_queues_everything": first, "cycle_with_nothing_changed": unchanged,
        "cycle_after_quota_raised": admitting,
        "admissions_per_s": round(admitting["admitted"] / admitting["s"]) if admitting["s"] else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=10_000)
    parser.add_argument("--running", type=int, default=1_000)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/studio_bench_sched")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rng = random.Random(42)
    now = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    pending_jobs, running_jobs = workload(rng, args.pending, args.running, now)
    result = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
              "core": bench_core(pending_jobs, running_jobs, now)}
    if not args.no_postgres:
        result["postgres_end_to_end"] = bench_postgres(args.postgres, pending_jobs, running_jobs)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
