"""The only code that changes jobs and nodes: ``<entity>_<action>(*, ...)``, transactional.

Entry points (API views, CLI-facing endpoints, pages, the worker and Celery tasks)
call these and nothing else to change state. Follow-up work (a scheduling cycle,
waking workers) is started on commit.
"""

from __future__ import annotations

import logging
import math
import random
import re
import secrets
import shutil
from typing import BinaryIO, Mapping

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone

from jobs import storage, wake
from jobs.models import ADMITTED, PENDING, TERMINAL, FailureKind, Job, JobEvent, JobStatus, LogChunk, Node
from jobs.runtime.agent import NodeOutcome
from jobs.scheduling import core
from jobs.scheduling.service import job_evict_request, schedule_cycle, snapshot_load
from jobs.specs import CommandJobSpec, is_remote
from quotas import services as quota_services
from quotas.core import SPOT, STANDARD
from quotas.models import Cluster, Workspace
from studio.errors import ApplicationError, Conflict, Forbidden
from studio.humanize import plural

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")
_ADJECTIVES = "amber bold brave calm clever eager frosty gentle happy jolly keen lucid merry nimble quiet quick shy sunny tidy witty".split()
_NOUNS = "ant bee cat crow deer dove fox goat hawk koala lemur lion lynx mole owl panda seal swan wolf yak".split()
PHASE_ORDER = [JobStatus.PROVISIONING, JobStatus.PREPARING, JobStatus.RUNNING, JobStatus.FINALIZING]


def _event(job_id: int, message: str) -> None:
    JobEvent.objects.create(job_id=job_id, at=timezone.now(), message=message)


def _generate_name() -> str:
    return f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_NOUNS)}_{secrets.token_hex(4)}"


def _after_commit_cycle() -> None:
    # robust: a failed follow-up cycle is logged, never turned into a failed request;
    # the periodic safety-net cycle picks the work up again.
    transaction.on_commit(lambda: schedule_cycle(), robust=True)


def _pending_job(spec: CommandJobSpec, workspace: Workspace, *, job_id: int = 0) -> core.PendingJob:
    resources = spec.resources
    queue = spec.queue_settings
    return core.PendingJob(
        id=job_id,
        name=spec.name or "",
        submitted_at=timezone.now(),
        workspace=workspace.name,
        instance_count=(resources.instance_count if resources and resources.instance_count else 1),
        instance_type=(resources.instance_type if resources and resources.instance_type else None),
        tier=_tier(queue.job_tier if queue else None),
        priority=_priority(queue.priority if queue else None),
        compute=spec.compute_name or core.SERVERLESS,
    )


def _priority(value: str | None) -> int:
    return {"low": -1, "medium": 0, "high": 1}.get((value or "medium").lower(), 0)


def _tier(value: str | None) -> str:
    """Serverless offers dedicated (Standard) and low-priority (Spot) nodes."""
    return SPOT if (value or "").lower() == "spot" else STANDARD


def job_explain(*, spec: CommandJobSpec, workspace: Workspace) -> core.Decision:
    """What the scheduling service would do with ``spec`` if it were submitted now."""
    return core.explain(_pending_job(spec, workspace), snapshot_load())


