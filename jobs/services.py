"""What users and workers do to jobs and nodes: ``<entity>_<action>(*, ...)``, transactional.

Entry points (API views, pages, the worker and Celery tasks) call these and nothing else to
change state. Each asks ``jobs.lifecycle`` (pure) what the change means and writes it through
``jobs.transitions`` (the one applier, which also starts the follow-ups on commit).
"""

from __future__ import annotations

import logging
import math
import random
import re
import secrets
import shutil
from datetime import timedelta
from typing import BinaryIO, Mapping

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone

from jobs import dispatch, lifecycle, storage, transitions, wake
from jobs.lifecycle import HOLDING_QUOTA, TERMINAL, Cause, Outcome, Status
from jobs.models import Job, JobEvent, LogChunk, Node
from jobs.scheduling import core
from jobs.scheduling.service import history_load, snapshot_load, stale_nodes
from jobs.specs import CommandJobSpec, is_remote
from jobs.transitions import job_evict_request, lock_job
from quotas import roles
from quotas.core import SPOT, STANDARD
from quotas.models import Workspace
from studio.errors import ApplicationError, Conflict, Forbidden

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")
_ADJECTIVES = "amber bold brave calm clever eager frosty gentle happy jolly keen lucid merry nimble quiet quick shy sunny tidy witty".split()
_NOUNS = "ant bee cat crow deer dove fox goat hawk koala lemur lion lynx mole owl panda seal swan wolf yak".split()


def _generate_name() -> str:
    return f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_NOUNS)}_{secrets.token_hex(4)}"


def _pending_job(spec: CommandJobSpec, workspace: Workspace, *, job_id: int = 0,
                 history: bool = True) -> core.PendingJob:
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
        timeout_seconds=spec.limits.timeout if spec.limits else None,
        typical=history_load(experiment=spec.experiment_name or "Default", display_name=spec.display_name or "",
                             workspace=workspace.name) if history else None,
    )


def _priority(value: str | None) -> int:
    return {"low": -1, "medium": 0, "high": 1}.get((value or "medium").lower(), 0)


def _tier(value: str | None) -> str:
    """Serverless offers dedicated (Standard) and low-priority (Spot) nodes."""
    return SPOT if (value or "").lower() == "spot" else STANDARD


def job_explain(*, spec: CommandJobSpec, workspace: Workspace) -> core.Decision:
    """What the scheduling service would do with ``spec`` if it were submitted now, behind the
    whole queue (the wizard's "will it fit?" and `studio job explain`)."""
    return core.explain(_pending_job(spec, workspace), snapshot_load())


