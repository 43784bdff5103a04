"""Applies the pure core's decisions to the database.

A cycle takes a snapshot, calls ``core.decide`` and applies each decision with a
conditional update, inside one transaction that concurrent cycles serialise on.
Running the same cycle twice, or two at once, never admits a job twice. Workers
are woken on commit; the scheduler never calls an executor.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from jobs import wake
from jobs.models import ADMITTED, PENDING, Job, JobEvent, JobStatus, Node
from jobs.scheduling import core

log = logging.getLogger(__name__)
_LOCK_KEY = 0x5EC0_57D0  # pg_advisory_xact_lock key shared by every scheduling cycle


def _lock() -> None:
    """Serialise cycles. SQLite already does (IMMEDIATE transactions take the write lock)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def snapshot_load(*, now=None) -> core.Snapshot:
    now = now or timezone.now()
    running = tuple(
        core.RunningJob(id=j["id"], nodes=j["instance_count"], started_at=j["admitted_at"],
                        timeout_seconds=j["timeout_seconds"], compute=j["compute"])
        for j in Job.objects.filter(status__in=ADMITTED).values(
            "id", "instance_count", "admitted_at", "timeout_seconds", "compute")
    )
    pending = tuple(
        core.PendingJob(id=j["id"], name=j["name"], submitted_at=j["created_at"],
                        instance_count=j["instance_count"], priority=j["priority"], compute=j["compute"])
        for j in Job.objects.filter(status__in=PENDING, type="command").values(
            "id", "name", "created_at", "instance_count", "priority", "compute")
    )
    return core.Snapshot(now=now, capacity_nodes=settings.STUDIO_SERVERLESS_CAPACITY_NODES,
                         running=running, pending=pending)


def schedule_cycle(*, now=None) -> list[core.Decision]:
    """One scheduling cycle. Returns the decisions it applied (for tests and benchmarks)."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock()
        snapshot = snapshot_load(now=now)
        decisions = core.decide(snapshot)
        admitted_nodes: list[tuple[int, str]] = []
        for decision in decisions:
            if isinstance(decision, core.Admit):
                admitted_nodes.extend(_apply_admit(decision, now))
            elif isinstance(decision, core.Wait):
                _apply_wait(decision, now)
            else:
                _apply_reject(decision, now)
        if admitted_nodes:
            transaction.on_commit(lambda: wake.wake_workers(admitted_nodes), robust=True)
    return decisions


def _apply_admit(decision: core.Admit, now) -> list[tuple[int, str]]:
    updated = Job.objects.filter(id=decision.job_id, status__in=PENDING).update(
        status=JobStatus.PROVISIONING, admitted_at=now, pending_reason="", queue_position=None,
        estimated_start_at=None, instance_type_reason=decision.reason,
    )
    if not updated:
        return []
    nodes = Node.objects.bulk_create(
        [Node(job_id=decision.job_id, index=k, pool=decision.pool) for k in range(decision.nodes)]
    )
    JobEvent.objects.create(job_id=decision.job_id, at=now, message=decision.reason)
    return [(node.id, node.pool) for node in nodes]


def _apply_wait(decision: core.Wait, now) -> None:
    job = Job.objects.filter(id=decision.job_id, status__in=PENDING).only("status", "pending_reason").first()
    if job is None:
        return
    if job.status == JobStatus.NOT_STARTED or job.pending_reason != decision.reason:
        if job.pending_reason != decision.reason:
            JobEvent.objects.create(job_id=job.id, at=now, message=decision.reason)
        Job.objects.filter(id=job.id, status__in=PENDING).update(
            status=JobStatus.QUEUED, pending_reason=decision.reason, queue_position=decision.position,
            estimated_start_at=decision.estimated_start,
        )


def _apply_reject(decision: core.Reject, now) -> None:
    message = decision.reason + "".join(f"; {r}" for r in decision.recommendations)
    if Job.objects.filter(id=decision.job_id, status__in=PENDING).update(
        status=JobStatus.FAILED, ended_at=now, failure_kind="infrastructure", error=message, pending_reason=""
    ):
        JobEvent.objects.create(job_id=decision.job_id, at=now, message=f"rejected: {message}")


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
