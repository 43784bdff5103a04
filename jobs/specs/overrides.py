"""`--set path=value` overrides, applied to the parsed data before validation (as the az CLI does)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import SpecError, SpecIssue
from .fields import Issues, describe
from .yaml_loader import parse_yaml

_NULLS = ("", "~", "null", "Null", "NULL")


def parse_value(raw: str) -> Any:
    """The value of `path=value`: a YAML scalar (`2` -> 2, `true` -> True), else the text as is."""
    try:
        value, _, problems = parse_yaml(raw)
    except SpecError:
        return raw
    if problems or isinstance(value, (dict, list)):
        return raw  # `command=echo a: b` is a command, not a mapping
    if value is None and raw.strip() not in _NULLS:
        return raw  # `#` starts a YAML comment but is ordinary text here
    return value


def _problem(issues: Issues, path: str, message: str) -> SpecIssue:
    return SpecIssue(path, message, None, None, issues.source)  # about the command line, not the file


def apply_overrides(issues: Issues, data: Any, overrides: Sequence[str]) -> Any:
    """Set each dotted `path=value` in `data` (creating mappings on the way); returns the data."""
    for item in overrides:
        path, equals, raw = item.partition("=")
        path = path.strip()
        names = path.split(".")
        if not equals or not all(names):
            message = f"--set {item!r}: expected path=value, for example resources.instance_count=2"
            issues.errors.append(_problem(issues, "", message))
            continue
        if data is None:
            data = {}
        if not isinstance(data, dict):
            continue  # the top level is reported as not a mapping by validation
        target = data
        for depth, name in enumerate(names[:-1]):
            child = target.setdefault(name, {})
            if child is None:
                child = target[name] = {}
            if not isinstance(child, dict):
                prefix = ".".join(names[: depth + 1])
                message = (
                    f"--set {path}: {prefix} is {describe(child)}, not a mapping, so it has no field "
                    f"'{names[depth + 1]}'; set {prefix}=<value> instead"
                )
                issues.errors.append(_problem(issues, prefix, message))
                break
            target = child
        else:
            target[names[-1]] = parse_value(raw)
            issues.locations.replace(path)
    return data


def with_name(overrides: Sequence[str], name: str | None) -> list[str]:
    """``--name N`` (CLI, API body, wizard) is the override ``name=N``, applied last so it wins."""
    return [*overrides, f"name={name}"] if name else list(overrides)
