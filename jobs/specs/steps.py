"""Pipeline steps (`jobs:` of a pipeline job or a pipeline component) and the graph their
bindings make. Both pipeline kinds (`pipeline.py`) read their steps here.

- Steps are `CommandStepSpec`, `SweepStepSpec`, `ParallelStepSpec`, `SparkStepSpec`,
  `PipelineStepSpec`, `AutoMLStepSpec` (or `OtherStepSpec` for import / data_transfer steps).
  A step is written inline or names a component (`component: ./train.yml`, loaded and checked
  relative to the file; or a registered `azureml:name:version`); `step.definition` holds the
  loaded component.
- A step input or output may be a binding (`BindingSpec`): `${{parent.inputs.<name>}}`,
  `${{parent.outputs.<name>}}` or `${{parent.jobs.<step>.outputs.<name>}}`. `read_jobs` checks
  every binding against what is declared; bindings to other steps' outputs give the dependency
  graph: `dependencies_of(steps)` (step -> steps it needs), `order_steps(steps)`, and on the
  pipeline specs `StepsMixin.dependencies` / `steps_in_order()`. A cycle is an error naming it.
- `resolve_step_command(step, inputs=..., outputs=...)`: the command a command step runs.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from .automl import TASKS, AutoMLFields, automl_fields, read_automl_fields
from .common import named, part, port_names, read_compute, read_identity, warn_missing
from .components import ComponentSpec, Context, resolve_component
from .errors import SpecError, SpecIssue
from .expressions import check_command, substitute
from .fields import EMPTY, FrozenDict, Issues, Section, Spec, describe, freeze, hidden, one_of, suggest, thaw
from .parallel import ParallelFields, read_parallel_fields
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
from .spark import SPARK_FIELDS, SparkFields, SparkResourcesSpec, check_direct_modes, read_spark_fields
from .sweep import SweepFields, read_sweep_fields
from .yaml_loader import join

STEP_NAME = re.compile(r"[a-z_][a-z0-9_]{0,254}")
BINDING = re.compile(r"\$\{\{\s*parent\.(.*?)\s*\}\}", re.DOTALL)
_EXACT_BINDING = re.compile(r"\$\{\{\s*(parent\.[^{}]*?)\s*\}\}")
_PARENT_PORT = re.compile(r"(inputs|outputs)\.([A-Za-z_][A-Za-z0-9_]*)")
_STEP_OUTPUT = re.compile(r"jobs\.([A-Za-z_][A-Za-z0-9_]*)\.outputs\.([A-Za-z_][A-Za-z0-9_]*)")
_BINDING_HINT = "write ${{parent.inputs.<name>}}, ${{parent.outputs.<name>}} or ${{parent.jobs.<step>.outputs.<name>}}"


# Bindings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BindingSpec(Spec):
    """A step input or output bound to the pipeline's ports or another step's output."""

    expression: str  # without the braces, e.g. parent.jobs.train.outputs.model

    def to_data(self) -> Any:
        return "${{" + self.expression + "}}"

    @property
    def step(self) -> str | None:
        """The step whose output this binds (`parent.jobs.<step>.outputs.<name>`), else None."""
        match = _STEP_OUTPUT.fullmatch(self.expression.removeprefix("parent."))
        return match.group(1) if match else None

    @property
    def port(self) -> tuple[str, str] | None:
        """("inputs"|"outputs", name) for `parent.inputs.<name>` / `parent.outputs.<name>`."""
        match = _PARENT_PORT.fullmatch(self.expression.removeprefix("parent."))
        return (match.group(1), match.group(2)) if match else None

    @property
    def name(self) -> str:
        return self.expression.rsplit(".", 1)[-1]


def binding_of(value: Any) -> BindingSpec | None:
    """The binding a value is, when it is exactly one `${{parent....}}` expression."""
    if isinstance(value, str):
        match = _EXACT_BINDING.fullmatch(value.strip())
        if match:
            return BindingSpec(match.group(1))
    return None


def read_step_input(issues: Issues, path: str, value: Any) -> InputSpec | BindingSpec | None:
    return binding_of(value) or InputSpec.parse(issues, path, value)


def read_step_output(issues: Issues, path: str, value: Any) -> OutputSpec | BindingSpec | None:
    if isinstance(value, str):
        binding = binding_of(value)
        if binding is not None and binding.port is not None and binding.port[0] == "outputs":
            return binding
        issues.error(path, f"a step output is a mapping such as `{OutputSpec.EXAMPLE}` or a binding to a "
                           f"pipeline output, ${{{{parent.outputs.<name>}}}}; got {describe(value)}")
        return None
    return OutputSpec.parse(issues, path, value)


# Steps ---------------------------------------------------------------------------------------

STEP_COMMON = ("type", "component", "inputs", "outputs", "compute", "display_name", "description", "tags",
               "properties", "identity", "queue_settings")


@dataclass(frozen=True)
class StepSpec(Spec):
    """What every step has. `inputs` / `outputs` map names to InputSpec/OutputSpec or BindingSpec;
    `component` is the reference as written and `definition` the component loaded from a file."""

    type: str = "command"
    component: str | None = None
    inputs: FrozenDict = EMPTY
    outputs: FrozenDict = EMPTY
    compute: str | None = None
    display_name: str | None = None
    description: str | None = None
    tags: FrozenDict = EMPTY
    properties: FrozenDict = EMPTY
    identity: IdentitySpec | None = None
    queue_settings: QueueSettingsSpec | None = None
    definition: ComponentSpec | None = hidden()

    EXAMPLE = "train: {command: python train.py, environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest}"
    COMPONENT_TYPES: ClassVar[tuple[str, ...]] = ("command",)

    @classmethod
    def step_fields(cls, data: Mapping) -> tuple[str, ...]:
        return cls.yaml_fields()

    @classmethod
    def read_fields(cls, root: Section, context: Context, inputs: list[str], outputs: list[str]) -> dict:
        return cls.read_component(root, context, required=True)

    @classmethod
    def read_component(cls, root: Section, context: Context, *, required: bool) -> dict:
        if not root.has("component"):
            if required:
                root.required("component", "component: ./component.yml")
            return {}
        reference, definition = resolve_component(
            root.issues, root.at("component"), root.data["component"], context,
            expected=cls.COMPONENT_TYPES, what=f"a {root.data.get('type', 'command')} step",
        )
        return dict(component=reference, definition=definition)

    def known_outputs(self) -> set[str] | None:
        """The outputs other steps may bind to; None when unknown (a registered component)."""
        if self.component is not None and self.definition is None:
            return None
        return set(self.outputs) | set(self.definition.outputs if self.definition is not None else ())

    def to_dict(self) -> dict:
        return self.to_data()


@dataclass(frozen=True)
class CommandStepSpec(StepSpec):
    """A command step: inline (`command` + `environment`) or a command component."""

    command: str | None = None
    code: str | None = None
    environment: EnvironmentSpec | None = None
    environment_variables: FrozenDict = EMPTY
    resources: ResourcesSpec | None = None
    distribution: DistributionSpec | None = None
    limits: LimitsSpec | None = None
    services: FrozenDict = EMPTY

    @classmethod
    def read_fields(cls, root: Section, context: Context, inputs: list[str], outputs: list[str]) -> dict:
        fields = cls.read_component(root, context, required=False)
        if not root.has("component"):
            root.required("command", "command: python train.py (or component: ./train.yml)")
            root.required("environment", "environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest")
        command = root.text("command")
        if command is not None:
            check_command(root.issues, root.at("command"), command, inputs=inputs, outputs=outputs)
        return dict(
            fields,
            command=command,
            code=root.text("code"),
            environment=part(root, "environment", EnvironmentSpec.parse),
            environment_variables=root.text_map("environment_variables"),
            resources=part(root, "resources", ResourcesSpec.parse),
            distribution=part(root, "distribution", DistributionSpec.parse),
            limits=part(root, "limits", LimitsSpec.parse),
            services=named(root, "services", ServiceSpec.parse, name_pattern=None),
        )

    @property
    def run_command(self) -> str | None:
        """The command this step runs: its own, else its component's (None if registered)."""
        return self.command if self.command is not None else getattr(self.definition, "command", None)


