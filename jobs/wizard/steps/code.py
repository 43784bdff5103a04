"""Code, command and inputs: the uploaded code, the command, literal and data inputs, named
outputs, environment variables, the time limit (`limits.timeout`) and the distribution.

The tables of the step are lists of row dicts; a problem on a row's field is on
`<table>.<row>.<field>` (`literals.0.value`, `data.1.file`, `outputs.0.mode`, `env.2.name`).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping, Sequence

from jobs.wizard.flow import (
    LITERAL_TYPES,
    Problem,
    finish,
    integer,
    is_literal_input,
    is_local_data,
    set_field,
    spec_problems,
    text,
)
from jobs.specs import parts
from jobs.specs.parts import literal_type
from studio.humanize import duration, human_size, plural

CODE_FOLDER = "./src"  # what `code:` says for the uploaded code (the YAML's folder for it)
OUTPUT_TYPES = ("uri_folder", "uri_file")
OUTPUT_MODES = tuple(parts.OUTPUT_MODES)
DISTRIBUTION_TYPES = tuple(parts.DISTRIBUTION_TYPES)
DISTRIBUTION_COUNTS = ("process_count_per_instance", "worker_count")
TABLES = ("literals", "data", "outputs", "env")
FIELDS = ("command", "code", "timeout", "distribution_type", *DISTRIBUTION_COUNTS)
TIMEOUT_HINT = "or write it with a unit, e.g. 90 min, 2h 30m or 1 d"


def _literal_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def upload_summary(upload: Mapping) -> str:
    """"3 files, 1.2 KiB" for an uploaded file or folder."""
    return f"{plural(int(upload.get('files') or 0), 'file')}, {human_size(upload.get('bytes') or 0)}"


# Time limit ------------------------------------------------------------------------------------

_UNITS = {"d": 86400, "day": 86400, "days": 86400, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600,
          "hours": 3600, "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "s": 1, "sec": 1,
          "secs": 1, "second": 1, "seconds": 1}
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?\s*[a-z]+[\s,]*)+")


def parse_timeout(value) -> int | str | None:
    """"3600", "90 min", "2h 30m", "1 h 05 min" -> seconds; other text is kept for the spec layer
    to refuse."""
    words = text(value).lower()
    if not words or re.fullmatch(r"[+-]?\d{1,18}", words):
        return integer(words)
    if not _DURATION.fullmatch(words):
        return text(value)
    amounts = _AMOUNT.findall(words)
    if any(unit not in _UNITS for _, unit in amounts):
        return text(value)
    seconds = sum(float(number) * _UNITS[unit] for number, unit in amounts)
    return int(round(seconds)) if math.isclose(seconds, round(seconds)) else text(value)


def timeout_text(seconds) -> str:
    """The time limit as the form shows it: "2 h 30 min" when that says it exactly, else seconds."""
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 10:
        return "" if seconds is None else str(seconds)
    words = duration(seconds)
    return words if parse_timeout(words) == seconds else str(seconds)


# Back: the spec dict -> the form's values ------------------------------------------------------

def _literal_rows(inputs: Mapping) -> list[dict]:
    rows = []
    for name, value in inputs.items():
        if not is_literal_input(value):
            continue
        if isinstance(value, Mapping):
            shown = value.get("value", value.get("default"))
            type_ = str(value.get("type") or literal_type(shown))
        else:
            type_, shown = literal_type(value), value
        rows.append({"name": name, "type": type_, "value": _literal_text(shown)})
    return rows


def _data_rows(inputs: Mapping, uploads: Mapping) -> list[dict]:
    rows = []
    for name, value in inputs.items():
        if is_literal_input(value):
            continue
        upload = uploads.get(name)
        rows.append({"name": name, "original": name, "type": str(value.get("type") or "uri_folder"),
                     "path": str(value.get("path") or ""), "upload": upload, "remote": not is_local_data(value),
                     "summary": upload_summary(upload) if upload else ""})
    return rows


def initial(state: Mapping) -> dict:
    """The command, the rows of every table (data rows with what was uploaded), the time limit and
    the distribution."""
    spec = state["spec"]
    inputs = spec.get("inputs") or {}
    distribution = spec.get("distribution") if isinstance(spec.get("distribution"), Mapping) else {}
    return {
        "command": str(spec.get("command") or ""),
        "literals": _literal_rows(inputs),
        "data": _data_rows(inputs, state.get("data") or {}),
        "outputs": [{"name": name, "type": str((entry or {}).get("type") or "uri_folder"),
                     "mode": str((entry or {}).get("mode") or "")}
                    for name, entry in (spec.get("outputs") or {}).items()],
        "env": [{"name": name, "value": "" if value is None else str(value)}
                for name, value in (spec.get("environment_variables") or {}).items()],
        "timeout": timeout_text((spec.get("limits") or {}).get("timeout")),
        "distribution_type": str(distribution.get("type") or ""),
        **{key: _literal_text(distribution.get(key)) for key in DISTRIBUTION_COUNTS},
        "code": state.get("code"),
    }


def distribution_text(values: Mapping) -> str:
    """"pytorch, 2 processes per node" / "tensorflow, 4 workers" ("" without a distribution)."""
    kind = values.get("distribution_type") or ""
    processes, workers = (values.get(key) for key in DISTRIBUTION_COUNTS)
    counts = [plural(int(processes), "process", "processes") + " per node" if str(processes).isdigit() else "",
              plural(int(workers), "worker") if str(workers).isdigit() else ""]
    return ", ".join(part for part in (kind, *counts) if part)


def review(state: Mapping) -> dict:
    """What the Review page shows of this step."""
    values = initial(state)
    upload = state.get("code")
    timeout = (state["spec"].get("limits") or {}).get("timeout")
    return {**values, "code_summary": upload_summary(upload) if upload else "",
            "distribution": distribution_text(values), "timeout_words": duration(timeout) if timeout else ""}


def input_references(state: Mapping) -> list[str]:
    """`${{inputs.<name>}}` and `${{outputs.<name>}}` of everything declared, for the command's help."""
    spec = state["spec"]
    return ["${{inputs." + name + "}}" for name in (spec.get("inputs") or {})] + \
        ["${{outputs." + name + "}}" for name in (spec.get("outputs") or {})]


