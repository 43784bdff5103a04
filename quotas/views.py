"""Quota & usage pages: thin views over ``quotas.selectors`` (reads) and ``quotas.services`` (writes).

The page owns its fragments (``templates/quotas/usage.html``): ``quota-row`` (one family, shown or
being edited), ``quota-table`` (the families, for the "show all families" toggle), ``spot-pool``
and ``usage-chart``. htmx asks for a fragment by its DOM id (``HX-Target``); without JavaScript
the same links and forms load or post the whole page.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from quotas import roles, selectors, services
from quotas.charts import GROUPS, METRICS, usage_chart
from quotas.core import REGIONAL_TOTAL
from studio.context import current_workspace
from studio.errors import ApplicationError, Forbidden
from studio.humanize import plural

WINDOW_DAYS = 14
SECTION = "quota"


# ---------------------------------------------------------------------------------------- pages

# A fragment and the whole page share each URL: caches (and the back button) must tell them apart.
FRAGMENT_HEADERS = ("HX-Request", "HX-Target")


@login_required
@vary_on_headers(*FRAGMENT_HEADERS)
def usage(request: HttpRequest) -> HttpResponse:
    workspace = current_workspace(request)
    if workspace is None:
        return render(request, "quotas/usage.html", {"section": SECTION, "workspace": None})
    target = request.htmx.target if request.htmx else None
    if target == "usage-chart":
        return render(request, "quotas/usage.html#usage-chart", _chart_context(request, workspace))
    is_admin = selectors.subscription_is_admin(user=request.user, subscription_id=workspace.subscription_id)
    if target == "quota-table":
        return render(request, "quotas/usage.html#quota-table",
                      _quota_context(request, workspace, is_admin=is_admin))
    return render(request, "quotas/usage.html", _page_context(request, workspace, is_admin=is_admin))


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers(*FRAGMENT_HEADERS)
def family(request: HttpRequest, family_id: str) -> HttpResponse:
    """One family's row: shown (GET), being edited (GET ?edit=1) or saved (POST)."""
    workspace = _workspace_or_404(request)
    is_admin = selectors.subscription_is_admin(user=request.user, subscription_id=workspace.subscription_id)
    can_edit = _can_edit(request, workspace)  # owners set their workspace's caps, admins the subscription's too
    editing = bool(request.GET.get("edit")) and can_edit
    if request.method == "GET":
        if not request.htmx:
            return redirect(_usage_url(edit=family_id if editing else None, anchor=f"quota-row-{family_id}"))
        return _render_row(request, workspace, family_id, is_admin=is_admin, editing=editing)

    if not can_edit:
        return _forbidden(request, workspace, _cap_refusal(request, workspace))
    listing = selectors.quota_list(workspace=workspace)
    row = _find_family(listing, family_id)
    values = {"subscription_limit": request.POST.get("subscription_limit", ""),
              "workspace_cap": request.POST.get("workspace_cap", "")}
    try:
        changed = services.quota_save(
            user=request.user, workspace=workspace, family_id=row["family"],
            subscription_limit=_whole_or_none(values["subscription_limit"]),
            workspace_cap=None if row["family"] == REGIONAL_TOTAL else _whole_or_none(values["workspace_cap"]))
    except ApplicationError as error:
        if isinstance(error, Forbidden):
            return _forbidden(request, workspace, error.message)
        if request.htmx:
            return _render_row(request, workspace, family_id, is_admin=is_admin, editing=True, error=error.message,
                               values=values, listing=listing)
        context = _page_context(request, workspace, is_admin=is_admin, edit=family_id, listing=listing)
        context.update(error=error.message, values=values)
        return render(request, "quotas/usage.html", context, status=error.http_status)
    if request.htmx:
        return _render_row(request, workspace, family_id, is_admin=is_admin, editing=False, saved=changed)
    if changed:
        messages.success(request, f"Saved the quota of {row['display_name']}.")
    return redirect(_usage_url(anchor=f"quota-row-{family_id}"))


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers(*FRAGMENT_HEADERS)
def spot(request: HttpRequest) -> HttpResponse:
    """The subscription's one Spot (low-priority) vCPU pool: shown, being edited, or saved."""
    workspace = _workspace_or_404(request)
    is_admin = selectors.subscription_is_admin(user=request.user, subscription_id=workspace.subscription_id)
    if request.method == "GET":
        editing = bool(request.GET.get("edit")) and is_admin
        if not request.htmx:
            return redirect(_usage_url(edit="spot" if editing else None, anchor="spot-pool"))
        return render(request, "quotas/usage.html#spot-pool",
                      _spot_context(workspace, is_admin=is_admin, editing=editing))
    if not is_admin:
        return _forbidden(request, workspace)
    raw = request.POST.get("limit", "")
    try:
        services.quota_set_spot(user=request.user, subscription=workspace.subscription, limit=_whole(raw),
                                workspace=workspace)
    except ApplicationError as error:
        if isinstance(error, Forbidden):
            return _forbidden(request, workspace, error.message)
        if request.htmx:
            return render(request, "quotas/usage.html#spot-pool",
                          _spot_context(workspace, is_admin=True, editing=True, error=error.message, value=raw))
        context = _page_context(request, workspace, is_admin=True, edit="spot")
        context["spot"].update(error=error.message, value=raw)
        return render(request, "quotas/usage.html", context, status=error.http_status)
    if request.htmx:
        return render(request, "quotas/usage.html#spot-pool",
                      _spot_context(workspace, is_admin=True, editing=False, saved=True))
    messages.success(request, "Saved the Spot vCPU quota.")
    return redirect(_usage_url(anchor="spot-pool"))


