"""Quota & usage pages: thin views over ``quotas.selectors`` (reads) and ``quotas.services`` (writes).

The page owns its fragments (``templates/quotas/usage.html``): ``quota-row`` (one family, shown or
being edited), ``quota-table`` (the families, for the "show all families" toggle), ``spot-pool``
and ``usage-chart``. htmx asks for a fragment by its DOM id (``HX-Target``); without JavaScript
the same links and forms load or post the whole page.
"""

from __future__ import annotations

import math
from datetime import date
from urllib.parse import quote, urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from quotas import selectors, services
from quotas.core import REGIONAL_TOTAL
from studio.context import current_workspace
from studio.errors import ApplicationError, Forbidden

WINDOW_DAYS = 14
SECTION = "quota"
METRICS = {"vcpu_hours": "vCPU-hours", "cost_usd": "Cost (USD)"}
GROUPS = {"compute": "By compute", "family": "By VM family"}


# ---------------------------------------------------------------------------------------- pages

@login_required
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
def family(request: HttpRequest, family_id: str) -> HttpResponse:
    """One family's row: shown (GET), being edited (GET ?edit=1) or saved (POST)."""
    workspace = _workspace_or_404(request)
    is_admin = selectors.subscription_is_admin(user=request.user, subscription_id=workspace.subscription_id)
    editing = bool(request.GET.get("edit")) and is_admin
    if request.method == "GET":
        if not request.htmx:
            return redirect(_usage_url(edit=family_id if editing else None, anchor=f"quota-row-{family_id}"))
        return _render_row(request, workspace, family_id, is_admin=is_admin, editing=editing)

    if not is_admin:
        return _forbidden(request, workspace)
    listing = selectors.quota_list(workspace=workspace)
    row = _find_family(listing, family_id)
    values = {"subscription_limit": request.POST.get("subscription_limit", ""),
              "workspace_cap": request.POST.get("workspace_cap", "")}
    try:
        changed = _save_family(request, workspace, row, values)
    except ApplicationError as error:
        if isinstance(error, Forbidden):
            return _forbidden(request, workspace, error.message)
        if request.htmx:
            return _render_row(request, workspace, family_id, is_admin=True, editing=True, error=error.message,
                               values=values, listing=listing)
        context = _page_context(request, workspace, is_admin=True, edit=family_id, listing=listing)
        context.update(error=error.message, values=values)
        return render(request, "quotas/usage.html", context, status=error.http_status)
    if request.htmx:
        return _render_row(request, workspace, family_id, is_admin=is_admin, editing=False, saved=changed)
    if changed:
        messages.success(request, f"Saved the quota of {row['display_name']}.")
    return redirect(_usage_url(anchor=f"quota-row-{family_id}"))


@login_required
@require_http_methods(["GET", "POST"])
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
        services.quota_set_spot(user=request.user, subscription=workspace.subscription, limit=_whole(raw))
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
    edit = edit if edit is not None else (request.GET.get("edit") if is_admin else None)
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
        "is_admin": is_admin, "edit": edit, "show_all": show_all, "all_families": rows,
        "families": visible, "hidden_count": len(rows) - len(visible),
    }


def _chart_context(request, workspace) -> dict:
    metric = request.GET.get("metric") if request.GET.get("metric") in METRICS else "vcpu_hours"
    by = request.GET.get("by") if request.GET.get("by") in GROUPS else "compute"
    data = selectors.usage_by_day(workspace=workspace, days=WINDOW_DAYS, now=timezone.now())
    return {"section": SECTION, "workspace": workspace, "usage": data, "metric": metric, "by": by,
            "metrics": METRICS, "groups": GROUPS, "group_label": GROUPS[by],
            "chart": usage_chart(data, metric=metric, by=by), "window_days": WINDOW_DAYS}


def _spot_context(workspace, *, is_admin: bool, editing: bool, listing: dict | None = None, error: str = "",
                  value: str = "", saved: bool = False) -> dict:
    listing = listing or selectors.quota_list(workspace=workspace)
    spot = listing["spot"]
    return {"is_admin": is_admin, "workspace": workspace, "spot": {
        **spot, "meter": meter(spot["in_use"], spot["limit"]), "editing": editing and is_admin,
        "error": error, "value": value if value != "" else spot["limit"], "saved": saved}}


