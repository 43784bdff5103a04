"""Applies the pure core's decisions to the database.

A cycle takes a snapshot (quotas, the catalogue, running and pending jobs, clusters),
calls ``core.decide`` and applies each decision with a conditional update, inside one
transaction that concurrent cycles serialise on. Running the same cycle twice, or two
at once, never admits a job twice or exceeds a quota. Workers are woken on commit;
the scheduler never calls an executor.
"""

from __future__ import annotations

import logging
import statistics
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from jobs import wake
from jobs.models import ADMITTED, PENDING, Job, JobEvent, JobStatus, Node
from jobs.scheduling import core
from studio.db import bulk_set
from quotas import selectors as quota_selectors
from quotas import services as quota_services
from quotas.models import Cluster, UsageRecord

log = logging.getLogger(__name__)
_LOCK_KEY = 0x5EC0_57D0  # pg_advisory_xact_lock key shared by every scheduling cycle
SCHEDULED_TYPES = ("command",)  # parents (sweeps, pipelines) are not scheduled themselves


def _lock() -> None:
    """Serialise cycles. SQLite already does (IMMEDIATE transactions take the write lock)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def typical_runtime() -> timedelta:
    """The median run time of the last 100 completed jobs (5 minutes before there are any)."""
    recent = (Job.objects.filter(status=JobStatus.COMPLETED, started_at__isnull=False, ended_at__isnull=False)
              .order_by("-ended_at").values_list("started_at", "ended_at")[:100])
    durations = [(end - start).total_seconds() for start, end in recent]
    return timedelta(seconds=max(1.0, statistics.median(durations))) if durations else timedelta(minutes=5)


PENDING_FIELDS = ("id", "name", "created_at", "workspace__name", "instance_count", "requested_instance_type", "tier",
                  "priority", "compute", "status", "pending_reason", "queue_position", "estimated_start_at")


def _snapshot(now) -> tuple[core.Snapshot, dict[int, dict]]:
    """The core's snapshot, and the pending rows as read (to write back only what changed)."""
    running = tuple(
        core.RunningJob(id=j["id"], workspace=j["workspace__name"], instance_type=j["instance_type"],
                        nodes=j["instance_count"], tier=j["tier"], priority=j["priority"],
                        started_at=j["admitted_at"], timeout_seconds=j["timeout_seconds"], compute=j["compute"],
                        evicting=j["evicting"])
        for j in Job.objects.filter(status__in=ADMITTED, type__in=SCHEDULED_TYPES).values(
            "id", "workspace__name", "instance_type", "instance_count", "tier", "priority", "admitted_at",
            "timeout_seconds", "compute", "evicting")
    )
    rows = {j["id"]: j for j in Job.objects.filter(status__in=PENDING, type__in=SCHEDULED_TYPES)
            .values(*PENDING_FIELDS)}
    pending = tuple(
        core.PendingJob(id=j["id"], name=j["name"], submitted_at=j["created_at"], workspace=j["workspace__name"],
                        instance_count=j["instance_count"], instance_type=j["requested_instance_type"] or None,
                        tier=j["tier"], priority=j["priority"], compute=j["compute"])
        for j in rows.values()
    )
    clusters = tuple(
        core.Cluster(c.workspace.name, c.name, c.size_id, c.min_instances, c.max_instances, c.idle_seconds,
                     c.allocated, c.idle_since, c.scaling_down_until)
        for c in quota_selectors.clusters()
    )
    snapshot = core.Snapshot(
        now=now, catalogue=quota_selectors.catalogue(), quotas=quota_selectors.quotas(), running=running,
        pending=pending, clusters=clusters, typical_runtime=typical_runtime(),
        scale_down_time=timedelta(seconds=settings.STUDIO_CLUSTER_SCALE_DOWN_SECONDS),
    )
    return snapshot, rows


def snapshot_load(*, now=None) -> core.Snapshot:
    return _snapshot(now or timezone.now())[0]