@dataclass(frozen=True)
class SweepStepSpec(SweepFields, StepSpec):
    """A sweep step: `trial` names the command component (or is inline)."""

    resources: ResourcesSpec | None = None

    @classmethod
    def step_fields(cls, data: Mapping) -> tuple[str, ...]:
        return tuple(name for name in cls.yaml_fields() if name != "component")

    @classmethod
    def read_fields(cls, root: Section, context: Context, inputs: list[str], outputs: list[str]) -> dict:
        return dict(
            read_sweep_fields(root, context, inputs=inputs, outputs=outputs),
            resources=part(root, "resources", ResourcesSpec.parse),
        )

    def known_outputs(self) -> set[str] | None:
        trial = self.trial
        if trial is not None and trial.is_reference and trial.definition is None:
            return None
        declared = trial.definition.outputs if trial is not None and trial.definition is not None else ()
        return set(self.outputs) | set(declared)


@dataclass(frozen=True)
class ParallelStepSpec(ParallelFields, StepSpec):
    COMPONENT_TYPES = ("parallel",)

    @classmethod
    def read_fields(cls, root: Section, context: Context, inputs: list[str], outputs: list[str]) -> dict:
        fields = cls.read_component(root, context, required=False)
        inline = not root.has("component")
        return dict(fields, **read_parallel_fields(root, inputs=inputs, outputs=outputs, task_required=inline))


