"""Asset files: environments (`az ml environment create`), data and models."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .common import DocumentMixin, warn_missing
from .fields import EMPTY, FrozenDict, Issues, Section, Spec
from .parts import DATA_TYPES, EnvironmentSpec

ASSET_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,254}")
_NAME_HINT = "asset names use letters, digits, '_', '-' and '.' (up to 255)"
DATA_ASSET_TYPES = {"uri_file": "uri_file", "uri_folder": "uri_folder", "mltable": "mltable"}
MODEL_TYPES = {name: name for name in ("custom_model", "mlflow_model", "triton_model")}
assert set(DATA_ASSET_TYPES) | set(MODEL_TYPES) == set(DATA_TYPES)


@dataclass(frozen=True)
class EnvironmentAssetSpec(DocumentMixin, Spec):
    """An environment file: an EnvironmentSpec with a name (and `$schema`)."""

    environment: EnvironmentSpec
    schema: str | None = None

    KIND: ClassVar[str] = "environment"

    def to_dict(self) -> dict:
        data = {"$schema": self.schema} if self.schema else {}
        return {**data, **self.environment.to_data()}


def read_environment_asset(issues: Issues, data: Any, *, base_dir: Path | None = None) -> EnvironmentAssetSpec | None:
    if not isinstance(data, Mapping):
        issues.error("", "expected a mapping with name: and image: or build:")
        return None
    rest = {key: value for key, value in data.items() if key != "$schema"}
    environment = EnvironmentSpec.parse(issues, "", rest)
    root = Section(issues, "", data)
    root.required("name", "name: my-environment")
    root.text("name", pattern=ASSET_NAME, hint=_NAME_HINT)
    if environment is None:
        return None
    if base_dir is not None:
        found = [("conda_file", environment.conda_file if isinstance(environment.conda_file, str) else None)]
        found.append(("build.path", environment.build.path if environment.build else None))
        warn_missing(issues, base_dir, found)
    spec = EnvironmentAssetSpec(environment=environment, schema=root.text("$schema"))
    return None if issues.errors else spec


@dataclass(frozen=True)
class AssetSpec(DocumentMixin, Spec):
    """What data and model assets both have (each adds its own fields, then `schema`)."""

    name: str
    path: str
    type: str
    version: str | None = None
    description: str | None = None
    tags: FrozenDict = EMPTY
    properties: FrozenDict = EMPTY

    KEYS: ClassVar[Mapping[str, str]] = {"schema": "$schema"}


@dataclass(frozen=True)
class DataAssetSpec(AssetSpec):
    type: str = "uri_folder"
    schema: str | None = None

    KIND: ClassVar[str] = "data"


@dataclass(frozen=True)
class ModelAssetSpec(AssetSpec):
    type: str = "custom_model"
    flavors: FrozenDict = EMPTY
    stage: str | None = None
    job_name: str | None = None
    schema: str | None = None

    KIND: ClassVar[str] = "model"


def _read_asset(issues: Issues, data: Any, cls: type, types: Mapping[str, str], what: str, base_dir: Path | None):
    root = Section.read(issues, "", data, cls.yaml_fields(), example=f"name: my-{what}\npath: ./{what}")
    if root is None:
        return None
    root.required("name", f"name: my-{what}")
    root.required("path", f"path: ./{what}")
    fields = dict(
        name=root.text("name", pattern=ASSET_NAME, hint=_NAME_HINT) or "",
        path=root.text("path") or "",
        type=root.choice("type", types, what=f"{what} type") or cls.type,
        version=root.text("version"),
        description=root.text("description"),
        tags=root.text_map("tags", allow_null=True),
        properties=root.text_map("properties", allow_null=True),
        schema=root.text("$schema"),
    )
    if cls is ModelAssetSpec:
        fields.update(flavors=root.any_map("flavors"), stage=root.text("stage"), job_name=root.text("job_name"))
    spec = cls(**fields)
    if base_dir is not None:
        warn_missing(issues, base_dir, [("path", spec.path)])
    return None if issues.errors else spec


def read_data_asset(issues: Issues, data: Any, *, base_dir: Path | None = None) -> DataAssetSpec | None:
    return _read_asset(issues, data, DataAssetSpec, DATA_ASSET_TYPES, "data", base_dir)


def read_model_asset(issues: Issues, data: Any, *, base_dir: Path | None = None) -> ModelAssetSpec | None:
    return _read_asset(issues, data, ModelAssetSpec, MODEL_TYPES, "model", base_dir)
