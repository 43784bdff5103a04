"""The one applier of job state. Every change of a job's or a node's status is written here.

``jobs.lifecycle`` decides (pure); this module applies: a compare-and-swap on the row (the
update only happens while the row is still in the transition's ``from`` status), one job event
per transition (the timeline), and the follow-ups:

1. a job whose node changed is settled from all of its nodes, under the job's own row lock
   (every node change takes that lock first, so the last node to end always sees the others
   ended, at any isolation level);
2. ``stop``: a job's nodes are asked to stop (those no worker has claimed end at once), and a
   parent's children are stopped;
3. a child's change settles its parent, and a parent that stops stops its children: on commit,
   each in its own transaction, so that no transaction ever holds a parent's and a child's lock;
4. quota freed, or the queue changed: a scheduling cycle is asked for (``jobs.wake``).

The services (``jobs.services``) and the scheduling service call this; nothing else writes a
status. Must be called inside ``transaction.atomic()``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from jobs import wake
from jobs.lifecycle import (
    HOLDING_QUOTA,
    NOT_ENDED,
    PENDING,
    TERMINAL,
    Cause,
    ChildView,
    FailureKind,
    JobView,
    NodeView,
    ParentPolicy,
    Status,
    Transition,
    on_evict,
    settle_job,
    settle_parent,
    stop_child,
)
from jobs.models import Job, JobEvent, Node
from jobs.tracking.services import tracking_tokens_revoke
from quotas import services as quota_services
from quotas.core import SPOT
from quotas.models import Cluster
from studio.db import bulk_set

log = logging.getLogger(__name__)

SERVERLESS = "serverless"
_CLEAR_WAITING = {"pending_code": "", "pending_reason": "", "queue_position": None,
                  "estimated_start_earliest": None, "estimated_start_latest": None, "estimate_basis": ""}
LOCKED_FIELDS = ("id", "name", "status", "parent_id", "compute", "workspace_id", "evictions", "failure_kind", "type",
                 "children_complete", "attempt")
SCHEDULED_TYPES = ("command",)
"""Job types that are scheduled themselves (they have nodes). Parents hold no quota."""


def lock_job(job_id: int) -> Job:
    """The job's row, locked until the transaction ends (SQLite: the write lock is already held)."""
    return Job.objects.select_for_update().only(*LOCKED_FIELDS).get(id=job_id)


def _values(transition: Transition, at: datetime) -> dict:
    """The columns a transition sets, beside the status."""
    values: dict = {"status": transition.to}
    to, source = transition.to, transition.from_status
    if source in PENDING and to not in PENDING:
        values.update(_CLEAR_WAITING)
    if to in TERMINAL:
        values.update(ended_at=at, failure_kind=transition.failure_kind or "", exit_code=transition.exit_code,
                      error=transition.message if to != Status.COMPLETED else "", evicting=False)
    elif to == Status.CANCEL_REQUESTED and transition.changes_status:
        values["failure_kind"] = transition.failure_kind or ""  # why it is being stopped
    elif to == Status.QUEUED and source in HOLDING_QUOTA:  # evicted, or its worker stopped: back to the queue
        values.update(evicting=False, admitted_at=None, started_at=None,
                      instance_type="", pending_code=transition.code, pending_reason=transition.message)
        if transition.failure_kind != FailureKind.INTERRUPTED:  # a worker's shutdown is no eviction
            values["evictions"] = F("evictions") + 1
    if to == Status.RUNNING:
        values["started_at"] = Coalesce(F("started_at"), Value(at))
    return values


def _event(job_id: int, transition: Transition, *, at: datetime, actor: str) -> JobEvent:
    return JobEvent(job_id=job_id, at=at, from_status=transition.from_status, to_status=transition.to,
                    code=transition.code, message=transition.message or f"{transition.to}", actor=actor)


def note(*, job_id: int, message: str, code: str = "", actor: str = "", at: datetime | None = None) -> None:
    """An event that changes no state: the reasoning behind a decision, a node's environment."""
    JobEvent.objects.create(job_id=job_id, at=at or timezone.now(), code=code, message=message, actor=actor)