@dataclass(frozen=True)
class SparkStepSpec(SparkFields, StepSpec):
    resources: SparkResourcesSpec | None = None

    COMPONENT_TYPES = ("spark",)
    ORDER = (*STEP_COMMON, *SPARK_FIELDS, "resources")  # a step lists `code` first, Spark jobs `entry`

    @classmethod
    def read_fields(cls, root: Section, context: Context, inputs: list[str], outputs: list[str]) -> dict:
        fields = cls.read_component(root, context, required=False)
        inline = not root.has("component")
        return dict(
            fields,
            **read_spark_fields(root, inputs=inputs, outputs=outputs, entry_required=inline),
            resources=part(root, "resources", SparkResourcesSpec.parse),
        )


@dataclass(frozen=True)
class PipelineStepSpec(StepSpec):
    """A pipeline component run as one step; its own steps inherit this pipeline's compute."""

    COMPONENT_TYPES = ("pipeline",)


@dataclass(frozen=True)
class AutoMLStepSpec(AutoMLFields, StepSpec):
    """An AutoML step (`type: automl`, `task: classification`, ...)."""

    resources: ResourcesSpec | None = None

    @classmethod
    def step_fields(cls, data: Mapping) -> tuple[str, ...]:
        common = tuple(name for name in STEP_COMMON if name != "component")
        return tuple(dict.fromkeys((*common, *automl_fields(None), "resources")))

    @classmethod
    def read_fields(cls, root: Section, context: Context, inputs: list[str], outputs: list[str]) -> dict:
        return read_automl_fields(root, in_pipeline=True, read_data=read_step_input)

    def known_outputs(self) -> set[str] | None:
        return None  # AutoML steps have built-in outputs (best_model, ...)


@dataclass(frozen=True)
class OtherStepSpec(StepSpec):
    """Import and data-transfer steps: read, but their own settings are not checked in detail."""

    settings: FrozenDict = EMPTY

    COMPONENT_TYPES = ("import", "data_transfer")

    @classmethod
    def step_fields(cls, data: Mapping) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*STEP_COMMON, *(str(key) for key in data))))

    @classmethod
    def read_fields(cls, root: Section, context: Context, inputs: list[str], outputs: list[str]) -> dict:
        root.issues.warn(root.path, f"{root.data.get('type')} steps are read but their settings are not checked offline")
        settings = {str(key): freeze(value) for key, value in root.data.items() if key not in STEP_COMMON}
        reference = root.data.get("component")
        return dict(settings=FrozenDict(settings), component=reference if isinstance(reference, str) else None)

    def to_data(self) -> Any:
        data = super().to_data()
        data.update(thaw(data.pop("settings", {})))
        return data

    def known_outputs(self) -> set[str] | None:
        return None


STEP_CLASSES: dict[str, type[StepSpec]] = {
    "command": CommandStepSpec,
    "sweep": SweepStepSpec,
    "parallel": ParallelStepSpec,
    "spark": SparkStepSpec,
    "pipeline": PipelineStepSpec,
    "automl": AutoMLStepSpec,
    "import": OtherStepSpec,
    "data_transfer": OtherStepSpec,
}
assert set(SPARK_FIELDS) <= set(SparkStepSpec.yaml_fields())


def _step_type(value: Mapping) -> Any:
    if "type" in value:
        return value["type"]
    if "trial" in value:
        return "sweep"
    if isinstance(value.get("task"), Mapping):
        return "parallel"
    if "entry" in value:
        return "spark"
    return "command"


