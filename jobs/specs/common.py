"""What every job kind reads the same way: names, compute, the job header, named parts.

- `part(root, key, parse)`: one optional piece (`resources:`, `limits:` ...).
- `named(root, key, parse)`: a mapping of user-chosen names to pieces (`inputs:`, `outputs:` ...);
  `read_ports(root)` reads a job's inputs and outputs, `port_names(root)` only their names.
- `is_serverless(compute)` / `compute_name(compute)`: what a `compute:` value means (pure; the
  wizard and the specs' `ComputeMixin` both use them).
- `JobSpec`: the base of every job kind: the header (`$schema`, `name`, `display_name`,
  `experiment_name`, `description`, `tags`, `properties`, read by `read_header(root)`), `compute`
  and `identity` (read by `read_compute` / `read_identity`), and `to_dict()` / `to_yaml()`.
- `DocumentMixin`: `to_dict()` / `to_yaml()` for the other specs of a whole file.
- `read_job_root(...)`: the start of every `read_*_job`: the empty-document check, the known
  fields and the `type:`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml

from .errors import SpecError, SpecIssue
from .fields import EMPTY, FrozenDict, Issues, Section, Spec, describe
from .parts import IdentitySpec, InputSpec, OutputSpec
from .paths import local_path
from .yaml_loader import join

SERVERLESS = ("serverless", "azureml:serverless")
# Bounds on what every job list shows: names fit their columns, tags and properties stay small.
NAME_LENGTH = 255
DESCRIPTION_LENGTH = 32_768
TAG_LIMITS = (100, 256, 4_096)  # at most 100 entries, names of 256 characters, values of 4,096
HEADER_FIELDS = ("$schema", "type", "name", "display_name", "experiment_name", "description", "tags", "properties")

JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,254}")
IO_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
COMPUTE = re.compile(r"\S+")
COMPUTE_HINT = "write azureml:<cluster-name>, or leave it out"


def is_serverless(compute: str | None) -> bool:
    """No compute, or `azureml:serverless` (any case): the studio picks a VM size and starts nodes."""
    return compute is None or str(compute).strip().lower() in SERVERLESS


def compute_name(compute: str | None) -> str | None:
    """The named cluster (`azureml:cpu-cluster` or an ARM id `.../computes/cpu-cluster` ->
    `cpu-cluster`), or None on serverless."""
    if is_serverless(compute):
        return None
    name = str(compute).strip().removeprefix("azureml:")
    return name.rsplit("/computes/", 1)[-1]


class ComputeMixin:
    """For specs with a `compute` field (None means serverless)."""

    compute: str | None

    @property
    def is_serverless(self) -> bool:
        """No compute, or `azureml:serverless`: the studio picks a VM size and starts nodes."""
        return is_serverless(self.compute)

    @property
    def compute_name(self) -> str | None:
        """The named cluster (`azureml:cpu-cluster` -> `cpu-cluster`), or None on serverless."""
        return compute_name(self.compute)


class DocumentMixin:
    """`to_dict()` / `to_yaml()` for specs of a whole file (components, assets; jobs: JobSpec)."""

    def to_dict(self) -> dict:
        """Plain JSON-serialisable data in Azure ML YAML shape; unset fields are left out."""
        return self.to_data()

    def to_yaml(self) -> str:
        return dump_yaml(self.to_dict())


@dataclass(frozen=True, kw_only=True)
class JobSpec(DocumentMixin, Spec):
    """What every job kind has: the header at the top of its file, `compute` and `identity`.

    A kind declares `KIND` (its `type:`), `FIELDS` (its other fields, in the order its files
    list them: with HEADER_FIELDS, the fields `read_job_root` accepts) and `LEAD` (those of
    FIELDS that `to_dict()` writes before the header). `to_dict()` writes LEAD, the header, the
    rest of FIELDS, then `type: <KIND>`.
    """

    schema: str | None = None
    name: str | None = None
    display_name: str | None = None
    experiment_name: str | None = None
    description: str | None = None
    tags: FrozenDict = EMPTY
    properties: FrozenDict = EMPTY
    compute: str | None = None
    identity: IdentitySpec | None = None

    KEYS: ClassVar[Mapping[str, str]] = {"schema": "$schema"}
    KIND: ClassVar[str]
    FIELDS: ClassVar[tuple[str, ...]] = ()
    LEAD: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def field_order(cls) -> tuple[str, ...]:
        header = tuple(key for key in HEADER_FIELDS if key != "type")
        return (*cls.LEAD, *header, *(key for key in cls.FIELDS if key not in cls.LEAD))

    def to_dict(self) -> dict:
        return {**self.to_data(), "type": self.KIND}


def part(root: Section, key: str, parse: Callable[[Any, str, Any], Any]) -> Any:
    """The piece at `key` read with `parse(issues, path, value)`, or None when absent."""
    value = root.data.get(key)
    return None if value is None else parse(root.issues, root.at(key), value)


def names(value: Any) -> list[str]:
    """The keys of a mapping as text (empty for anything else)."""
    return [str(name) for name in value] if isinstance(value, Mapping) else []


def port_names(root: Section) -> dict:
    """The names declared under `inputs:` and `outputs:`, as keyword arguments."""
    return dict(inputs=names(root.data.get("inputs")), outputs=names(root.data.get("outputs")))


def named(
    root: Section,
    key: str,
    parse: Callable[[Any, str, Any], Any],
    *,
    name_pattern: re.Pattern | None = IO_NAME,
) -> FrozenDict:
    """A mapping of user-chosen names to parts (inputs, outputs, services)."""
    value = root.mapping(key, expected=f"a mapping of names to {key}")
    if value is None:
        return EMPTY
    parts = {}
    for name, item in value.items():
        path = join(root.at(key), name)
        if name_pattern is not None and not name_pattern.fullmatch(str(name)):
            root.issues.error(
                path,
                f"'{name}' is not a valid name; use letters, digits and '_', starting with a letter or '_'",
                key=True,
            )
        part_ = parse(root.issues, path, item)
        if part_ is not None:
            parts[str(name)] = part_
    return FrozenDict(parts)


def read_ports(root: Section) -> dict:
    """A job's `inputs:` and `outputs:` (names to InputSpec / OutputSpec), as keyword arguments."""
    return dict(inputs=named(root, "inputs", InputSpec.parse), outputs=named(root, "outputs", OutputSpec.parse))