def job_transition(*, job: Job, transition: Transition, actor: str = "", fields: Mapping | None = None,
                   at: datetime | None = None) -> bool:
    """Apply one transition to ``job`` (read with ``lock_job``). False when the row has moved on
    since it was read (the compare-and-swap lost), in which case nothing was written."""
    at = at or timezone.now()
    values = {**_values(transition, at), **(fields or {})}
    if not Job.objects.filter(id=job.id, status=transition.from_status).update(**values):
        return False
    JobEvent.objects.bulk_create([_event(job.id, transition, at=at, actor=actor)])
    job.status = transition.to
    _follow_up(job, transition, at=at, cycle=True)
    return True


def jobs_transition(*, items: Sequence[tuple[Job, Transition, Mapping]], actor: str, at: datetime) -> list[Job]:
    """Apply many transitions at once (a scheduling cycle's admissions, waits and rejections):
    one statement per batch, each row only while it is still in its transition's ``from``
    status. Returns the jobs that moved.

    The scheduling service applies its own decisions here, so no further cycle is asked for."""
    groups: dict[tuple, list[tuple[Job, Transition, dict]]] = {}
    for job, transition, fields in items:
        values = {**_values(transition, at), **fields}
        groups.setdefault((transition.from_status, transition.to, tuple(sorted(values))), []) \
            .append((job, transition, values))
    moved: list[tuple[Job, Transition]] = []
    for (source, target, names), group in groups.items():
        rows = [Job(id=job.id, **values) for job, _, values in group]
        bulk_set(Job, rows, names, where=f"{Job._meta.db_table}.status = %s", where_params=[source])
        # the rows now in the target status moved; one taken elsewhere meanwhile (canceled) did not
        moved_ids = set(Job.objects.filter(id__in=[row.id for row in rows], status=target)
                        .values_list("id", flat=True))
        moved += [(job, transition) for job, transition, _ in group if job.id in moved_ids]
    JobEvent.objects.bulk_create([_event(job.id, transition, at=at, actor=actor) for job, transition in moved],
                                 batch_size=500)
    for job, transition in moved:
        job.status = transition.to
        _follow_up(job, transition, at=at, cycle=False)
    return [job for job, _ in moved]


def jobs_waiting_update(*, rows: Sequence[Job]) -> None:
    """A waiting job's position and estimate moved (no change of state, no event). Only rows
    still waiting are written: a job canceled since the cycle's snapshot stays canceled."""
    bulk_set(Job, rows, ["queue_position", "estimated_start_earliest", "estimated_start_latest", "estimate_basis"],
             where=f"{Job._meta.db_table}.status IN (%s, %s)", where_params=sorted(PENDING))


# --- follow-ups ----------------------------------------------------------------------------


def _follow_up(job: Job, transition: Transition, *, at: datetime, cycle: bool) -> None:
    if transition.ends:
        tracking_tokens_revoke(job_id=job.id)  # its MLflow tokens die with it, whatever its end
    if transition.stop:
        nodes_stop(job_id=job.id, evict=transition.code == Cause.EVICTING, at=at)
        if transition.to != Status.QUEUED:
            transaction.on_commit(lambda: children_stop(parent_id=job.id), robust=True)
    if transition.frees_quota and job.compute != SERVERLESS:
        _cluster_idle_check(job, at)
    if job.parent_id and transition.changes_status:
        parent_id = job.parent_id
        transaction.on_commit(lambda: parent_settle(parent_id=parent_id), robust=True)
    if cycle and (transition.frees_quota or transition.from_status in PENDING or transition.to in PENDING):
        wake.request_cycle()  # quota freed, or the queue changed


def nodes_stop(*, job_id: int, evict: bool = False, at: datetime | None = None) -> None:
    """Ask a job's nodes to stop; the ones no worker has claimed end here (and free their quota)."""
    at = at or timezone.now()
    open_nodes = Node.objects.filter(job_id=job_id).exclude(status__in=TERMINAL)
    open_nodes.update(cancel_requested=True, **({"evict_requested": True} if evict else {}))
    if _unclaimed_end(open_nodes, kind=FailureKind.EVICTED if evict else FailureKind.CANCELED, at=at):
        job_settle(job_id=job_id, at=at)
    transaction.on_commit(wake.ring, robust=True)  # running nodes stop within a second