# Forth: the form's values -> the spec dict -----------------------------------------------------

def _literal_value(typed: str, type_: str):
    """Form text -> the typed value; text that is not of the type is kept for the spec layer to refuse."""
    typed = typed.strip()
    if not typed:
        return None
    if type_ == "integer" and re.fullmatch(r"[+-]?\d{1,18}", typed):
        return int(typed)
    if type_ == "number":
        if re.fullmatch(r"[+-]?\d{1,18}", typed):
            return int(typed)
        try:
            number = float(typed)
        except ValueError:
            return typed
        return number if math.isfinite(number) else typed
    if type_ == "boolean" and typed.lower() in ("true", "false"):
        return typed.lower() == "true"
    return typed


def data_input(upload: Mapping) -> dict:
    """The spec entry of an uploaded file (uri_file) or folder (uri_folder)."""
    kind = "uri_file" if upload.get("kind") == "file" else "uri_folder"
    return {"type": kind, "path": f"./{upload['path']}"}


class _Table:
    """Named entries read from one table's rows: duplicates refused, each name's row kept so that
    the spec layer's problems land on it."""

    def __init__(self, what: str, problems: list[Problem]):
        self.what = what
        self.entries: dict = {}
        self.rows: dict[str, str] = {}  # name -> "<table>.<row>"
        self.problems = problems

    def declare(self, name: str, entry, row: str) -> bool:
        if name in self.entries:
            self.problems.append(Problem(f"{row}.name", f"'{name}' is declared twice; give each {self.what} its own "
                                                         "name"))
            return False
        self.entries[name] = entry
        self.rows[name] = row
        return True

    def named(self, row: str, name: str) -> bool:
        if not name:
            self.problems.append(Problem(f"{row}.name", f"give this {self.what} a name"))
        return bool(name)