def job_submit(
    *,
    user: AbstractBaseUser,
    workspace: Workspace,
    spec: CommandJobSpec,
    spec_yaml: str = "",
    code: BinaryIO | None = None,
    inputs: Mapping[str, BinaryIO] | None = None,
) -> Job:
    """Record a job, keep its code and data, and start a scheduling cycle on commit.

    Refuses (and creates nothing) when the name is taken or malformed, an upload is
    unsafe, or the scheduling service says the job can never run as asked.
    """
    inputs = dict(inputs or {})
    name = spec.name or _generate_name()
    if not NAME_RE.match(name):
        raise ApplicationError(
            f"name: '{name}' is not a valid job name; use letters, digits, '_' and '-' (at most 255), "
            "starting with a letter or digit",
            {"field": "name"},
        )
    if Job.objects.filter(name=name).exists():
        raise Conflict(f"name: a job named '{name}' already exists; choose another name or leave it out",
                       {"field": "name"})
    _check_uploads(spec, has_code=code is not None, uploaded=set(inputs))
    decision = job_explain(spec=spec, workspace=workspace)
    if isinstance(decision, core.Reject):
        raise ApplicationError(decision.reason, {"recommendations": list(decision.recommendations)})

    snapshot = storage.snapshot_dir(name)
    if snapshot.exists():
        shutil.rmtree(snapshot)  # left over from a submission that did not commit
    try:
        if code is not None:
            storage.unpack_archive(code, storage.code_dir(name), field="code",
                                   max_bytes=settings.STUDIO_CODE_MAX_BYTES)
        for input_name, archive in inputs.items():
            storage.unpack_archive(archive, storage.uploads_dir(name) / input_name, field=f"inputs.{input_name}",
                                   max_bytes=settings.STUDIO_CODE_MAX_BYTES)
        with transaction.atomic():
            pending = _pending_job(spec, workspace)
            job = Job.objects.create(
                name=name,
                workspace=workspace,
                submitted_by=user,
                type="command",
                display_name=spec.display_name or name,
                experiment_name=spec.experiment_name or "Default",
                description=spec.description or "",
                tags=dict(spec.tags or {}),
                spec={**spec.to_dict(), "name": name},
                spec_yaml=spec_yaml,
                compute=pending.compute,
                tier=pending.tier,
                priority=pending.priority,
                requested_instance_type=pending.instance_type or "",
                instance_count=pending.instance_count,
                timeout_seconds=spec.limits.timeout if spec.limits else None,
            )
            where = "serverless compute" if pending.compute == core.SERVERLESS else f"compute '{pending.compute}'"
            tier = " (Spot)" if pending.tier == SPOT else ""
            _event(job.id, f"submitted by {user.get_username()} to {where}{tier}")
            _after_commit_cycle()
    except IntegrityError:
        shutil.rmtree(snapshot, ignore_errors=True)
        raise Conflict(f"name: a job named '{name}' already exists; choose another name or leave it out",
                       {"field": "name"}) from None
    except BaseException:
        shutil.rmtree(snapshot, ignore_errors=True)
        raise
    return job


def _check_uploads(spec: CommandJobSpec, *, has_code: bool, uploaded: set[str]) -> None:
    """Local folders the job names must come with the submission; nothing else may."""
    if spec.code and not is_remote(spec.code) and not has_code:
        raise ApplicationError(
            f"code: the job names the local folder '{spec.code}' but it was not uploaded; send it as `code` "
            "(a tar.gz), or submit with `studio job create --file`, which uploads it",
            {"field": "code"},
        )
    if has_code and not spec.code:
        raise ApplicationError("code: a code archive was uploaded but the job has no `code` field; add `code: .`",
                               {"field": "code"})
    declared = spec.inputs or {}
    undeclared = sorted(uploaded - set(declared))
    if undeclared:
        raise ApplicationError(f"inputs.{undeclared[0]}: data was uploaded for an input the job does not declare",
                               {"field": f"inputs.{undeclared[0]}"})
    for name, spec_input in declared.items():
        local = not spec_input.is_literal and spec_input.path and not is_remote(spec_input.path)
        if local and name not in uploaded:
            raise ApplicationError(
                f"inputs.{name}: the local path '{spec_input.path}' was not uploaded; send it as `inputs.{name}` "
                "(a tar.gz), or submit with `studio job create --file`, which uploads it",
                {"field": f"inputs.{name}"},
            )


