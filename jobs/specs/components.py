"""Components: reusable, typed job definitions (`command`, `pipeline`, `spark`, `parallel`) that
pipeline steps and sweep trials use, written in their own YAML file or registered in Azure ML.

- `ComponentInputSpec` / `ComponentOutputSpec`: declared, typed ports (with defaults, `optional`,
  `min`/`max`/`enum` for literals).
- `CommandComponentSpec`, `SparkComponentSpec`, `ParallelComponentSpec`; the pipeline component
  (`pipeline.PipelineComponentSpec`) holds steps, which name components, so it lives above this
  module, beside the pipeline job.
- `resolve_component(...)`: what a step's `component:` (or a sweep's `trial:`) names: a local
  component file, loaded and checked relative to the file that names it (a missing file is an
  error, as Azure ML refuses such pipelines), or a registered component (`azureml:name:version`,
  `azureml:name@latest`, `azureml://registries/...`), checked for form only, with a warning.
  It reads the file with the component classes of the reading `Context` (every type: see
  `loading.reading_context`).

A component loaded from a pipeline is *anonymous* in Azure ML: its `name` is not registered, so
the name rule (lower-case letters, digits, `_`) and unknown fields are only warnings there; both
are errors when the component file itself is validated (`az ml component create`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .common import DocumentMixin, named, part, port_names, read_text, warn_missing
from .errors import SpecError
from .expressions import check_command
from .fields import EMPTY, FrozenDict, Issues, Scalar, Section, Spec, describe, is_integer, is_number, one_of
from .parallel import ParallelFields, read_parallel_fields
from .parts import (
    DATA_TYPES,
    INPUT_MODES,
    LITERAL_TYPES,
    OUTPUT_MODES,
    DistributionSpec,
    EnvironmentSpec,
    ResourcesSpec,
)
from .paths import is_remote, local_path
from .spark import SPARK_FIELDS, SparkFields, check_direct_modes, read_spark_fields
from .yaml_loader import MAX_BYTES, parse_yaml

COMPONENT_NAME = re.compile(r"[a-z][a-z0-9_]{0,254}")
PORT_TYPES = {**DATA_TYPES, "path": "path"}
COMPONENT_FIELDS = ("$schema", "type", "name", "version", "display_name", "description", "tags", "is_deterministic",
                    "inputs", "outputs")
MAX_NESTING = 20  # component files naming component files

_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"
REGISTERED_COMPONENT = re.compile(
    "|".join(
        [
            rf"azureml:{_NAME}(:{_NAME}|@{_NAME})?",  # azureml:name:1, azureml:name@latest, azureml:name
            rf"azureml://registries/{_NAME}/components/{_NAME}(/(versions|labels)/{_NAME})?",
            r"azureml:/subscriptions/[^/\s]+/resourceGroups/[^/\s]+/providers/"
            r"Microsoft\.MachineLearningServices/(workspaces|registries)/[^/\s]+/components/[^/\s]+"
            r"(/versions/[^/\s]+)?",  # an ARM id
        ]
    ),
    re.IGNORECASE,
)
_REFERENCE_HINT = (
    "write the path of a component YAML file (relative to this file), azureml:<name>:<version>, "
    "azureml:<name>@latest or azureml://registries/<registry>/components/<name>/versions/<version>"
)
_INPUT_ONLY = {mode: "is an input mode" for mode in INPUT_MODES if mode not in OUTPUT_MODES}
_OUTPUT_ONLY = {mode: "is an output mode" for mode in OUTPUT_MODES if mode not in INPUT_MODES}


def is_registered(reference: str) -> bool:
    """True for `azureml:...` references (registered components), False for local files."""
    return reference.strip().lower().startswith("azureml:")


# Ports ---------------------------------------------------------------------------------------


def _port_literal(section: Section, key: str, type_: str) -> Scalar | None:
    """A literal value for a declared input of `type_`; numbers written as text ("1e-3") count."""
    value = section.data.get(key)
    if value is None:
        return None
    if type_ == "string" and isinstance(value, (str, int, float, bool)):
        return value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    if type_ == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
    if type_ == "integer":
        if is_integer(value):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
    if type_ == "number":
        if is_number(value):
            return value
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    example = {"integer": "5", "number": "0.01", "boolean": "true"}.get(type_, '"text"')
    section.error(key, f"an input of type {type_} needs a value such as `{key}: {example}`, got {describe(value)}")
    return None


@dataclass(frozen=True)
class ComponentInputSpec(Spec):
    """A declared input: a literal (string/integer/number/boolean) or data (uri_folder, ...)."""

    type: str
    default: Scalar | None = None
    optional: bool | None = None
    description: str | None = None
    min: int | float | None = None
    max: int | float | None = None
    enum: tuple[str, ...] = ()
    mode: str | None = None

    EXAMPLE = "name: {type: uri_folder}"

    @property
    def is_literal(self) -> bool:
        return self.type in LITERAL_TYPES

    @property
    def required(self) -> bool:
        """A step must give a value: not optional and no default."""
        return not self.optional and self.default is None

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> ComponentInputSpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        section.required("type", "type: uri_folder (or string, integer, number, boolean, ...)")
        type_ = section.choice("type", {**PORT_TYPES, **LITERAL_TYPES}, what="input type")
        literal = type_ in LITERAL_TYPES
        if literal:
            for key in ("mode",):
                if section.has(key):
                    section.error(key, f"only data inputs (uri_folder, ...) take {key}; {type_} inputs are values")
            if type_ not in ("integer", "number"):
                for key in ("min", "max"):
                    if section.has(key):
                        section.error(key, f"only integer and number inputs take {key}")
            if type_ != "string" and section.has("enum"):
                section.error("enum", "only string inputs take enum")
        elif type_ is not None:
            for key in ("min", "max", "enum"):
                if section.has(key):
                    section.error(key, f"only literal inputs take {key}; {type_} inputs are data")
        low = section.number("min") if type_ in ("integer", "number") else None
        high = section.number("max") if type_ in ("integer", "number") else None
        enum = section.text_list("enum", hint="write for example `enum: [step, time-based]`") if type_ == "string" else ()
        if literal:
            default = _port_literal(section, "default", type_)
        else:
            default = section.text("default")
        if low is not None and high is not None and low > high:
            section.error("min", f"min ({low}) is greater than max ({high}); swap them")
        elif is_number(default) and not isinstance(default, bool):
            if low is not None and default < low:
                section.error("default", f"default {default} is below min ({low})")
            if high is not None and default > high:
                section.error("default", f"default {default} is above max ({high})")
        if enum and default is not None and str(default) not in enum:
            section.error("default", f"default {describe(default)} is not one of enum: {one_of(enum)}")
        return cls(
            type=type_ or "",
            default=default,
            optional=section.boolean("optional"),
            description=section.text("description"),
            min=low,
            max=high,
            enum=enum,
            mode=section.choice("mode", {**INPUT_MODES, "link": "link"}, what="input mode", wrong_side=_OUTPUT_ONLY)
            if not literal
            else None,
        )


@dataclass(frozen=True)
class ComponentOutputSpec(Spec):
    """A declared output: data the component writes (or a literal, for control outputs)."""

    type: str
    mode: str | None = None
    description: str | None = None
    is_control: bool | None = None

    EXAMPLE = "name: {type: uri_folder}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> ComponentOutputSpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        section.required("type", "type: uri_folder")
        type_ = section.choice("type", {**PORT_TYPES, **LITERAL_TYPES}, what="output type")
        if section.has("is_control") and type_ not in LITERAL_TYPES:
            section.error("is_control", "only literal outputs (string, integer, number, boolean) take is_control")
        return cls(
            type=type_ or "",
            mode=section.choice("mode", {**OUTPUT_MODES, "link": "link"}, what="output mode", wrong_side=_INPUT_ONLY),
            description=section.text("description"),
            is_control=section.boolean("is_control"),
        )


# Components ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentSpec(DocumentMixin, Spec):
    """Fields every component has. `inputs` / `outputs` map names to ComponentInput/OutputSpec."""

    type: str = "command"
    name: str | None = None
    version: str | None = None
    display_name: str | None = None
    description: str | None = None
    tags: FrozenDict = EMPTY
    is_deterministic: bool | None = None
    inputs: FrozenDict = EMPTY
    outputs: FrozenDict = EMPTY
    schema: str | None = None

    KEYS: ClassVar[Mapping[str, str]] = {"schema": "$schema"}
    EXAMPLE = "type: command"
    KIND: ClassVar[str] = "component"

    def required_inputs(self) -> list[str]:
        return [name for name, port in self.inputs.items() if port.required]

    def input_defaults(self) -> dict:
        """Declared defaults, for inputs a step leaves out."""
        return {name: port.default for name, port in self.inputs.items() if port.default is not None}

    @classmethod
    def read_fields(cls, root: Section, context: Context) -> dict:
        """The fields of this component type beyond the common ones."""
        return {}

    def local_references(self) -> list[tuple[str, str]]:
        return []


@dataclass(frozen=True)
class CommandComponentSpec(ComponentSpec):
    command: str = ""
    environment: EnvironmentSpec | None = None
    code: str | None = None
    environment_variables: FrozenDict = EMPTY
    resources: ResourcesSpec | None = None
    distribution: DistributionSpec | None = None
    additional_includes: tuple[str, ...] = ()

    @classmethod
    def read_fields(cls, root: Section, context: Context) -> dict:
        root.required("command", "command: python train.py --data ${{inputs.data}}")
        root.required("environment", "environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest")
        command = root.text("command")
        inputs = root.data.get("inputs")
        if command is not None:
            optional = [name for name, port in (inputs.items() if isinstance(inputs, Mapping) else ())
                        if isinstance(port, Mapping) and port.get("optional") is True]
            check_command(root.issues, "command", command, **port_names(root), optional_inputs=optional)
        return dict(
            command=command or "",
            environment=part(root, "environment", EnvironmentSpec.parse),
            code=root.text("code"),
            environment_variables=root.text_map("environment_variables"),
            resources=part(root, "resources", ResourcesSpec.parse),
            distribution=part(root, "distribution", DistributionSpec.parse),
            additional_includes=root.text_list("additional_includes", hint="write a list of paths"),
        )

    def local_references(self) -> list[tuple[str, str]]:
        found = [("code", self.code)]
        env = self.environment
        if env is not None and isinstance(env.conda_file, str):
            found.append(("environment.conda_file", env.conda_file))
        if env is not None and env.build is not None:
            found.append(("environment.build.path", env.build.path))
        return found


@dataclass(frozen=True)
class SparkComponentSpec(SparkFields, ComponentSpec):
    type: str = "spark"

    @classmethod
    def read_fields(cls, root: Section, context: Context) -> dict:
        return read_spark_fields(root, **port_names(root), entry_required=True)

    def local_references(self) -> list[tuple[str, str]]:
        return [("code", self.code)]


@dataclass(frozen=True)
class ParallelComponentSpec(ParallelFields, ComponentSpec):
    type: str = "parallel"

    @classmethod
    def read_fields(cls, root: Section, context: Context) -> dict:
        return read_parallel_fields(root, **port_names(root), task_required=True)

    def local_references(self) -> list[tuple[str, str]]:
        return [("task.code", self.task.code if self.task else None)]


assert set(SPARK_FIELDS) <= set(SparkComponentSpec.yaml_fields())


# Reading -------------------------------------------------------------------------------------


@dataclass
class ComponentFiles:
    """Component files loaded while reading one top-level file: each is read once (`cache`), and
    `stack` holds the files being read, so that files naming each other are caught."""

    cache: dict[Path, tuple[ComponentSpec | None, list, list]] = field(default_factory=dict)
    stack: list[Path] = field(default_factory=list)


@dataclass
class Context:
    """How one file is being read: the component classes by `type:` (`component_types`, given by
    the reader of the whole file, as the pipeline component is defined above this module), where
    relative paths start (`base_dir`, None when unknown) and the component files loaded so far."""

    component_types: Mapping[str, type[ComponentSpec]]
    base_dir: Path | None = None
    files: ComponentFiles = field(default_factory=ComponentFiles)

    def inside(self, folder: Path) -> Context:
        return Context(self.component_types, folder, self.files)


def read_component(issues: Issues, data: Any, context: Context, *, standalone: bool = True) -> ComponentSpec | None:
    """Read a component (None if it is unusable). `standalone`: the file itself is validated, so
    the name rule and unknown fields are errors; otherwise (used from a pipeline) warnings."""
    if data is None:
        issues.error("", "the document is empty; a component needs at least `name:`, `type:` and `command:`")
        return None
    if not isinstance(data, Mapping):
        issues.error("", "expected a mapping (key: value lines) at the top level")
        return None
    type_ = data.get("type", "command")
    key = type_.strip().lower() if isinstance(type_, str) else None
    cls = context.component_types.get(key)
    if cls is None:
        types = one_of(list(context.component_types))
        issues.error("type", f"unknown component type {describe(type_)}; use {types}")
        return None
    root = Section.read(issues, "", data, cls.yaml_fields(), example="type: command", lenient=not standalone)
    name = root.text("name")
    if standalone:
        root.required("name", "name: train_model")
    if name is not None and not COMPONENT_NAME.fullmatch(name):
        message = (
            f"component names use lower-case letters, digits and '_' and start with a letter, got {describe(name)}; "
            f"write for example `name: {_fix_name(name)}`"
        )
        if standalone:
            root.error("name", message)
        else:
            issues.warn("name", f"{message} (ignored here: a component used from a pipeline is anonymous)")
    common = dict(
        name=name,
        version=root.text("version"),
        display_name=root.text("display_name"),
        description=root.text("description"),
        tags=root.text_map("tags", allow_null=True),
        is_deterministic=root.boolean("is_deterministic"),
        inputs=named(root, "inputs", ComponentInputSpec.parse),
        outputs=named(root, "outputs", ComponentOutputSpec.parse),
        schema=root.text("$schema"),
    )
    spec = cls(type=key, **common, **cls.read_fields(root, context))
    if isinstance(spec, SparkComponentSpec):
        check_direct_modes(issues, spec.inputs, spec.outputs)
    if context.base_dir is not None:
        warn_missing(issues, context.base_dir, spec.local_references())
    return spec


def _fix_name(name: str) -> str:
    fixed = re.sub(r"[^a-z0-9_]", "_", name.lower())
    return fixed if fixed[:1].isalpha() else f"c_{fixed}"


def resolve_component(
    issues: Issues, path: str, value: Any, context: Context, *, expected: Collection[str], what: str
) -> tuple[str | None, ComponentSpec | None]:
    """What `value` (a step's `component:` or a sweep's `trial:`) names: (reference, loaded spec).

    A registered component gives (reference, None) and a warning; a local file is loaded and
    checked (its problems are reported at `path`); a missing file is an error.
    """
    if not isinstance(value, str) or not value.strip():
        issues.error(path, f"expected a component reference, got {describe(value)}; {_REFERENCE_HINT}")
        return None, None
    reference = value.strip()
    if is_registered(reference):
        if not REGISTERED_COMPONENT.fullmatch(reference):
            issues.error(path, f"{describe(reference)} is not a component reference; {_REFERENCE_HINT}")
            return None, None
        issues.warn(
            path,
            f"registered component {reference} cannot be checked offline; its inputs and outputs are "
            "taken on trust until submission",
        )
        return reference, None
    if is_remote(reference):
        issues.error(path, f"{describe(reference)} cannot be used as a component; {_REFERENCE_HINT}")
        return None, None
    if context.base_dir is None:
        issues.warn(path, f"component file {reference!r} was not checked (the folder of this file is unknown)")
        return reference, None
    target = local_path(context.base_dir, reference)
    if target is None or not target.is_file():
        issues.error(
            path,
            f"component file {reference!r} not found (looked for {target}); Azure ML refuses a step whose "
            "component it cannot find: fix the path (relative to this file), or name a registered component "
            "as azureml:<name>:<version> or azureml:<name>@latest",
        )
        return reference, None
    spec = _load(issues, path, reference, target, context)
    if spec is not None and spec.type not in expected:
        issues.error(path, f"{reference} is a {spec.type} component; {what} needs a {one_of(list(expected))} component")
    return reference, spec


def _load(issues: Issues, path: str, reference: str, target: Path, context: Context) -> ComponentSpec | None:
    files = context.files
    if target in files.stack or len(files.stack) >= MAX_NESTING:
        chain = " → ".join(str(item) for item in [*files.stack, target])
        issues.error(path, f"component files name each other in a loop or too deeply: {chain}")
        return None
    if target not in files.cache:
        nested = Issues(source=str(target))
        spec = None
        files.stack.append(target)
        try:
            data, nested.locations, problems = parse_yaml(read_text(target, MAX_BYTES), source=str(target))
            nested.errors += problems
            spec = read_component(nested, data, context.inside(target.parent), standalone=False)
        except SpecError as exc:
            nested.errors += exc.issues
        finally:
            files.stack.pop()
        files.cache[target] = (None if nested.errors else spec, nested.errors, nested.warnings)
    spec, errors, warnings = files.cache[target]
    for problem in errors:
        issues.error(path, f"component file {reference} is not valid: {problem}")
    for problem in warnings:
        issues.warn(path, f"in component file {reference}: {problem}")
    return spec
