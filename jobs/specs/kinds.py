"""What kind of Azure ML file a parsed YAML mapping is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KINDS = ("command", "sweep", "pipeline", "automl", "spark", "parallel", "component",
         "environment", "data", "model", "unknown")
JOB_TYPES = ("command", "sweep", "pipeline", "automl", "spark", "parallel")

# `$schema` file names (lower-cased, without .schema.json) and the kind they announce.
_SCHEMAS = {
    "commandjob": "command",
    "sweepjob": "sweep",
    "pipelinejob": "pipeline",
    "automljob": "automl",
    "sparkjob": "spark",
    "paralleljob": "parallel",
    "environment": "environment",
    "data": "data",
    "model": "model",
}
_ASSETS = ("environment", "data", "model")
_DATA_TYPES = ("uri_file", "uri_folder", "mltable")
_MODEL_TYPES = ("mlflow_model", "custom_model", "triton_model")
_SWEEP_KEYS = {"trial", "search_space", "sampling_algorithm", "objective"}
_COMMAND_KEYS = {"command", "environment", "code", "distribution", "environment_variables", "resources", "limits"}


def schema_name(value: Any) -> str | None:
    """`https://.../latest/commandJob.schema.json` -> `commandjob`."""
    if not isinstance(value, str) or not value.strip():
        return None
    name = value.strip().split("?")[0].rstrip("/").rsplit("/", 1)[-1].lower()
    return name.removesuffix(".json").removesuffix(".schema")


def detect_kind(mapping: Any) -> str:
    """One of KINDS, from `$schema`, then `type:`, then the shape of the mapping.

    Components carry `type: command` too; they are told apart by their component `$schema`
    or, without one, by the `version` / `is_deterministic` fields that jobs never have.
    """
    if not isinstance(mapping, Mapping):
        return "unknown"
    schema = schema_name(mapping.get("$schema"))
    if schema and schema.endswith("component"):
        return "component"
    if schema in _SCHEMAS and _SCHEMAS[schema] in _ASSETS:
        return _SCHEMAS[schema]
    type_ = mapping.get("type")
    type_ = type_.strip().lower() if isinstance(type_, str) else None
    if type_ in JOB_TYPES:
        return "component" if "version" in mapping or "is_deterministic" in mapping else type_
    if schema in _SCHEMAS:
        return _SCHEMAS[schema]
    return _kind_from_shape(mapping, type_)


def _kind_from_shape(mapping: Mapping, type_: str | None) -> str:
    keys = set(mapping)
    if "jobs" in keys:
        return "pipeline"
    if keys & _SWEEP_KEYS:
        return "sweep"
    if "dependencies" in keys and keys & {"channels", "name"}:
        return "unknown"  # a conda environment file
    if keys & _COMMAND_KEYS:
        return "command"
    if keys & {"image", "build", "conda_file"}:
        return "environment"
    if "path" in keys and type_ in _DATA_TYPES:
        return "data"
    if "path" in keys and type_ in _MODEL_TYPES:
        return "model"
    return "unknown"