def _render_row(request, workspace, family_id: str, *, is_admin: bool, editing: bool, error: str = "",
                values: dict | None = None, listing: dict | None = None, saved: bool = False) -> HttpResponse:
    listing = listing or selectors.quota_list(workspace=workspace)
    row = next(r for r in _family_rows(listing) if r["family"] == _find_family(listing, family_id)["family"])
    return render(request, "quotas/usage.html#quota-row", {
        "row": row, "is_admin": is_admin, "edit": row["family"] if editing else None, "error": error,
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


def _save_family(request, workspace, row: dict, values: dict) -> bool:
    """Apply what changed in one family's row; both changes or neither. Returns whether anything changed."""
    changes = []
    if values["subscription_limit"].strip() != "":
        limit = _whole(values["subscription_limit"])
        if limit != row["subscription_limit"]:
            changes.append((None, limit))
    if values["workspace_cap"].strip() != "" and row["family"] != REGIONAL_TOTAL:
        cap = _whole(values["workspace_cap"])
        if cap != row["workspace_limit"]:
            changes.append((workspace, cap))
    if not changes:
        return False
    lowering = (changes[0][0] is None and isinstance(changes[0][1], int)
                and changes[0][1] < row["subscription_limit"])
    if lowering:
        changes.reverse()  # lower the cap first, so that it never exceeds the subscription's limit
    with transaction.atomic():
        for target, limit in changes:
            services.quota_set(user=request.user, subscription=workspace.subscription, family_id=row["family"],
                               limit=limit, workspace=target)
    return True


def _forbidden(request, workspace, message: str = "") -> HttpResponse:
    """403 for a user who is not an admin of the subscription (the controls are not even shown to them);
    the message is the one ``quota_set`` gives."""
    message = message or f"only admins of subscription '{workspace.subscription.name}' can change its quotas"
    return render(request, "quotas/forbidden.html", {"section": SECTION, "message": message}, status=403)


def meter(used: int, limit: int | None) -> dict:
    """A usage bar: percent filled (capped at 100) and its level (high ≥ 75 %, full ≥ 100 %)."""
    if not limit:
        percent = 100.0 if used else 0.0
    else:
        percent = used * 100 / limit
    level = "full" if percent >= 100 else ("high" if percent >= 75 else "")
    return {"used": used, "limit": limit, "percent": round(min(percent, 100.0), 1), "level": level}


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
                            or workspace_in_use),
        })
    rows.sort(key=lambda r: (not r["is_total"], r["display_name"].lower()))
    return rows


# ----------------------------------------------------------------------------------- the chart

PALETTE = ["#2557d6", "#18794e", "#d97706", "#7c3aed", "#c0262d", "#0e7490", "#be185d"]
OTHER_COLOR = "#94a3b8"
MAX_SERIES = 6
# Two layouts of the same chart: wide screens, and phones (where a scaled-down wide chart's text
# would be unreadable); CSS shows one of them.
LAYOUTS = {
    "wide": {"width": 720, "height": 260, "left": 58, "right": 12, "top": 14, "bottom": 30, "label_every": 2},
    "compact": {"width": 360, "height": 230, "left": 46, "right": 6, "top": 12, "bottom": 28, "label_every": 4},
}