def job_cancel(*, job: Job, user: AbstractBaseUser) -> Job:
    """Cancel a job: at once if it has not started, otherwise ask its nodes to stop."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(id=job.id)
        if job.status in TERMINAL:
            raise Conflict(f"job '{job.name}' has already ended ({job.status}); there is nothing to cancel")
        now = timezone.now()
        if job.status in PENDING:
            Job.objects.filter(id=job.id).update(status=JobStatus.CANCELED, ended_at=now,
                                                 failure_kind=FailureKind.CANCELED, pending_reason="",
                                                 queue_position=None, error=f"canceled by {user.get_username()}")
            _event(job.id, f"canceled by {user.get_username()} before it started")
            _after_commit_cycle()
        else:
            Job.objects.filter(id=job.id).update(status=JobStatus.CANCEL_REQUESTED)
            Node.objects.filter(job=job).exclude(status__in=TERMINAL).update(cancel_requested=True)
            # Nodes no worker has picked up yet end here; running ones stop within a second.
            unclaimed = Node.objects.filter(job=job, worker="").exclude(status__in=TERMINAL)
            unclaimed_ids = list(unclaimed.values_list("id", flat=True))
            unclaimed.update(status=JobStatus.CANCELED, ended_at=now, failure_kind=FailureKind.CANCELED)
            quota_services.usage_close(node_ids=unclaimed_ids, at=now)
            _event(job.id, f"cancel requested by {user.get_username()}")
            _finish_if_done(job.id)
            transaction.on_commit(wake.ring, robust=True)
    job.refresh_from_db()
    return job


def node_claim(*, node_id: int, worker: str) -> bool:
    """Claim an unclaimed node for ``worker``. False if another worker (or a cancel) got there first."""
    return bool(
        Node.objects.filter(id=node_id, worker="", status=JobStatus.PROVISIONING, cancel_requested=False).update(
            worker=worker, claimed_at=Now(), heartbeat_at=Now()
        )
    )


def node_phase(*, node_id: int, status: str) -> None:
    """A node moved on (Preparing, Running, Finalizing); the job follows its slowest node."""
    with transaction.atomic():
        Node.objects.filter(id=node_id).exclude(status__in=TERMINAL).update(
            status=status, heartbeat_at=Now(),
            **({"started_at": Now()} if status == JobStatus.RUNNING else {}),
        )
        node = Node.objects.only("job_id").get(id=node_id)
        statuses = set(Node.objects.filter(job_id=node.job_id).exclude(status__in=TERMINAL)
                       .values_list("status", flat=True))
        phases = [p for p in PHASE_ORDER if p in statuses]
        if not phases:
            return
        slowest = phases[0]
        updates = {"status": slowest}
        if slowest == JobStatus.RUNNING:
            updates["started_at"] = timezone.now()
        (Job.objects.filter(id=node.job_id, status__in=PHASE_ORDER + [JobStatus.NOT_RESPONDING])
         .exclude(status=slowest).update(**updates))


def node_started(*, node_id: int, pid: int) -> None:
    Node.objects.filter(id=node_id).update(pid=pid, heartbeat_at=Now())


def node_log_append(*, node_id: int, text: str) -> None:
    """Append a piece of the node's output; offsets count characters from the start."""
    if not text:
        return
    with transaction.atomic():
        node = Node.objects.select_for_update().only("log_size").get(id=node_id)
        LogChunk.objects.create(node_id=node_id, offset=node.log_size, text=text)
        Node.objects.filter(id=node_id).update(log_size=F("log_size") + len(text))


def node_system_log(*, node_id: int, message: str) -> None:
    job_id = Node.objects.values_list("job_id", flat=True).get(id=node_id)
    _event(job_id, message)


def node_heartbeat(*, node_id: int) -> bool:
    """The node is alive. Returns True when it should stop (cancel, or declared lost)."""
    with transaction.atomic():
        Node.objects.filter(id=node_id).exclude(status__in=TERMINAL).update(heartbeat_at=Now())
        node = Node.objects.only("status", "cancel_requested", "job_id").get(id=node_id)
        if node.status == JobStatus.NOT_RESPONDING:
            Node.objects.filter(id=node_id, status=JobStatus.NOT_RESPONDING).update(status=JobStatus.RUNNING)
            Job.objects.filter(id=node.job_id, status=JobStatus.NOT_RESPONDING).update(status=JobStatus.RUNNING)
            _event(node.job_id, "the node is responding again")
    return node.cancel_requested or node.status in TERMINAL


