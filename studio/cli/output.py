"""How the CLI shows things: one JSON document for ``--output json``, plain tables otherwise."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence

from studio.humanize import duration as format_duration
from studio.humanize import plural

Column = tuple[str, Callable[[dict], Any]]


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def format_time(value: str | None) -> str:
    """An API timestamp in the local time zone, to the second."""
    moment = parse_time(value)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else (value or "")


def job_duration(job: dict, now: datetime | None = None) -> float | None:
    """Seconds the job has run: started to ended, or to now while it runs."""
    start = parse_time(job.get("started_at"))
    if start is None:
        return None
    end = parse_time(job.get("ended_at")) or now or datetime.now(timezone.utc)
    return (end - start).total_seconds()


def table(rows: Iterable[dict], columns: Sequence[Column]) -> str:
    """Left-aligned columns under upper-case headers, two spaces apart."""
    cells = [[h.upper() for h, _ in columns]]
    for row in rows:
        cells.append([_cell(get(row)) for _, get in columns])
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split()) if not isinstance(value, bool) else ("yes" if value else "no")


def key_values(pairs: Iterable[tuple[str, Any]]) -> str:
    """``Label:  value`` lines, leaving out empty values."""
    kept = [(k, str(v)) for k, v in pairs if v not in (None, "", [], {})]
    width = max((len(k) for k, _ in kept), default=0) + 1
    lines = []
    for key, value in kept:
        first, *rest = value.splitlines() or [""]
        lines.append(f"{key + ':':<{width}}  {first}")
        lines.extend(f"{'':<{width}}  {line}" for line in rest)
    return "\n".join(lines)


JOB_COLUMNS: list[Column] = [
    ("name", lambda j: j.get("name")),
    ("status", lambda j: j.get("status")),
    ("type", lambda j: j.get("type")),
    ("compute", lambda j: j.get("compute")),
    ("created", lambda j: format_time(j.get("created_at"))),
    ("duration", lambda j: format_duration(job_duration(j))),
]

NODE_COLUMNS: list[Column] = [
    ("node", lambda n: n.get("index")),
    ("status", lambda n: n.get("status")),
    ("worker", lambda n: n.get("worker")),
    ("exit code", lambda n: n.get("exit_code")),
    ("error", lambda n: n.get("error")),
]

OUTPUT_COLUMNS: list[Column] = [("path", lambda f: f.get("path")), ("size", lambda f: f.get("size"))]


def job_list_table(jobs: Sequence[dict]) -> str:
    return table(jobs, JOB_COLUMNS) if jobs else "No jobs found."


def waiting_text(waiting: dict | None) -> str:
    """Why a job waits, as the studio says it (position, estimated start range or why there is
    none), with its reason code: ``waiting for quota ...; position 2 ... (QuotaBusy)``."""
    if not waiting or not (waiting.get("message") or waiting.get("reason")):
        return ""
    text = waiting.get("message") or waiting["reason"]
    return f"{text} ({waiting['code']})" if waiting.get("code") else text


def explanation_text(answer: dict) -> str:
    """``studio job explain``: the decision and the scheduler's whole sentence, then what to change."""
    decision = answer.get("decision", "?")
    message = answer.get("message") or answer.get("reason", "")
    lines = [f"{decision}: {message}" + (f" ({answer['code']})" if answer.get("code") else "")]
    lines.extend(f"  - {item}" for item in answer.get("recommendations") or [])
    return "\n".join(lines)


def _log_line(event: dict) -> str:
    """``at  [Status  ]message (code, by actor)``: a transition names the status it reached."""
    to, message = event.get("to") or "", event.get("message") or ""
    moved = to and to != event.get("from")
    said = message if message != to else ""
    extra = ", ".join(part for part in (event.get("code") if moved or event.get("code") else "",
                                          f"by {event['actor']}" if event.get("actor") else "") if part)
    text = "  ".join(part for part in (to if moved else "", said) if part)
    return f"{format_time(event.get('at'))}  {text}" + (f" ({extra})" if extra else "")


_STEP_WORDS = {"skipped": "skipped", "not-reached": "not reached", "current": "now", "upcoming": ""}


