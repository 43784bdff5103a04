"""Applies the pure core's decisions to the database.

A cycle, in steps:

1. take a snapshot: quotas, the catalogue, jobs holding quota, waiting jobs, clusters, and what
   is known of each job's duration (its time limit, recent runs of its experiment) — outside
   the write transaction, so that on SQLite (one writer at a time) submissions are not held up
   while the core looks at a long queue;
2. ``core.decide`` (pure);
3. take the cycle lock (PostgreSQL advisory lock; SQLite's IMMEDIATE transactions already
   serialise writers), so two cycles never interleave, and check that what the decisions rest
   on still holds: no job holds quota that the snapshot did not see, no quota or cluster
   changed. Otherwise snapshot and decide again, under the lock. (Quota freed meanwhile only
   makes the decisions cautious; the cycle that freeing asked for follows.);
4. apply every decision through the state applier (``jobs.transitions``) with compare-and-swap
   updates: admissions (nodes and usage records too), waits (a transition when the reason
   changes; otherwise only the position and estimate), rejections, preemptions, cluster scaling;
5. record what waiting jobs wait for per quota (the quota page shows it);
6. on commit, wake the workers of the admitted nodes. The scheduler never calls an executor.

Running the same cycle twice, or two at once, never admits a job twice or exceeds a quota.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from jobs import transitions, wake
from jobs.lifecycle import HOLDING_QUOTA, LIVE_NODE, PENDING, Cause, FailureKind, Status, Transition
from jobs.models import Job, Node
from jobs.scheduling import core
from jobs.transitions import SCHEDULED_TYPES, job_evict_request
from quotas import selectors as quota_selectors
from quotas import services as quota_services
from quotas.core import queued_demand
from quotas.models import Cluster, UsageRecord

log = logging.getLogger(__name__)
_LOCK_KEY = 0x5EC0_57D0  # pg_advisory_xact_lock key shared by every scheduling cycle
HISTORY_RUNS = 20  # recent completed runs of an experiment that make its typical duration
HISTORY_DAYS = 30


def _lock() -> None:
    """Serialise cycles. SQLite already does (IMMEDIATE transactions take the write lock)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


# --- what is known of how long jobs take ----------------------------------------------------


def _history_key(experiment: str, display_name: str) -> tuple[str, str]:
    """Runs of the same experiment are alike; the catch-all "Default" experiment is not, so there
    the display name says which runs are alike."""
    return ("experiment", experiment) if experiment != "Default" else ("display name", display_name)


def _histories(workspace_keys: Iterable[tuple[str, tuple[str, str]]], now) -> dict:
    """Recent completed durations per (workspace, key): one query whatever the number of jobs."""
    wanted = set(workspace_keys)
    if not wanted:
        return {}
    experiments = {(ws, value) for ws, (kind, value) in wanted if kind == "experiment"}
    names = {(ws, value) for ws, (kind, value) in wanted if kind == "display name"}
    condition = Q(pk__in=[])
    for ws, value in experiments:
        condition |= Q(workspace__name=ws, experiment_name=value)
    for ws, value in names:
        condition |= Q(workspace__name=ws, experiment_name="Default", display_name=value)
    recent = (Job.objects.filter(condition, status=Status.COMPLETED, type__in=SCHEDULED_TYPES,
                                 started_at__isnull=False, ended_at__gte=now - timedelta(days=HISTORY_DAYS))
              .order_by("-ended_at")
              .values_list("workspace__name", "experiment_name", "display_name", "started_at", "ended_at")
              [:HISTORY_RUNS * len(wanted)])
    durations: dict = {}
    for ws, experiment, display_name, started, ended in recent:
        key = (ws, _history_key(experiment, display_name))
        runs = durations.setdefault(key, [])
        if len(runs) < HISTORY_RUNS:
            runs.append(max(0.0, (ended - started).total_seconds()))
    return {key: _typical(runs, key[1]) for key, runs in durations.items() if key in wanted and runs}


def _typical(runs: list[float], key: tuple[str, str]) -> core.Typical:
    kind, value = key
    of = f"experiment '{value}'" if kind == "experiment" else f"jobs named '{value}'"
    return core.Typical(low_seconds=min(runs), high_seconds=max(runs), runs=len(runs), of=of)