def _inputs(state: Mapping, spec: dict, values: Mapping, problems: list[Problem]) -> tuple[_Table, dict]:
    """The literal rows and the data rows -> `inputs:`, and the uploads they keep."""
    table = _Table("input", problems)
    uploads = dict(state.get("data") or {})
    for index, row in enumerate(values.get("literals") or []):
        name, typed = text(row.get("name")), row.get("value") or ""
        type_ = text(row.get("type")) or "string"
        if (not name and not typed.strip()) or not table.named(f"literals.{index}", name):
            continue
        if type_ not in LITERAL_TYPES:
            problems.append(Problem(f"literals.{index}.type", f"choose one of {', '.join(LITERAL_TYPES)}"))
            continue
        entry = {"type": type_}
        value = _literal_value(typed, type_) if type_ != "string" else (typed if typed.strip() else None)
        if value is not None:
            entry["value"] = value
        table.declare(name, entry, f"literals.{index}")

    data_rows = list(values.get("data") or [])
    originals = {text(row.get("original")): (index, row) for index, row in enumerate(data_rows)
                 if text(row.get("original"))}
    for name, entry in (spec.get("inputs") or {}).items():
        if is_literal_input(entry):
            continue  # literal inputs are what the literal rows say
        index, row = originals.get(name, (None, {}))
        if row.get("remove"):
            uploads.pop(name, None)
            continue
        if row.get("upload"):
            entry = data_input(row["upload"])
            uploads[name] = dict(row["upload"])
        table.declare(name, entry, f"data.{index}" if index is not None else "data")
    for index, row in enumerate(data_rows):
        name, upload = text(row.get("name")), row.get("upload")
        if text(row.get("original")) or (not name and not upload) or not table.named(f"data.{index}", name):
            continue
        if not upload:
            problems.append(Problem(f"data.{index}.file", "choose the file (or a .zip / .tar.gz of a folder) for "
                                                          "this input"))
        elif table.declare(name, data_input(upload), f"data.{index}"):
            uploads[name] = dict(upload)

    uploads = {name: upload for name, upload in uploads.items() if is_local_data(table.entries.get(name))}
    for name, entry in table.entries.items():
        if is_local_data(entry) and name not in uploads:
            problems.append(Problem(f"{table.rows[name]}.file", f"the data of input '{name}' ({entry['path']}) was "
                                                                "not cloned: choose the file again, or remove the "
                                                                "input", f"inputs.{name}"))
    return table, uploads


def _outputs(spec: Mapping, rows: Sequence[Mapping], problems: list[Problem]) -> _Table:
    """Output rows -> `outputs:`; what the form does not show of an output (its path, ...) is kept."""
    table = _Table("output", problems)
    before = spec.get("outputs") or {}
    for index, row in enumerate(rows):
        name, mode = text(row.get("name")), text(row.get("mode"))
        if (not name and not mode) or not table.named(f"outputs.{index}", name):
            continue
        entry = dict(before.get(name) or {}) if isinstance(before.get(name) or {}, Mapping) else {}
        entry["type"] = text(row.get("type")) or "uri_folder"
        set_field(entry, "mode", mode)
        table.declare(name, entry, f"outputs.{index}")
    return table


def _variables(rows: Sequence[Mapping], problems: list[Problem]) -> _Table:
    """Name/value rows -> `environment_variables:` (a value may be empty)."""
    table = _Table("variable", problems)
    for index, row in enumerate(rows):
        name, value = text(row.get("name")), row.get("value") or ""
        if (not name and not value.strip()) or not table.named(f"env.{index}", name):
            continue
        if re.search(r"[\s=]", name):
            problems.append(Problem(f"env.{index}.name", f"'{name}' cannot name an environment variable: leave out "
                                                         "spaces and '='; for example MY_SETTING"))
            continue
        table.declare(name, value, f"env.{index}")
    return table