def job_refusal(*, spec: CommandJobSpec, workspace: Workspace) -> core.Reject | None:
    """Why ``spec`` can never run as asked, or None. Costs the same whatever the queue's length."""
    return core.refusal(_pending_job(spec, workspace, history=False), snapshot_load(queue=False))


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
    roles.role_require(user=user, workspace=workspace, needed=roles.CONTRIBUTOR, action="submit jobs")
    inputs = dict(inputs or {})
    name = spec.name or _generate_name()
    if not NAME_RE.match(name):
        raise ApplicationError(
            f"name: '{name}' is not a valid job name; use letters, digits, '_' and '-' (at most 255), "
            "starting with a letter or digit",
            {"field": "name"},
        )
    # Names are unique per workspace: whether another workspace has one is none of the user's business.
    if Job.objects.filter(workspace=workspace, name=name).exists():
        raise Conflict(f"name: a job named '{name}' already exists in workspace '{workspace.name}'; choose another "
                       "name or leave it out", {"field": "name"})
    _check_uploads(spec, has_code=code is not None, uploaded=set(inputs))
    refused = job_refusal(spec=spec, workspace=workspace)  # the queue is the scheduling cycle's business
    if refused is not None:
        raise ApplicationError(refused.reason, {"code": refused.code.value,
                                                "recommendations": list(refused.recommendations)})

    folder = storage.job_folder(name=name, workspace_id=workspace.id)
    snapshot = storage.snapshot_dir(folder)
    if snapshot.exists():
        shutil.rmtree(snapshot)  # left over from a submission that did not commit
    try:
        if code is not None:
            storage.unpack_archive(code, storage.code_dir(folder), field="code",
                                   max_bytes=settings.STUDIO_CODE_MAX_BYTES)
        for input_name, archive in inputs.items():
            storage.unpack_archive(archive, storage.uploads_dir(folder) / input_name, field=f"inputs.{input_name}",
                                   max_bytes=settings.STUDIO_CODE_MAX_BYTES)
        with transaction.atomic():
            pending = _pending_job(spec, workspace)
            job = Job.objects.create(
                name=name,
                folder=folder,
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
            JobEvent.objects.create(job=job, at=job.created_at, to_status=Status.NOT_STARTED, code=Cause.SUBMITTED,
                                    message=f"submitted by {user.get_username()} to {where}{tier}",
                                    actor=user.get_username())
            wake.request_cycle()
    except IntegrityError:
        shutil.rmtree(snapshot, ignore_errors=True)
        raise Conflict(f"name: a job named '{name}' already exists in workspace '{workspace.name}'; choose another "
                       "name or leave it out", {"field": "name"}) from None
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


def job_cancel_refusal(*, job: Job, user: AbstractBaseUser, role: str | None = None) -> str:
    """Why ``user`` may not cancel ``job`` ("" when they may): contributors cancel their own jobs,
    owners (and the subscription's admins) anyone's. ``role``: the user's effective role in the
    job's workspace, when the caller has it already."""
    role = role if role is not None else roles.effective_role(user=user, workspace=job.workspace)
    return roles.refusal(role=role, workspace=job.workspace, **_cancel_rule(job, user))


def _cancel_rule(job: Job, user: AbstractBaseUser) -> dict:
    if job.submitted_by_id == user.id:
        return {"needed": roles.CONTRIBUTOR, "action": "cancel their own jobs"}
    return {"needed": roles.OWNER, "action": "cancel other people's jobs"}


def job_cancel(*, job: Job, user: AbstractBaseUser) -> Job:
    """Cancel a job: at once if it has not started, otherwise ask its nodes (or children) to stop.
    Asking again while it stops changes nothing. Contributors cancel their own jobs, owners anyone's."""
    roles.role_require(user=user, workspace=job.workspace, **_cancel_rule(job, user))
    with transaction.atomic():
        locked = lock_job(job.id)
        transition = lifecycle.on_cancel(Status(locked.status), actor=user.get_username())
        if transition is None and locked.status in TERMINAL:
            raise Conflict(f"job '{locked.name}' has already ended ({locked.status}); there is nothing to cancel")
        if transition is not None:
            transitions.job_transition(job=locked, transition=transition, actor=user.get_username())
    job.refresh_from_db()
    return job


def job_evict(*, job: Job, user: AbstractBaseUser) -> Job:
    """An admin evicts a running Spot job, as Azure reclaiming capacity would."""
    subscription = job.workspace.subscription
    if not roles.subscription_admin(user=user, subscription_id=subscription.id):
        raise Forbidden(f"only admins of subscription '{subscription.name}' can evict jobs; "
                        f"{roles.describe_in(user=user, workspace=job.workspace)}")
    if job.tier != SPOT:
        raise Conflict(f"job '{job.name}' runs on dedicated (Standard) nodes; only Spot jobs can be evicted")
    with transaction.atomic():
        if not job_evict_request(job_id=job.id, reason=f"evicted by {user.get_username()}",
                                 actor=user.get_username()):
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
    for job_id in Job.objects.filter(status__in=HOLDING_QUOTA, tier=SPOT, evicting=False) \
            .values_list("id", flat=True):
        if rng.random() < chance:
            with transaction.atomic():
                evicted += job_evict_request(job_id=job_id, reason="Spot capacity reclaimed (random eviction rate)")
    return evicted


# --- what a worker reports about a node --------------------------------------------------------
#
# Every change of a node's status takes its job's row lock first (``lock_job``), then applies the
# node's transition, then settles the job from all of its nodes (``jobs.transitions``).


def _node_job_id(node_id: int) -> int:
    return Node.objects.values_list("job_id", flat=True).get(id=node_id)


def node_claim(*, node_id: int, worker: str) -> bool:
    """Claim an unclaimed node for ``worker``: a compare-and-swap on the node's row (it must still be
    Provisioning, unclaimed and not asked to stop). False if another worker (or a cancel) got there
    first, or the node is gone: a message delivered twice runs its node once."""
    with transaction.atomic():
        try:
            lock_job(_node_job_id(node_id))
        except (Node.DoesNotExist, Job.DoesNotExist):  # its job was deleted before any worker took it
            return False
        claimed = Node.objects.filter(id=node_id, worker="", status=Status.PROVISIONING, cancel_requested=False) \
            .update(worker=worker, claimed_at=Now(), heartbeat_at=Now())
        if not claimed:
            return False
        node = Node.objects.get(id=node_id)
        transition = lifecycle.on_claim(Status(node.status), node_index=node.index, worker=worker)
        if transition is not None:
            transitions.node_transition(node=node, transition=transition, actor=worker)
    return True


def node_phase(*, node_id: int, status: str) -> None:
    """A node moved on (Preparing, Running, Finalizing); the job follows its slowest node."""
    with transaction.atomic():
        lock_job(_node_job_id(node_id))
        node = Node.objects.get(id=node_id)
        transition = lifecycle.on_phase(Status(node.status), Status(status))
        if transition is not None:
            transitions.node_transition(node=node, transition=transition, fields={"heartbeat_at": Now()},
                                        actor=node.worker)


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
    node = Node.objects.only("job_id", "worker").get(id=node_id)
    transitions.note(job_id=node.job_id, message=message, actor=node.worker)


def node_heartbeat(*, node_id: int) -> bool:
    """The node is alive. Returns True when it should stop (cancel, or declared lost)."""
    Node.objects.filter(id=node_id).exclude(status__in=TERMINAL).update(heartbeat_at=Now())
    node = Node.objects.only("status", "cancel_requested", "job_id", "worker").get(id=node_id)
    if node.status == Status.NOT_RESPONDING:
        with transaction.atomic():
            lock_job(node.job_id)
            node = Node.objects.get(id=node_id)
            transition = lifecycle.on_heartbeat(Status(node.status))
            if transition is not None:
                transitions.node_transition(node=node, transition=transition, actor=node.worker)
    return node.cancel_requested or node.status in TERMINAL


def node_should_stop(*, node_id: int) -> bool:
    """Asked to stop (cancel, eviction) or already settled (declared lost)."""
    return Node.objects.filter(Q(cancel_requested=True) | Q(status__in=TERMINAL), id=node_id).exists()


def node_exited(*, node_id: int, outcome: Outcome, worker_stopping: bool = False) -> None:
    """A node ended. When it was the last one, the job ends too (or goes back to the queue)."""
    with transaction.atomic():
        lock_job(_node_job_id(node_id))
        node = Node.objects.get(id=node_id)
        transition = lifecycle.on_exit(Status(node.status), outcome, evict_requested=node.evict_requested,
                                       worker_stopping=worker_stopping)
        if transition is not None:  # None: already settled (declared lost); a late report changes nothing
            transitions.node_transition(node=node, transition=transition, actor=node.worker)


def nodes_resend(*, now=None) -> list[int]:
    """The database is the queue: admitted nodes that no worker claimed within
    STUDIO_NODE_CLAIM_TIMEOUT_SECONDS (their message was lost with a restarted broker or a killed
    worker, or never went out) are sent again, unless the broker still holds as many messages
    for their pool as there are such nodes (then they only wait for a free worker). A second
    delivery of a node that was claimed meanwhile does nothing (``node_claim``). Celery only: the
    local executor claims from the database itself. Returns the ids sent again."""
    now = now or timezone.now()
    timeout = settings.STUDIO_NODE_CLAIM_TIMEOUT_SECONDS
    cutoff = now - timedelta(seconds=timeout)
    stale = list(_unclaimed().filter(Q(sent_at__lt=cutoff) | Q(sent_at__isnull=True, job__admitted_at__lt=cutoff))
                 .values_list("id", "pool"))
    if not stale:
        return []
    by_pool: dict[str, list[int]] = {}
    for node_id, pool in stale:
        by_pool.setdefault(pool, []).append(node_id)
    resend: list[tuple[int, str]] = []
    for pool, ids in by_pool.items():
        waiting = dispatch.queued_messages(pool)
        if waiting is not None and waiting >= len(ids):
            Node.objects.filter(id__in=ids).update(sent_at=now)  # still on the broker: look again later
            continue
        resend += [(node_id, pool) for node_id in ids]
    if resend:
        log.warning("%d admitted node(s) unclaimed for %g s: sending them to the workers again", len(resend), timeout)
        dispatch.note_resend([node_id for node_id, _ in resend], timeout)
        wake.wake_workers(resend)
    return [node_id for node_id, _ in resend]


def _unclaimed():
    return Node.objects.filter(status=Status.PROVISIONING, worker="", cancel_requested=False) \
        .order_by("job__priority", "id")


def nodes_unclaimed_for(*, pools: set[str], admitted_before, limit: int) -> list[int]:
    """Nodes of ``pools`` admitted before ``admitted_before`` that no worker claimed: what a worker
    whose broker connection went quiet takes from the database itself (``jobs.tasks``)."""
    return list(_unclaimed().filter(pool__in=pools, job__admitted_at__lt=admitted_before)
                .values_list("id", flat=True)[:limit])


def node_reap(*, now=None) -> None:
    """Nodes whose worker went silent become NotResponding, then Failed. Never Running forever."""
    now = now or timezone.now()
    silent, lost = stale_nodes(now=now)
    for node_id, is_lost in [(n, False) for n in silent] + [(n, True) for n in lost]:
        with transaction.atomic():
            lock_job(_node_job_id(node_id))
            node = Node.objects.get(id=node_id)
            quiet = (now - node.heartbeat_at).total_seconds() if node.heartbeat_at else 0.0
            transition = lifecycle.on_heartbeat_lost(Status(node.status), node_index=node.index, worker=node.worker,
                                                     silent_seconds=quiet, lost=is_lost)
            if transition is not None:
                transitions.node_transition(node=node, transition=transition, at=now, actor="studio")