def history_load(*, experiment: str, display_name: str, workspace: str, now=None) -> core.Typical | None:
    """What recent runs say about a job's duration (for explaining a job not yet submitted)."""
    key = (workspace, _history_key(experiment, display_name))
    return _histories([key], now or timezone.now()).get(key)


# --- the snapshot ---------------------------------------------------------------------------

PENDING_FIELDS = ("id", "name", "created_at", "workspace__name", "instance_count", "requested_instance_type", "tier",
                  "priority", "compute", "status", "parent_id", "timeout_seconds", "experiment_name", "display_name",
                  "pending_code", "pending_reason", "queue_position", "estimated_start_earliest",
                  "estimated_start_latest", "estimate_basis")
RUNNING_FIELDS = ("id", "workspace__name", "instance_type", "instance_count", "tier", "priority", "started_at",
                  "timeout_seconds", "compute", "evicting", "experiment_name", "display_name")


def _snapshot(now, *, queue: bool = True) -> tuple[core.Snapshot, dict[int, dict]]:
    """The core's snapshot, and the pending rows as read (to write back only what changed).
    Without ``queue``: quotas, catalogue and clusters only (what a refusal depends on)."""
    running_rows = list(Job.objects.filter(status__in=HOLDING_QUOTA, type__in=SCHEDULED_TYPES)
                        .values(*RUNNING_FIELDS)) if queue else []
    rows = {j["id"]: j for j in Job.objects.filter(status__in=PENDING, type__in=SCHEDULED_TYPES)
            .values(*PENDING_FIELDS)} if queue else {}
    key_of = {j["id"]: (j["workspace__name"], _history_key(j["experiment_name"], j["display_name"]))
              for j in [*running_rows, *rows.values()]}
    history = _histories(key_of.values(), now)
    running = tuple(
        core.RunningJob(id=j["id"], workspace=j["workspace__name"], instance_type=j["instance_type"],
                        nodes=j["instance_count"], tier=j["tier"], priority=j["priority"],
                        # the time limit counts from the command's start (None while being prepared: from now)
                        started_at=j["started_at"], timeout_seconds=j["timeout_seconds"], compute=j["compute"],
                        evicting=j["evicting"], typical=history.get(key_of[j["id"]]))
        for j in running_rows
    )
    pending = tuple(
        core.PendingJob(id=j["id"], name=j["name"], submitted_at=j["created_at"], workspace=j["workspace__name"],
                        instance_count=j["instance_count"], instance_type=j["requested_instance_type"] or None,
                        tier=j["tier"], priority=j["priority"], compute=j["compute"],
                        timeout_seconds=j["timeout_seconds"], typical=history.get(key_of[j["id"]]))
        for j in rows.values()
    )
    clusters = tuple(
        core.Cluster(c.workspace.name, c.name, c.size_id, c.min_instances, c.max_instances, c.idle_seconds,
                     c.allocated, c.idle_since, c.scaling_down_until)
        for c in quota_selectors.clusters()
    )
    snapshot = core.Snapshot(
        now=now, catalogue=quota_selectors.catalogue(), quotas=quota_selectors.quotas(), running=running,
        pending=pending, clusters=clusters,
        scale_down_time=timedelta(seconds=settings.STUDIO_CLUSTER_SCALE_DOWN_SECONDS),
    )
    return snapshot, rows


def snapshot_load(*, now=None, queue: bool = True) -> core.Snapshot:
    return _snapshot(now or timezone.now(), queue=queue)[0]


# --- the cycle --------------------------------------------------------------------------------


_in_process = threading.Lock()  # one cycle at a time per process (the lock below: across processes)


def _capacity(now) -> tuple:
    """What admissions rest on: the jobs holding quota (as the core counts them), quotas, clusters."""
    held = frozenset(
        (j["id"], j["instance_type"], j["instance_count"], j["tier"], j["compute"])
        for j in Job.objects.filter(status__in=HOLDING_QUOTA, type__in=SCHEDULED_TYPES)
        .values("id", "instance_type", "instance_count", "tier", "compute"))
    fixed = _snapshot(now, queue=False)[0]
    return held, fixed.quotas, fixed.clusters