def _nice_step(raw: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at least ``raw``."""
    exponent = math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * 10 ** exponent
        if step >= raw * (1 - 1e-9):
            return step
    return 10 ** (exponent + 1)


def _format_value(value: float, metric: str) -> str:
    if metric == "cost_usd":
        return f"${value:,.2f}" if value < 100 else f"${value:,.0f}"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value < 10 else f"{value:,.1f}".rstrip("0").rstrip(".")


def _day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


def _series(data: dict, metric: str, by: str) -> list[dict]:
    """The chart's series: Serverless first (by compute), then the largest; the rest folded into one."""
    key = "compute" if by == "compute" else "family"
    groups = data["by_compute"] if by == "compute" else data["by_family"]
    total_key = f"total_{metric}"
    shown = [g for g in groups if g[total_key] > 0 or g[key] == selectors.SERVERLESS_COMPUTE]
    shown.sort(key=lambda g: (g[key] != selectors.SERVERLESS_COMPUTE, -g[total_key], g[key]))
    series = [{"name": g[key], "values": g[metric], "total": g[total_key]} for g in shown[:MAX_SERIES]]
    rest = shown[MAX_SERIES:]
    if rest:
        values = [round(sum(g[metric][i] for g in rest), 4) for i in range(len(data["days"]))]
        series.append({"name": f"{len(rest)} others", "values": values, "total": round(sum(values), 4)})
    for index, s in enumerate(series):
        s["color"] = OTHER_COLOR if rest and index == len(series) - 1 else PALETTE[index % len(PALETTE)]
        s["total_label"] = _format_value(s["total"], metric)
    return series


def _geometry(days: list[date], series: list[dict], totals: list[float], metric: str, layout: str) -> dict:
    spec = LAYOUTS[layout]
    width, height, left, top = spec["width"], spec["height"], spec["left"], spec["top"]
    peak = max(totals, default=0)
    step = _nice_step(peak / 4) if peak > 0 else 0.25
    ceiling = step * 4
    plot_w, plot_h = width - left - spec["right"], height - top - spec["bottom"]
    baseline = top + plot_h
    slot = plot_w / len(days)
    bar_w = slot * 0.62
    unit = METRICS[metric]
    ticks = [{"y": round(baseline - k * plot_h / 4, 1), "label": _format_value(k * step, metric)} for k in range(5)]
    bars = []
    for i, day in enumerate(days):
        x = left + i * slot + (slot - bar_w) / 2
        cursor = baseline
        segments = []
        for s in series:
            value = s["values"][i]
            if value <= 0:
                continue
            bar_h = max(value / ceiling * plot_h, 1.5)  # the smallest use still shows
            cursor -= bar_h
            figure = _format_value(value, metric) + ("" if metric == "cost_usd" else f" {unit}")
            segments.append({"x": round(x, 1), "y": round(cursor, 1), "width": round(bar_w, 1),
                             "height": round(bar_h, 1), "color": s["color"],
                             "title": f"{_day_label(day)} · {s['name']}: {figure}"})
        bars.append({
            "day": day, "label": _day_label(day) if (len(days) - 1 - i) % spec["label_every"] == 0 else "",
            "center": round(left + i * slot + slot / 2, 1), "slot_x": round(left + i * slot, 1),
            "slot_w": round(slot, 1), "total_label": _format_value(totals[i], metric), "segments": segments,
        })
    return {
        "layout": layout, "width": width, "height": height, "left": left, "right": width - spec["right"],
        "top": top, "baseline": baseline, "plot_h": plot_h, "ticks": ticks, "bars": bars,
        "tick_x": left - 7, "label_y": height - 9,
        "middle": round(top + plot_h / 2, 1), "center": round(left + plot_w / 2, 1),
    }


def _svg(g: dict, *, title: str, empty_text: str, unit_suffix: str) -> str:
    """One layout of the chart as inline SVG markup. Built here rather than with template loops:
    several hundred small elements render ten times faster as f-strings. Every text is escaped."""
    layout = g["layout"]
    parts = [f'<svg class="usage-chart {layout}" viewBox="0 0 {g["width"]} {g["height"]}" role="img" '
             f'aria-labelledby="usage-chart-title-{layout}" preserveAspectRatio="xMidYMid meet">',
             f'<title id="usage-chart-title-{layout}">{escape(title)}</title>']
    for tick in g["ticks"]:
        parts.append(f'<line class="grid-line" x1="{g["left"]}" x2="{g["right"]}" y1="{tick["y"]}" y2="{tick["y"]}"/>'
                     f'<text class="axis-label" x="{g["tick_x"]}" y="{tick["y"]}" text-anchor="end" '
                     f'dominant-baseline="middle">{escape(tick["label"])}</text>')
    for bar in g["bars"]:
        parts.append(f'<g class="day"><rect class="day-hit" x="{bar["slot_x"]}" y="{g["top"]}" '
                     f'width="{bar["slot_w"]}" height="{g["plot_h"]}"><title>{escape(_day_label(bar["day"]))}: '
                     f'{escape(bar["total_label"])}{unit_suffix}</title></rect>')
        for seg in bar["segments"]:
            parts.append(f'<rect class="segment" x="{seg["x"]}" y="{seg["y"]}" width="{seg["width"]}" '
                         f'height="{seg["height"]}" fill="{seg["color"]}" rx="2">'
                         f'<title>{escape(seg["title"])}</title></rect>')
        if bar["label"]:
            parts.append(f'<text class="axis-label" x="{bar["center"]}" y="{g["label_y"]}" text-anchor="middle">'
                         f'{escape(bar["label"])}</text>')
        parts.append("</g>")
    parts.append(f'<line class="axis-line" x1="{g["left"]}" x2="{g["right"]}" y1="{g["baseline"]}" '
                 f'y2="{g["baseline"]}"/>')
    if empty_text:
        parts.append(f'<text class="empty-label" x="{g["center"]}" y="{g["middle"]}" text-anchor="middle">'
                     f'{escape(empty_text)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every interpolated text above is escaped


def usage_chart(data: dict, *, metric: str, by: str) -> dict:
    """A stacked bar chart (one bar per day, one colour per compute or family) as inline SVG, in a
    wide and a compact layout; every bar has a ``<title>``, so hovering shows the figure, and the
    numbers are also given as a table."""
    series = _series(data, metric, by)
    days = data["days"]
    totals = [sum(s["values"][i] for s in series) for i in range(len(days))]
    empty = max(totals, default=0) == 0
    title = f"{METRICS[metric]} per day over the last {len(days)} days, {GROUPS[by].lower()}"
    empty_text = f"No usage in the last {len(days)} days" if empty else ""
    unit_suffix = "" if metric == "cost_usd" else " vCPU-hours"
    layouts = [_geometry(days, series, totals, metric, layout) for layout in LAYOUTS]
    return {
        "svgs": [_svg(g, title=title, empty_text=empty_text, unit_suffix=unit_suffix) for g in layouts],
        "series": series, "empty": empty, "unit": METRICS[metric], "metric": metric,
        "by": by, "total_label": _format_value(sum(totals), metric),
        "rows": [{"day": day, "values": [_format_value(s["values"][i], metric) for s in series],
                  "total": _format_value(totals[i], metric)} for i, day in enumerate(days)],
    }