def timeline_rows(job: dict) -> list[dict]:
    """The job's steps, by the same rule as its page (``jobs.lifecycle.timeline``) from its
    transition events: each with its time; where a failed or canceled job stopped, with the
    reason code; the end with its code and message."""
    from jobs.lifecycle import TERMINAL, Event, Status, timeline  # only `job show` needs it: not at start-up

    events = [Event(parse_time(e.get("at")), e.get("from") or "", e.get("to") or "", e.get("code") or "",
                    e.get("message") or "") for e in job.get("events") or [] if e.get("to")]
    if not events or job.get("status") not in {s.value for s in Status}:
        return []
    rows = []
    for step in timeline(events, Status(job["status"]), parent=job.get("type", "command") != "command"):
        if step.state in ("failed", "stopped") and step.status not in TERMINAL:
            detail = f"stopped here: {step.code}" if step.code else "stopped here"
        elif step.state == "ok":
            detail = step.message if step.message != step.status else ""  # "3 of 4 children completed"
        elif step.message or step.code:
            detail = ": ".join(part for part in (step.code, step.message if step.message != step.status else "")
                               if part)
        else:
            detail = _STEP_WORDS.get(step.state, "")
        at = step.at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if step.at else ""
        rows.append({"at": at, "status": step.label, "detail": detail})
    return rows


TIMELINE_COLUMNS: list[Column] = [(key, lambda r, key=key: r[key]) for key in ("at", "status", "detail")]


def job_detail(job: dict, outputs: Sequence[dict] | None = None) -> str:
    requested = job.get("requested_instance_type")
    waiting = job.get("waiting") or {}
    sections = [key_values([
        ("Name", job.get("name")),
        ("Display name", job.get("display_name") if job.get("display_name") != job.get("name") else None),
        ("Status", job.get("status")),
        ("Type", job.get("type")),
        ("Experiment", job.get("experiment_name")),
        ("Workspace", job.get("workspace")),
        ("Submitted by", job.get("submitted_by")),
        ("Compute", job.get("compute")),
        ("Tier", job.get("tier")),
        ("VM size", job.get("instance_type")),
        ("Requested VM size", requested if requested and requested != job.get("instance_type") else None),
        ("Why this size", job.get("instance_type_reason")),
        ("Instance count", job.get("instance_count")),
        ("Waiting", waiting.get("message") or waiting.get("reason")),
        ("Waiting code", waiting.get("code")),
        ("Evictions", job.get("evictions") or None),
        ("Created", format_time(job.get("created_at"))),
        ("Started", format_time(job.get("started_at"))),
        ("Ended", format_time(job.get("ended_at"))),
        ("Duration", format_duration(job_duration(job))),
        ("Exit code", job.get("exit_code")),
        ("Failure kind", job.get("failure_kind")),
        ("Error", job.get("error")),
    ])]
    if job.get("nodes"):
        sections.append("Nodes\n" + table(job["nodes"], NODE_COLUMNS))
    events = job.get("events") or []
    steps = timeline_rows(job)
    if steps:
        sections.append("Timeline\n" + table(steps, TIMELINE_COLUMNS))
    if events:  # the whole record: every transition and every note, as the job page's system log
        sections.append("System log\n" + "\n".join(_log_line(e) for e in events))
    if outputs:
        sections.append("Outputs\n" + table(outputs, OUTPUT_COLUMNS))
    return "\n\n".join(sections)


# -- quotas, usage, computes and VM sizes ---------------------------------------------------

SPOT_LABEL = "Spot (shared pool)"


def number(value: Any) -> str:
    """A count of vCPUs or nodes: whole numbers without a decimal point."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def money(value: Any) -> str:
    return "" if value is None else f"{float(value):.2f}"


def _free(limit: Any, in_use: Any) -> float:
    return max(0, (limit or 0) - (in_use or 0))


def quota_free(row: dict) -> float:
    """vCPUs the workspace could still start in this family: the subscription's free quota,
    capped by what is left of the workspace's own cap when there is one."""
    free = _free(row.get("subscription_limit"), row.get("subscription_in_use"))
    if row.get("workspace_limit") is not None:
        free = min(free, _free(row["workspace_limit"], row.get("workspace_in_use")))
    return free


def quota_row_shown(row: dict) -> bool:
    return any(row.get(key) for key in ("subscription_limit", "workspace_limit",
                                         "subscription_in_use", "workspace_in_use", "queued_vcpus"))


