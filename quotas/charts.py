"""The quota page's usage chart: stacked bars per day as inline SVG, in pure Python (no Django).

``usage_chart(data, metric=..., by=...)`` takes what ``quotas.selectors.usage_by_day`` returns and
gives the SVG markup of a wide and a compact layout (every text in it escaped), the legend's series
and the numbers per day. The y axis has ``TICKS`` intervals of a "nice" step (1, 2, 2.5 or 5 × 10^k),
each tick written with as many decimals as the step needs, so that no two ticks read the same.
"""

from __future__ import annotations

import math
from datetime import date
from html import escape

from quotas.core import SERVERLESS_COMPUTE
from studio.humanize import number

METRICS = {"vcpu_hours": "vCPU-hours", "cost_usd": "Cost (USD)"}
GROUPS = {"compute": "By compute", "family": "By VM family"}
PALETTE = ["#2557d6", "#18794e", "#d97706", "#7c3aed", "#c0262d", "#0e7490", "#be185d"]
OTHER_COLOR = "#94a3b8"
MAX_SERIES = 6
TICKS = 4  # intervals on the y axis
EMPTY_STEP = 0.25  # the axis of a chart with nothing to show: 0 to 1
# Two layouts of the same chart: wide screens, and phones (where a scaled-down wide chart's text
# would be unreadable); CSS shows one of them.
LAYOUTS = {
    "wide": {"width": 720, "height": 260, "left": 58, "right": 12, "top": 14, "bottom": 30, "label_every": 2},
    "compact": {"width": 360, "height": 230, "left": 46, "right": 6, "top": 12, "bottom": 28, "label_every": 4},
}


# ------------------------------------------------------------------------------- numbers

def nice_step(raw: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at least ``raw`` (which must be above 0)."""
    exponent = math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * 10 ** exponent
        if step >= raw * (1 - 1e-9):
            return step
    return 10 ** (exponent + 1)


def axis_step(peak: float) -> float:
    """The y axis's step for a chart whose tallest bar is ``peak``: ``TICKS`` steps reach it."""
    return nice_step(peak / TICKS) if peak > 0 else EMPTY_STEP


def step_decimals(step: float) -> int:
    """The fewest decimals that write every multiple of ``step`` exactly: 500 → 0, 2.5 → 1, 0.0025 → 4."""
    for decimals in range(15):
        if abs(round(step, decimals) - step) <= abs(step) * 1e-9:
            return decimals
    return 15


def tick_labels(step: float, metric: str) -> list[str]:
    """The y axis's labels, 0 to ``TICKS`` × ``step``, all with the decimals the step needs (money with
    cents whenever it has decimals at all)."""
    decimals = step_decimals(step)
    if metric == "cost_usd" and decimals:
        decimals = max(decimals, 2)
    prefix = "$" if metric == "cost_usd" else ""
    return [f"{prefix}{k * step:,.{decimals}f}" if k else f"{prefix}0" for k in range(TICKS + 1)]


def format_value(value: float, metric: str) -> str:
    """A bar's or total's figure: "$1.25", "$0.0042" (never "$0.00" for a cost above nothing), "$1,234";
    "3.5", "0.0025", "1,234" vCPU-hours."""
    if metric == "cost_usd":
        if value and abs(value) < 0.01:
            return f"${number(value, 2)}"
        return f"${value:,.2f}" if value < 100 else f"${value:,.0f}"
    return f"{value:,.0f}" if value >= 100 else number(value, 3)


def day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


# -------------------------------------------------------------------------------- layout

def _series(data: dict, metric: str, by: str) -> list[dict]:
    """The chart's series: Serverless first (by compute), then the largest; the rest folded into one."""
    key = "compute" if by == "compute" else "family"
    groups = data["by_compute"] if by == "compute" else data["by_family"]
    total_key = f"total_{metric}"
    shown = [g for g in groups if g[total_key] > 0 or g[key] == SERVERLESS_COMPUTE]
    shown.sort(key=lambda g: (g[key] != SERVERLESS_COMPUTE, -g[total_key], g[key]))
    series = [{"name": g[key], "values": g[metric], "total": g[total_key]} for g in shown[:MAX_SERIES]]
    rest = shown[MAX_SERIES:]
    if rest:
        values = [round(sum(g[metric][i] for g in rest), 4) for i in range(len(data["days"]))]
        series.append({"name": f"{len(rest)} others", "values": values, "total": round(sum(values), 4)})
    for index, s in enumerate(series):
        s["color"] = OTHER_COLOR if rest and index == len(series) - 1 else PALETTE[index % len(PALETTE)]
        s["total_label"] = format_value(s["total"], metric)
    return series


def _geometry(days: list[date], series: list[dict], totals: list[float], metric: str, layout: str) -> dict:
    spec = LAYOUTS[layout]
    width, height, left, top = spec["width"], spec["height"], spec["left"], spec["top"]
    step = axis_step(max(totals, default=0))
    ceiling = step * TICKS
    plot_w, plot_h = width - left - spec["right"], height - top - spec["bottom"]
    baseline = top + plot_h
    slot = plot_w / len(days)
    bar_w = slot * 0.62
    unit = METRICS[metric]
    ticks = [{"y": round(baseline - k * plot_h / TICKS, 1), "label": label}
             for k, label in enumerate(tick_labels(step, metric))]
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
            figure = format_value(value, metric) + ("" if metric == "cost_usd" else f" {unit}")
            segments.append({"x": round(x, 1), "y": round(cursor, 1), "width": round(bar_w, 1),
                             "height": round(bar_h, 1), "color": s["color"],
                             "title": f"{day_label(day)} · {s['name']}: {figure}"})
        bars.append({
            "day": day, "label": day_label(day) if (len(days) - 1 - i) % spec["label_every"] == 0 else "",
            "center": round(left + i * slot + slot / 2, 1), "slot_x": round(left + i * slot, 1),
            "slot_w": round(slot, 1), "total_label": format_value(totals[i], metric), "segments": segments,
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
                     f'width="{bar["slot_w"]}" height="{g["plot_h"]}"><title>{escape(day_label(bar["day"]))}: '
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
    return "".join(parts)


def usage_chart(data: dict, *, metric: str, by: str) -> dict:
    """A stacked bar chart (one bar per day, one colour per compute or family) as inline SVG, in a
    wide and a compact layout; every bar has a ``<title>``, so hovering shows the figure, and the
    numbers are also given as a table. ``svgs`` are markup whose every text is escaped: safe to
    insert as they are."""
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
        "layouts": layouts, "series": series, "empty": empty, "unit": METRICS[metric], "metric": metric,
        "by": by, "total_label": format_value(sum(totals), metric),
        "rows": [{"day": day, "values": [format_value(s["values"][i], metric) for s in series],
                  "total": format_value(totals[i], metric)} for i, day in enumerate(days)],
    }
