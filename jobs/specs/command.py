"""Command jobs: the `az ml job create --file` YAML with `command:` (and `type: command`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .common import (
    HEADER_FIELDS,
    ComputeMixin,
    JobSpec,
    port_names,
    read_compute,
    read_header,
    read_identity,
    read_ports,
)
from .common import SERVERLESS  # noqa: F401  (importable from here, as before)
from .common import named as _named
from .common import part as _part
from .expressions import check_command
from .fields import EMPTY, FrozenDict, Issues, Section, describe
from .overrides import apply_overrides
from .parts import (
    DistributionSpec,
    EnvironmentSpec,
    LimitsSpec,
    QueueSettingsSpec,
    ResourcesSpec,
    ServiceSpec,
)
from .paths import local_path
from .kinds import detect_kind
from .yaml_loader import MAX_BYTES, parse_yaml


@dataclass(frozen=True)
class CommandJobSpec(ComputeMixin, JobSpec):
    """A validated command job. Build one with `load_command_job` or `CommandJobSpec.from_dict`."""

    command: str
    environment: EnvironmentSpec
    code: str | None = None
    environment_variables: FrozenDict = EMPTY
    inputs: FrozenDict = EMPTY  # name -> InputSpec
    outputs: FrozenDict = EMPTY  # name -> OutputSpec
    is_local: bool | None = None
    resources: ResourcesSpec | None = None
    distribution: DistributionSpec | None = None
    limits: LimitsSpec | None = None
    queue_settings: QueueSettingsSpec | None = None
    services: FrozenDict = EMPTY  # name -> ServiceSpec
    parent_job_name: str | None = None

    KIND: ClassVar[str] = "command"
    FIELDS: ClassVar[tuple[str, ...]] = (
        "code", "command", "environment", "environment_variables", "inputs", "outputs", "compute", "is_local",
        "resources", "distribution", "limits", "queue_settings", "identity", "services", "parent_job_name",
    )

    @classmethod
    def from_dict(cls, data: Mapping) -> CommandJobSpec:
        """Validate plain data (as from JSON or a form) the same way as YAML; raises SpecError."""
        issues = Issues()
        spec = read_command_job(issues, data)
        issues.raise_if_errors()
        return spec

    def to_dict(self) -> dict:
        """Plain JSON-serialisable data in Azure ML YAML shape (in the order of FIELDS, `type`
        after `$schema`); unset fields are left out."""
        data = super().to_dict()
        return {key: data[key] for key in FIELDS if key in data}

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


def load_command_job(
    text: str,
    *,
    source: str = "<string>",
    base_dir: Path | None = None,
    overrides: Sequence[str] = (),
    strict_paths: bool = False,
    max_bytes: int = MAX_BYTES,
) -> CommandJobSpec:
    """Parse command-job YAML (or JSON), apply `--set` overrides, validate; raises SpecError.

    With `base_dir` (the YAML file's folder), local paths are checked: a missing `code` folder
    or input path, or an absolute `code` path, is an error only when `strict_paths` is True.
    `max_bytes` bounds the text and what its aliases expand to.
    """
    data, locations, problems = parse_yaml(text, source=source, max_bytes=max_bytes)
    issues = Issues(source=source, locations=locations)
    issues.errors += problems
    data = apply_overrides(issues, data, overrides)
    kind = detect_kind(data) if isinstance(data, dict) else "unknown"
    if kind not in ("command", "unknown"):
        where = "type" if "type" in data else ""
        what = "a job" if kind in RUNNABLE_LATER else "not a job"
        issues.error(where, f"this is a {kind} file ({what}); `studio validate` checks it, but this studio runs "
                            "command jobs only so far: submit a command job (`command:` with no `type` or "
                            "`type: command`)", key=bool(where))
        issues.raise_if_errors()
    spec = read_command_job(issues, data, base_dir=base_dir, strict_paths=strict_paths)
    issues.raise_if_errors()
    return spec


# The fields of a command job file, in the order to_dict() writes them.
FIELDS = (*HEADER_FIELDS, *CommandJobSpec.FIELDS)
RUNNABLE_LATER = frozenset({"sweep", "pipeline", "automl", "spark", "parallel"})


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
        check_command(issues, "command", command, **port_names(root))
    spec = CommandJobSpec(
        command=command or "",
        environment=_part(root, "environment", EnvironmentSpec.parse) or EnvironmentSpec(),
        **read_header(root),
        code=root.text("code"),
        environment_variables=root.text_map("environment_variables"),
        **read_ports(root),
        compute=read_compute(root),
        is_local=root.boolean("is_local"),
        resources=_part(root, "resources", ResourcesSpec.parse),
        distribution=_part(root, "distribution", DistributionSpec.parse),
        limits=_part(root, "limits", LimitsSpec.parse),
        queue_settings=_part(root, "queue_settings", QueueSettingsSpec.parse),
        identity=read_identity(root),
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