def read_step(issues: Issues, path: str, value: Any, context: Context) -> StepSpec | None:
    """Read one step (None when unusable); problems go to `issues`."""
    if not isinstance(value, Mapping):
        issues.error(path, f"expected a mapping describing the step, got {describe(value)}; write for example "
                           "`train: {type: command, component: ./train.yml}`")
        return None
    type_ = _step_type(value)
    key = type_.strip().lower() if isinstance(type_, str) else None
    cls = STEP_CLASSES.get(key)
    if cls is None:
        if key in TASKS:
            issues.error(join(path, "type"), f"'{type_}' is an AutoML task; write `type: automl` and `task: {key}`")
        else:
            guess = suggest(str(type_), STEP_CLASSES)
            fix = f"did you mean '{guess}'? " if guess else ""
            issues.error(join(path, "type"), f"unknown step type {describe(type_)}; {fix}use {one_of(list(STEP_CLASSES))}")
        return None
    root = Section.read(issues, path, value, cls.step_fields(value), example=cls.EXAMPLE)
    step = cls(
        type=key,
        inputs=named(root, "inputs", read_step_input),
        outputs=named(root, "outputs", read_step_output),
        compute=read_compute(root),
        display_name=root.text("display_name"),
        description=root.text("description"),
        tags=root.text_map("tags", allow_null=True),
        properties=root.text_map("properties", allow_null=True),
        identity=read_identity(root),
        queue_settings=part(root, "queue_settings", QueueSettingsSpec.parse),
        **cls.read_fields(root, context, **port_names(root)),
    )
    if isinstance(step, SparkStepSpec):
        check_direct_modes(issues, step.inputs, step.outputs, prefix=f"{path}.")
    _check_ports(root, step)
    if context.base_dir is not None:
        local = [(f"{path}.inputs.{name}.path", getattr(item, "path", None)) for name, item in step.inputs.items()
                 if isinstance(item, InputSpec) and not item.is_literal]
        local.append((f"{path}.code", getattr(step, "code", None)))
        warn_missing(issues, context.base_dir, local)
    return step


def _check_ports(root: Section, step: StepSpec) -> None:
    """Inputs and outputs a step gives its component should be ones the component declares
    (Azure ML ignores the others, so this is a warning)."""
    definition = step.definition
    if definition is None:
        return
    for direction, given, declared in (("inputs", step.inputs, definition.inputs),
                                       ("outputs", step.outputs, definition.outputs)):
        for name in given:
            if name in declared:
                continue
            guess = suggest(name, declared)
            hint = f"did you mean '{guess}'?" if guess else (
                f"it declares {one_of(sorted(declared))}" if declared else f"it declares no {direction}")
            root.issues.warn(
                join(root.at(direction), name),
                f"component {step.component} declares no {direction[:-1]} '{name}', so it is ignored; {hint}",
                key=True,
            )


# The graph -----------------------------------------------------------------------------------