def _distribution(spec: Mapping, values: Mapping) -> dict | None:
    """`distribution:` from the type and the counts; fields the form does not show are kept while
    the type stays the same."""
    kind = text(values.get("distribution_type"))
    if not kind:
        return None
    before = spec.get("distribution") if isinstance(spec.get("distribution"), Mapping) else {}
    same = text(before.get("type")).lower() == kind.lower()
    entry = {key: value for key, value in before.items() if same and key not in ("type", *DISTRIBUTION_COUNTS)}
    entry = {"type": kind, **entry}
    for key in DISTRIBUTION_COUNTS:
        set_field(entry, key, integer(values.get(key)))
    return entry


def _field_of(tables: Mapping[str, _Table]):
    """Spec path -> the form field it is about (see the module's docstring)."""
    def field_of(path: str) -> str:
        if path in ("command", "code"):
            return path
        if path.startswith("limits"):
            return "timeout"
        if path.startswith("distribution"):
            sub = path.partition(".")[2]
            if sub in DISTRIBUTION_COUNTS:
                return sub
            return "distribution_type" if sub in ("", "type") else ""
        head, _, rest = path.partition(".")
        table = tables.get(head)
        name = max((n for n in (table.rows if table else ()) if rest == n or rest.startswith(n + ".")),
                   key=len, default=None)
        if name is None:
            return ""
        row, sub = table.rows[name], rest[len(name) + 1:]
        if row.startswith("literals."):
            return f"{row}.{'value' if sub.startswith(('value', 'default')) else 'type' if sub == 'type' else 'name'}"
        if row.startswith("outputs."):
            return f"{row}.{sub if sub in ('type', 'mode') else 'name'}"
        if row.startswith("env."):
            return f"{row}.name"
        return f"{row}.{'name' if not sub else 'file'}"
    return field_of


def apply(state: Mapping, values: Mapping) -> tuple[dict, list[Problem]]:
    """`values`: command; code (a new upload's dict) or remove_code; literals (rows of name, type,
    value); data (rows of name, original (the input the row shows, "" for a new row), upload (a new
    upload's dict), remove); outputs (rows of name, type, mode); env (rows of name, value);
    timeout (seconds, or with a unit); distribution_type, process_count_per_instance and
    worker_count. Of outputs, env, timeout and the distribution, a key left out leaves that part
    of the spec as it is."""
    spec = copy.deepcopy(dict(state["spec"]))
    problems: list[Problem] = []
    set_field(spec, "command", (values.get("command") or "").strip())

    code = state.get("code")
    if values.get("code"):
        code = dict(values["code"])
    elif values.get("remove_code"):
        code = None
    set_field(spec, "code", CODE_FOLDER if code else None)

    inputs, uploads = _inputs(state, spec, values, problems)
    set_field(spec, "inputs", inputs.entries)
    tables = {"inputs": inputs}
    if "outputs" in values:
        tables["outputs"] = _outputs(spec, values["outputs"], problems)
        set_field(spec, "outputs", tables["outputs"].entries)
    if "env" in values:
        tables["environment_variables"] = _variables(values["env"], problems)
        set_field(spec, "environment_variables", tables["environment_variables"].entries)
    timeout = parse_timeout(values["timeout"]) if "timeout" in values else None
    if "timeout" in values:
        limits = dict(spec.get("limits") or {})
        set_field(limits, "timeout", timeout)
        set_field(spec, "limits", limits)
    if "distribution_type" in values:
        set_field(spec, "distribution", _distribution(spec, values))

    for problem in spec_problems(spec, "code", _field_of(tables)):
        if problem.field == "timeout" and isinstance(timeout, str):
            problem = Problem(problem.field, f"{problem.message}; {TIMEOUT_HINT}", problem.path)
        problems.append(problem)
    return finish(state, spec, "code", problems, code=code, data=uploads)
