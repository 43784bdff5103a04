"""Parallel jobs (`type: parallel`): a task run over mini-batches of `input_data` on many nodes,
and the parallel fields shared with parallel components and pipeline steps."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .common import (
    ComputeMixin,
    JobSpec,
    part,
    port_names,
    read_compute,
    read_header,
    read_identity,
    read_job_root,
    read_ports,
    warn_missing,
)
from .expressions import REFERENCE, check_command, ref
from .fields import EMPTY, FrozenDict, Issues, Section, Spec, describe, is_integer
from .parts import EnvironmentSpec, QueueSettingsSpec, ResourcesSpec

TASK_TYPES = {"run_function": "run_function", "model": "model", "function": "function"}
LOGGING_LEVELS = {"debug": "DEBUG", "info": "INFO", "warning": "WARNING", "warn": "WARNING"}
_MINI_BATCH = re.compile(r"[1-9][0-9]*\s*([kmg]b)?", re.IGNORECASE)


@dataclass(frozen=True)
class ParallelTaskSpec(Spec):
    """What each mini-batch runs: `run_function` calls `entry_script`'s run() with the batch."""

    type: str
    environment: EnvironmentSpec | None = None
    code: str | None = None
    entry_script: str | None = None
    program_arguments: str | None = None
    model: str | None = None
    append_row_to: str | None = None

    EXAMPLE = "task: {type: run_function, code: ./src, entry_script: score.py, environment: {image: python:3.11}}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any, *, inputs=(), outputs=()) -> ParallelTaskSpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        section.required("type", "type: run_function")
        section.required("environment", "environment: {image: python:3.11-slim}")
        type_ = section.choice("type", TASK_TYPES, what="parallel task type")
        if type_ == "run_function":
            section.required("entry_script", "entry_script: score.py")
        arguments = section.text("program_arguments")
        if arguments is not None:
            check_command(issues, section.at("program_arguments"), arguments, inputs=inputs, outputs=outputs)
        append = section.text("append_row_to")
        if append is not None:
            _check_single_reference(section, "append_row_to", append, "outputs", outputs)
        return cls(
            type=type_ or "",
            environment=part(section, "environment", EnvironmentSpec.parse),
            code=section.text("code"),
            entry_script=section.text("entry_script"),
            program_arguments=arguments,
            model=section.text("model"),
            append_row_to=append,
        )


@dataclass(frozen=True)
class RetrySettingsSpec(Spec):
    max_retries: int | None = None
    timeout: int | None = None  # seconds per mini-batch

    EXAMPLE = "retry_settings: {max_retries: 2, timeout: 60}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> RetrySettingsSpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        return cls(
            max_retries=section.integer("max_retries", minimum=0),
            timeout=section.integer("timeout", minimum=1, unit=" (seconds)"),
        )


@dataclass(frozen=True)
class ParallelFields:
    """The parallel fields of a parallel job, component or pipeline step."""

    task: ParallelTaskSpec | None = None
    input_data: str | None = None
    mini_batch_size: str | None = None
    partition_keys: tuple[str, ...] = ()
    resources: ResourcesSpec | None = None
    retry_settings: RetrySettingsSpec | None = None
    max_concurrency_per_instance: int | None = None
    error_threshold: int | None = None
    mini_batch_error_threshold: int | None = None
    logging_level: str | None = None
    environment_variables: FrozenDict = EMPTY


PARALLEL_FIELDS = tuple(field.name for field in dataclasses.fields(ParallelFields))


def _check_single_reference(section: Section, key: str, text: str, namespace: str, declared: Sequence[str]) -> None:
    """`text` must be exactly `${{<namespace>.<name>}}` with a declared name."""
    match = REFERENCE.fullmatch(text.strip())
    expression = match.group(1) if match else ""
    prefix = namespace + "."
    if not expression.startswith(prefix):
        section.error(key, f"expected a reference such as {ref(prefix + '<name>')}, got {describe(text)}")
        return
    check_command(
        section.issues,
        section.at(key),
        text,
        inputs=declared if namespace == "inputs" else (),
        outputs=declared if namespace == "outputs" else (),
    )


def read_parallel_fields(root: Section, *, inputs: Sequence[str], outputs: Sequence[str], task_required: bool) -> dict:
    """The parallel fields of a job, component or step, as keyword arguments."""
    if task_required:
        root.required("task", ParallelTaskSpec.EXAMPLE)
    input_data = root.text("input_data")
    if input_data is not None:
        _check_single_reference(root, "input_data", input_data, "inputs", inputs)
    mini_batch = root.data.get("mini_batch_size")
    if is_integer(mini_batch):
        mini_batch = str(mini_batch)
    if mini_batch is not None and not (isinstance(mini_batch, str) and (
        _MINI_BATCH.fullmatch(mini_batch.strip()) or REFERENCE.fullmatch(mini_batch.strip())
    )):
        root.error("mini_batch_size", f"expected a count of files or a size such as 10kb, got {describe(mini_batch)}")
        mini_batch = None
    task = root.data.get("task")
    return dict(
        task=ParallelTaskSpec.parse(root.issues, root.at("task"), task, inputs=inputs, outputs=outputs)
        if task is not None
        else None,
        input_data=input_data,
        mini_batch_size=mini_batch,
        partition_keys=root.text_list("partition_keys", hint="write for example `partition_keys: [region]`"),
        resources=part(root, "resources", ResourcesSpec.parse),
        retry_settings=part(root, "retry_settings", RetrySettingsSpec.parse),
        max_concurrency_per_instance=root.integer("max_concurrency_per_instance", minimum=1),
        error_threshold=root.integer("error_threshold", minimum=-1),
        mini_batch_error_threshold=root.integer("mini_batch_error_threshold", minimum=-1),
        logging_level=root.choice("logging_level", LOGGING_LEVELS, what="logging level"),
        environment_variables=root.text_map("environment_variables"),
    )


@dataclass(frozen=True)
class ParallelJobSpec(ComputeMixin, ParallelFields, JobSpec):
    """A validated parallel job. Build one with `load_job` (kind `parallel`)."""

    inputs: FrozenDict = EMPTY
    outputs: FrozenDict = EMPTY
    queue_settings: QueueSettingsSpec | None = None

    KIND: ClassVar[str] = "parallel"
    FIELDS: ClassVar[tuple[str, ...]] = (*PARALLEL_FIELDS, "inputs", "outputs", "compute", "identity", "queue_settings")
    LEAD: ClassVar[tuple[str, ...]] = ("task",)


def read_parallel_job(issues: Issues, data: Any, *, base_dir: Path | None = None) -> ParallelJobSpec | None:
    root = read_job_root(issues, data, ParallelJobSpec, what="a parallel job",
                         needs="at least `type: parallel` and `task:`")
    if root is None:
        return None
    root.required("input_data", "input_data: ${{inputs.<name>}}")
    spec = ParallelJobSpec(
        **read_header(root),
        **read_parallel_fields(root, **port_names(root), task_required=True),
        **read_ports(root),
        compute=read_compute(root),
        identity=read_identity(root),
        queue_settings=part(root, "queue_settings", QueueSettingsSpec.parse),
    )
    if base_dir is not None and spec.task is not None:
        warn_missing(issues, base_dir, [("task.code", spec.task.code)])
    return None if issues.errors else spec