def _strings(value: Any, path: str):
    """Every text value inside `value`, with its field path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, join(path, str(key)))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings(item, join(path, index))


def dependencies_of(steps: Mapping[str, StepSpec]) -> FrozenDict:
    """Step name -> the steps whose outputs it binds (in file order)."""
    result = {}
    for name, step in steps.items():
        found = []
        for _, text in _strings(thaw(step.to_data()), ""):
            for expression in BINDING.findall(text):
                match = _STEP_OUTPUT.fullmatch(expression)
                if match and match.group(1) in steps and match.group(1) not in found:
                    found.append(match.group(1))
        result[name] = tuple(other for other in steps if other in found)
    return FrozenDict(result)


def find_cycle(dependencies: Mapping[str, tuple[str, ...]]) -> list[str] | None:
    """One cycle of steps in the order data flows (each step's outputs are used by the next, the
    last one's by the first), starting with the step written first; None when there is none."""
    state: dict[str, int] = {}  # 1: being visited, 2: done
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for other in dependencies.get(name, ()):
            if state.get(other) == 1:
                return stack[stack.index(other):]
            if other not in state:
                found = visit(other)
                if found:
                    return found
        stack.pop()
        state[name] = 2
        return None

    for name in dependencies:
        if name not in state:
            found = visit(name)
            if found:
                flow = list(reversed(found))  # `found` is in the order steps need each other
                first = min(flow, key=list(dependencies).index)
                return flow[flow.index(first):] + flow[: flow.index(first)]
    return None


def order_steps(steps: Mapping[str, StepSpec]) -> list[str]:
    """Step names so that every step comes after the steps it needs (file order otherwise)."""
    dependencies = dependencies_of(steps)
    done: list[str] = []
    waiting = list(steps)
    while waiting:
        ready = [name for name in waiting if all(other in done for other in dependencies[name])]
        if not ready:
            cycle = find_cycle(dependencies) or waiting
            raise SpecError([SpecIssue("jobs", f"steps depend on each other in a cycle: {' → '.join([*cycle, cycle[0]])}")])
        done.append(ready[0])
        waiting.remove(ready[0])
    return done


def read_jobs(root: Section, context: Context, *, inputs: Collection[str], outputs: Collection[str]) -> FrozenDict:
    """The steps under `jobs:`, with their bindings checked against the declared `inputs` and
    `outputs` of the pipeline (or pipeline component) and against each other, and no cycles."""
    value = root.data.get("jobs")
    if value is None:
        root.required("jobs", "jobs: {train: {command: python train.py, environment: azureml:env@latest}}")
        return EMPTY
    if not isinstance(value, Mapping) or not value:
        root.error("jobs", f"a pipeline needs at least one step under jobs:, got {describe(value)}")
        return EMPTY
    steps = {}
    for name, item in value.items():
        path = join(root.at("jobs"), str(name))
        if not STEP_NAME.fullmatch(str(name)):
            root.issues.error(
                path,
                f"'{name}' is not a valid step name; use lower-case letters, digits and '_', "
                "starting with a letter or '_'",
                key=True,
            )
        step = read_step(root.issues, path, item, context)
        if step is not None:
            steps[str(name)] = step
    _check_bindings(root, value, steps, inputs=inputs, outputs=outputs)
    cycle = find_cycle(dependencies_of(steps))
    if cycle:
        chain = " → ".join([*cycle, cycle[0]])
        root.issues.error(
            join(root.at("jobs"), cycle[0]),
            f"steps depend on each other in a cycle: {chain}; a step can only use outputs of steps that run before it",
        )
    return FrozenDict(steps)


def _check_bindings(
    root: Section, raw: Mapping, steps: Mapping[str, StepSpec], *, inputs: Collection[str], outputs: Collection[str]
) -> None:
    issues = root.issues
    declared = {"inputs": list(inputs), "outputs": list(outputs)}
    for name, item in raw.items():
        step_path = join(root.at("jobs"), str(name))
        for path, text in _strings(item, step_path):
            for expression in dict.fromkeys(BINDING.findall(text)):
                shown = "${{parent." + expression + "}}"
                port = _PARENT_PORT.fullmatch(expression)
                job = _STEP_OUTPUT.fullmatch(expression)
                if path.startswith(f"{step_path}.outputs.") and not (port and port.group(1) == "outputs"):
                    continue  # read_step_output said what a step output may be bound to
                if port:
                    direction, port_name = port.groups()
                    if port_name not in declared[direction]:
                        issues.error(path, _undeclared(shown, direction, port_name, declared[direction]))
                elif job:
                    other, output = job.groups()
                    if other == str(name):
                        continue  # a step using its own outputs is reported as a cycle
                    if other not in raw:
                        guess = suggest(other, list(raw))
                        hint = f"did you mean '{guess}'?" if guess else f"steps: {one_of([str(k) for k in raw])}"
                        issues.error(path, f"{shown} refers to a step '{other}' that is not under jobs:; {hint}")
                        continue
                    known = steps[other].known_outputs() if other in steps else None
                    if known is not None and output not in known:
                        guess = suggest(output, known)
                        hint = f"did you mean '{guess}'?" if guess else (
                            f"its outputs: {one_of(sorted(known))}" if known else "it declares no outputs")
                        issues.error(path, f"{shown}: step '{other}' has no output '{output}'; {hint}")
                else:
                    issues.error(path, f"unknown binding {shown}; {_BINDING_HINT}")


def _undeclared(shown: str, direction: str, name: str, declared: list[str]) -> str:
    what = "pipeline input" if direction == "inputs" else "pipeline output"
    message = f"{shown} refers to a {what} that is not declared under {direction}:"
    guess = suggest(name, declared)
    if guess:
        return f"{message}; did you mean ${{{{parent.{direction}.{guess}}}}}?"
    if declared:
        return f"{message}; declared {direction}: {one_of(sorted(declared))}"
    return f"{message}; add `{name}` under the pipeline's {direction}:"


class StepsMixin:
    """The step graph of a pipeline job or pipeline component (`jobs`: step name -> StepSpec)."""

    jobs: FrozenDict

    @cached_property
    def dependencies(self) -> FrozenDict:
        """Step name -> the names of the steps whose outputs it uses (they must finish first)."""
        return dependencies_of(self.jobs)

    def steps_in_order(self) -> list[str]:
        """Step names in an order that runs every step after the steps it needs."""
        return order_steps(self.jobs)


def resolve_step_command(step: StepSpec, *, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> str:
    """The command a command step runs (its own or its component's), with values substituted;
    inputs not given take the component's declared defaults.

    Raises SpecError when the command is unknown offline (a registered component) or a
    reference outside an optional block `$[[ ... ]]` has no value.
    """
    command = getattr(step, "run_command", None)
    if command is None:
        raise SpecError([SpecIssue("command", f"the command of {step.component or 'this step'} is not known offline")])
    defaults = step.definition.input_defaults() if step.command is None and step.definition is not None else {}
    return substitute(command, {"inputs": {**defaults, **inputs}, "outputs": outputs})