def _still_holds(snapshot: core.Snapshot, capacity: tuple) -> bool:
    held, quotas, clusters = capacity
    seen = frozenset((r.id, r.instance_type, r.nodes, r.tier, r.compute) for r in snapshot.running)
    return held <= seen and quotas == snapshot.quotas and clusters == snapshot.clusters


@dataclass(frozen=True)
class Plan:
    """A cycle's decisions and the snapshot they were made on (read without the write lock)."""

    now: datetime
    snapshot: core.Snapshot
    rows: dict[int, dict]
    decisions: list[core.Decision]


def cycle_plan(*, now=None) -> Plan:
    """Steps 1–2: snapshot and decide, holding no write lock."""
    now = now or timezone.now()
    snapshot, rows = _snapshot(now)
    return Plan(now, snapshot, rows, core.decide(snapshot))


def cycle_apply(plan: Plan) -> list[core.Decision]:
    """Steps 3–6: under the cycle lock, apply ``plan`` if what it rests on still holds, or decide again."""
    with transaction.atomic():
        _lock()
        if not _still_holds(plan.snapshot, _capacity(plan.now)):
            plan = cycle_plan(now=plan.now)  # someone admitted or changed quota meanwhile: again, locked
        _apply(plan.decisions, plan.snapshot, plan.rows, plan.now)
    return plan.decisions


def schedule_cycle(*, now=None) -> list[core.Decision]:
    """One scheduling cycle. Returns the decisions it applied (for tests and benchmarks).

    Writes are batched: a cycle costs a constant number of queries plus one row-write
    per job whose state, position or estimate changed."""
    with _in_process:
        return cycle_apply(cycle_plan(now=now))


def _apply(decisions: list[core.Decision], snapshot: core.Snapshot, rows: dict[int, dict], now) -> None:
    """Every decision of one cycle, in the cycle's transaction."""
    admitted_nodes = _apply_admits([d for d in decisions if isinstance(d, core.Admit)], snapshot, now)
    waits = [d for d in decisions if isinstance(d, core.Wait)]
    _apply_waits(waits, rows, now)
    _apply_rejects([d for d in decisions if isinstance(d, core.Reject)], rows, now)
    for decision in decisions:
        if isinstance(decision, core.Preempt):
            job_evict_request(job_id=decision.job_id, reason=decision.reason, at=now)
        elif isinstance(decision, core.ScaleCluster):
            _apply_scale(decision, now)
    quota_services.queued_demand_replace(demand=queued_demand(wait.demand for wait in waits))
    if admitted_nodes:
        transaction.on_commit(lambda: wake.wake_workers(admitted_nodes), robust=True)


def _pending_job_row(job_id: int, rows: dict[int, dict]) -> Job:
    """A waiting job as the applier needs it (what it reads of a row it does not lock); made only
    for the jobs whose state changes, not for every job of a long queue at every cycle."""
    row = rows[job_id]
    return Job(id=job_id, name=row["name"], status=row["status"], parent_id=row["parent_id"], compute=row["compute"])