def queued(row: dict) -> str:
    """The vCPUs that waiting jobs need, and how many jobs: ``24 (3 jobs)``; ``-`` if the studio did not say."""
    if row.get("queued_vcpus") is None:
        return "-"
    jobs = row.get("queued_jobs") or 0
    return number(row["queued_vcpus"]) + (f" ({plural(jobs, 'job')})" if jobs else "")


QUOTA_COLUMNS: list[Column] = [
    ("family", lambda r: r.get("family")),
    ("subscription limit", lambda r: number(r.get("subscription_limit") or 0)),
    ("workspace cap", lambda r: "-" if r.get("workspace_limit") is None else number(r["workspace_limit"])),
    ("in use (subscription)", lambda r: number(r.get("subscription_in_use") or 0)),
    ("in use (workspace)", lambda r: "-" if r.get("_spot") else number(r.get("workspace_in_use") or 0)),
    ("free", lambda r: number(quota_free(r))),
    ("queued", queued),
]


def spot_row(quotas: dict) -> dict:
    """The shared Spot pool as a quota row (subscription level only: it has no workspace cap)."""
    spot = quotas.get("spot") or {}
    return {"family": SPOT_LABEL, "subscription_limit": spot.get("limit"), "workspace_limit": None,
            "subscription_in_use": spot.get("in_use"), "queued_vcpus": spot.get("queued_vcpus"),
            "queued_jobs": spot.get("queued_jobs"), "_spot": True}


def quota_rows(quotas: dict, *, everything: bool = False) -> list[dict]:
    """Families with some quota or use (every family with ``everything``), then the Spot pool."""
    families = [r for r in quotas.get("families") or [] if everything or quota_row_shown(r)]
    return [*families, spot_row(quotas)]


def quota_table(quotas: dict, rows: Sequence[dict]) -> str:
    heading = f"vCPU quota of subscription {quotas.get('subscription') or '?'}"
    if quotas.get("workspace"):
        heading += f", workspace {quotas['workspace']}"
    return heading + "\n" + table(rows, QUOTA_COLUMNS)


def _vcpus_by_family(row: dict) -> str:
    used = {k: v for k, v in (row.get("vcpus_in_use") or {}).items() if v}
    return ", ".join(f"{family}: {number(v)}" for family, v in sorted(used.items())) or "0"


USAGE_COLUMNS: list[Column] = [
    ("compute", lambda r: r.get("compute")),
    ("kind", lambda r: r.get("kind")),
    ("nodes in use", lambda r: number(r.get("nodes_in_use") or 0)),
    ("vcpus in use", _vcpus_by_family),
    ("running jobs", lambda r: number(r.get("running_jobs") or 0)),
    ("vcpu-hours", lambda r: money(r.get("vcpu_hours") or 0)),
    ("cost (usd)", lambda r: money(r.get("cost_usd") or 0)),
]


def usage_table(rows: Sequence[dict]) -> str:
    """Serverless first (always present, as a compute beside the named clusters), then the clusters."""
    serverless = [r for r in rows if r.get("kind") == "serverless" or r.get("compute") == "Serverless"]
    others = [r for r in rows if r not in serverless]
    if not serverless:
        serverless = [{"compute": "Serverless", "kind": "serverless"}]
    return table([*serverless, *others], USAGE_COLUMNS)


def _compute_state(compute: dict) -> str:
    state = compute.get("state") or ""
    if compute.get("scaling_down_until"):
        state += f" until {format_time(compute['scaling_down_until'])}"
    return state


COMPUTE_COLUMNS: list[Column] = [
    ("name", lambda c: c.get("name")),
    ("type", lambda c: c.get("type")),
    ("size", lambda c: c.get("size")),
    ("min", lambda c: c.get("min_instances")),
    ("max", lambda c: c.get("max_instances")),
    ("idle scale-down", lambda c: _seconds(c.get("idle_time_before_scale_down"))),
    ("allocated", lambda c: c.get("allocated_nodes")),
    ("busy", lambda c: c.get("busy_nodes")),
    ("state", _compute_state),
]


def _seconds(value: Any) -> str:
    return "" if value is None else f"{number(value)} s"


