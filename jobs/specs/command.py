"""Command jobs: the `az ml job create --file` YAML with `command:` (and `type: command`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml

from .expressions import check_command
from .fields import EMPTY, FrozenDict, Issues, Section, Spec, describe
from .overrides import apply_overrides
from .parts import (
    DistributionSpec,
    EnvironmentSpec,
    IdentitySpec,
    InputSpec,
    LimitsSpec,
    OutputSpec,
    QueueSettingsSpec,
    ResourcesSpec,
    ServiceSpec,
)
from .paths import local_path
from .yaml_loader import MAX_BYTES, join, parse_yaml

# In the order to_dict() writes them.
FIELDS = (
    "$schema", "type", "name", "display_name", "experiment_name", "description", "tags",
    "properties", "code", "command", "environment", "environment_variables", "inputs",
    "outputs", "compute", "is_local", "resources", "distribution", "limits", "queue_settings",
    "identity", "services", "parent_job_name",
)
SERVERLESS = ("serverless", "azureml:serverless")

_JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,254}")
_IO_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMPUTE = re.compile(r"\S+")


@dataclass(frozen=True)
class CommandJobSpec(Spec):
    """A validated command job. Build one with `load_command_job` or `CommandJobSpec.from_dict`."""

    command: str
    environment: EnvironmentSpec
    schema: str | None = None
    name: str | None = None
    display_name: str | None = None
    experiment_name: str | None = None
    description: str | None = None
    tags: FrozenDict = EMPTY
    properties: FrozenDict = EMPTY
    code: str | None = None
    environment_variables: FrozenDict = EMPTY
    inputs: FrozenDict = EMPTY  # name -> InputSpec
    outputs: FrozenDict = EMPTY  # name -> OutputSpec
    compute: str | None = None
    is_local: bool | None = None
    resources: ResourcesSpec | None = None
    distribution: DistributionSpec | None = None
    limits: LimitsSpec | None = None
    queue_settings: QueueSettingsSpec | None = None
    identity: IdentitySpec | None = None
    services: FrozenDict = EMPTY  # name -> ServiceSpec
    parent_job_name: str | None = None

    KEYS: ClassVar[Mapping[str, str]] = {"schema": "$schema"}

    @property
    def is_serverless(self) -> bool:
        """No compute, or `azureml:serverless`: the studio picks a VM size and starts nodes."""
        return self.compute is None or self.compute.strip().lower() in SERVERLESS

    @property
    def compute_name(self) -> str | None:
        """The named cluster (`azureml:cpu-cluster` -> `cpu-cluster`), or None on serverless."""
        if self.is_serverless:
            return None
        name = self.compute.strip().removeprefix("azureml:")
        return name.rsplit("/computes/", 1)[-1] if "/computes/" in name else name

    @classmethod
    def from_dict(cls, data: Mapping) -> CommandJobSpec:
        """Validate plain data (as from JSON or a form) the same way as YAML; raises SpecError."""
        issues = Issues()
        spec = read_command_job(issues, data)
        issues.raise_if_errors()
        return spec

    def to_dict(self) -> dict:
        """Plain JSON-serialisable data in Azure ML YAML shape; unset fields are left out."""
        data = {**self.to_data(), "type": "command"}
        return {key: data[key] for key in FIELDS if key in data}

    def to_yaml(self) -> str:
        return yaml.dump(self.to_dict(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000)

    def local_references(self) -> list[tuple[str, str]]:
        """(field path, value) of every value that may name a file or folder on the user's disk."""
        found = [("code", self.code)]
        env = self.environment
        if env.is_reference and env.reference.lower().startswith("file:"):
            found.append(("environment", env.reference))
        if isinstance(env.conda_file, str):
            found.append(("environment.conda_file", env.conda_file))
        if env.build is not None:
            found.append(("environment.build.path", env.build.path))
        found += [(f"inputs.{name}.path", put.path) for name, put in self.inputs.items() if not put.is_literal]
        return [(path, value) for path, value in found if value]