def node_should_stop(*, node_id: int) -> bool:
    """Asked to stop (cancel, eviction) or already settled (declared lost)."""
    return Node.objects.filter(Q(cancel_requested=True) | Q(status__in=TERMINAL), id=node_id).exists()


def node_exited(*, node_id: int, outcome: NodeOutcome) -> None:
    """A node ended. When it was the last one, the job ends too."""
    with transaction.atomic():
        node = Node.objects.select_for_update().get(id=node_id)
        if node.status in TERMINAL:
            return  # already settled (e.g. declared lost); a late report changes nothing
        if node.evict_requested and outcome.status == JobStatus.CANCELED:
            outcome = NodeOutcome(JobStatus.CANCELED, None, FailureKind.EVICTED, "evicted (Spot capacity reclaimed)")
        now = timezone.now()
        Node.objects.filter(id=node_id).update(
            status=outcome.status, ended_at=now, exit_code=outcome.exit_code,
            failure_kind=outcome.failure_kind, error=outcome.message,
        )
        quota_services.usage_close(node_ids=[node_id], at=now)
        if outcome.status == JobStatus.FAILED:
            # A gang job cannot go on without one of its nodes.
            Node.objects.filter(job_id=node.job_id).exclude(status__in=TERMINAL).update(cancel_requested=True)
        _finish_if_done(node.job_id)


def _finish_if_done(job_id: int) -> None:
    if not Node.objects.filter(job_id=job_id).exclude(status__in=TERMINAL).exists():
        job_finish(job_id=job_id)


