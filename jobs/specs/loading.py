"""Reading any Azure ML file into the spec of its kind.

    spec = load_job(text, source="job.yml", base_dir=Path("."))   # CommandJobSpec, SweepJobSpec, ...
    spec = load_sweep_job(text, ...) / load_pipeline_job(...) / load_component(...)

`READERS` maps each kind (see `kinds.KINDS`) to `reader(issues, data, context)`, which reports
every problem to `issues` and returns the spec (None if unusable); `reading_context(base_dir)` is
the context they are given (it knows every component type).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .assets import read_data_asset, read_environment_asset, read_model_asset
from .automl import read_automl_job
from .command import read_command_job
from .components import Context, read_component
from .fields import Issues
from .kinds import detect_kind
from .overrides import apply_overrides
from .parallel import read_parallel_job
from .pipeline import COMPONENT_CLASSES, read_pipeline_job
from .spark import read_spark_job
from .sweep import read_sweep_job
from .yaml_loader import parse_yaml

Reader = Callable[[Issues, Any, Context], Any]

READERS: dict[str, Reader] = {
    "command": lambda issues, data, context: read_command_job(issues, data, base_dir=context.base_dir),
    "sweep": lambda issues, data, context: read_sweep_job(issues, data, context=context),
    "pipeline": lambda issues, data, context: read_pipeline_job(issues, data, context=context),
    "automl": lambda issues, data, context: read_automl_job(issues, data, base_dir=context.base_dir),
    "spark": lambda issues, data, context: read_spark_job(issues, data, base_dir=context.base_dir),
    "parallel": lambda issues, data, context: read_parallel_job(issues, data, base_dir=context.base_dir),
    "component": lambda issues, data, context: _whole(issues, read_component(issues, data, context)),
    "environment": lambda issues, data, context: read_environment_asset(issues, data, base_dir=context.base_dir),
    "data": lambda issues, data, context: read_data_asset(issues, data, base_dir=context.base_dir),
    "model": lambda issues, data, context: read_model_asset(issues, data, base_dir=context.base_dir),
}


def _whole(issues: Issues, spec: Any) -> Any:
    return None if issues.errors else spec


def reading_context(base_dir: Path | None) -> Context:
    """The context for reading one file in `base_dir` (None: unknown), with every component type."""
    return Context(COMPONENT_CLASSES, Path(base_dir) if base_dir is not None else None)


def read_spec(issues: Issues, kind: str, data: Any, *, base_dir: Path | None = None) -> Any:
    """Read `data` as a file of `kind`; None when the kind is unknown or the data has errors."""
    reader = READERS.get(kind)
    if reader is None:
        return None
    return reader(issues, data, reading_context(base_dir))


def _load(text: str, source: str, base_dir: Path | None, overrides: Sequence[str], kind: str | None) -> Any:
    data, locations, problems = parse_yaml(text, source=source)
    issues = Issues(source=source, locations=locations)
    issues.errors += problems
    data = apply_overrides(issues, data, overrides)
    found = detect_kind(data)
    kind = kind or found
    if kind not in READERS:
        issues.error("", "not recognised as an Azure ML job, component or asset: add `type:` (command, sweep, "
                         "pipeline, automl, spark, parallel) or `$schema:`")
    spec = read_spec(issues, kind, data, base_dir=base_dir)
    issues.raise_if_errors()
    return spec


def load_job(
    text: str, *, source: str = "<string>", base_dir: Path | None = None, overrides: Sequence[str] = ()
) -> Any:
    """Parse any Azure ML file (job, component or asset), apply `--set` overrides and validate it
    as its kind; returns the spec (CommandJobSpec, SweepJobSpec, PipelineJobSpec, ...), raises
    SpecError. With `base_dir` (the file's folder) component files are loaded and local paths
    checked (missing folders are not errors)."""
    return _load(text, source, base_dir, overrides, None)


def load_sweep_job(text: str, *, source: str = "<string>", base_dir: Path | None = None,
                   overrides: Sequence[str] = ()) -> Any:
    """Like `load_command_job`, for sweep jobs; returns a SweepJobSpec or raises SpecError."""
    return _load(text, source, base_dir, overrides, "sweep")


def load_pipeline_job(text: str, *, source: str = "<string>", base_dir: Path | None = None,
                      overrides: Sequence[str] = ()) -> Any:
    """Parse a pipeline job; `base_dir` is needed to load the component files its steps name."""
    return _load(text, source, base_dir, overrides, "pipeline")


def load_component(text: str, *, source: str = "<string>", base_dir: Path | None = None,
                   overrides: Sequence[str] = ()) -> Any:
    """Parse a component file (command, pipeline, spark or parallel); raises SpecError."""
    return _load(text, source, base_dir, overrides, "component")
