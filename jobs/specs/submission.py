"""What Azure ML refuses when a job is *submitted*, although the file loads.

`validate_file` agrees with the reference loader (azure-ai-ml's `load_job` / `load_component`,
whose verdicts are in the corpus's EXPECTED.tsv). Some rules are only enforced by the service at
submission, and the corpus proves the loader accepts files that break them:

- "Compute not set": a pipeline step with no `compute` in a pipeline with no
  `settings.default_compute` (`none_pipeline_default_compute_invalid/pipeline.yml` loads `ok`);
- grid sampling over a parameter that is not a `choice` (`sweep_job_grid_sampling_algorithm_object.yml`);
- a bandit policy with both `slack_factor` and `slack_amount` (`sweep-bandit.yaml`);
- `max_concurrent_trials` above `max_total_trials` (several sweep files).

Those, and the other submission rules below, are errors of `check_submittable(spec)`, which the
studio runs before accepting a job, and warnings of `validate_file` ("will be refused at
submission: ..."), so that `studio validate` keeps the reference's verdict yet tells the user.
"""

from __future__ import annotations

from typing import Any

from .automl import AutoMLJobSpec
from .components import ComponentSpec
from .errors import SpecIssue, sort_issues
from .fields import Issues, one_of
from .pipeline import PipelineComponentSpec, PipelineJobSpec
from .steps import AutoMLStepSpec, PipelineStepSpec, SparkStepSpec, SweepStepSpec
from .spark import SparkJobSpec
from .sweep import BAYESIAN_TYPES, SearchSpec, SweepJobSpec

_COMPUTE_FIX = (
    "add `settings: {default_compute: azureml:serverless}` to the pipeline to run every step on serverless "
    "compute, or give the step `compute: azureml:serverless` (or azureml:<cluster>)"
)


def check_submittable(spec: Any, *, issues: Issues | None = None) -> list[SpecIssue]:
    """The problems that make Azure ML refuse to run `spec` (empty when it can be submitted).

    With `issues` (as used while reading the file), the problems are placed at their line and
    column and also appended to `issues.errors`.
    """
    target = issues if issues is not None else Issues()
    before = len(target.errors)
    if isinstance(spec, SweepJobSpec):
        _sweep(target, "", spec)
    elif isinstance(spec, PipelineJobSpec):
        default = spec.default_compute
        _steps(target, "", spec.jobs, default, where="the pipeline has no settings.default_compute")
    elif isinstance(spec, AutoMLJobSpec):
        _automl(target, "", spec)
    elif isinstance(spec, SparkJobSpec) and spec.compute is None and spec.resources is None:
        target.error(
            "resources",
            "a Spark job needs an attached Spark pool (`compute: <pool>`) or serverless Spark "
            "(`resources: {instance_type: standard_e4s_v3, runtime_version: '3.4'}`)",
        )
    return sort_issues(target.errors[before:])


def _sweep(issues: Issues, prefix: str, spec: Any) -> None:
    algorithm = spec.sampling_algorithm.type if spec.sampling_algorithm else None
    for name, expression in spec.search_space.items():
        path = f"{prefix}search_space.{name}"
        if algorithm == "grid" and (expression.type != "choice" or expression.is_nested):
            kind = expression.type if expression.type != "choice" else "a choice of nested search spaces"
            issues.error(
                path,
                f"grid sampling tries every combination of choices, but '{name}' is {kind}; "
                "write `type: choice` with the values to try, or use random sampling",
            )
        if algorithm == "bayesian" and not _bayesian_ok(expression):
            issues.error(
                path,
                f"Bayesian sampling supports only {one_of(BAYESIAN_TYPES)} parameters, but '{name}' is "
                f"{expression.type}; change it or use random sampling",
            )
    policy = spec.early_termination
    if policy is not None and policy.slack_factor is not None and policy.slack_amount is not None:
        issues.error(f"{prefix}early_termination", "give slack_factor or slack_amount, not both")
    limits = spec.limits
    if limits and limits.max_concurrent_trials and limits.max_total_trials and (
        limits.max_concurrent_trials > limits.max_total_trials
    ):
        issues.error(
            f"{prefix}limits.max_concurrent_trials",
            f"is {limits.max_concurrent_trials}, more than max_total_trials ({limits.max_total_trials}); at most "
            f"{limits.max_total_trials} trials can ever run at once, so lower it to {limits.max_total_trials}",
        )
    trial = spec.trial
    if trial is not None and trial.definition is not None:
        given = set(spec.inputs) | set(spec.search_space)
        _required_inputs(issues, f"{prefix}trial", trial.definition, given, trial.reference)


def _bayesian_ok(expression: SearchSpec) -> bool:
    return expression.type in BAYESIAN_TYPES and not expression.is_nested


def _automl(issues: Issues, prefix: str, spec: Any) -> None:
    limits = spec.limits
    if limits and limits.max_concurrent_trials and limits.max_trials and limits.max_concurrent_trials > limits.max_trials:
        issues.error(
            f"{prefix}limits.max_concurrent_trials",
            f"is {limits.max_concurrent_trials}, more than max_trials ({limits.max_trials}); lower it to {limits.max_trials}",
        )


def _required_inputs(issues: Issues, path: str, component: ComponentSpec, given: set, reference: str | None) -> None:
    missing = [name for name in component.required_inputs() if name not in given]
    if missing:
        issues.error(
            path,
            f"component {reference or component.name} needs a value for {one_of(missing)} (no default, not "
            f"optional); give {'it' if len(missing) == 1 else 'them'} under inputs:",
        )


def _steps(issues: Issues, prefix: str, steps: Any, default: str | None, *, where: str) -> None:
    """Compute and required inputs of every step (steps of pipeline components inherit `default`)."""
    for name, step in steps.items():
        path = f"{prefix}jobs.{name}"
        compute = step.compute or default
        if isinstance(step, SweepStepSpec):
            _sweep(issues, f"{path}.", step)
        if isinstance(step, AutoMLStepSpec):
            _automl(issues, f"{path}.", step)
        definition = step.definition
        if definition is not None:
            _required_inputs(issues, f"{path}.inputs" if step.inputs else path, definition, set(step.inputs),
                             step.component)
        if isinstance(step, PipelineStepSpec):
            if isinstance(definition, PipelineComponentSpec):
                nested = Issues()
                _steps(nested, "", definition.jobs, compute, where=f"{where} and step '{name}' has no compute")
                for problem in nested.errors:
                    issues.error(f"{path}.component", f"in component {step.component}: {problem}")
            continue
        if isinstance(step, SparkStepSpec) and step.resources is not None:
            continue  # serverless Spark
        if compute is None:
            issues.error(f"{path}.compute", f"Compute not set: step '{name}' has no compute and {where}; {_COMPUTE_FIX}")
