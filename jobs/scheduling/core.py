"""The pure scheduling core: a snapshot in, decisions out. No Django, no clock of its own.

Every word a user is told about *why* a job runs, waits or is refused comes from
here (``explain`` for one job before it is submitted, ``decide`` for the queue),
so the API, the CLI and the pages say the same thing.

This first version admits serverless jobs against a node capacity. Quota per VM
family, VM choice, Spot and clusters extend these same types.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

SERVERLESS = "serverless"


@dataclass(frozen=True)
class PendingJob:
    id: int
    name: str
    submitted_at: datetime
    instance_count: int = 1
    priority: int = 0
    compute: str = SERVERLESS


@dataclass(frozen=True)
class RunningJob:
    id: int
    nodes: int
    started_at: datetime | None = None
    timeout_seconds: int | None = None
    compute: str = SERVERLESS


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    capacity_nodes: int
    running: tuple[RunningJob, ...] = ()
    pending: tuple[PendingJob, ...] = ()
    clusters: frozenset[str] = frozenset()
    typical_runtime: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class Admit:
    job_id: int
    nodes: int
    pool: str
    reason: str


@dataclass(frozen=True)
class Wait:
    job_id: int
    reason: str
    position: int
    estimated_start: datetime | None


@dataclass(frozen=True)
class Reject:
    job_id: int
    reason: str
    recommendations: tuple[str, ...] = field(default_factory=tuple)


Decision = Admit | Wait | Reject


def queue_order(jobs: tuple[PendingJob, ...] | list[PendingJob]) -> list[PendingJob]:
    """Higher priority first, then first come first served."""
    return sorted(jobs, key=lambda j: (-j.priority, j.submitted_at, j.id))


def _refusal(job: PendingJob, snapshot: Snapshot) -> Reject | None:
    """Why this job can never run as asked, whatever else is running."""
    if job.compute != SERVERLESS and job.compute not in snapshot.clusters:
        return Reject(
            job.id,
            f"compute '{job.compute}' does not exist in this workspace",
            (
                "leave `compute` out (or write `compute: azureml:serverless`) to run on serverless compute",
                "or create the cluster first",
            ),
        )
    if job.instance_count > snapshot.capacity_nodes:
        return Reject(
            job.id,
            f"resources.instance_count is {job.instance_count}, but at most "
            f"{snapshot.capacity_nodes} serverless nodes can run at once",
            (f"reduce `resources.instance_count` to {snapshot.capacity_nodes} or fewer",),
        )
    return None


def _estimate_start(snapshot: Snapshot, nodes_needed: int, free_now: int) -> datetime | None:
    """When enough running nodes will have finished, assuming jobs end at their timeout or
    after a typical runtime. A rough but honest guess: earliest possible, never in the past."""
    if nodes_needed <= free_now:
        return snapshot.now
    ends: list[tuple[datetime, int]] = []
    for job in snapshot.running:
        start = job.started_at or snapshot.now
        runtime = timedelta(seconds=job.timeout_seconds) if job.timeout_seconds else snapshot.typical_runtime
        ends.append((max(start + runtime, snapshot.now), job.nodes))
    free = free_now
    for end, nodes in sorted(ends, key=lambda e: e[0]):
        free += nodes
        if free >= nodes_needed:
            return end
    return None


def decide(snapshot: Snapshot) -> list[Decision]:
    """One decision for every pending job, in queue order.

    Strict order: once the job at the head does not fit, the jobs behind it wait too,
    so that a large job is never starved by small ones slipping past it.
    """
    used = sum(job.nodes for job in snapshot.running if job.compute == SERVERLESS)
    free = snapshot.capacity_nodes - used
    decisions: list[Decision] = []
    position = 0
    blocked_need = 0
    for job in queue_order(snapshot.pending):
        refusal = _refusal(job, snapshot)
        if refusal is not None:
            decisions.append(refusal)
            continue
        if position == 0 and job.instance_count <= free:
            free -= job.instance_count
            decisions.append(
                Admit(
                    job.id,
                    job.instance_count,
                    SERVERLESS,
                    f"admitted on serverless compute: {job.instance_count} node(s) free of "
                    f"{snapshot.capacity_nodes}",
                )
            )
            continue
        position += 1
        blocked_need += job.instance_count
        decisions.append(
            Wait(
                job.id,
                f"waiting for serverless capacity: {job.instance_count} node(s) needed, "
                f"{max(free, 0)} of {snapshot.capacity_nodes} free; position {position} in the queue",
                position,
                _estimate_start(snapshot, blocked_need, max(free, 0)),
            )
        )
    return decisions


def explain(job: PendingJob, snapshot: Snapshot) -> Decision:
    """What would happen to ``job`` if it were submitted now, behind the current queue."""
    with_job = replace(snapshot, pending=tuple(snapshot.pending) + (job,))
    return next(d for d in decide(with_job) if d.job_id == job.id)
