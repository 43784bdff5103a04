"""Read-only queries. Every one is scoped to what the user may see."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, Q, QuerySet, When
from django.utils import timezone

from jobs import storage
from jobs.lifecycle import PENDING
from jobs.models import Job, LogChunk, Node
from jobs.scheduling import core
from quotas import selectors as quota_selectors
from quotas.models import Workspace
from studio.errors import ApplicationError, NotFound


WAITING_ANY = "any"


def job_list_for_user(*, user: AbstractBaseUser, filters: dict | None = None) -> QuerySet[Job]:
    filters = filters or {}
    qs = Job.objects.filter(workspace__members=user).select_related("workspace", "submitted_by")
    simple = {"status": "status", "type": "type", "experiment": "experiment_name", "compute": "compute",
              "workspace": "workspace__name", "submitted_by": "submitted_by__username", "parent": "parent__name"}
    for key, field in simple.items():
        if filters.get(key):
            qs = qs.filter(**{field: filters[key]})
    waiting = filters.get("waiting")
    if waiting:  # a reason code (QuotaBusy, ClusterBusy, ...), or "any": every job the scheduler keeps waiting
        qs = qs.filter(status__in=PENDING).exclude(pending_code="") if waiting == WAITING_ANY \
            else qs.filter(pending_code=waiting)
    if filters.get("search"):
        term = filters["search"]
        qs = qs.filter(Q(name__icontains=term) | Q(display_name__icontains=term) | Q(description__icontains=term))
    # A list never reads the spec and its YAML (up to STUDIO_SPEC_MAX_BYTES each): not fetched.
    return qs.order_by("-created_at", "-id").defer("spec", "spec_yaml")


def job_get_for_user(*, user: AbstractBaseUser, name: str, workspace: str | None = None,
                     prefer: Workspace | None = None) -> Job:
    """The user's job ``name``: in ``workspace`` when named, else in any of theirs (names are unique
    per workspace: with the same name in two of them, ``prefer``'s, else the newest)."""
    jobs = job_list_for_user(user=user).defer(None).filter(name=name)
    if workspace:
        jobs = jobs.filter(workspace__name=workspace)
    if prefer is not None:
        jobs = jobs.order_by(Case(When(workspace_id=prefer.id, then=0), default=1), "-created_at", "-id")
    job = jobs.first()
    if job is None:
        raise NotFound(f"job '{name}' was not found in your workspaces; `studio job list` shows your jobs")
    return job


def job_waiting(*, job: Job, now=None) -> dict | None:
    """Why a waiting job waits: code, reason, the whole sentence, position and the start range.
    None when the job is not waiting (or the scheduling service has not looked at it yet)."""
    if job.status not in PENDING or not job.pending_code:
        return None
    estimate = (core.Estimate(job.estimated_start_earliest, job.estimated_start_latest)
                if job.estimated_start_earliest else None)
    message = core.describe_wait(reason=job.pending_reason, position=job.queue_position, estimate=estimate,
                                 basis=job.estimate_basis, now=now or timezone.now())
    return {"code": job.pending_code, "reason": job.pending_reason, "message": message,
            "position": job.queue_position, "basis": job.estimate_basis,
            "estimated_start": None if estimate is None else {"earliest": estimate.earliest,
                                                              "latest": estimate.latest}}


def workspace_for_submit(*, user: AbstractBaseUser, name: str | None) -> Workspace:
    return quota_selectors.workspace_for_user(user=user, name=name)


def job_log_read(*, job: Job, node_index: int = 0, offset: int = 0, limit: int = 1_000_000) -> dict:
    """Log text from character ``offset``; ``next_offset`` is where to ask next time."""
    node = (Node.objects.filter(job=job, index=node_index).order_by("-attempt")  # the latest attempt's node
            .only("id", "log_size").first())
    if node is None:
        return {"offset": offset, "next_offset": offset, "text": "", "node": node_index}
    chunks = (LogChunk.objects.filter(node=node).filter(offset__gte=_chunk_start(node.id, offset))
              .order_by("offset").values_list("offset", "text"))
    parts: list[str] = []
    size = 0
    position = offset
    for chunk_offset, text in chunks.iterator():
        piece = text[max(0, offset - chunk_offset):] if chunk_offset < offset else text
        if size and size + len(piece) > limit:
            break
        parts.append(piece)
        size += len(piece)
        position = chunk_offset + len(text)
    return {"offset": offset, "next_offset": max(position, offset), "text": "".join(parts), "node": node_index}


def _chunk_start(node_id: int, offset: int) -> int:
    start = (LogChunk.objects.filter(node_id=node_id, offset__lte=offset).order_by("-offset")
             .values_list("offset", flat=True).first())
    return start or 0


def job_outputs(*, job: Job) -> list[dict]:
    root = storage.artifacts_dir(job.files)
    if not root.exists():
        return []
    files = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            files.append({"path": path.relative_to(root).as_posix(), "size": path.stat().st_size})
    return files


def job_output_path(*, job: Job, path: str) -> Path:
    """A file or folder among the job's outputs; refuses paths that escape them."""
    root = storage.artifacts_dir(job.files).resolve()
    target = (root / path).resolve()
    if target != root and root not in target.parents:
        raise ApplicationError(f"path: '{path}' is outside the job's outputs", {"field": "path"})
    if not target.exists():
        raise NotFound(f"job '{job.name}' has no output '{path}'; `studio job show` lists them")
    return target
