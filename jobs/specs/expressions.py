"""`${{...}}` references in commands, and their substitution at run time.

A command may use `${{inputs.<name>}}` and `${{outputs.<name>}}`, and optional blocks
`$[[ ... ]]` that are kept (without the brackets) only when every input they use has a value.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from .errors import SpecError, SpecIssue
from .fields import Issues, one_of, suggest

REFERENCE = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.DOTALL)
OPTIONAL_BLOCK = re.compile(r"\$\[\[(.*?)\]\]", re.DOTALL)
_NAMED = re.compile(r"(inputs|outputs)\.([A-Za-z_][A-Za-z0-9_]*)")
_NAMESPACES = ("inputs", "outputs")


def ref(expression: str) -> str:
    """`ref("inputs.x")` -> `${{inputs.x}}`, for messages."""
    return "${{" + expression + "}}"


def references(command: str) -> list[str]:
    """Every `${{...}}` expression in `command`, without the braces, in order."""
    return REFERENCE.findall(command)


def check_command(
    issues: Issues, path: str, command: str, *, inputs: Collection[str], outputs: Collection[str]
) -> None:
    """Report references to undeclared inputs/outputs and expressions a command job cannot use."""
    declared = {"inputs": inputs, "outputs": outputs}
    if command.count("${{") > len(references(command)):
        issues.error(path, "a '${{' is not closed; write references as ${{inputs.<name>}}")
    for expression in dict.fromkeys(references(command)):
        named = _NAMED.fullmatch(expression)
        if named:
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
            guess = suggest(namespace, _NAMESPACES)
            hint = f"did you mean {ref(guess + '.<name>')}? " if guess and guess != namespace else ""
            issues.error(
                path,
                f"unknown reference {ref(expression)}; {hint}a command job can use "
                "${{inputs.<name>}} and ${{outputs.<name>}}",
            )


def _undeclared(namespace: str, name: str, declared: Collection[str]) -> str:
    singular = namespace[:-1]
    message = f"{ref(namespace + '.' + name)} refers to an {singular} that is not declared under {namespace}:"
    guess = suggest(name, declared)
    if guess:
        return f"{message}; did you mean {ref(namespace + '.' + guess)}?"
    if declared:
        return f"{message}; declared {namespace}: {one_of(sorted(declared))}"
    return f"{message}; add it under {namespace}: or remove the reference"


def resolve_command(spec: Any, *, inputs: Mapping[str, str], outputs: Mapping[str, str]) -> str:
    """The spec's command with references replaced by the given values (inserted as is).

    An optional block `$[[ ... ]]` is kept when every input and output it refers to has a value
    and dropped otherwise. A reference outside such a block with no value raises SpecError.
    """
    values = {"inputs": inputs, "outputs": outputs}

    def available(expression: str) -> bool:
        named = _NAMED.fullmatch(expression)
        return bool(named) and named.group(2) in values[named.group(1)]

    def substitute(match: re.Match) -> str:
        expression = match.group(1)
        if not available(expression):
            raise SpecError([SpecIssue("command", f"no value was given for {ref(expression)}")])
        namespace, name = _NAMED.fullmatch(expression).groups()
        return str(values[namespace][name])

    def optional(match: re.Match) -> str:
        body = match.group(1)
        return REFERENCE.sub(substitute, body) if all(map(available, references(body))) else ""

    return REFERENCE.sub(substitute, OPTIONAL_BLOCK.sub(optional, spec.command))
