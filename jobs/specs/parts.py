"""Typed pieces shared by job kinds: environment, inputs, outputs, resources, distribution,
limits, queue settings, identity and interactive services.

Each piece is a frozen dataclass whose fields are exactly its YAML fields, with
`parse(issues, path, value)`, which reads the YAML value at `path`, reports every problem to
`issues` and returns the piece (None when unusable), and `to_data()`, which writes it back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .fields import EMPTY, FrozenDict, Issues, Scalar, Section, Spec, describe, freeze, is_integer, one_of


def _options(*names: str) -> dict[str, str]:
    return {name: name for name in names}


LITERAL_TYPES = _options("string", "integer", "number", "boolean")
DATA_TYPES = _options("uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model", "triton_model")
INPUT_MODES = _options("ro_mount", "rw_mount", "download", "direct", "eval_mount", "eval_download")
OUTPUT_MODES = _options("rw_mount", "upload", "direct")
DISTRIBUTION_TYPES = _options("pytorch", "mpi", "tensorflow")
JOB_TIERS = {"spot": "Spot", "basic": "Basic", "standard": "Standard", "premium": "Premium"}
PRIORITIES = _options("low", "medium", "high")
IDENTITY_TYPES = {**_options("user_identity", "managed", "aml_token"), "managed_identity": "managed"}
SERVICE_TYPES = _options("jupyter_lab", "ssh", "tensor_board", "vs_code")
OS_TYPES = _options("linux", "windows")


def snake_case(text: str) -> str:
    """`AMLToken` -> `aml_token`, `UserIdentity` -> `user_identity` (Azure ML accepts both)."""
    text = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", text)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower()


# Environment ---------------------------------------------------------------------------------

_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"
_ENVIRONMENT_REFERENCE = re.compile(
    "|".join(
        [
            rf"(azureml:)?{_NAME}(:{_NAME}|@{_NAME})",  # azureml:name:1, azureml:name@latest, name:1
            rf"azureml:{_NAME}",  # the latest version of a workspace environment
            rf"azureml://registries/{_NAME}/environments/{_NAME}/(versions|labels)/{_NAME}",
            r"(azureml:)?/subscriptions/[^/\s]+/resourceGroups/[^/\s]+/providers/"
            r"Microsoft\.MachineLearningServices/(workspaces|registries)/[^/\s]+/environments/[^/\s]+"
            r"(/versions/[^/\s]+)?",  # an ARM id
            r"file:\S+",  # an environment YAML file next to the job
        ]
    ),
    re.IGNORECASE,
)
_ENVIRONMENT_HINT = (
    "write azureml:<name>:<version>, azureml:<name>@latest, "
    "azureml://registries/<registry>/environments/<name>/labels/latest, "
    "or a mapping such as `environment: {image: python:3.11-slim}`"
)


@dataclass(frozen=True)
class BuildSpec(Spec):
    """A Docker build context: a folder (local or remote) and the Dockerfile inside it."""

    path: str
    dockerfile_path: str | None = None

    EXAMPLE = "build: {path: docker-context}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> BuildSpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        section.required("path", "path: docker-context")
        return cls(path=section.text("path") or "", dockerfile_path=section.text("dockerfile_path"))


@dataclass(frozen=True)
class EnvironmentSpec(Spec):
    """Either a `reference` to a registered environment, or an inline (anonymous) one."""

    reference: str | None = None
    image: str | None = None
    conda_file: str | FrozenDict | None = None
    build: BuildSpec | None = None
    name: str | None = None
    version: str | None = None
    description: str | None = None
    os_type: str | None = None
    datastore: str | None = None
    tags: FrozenDict = EMPTY
    properties: FrozenDict = EMPTY
    inference_config: FrozenDict = EMPTY

    EXAMPLE = "environment: {image: python:3.11-slim}"

    @property
    def is_reference(self) -> bool:
        return self.reference is not None

    @classmethod
    def yaml_fields(cls) -> tuple[str, ...]:
        return tuple(name for name in super().yaml_fields() if name != "reference")

    def to_data(self) -> Any:
        return self.reference if self.is_reference else super().to_data()

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> EnvironmentSpec | None:
        if isinstance(value, str):
            if not _ENVIRONMENT_REFERENCE.fullmatch(value.strip()):
                issues.error(path, f"{describe(value)} is not an environment reference; {_ENVIRONMENT_HINT}")
                return None
            return cls(reference=value.strip())
        if not isinstance(value, Mapping):
            issues.error(path, f"expected a reference or a mapping, got {describe(value)}; {_ENVIRONMENT_HINT}")
            return None
        section = cls.section(issues, path, value)
        if section.has("image") and section.has("build"):
            issues.error(path, "give either image: or build:, not both")
        elif not section.has("image") and not section.has("build"):
            issues.error(
                path,
                "an inline environment needs image: (a Docker image such as python:3.11-slim) "
                "or build: (a Docker build context folder)",
            )
        return cls(
            image=section.text("image"),
            conda_file=_conda_file(section),
            build=BuildSpec.parse(issues, section.at("build"), value["build"]) if section.has("build") else None,
            name=section.text("name"),
            version=section.text("version"),
            description=section.text("description"),
            os_type=section.choice("os_type", OS_TYPES, what="os_type"),
            datastore=section.text("datastore"),
            tags=section.text_map("tags", allow_null=True),
            properties=section.text_map("properties", allow_null=True),
            inference_config=section.any_map("inference_config"),
        )


def _conda_file(section: Section) -> str | FrozenDict | None:
    """A conda file path, or the conda environment itself written inline."""
    value = section.data.get("conda_file")
    if value is None:
        return None
    if not isinstance(value, (str, Mapping)):
        section.error("conda_file", f"expected a file path or a conda mapping, got {describe(value)}")
        return None
    if section.has("build"):
        section.error("conda_file", "only works with image:; with build:, install packages in the Dockerfile")
    return freeze(value)


# Inputs and outputs --------------------------------------------------------------------------

_LITERAL_EXAMPLES = {
    "string": 'value: "hello"',
    "integer": "value: 5",
    "number": "value: 0.01",
    "boolean": "value: true",
}
_DATA_ONLY = ("path", "mode", "datastore", "path_on_compute")


def literal_type(value: Scalar) -> str:
    """The input type a bare YAML value implies: `42` -> integer, `0.1` -> number, ..."""
    if isinstance(value, bool):
        return "boolean"
    if is_integer(value):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _literal(section: Section, key: str, type_: str) -> Scalar | None:
    value = section.data.get(key)
    if value is None:
        return None
    kind = literal_type(value) if isinstance(value, (str, int, float)) else None
    if type_ == "string" and kind in ("string", "integer", "number"):
        return str(value)
    if kind == type_ or (type_ == "number" and kind == "integer"):
        return value
    example = _LITERAL_EXAMPLES[type_]
    section.error(key, f"an input of type {type_} needs a value such as `{example}`, got {describe(value)}")
    return None


@dataclass(frozen=True)
class InputSpec(Spec):
    """A job input: a literal (string/integer/number/boolean `value`) or data at `path`."""

    type: str = "uri_folder"
    path: str | None = None
    mode: str | None = None
    value: Scalar | None = None
    default: Scalar | None = None
    optional: bool | None = None
    description: str | None = None
    datastore: str | None = None
    path_on_compute: str | None = None

    EXAMPLE = "name: {type: uri_folder, path: ./data}"

    @property
    def is_literal(self) -> bool:
        return self.type in LITERAL_TYPES

    def to_data(self) -> Any:
        data = super().to_data()
        if data.keys() == {"type", "value"} and literal_type(self.value) == self.type:
            return self.value  # written as `name: 42`, the way people write literals
        return data

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> InputSpec | None:
        if isinstance(value, (str, int, float, bool)):
            return cls(type=literal_type(value), value=value)
        if value is None:
            issues.error(path, f"no value; write a literal (`name: 5`) or data (`{cls.EXAMPLE}`)")
            return None
        section = cls.section(issues, path, value)
        if section is None:
            return None
        type_ = section.choice("type", {**DATA_TYPES, **LITERAL_TYPES}, what="input type")
        if type_ is None:
            given = section.data.get("value", section.data.get("default"))
            type_ = literal_type(given) if given is not None and not section.has("path") else "uri_folder"
        common = dict(type=type_, optional=section.boolean("optional"), description=section.text("description"))
        if type_ in LITERAL_TYPES:
            return cls._literal_input(section, common)
        return cls._data_input(section, common)

    @classmethod
    def _literal_input(cls, section: Section, common: dict) -> InputSpec:
        type_ = common["type"]
        for key in _DATA_ONLY:
            if section.has(key):
                section.error(key, f"only data inputs (uri_file, uri_folder, ...) take {key}; {type_} inputs take value:")
        if not section.has("value") and not section.has("default") and not common["optional"]:
            section.required("value", _LITERAL_EXAMPLES[type_])
        return cls(value=_literal(section, "value", type_), default=_literal(section, "default", type_), **common)

    @classmethod
    def _data_input(cls, section: Section, common: dict) -> InputSpec:
        type_ = common["type"]
        for key in ("value", "default"):
            if section.has(key):
                section.error(key, f"only literal inputs (string, integer, number, boolean) take {key}; use path:")
        mode = section.choice("mode", INPUT_MODES, what="input mode", wrong_side={"upload": "is an output mode"})
        if mode in ("eval_mount", "eval_download") and type_ != "mltable":
            section.error("mode", f"{mode} only works with mltable inputs; use ro_mount or download")
        if not section.has("path") and not common["optional"]:
            section.required("path", "path: azureml:<data-name>@latest")
        return cls(
            path=section.text("path"),
            mode=mode,
            datastore=section.text("datastore"),
            path_on_compute=section.text("path_on_compute"),
            **common,
        )


_INPUT_ONLY_MODES = {mode: "is an input mode" for mode in INPUT_MODES if mode not in OUTPUT_MODES}


@dataclass(frozen=True)
class OutputSpec(Spec):
    """A job output; written as `name:` alone it is a uri_folder the job writes to."""

    type: str = "uri_folder"
    path: str | None = None
    mode: str | None = None
    name: str | None = None
    version: str | None = None
    description: str | None = None
    datastore: str | None = None
    path_on_compute: str | None = None

    EXAMPLE = "name: {type: uri_folder, mode: rw_mount}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> OutputSpec | None:
        if value is None:
            return cls()
        section = cls.section(issues, path, value)
        if section is None:
            return None
        return cls(
            type=section.choice("type", DATA_TYPES, what="output type") or "uri_folder",
            path=section.text("path"),
            mode=section.choice("mode", OUTPUT_MODES, what="output mode", wrong_side=_INPUT_ONLY_MODES),
            name=section.text("name"),
            version=section.text("version"),
            description=section.text("description"),
            datastore=section.text("datastore"),
            path_on_compute=section.text("path_on_compute"),
        )


# Where and how the job runs ------------------------------------------------------------------

_SHM_SIZE = re.compile(r"[1-9][0-9]*[bkmgBKMG]?")


@dataclass(frozen=True)
class ResourcesSpec(Spec):
    instance_type: str | None = None
    instance_count: int | None = None
    shm_size: str | None = None
    docker_args: str | None = None
    max_instance_count: int | None = None
    locations: tuple[str, ...] = ()
    properties: FrozenDict = EMPTY

    EXAMPLE = "resources: {instance_type: Standard_DS3_v2, instance_count: 1}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> ResourcesSpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        return cls(
            instance_type=section.text("instance_type"),
            instance_count=section.integer("instance_count", minimum=1),
            shm_size=section.text("shm_size", pattern=_SHM_SIZE, hint="write a size such as 2g (units b, k, m, g)"),
            docker_args=section.text("docker_args"),
            max_instance_count=section.integer("max_instance_count", minimum=1),
            locations=section.text_list("locations", hint="write for example `locations: [westeurope]`"),
            properties=section.any_map("properties"),
        )


_DISTRIBUTION_FIELDS = {
    "pytorch": ("process_count_per_instance",),
    "mpi": ("process_count_per_instance",),
    "tensorflow": ("worker_count", "parameter_server_count"),
}


@dataclass(frozen=True)
class DistributionSpec(Spec):
    type: str
    process_count_per_instance: int | None = None
    worker_count: int | None = None
    parameter_server_count: int | None = None

    EXAMPLE = "distribution: {type: pytorch, process_count_per_instance: 2}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> DistributionSpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        section.required("type", "type: pytorch")
        type_ = section.choice("type", DISTRIBUTION_TYPES, what="distribution type")
        for key in _DISTRIBUTION_FIELDS["pytorch"] + _DISTRIBUTION_FIELDS["tensorflow"]:
            takes = _DISTRIBUTION_FIELDS.get(type_, (key,))
            if key in section.data and key not in takes:
                section.error(key, f"distribution type {type_} does not take {key}; it takes {one_of(takes)}")
        return cls(
            type=type_ or "",
            process_count_per_instance=section.integer("process_count_per_instance", minimum=1),
            worker_count=section.integer("worker_count", minimum=1),
            parameter_server_count=section.integer("parameter_server_count", minimum=0),
        )


@dataclass(frozen=True)
class LimitsSpec(Spec):
    timeout: int | None = None  # seconds

    EXAMPLE = "limits: {timeout: 3600}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> LimitsSpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        return cls(timeout=section.integer("timeout", minimum=1, unit=" (seconds)"))


@dataclass(frozen=True)
class QueueSettingsSpec(Spec):
    """`job_tier` is normalised to Spot, Basic, Standard or Premium; `priority` to low/medium/high."""

    job_tier: str | None = None
    priority: str | None = None

    EXAMPLE = "queue_settings: {job_tier: Spot}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> QueueSettingsSpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        return cls(
            job_tier=section.choice("job_tier", JOB_TIERS, what="job tier"),
            priority=section.choice("priority", PRIORITIES, what="priority"),
        )


@dataclass(frozen=True)
class IdentitySpec(Spec):
    """user_identity (the default: the submitting user's rights), managed, or aml_token."""

    type: str
    client_id: str | None = None
    object_id: str | None = None
    msi_resource_id: str | None = None

    EXAMPLE = "identity: {type: user_identity}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> IdentitySpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        section.required("type", "type: user_identity")
        type_ = section.choice("type", IDENTITY_TYPES, what="identity type", normalise=snake_case)
        for key in ("client_id", "object_id", "msi_resource_id"):
            if type_ and type_ != "managed" and key in section.data:
                section.error(key, f"only managed identities take {key}; set type: managed or remove {key}")
        return cls(
            type=type_ or "",
            client_id=section.text("client_id"),
            object_id=section.text("object_id"),
            msi_resource_id=section.text("msi_resource_id"),
        )


_SERVICE_ONLY = {"log_dir": "tensor_board", "ssh_public_keys": "ssh"}
_ALL_NODES = re.compile("all")


@dataclass(frozen=True)
class ServiceSpec(Spec):
    """An interactive service on the job's nodes (JupyterLab, SSH, TensorBoard, VS Code)."""

    type: str
    port: int | None = None
    nodes: str | None = None
    log_dir: str | None = None
    ssh_public_keys: str | None = None
    properties: FrozenDict = EMPTY

    EXAMPLE = "my_jupyter: {type: jupyter_lab}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> ServiceSpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        section.required("type", "type: jupyter_lab")
        type_ = section.choice("type", SERVICE_TYPES, what="service type")
        for key, owner in _SERVICE_ONLY.items():
            if type_ and key in section.data and type_ != owner:
                section.error(key, f"only {owner} services take {key}")
        return cls(
            type=type_ or "",
            port=section.integer("port", minimum=1),
            nodes=section.text("nodes", pattern=_ALL_NODES, hint="write `nodes: all` or leave it out (head node only)"),
            log_dir=section.text("log_dir"),
            ssh_public_keys=section.text("ssh_public_keys"),
            properties=section.any_map("properties"),
        )
