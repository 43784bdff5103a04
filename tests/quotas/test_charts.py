"""The usage chart engine (quotas/charts.py): pure functions, no Django, no database."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from quotas import charts

DAYS = [date(2026, 11, 13) + timedelta(days=k) for k in range(14)]


def usage(values: dict[str, list[float]], *, metric: str = "vcpu_hours") -> dict:
    """``usage_by_day``'s shape, by compute, with ``values`` per compute for one metric."""
    other = "cost_usd" if metric == "vcpu_hours" else "vcpu_hours"
    rows = [{"compute": name, metric: v, other: [0.0] * len(v), f"total_{metric}": round(sum(v), 4),
             f"total_{other}": 0.0} for name, v in values.items()]
    return {"days": DAYS[:len(next(iter(values.values())))], "by_compute": rows, "by_family": []}


def tick_texts(svg: str) -> list[str]:
    return re.findall(r'<text class="axis-label" x="[\d.]+" y="[\d.]+" text-anchor="end" '
                      r'dominant-baseline="middle">([^<]*)</text>', svg)


def peak_values(peak: float) -> dict[str, list[float]]:
    return {"Serverless": [0.0] * 13 + [peak]}


@pytest.mark.parametrize("peak, labels", [
    (0.0, ["0", "0.25", "0.50", "0.75", "1.00"]),             # nothing yet: a 0–1 axis
    (0.0001, ["0", "0.000025", "0.000050", "0.000075", "0.000100"]),
    (0.01, ["0", "0.0025", "0.0050", "0.0075", "0.0100"]),    # was 0 / 0 / 0.01 / 0.01 / 0.01
    (0.03, ["0", "0.01", "0.02", "0.03", "0.04"]),
    (0.7, ["0", "0.2", "0.4", "0.6", "0.8"]),
    (9.0, ["0", "2.5", "5.0", "7.5", "10.0"]),
    (48.0, ["0", "20", "40", "60", "80"]),
    (1234.5, ["0", "500", "1,000", "1,500", "2,000"]),
    (2_500_000.0, ["0", "1,000,000", "2,000,000", "3,000,000", "4,000,000"]),
])
def test_it_labels_the_y_axis_with_distinct_ticks_at_any_scale(peak, labels):
    chart = charts.usage_chart(usage(peak_values(peak)), metric="vcpu_hours", by="compute")

    for svg in chart["svgs"]:  # both layouts
        assert tick_texts(svg) == labels
    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize("peak, labels", [
    (0.0, ["$0", "$0.25", "$0.50", "$0.75", "$1.00"]),
    (0.004, ["$0", "$0.001", "$0.002", "$0.003", "$0.004"]),
    (1.8, ["$0", "$0.50", "$1.00", "$1.50", "$2.00"]),
    (350.0, ["$0", "$100", "$200", "$300", "$400"]),
])
def test_it_writes_cost_ticks_as_money(peak, labels):
    chart = charts.usage_chart(usage(peak_values(peak), metric="cost_usd"), metric="cost_usd", by="compute")
    assert tick_texts(chart["svgs"][0]) == labels


def test_the_axis_always_reaches_the_tallest_bar():
    for peak in (0.0001, 0.0042, 0.013, 0.5, 1, 3.3, 7.77, 99.9, 100, 101, 12_345.6, 9.99e8):
        step = charts.axis_step(peak)
        assert step * charts.TICKS >= peak
        assert step * charts.TICKS < peak * 2.51  # and not much further: a "nice" step above a quarter of it


@pytest.mark.parametrize("step, decimals", [(500, 0), (1, 0), (2.5, 1), (0.2, 1), (0.25, 2), (0.0025, 4),
                                            (0.000025, 6)])
def test_it_takes_the_decimals_from_the_step(step, decimals):
    assert charts.step_decimals(step) == decimals


@pytest.mark.parametrize("value, metric, text", [
    (0.0, "vcpu_hours", "0"), (4.0, "vcpu_hours", "4"), (0.0025, "vcpu_hours", "0.0025"),
    (0.7290000000000001, "vcpu_hours", "0.729"), (12.345, "vcpu_hours", "12.3"), (1234.5, "vcpu_hours", "1,234"),
    (0.0, "cost_usd", "$0.00"), (0.5, "cost_usd", "$0.50"), (0.0042, "cost_usd", "$0.0042"),
    (1234.5, "cost_usd", "$1,234"),
])
def test_a_small_figure_never_reads_as_zero(value, metric, text):
    assert charts.format_value(value, metric) == text


def test_it_stacks_serverless_first_folds_the_rest_and_titles_every_bar():
    computes = {f"cluster-{k}": [float(k)] * 3 for k in range(1, 9)}
    computes["Serverless"] = [0.5, 0.0, 2.0]
    chart = charts.usage_chart(usage(computes), metric="vcpu_hours", by="compute")

    names = [s["name"] for s in chart["series"]]
    assert names == ["Serverless", "cluster-8", "cluster-7", "cluster-6", "cluster-5", "cluster-4", "3 others"]
    assert chart["series"][-1]["color"] == charts.OTHER_COLOR
    assert chart["series"][-1]["values"] == [6.0, 6.0, 6.0]  # clusters 1–3 folded
    wide = chart["layouts"][0]
    assert [len(bar["segments"]) for bar in wide["bars"]] == [7, 6, 7]  # no segment for nothing
    assert wide["bars"][0]["segments"][0]["title"] == "Nov 13 · Serverless: 0.5 vCPU-hours"
    assert chart["rows"][2] == {"day": DAYS[2], "values": ["2", "8", "7", "6", "5", "4", "6"], "total": "38"}
    assert chart["total_label"] == "110"


def test_it_says_when_there_is_nothing_to_draw():
    chart = charts.usage_chart(usage({"Serverless": [0.0] * 14}), metric="vcpu_hours", by="compute")
    assert chart["empty"] and "No usage in the last 14 days" in chart["svgs"][0]
    assert all(not bar["segments"] for bar in chart["layouts"][0]["bars"])


def test_every_text_in_the_svg_is_escaped():
    chart = charts.usage_chart(usage({"Serverless": [1.0], "<script>x</script>": [2.0]}), metric="vcpu_hours",
                               by="compute")
    markup = "".join(chart["svgs"])
    assert "<script>" not in markup and "&lt;script&gt;x&lt;/script&gt;" in markup


def test_it_imports_no_django():
    root = Path(__file__).resolve().parents[2]
    code = "import sys, quotas.charts; assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'Django'"
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
