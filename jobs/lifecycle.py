"""What state a job is in, and what happens next. Pure Python: no Django, no clock of its own.

The scheduling core decides *when and where* a job may run; this module decides *what state*
it is in. It holds the Azure ML statuses and their groups, the transitions allowed between
them, and functions that take plain values (a job, its nodes, its children) and return a
``Transition``: from, to, a reason code, a message a user can act on and, for an end, the
failure kind. One applier (``jobs.services.job_transition``) writes each transition with a
compare-and-swap on the row and records it as a job event; nothing else in the code spells a
status set by hand.

A job with nodes (a command job) settles from its nodes: it follows its slowest node, and ends
when its last node ends (``settle_job``). A parent (a sweep or a pipeline) holds no quota and
has no nodes; it settles from its children under a policy it gives (``settle_parent``). Cancel
cascades down; a child never outlives its parent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from studio.enums import DocumentedEnum


class Status(DocumentedEnum):
    """The statuses of a job (and of a node), as Azure ML names them."""

    NOT_STARTED = "NotStarted", "Submitted; the scheduling service has not looked at it yet."
    QUEUED = "Queued", "Waiting for quota, a cluster node or higher-priority jobs; the reason says which."
    PROVISIONING = "Provisioning", "Admitted: its nodes are being started (or wait for a worker slot)."
    PREPARING = "Preparing", "A worker claimed a node and is preparing it: code, inputs, environment."
    RUNNING = "Running", "The command runs."
    FINALIZING = "Finalizing", "The command ended; outputs and logs are being kept."
    CANCEL_REQUESTED = "CancelRequested", "Asked to stop; its nodes (or children) are stopping."
    NOT_RESPONDING = "NotResponding", "A node's worker stopped sending heartbeats; it may come back."
    COMPLETED = "Completed", "Ended well."
    FAILED = "Failed", "Ended badly; the failure kind and error say why."
    CANCELED = "Canceled", "Stopped on request before it ended by itself."


S = Status
PENDING = frozenset({S.NOT_STARTED, S.QUEUED})
"""Waiting to be admitted. Holds no quota."""
PHASES = (S.PROVISIONING, S.PREPARING, S.RUNNING, S.FINALIZING)
"""A node's progress, in order. A job with several nodes is in its slowest node's phase."""
ACTIVE = frozenset(PHASES) | {S.CANCEL_REQUESTED, S.NOT_RESPONDING}
"""Admitted and not ended: holds quota (a command job) or has children at work (a parent)."""
HOLDING_QUOTA = ACTIVE
TERMINAL = frozenset({S.COMPLETED, S.FAILED, S.CANCELED})
"""Ended for good; nothing changes it any more."""
NOT_ENDED = PENDING | ACTIVE
LIVE_NODE = frozenset(PHASES) | {S.NOT_RESPONDING}
"""Node statuses whose worker is expected to send heartbeats (once it claimed the node)."""


def tone(status: str) -> str:
    """How a status is shown: ``ok``, ``bad``, ``stopped``, ``live`` or ``waiting`` (a CSS class)."""
    return {S.COMPLETED: "ok", S.FAILED: "bad", S.CANCELED: "stopped", S.NOT_RESPONDING: "bad",
            S.CANCEL_REQUESTED: "stopped"}.get(status, "waiting" if status in PENDING else "live")


class FailureKind(DocumentedEnum):
    """Why a job or node ended other than Completed."""

    USER = "user", "The command failed (non-zero exit, killed by a signal): look at the job's log."
    INFRASTRUCTURE = "infrastructure", "The studio could not run it (preparation, a lost worker, refused)."
    TIMEOUT = "timeout", "It ran longer than its `limits.timeout` and was stopped."
    CANCELED = "canceled", "Someone (or its parent) canceled it."
    EVICTED = "evicted", "Its Spot nodes were reclaimed more often than STUDIO_SPOT_MAX_EVICTIONS allows."
    REJECTED = "rejected", "The scheduling service refused it: it can never run as asked (quota, VM size, compute)."
    INTERRUPTED = "interrupted", "Its worker was stopped (shut down, not crashed) while it ran: it went back to the queue."

    @property
    def label(self) -> str:
        return {"user": "User error", "infrastructure": "Infrastructure error", "timeout": "Timed out",
                "canceled": "Canceled", "evicted": "Evicted", "rejected": "Rejected",
                "interrupted": "Interrupted"}[self.value]


class Cause(DocumentedEnum):
    """The reason code of a transition (beside its message). The scheduling core's own codes
    (``jobs.scheduling.core.Reason``) are used for waits and rejections."""

    SUBMITTED = "Submitted", "The job was recorded."
    ADMITTED = "Admitted", "The scheduling service admitted it and chose its VM size."
    NODE_CLAIMED = "NodeClaimed", "A worker took a node and started preparing it."
    NODE_PROGRESS = "NodeProgress", "Its slowest node moved on to the next phase."
    NOT_RESPONDING = "NoHeartbeat", "A node's worker has been silent for STUDIO_NOT_RESPONDING_SECONDS."
    RESPONDING = "RespondingAgain", "A silent node's worker sent a heartbeat again."
    NODE_LOST = "NodeLost", "A node's worker was silent for STUDIO_NODE_LOST_SECONDS: given up."
    COMPLETED = "Completed", "Every node (or the parent's children) ended well."
    USER_ERROR = "UserError", "The command failed on a node."
    INFRASTRUCTURE_ERROR = "InfrastructureError", "A node could not be prepared, or its worker failed."
    TIMED_OUT = "TimedOut", "It ran past `limits.timeout`."
    CANCEL_REQUESTED = "CancelRequested", "Someone asked it to stop."
    CANCELED = "Canceled", "It stopped on request."
    EVICTING = "Evicting", "Its Spot nodes are being reclaimed."
    REQUEUED = "Requeued", "Evicted from Spot capacity, or its worker was stopped while it ran; back in the queue."
    INTERRUPTED = "WorkerStopped", "The worker running a node was stopped (SIGTERM, a shutdown): the node stopped."
    WAITING_FOR_WORKER = "WaitingForWorker", ("An admitted node was not claimed by a worker within "
                                              "STUDIO_NODE_CLAIM_TIMEOUT_SECONDS (or could not be sent): sent again.")
    EVICTION_LIMIT = "EvictionLimit", "Evicted more than STUDIO_SPOT_MAX_EVICTIONS times."
    CHILD_FAILED = "ChildFailed", "A child failed and the parent's policy fails it (its other children stop)."
    PARENT_STOPPED = "ParentStopped", "Its parent ended or was canceled; a child never outlives its parent."


class IllegalTransition(ValueError):
    """A transition the table does not allow (a bug, never a user's mistake)."""


# --- the table --------------------------------------------------------------------------------

_ENDS = frozenset(TERMINAL)
ALLOWED: Mapping[Status, frozenset[Status]] = {
    S.NOT_STARTED: frozenset({S.QUEUED, S.PROVISIONING, S.RUNNING}) | _ENDS,
    S.QUEUED: frozenset({S.QUEUED, S.PROVISIONING, S.RUNNING}) | _ENDS,
    # a parent goes straight to Running once a child is at work, and back to Queued while all of
    # its children wait; a command job goes back to Queued when it is evicted from Spot capacity
    S.PROVISIONING: frozenset(PHASES) | {S.QUEUED, S.CANCEL_REQUESTED, S.NOT_RESPONDING} | _ENDS,
    S.PREPARING: frozenset(PHASES) | {S.QUEUED, S.CANCEL_REQUESTED, S.NOT_RESPONDING} | _ENDS,
    S.RUNNING: frozenset(PHASES) | {S.QUEUED, S.CANCEL_REQUESTED, S.NOT_RESPONDING} | _ENDS,
    S.FINALIZING: frozenset(PHASES) | {S.QUEUED, S.CANCEL_REQUESTED, S.NOT_RESPONDING} | _ENDS,
    S.NOT_RESPONDING: frozenset(PHASES) | {S.QUEUED, S.CANCEL_REQUESTED, S.NOT_RESPONDING} | _ENDS,
    S.CANCEL_REQUESTED: frozenset({S.CANCEL_REQUESTED}) | _ENDS,
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELED: frozenset(),
}
"""For each status, where a job may go next. A status to itself is an event that changes no
status (a waiting job's reason changed, an eviction or a timeout began)."""


@dataclass(frozen=True)
class Transition:
    """One change of state, as the applier writes it and the timeline shows it."""

    from_status: Status
    to: Status
    code: str
    message: str
    failure_kind: FailureKind | None = None
    exit_code: int | None = None
    stop: bool = False
    """Stop what runs under it: a job's nodes, a parent's children."""

    def __post_init__(self) -> None:
        if self.to not in ALLOWED[self.from_status]:
            raise IllegalTransition(f"{self.from_status} → {self.to} is not allowed ({self.code}: {self.message})")

    @property
    def changes_status(self) -> bool:
        return self.from_status != self.to

    @property
    def ends(self) -> bool:
        return self.to in TERMINAL

    @property
    def frees_quota(self) -> bool:
        """It leaves the statuses that hold quota (an end, or back to the queue)."""
        return self.from_status in HOLDING_QUOTA and self.to not in HOLDING_QUOTA


# --- what a node tells us ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How a node's command ended, as the node agent classified it."""

    status: Status  # Completed | Failed | Canceled
    exit_code: int | None = None
    failure_kind: FailureKind | None = None
    message: str = ""


def on_claim(status: Status, *, node_index: int, worker: str) -> Transition | None:
    """A worker took an unclaimed node: it starts preparing it."""
    if status != S.PROVISIONING:
        return None
    return Transition(status, S.PREPARING, Cause.NODE_CLAIMED, f"node {node_index} claimed by worker {worker}")


def on_phase(status: Status, phase: Status) -> Transition | None:
    """A node reports its phase. Phases only move forward; a silent node that reports is back."""
    if status in TERMINAL or phase not in PHASES:
        return None
    if status == S.NOT_RESPONDING:
        return Transition(status, phase, Cause.RESPONDING, "the node is responding again")
    if status not in PHASES or PHASES.index(phase) <= PHASES.index(status):
        return None
    return Transition(status, phase, Cause.NODE_PROGRESS, f"{phase}")


def on_heartbeat(status: Status) -> Transition | None:
    """A heartbeat from a node that was declared silent brings it back (to Running: only a
    running command is silent long enough to be declared so)."""
    if status != S.NOT_RESPONDING:
        return None
    return Transition(status, S.RUNNING, Cause.RESPONDING, "the node is responding again")


def on_heartbeat_lost(status: Status, *, node_index: int, worker: str, silent_seconds: float,
                      lost: bool) -> Transition | None:
    """No heartbeat for a while: first NotResponding, then (``lost``) Failed for good."""
    if status not in LIVE_NODE:
        return None
    if lost:
        return Transition(status, S.FAILED, Cause.NODE_LOST,
                          f"the worker running node {node_index} ({worker}) stopped responding: no heartbeat for "
                          f"{silent_seconds:.0f} s. Submit the job again",
                          failure_kind=FailureKind.INFRASTRUCTURE)
    if status == S.NOT_RESPONDING:
        return None
    return Transition(status, S.NOT_RESPONDING, Cause.NOT_RESPONDING,
                      f"node {node_index} is not responding (worker {worker}: no heartbeat for "
                      f"{silent_seconds:.0f} s)")


_OUTCOME_CAUSE = {FailureKind.USER: Cause.USER_ERROR, FailureKind.INFRASTRUCTURE: Cause.INFRASTRUCTURE_ERROR,
                  FailureKind.TIMEOUT: Cause.TIMED_OUT, FailureKind.CANCELED: Cause.CANCELED,
                  FailureKind.EVICTED: Cause.EVICTING}


def on_exit(status: Status, outcome: Outcome, *, evict_requested: bool = False,
            worker_stopping: bool = False) -> Transition | None:
    """A node ended. A stop that was an eviction is an eviction; a stop because the worker itself
    shut down (gracefully) is an interruption, neither the user's cancel nor a failure: the node
    ends Canceled (interrupted), its siblings stop, and the job goes back to the queue
    (``settle_job``). A node that fails stops its siblings (``stop``): a gang cannot go on without
    one of its nodes."""
    if status in TERMINAL:
        return None  # already settled (declared lost, or canceled before it was claimed)
    if outcome.status == S.CANCELED and evict_requested:
        outcome = Outcome(S.CANCELED, outcome.exit_code, FailureKind.EVICTED, "evicted (Spot capacity reclaimed)")
    elif outcome.status == S.CANCELED and worker_stopping:
        return Transition(status, S.CANCELED, Cause.INTERRUPTED,
                          "the worker running this node was stopped; the job goes back to the queue",
                          failure_kind=FailureKind.INTERRUPTED, exit_code=outcome.exit_code, stop=True)
    if outcome.status == S.COMPLETED:
        return Transition(status, S.COMPLETED, Cause.COMPLETED, "", exit_code=outcome.exit_code)
    kind = outcome.failure_kind or (FailureKind.CANCELED if outcome.status == S.CANCELED else FailureKind.USER)
    return Transition(status, outcome.status, _OUTCOME_CAUSE[kind], outcome.message, failure_kind=kind,
                      exit_code=outcome.exit_code, stop=outcome.status == S.FAILED)


def on_timeout(status: Status, *, limit_seconds: float, what: str = "limits.timeout") -> Transition | None:
    """A job (or a parent) ran past its time limit: a job at work is stopped and then ends Failed
    (timeout); one that never started ends at once. A node's own limit is enforced by the node
    agent, whose outcome says ``timeout`` (see ``on_exit``)."""
    message = (f"it ran longer than {what} ({limit_seconds:g} s) and was stopped; raise {what} or make it "
               "faster")
    if status in PENDING:
        return Transition(status, S.FAILED, Cause.TIMED_OUT, message, failure_kind=FailureKind.TIMEOUT, stop=True)
    if status not in ACTIVE or status == S.CANCEL_REQUESTED:
        return None
    return Transition(status, S.CANCEL_REQUESTED, Cause.TIMED_OUT, message, failure_kind=FailureKind.TIMEOUT,
                      stop=True)


# --- what a user asks for ---------------------------------------------------------------------


def on_cancel(status: Status, *, actor: str, because: Cause = Cause.CANCEL_REQUESTED) -> Transition | None:
    """Cancel: a job that has not started ends at once; one at work is asked to stop (its nodes
    or children stop, then it settles as Canceled). None when it has ended or is stopping already.
    ``actor`` is who asked (a user name), or the parent's name when ``because`` is PARENT_STOPPED."""
    if status in TERMINAL or status == S.CANCEL_REQUESTED:
        return None
    if because == Cause.PARENT_STOPPED:
        who = f"because its parent {actor} stopped"
    else:
        who = f"by {actor}" if actor else "on request"
    if status in PENDING:
        code = Cause.CANCELED if because == Cause.CANCEL_REQUESTED else because
        return Transition(status, S.CANCELED, code, f"canceled {who} before it started",
                          failure_kind=FailureKind.CANCELED, stop=True)
    return Transition(status, S.CANCEL_REQUESTED, because, f"cancel requested {who}", stop=True)


def on_evict(status: Status, *, reason: str) -> Transition | None:
    """A Spot job's nodes are reclaimed: they stop, and the job goes back to the queue once they
    have (``settle_job``). Only a job at work can be evicted."""
    if status not in ACTIVE or status == S.CANCEL_REQUESTED:
        return None
    return Transition(status, status, Cause.EVICTING, reason, stop=True)


# --- settling a job from its nodes ------------------------------------------------------------


@dataclass(frozen=True)
class JobView:
    status: Status
    evictions: int = 0
    stop_kind: FailureKind | None = None
    """Why a CancelRequested job is stopping, when it is not a plain cancel (e.g. a timeout)."""


@dataclass(frozen=True)
class NodeView:
    index: int
    status: Status
    failure_kind: FailureKind | None = None
    exit_code: int | None = None
    error: str = ""
    ended_at: datetime | None = None


def settle_job(job: JobView, nodes: Sequence[NodeView], *, max_evictions: int) -> Transition | None:
    """A job with nodes follows its slowest node and ends with its last one. None: no change.

    Called by the applier with the job's row locked, after every change of one of its nodes,
    so the last node to end always sees its siblings ended (whatever the isolation level)."""
    if job.status in TERMINAL or job.status in PENDING or not nodes:
        return None
    open_nodes = [n for n in nodes if n.status not in TERMINAL]
    if open_nodes:
        if job.status == S.CANCEL_REQUESTED:
            return None
        if any(n.status == S.NOT_RESPONDING for n in open_nodes):
            target = S.NOT_RESPONDING
        else:
            target = min((n.status for n in open_nodes if n.status in PHASES), key=PHASES.index,
                         default=S.PROVISIONING)
        if target == job.status:
            return None
        if target == S.NOT_RESPONDING:
            return Transition(job.status, target, Cause.NOT_RESPONDING, "a node is not responding")
        cause = Cause.RESPONDING if job.status == S.NOT_RESPONDING else Cause.NODE_PROGRESS
        return Transition(job.status, target, cause, f"{target}" if cause == Cause.NODE_PROGRESS
                          else "the node is responding again")
    failed = sorted((n for n in nodes if n.status == S.FAILED),
                    key=lambda n: (n.ended_at is None, n.ended_at or datetime.min, n.index))
    evicted = [n for n in nodes if n.failure_kind == FailureKind.EVICTED]
    if evicted and not failed and job.status != S.CANCEL_REQUESTED:
        evictions = job.evictions + 1
        if evictions > max_evictions:
            return Transition(job.status, S.FAILED, Cause.EVICTION_LIMIT,
                              f"evicted {evictions} times, more than STUDIO_SPOT_MAX_EVICTIONS ({max_evictions}); "
                              "run it with `queue_settings.job_tier: Standard` to get dedicated nodes",
                              failure_kind=FailureKind.EVICTED)
        return Transition(job.status, S.QUEUED, Cause.REQUEUED,
                          f"evicted from Spot capacity ({evictions} eviction{'' if evictions == 1 else 's'} so far); "
                          "back in the queue")
    interrupted = [n for n in nodes if n.failure_kind == FailureKind.INTERRUPTED]
    if interrupted and not failed and job.status != S.CANCEL_REQUESTED:
        where = "its worker" if len(nodes) == 1 else f"the worker of node {interrupted[0].index}"
        return Transition(job.status, S.QUEUED, Cause.REQUEUED,
                          f"{where} was stopped while it ran; back in the queue, it starts again from the "
                          "beginning", failure_kind=FailureKind.INTERRUPTED)
    if failed:
        first = failed[0]
        error = first.error if len(nodes) == 1 else f"node {first.index}: {first.error}"
        kind = first.failure_kind or FailureKind.USER
        return Transition(job.status, S.FAILED, _OUTCOME_CAUSE.get(kind, Cause.USER_ERROR), error,
                          failure_kind=kind, exit_code=first.exit_code)
    if job.status == S.CANCEL_REQUESTED or any(n.status == S.CANCELED for n in nodes):
        if job.stop_kind == FailureKind.TIMEOUT:
            return Transition(job.status, S.FAILED, Cause.TIMED_OUT, "stopped: it ran past its time limit",
                              failure_kind=FailureKind.TIMEOUT)
        return Transition(job.status, S.CANCELED, Cause.CANCELED, "canceled by request",
                          failure_kind=FailureKind.CANCELED)
    return Transition(job.status, S.COMPLETED, Cause.COMPLETED, "", exit_code=0)


# --- parents and children ---------------------------------------------------------------------


@dataclass(frozen=True)
class ParentPolicy:
    """How a parent settles from its children.

    ``fail_on``: ``any`` — one failed child fails the parent (a pipeline); ``all`` — the parent
    fails only if every child failed (a sweep: a failed trial is a result, not a failure).
    ``continue_on_failure``: with ``any``, the other children go on after a failure (a pipeline's
    ``settings.continue_on_step_failure``) and the parent fails when they have ended; without it,
    the first failure stops the rest at once.
    ``complete``: the driver will create no more children (False while trials or steps are still
    to come: then all children ended does not end the parent)."""

    fail_on: str = "any"
    continue_on_failure: bool = False
    complete: bool = True

    def __post_init__(self) -> None:
        if self.fail_on not in ("any", "all"):
            raise ValueError(f"fail_on must be 'any' or 'all', not {self.fail_on!r}")


@dataclass(frozen=True)
class ChildView:
    name: str
    status: Status
    failure_kind: FailureKind | None = None


def settle_parent(parent: JobView, children: Sequence[ChildView], policy: ParentPolicy) -> Transition | None:
    """A parent's status from its children. None: no change.

    Running while any child is at work, Queued while every open child waits; it ends when every
    child has ended and the driver will add no more, as the policy says. A failure that fails
    the parent under ``fail_on='any'`` (without ``continue_on_failure``) stops the other children
    first (``stop=True``), then the parent ends Failed."""
    if parent.status in TERMINAL:
        return None
    open_children = [c for c in children if c.status not in TERMINAL]
    failed = [c for c in children if c.status == S.FAILED]
    if parent.status == S.CANCEL_REQUESTED:
        if open_children:
            return None
        if parent.stop_kind == FailureKind.TIMEOUT:
            return Transition(parent.status, S.FAILED, Cause.TIMED_OUT, "stopped: it ran past its time limit",
                              failure_kind=FailureKind.TIMEOUT)
        if parent.stop_kind == FailureKind.USER and failed:
            return _parent_failed(parent.status, failed, len(children))
        return Transition(parent.status, S.CANCELED, Cause.CANCELED, "canceled by request",
                          failure_kind=FailureKind.CANCELED)
    if failed and policy.fail_on == "any" and not policy.continue_on_failure and open_children:
        first = failed[0]
        return Transition(parent.status, S.CANCEL_REQUESTED, Cause.CHILD_FAILED,
                          f"child {first.name} failed; stopping the other {len(open_children)} "
                          f"child{'' if len(open_children) == 1 else 'ren'}",
                          failure_kind=FailureKind.USER, stop=True)
    if not open_children and policy.complete:
        return _parent_end(parent.status, children, policy)
    if any(c.status in ACTIVE for c in open_children) or not open_children:
        target = S.RUNNING  # children at work, or between children (the driver adds the next)
    else:
        target = S.QUEUED
    if target == parent.status:
        return None
    message = ("a child is running" if target == S.RUNNING else "every open child is waiting to start")
    return Transition(parent.status, target, Cause.NODE_PROGRESS, message)


def _parent_failed(status: Status, failed: Sequence[ChildView], total: int) -> Transition:
    names = ", ".join(c.name for c in failed[:3]) + (" ..." if len(failed) > 3 else "")
    return Transition(status, S.FAILED, Cause.CHILD_FAILED,
                      f"{len(failed)} of {total} child{'' if total == 1 else 'ren'} failed: {names}",
                      failure_kind=FailureKind.USER)


def _parent_end(status: Status, children: Sequence[ChildView], policy: ParentPolicy) -> Transition:
    failed = [c for c in children if c.status == S.FAILED]
    completed = [c for c in children if c.status == S.COMPLETED]
    canceled = [c for c in children if c.status == S.CANCELED]
    total = len(children)
    if policy.fail_on == "all" and completed:
        return Transition(status, S.COMPLETED, Cause.COMPLETED, f"{len(completed)} of {total} children completed")
    if failed:
        return _parent_failed(status, failed, total)
    if canceled:
        return Transition(status, S.CANCELED, Cause.CANCELED, f"{len(canceled)} of {total} children were canceled",
                          failure_kind=FailureKind.CANCELED)
    return Transition(status, S.COMPLETED, Cause.COMPLETED,
                      f"all {total} children completed" if total else "nothing to run")


def stop_child(child_status: Status, *, parent: str) -> Transition | None:
    """A child whose parent stopped or ended is stopped too: it never outlives its parent."""
    return on_cancel(child_status, actor=parent, because=Cause.PARENT_STOPPED)


# --- the timeline -----------------------------------------------------------------------------

JOB_PATH = (S.NOT_STARTED, S.QUEUED, *PHASES)
"""The steps a job with nodes goes through when all goes well, before it ends."""
PARENT_PATH = (S.NOT_STARTED, S.QUEUED, S.RUNNING)
"""A parent's steps: it waits while its children wait and runs while any of them runs."""
STEP_LABELS = {S.NOT_STARTED: "Submitted"}
_COMMAND_ENDS = {Cause.USER_ERROR, Cause.TIMED_OUT, Cause.CANCELED, Cause.CANCEL_REQUESTED}
"""Ends that happen to the command itself: the timeline marks Running, not the Finalizing after it."""


@dataclass(frozen=True)
class Step:
    """One step of a job's timeline: ``state`` is ``done``, ``current``, ``skipped`` (went past it
    without stopping there), ``upcoming``, ``not-reached`` (the job ended before it), ``failed`` or
    ``stopped`` (where a failed or canceled job stopped), or for the last step ``ok``/``bad``/
    ``stopped``."""

    status: Status
    label: str
    state: str
    at: datetime | None = None
    code: str = ""
    message: str = ""


@dataclass(frozen=True)
class Event:
    """A recorded transition, as the timeline reads it."""

    at: datetime
    from_status: str
    to_status: str
    code: str = ""
    message: str = ""


def timeline(events: Sequence[Event], status: Status, *, parent: bool = False) -> list[Step]:
    """The job's steps from its recorded transitions (the latest attempt after a Spot eviction),
    ending with where it ended and why: the step a failed or canceled job stopped at is marked."""
    path = PARENT_PATH if parent else JOB_PATH
    moves = [e for e in events if e.to_status and e.to_status != e.from_status]
    last_requeue = max((i for i, e in enumerate(moves) if e.code == Cause.REQUEUED), default=-1)
    if last_requeue >= 0:
        moves = moves[:1] + moves[last_requeue:]  # keep "Submitted"; the latest attempt's steps
    reached: dict[str, Event] = {}
    for event in moves:
        reached.setdefault(event.to_status, event)
    ended = status in TERMINAL
    furthest = max((path.index(s) for s in reached if s in path), default=0)
    end_event = reached.get(status) if ended else None
    stopped_at = furthest
    if end_event is not None and end_event.code in _COMMAND_ENDS and S.RUNNING in reached and S.RUNNING in path:
        stopped_at = path.index(S.RUNNING)  # the command failed while running; outputs were kept after it
    steps: list[Step] = []
    for index, step in enumerate(path):
        label = STEP_LABELS.get(step, f"{step}")
        event = reached.get(step)
        if event is not None:
            state = "done" if ended or index < furthest else "current"
            if ended and status != S.COMPLETED and index == stopped_at:
                state = "failed" if status == S.FAILED else "stopped"
                steps.append(Step(step, label, state, event.at, end_event.code if end_event else ""))
                continue
            steps.append(Step(step, label, state, event.at))
        elif index < furthest:
            steps.append(Step(step, label, "skipped"))
        else:
            steps.append(Step(step, label, "not-reached" if ended else "upcoming"))
    if ended:
        tone_ = {S.COMPLETED: "ok", S.FAILED: "bad"}.get(status, "stopped")
        steps.append(Step(status, f"{status}", tone_, end_event.at if end_event else None,
                          end_event.code if end_event else "", end_event.message if end_event else ""))
    elif status == S.CANCEL_REQUESTED or status == S.NOT_RESPONDING:
        event = reached.get(status)
        steps.append(Step(status, f"{status}", "current", event.at if event else None,
                          event.code if event else "", event.message if event else ""))
    return steps
