"""Job pages: the list, one job (live status and logs) and cancel.

Thin, like the API views: selectors read, services write. Each page owns its fragments
(``{% partialdef %}``); an htmx request gets the fragment named by its ``HX-Target``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import yaml
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from jobs import selectors, services
from jobs import lifecycle
from jobs.lifecycle import TERMINAL, Status
from jobs.models import Job
from jobs.transitions import SCHEDULED_TYPES
from jobs.tracking.selectors import job_latest_metrics
from studio.context import current_workspace
from studio.errors import ApplicationError, Forbidden, NotFound
from studio.humanize import duration

PAGE_SIZE = 25
FILTERS = ("search", "status", "waiting", "type", "compute", "submitted_by", "experiment")
CHOICES_LIMIT = 200


# --- list --------------------------------------------------------------------------------------


@login_required
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    workspace = current_workspace(request)
    filters = {key: request.GET.get(key, "").strip() for key in FILTERS}
    chosen = {key: value for key, value in filters.items() if value}
    if workspace is None:
        jobs = Job.objects.none()
    else:
        jobs = selectors.job_list_for_user(user=request.user, filters={**chosen, "workspace": workspace.name})
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = list(page.object_list)
    for job in rows:
        job.duration = _duration(job, now)
    context = {
        "section": "jobs",
        "page": page,
        "jobs": rows,
        "polling": any(job.status not in TERMINAL for job in rows),
        "filters": filters,
        "filtered": bool(chosen),
    }
    if request.htmx:
        return render(request, "jobs/list.html#job-rows", context)
    context["choices"] = _filter_choices(workspace, filters)
    return render(request, "jobs/list.html", context)


def _filter_choices(workspace, filters: dict[str, str]) -> dict[str, list[str]]:
    """The values each filter can take in this workspace (one query per filter, whatever the jobs)."""
    choices = {"status": [status.value for status in Status]}
    fields = {"type": "type", "compute": "compute", "submitted_by": "submitted_by_id",
              "experiment": "experiment_name", "waiting": "pending_code"}
    scope = Job.objects.filter(workspace=workspace) if workspace else Job.objects.none()
    for key, field in fields.items():
        values = [v for v in scope.order_by(field).values_list(field, flat=True).distinct()[:CHOICES_LIMIT] if v]
        if key == "submitted_by":  # ids read from the index, then their names
            values = sorted(get_user_model().objects.filter(id__in=values).values_list("username", flat=True))
        if key == "waiting" and values:
            values = [selectors.WAITING_ANY, *values]
        if filters[key] and filters[key] not in values:
            values.append(filters[key])  # keep what was asked for visible, even when nothing matches
        choices[key] = values
    return choices


def _duration(job: Job, now: datetime) -> str:
    if job.started_at is None:
        return ""
    end = job.ended_at or (now if job.status not in TERMINAL else job.started_at)
    return duration(max(timedelta(0), end - job.started_at).total_seconds())




# --- detail ------------------------------------------------------------------------------------


def _job_or_404(request: HttpRequest, name: str) -> Job:
    try:
        return selectors.job_get_for_user(user=request.user, name=name, prefer=current_workspace(request))
    except NotFound as exc:
        raise Http404(exc.message) from None


@login_required
@require_GET
def job_detail(request: HttpRequest, name: str) -> HttpResponse:
    job = _job_or_404(request, name)  # the status is read before the log, so "ended" never hides text
    node = _node_index(request, job)
    target = request.htmx.target if request.htmx else None
    if target == "job-log":
        return _log_tail(request, job, node)
    context = _status_context(job, request.user)
    if request.htmx:
        return _status_response(request, context)
    context.update(_log_context(job, node))
    return render(request, "jobs/detail.html", context)


def _log_context(job: Job, node: int) -> dict:
    """What the whole page shows beside the status: the log of one node and the spec."""
    return {
        "log": selectors.job_log_read(job=job, node_index=node, offset=0),
        "log_node": node,
        "log_finished": job.status in TERMINAL,
        "log_nodes": range(job.instance_count) if job.instance_count > 1 else [],
        "spec_yaml": job.spec_yaml or yaml.safe_dump(job.spec, sort_keys=False, allow_unicode=True),
    }


def _node_index(request: HttpRequest, job: Job) -> int:
    raw = request.GET.get("node", "")
    return int(raw) if raw.isdigit() and int(raw) < job.instance_count else 0


def _log_tail(request: HttpRequest, job: Job, node: int) -> HttpResponse:
    """The log text after ``?offset=``, plus the poller again (out of band) with the next offset."""
    raw = request.GET.get("offset", "0")
    if not raw.isdigit():
        return HttpResponse(f"offset: expected a whole number of 0 or more, got '{raw}'", status=400,
                            content_type="text/plain")
    attempt = request.GET.get("attempt", "")
    if attempt.isdigit() and int(attempt) not in (0, job.attempt):
        # a Spot eviction restarted the job: its log starts over (a page opened before the job was
        # first admitted, attempt 0, simply goes on with the first attempt's log)
        return HttpResponseClientRefresh()
    log = selectors.job_log_read(job=job, node_index=node, offset=int(raw))
    return render(request, "jobs/detail.html#job-log", {
        "job": job, "log": log, "log_node": node, "log_finished": job.status in TERMINAL, "oob": True,
    })


def _status_context(job: Job, user) -> dict:
    now = timezone.now()
    children = list(job.children.select_related("submitted_by").order_by("created_at", "id"))
    for child in children:
        child.duration = _duration(child, now)
    events = list(job.events.all())
    steps = lifecycle.timeline(
        [lifecycle.Event(e.at, e.from_status, e.to_status, e.code, e.message) for e in events], Status(job.status),
        parent=job.type not in SCHEDULED_TYPES)
    return {
        "section": "jobs",
        "job": job,
        "terminal": job.status in TERMINAL,
        "stopping": job.status == Status.CANCEL_REQUESTED,
        "cancel_refusal": "" if job.status in TERMINAL else services.job_cancel_refusal(job=job, user=user),
        "duration": _duration(job, now),
        "waiting": selectors.job_waiting(job=job, now=now),
        "steps": steps,
        "events": events,
        "metrics": sorted(job_latest_metrics(job=job).items()),
        "outputs": selectors.job_outputs(job=job),
        "children": children,
    }


def _status_response(request: HttpRequest, context: dict) -> HttpResponse:
    """The ``job-status`` fragment, and the ``job-results`` one out of band (metrics and outputs
    change while the job runs and when it ends)."""
    return HttpResponse(render_to_string("jobs/detail.html#job-status", context, request=request)
                        + render_to_string("jobs/detail.html#job-results", {**context, "oob": True}, request=request))


# --- cancel ------------------------------------------------------------------------------------


@login_required
@require_POST
def job_cancel(request: HttpRequest, name: str) -> HttpResponse:
    job = _job_or_404(request, name)
    try:
        job = services.job_cancel(job=job, user=request.user)
    except Forbidden as exc:  # the button was disabled, saying why; a crafted POST gets the same sentence
        if request.htmx:
            return _status_response(request, {**_status_context(job, request.user), "notice": ("bad", exc.message)})
        messages.error(request, exc.message[0].upper() + exc.message[1:] + ".")
        context = _status_context(job, request.user)
        return render(request, "jobs/detail.html", {**context, **_log_context(job, 0)}, status=403)
    except ApplicationError as exc:
        level, text = "bad", exc.message
    else:
        level = "ok"
        text = (f"Job {job.name} was canceled." if job.status == Status.CANCELED
                else "Cancel requested: the job's nodes stop within seconds.")
    if request.htmx:
        job = _job_or_404(request, name)
        return _status_response(request, {**_status_context(job, request.user), "notice": (level, text)})
    (messages.success if level == "ok" else messages.error)(request, text)
    return redirect("jobs:detail", name=job.name)