def _apply_admits(admits: list[core.Admit], snapshot: core.Snapshot, now) -> list[tuple[int, str]]:
    """Admit in bulk. Rows are locked and re-checked first, so a job canceled meanwhile stays canceled."""
    if not admits:
        return []
    by_id = {d.job_id: d for d in admits}
    jobs = list(Job.objects.select_for_update().filter(id__in=by_id, status__in=PENDING)
                .only("id", "name", "status", "attempt", "compute", "workspace_id", "submitted_by_id", "parent_id"))
    items = []
    for job in jobs:
        decision = by_id[job.id]
        transition = Transition(Status(job.status), Status.PROVISIONING, Cause.ADMITTED, decision.reason)
        items.append((job, transition, {"admitted_at": now, "attempt": job.attempt + 1,
                                        "instance_type": decision.instance_type,
                                        "instance_type_reason": decision.reason, "tier": decision.tier}))
    jobs = transitions.jobs_transition(items=items, actor="scheduler", at=now)
    nodes = Node.objects.bulk_create(
        [Node(job_id=job.id, attempt=job.attempt + 1, index=k, pool=by_id[job.id].pool)
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
    for job in jobs:
        if job.compute != core.SERVERLESS:
            # locked: a delete of this cluster waits for the admission (and then sees the job running)
            cluster = Cluster.objects.select_for_update().get(workspace_id=job.workspace_id, name=job.compute)
            quota_services.cluster_scale(cluster_id=cluster.id,
                                         allocated=by_id[job.id].scale_cluster_to or cluster.allocated,
                                         scaling_down_until=None, idle_since=None)
    return [(node.id, node.pool) for node in nodes]


ESTIMATE_SLACK = timedelta(seconds=30)  # estimates that move less than this are not rewritten


def _moved(old, new) -> bool:
    return (old is None) != (new is None) or (old is not None and abs(old - new) > ESTIMATE_SLACK)


def _apply_waits(waits: list[core.Wait], rows: dict[int, dict], now) -> None:
    """Why each job waits, where it stands and when it should start. A new reason is a transition
    (an event on the timeline); a moved position or estimate is only written."""
    items, moved = [], []
    for wait in waits:
        row = rows[wait.job_id]
        earliest = wait.estimate.earliest if wait.estimate else None
        latest = wait.estimate.latest if wait.estimate else None
        values = {"queue_position": wait.position, "estimate_basis": wait.basis,
                  "estimated_start_earliest": earliest if _moved(row["estimated_start_earliest"], earliest)
                  else row["estimated_start_earliest"],
                  "estimated_start_latest": latest if _moved(row["estimated_start_latest"], latest)
                  else row["estimated_start_latest"]}
        if row["status"] != Status.QUEUED or row["pending_code"] != wait.code or row["pending_reason"] != wait.reason:
            message = core.describe_wait(reason=wait.reason, position=wait.position, estimate=wait.estimate,
                                         basis=wait.basis, now=now)
            transition = Transition(Status(row["status"]), Status.QUEUED, wait.code.value, message)
            items.append((_pending_job_row(wait.job_id, rows), transition,
                          {**values, "pending_code": wait.code.value, "pending_reason": wait.reason}))
        elif any(row[name] != value for name, value in values.items()):
            moved.append(Job(id=wait.job_id, **values))
    if items:
        transitions.jobs_transition(items=items, actor="scheduler", at=now)
    transitions.jobs_waiting_update(rows=moved)


def _apply_rejects(rejects: list[core.Reject], rows: dict[int, dict], now) -> None:
    if not rejects:
        return
    items = []
    for reject in rejects:
        message = reject.reason + "".join(f"; {r}" for r in reject.recommendations)
        transition = Transition(Status(rows[reject.job_id]["status"]), Status.FAILED, reject.code.value,
                                message, failure_kind=FailureKind.REJECTED)
        items.append((_pending_job_row(reject.job_id, rows), transition, {"error": message}))
    transitions.jobs_transition(items=items, actor="scheduler", at=now)


def _apply_scale(decision: core.ScaleCluster, now) -> None:
    cluster = Cluster.objects.filter(workspace__name=decision.workspace, name=decision.name).first()
    if cluster is None:
        return
    quota_services.cluster_scale(cluster_id=cluster.id, allocated=decision.allocated,
                                 scaling_down_until=decision.scaling_down_until,
                                 idle_since=None if decision.scaling_down_until is None else cluster.idle_since)
    log.info("%s", decision.reason)


def stale_nodes(*, now=None) -> tuple[list[int], list[int]]:
    """Nodes whose heartbeats stopped: (newly NotResponding, lost for good)."""
    now = now or timezone.now()
    silent_since = now - timedelta(seconds=settings.STUDIO_NOT_RESPONDING_SECONDS)
    lost_since = now - timedelta(seconds=settings.STUDIO_NODE_LOST_SECONDS)
    claimed = Q(worker__gt="") & Q(heartbeat_at__isnull=False)
    lost = list(Node.objects.filter(claimed, status__in=LIVE_NODE, heartbeat_at__lt=lost_since)
                .values_list("id", flat=True))
    silent = list(Node.objects.filter(claimed, status__in=LIVE_NODE - {Status.NOT_RESPONDING},
                                      heartbeat_at__lt=silent_since).exclude(id__in=lost).values_list("id", flat=True))
    return silent, lost

