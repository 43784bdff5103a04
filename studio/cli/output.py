"""How the CLI shows things: one JSON document for ``--output json``, plain tables otherwise."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence

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


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


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


def job_detail(job: dict, outputs: Sequence[dict] | None = None) -> str:
    instance = job.get("instance_type") or ""
    if instance and job.get("instance_type_reason"):
        instance += f" ({job['instance_type_reason']})"
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
        ("Instance type", instance),
        ("Instance count", job.get("instance_count")),
        ("Pending reason", job.get("pending_reason")),
        ("Queue position", job.get("queue_position")),
        ("Estimated start", format_time(job.get("estimated_start_at"))),
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
    if job.get("events"):
        sections.append("System log\n" + "\n".join(
            f"{format_time(e.get('at'))}  {e.get('message', '')}" for e in job["events"]))
    if outputs:
        sections.append("Outputs\n" + table(outputs, OUTPUT_COLUMNS))
    return "\n\n".join(sections)


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


def error_body_message(body: Any) -> str | None:
    """The server's ``{message, extra: {errors, recommendations}}`` as lines, or None if not that shape."""
    if not isinstance(body, dict) or not body.get("message"):
        return None
    lines = [str(body["message"])]
    extra = body.get("extra") if isinstance(body.get("extra"), dict) else {}
    errors = extra.get("errors") or []
    if isinstance(errors, list) and len(errors) > 0:
        lines.extend(f"  {format_issue(item)}" for item in errors)
    recommendations = extra.get("recommendations") or []
    if isinstance(recommendations, list):
        lines.extend(f"  - {item}" for item in recommendations)
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