# ------------------------------------------------------------------------------------ contexts

def _page_context(request, workspace, *, is_admin: bool, edit: str | None = None, listing: dict | None = None) -> dict:
    if edit is None and request.GET.get("edit"):
        wanted = request.GET["edit"]
        edit = wanted if (is_admin or (wanted != "spot" and _can_edit(request, workspace))) else None
    listing = listing or selectors.quota_list(workspace=workspace)
    quota = _quota_context(request, workspace, is_admin=is_admin, edit=edit, listing=listing)
    chart = _chart_context(request, workspace)
    now = chart["usage"]["until"]
    display_names = {f["family"]: f["display_name"] for f in listing["families"]}
    # What each compute uses now (open ledger records only), and its vCPU-hours and cost over the
    # chart's window from the chart's own figures, so that the table and the chart always agree.
    window = {row["compute"]: row for row in chart["usage"]["by_compute"]}
    now_rows = selectors.usage_list(workspace=workspace, since=now, now=now)
    named = {row["compute"] for row in now_rows}
    now_rows += [{"compute": name, "kind": "cluster (deleted)", "vm_size": None, "allocated_nodes": None,
                  "max_nodes": None, "nodes_in_use": 0, "vcpus_in_use": {}, "running_jobs": 0}
                 for name in window if name not in named]
    computes = []
    for row in now_rows:
        totals = window.get(row["compute"], {})
        computes.append({**row, "is_serverless": row["compute"] == selectors.SERVERLESS_COMPUTE,
                         "vcpu_hours": totals.get("total_vcpu_hours", 0.0),
                         "cost_usd": totals.get("total_cost_usd", 0.0),
                         "vcpus_total": sum(row["vcpus_in_use"].values()),
                         "families_in_use": [{"family": f, "display_name": display_names.get(f, f), "vcpus": v}
                                             for f, v in sorted(row["vcpus_in_use"].items())]})
    total = next((r for r in quota["all_families"] if r["is_total"]), None)
    return {
        **quota, **chart,
        "computes": computes,
        "serverless": computes[0],
        "total": total,
        "spot": _spot_context(workspace, is_admin=is_admin, editing=edit == "spot", listing=listing)["spot"],
        "window_days": WINDOW_DAYS,
    }


def _quota_context(request, workspace, *, is_admin: bool, edit: str | None = None,
                   listing: dict | None = None) -> dict:
    listing = listing or selectors.quota_list(workspace=workspace)
    rows = _family_rows(listing)
    show_all = request.GET.get("families") == "all"
    visible = [r for r in rows if show_all or not r["is_zero"] or r["family"] == edit]
    return {
        "section": SECTION, "workspace": workspace, "subscription_name": listing["subscription"],
        "is_admin": is_admin, "can_edit": is_admin or _can_edit(request, workspace),
        "cap_refusal": "" if is_admin else _cap_refusal(request, workspace),
        "edit": edit, "show_all": show_all, "all_families": rows,
        "families": visible, "hidden_count": len(rows) - len(visible),
    }


def _chart_context(request, workspace) -> dict:
    metric = request.GET.get("metric") if request.GET.get("metric") in METRICS else "vcpu_hours"
    by = request.GET.get("by") if request.GET.get("by") in GROUPS else "compute"
    data = selectors.usage_by_day(workspace=workspace, days=WINDOW_DAYS, now=timezone.now())
    chart = usage_chart(data, metric=metric, by=by)
    chart["svgs"] = [mark_safe(svg) for svg in chart["svgs"]]  # noqa: S308 — charts escapes every text in them
    return {"section": SECTION, "workspace": workspace, "usage": data, "metric": metric, "by": by,
            "metrics": METRICS, "groups": GROUPS, "group_label": GROUPS[by],
            "chart": chart, "window_days": WINDOW_DAYS}


def _spot_context(workspace, *, is_admin: bool, editing: bool, listing: dict | None = None, error: str = "",
                  value: str = "", saved: bool = False) -> dict:
    listing = listing or selectors.quota_list(workspace=workspace)
    spot = listing["spot"]
    return {"is_admin": is_admin, "workspace": workspace, "spot": {
        **spot, "meter": meter(spot["in_use"], spot["limit"]), "editing": editing and is_admin,
        "queued_label": queued_label(spot["queued_vcpus"], spot["queued_jobs"]),
        "error": error, "value": value if value != "" else spot["limit"], "saved": saved}}


