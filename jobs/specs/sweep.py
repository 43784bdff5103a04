"""Sweep jobs (`type: sweep`): many trials of one command, each with parameters drawn from a
search space, judged on one metric.

- `SearchSpec`: one search-space expression (choice — whose values may be mappings holding
  further expressions —, uniform, loguniform, quniform, qloguniform, normal, lognormal, qnormal,
  qlognormal, randint), with `sample(rng)`.
- `SamplingAlgorithmSpec` (random [seed, rule], grid, bayesian), `ObjectiveSpec`,
  `EarlyTerminationSpec` (bandit, median_stopping, truncation_selection), `SweepLimitsSpec`.
- `TrialSpec`: the trial, an inline command or a command component (file or registered).
- `SweepJobSpec` with `trial_parameters()` (the parameter sets to run) and
  `resolve_trial_command(spec, params, inputs=..., outputs=...)`.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .common import (
    ComputeMixin,
    JobSpec,
    named,
    names,
    part,
    port_names,
    read_compute,
    read_header,
    read_identity,
    read_job_root,
    read_ports,
    warn_missing,
)
from .components import ComponentSpec, Context, resolve_component
from .errors import SpecError, SpecIssue
from .expressions import check_command, legacy_references, references, substitute
from .fields import EMPTY, FrozenDict, Issues, Section, Spec, describe, hidden, is_number, one_of, suggest
from .parts import (
    DistributionSpec,
    EnvironmentSpec,
    QueueSettingsSpec,
    ResourcesSpec,
    ServiceSpec,
    snake_case,
)
from .yaml_loader import join

SWEEP_FIELDS = ("trial", "search_space", "sampling_algorithm", "objective", "early_termination", "limits")

# Search-space expression type -> its fields besides `type` (all required).
SEARCH_TYPES = {
    "choice": ("values",),
    "uniform": ("min_value", "max_value"),
    "loguniform": ("min_value", "max_value"),
    "quniform": ("min_value", "max_value", "q"),
    "qloguniform": ("min_value", "max_value", "q"),
    "normal": ("mu", "sigma"),
    "lognormal": ("mu", "sigma"),
    "qnormal": ("mu", "sigma", "q"),
    "qlognormal": ("mu", "sigma", "q"),
    "randint": ("upper",),
}
SAMPLING_TYPES = {"random": "random", "grid": "grid", "bayesian": "bayesian"}
RANDOM_RULES = {"random": "random", "sobol": "sobol"}
GOALS = {"minimize": "minimize", "maximize": "maximize"}
POLICY_TYPES = {"bandit": "bandit", "median_stopping": "median_stopping", "truncation_selection": "truncation_selection"}
BAYESIAN_TYPES = ("choice", "uniform", "quniform")
_POLICY_FIELDS = {
    "bandit": ("slack_factor", "slack_amount"),
    "median_stopping": (),
    "truncation_selection": ("truncation_percentage",),
}
_EXAMPLES = {
    "choice": "{type: choice, values: [16, 32, 64]}",
    "uniform": "{type: uniform, min_value: 0.01, max_value: 0.1}",
    "loguniform": "{type: loguniform, min_value: -6, max_value: -1}",
    "quniform": "{type: quniform, min_value: 10, max_value: 100, q: 10}",
    "qloguniform": "{type: qloguniform, min_value: 1, max_value: 5, q: 10}",
    "normal": "{type: normal, mu: 0, sigma: 1}",
    "lognormal": "{type: lognormal, mu: 0, sigma: 1}",
    "qnormal": "{type: qnormal, mu: 10, sigma: 2, q: 1}",
    "qlognormal": "{type: qlognormal, mu: 1, sigma: 0.5, q: 1}",
    "randint": "{type: randint, upper: 10}",
}


# Search space --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchSpec(Spec):
    """One search-space expression. Choice `values` are scalars or mappings of names to scalars
    and further SearchSpecs (a nested search space chosen as a whole)."""

    type: str
    values: tuple = ()
    min_value: int | float | None = None
    max_value: int | float | None = None
    q: int | float | None = None
    mu: int | float | None = None
    sigma: int | float | None = None
    upper: int | None = None

    EXAMPLE = "lr: {type: uniform, min_value: 0.001, max_value: 0.1}"

    @property
    def is_nested(self) -> bool:
        """True when a choice value holds further search-space expressions."""
        return any(
            isinstance(value, Mapping) and any(isinstance(item, SearchSpec) for item in value.values())
            for value in self.values
        )

    def sample(self, rng: random.Random) -> Any:
        """One value drawn as Azure ML draws it (log* bounds are natural logarithms)."""
        kind = self.type
        if kind == "choice":
            return _sample_value(rng.choice(self.values), rng)
        if kind == "randint":
            return rng.randrange(self.upper)
        if kind in ("uniform", "loguniform", "quniform", "qloguniform"):
            value = rng.uniform(self.min_value, self.max_value)
        else:
            value = rng.gauss(self.mu, self.sigma)
        if kind.startswith("qlog") or kind in ("loguniform", "lognormal"):
            value = math.exp(value)
        if kind.startswith("q"):
            value = round(value / self.q) * self.q
        return value

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> SearchSpec | None:
        if not isinstance(value, Mapping) or "type" not in value:
            issues.error(
                path,
                f"expected a search-space expression, got {describe(value)}; write for example "
                f"`{_EXAMPLES['uniform']}` or `{_EXAMPLES['choice']}`",
            )
            return None
        section = Section(issues, path, value)
        type_ = section.choice("type", {name: name for name in SEARCH_TYPES}, what="search-space type")
        if type_ is None:
            return None
        fields = SEARCH_TYPES[type_]
        section.only(("type", *fields), context=f" for {type_}")
        for key in fields:
            section.required(key, f"{key}: ... as in `{_EXAMPLES[type_]}`")
        if type_ == "choice":
            return cls(type=type_, values=_choice_values(section))
        if type_ == "randint":
            return cls(type=type_, upper=section.integer("upper", minimum=1))
        numbers = {key: section.number(key) for key in fields}
        if "q" in numbers and numbers["q"] is not None and numbers["q"] <= 0:
            section.error("q", f"q is the step between values and must be above 0, got {numbers['q']}")
        if "sigma" in numbers and numbers["sigma"] is not None and numbers["sigma"] <= 0:
            section.error("sigma", f"sigma is a standard deviation and must be above 0, got {numbers['sigma']}")
        low, high = numbers.get("min_value"), numbers.get("max_value")
        if low is not None and high is not None and low >= high:
            section.error("min_value", f"min_value ({low}) must be less than max_value ({high})")
        return cls(type=type_, **numbers)


def _choice_values(section: Section) -> tuple:
    values = section.data.get("values")
    if not isinstance(values, (list, tuple)) or not values:
        section.error("values", f"expected a non-empty list, got {describe(values)}; write for example `values: [16, 32, 64]`")
        return ()
    result = []
    for index, value in enumerate(values):
        path = join(section.at("values"), index)
        if isinstance(value, (str, int, float, bool)):
            result.append(value)
        elif isinstance(value, Mapping):
            nested = {}
            for name, item in value.items():
                item_path = join(path, name)
                if isinstance(item, Mapping):
                    parsed = SearchSpec.parse(section.issues, item_path, item)
                    if parsed is not None:
                        nested[str(name)] = parsed
                elif isinstance(item, (str, int, float, bool)):
                    nested[str(name)] = item
                else:
                    section.issues.error(item_path, f"expected a value or a search-space expression, got {describe(item)}")
            result.append(FrozenDict(nested))
        else:
            section.issues.error(path, f"expected a value or a mapping, got {describe(value)}")
    return tuple(result)


def _sample_value(value: Any, rng: random.Random) -> Any:
    if isinstance(value, Mapping):
        return {name: item.sample(rng) if isinstance(item, SearchSpec) else item for name, item in value.items()}
    return value


# Sampling, objective, early termination, limits ----------------------------------------------


@dataclass(frozen=True)
class SamplingAlgorithmSpec(Spec):
    """`random` (optionally with `seed`, `rule: sobol`, `logbase`), `grid` or `bayesian`.
    Written back in the short form (`sampling_algorithm: random`) when it has no settings."""

    type: str
    seed: int | None = None
    rule: str | None = None
    logbase: int | float | str | None = None

    EXAMPLE = "sampling_algorithm: random"

    def to_data(self) -> Any:
        data = super().to_data()
        return self.type if data.keys() == {"type"} else data

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> SamplingAlgorithmSpec | None:
        if isinstance(value, str):
            value = {"type": value}
        section = cls.section(issues, path, value)
        if section is None:
            return None
        section.required("type", "type: random")
        type_ = section.choice("type", SAMPLING_TYPES, what="sampling algorithm", normalise=snake_case)
        if type_ in ("grid", "bayesian"):
            for key in ("seed", "rule", "logbase"):
                if section.has(key):
                    section.error(key, f"only random sampling takes {key}; {type_} sampling has no settings")
        logbase = section.data.get("logbase")
        if logbase is not None and not (is_number(logbase) and logbase > 0 or logbase == "e"):
            section.error("logbase", f"expected a positive number or e, got {describe(logbase)}")
            logbase = None
        return cls(
            type=type_ or "",
            seed=section.integer("seed", minimum=0),
            rule=section.choice("rule", RANDOM_RULES, what="random sampling rule", normalise=snake_case),
            logbase=logbase,
        )


@dataclass(frozen=True)
class ObjectiveSpec(Spec):
    goal: str
    primary_metric: str

    EXAMPLE = "objective: {goal: maximize, primary_metric: accuracy}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> ObjectiveSpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        section.required("goal", "goal: maximize")
        section.required("primary_metric", "primary_metric: accuracy")
        return cls(
            goal=section.choice("goal", GOALS, what="goal") or "",
            primary_metric=section.text("primary_metric") or "",
        )


@dataclass(frozen=True)
class EarlyTerminationSpec(Spec):
    """Stops poorly performing trials: bandit (slack), median_stopping, truncation_selection."""

    type: str
    evaluation_interval: int | None = None
    delay_evaluation: int | None = None
    slack_factor: int | float | None = None
    slack_amount: int | float | None = None
    truncation_percentage: int | None = None

    EXAMPLE = "early_termination: {type: bandit, slack_factor: 0.1, evaluation_interval: 1}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> EarlyTerminationSpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        section.required("type", "type: bandit")
        type_ = section.choice("type", POLICY_TYPES, what="early termination policy", normalise=snake_case)
        specific = {key for fields in _POLICY_FIELDS.values() for key in fields}
        for key in specific:
            if type_ and key in section.data and key not in _POLICY_FIELDS[type_]:
                takes = _POLICY_FIELDS[type_]
                fix = f"it takes {one_of(takes)}" if takes else "it has no settings beyond evaluation_interval and delay_evaluation"
                section.error(key, f"the {type_} policy does not take {key}; {fix}")
        if type_ == "bandit" and not section.has("slack_factor") and not section.has("slack_amount"):
            issues.error(path, "a bandit policy needs slack_factor (a ratio, e.g. 0.1) or slack_amount (e.g. 0.2)")
        if type_ == "truncation_selection":
            section.required("truncation_percentage", "truncation_percentage: 20")
        percentage = section.integer("truncation_percentage", minimum=1)
        if percentage is not None and percentage > 99:
            section.error("truncation_percentage", f"expected a percentage from 1 to 99, got {percentage}")
            percentage = None
        return cls(
            type=type_ or "",
            evaluation_interval=section.integer("evaluation_interval", minimum=1),
            delay_evaluation=section.integer("delay_evaluation", minimum=0),
            slack_factor=section.number("slack_factor", above=0),
            slack_amount=section.number("slack_amount", above=0),
            truncation_percentage=percentage,
        )


@dataclass(frozen=True)
class SweepLimitsSpec(Spec):
    max_total_trials: int | None = None
    max_concurrent_trials: int | None = None
    timeout: int | None = None  # seconds, the whole sweep
    trial_timeout: int | None = None  # seconds, each trial

    EXAMPLE = "limits: {max_total_trials: 20, max_concurrent_trials: 4, timeout: 7200}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> SweepLimitsSpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        section.required("max_total_trials", "max_total_trials: 20")
        return cls(
            max_total_trials=section.integer("max_total_trials", minimum=1),
            max_concurrent_trials=section.integer("max_concurrent_trials", minimum=1),
            timeout=section.integer("timeout", minimum=1, unit=" (seconds)"),
            trial_timeout=section.integer("trial_timeout", minimum=1, unit=" (seconds)"),
        )


# The trial -----------------------------------------------------------------------------------

TRIAL_FIELDS = ("command", "code", "environment", "environment_variables", "resources", "distribution",
                "queue_settings")


@dataclass(frozen=True)
class TrialSpec(Spec):
    """What each trial runs: an inline command, or a command component (`reference`, a file path
    or a registered component; `definition` is the loaded file, None when registered)."""

    command: str | None = None
    environment: EnvironmentSpec | None = None
    code: str | None = None
    environment_variables: FrozenDict = EMPTY
    resources: ResourcesSpec | None = None
    distribution: DistributionSpec | None = None
    queue_settings: QueueSettingsSpec | None = None
    reference: str | None = None
    definition: ComponentSpec | None = hidden()

    EXAMPLE = "trial: {command: python train.py --lr ${{search_space.lr}}, environment: azureml:env@latest}"

    @property
    def is_reference(self) -> bool:
        return self.reference is not None

    @classmethod
    def yaml_fields(cls) -> tuple[str, ...]:
        return TRIAL_FIELDS

    def to_data(self) -> Any:
        if self.is_reference:
            return self.reference
        return super().to_data()

    @property
    def run_command(self) -> str | None:
        """The command trials run (the component's, for a component trial loaded from a file)."""
        if self.command is not None:
            return self.command
        return getattr(self.definition, "command", None)


def read_trial(
    issues: Issues, path: str, value: Any, context: Context, *, inputs: list[str], outputs: list[str], params: list[str]
) -> TrialSpec | None:
    if isinstance(value, str):
        reference, definition = resolve_component(
            issues, path, value, context, expected=("command",), what="a sweep trial"
        )
        return TrialSpec(reference=reference, definition=definition) if reference else None
    section = TrialSpec.section(issues, path, value)
    if section is None:
        return None
    section.required("command", "command: python train.py --lr ${{search_space.lr}}")
    section.required("environment", "environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest")
    command = section.text("command")
    if command is not None:
        check_command(issues, section.at("command"), command, inputs=inputs, outputs=outputs, search_space=params)
    return TrialSpec(
        command=command,
        environment=part(section, "environment", EnvironmentSpec.parse),
        code=section.text("code"),
        environment_variables=section.text_map("environment_variables"),
        resources=part(section, "resources", ResourcesSpec.parse),
        distribution=part(section, "distribution", DistributionSpec.parse),
        queue_settings=part(section, "queue_settings", QueueSettingsSpec.parse),
    )


def read_search_space(root: Section) -> FrozenDict:
    value = root.data.get("search_space")
    if value is None:
        root.required("search_space", "search_space: {lr: {type: uniform, min_value: 0.001, max_value: 0.1}}")
        return EMPTY
    if not isinstance(value, Mapping) or not value:
        root.error("search_space", f"expected a mapping of parameter names to expressions, got {describe(value)}")
        return EMPTY
    return named(root, "search_space", SearchSpec.parse)


def read_sweep_fields(root: Section, context: Context, *, inputs: list[str], outputs: list[str]) -> dict:
    """The sweep fields of a sweep job or sweep step, as keyword arguments, with their checks."""
    for key, example in (
        ("trial", TrialSpec.EXAMPLE),
        ("objective", ObjectiveSpec.EXAMPLE),
        ("sampling_algorithm", SamplingAlgorithmSpec.EXAMPLE),
        ("limits", SweepLimitsSpec.EXAMPLE),
    ):
        root.required(key, example)
    search_space = read_search_space(root)
    params = names(root.data.get("search_space"))
    trial = part(root, "trial", lambda issues, path, value: read_trial(
        issues, path, value, context, inputs=inputs, outputs=outputs, params=params))
    fields = dict(
        trial=trial,
        search_space=search_space,
        objective=part(root, "objective", ObjectiveSpec.parse),
        sampling_algorithm=part(root, "sampling_algorithm", SamplingAlgorithmSpec.parse),
        early_termination=part(root, "early_termination", EarlyTerminationSpec.parse),
        limits=part(root, "limits", SweepLimitsSpec.parse),
    )
    algorithm, policy = fields["sampling_algorithm"], fields["early_termination"]
    if algorithm is not None and algorithm.type == "bayesian" and policy is not None:
        root.error(
            "early_termination",
            "Bayesian sampling does not support early termination (it learns from every trial); "
            "remove early_termination or use random sampling",
        )
    if trial is not None and trial.definition is not None:
        _check_component_trial(root, trial.definition, params, inputs)
    elif trial is not None and trial.command is not None:
        _warn_unused(root, trial.command, params)
    return fields


def _check_component_trial(root: Section, component: ComponentSpec, params: list[str], inputs: list[str]) -> None:
    """Search-space parameters are passed to the trial component as inputs of the same name."""
    declared = list(component.inputs)
    for name in params:
        if name not in declared:
            guess = suggest(name, declared)
            hint = f"did you mean '{guess}'?" if guess else f"its inputs: {one_of(declared)}" if declared else "it has no inputs"
            root.issues.error(
                join(root.at("search_space"), name),
                f"the trial component declares no input '{name}' for this parameter; {hint}",
                key=True,
            )
    for name in inputs:
        if name not in declared:
            root.issues.warn(join(root.at("inputs"), name), f"the trial component declares no input '{name}'; it is ignored", key=True)


def _warn_unused(root: Section, command: str, params: list[str]) -> None:
    used = set(references(command)) | set(legacy_references(command))
    for name in params:
        if f"search_space.{name}" not in used:
            root.issues.warn(
                join(root.at("search_space"), name),
                f"parameter '{name}' is never used by the trial command; pass it with ${{{{search_space.{name}}}}}",
                key=True,
            )


# The job -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepFields:
    """The sweep fields of a sweep job or sweep step, and the trial parameters they give."""

    trial: TrialSpec | None = None
    search_space: FrozenDict = EMPTY  # name -> SearchSpec
    objective: ObjectiveSpec | None = None
    sampling_algorithm: SamplingAlgorithmSpec | None = None
    early_termination: EarlyTerminationSpec | None = None
    limits: SweepLimitsSpec | None = None

    def trial_parameters(self, *, seed: int | None = None) -> Iterator[dict]:
        """The parameter sets to run, up to `limits.max_total_trials`.

        Grid sampling walks every combination of the choices in order; random sampling draws
        with `seed` (else the spec's `sampling_algorithm.seed`). Bayesian sampling is drawn like
        random sampling here (the studio has no Bayesian optimiser yet).
        """
        total = self.limits.max_total_trials if self.limits and self.limits.max_total_trials else None
        algorithm = self.sampling_algorithm.type if self.sampling_algorithm else "random"
        if algorithm == "grid":
            names_ = list(self.search_space)
            grid = itertools.product(*(self.search_space[name].values for name in names_))
            points = ({name: _sample_value(value, random.Random(0)) for name, value in zip(names_, point)} for point in grid)
            yield from itertools.islice(points, total)
            return
        if seed is None and self.sampling_algorithm is not None:
            seed = self.sampling_algorithm.seed
        rng = random.Random(seed)
        count = itertools.count() if total is None else range(total)
        for _ in count:
            yield {name: expression.sample(rng) for name, expression in self.search_space.items()}


@dataclass(frozen=True)
class SweepJobSpec(ComputeMixin, JobSpec, SweepFields):
    """A validated sweep job (the sweep fields, then the job's own). Build one with `load_sweep_job`."""

    inputs: FrozenDict = EMPTY  # name -> InputSpec
    outputs: FrozenDict = EMPTY  # name -> OutputSpec
    resources: ResourcesSpec | None = None
    queue_settings: QueueSettingsSpec | None = None
    services: FrozenDict = EMPTY

    KIND: ClassVar[str] = "sweep"
    FIELDS: ClassVar[tuple[str, ...]] = (
        *SWEEP_FIELDS, "inputs", "outputs", "compute", "resources", "queue_settings", "identity", "services",
    )
    LEAD: ClassVar[tuple[str, ...]] = tuple(field.name for field in dataclasses.fields(SweepFields))

    @property
    def node_count(self) -> int:
        """Nodes serverless compute runs at once: one per concurrent trial (times instance_count)."""
        concurrent = (self.limits.max_concurrent_trials if self.limits else None) or 1
        if self.limits and self.limits.max_total_trials:
            concurrent = min(concurrent, self.limits.max_total_trials)
        per_trial = (self.resources.instance_count if self.resources else None) or 1
        return concurrent * per_trial


def read_sweep_job(issues: Issues, data: Any, *, context: Context) -> SweepJobSpec | None:
    """Read parsed data into a sweep job, reporting every problem to `issues` (None if any)."""
    root = read_job_root(issues, data, SweepJobSpec, what="a sweep job",
                         needs="trial:, search_space:, objective:, sampling_algorithm: and limits:")
    if root is None:
        return None
    spec = SweepJobSpec(
        **read_header(root),
        **read_sweep_fields(root, context, **port_names(root)),
        **read_ports(root),
        compute=read_compute(root),
        resources=part(root, "resources", ResourcesSpec.parse),
        queue_settings=part(root, "queue_settings", QueueSettingsSpec.parse),
        identity=read_identity(root),
        services=named(root, "services", ServiceSpec.parse, name_pattern=None),
    )
    if context.base_dir is not None and spec.trial is not None and not spec.trial.is_reference:
        warn_missing(issues, context.base_dir, [("trial.code", spec.trial.code)])
    return None if issues.errors else spec


def resolve_trial_command(
    spec: Any, params: Mapping[str, Any], *, inputs: Mapping[str, Any], outputs: Mapping[str, Any]
) -> str:
    """The command one trial runs, with `params` (one of `spec.trial_parameters()`) substituted.

    `spec` is a SweepJobSpec or a sweep step. `${{search_space.<name>}}` and the legacy
    `{search_space.<name>}` take the parameter's value (mappings and lists as JSON). For a
    component trial, parameters are the component's inputs of the same name, so
    `${{inputs.<name>}}` takes the parameter's value too, and inputs not given take the
    component's declared defaults. Raises SpecError for a reference with
    no value outside an optional block, or when the command is unknown (registered component).
    """
    trial = spec.trial
    command = trial.run_command if trial is not None else None
    if command is None:
        what = trial.reference if trial is not None and trial.reference else "the trial"
        raise SpecError([SpecIssue("trial", f"the command of {what} is not known offline (a registered component)")])
    if trial.command is None and trial.definition is not None:
        merged_inputs = {**trial.definition.input_defaults(), **inputs, **params}
    else:
        merged_inputs = dict(inputs)
    return substitute(command, {"inputs": merged_inputs, "outputs": outputs, "search_space": params}, path="trial.command")
