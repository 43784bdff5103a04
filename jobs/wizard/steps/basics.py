"""Basics: the job's name, display name, experiment, description and tags."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping

from jobs.wizard.flow import Problem, finish, set_field, spec_problems, text, top

FIELDS = ("name", "display_name", "experiment_name", "description", "tags")
_TEXT_FIELDS = FIELDS[:-1]


def initial(state: Mapping) -> dict:
    spec = state["spec"]
    values = {key: str(spec.get(key) or "") for key in _TEXT_FIELDS}
    values["tags"] = tags_text(spec.get("tags"))
    return values


def tags_text(tags: Mapping | None) -> str:
    return "\n".join(f"{key}={'' if value is None else value}" for key, value in (tags or {}).items())


def parse_tags(lines: str) -> tuple[dict, list[Problem]]:
    """`key=value` lines (blank lines ignored) -> tags."""
    tags: dict[str, str] = {}
    problems = []
    for number, line in enumerate((lines or "").splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(Problem("tags", f"line {number}: write key=value, got '{line.strip()}'", "tags"))
        elif key in tags:
            problems.append(Problem("tags", f"line {number}: tag '{key}' is given twice", "tags"))
        else:
            tags[key] = value.strip()
    return tags, problems


def apply(state: Mapping, values: Mapping, *, name_taken: Callable[[str], bool] | None = None
          ) -> tuple[dict, list[Problem]]:
    spec = copy.deepcopy(dict(state["spec"]))
    for key in _TEXT_FIELDS:
        value = values.get(key)
        set_field(spec, key, value.rstrip() if key == "description" and isinstance(value, str) else text(value))
    tags, problems = parse_tags(values.get("tags") or "")
    if not problems:
        set_field(spec, "tags", tags)
    problems += spec_problems(spec, "basics", lambda path: top(path) if top(path) in FIELDS else "")
    name = spec.get("name")
    if name and name_taken and not any(p.field == "name" for p in problems) and name_taken(name):
        problems.append(Problem("name", f"a job named '{name}' already exists; choose another name, "
                                        "or leave it empty for a generated one", "name"))
    return finish(state, spec, "basics", problems)