def _unclaimed_end(nodes, *, kind: FailureKind, at: datetime) -> list[int]:
    """End the nodes of ``nodes`` that no worker has claimed (a claim is refused once a stop was
    asked, so nobody else ends them) and free their quota. Returns their ids."""
    unclaimed = list(nodes.filter(worker="").values_list("id", flat=True))
    if unclaimed:
        Node.objects.filter(id__in=unclaimed, worker="").exclude(status__in=TERMINAL).update(
            status=Status.CANCELED, ended_at=at, failure_kind=kind)
        quota_services.usage_close(node_ids=unclaimed, at=at)
    return unclaimed


def job_evict_request(*, job_id: int, reason: str, actor: str = "scheduler", at: datetime | None = None) -> bool:
    """Reclaim a running Spot job's nodes; it goes back to the queue when they have stopped.
    False when it is not a Spot job at work, or an eviction is already in flight."""
    job = lock_job(job_id)
    if Job.objects.filter(id=job_id, tier=SPOT, evicting=False).exists():
        transition = on_evict(Status(job.status), reason=reason)
        if transition is not None:
            return job_transition(job=job, transition=transition, actor=actor, fields={"evicting": True}, at=at)
    return False


def _cluster_idle_check(job: Job, at: datetime) -> None:
    """A cluster with no job left on it starts counting its idle time (then it scales down)."""
    busy = Job.objects.filter(workspace_id=job.workspace_id, compute=job.compute, status__in=HOLDING_QUOTA,
                              type__in=SCHEDULED_TYPES).exclude(id=job.id)
    if not busy.exists():
        Cluster.objects.filter(workspace_id=job.workspace_id, name=job.compute, idle_since__isnull=True) \
            .update(idle_since=at)


# --- a job from its nodes ------------------------------------------------------------------


def job_settle(*, job_id: int, at: datetime | None = None, node_transition: Transition | None = None,
               actor: str = "") -> Transition | None:
    """Settle a job from its current attempt's nodes (its row is locked here). Returns the
    transition applied, if any."""
    job = lock_job(job_id)
    nodes = [NodeView(n.index, Status(n.status), FailureKind(n.failure_kind) if n.failure_kind else None,
                      n.exit_code, n.error, n.ended_at)
             for n in Node.objects.filter(job_id=job_id, attempt=job.attempt).order_by("index")]
    view = JobView(Status(job.status), job.evictions, _stop_kind(job))
    transition = settle_job(view, nodes, max_evictions=settings.STUDIO_SPOT_MAX_EVICTIONS)
    if transition is None:
        return None
    if node_transition is not None and node_transition.to == transition.to and not transition.ends:
        # the job moved because this node did: say so in the node's words ("node 1 claimed by worker w")
        transition = replace(transition, message=node_transition.message, code=node_transition.code)
    return transition if job_transition(job=job, transition=transition, actor=actor, at=at) else None


def _stop_kind(job: Job) -> FailureKind | None:
    return FailureKind(job.failure_kind) if job.status == Status.CANCEL_REQUESTED and job.failure_kind else None


def node_transition(*, node: Node, transition: Transition, fields: Mapping | None = None,
                    at: datetime | None = None, actor: str = "") -> bool:
    """Apply a node's transition (its job's row must be locked: ``lock_job``), then settle the job.
    A node that fails stops its siblings (``stop``): a gang cannot go on without one of its nodes."""
    at = at or timezone.now()
    values = {"status": transition.to, **(fields or {})}
    if transition.to in TERMINAL:
        values.update(ended_at=at, exit_code=transition.exit_code, failure_kind=transition.failure_kind or "",
                      error=transition.message if transition.to != Status.COMPLETED else "")
    if transition.to == Status.RUNNING:
        values["started_at"] = Coalesce(F("started_at"), Value(at))
    if not Node.objects.filter(id=node.id, status=transition.from_status).update(**values):
        return False
    if transition.to in TERMINAL:
        quota_services.usage_close(node_ids=[node.id], at=at)
        if transition.stop:
            siblings = Node.objects.filter(job_id=node.job_id, attempt=node.attempt).exclude(status__in=TERMINAL)
            siblings.update(cancel_requested=True)
            _unclaimed_end(siblings, kind=FailureKind.CANCELED, at=at)  # no worker will ever take them now
            transaction.on_commit(wake.ring, robust=True)
    job_settle(job_id=node.job_id, at=at, node_transition=transition, actor=actor)
    return True