class _Dumper(yaml.SafeDumper):
    """Writes multi-line text (commands, descriptions) as `|` blocks."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    if any(char in text for char in "\x85\u2028\u2029"):
        style = '"'  # Unicode line breaks survive only when escaped
    else:
        style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)


def load_command_job(
    text: str,
    *,
    source: str = "<string>",
    base_dir: Path | None = None,
    overrides: Sequence[str] = (),
    strict_paths: bool = False,
) -> CommandJobSpec:
    """Parse command-job YAML (or JSON), apply `--set` overrides, validate; raises SpecError.

    With `base_dir` (the YAML file's folder), local paths are checked: a missing `code` folder
    or input path, or an absolute `code` path, is an error only when `strict_paths` is True.
    """
    data, locations, problems = parse_yaml(text, source=source)
    issues = Issues(source=source, locations=locations)
    issues.errors += problems
    data = apply_overrides(issues, data, overrides)
    spec = read_command_job(issues, data, base_dir=base_dir, strict_paths=strict_paths)
    issues.raise_if_errors()
    return spec


def read_command_job(
    issues: Issues, data: Any, *, base_dir: Path | None = None, strict_paths: bool = False
) -> CommandJobSpec | None:
    """Read parsed data into a spec, reporting every problem to `issues` (None if any)."""
    if data is None:
        issues.error("", "the document is empty; a command job needs at least `command:` and `environment:`")
        return None
    root = Section.read(issues, "", data, FIELDS, example="command: python train.py")
    if root is None:
        return None
    type_ = root.data.get("type")
    if type_ is not None and (not isinstance(type_, str) or type_.strip().lower() != "command"):
        root.error("type", f"expected `type: command` (or no type), got {describe(type_)}")
    root.required("command", "command: python train.py")
    root.required("environment", "environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest")

    command = root.text("command")
    if command is not None:
        check_command(
            issues, "command", command, inputs=_names(data.get("inputs")), outputs=_names(data.get("outputs"))
        )
    spec = CommandJobSpec(
        command=command or "",
        environment=_part(root, "environment", EnvironmentSpec.parse) or EnvironmentSpec(),
        schema=root.text("$schema"),
        name=root.text("name", pattern=_JOB_NAME, hint="job names use letters, digits, '-' and '_' (up to 255)"),
        display_name=root.text("display_name"),
        experiment_name=root.text("experiment_name"),
        description=root.text("description"),
        tags=root.text_map("tags", allow_null=True),
        properties=root.text_map("properties", allow_null=True),
        code=root.text("code"),
        environment_variables=root.text_map("environment_variables"),
        inputs=_named(root, "inputs", InputSpec.parse),
        outputs=_named(root, "outputs", OutputSpec.parse),
        compute=root.text("compute", pattern=_COMPUTE, hint="write azureml:<cluster-name>, or leave it out"),
        is_local=root.boolean("is_local"),
        resources=_part(root, "resources", ResourcesSpec.parse),
        distribution=_part(root, "distribution", DistributionSpec.parse),
        limits=_part(root, "limits", LimitsSpec.parse),
        queue_settings=_part(root, "queue_settings", QueueSettingsSpec.parse),
        identity=_part(root, "identity", IdentitySpec.parse),
        services=_named(root, "services", ServiceSpec.parse, name_pattern=None),
        parent_job_name=root.text("parent_job_name"),
    )
    if base_dir is not None:
        check_local_paths(issues, spec, Path(base_dir), strict=strict_paths)
    return None if issues.errors else spec


def check_local_paths(issues: Issues, spec: CommandJobSpec, base_dir: Path, *, strict: bool) -> None:
    """Report local paths that do not exist (errors if strict, warnings otherwise)."""
    report = issues.error if strict else issues.warn
    if spec.code and Path(spec.code).is_absolute():
        report("code", "is an absolute path; write it relative to the job file's folder")
    for path, value in spec.local_references():
        target = local_path(base_dir, value)
        if target is not None and not target.exists():
            report(path, f"{value!r} does not exist (looked for {target}); create it or fix the path")


def _part(root: Section, key: str, parse: Callable[[Issues, str, Any], Any]) -> Any:
    value = root.data.get(key)
    return None if value is None else parse(root.issues, root.at(key), value)


def _names(value: Any) -> list[str]:
    return [str(name) for name in value] if isinstance(value, Mapping) else []


def _named(
    root: Section,
    key: str,
    parse: Callable[[Issues, str, Any], Any],
    *,
    name_pattern: re.Pattern | None = _IO_NAME,
) -> FrozenDict:
    """A mapping of user-chosen names to parts (inputs, outputs, services)."""
    value = root.data.get(key)
    if value is None:
        return EMPTY
    if not isinstance(value, Mapping):
        root.error(key, f"expected a mapping of names to {key}, got {describe(value)}")
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
        part = parse(root.issues, path, item)
        if part is not None:
            parts[str(name)] = part
    return FrozenDict(parts)
