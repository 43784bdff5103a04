"""Azure ML CLI v2 files: YAML in, typed immutable objects out (pure Python, no Django).

    spec = load_command_job(text, source="job.yml", base_dir=Path("."), overrides=["limits.timeout=60"])
    spec = load_job(text, source="x.yml", base_dir=Path("."))   # any kind: the spec of that kind
    problems = check_submittable(spec)  # what Azure ML refuses at submission ("Compute not set", ...)
    result = validate_file("job.yml")   # never raises; result.to_dict() for the API/CLI

Kinds: command, sweep, pipeline, automl, spark and parallel jobs, components (command, pipeline,
spark, parallel) and environment, data and model assets. Errors are SpecError, whose `issues`
each carry the field path, line, column and a fix.

Running them:
- sweeps: `spec.trial_parameters(seed=...)` yields each trial's parameters, and
  `resolve_trial_command(spec, params, inputs=..., outputs=...)` the command it runs;
- pipelines: `spec.steps_in_order()` / `spec.dependencies`, `spec.step_compute(name)`,
  `step.inputs` (InputSpec or BindingSpec), `resolve_step_command(step, inputs=..., outputs=...)`;
- where a job runs: `spec.is_serverless` / `spec.compute_name`, or `is_serverless(compute)` /
  `compute_name(compute)` for a `compute:` value (as the wizard has it).

Every job kind is a `JobSpec`: the header (`$schema` ... `properties`), `compute` and `identity`.
The modules import one way, at their top (tests/specs/test_module_imports.py): steps.py holds the
steps of both pipeline kinds (pipeline.py); components.py reads component files with the
component classes its `Context` is given (`loading.reading_context`), since the pipeline
component holds steps, which name components.
"""

import importlib
from typing import TYPE_CHECKING

# Name -> module: loaded on first use, so that `from jobs.specs import load_command_job` does not
# pay for every kind (the CLI starts faster).
_EXPORTS = {
    "KINDS": "kinds",
    "AutoMLJobSpec": "automl",
    "AutoMLLimitsSpec": "automl",
    "AutoMLStepSpec": "steps",
    "AutoMLSweepSpec": "automl",
    "BindingSpec": "steps",
    "BuildSpec": "parts",
    "CommandComponentSpec": "components",
    "CommandJobSpec": "command",
    "CommandStepSpec": "steps",
    "ComponentInputSpec": "components",
    "ComponentOutputSpec": "components",
    "ComponentSpec": "components",
    "DataAssetSpec": "assets",
    "DistributionSpec": "parts",
    "EarlyTerminationSpec": "sweep",
    "EnvironmentAssetSpec": "assets",
    "EnvironmentSpec": "parts",
    "FrozenDict": "fields",
    "IdentitySpec": "parts",
    "InputSpec": "parts",
    "JobSpec": "common",
    "LimitsSpec": "parts",
    "ModelAssetSpec": "assets",
    "ObjectiveSpec": "sweep",
    "OtherStepSpec": "steps",
    "OutputSpec": "parts",
    "ParallelComponentSpec": "components",
    "ParallelJobSpec": "parallel",
    "ParallelStepSpec": "steps",
    "ParallelTaskSpec": "parallel",
    "PipelineComponentSpec": "pipeline",
    "PipelineJobSpec": "pipeline",
    "PipelineSettingsSpec": "pipeline",
    "PipelineStepSpec": "steps",
    "QueueSettingsSpec": "parts",
    "ResourcesSpec": "parts",
    "RetrySettingsSpec": "parallel",
    "SamplingAlgorithmSpec": "sweep",
    "SearchSpec": "sweep",
    "ServiceSpec": "parts",
    "SparkComponentSpec": "components",
    "SparkEntrySpec": "spark",
    "SparkJobSpec": "spark",
    "SparkResourcesSpec": "spark",
    "SparkStepSpec": "steps",
    "SpecError": "errors",
    "SpecIssue": "errors",
    "StepSpec": "steps",
    "SweepJobSpec": "sweep",
    "SweepLimitsSpec": "sweep",
    "SweepStepSpec": "steps",
    "TrialSpec": "sweep",
    "ValidationResult": "validation",
    "check_submittable": "submission",
    "compute_name": "common",
    "detect_kind": "kinds",
    "is_remote": "paths",
    "is_serverless": "common",
    "load_command_job": "command",
    "load_component": "loading",
    "load_job": "loading",
    "load_pipeline_job": "loading",
    "load_sweep_job": "loading",
    "local_path": "paths",
    "references": "expressions",
    "resolve_command": "expressions",
    "resolve_step_command": "steps",
    "resolve_trial_command": "sweep",
    "substitute": "expressions",
    "validate_file": "validation",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:  # for type checkers and IDEs
    from .assets import DataAssetSpec, EnvironmentAssetSpec, ModelAssetSpec
    from .automl import AutoMLJobSpec, AutoMLLimitsSpec, AutoMLSweepSpec
    from .command import CommandJobSpec, load_command_job
    from .common import JobSpec, compute_name, is_serverless
    from .components import (
        CommandComponentSpec,
        ComponentInputSpec,
        ComponentOutputSpec,
        ComponentSpec,
        ParallelComponentSpec,
        SparkComponentSpec,
    )
    from .errors import SpecError, SpecIssue
    from .expressions import references, resolve_command, substitute
    from .fields import FrozenDict
    from .kinds import KINDS, detect_kind
    from .loading import load_component, load_job, load_pipeline_job, load_sweep_job
    from .parallel import ParallelJobSpec, ParallelTaskSpec, RetrySettingsSpec
    from .parts import (
        BuildSpec,
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
    from .paths import is_remote, local_path
    from .pipeline import PipelineComponentSpec, PipelineJobSpec, PipelineSettingsSpec
    from .spark import SparkEntrySpec, SparkJobSpec, SparkResourcesSpec
    from .steps import (
        AutoMLStepSpec,
        BindingSpec,
        CommandStepSpec,
        OtherStepSpec,
        ParallelStepSpec,
        PipelineStepSpec,
        SparkStepSpec,
        StepSpec,
        SweepStepSpec,
        resolve_step_command,
    )
    from .submission import check_submittable
    from .sweep import (
        EarlyTerminationSpec,
        ObjectiveSpec,
        SamplingAlgorithmSpec,
        SearchSpec,
        SweepJobSpec,
        SweepLimitsSpec,
        TrialSpec,
        resolve_trial_command,
    )
    from .validation import ValidationResult, validate_file
