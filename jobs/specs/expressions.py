"""`${{...}}` references in commands, and their substitution at run time.

A command may use `${{inputs.<name>}}` and `${{outputs.<name>}}`, and optional blocks
`$[[ ... ]]` that are kept (without the brackets) only when every input they use has a value.
A sweep trial's command may also use `${{search_space.<name>}}` (or the legacy
`{search_space.<name>}`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from .errors import SpecError, SpecIssue
from .fields import Issues, one_of, suggest

REFERENCE = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.DOTALL)
OPTIONAL_BLOCK = re.compile(r"\$\[\[(.*?)\]\]", re.DOTALL)
# The form sweep trials used before ${{...}}: `--lr {search_space.lr}` (not part of `${{...}}`).
LEGACY_SEARCH = re.compile(r"(?<![{$])\{\s*(search_space\.[A-Za-z_][A-Za-z0-9_]*)\s*\}(?!\})")
_EITHER = re.compile(f"{REFERENCE.pattern}|{LEGACY_SEARCH.pattern}", re.DOTALL)
_NAMED = re.compile(r"(inputs|outputs|search_space)\.([A-Za-z_][A-Za-z0-9_]*)")
_NAMESPACES = ("inputs", "outputs")
_WHAT = {"inputs": "an input", "outputs": "an output", "search_space": "a parameter"}


def ref(expression: str) -> str:
    """`ref("inputs.x")` -> `${{inputs.x}}`, for messages."""
    return "${{" + expression + "}}"


def references(command: str) -> list[str]:
    """Every `${{...}}` expression in `command`, without the braces, in order."""
    return REFERENCE.findall(command)


def legacy_references(command: str) -> list[str]:
    """Every legacy `{search_space.<name>}` in `command`, without the braces, in order."""
    return LEGACY_SEARCH.findall(command)


def check_command(
    issues: Issues,
    path: str,
    command: str,
    *,
    inputs: Collection[str],
    outputs: Collection[str],
    search_space: Collection[str] | None = None,
    optional_inputs: Collection[str] = (),
) -> None:
    """Report references to undeclared inputs/outputs and expressions a command cannot use.

    With `search_space` (a sweep trial's command), `${{search_space.<name>}}` and the legacy
    `{search_space.<name>}` must name declared parameters. Inputs in `optional_inputs` used
    outside an optional block `$[[ ... ]]` get a warning: without a value the command breaks.
    """
    declared = {"inputs": inputs, "outputs": outputs}
    namespaces = _NAMESPACES
    if search_space is not None:
        declared["search_space"] = search_space
        namespaces = (*_NAMESPACES, "search_space")
    if command.count("${{") > len(references(command)):
        issues.error(path, "a '${{' is not closed; write references as ${{inputs.<name>}}")
    if command.count("$[[") > len(OPTIONAL_BLOCK.findall(command)):
        issues.error(path, "a '$[[' is not closed; write optional parts as $[[--flag ${{inputs.<name>}}]]")
    found = references(command) + (legacy_references(command) if search_space is not None else [])
    for expression in dict.fromkeys(found):
        named = _NAMED.fullmatch(expression)
        if named and named.group(1) in declared:
            namespace, name = named.groups()
            if name not in declared[namespace]:
                issues.error(path, _undeclared(namespace, name, declared[namespace]))
        elif expression.startswith("search_space."):
            issues.error(
                path,
                f"{ref(expression)} only works in a sweep job's trial; in a command job "
                f"declare an input and write {ref('inputs.' + expression.split('.', 1)[1])}",
            )
        else:
            namespace = expression.split(".", 1)[0]
            guess = suggest(namespace, namespaces)
            hint = f"did you mean {ref(guess + '.<name>')}? " if guess and guess != namespace else ""
            shown = [ref(f"{space}.<name>") for space in namespaces]
            usable = ", ".join(shown[:-1]) + f" and {shown[-1]}"
            who = "a sweep trial" if search_space is not None else "a command job"
            issues.error(path, f"unknown reference {ref(expression)}; {hint}{who} can use {usable}")
    outside = OPTIONAL_BLOCK.sub("", command)
    for expression in dict.fromkeys(references(outside)):
        named = _NAMED.fullmatch(expression)
        if named and named.group(1) == "inputs" and named.group(2) in optional_inputs:
            issues.warn(
                path,
                f"input '{named.group(2)}' is optional but {ref(expression)} is used outside $[[ ... ]]; "
                f"write $[[--{named.group(2)} {ref(expression)}]] so the command still works without it",
            )


def _undeclared(namespace: str, name: str, declared: Collection[str]) -> str:
    message = f"{ref(namespace + '.' + name)} refers to {_WHAT[namespace]} that is not declared under {namespace}:"
    guess = suggest(name, declared)
    if guess:
        return f"{message}; did you mean {ref(namespace + '.' + guess)}?"
    if declared:
        return f"{message}; declared {namespace}: {one_of(sorted(declared))}"
    return f"{message}; add it under {namespace}: or remove the reference"


def render(value: Any) -> str:
    """How a value is written into a command: text as is, mappings and lists as JSON."""
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(_plain(value), separators=(",", ":"))
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def substitute(text: str, values: Mapping[str, Mapping[str, Any]], *, path: str = "command") -> str:
    """`text` with `${{<namespace>.<name>}}` replaced by `values[namespace][name]` (see `render`).

    With a `search_space` namespace, legacy `{search_space.<name>}` references are replaced too.
    An optional block `$[[ ... ]]` is kept (without the brackets) when every reference in it has a
    value and dropped otherwise. A reference outside such a block with no value raises SpecError.
    """
    pattern = _EITHER if "search_space" in values else REFERENCE

    def available(expression: str) -> bool:
        named = _NAMED.fullmatch(expression)
        return bool(named) and named.group(2) in values.get(named.group(1), {})

    def replace(match: re.Match) -> str:
        expression = match.group(1) or match.group(2)
        if not available(expression):
            raise SpecError([SpecIssue(path, f"no value was given for {ref(expression)}")])
        namespace, name = _NAMED.fullmatch(expression).groups()
        return render(values[namespace][name])

    def optional(match: re.Match) -> str:
        body = match.group(1)
        found = [found[0] or found[1] for found in pattern.findall(body)] if pattern is _EITHER else references(body)
        return pattern.sub(replace, body) if all(map(available, found)) else ""

    return pattern.sub(replace, OPTIONAL_BLOCK.sub(optional, text))


def resolve_command(spec: Any, *, inputs: Mapping[str, str], outputs: Mapping[str, str]) -> str:
    """The spec's command with references replaced by the given values (inserted as is).

    An optional block `$[[ ... ]]` is kept when every input and output it refers to has a value
    and dropped otherwise. A reference outside such a block with no value raises SpecError.
    """
    return substitute(spec.command, {"inputs": inputs, "outputs": outputs})
