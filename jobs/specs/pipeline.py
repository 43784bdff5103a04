"""Pipelines: a pipeline job (`type: pipeline`) and a pipeline component, both steps (`jobs:`,
read by `steps.read_jobs`) joined by bindings into a dependency graph, with declared inputs and
outputs that the steps bind to.

- `PipelineJobSpec`: `settings.default_compute` (or `compute`) is where steps without their own
  compute run; "Compute not set" is a submission check (`check_submittable`).
- `PipelineComponentSpec`: a pipeline packaged as a component; its steps inherit the compute of
  the pipeline step that runs it. It is here, not in `components.py`, because its steps name
  components: `COMPONENT_CLASSES` lists every component type for `components.Context`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .common import COMPUTE, COMPUTE_HINT, JobSpec, names, part, port_names, read_compute, read_header, read_identity
from .common import read_job_root, read_ports, warn_missing
from .components import CommandComponentSpec, ComponentSpec, Context, ParallelComponentSpec, SparkComponentSpec
from .fields import EMPTY, FrozenDict, Issues, Section, Spec, one_of
from .steps import StepsMixin, read_jobs


@dataclass(frozen=True)
class PipelineSettingsSpec(Spec):
    """`default_compute: azureml:serverless` runs every step without a compute on serverless."""

    default_compute: str | None = None
    default_datastore: str | None = None
    default_environment: str | None = None
    continue_on_step_failure: bool | None = None
    force_rerun: bool | None = None
    on_init: str | None = None
    on_finalize: str | None = None

    EXAMPLE = "settings: {default_compute: azureml:serverless}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> PipelineSettingsSpec | None:
        # Azure ML keeps settings it does not know (and ignores them): a warning, not an error.
        section = cls.section(issues, path, value, lenient=True)
        if section is None:
            return None
        return cls(
            default_compute=section.text("default_compute", pattern=COMPUTE, hint=COMPUTE_HINT),
            default_datastore=section.text("default_datastore", pattern=COMPUTE, hint="write azureml:<datastore>"),
            default_environment=section.text("default_environment"),
            continue_on_step_failure=section.boolean("continue_on_step_failure"),
            force_rerun=section.boolean("force_rerun"),
            on_init=section.text("on_init"),
            on_finalize=section.text("on_finalize"),
        )


@dataclass(frozen=True)
class PipelineJobSpec(StepsMixin, JobSpec):
    """A validated pipeline job. Build one with `load_pipeline_job`."""

    jobs: FrozenDict = EMPTY  # step name -> StepSpec
    settings: PipelineSettingsSpec | None = None
    inputs: FrozenDict = EMPTY  # name -> InputSpec
    outputs: FrozenDict = EMPTY  # name -> OutputSpec

    KIND: ClassVar[str] = "pipeline"
    FIELDS: ClassVar[tuple[str, ...]] = ("jobs", "settings", "inputs", "outputs", "compute", "identity")
    LEAD: ClassVar[tuple[str, ...]] = ("jobs", "settings")

    @property
    def default_compute(self) -> str | None:
        """Where steps without their own compute run: settings.default_compute, else compute."""
        return (self.settings.default_compute if self.settings else None) or self.compute

    def step_compute(self, name: str) -> str | None:
        """The compute step `name` runs on (its own, else the pipeline's default); None: not set."""
        return self.jobs[name].compute or self.default_compute


def read_pipeline_job(issues: Issues, data: Any, *, context: Context) -> PipelineJobSpec | None:
    """Read parsed data into a pipeline job, reporting every problem to `issues` (None if any)."""
    root = read_job_root(issues, data, PipelineJobSpec, what="a pipeline job",
                         needs="`type: pipeline` and steps under jobs:")
    if root is None:
        return None
    ports = read_ports(root)
    jobs = read_jobs(root, context, **port_names(root))
    settings = part(root, "settings", PipelineSettingsSpec.parse)
    for key in ("on_init", "on_finalize"):
        step = getattr(settings, key, None)
        if step is not None and step not in jobs and step not in names(data.get("jobs")):
            issues.error(f"settings.{key}", f"'{step}' is not a step under jobs:; name one of {one_of(list(jobs) or ['...'])}")
    spec = PipelineJobSpec(
        **read_header(root),
        jobs=jobs,
        settings=settings,
        **ports,
        compute=read_compute(root),
        identity=read_identity(root),
    )
    if context.base_dir is not None:
        warn_missing(issues, context.base_dir, [
            (f"inputs.{name}.path", item.path) for name, item in spec.inputs.items() if not item.is_literal
        ])
    return None if issues.errors else spec


@dataclass(frozen=True)
class PipelineComponentSpec(StepsMixin, ComponentSpec):
    """A pipeline packaged as a component: its steps bind `${{parent.inputs.<name>}}` to its inputs."""

    type: str = "pipeline"
    jobs: FrozenDict = EMPTY  # step name -> StepSpec

    @classmethod
    def read_fields(cls, root: Section, context: Context) -> dict:
        return dict(jobs=read_jobs(root, context, **port_names(root)))


# Every component type, by `type:` (in the order messages list them).
COMPONENT_CLASSES: Mapping[str, type[ComponentSpec]] = {
    "command": CommandComponentSpec,
    "pipeline": PipelineComponentSpec,
    "spark": SparkComponentSpec,
    "parallel": ParallelComponentSpec,
}