def schedule_cycle(*, now=None) -> list[core.Decision]:
    """One scheduling cycle. Returns the decisions it applied (for tests and benchmarks).

    Writes are batched: a cycle costs a constant number of queries plus one row-write
    per job whose state, position or estimate changed."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock()
        snapshot, rows = _snapshot(now)
        decisions = core.decide(snapshot)
        admitted_nodes = _apply_admits([d for d in decisions if isinstance(d, core.Admit)], snapshot, now)
        _apply_waits([d for d in decisions if isinstance(d, core.Wait)], rows, now)
        for decision in decisions:
            if isinstance(decision, core.Reject):
                _apply_reject(decision, now)
            elif isinstance(decision, core.Preempt):
                job_evict_request(job_id=decision.job_id, reason=decision.reason, now=now)
            elif isinstance(decision, core.ScaleCluster):
                _apply_scale(decision, now)
        if admitted_nodes:
            transaction.on_commit(lambda: wake.wake_workers(admitted_nodes), robust=True)
    return decisions


def _apply_admits(admits: list[core.Admit], snapshot: core.Snapshot, now) -> list[tuple[int, str]]:
    """Admit in bulk. Rows are locked and re-checked first, so a job canceled meanwhile stays canceled."""
    if not admits:
        return []
    by_id = {d.job_id: d for d in admits}
    jobs = list(Job.objects.select_for_update().filter(id__in=by_id, status__in=PENDING)
                .only("id", "name", "attempt", "compute", "workspace_id", "submitted_by_id"))
    for job in jobs:
        decision = by_id[job.id]
        job.status, job.admitted_at, job.attempt = JobStatus.PROVISIONING, now, job.attempt + 1
        job.pending_reason, job.queue_position, job.estimated_start_at = "", None, None
        job.instance_type, job.instance_type_reason, job.tier = decision.instance_type, decision.reason, decision.tier
    bulk_set(Job, jobs, ["status", "admitted_at", "attempt", "pending_reason", "queue_position",
                         "estimated_start_at", "instance_type", "instance_type_reason", "tier"])
    nodes = Node.objects.bulk_create(
        [Node(job_id=job.id, attempt=job.attempt, index=k, pool=by_id[job.id].pool)
         for job in jobs for k in range(by_id[job.id].nodes)], batch_size=500)
    jobs_by_id = {job.id: job for job in jobs}
    records = []
    for node in nodes:
        job, decision = jobs_by_id[node.job_id], by_id[node.job_id]
        size = snapshot.catalogue[decision.instance_type]
        records.append(UsageRecord(
            workspace_id=job.workspace_id, user_id=job.submitted_by_id, job_name=job.name, node_id=node.id,
            compute=job.compute, vm_size=size.name, family=size.family, tier=decision.tier, vcpus=size.vcpus,
            price_per_hour=size.price(decision.tier) or 0, started_at=now))
    quota_services.usage_open(records=records)
    JobEvent.objects.bulk_create([JobEvent(job_id=job.id, at=now, message=f"admitted: {by_id[job.id].reason}")
                                  for job in jobs], batch_size=500)
    for job in jobs:
        if job.compute != core.SERVERLESS:
            cluster = Cluster.objects.get(workspace_id=job.workspace_id, name=job.compute)
            quota_services.cluster_scale(cluster_id=cluster.id,
                                         allocated=by_id[job.id].scale_cluster_to or cluster.allocated,
                                         scaling_down_until=None, idle_since=None)
    return [(node.id, node.pool) for node in nodes]


ESTIMATE_SLACK = timedelta(seconds=30)  # estimates that move less than this are not rewritten


def _apply_waits(waits: list[core.Wait], rows: dict[int, dict], now) -> None:
    """Record why each job waits, where it stands and when it should start; write only changes."""
    changed, events = [], []
    for wait in waits:
        row = rows[wait.job_id]
        old = row["estimated_start_at"]
        estimate_moved = (old is None) != (wait.estimated_start is None) or (
            old is not None and abs(old - wait.estimated_start) > ESTIMATE_SLACK)
        if row["status"] == JobStatus.QUEUED and row["pending_reason"] == wait.reason \
                and row["queue_position"] == wait.position and not estimate_moved:
            continue
        if row["status"] == JobStatus.NOT_STARTED or row["pending_reason"] != wait.reason:
            events.append(JobEvent(job_id=wait.job_id, at=now,
                                   message=core.describe_wait(wait.reason, wait.position, wait.estimated_start, now)))
        changed.append(Job(id=wait.job_id, status=JobStatus.QUEUED, pending_reason=wait.reason,
                           queue_position=wait.position,
                           estimated_start_at=wait.estimated_start if estimate_moved else old))
    # Only rows still pending: a job canceled since the snapshot stays canceled.
    bulk_set(Job, changed, ["status", "pending_reason", "queue_position", "estimated_start_at"],
             where=f"{Job._meta.db_table}.status IN (%s, %s)", where_params=sorted(PENDING))
    if events:
        still_pending = set(Job.objects.filter(id__in=[e.job_id for e in events], status__in=PENDING)
                            .values_list("id", flat=True))
        JobEvent.objects.bulk_create([e for e in events if e.job_id in still_pending], batch_size=500)


def _apply_reject(decision: core.Reject, now) -> None:
    message = decision.reason + "".join(f"; {r}" for r in decision.recommendations)
    if Job.objects.filter(id=decision.job_id, status__in=PENDING).update(
        status=JobStatus.FAILED, ended_at=now, failure_kind="infrastructure", error=message, pending_reason="",
        queue_position=None, estimated_start_at=None,
    ):
        JobEvent.objects.create(job_id=decision.job_id, at=now, message=f"rejected: {message}")


def _apply_scale(decision: core.ScaleCluster, now) -> None:
    cluster = Cluster.objects.filter(workspace__name=decision.workspace, name=decision.name).first()
    if cluster is None:
        return
    quota_services.cluster_scale(cluster_id=cluster.id, allocated=decision.allocated,
                                 scaling_down_until=decision.scaling_down_until,
                                 idle_since=None if decision.scaling_down_until is None else cluster.idle_since)
    log.info("%s", decision.reason)


def job_evict_request(*, job_id: int, reason: str, now=None) -> bool:
    """Ask a running Spot job's nodes to stop; it goes back to the queue when they have."""
    now = now or timezone.now()
    if not Job.objects.filter(id=job_id, status__in=ADMITTED, tier="Spot", evicting=False).update(evicting=True):
        return False
    nodes = Node.objects.filter(job_id=job_id).exclude(status__in=[JobStatus.COMPLETED, JobStatus.FAILED,
                                                                     JobStatus.CANCELED])
    nodes.update(cancel_requested=True, evict_requested=True)
    JobEvent.objects.create(job_id=job_id, at=now, message=f"evicting: {reason}")
    transaction.on_commit(wake.ring, robust=True)
    return True


def stale_nodes(*, now=None) -> tuple[list[int], list[int]]:
    """Nodes whose heartbeats stopped: (newly NotResponding, lost for good)."""
    now = now or timezone.now()
    live = [JobStatus.PREPARING, JobStatus.RUNNING, JobStatus.FINALIZING, JobStatus.PROVISIONING]
    silent_since = now - timedelta(seconds=settings.STUDIO_NOT_RESPONDING_SECONDS)
    lost_since = now - timedelta(seconds=settings.STUDIO_NODE_LOST_SECONDS)
    claimed = Q(worker__gt="") & Q(heartbeat_at__isnull=False)
    lost = list(Node.objects.filter(claimed, status__in=live + [JobStatus.NOT_RESPONDING],
                                    heartbeat_at__lt=lost_since).values_list("id", flat=True))
    silent = list(Node.objects.filter(claimed, status__in=live, heartbeat_at__lt=silent_since)
                  .exclude(id__in=lost).values_list("id", flat=True))
    return silent, lost