def check_type(root: Section, expected: str | tuple[str, ...], *, what: str) -> None:
    """Report a `type:` other than `expected` (a missing type is fine: the kind is known)."""
    allowed = (expected,) if isinstance(expected, str) else expected
    type_ = root.data.get("type")
    if type_ is not None and (not isinstance(type_, str) or type_.strip().lower() not in allowed):
        root.error("type", f"expected `type: {allowed[0]}` for {what}, got {describe(type_)}")


def read_job_root(issues: Issues, data: Any, spec: type[JobSpec], *, what: str, needs: str) -> Section | None:
    """The top-level mapping of a file of the job kind `spec`, or None when unusable (an empty
    document: "{what} needs {needs}"). Its fields are HEADER_FIELDS and `spec.FIELDS`; a `type:`
    must be `spec.KIND`."""
    if data is None:
        issues.error("", f"the document is empty; {what} needs {needs}")
        return None
    root = Section.read(issues, "", data, (*HEADER_FIELDS, *spec.FIELDS), example=f"type: {spec.KIND}")
    if root is not None:
        check_type(root, spec.KIND, what=what)
    return root


def read_header(root: Section) -> dict:
    """The fields at the top of every job file, as keyword arguments for the spec."""
    return dict(
        schema=root.text("$schema"),
        name=root.text("name", pattern=JOB_NAME, hint="job names use letters, digits, '-' and '_' (up to 255)"),
        display_name=root.text("display_name", max_length=NAME_LENGTH),
        experiment_name=root.text("experiment_name", max_length=NAME_LENGTH),
        description=root.text("description", max_length=DESCRIPTION_LENGTH),
        tags=root.text_map("tags", allow_null=True, limits=TAG_LIMITS),
        properties=root.text_map("properties", allow_null=True, limits=TAG_LIMITS),
    )


def read_compute(root: Section) -> str | None:
    return root.text("compute", pattern=COMPUTE, hint=COMPUTE_HINT, max_length=NAME_LENGTH)


def read_identity(root: Section) -> IdentitySpec | None:
    return part(root, "identity", IdentitySpec.parse)


class _Dumper(yaml.SafeDumper):
    """Writes multi-line text (commands, descriptions) as `|` blocks."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    if any(char in text for char in "\x85\u2028\u2029"):
        style = '"'  # Unicode line breaks survive only when escaped
    else:
        style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)


def dump_yaml(data: Any) -> str:
    """Plain data as block YAML, keys in the given order."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000)


def warn_missing(issues: Issues, base_dir: Path, found: Sequence[tuple[str, str | None]]) -> None:
    """Warn about local paths that do not exist (a missing folder does not make a file invalid)."""
    for path, value in found:
        target = local_path(base_dir, value) if isinstance(value, str) and value else None
        if target is not None and not target.exists():
            issues.warn(path, f"{value!r} does not exist (looked for {target}); create it or fix the path")


def read_text(path: Path, max_bytes: int) -> str:
    """A file's text, refusing folders, missing files, oversized, binary and non-UTF-8 files."""

    def fail(message: str) -> SpecError:
        return SpecError([SpecIssue("", message, None, None, str(path))])

    if path.is_dir():
        raise fail("is a folder; give the path of a YAML file")
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise fail("file not found") from None
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise fail(f"file is larger than {max_bytes:,} bytes; job files are small, so check this is the right file")
    if b"\0" in raw:
        raise fail("is a binary file, not YAML text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line, column = before.count(b"\n") + 1, exc.start - before.rfind(b"\n")
        message = f"is not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded; save the file as UTF-8"
        raise SpecError([SpecIssue("", message, line, column, str(path))]) from None