def _render_row(request, workspace, family_id: str, *, is_admin: bool, editing: bool, error: str = "",
                values: dict | None = None, listing: dict | None = None, saved: bool = False) -> HttpResponse:
    listing = listing or selectors.quota_list(workspace=workspace)
    row = next(r for r in _family_rows(listing) if r["family"] == _find_family(listing, family_id)["family"])
    return render(request, "quotas/usage.html#quota-row", {
        "row": row, "is_admin": is_admin, "can_edit": is_admin or _can_edit(request, workspace),
        "edit": row["family"] if editing else None, "error": error,
        "values": values or {}, "saved": saved, "workspace": workspace,
    })


# ------------------------------------------------------------------------------------- helpers

def _workspace_or_404(request):
    workspace = current_workspace(request)
    if workspace is None:
        raise Http404("You are not a member of any workspace.")
    return workspace


def _find_family(listing: dict, family_id: str) -> dict:
    for row in listing["families"]:
        if row["family"].lower() == family_id.lower():
            return row
    raise Http404(f"No quota family '{family_id}' in subscription '{listing['subscription']}'.")


def _usage_url(*, edit: str | None = None, anchor: str = "") -> str:
    url = reverse("quotas:usage")
    if edit:
        url += f"?{urlencode({'edit': edit})}"
    return url + (f"#{quote(anchor)}" if anchor else "")


def _whole(raw: str):
    """A whole number from a form field; anything else goes to the service as typed, which refuses it
    with the same message the API gives."""
    try:
        return int(raw.strip())
    except (AttributeError, ValueError):
        return raw


def _whole_or_none(raw: str):
    """An empty field leaves the value as it is (None); otherwise as ``_whole``."""
    return None if raw.strip() == "" else _whole(raw)


def _can_edit(request, workspace) -> bool:
    """Whether the user may edit quota rows here: owners (caps), subscription admins (everything)."""
    return roles.role_allows(roles.effective_role(user=request.user, workspace=workspace), roles.OWNER)


def _cap_refusal(request, workspace) -> str:
    """Why the user cannot set this workspace's caps ("" when they can), as the service says it."""
    role = roles.effective_role(user=request.user, workspace=workspace)
    return roles.refusal(role=role, workspace=workspace, needed=roles.OWNER, action="set its quota caps")


def _forbidden(request, workspace, message: str = "") -> HttpResponse:
    """403 for a user who is not an admin of the subscription (the controls are not even shown to them);
    the message is the one ``quota_set`` gives."""
    message = message or (f"only admins of subscription '{workspace.subscription.name}' can change its quotas; "
                          f"{roles.describe_in(user=request.user, workspace=workspace)}")
    return render(request, "quotas/forbidden.html", {"section": SECTION, "message": message.rstrip(".")},
                  status=403)


def meter(used: int, limit: int | None) -> dict:
    """A usage bar: percent filled (capped at 100) and its level (high ≥ 75 %, full ≥ 100 %)."""
    if not limit:
        percent = 100.0 if used else 0.0
    else:
        percent = used * 100 / limit
    level = "full" if percent >= 100 else ("high" if percent >= 75 else "")
    shown = round(min(percent, 100.0), 1)
    # ``step``: the whole percent the bar is drawn at, as a class (``w-37``): the Content-Security-Policy
    # allows no style attributes.
    return {"used": used, "limit": limit, "percent": shown, "level": level, "step": round(shown)}


def queued_label(vcpus: int, jobs: int) -> str:
    """What queued jobs wait for, in words: "24 vCPUs queued · 3 jobs" ("" when none wait)."""
    return f"{plural(vcpus, 'vCPU')} queued · {plural(jobs, 'job')}" if jobs else ""


def _family_rows(listing: dict) -> list[dict]:
    """Families as table rows: the regional total first, then the families by display name."""
    workspace_total = sum(f["workspace_in_use"] for f in listing["families"] if f["family"] != REGIONAL_TOTAL)
    rows = []
    for f in listing["families"]:
        is_total = f["family"] == REGIONAL_TOTAL
        workspace_in_use = workspace_total if is_total else f["workspace_in_use"]
        effective = f["subscription_limit"] if f["workspace_limit"] is None or is_total \
            else min(f["workspace_limit"], f["subscription_limit"])
        rows.append({
            **f, "is_total": is_total, "workspace_in_use": workspace_in_use, "effective_limit": effective,
            "workspace_meter": meter(workspace_in_use, effective),
            "subscription_meter": meter(f["subscription_in_use"], f["subscription_limit"]),
            "is_zero": not (f["subscription_limit"] or f["workspace_limit"] or f["subscription_in_use"]
                            or workspace_in_use or f["queued_jobs"]),
            "queued_label": queued_label(f["queued_vcpus"], f["queued_jobs"]),
        })
    rows.sort(key=lambda r: (not r["is_total"], r["display_name"].lower()))
    return rows