def jobs_settle_leftovers() -> int:
    """Safety net (the housekeeping loop): a job at work whose current nodes have all ended, or
    whose only open nodes were asked to stop before any worker claimed them, is settled now.
    Every node change settles its job under the job's lock, so this finds only what a crash
    between the two left behind. Returns how many jobs it changed."""
    changed = 0
    open_nodes = Node.objects.filter(job_id=models.OuterRef("id"), attempt=models.OuterRef("attempt")) \
        .exclude(status__in=TERMINAL).exclude(worker="", cancel_requested=True)
    stuck = Job.objects.filter(status__in=HOLDING_QUOTA, type__in=SCHEDULED_TYPES, nodes__isnull=False) \
        .exclude(models.Exists(open_nodes)).values_list("id", flat=True).distinct()
    for job_id in stuck:
        with transaction.atomic():
            job = lock_job(job_id)
            current = Node.objects.filter(job_id=job_id, attempt=job.attempt).exclude(status__in=TERMINAL)
            _unclaimed_end(current.filter(cancel_requested=True), kind=FailureKind.CANCELED, at=timezone.now())
            changed += job_settle(job_id=job_id) is not None
    return changed


# --- parents and children ------------------------------------------------------------------

PARENT_POLICIES = {"sweep": ParentPolicy(fail_on="all"), "pipeline": ParentPolicy(fail_on="any")}


def parent_policy(job: Job) -> ParentPolicy:
    """How a parent settles: sweeps fail only if every trial failed; pipelines fail on a failed
    step (and go on with independent steps when ``settings.continue_on_step_failure``)."""
    policy = PARENT_POLICIES.get(job.type, ParentPolicy())
    spec = Job.objects.values_list("spec", flat=True).get(id=job.id) or {}
    settings_ = spec.get("settings") or {}
    return replace(policy, continue_on_failure=bool(settings_.get("continue_on_step_failure")),
                   complete=job.children_complete)


def parent_settle(*, parent_id: int, at: datetime | None = None) -> Transition | None:
    """Settle a parent from its children, in a transaction of its own."""
    with transaction.atomic():
        parent = lock_job(parent_id)
        children = [ChildView(name, Status(status), FailureKind(kind) if kind else None)
                    for name, status, kind in Job.objects.filter(parent_id=parent_id).order_by("created_at", "id")
                    .values_list("name", "status", "failure_kind")]
        transition = settle_parent(JobView(Status(parent.status), parent.evictions, _stop_kind(parent)),
                                   children, parent_policy(parent))
        if transition is None or not job_transition(job=parent, transition=transition, at=at):
            return None
        return transition


def children_stop(*, parent_id: int) -> None:
    """Stop every open child of a parent that stopped or ended, each in its own transaction."""
    parent_name = Job.objects.values_list("name", flat=True).get(id=parent_id)
    for child_id in Job.objects.filter(parent_id=parent_id).exclude(status__in=TERMINAL).values_list("id", flat=True):
        with transaction.atomic():
            child = lock_job(child_id)
            transition = stop_child(Status(child.status), parent=parent_name)
            if transition is not None:
                job_transition(job=child, transition=transition, actor=parent_name)


def parents_reconcile() -> int:
    """Safety net (the housekeeping loop): parents whose settling was lost with a crashed process
    are settled again, and children of ended parents are stopped. Returns how many it changed."""
    changed = 0
    open_parents = Job.objects.filter(status__in=NOT_ENDED).exclude(type__in=SCHEDULED_TYPES) \
        .values_list("id", flat=True)
    for parent_id in open_parents:
        changed += parent_settle(parent_id=parent_id) is not None
    orphans = Job.objects.filter(status__in=NOT_ENDED, parent__status__in=TERMINAL) \
        .values_list("parent_id", flat=True).distinct()
    for parent_id in orphans:
        children_stop(parent_id=parent_id)
        changed += 1
    return changed