def job_finish(*, job_id: int) -> None:
    """Settle a job whose nodes have all ended: its status, exit code and error; frees its quota.

    A Spot job whose nodes were evicted goes back to the queue instead (until it has been
    evicted ``STUDIO_SPOT_MAX_EVICTIONS`` times)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(id=job_id)
        if job.status in TERMINAL:
            return
        nodes = list(Node.objects.filter(job_id=job_id, attempt=job.attempt).order_by("index"))
        failed = [n for n in nodes if n.status == JobStatus.FAILED]
        evicted = [n for n in nodes if n.failure_kind == FailureKind.EVICTED]
        now = timezone.now()
        if evicted and not failed and job.status != JobStatus.CANCEL_REQUESTED:
            _requeue_evicted(job, now)
            return
        if failed:
            first = min(failed, key=lambda n: (n.ended_at or now, n.index))
            status, kind, code = JobStatus.FAILED, first.failure_kind, first.exit_code
            error = first.error if len(nodes) == 1 else f"node {first.index}: {first.error}"
        elif job.status == JobStatus.CANCEL_REQUESTED or any(n.status == JobStatus.CANCELED for n in nodes):
            status, kind, code, error = JobStatus.CANCELED, FailureKind.CANCELED, None, "canceled by request"
        else:
            status, kind, code, error = JobStatus.COMPLETED, "", 0, ""
        Job.objects.filter(id=job_id).exclude(status__in=TERMINAL).update(
            status=status, ended_at=now, failure_kind=kind, exit_code=code, error=error, evicting=False,
        )
        _event(job_id, f"{status}" + (f": {error}" if error else ""))
        _cluster_idle_check(job, now)
        _after_commit_cycle()


def _requeue_evicted(job: Job, now) -> None:
    evictions = job.evictions + 1
    if evictions > settings.STUDIO_SPOT_MAX_EVICTIONS:
        error = (f"evicted {evictions} times, more than STUDIO_SPOT_MAX_EVICTIONS ({settings.STUDIO_SPOT_MAX_EVICTIONS}); "
                 "run it with `queue_settings.job_tier: Standard` to get dedicated nodes")
        Job.objects.filter(id=job.id).update(status=JobStatus.FAILED, ended_at=now, failure_kind=FailureKind.EVICTED,
                                             error=error, evictions=evictions, evicting=False)
        _event(job.id, f"Failed: {error}")
    else:
        reason = f"evicted from Spot capacity ({plural(evictions, 'eviction')} so far); back in the queue"
        Job.objects.filter(id=job.id).update(status=JobStatus.QUEUED, evictions=evictions, evicting=False,
                                             admitted_at=None, started_at=None, instance_type="",
                                             pending_reason=reason)
        _event(job.id, reason)
    _after_commit_cycle()


def _cluster_idle_check(job: Job, now) -> None:
    """A cluster with no job left starts counting its idle time (then it scales down)."""
    if job.compute == core.SERVERLESS:
        return
    if not Job.objects.filter(workspace_id=job.workspace_id, compute=job.compute, status__in=ADMITTED) \
            .exclude(id=job.id).exists():
        Cluster.objects.filter(workspace_id=job.workspace_id, name=job.compute, idle_since__isnull=True) \
            .update(idle_since=now)


def job_evict(*, job: Job, user: AbstractBaseUser) -> Job:
    """An admin evicts a running Spot job, as Azure reclaiming capacity would."""
    subscription = job.workspace.subscription
    if not (user.is_superuser or subscription.admins.filter(id=user.id).exists()):
        raise Forbidden(f"only admins of subscription '{subscription.name}' can evict jobs")
    if job.tier != SPOT:
        raise Conflict(f"job '{job.name}' runs on dedicated (Standard) nodes; only Spot jobs can be evicted")
    with transaction.atomic():
        if not job_evict_request(job_id=job.id, reason=f"evicted by {user.get_username()}"):
            raise Conflict(f"job '{job.name}' is {job.status}; only a running Spot job can be evicted")
    job.refresh_from_db()
    return job


def spot_random_evictions(*, elapsed_seconds: float, rng: random.Random | None = None) -> int:
    """Testing aid: evict each running Spot job with STUDIO_SPOT_EVICTION_RATE per hour."""
    rate = settings.STUDIO_SPOT_EVICTION_RATE
    if rate <= 0:
        return 0
    rng = rng or random.Random()
    chance = 1 - math.exp(-rate * elapsed_seconds / 3600)
    evicted = 0
    for job_id in Job.objects.filter(status__in=ADMITTED, tier=SPOT, evicting=False).values_list("id", flat=True):
        if rng.random() < chance:
            with transaction.atomic():
                evicted += job_evict_request(job_id=job_id, reason="Spot capacity reclaimed (random eviction rate)")
    return evicted


def node_reap(*, now=None) -> None:
    """Nodes whose worker went silent become NotResponding, then Failed. Never Running forever."""
    from jobs.scheduling.service import stale_nodes

    silent, lost = stale_nodes(now=now)
    for node_id in silent:
        with transaction.atomic():
            node = Node.objects.select_for_update().get(id=node_id)
            if node.status in TERMINAL or node.status == JobStatus.NOT_RESPONDING:
                continue
            Node.objects.filter(id=node_id).update(status=JobStatus.NOT_RESPONDING)
            Job.objects.filter(id=node.job_id).exclude(status__in=TERMINAL | {JobStatus.CANCEL_REQUESTED}).update(
                status=JobStatus.NOT_RESPONDING)
            _event(node.job_id, f"node {node.index} is not responding (worker {node.worker}: no heartbeat "
                                f"for {settings.STUDIO_NOT_RESPONDING_SECONDS:g} s)")
    for node_id in lost:
        node = Node.objects.only("worker", "heartbeat_at").get(id=node_id)
        node_exited(node_id=node_id, outcome=NodeOutcome(
            "Failed", None, FailureKind.INFRASTRUCTURE,
            f"the worker running this node ({node.worker}) stopped responding; last heartbeat at "
            f"{node.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC. Submit the job again",
        ))