def compute_list_table(computes: Sequence[dict]) -> str:
    if not computes:
        return "No computes found (jobs without a compute run on serverless)."
    return table(computes, COMPUTE_COLUMNS)


def compute_detail(compute: dict) -> str:
    return key_values([
        ("Name", compute.get("name")),
        ("Type", compute.get("type")),
        ("Size", compute.get("size")),
        ("Min instances", compute.get("min_instances")),
        ("Max instances", compute.get("max_instances")),
        ("Idle time before scale down", _seconds(compute.get("idle_time_before_scale_down"))),
        ("Allocated nodes", compute.get("allocated_nodes")),
        ("Busy nodes", compute.get("busy_nodes")),
        ("State", _compute_state(compute)),
        ("Created", format_time(compute.get("created_at"))),
    ])


def _gpus(size: dict) -> str:
    count = size.get("gpus") or 0
    return f"{count} x {size['gpu_model']}" if count and size.get("gpu_model") else str(count)


VM_SIZE_COLUMNS: list[Column] = [
    ("name", lambda v: v.get("name")),
    ("family", lambda v: v.get("family")),
    ("vcpus", lambda v: number(v.get("vcpus"))),
    ("memory", lambda v: f"{number(v.get('memory_gib'))} GiB" if v.get("memory_gib") is not None else ""),
    ("gpus", _gpus),
    ("price $/h", lambda v: _price(v.get("price_dedicated"))),
    ("spot $/h", lambda v: _price(v.get("price_spot"))),
    ("instances fit", lambda v: number(v.get("instances_fit"))),
    ("quota free (vcpus)", lambda v: number(v.get("quota_available"))),
]


def _price(value: Any) -> str:
    return "-" if value is None else f"{float(value):.4f}"


def vm_size_table(sizes: Sequence[dict]) -> str:
    return table(sizes, VM_SIZE_COLUMNS) if sizes else "No VM sizes match."


def format_issue(issue: Any, file: str | None = None) -> str:
    """``file:line:col: path: message`` (or ``path (line L, column C): message`` without a file)."""
    if not isinstance(issue, dict):
        return f"{file}: {issue}" if file else str(issue)
    path, line, column = issue.get("path") or "", issue.get("line"), issue.get("column")
    message = issue.get("message") or ""
    if file is not None:
        where = file + (f":{line}" if line else "") + (f":{column}" if line and column else "")
        return f"{where}: {path}: {message}" if path else f"{where}: {message}"
    position = f"line {line}" + (f", column {column}" if column else "") if line else ""
    if path and position:
        return f"{path} ({position}): {message}"
    if path or position:
        return f"{path or position}: {message}"
    return message


def error_body(body: Any) -> dict | None:
    """The server's ``{message, extra: {code, errors, recommendations}}`` as the CLI's error
    object (``{message, code, recommendations, errors}``), or None if the body is not that shape."""
    if not isinstance(body, dict) or not body.get("message"):
        return None
    extra = body.get("extra") if isinstance(body.get("extra"), dict) else {}
    errors, recommendations = extra.get("errors"), extra.get("recommendations")
    return {"message": str(body["message"]), "code": extra.get("code") or None,
            "recommendations": [str(r) for r in recommendations] if isinstance(recommendations, list) else [],
            "errors": errors if isinstance(errors, list) else []}


def error_lines(error: dict) -> str:
    """An error object as a terminal shows it: the message, each field's problem, then what to do."""
    lines = [error["message"]]
    lines.extend(f"  {format_issue(item)}" for item in error.get("errors") or [])
    lines.extend(f"  - {item}" for item in error.get("recommendations") or [])
    return "\n".join(lines)


def validation_lines(result: dict) -> list[str]:
    """One ``studio validate`` result (``ValidationResult.to_dict()``) as text lines."""
    file = result.get("file") or ""
    lines = []
    if result.get("valid"):
        lines.append(f"{file}: valid ({result.get('kind') or 'unknown kind'})")
    else:
        errors = result.get("errors") or []
        lines.extend(format_issue(issue, file) for issue in errors)
        if not errors:
            lines.append(f"{file}: invalid")
    lines.extend(f"warning: {format_issue(w, file)}" for w in result.get("warnings") or [])
    return lines
