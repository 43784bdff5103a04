"""Spark jobs (`type: spark`) and the Spark fields shared with Spark components and pipeline steps.

A Spark job runs `entry` (a Python file or a JVM class) with `args`, on an attached Spark pool
(`compute`) or on serverless Spark (`resources: {instance_type, runtime_version}`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
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
from .expressions import check_command
from .fields import EMPTY, FrozenDict, Issues, Section, Spec, describe, is_integer
from .parts import EnvironmentSpec

SPARK_FIELDS = ("code", "entry", "py_files", "jars", "files", "archives", "conf", "environment", "args")

_MEMORY = re.compile(r"\d+[kKmMgGtTpP]")
_VERSION = re.compile(r"\d+(\.\d+)*")
# Spark settings Azure ML reads itself, and what their values must be.
_CONF = {
    "spark.driver.cores": "count",
    "spark.driver.memory": "memory",
    "spark.executor.cores": "count",
    "spark.executor.memory": "memory",
    "spark.executor.instances": "count",
    "spark.dynamicAllocation.enabled": "boolean",
    "spark.dynamicAllocation.minExecutors": "count",
    "spark.dynamicAllocation.maxExecutors": "count",
}


@dataclass(frozen=True)
class SparkEntrySpec(Spec):
    """What Spark runs: a Python `file` or a JVM `class_name` (exactly one)."""

    file: str | None = None
    class_name: str | None = None

    EXAMPLE = "entry: {file: main.py}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> SparkEntrySpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        if section.has("file") == section.has("class_name"):
            issues.error(path, "give exactly one of file: (a Python script) or class_name: (a JVM class)")
        return cls(file=section.text("file"), class_name=section.text("class_name"))


@dataclass(frozen=True)
class SparkResourcesSpec(Spec):
    """Serverless Spark: the VM size of the pool and the Spark runtime version."""

    instance_type: str | None = None
    runtime_version: str | None = None

    EXAMPLE = "resources: {instance_type: standard_e4s_v3, runtime_version: '3.4'}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> SparkResourcesSpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        section.required("instance_type", "instance_type: standard_e4s_v3")
        section.required("runtime_version", "runtime_version: '3.4'")
        return cls(
            instance_type=section.text("instance_type"),
            runtime_version=section.text(
                "runtime_version", pattern=_VERSION, hint="write a Spark runtime version such as '3.4'"
            ),
        )


def read_conf(section: Section, key: str = "conf") -> FrozenDict:
    """Spark settings; the ones Azure ML reads are checked (counts, memory sizes such as 2g)."""
    value = section.data.get(key)
    if value is None:
        return EMPTY
    if not isinstance(value, Mapping):
        section.error(key, "expected a mapping of Spark settings, such as `spark.executor.memory: 2g`")
        return EMPTY
    conf = Section(section.issues, section.at(key), value)
    result = {}
    for name, item in value.items():
        rule = _CONF.get(str(name))
        if rule == "count":
            item = conf.integer(name, minimum=0 if name.endswith("minExecutors") else 1)
        elif rule == "memory":
            item = conf.text(name, pattern=_MEMORY, hint="write a size with a unit, such as 2g or 512m")
        elif rule == "boolean":
            item = conf.boolean(name)
        elif isinstance(item, (Mapping, list)):
            conf.error(name, f"expected a single value, got {describe(item)}")
            item = None
        if item is not None:
            result[str(name)] = item
    low, high = result.get("spark.dynamicAllocation.minExecutors"), result.get("spark.dynamicAllocation.maxExecutors")
    if is_integer(low) and is_integer(high) and low > high:
        conf.error(
            "spark.dynamicAllocation.minExecutors",
            f"is {low}, more than spark.dynamicAllocation.maxExecutors ({high}); make it at most {high}",
        )
    return FrozenDict(result)


def read_file_list(section: Section, key: str) -> tuple[str, ...]:
    files = section.text_list(key, hint=f"write for example `{key}: [helpers.py]`")
    seen = set()
    for index, file in enumerate(files):
        if file in seen:
            section.issues.error(f"{section.at(key)}[{index}]", f"'{file}' is listed twice; keep only one")
        seen.add(file)
    return files


@dataclass(frozen=True)
class SparkFields:
    """The Spark fields of a Spark job, component or pipeline step (the names in SPARK_FIELDS)."""

    entry: SparkEntrySpec | None = None
    code: str | None = None
    py_files: tuple[str, ...] = ()
    jars: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    archives: tuple[str, ...] = ()
    conf: FrozenDict = EMPTY
    environment: EnvironmentSpec | None = None
    args: str | None = None


assert {field.name for field in dataclasses.fields(SparkFields)} == set(SPARK_FIELDS)


def read_spark_fields(root: Section, *, inputs: Sequence[str], outputs: Sequence[str], entry_required: bool) -> dict:
    """The Spark fields of a job, component or step, as keyword arguments."""
    if entry_required:
        root.required("entry", "entry: {file: main.py}")
    args = root.text("args")
    if args is not None:
        check_command(root.issues, root.at("args"), args, inputs=inputs, outputs=outputs)
    return dict(
        code=root.text("code"),
        entry=part(root, "entry", SparkEntrySpec.parse),
        py_files=read_file_list(root, "py_files"),
        jars=read_file_list(root, "jars"),
        files=read_file_list(root, "files"),
        archives=read_file_list(root, "archives"),
        conf=read_conf(root),
        environment=part(root, "environment", EnvironmentSpec.parse),
        args=args,
    )


def check_direct_modes(issues: Issues, inputs: Mapping, outputs: Mapping, *, prefix: str = "") -> None:
    """Spark reads and writes storage itself: data inputs and outputs must use mode: direct."""
    for direction, items in (("inputs", inputs), ("outputs", outputs)):
        for name, item in items.items():
            mode = getattr(item, "mode", None)
            if mode is not None and mode != "direct":
                issues.error(
                    f"{prefix}{direction}.{name}.mode",
                    f"Spark reads its data itself, so only mode: direct works here, not {mode}",
                )


@dataclass(frozen=True)
class SparkJobSpec(ComputeMixin, SparkFields, JobSpec):
    """A validated Spark job. Build one with `load_job` (kind `spark`)."""

    inputs: FrozenDict = EMPTY
    outputs: FrozenDict = EMPTY
    resources: SparkResourcesSpec | None = None

    KIND: ClassVar[str] = "spark"
    FIELDS: ClassVar[tuple[str, ...]] = (*SPARK_FIELDS, "inputs", "outputs", "compute", "resources", "identity")
    LEAD: ClassVar[tuple[str, ...]] = ("entry",)


def read_spark_job(issues: Issues, data: Any, *, base_dir: Path | None = None) -> SparkJobSpec | None:
    root = read_job_root(issues, data, SparkJobSpec, what="a Spark job", needs="at least `type: spark` and `entry:`")
    if root is None:
        return None
    ports = read_ports(root)
    check_direct_modes(issues, **ports)
    spec = SparkJobSpec(
        **read_header(root),
        **read_spark_fields(root, **port_names(root), entry_required=True),
        **ports,
        compute=read_compute(root),
        resources=part(root, "resources", SparkResourcesSpec.parse),
        identity=read_identity(root),
    )
    if base_dir is not None:
        warn_missing(issues, base_dir, [("code", spec.code)])
    return None if issues.errors else spec
