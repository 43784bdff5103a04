"""Environment: a curated or registered environment, or a Docker image."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

from jobs.wizard.flow import DEFAULT_IMAGE, Problem, finish, set_field, spec_problems, text

REFERENCE = "reference"
IMAGE = "image"
OTHER = "other"
FIELDS = ("env_kind", "curated", "reference", "image")


@dataclass(frozen=True)
class Curated:
    reference: str
    title: str
    detail: str


CURATED_ENVIRONMENTS = (
    Curated("azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest", "Scikit-learn 1.0",
            "Ubuntu 20.04, Python 3.8, CPU"),
    Curated("azureml:AzureML-sklearn-1.5@latest", "Scikit-learn 1.5", "Ubuntu 22.04, Python 3.10, CPU"),
    Curated("azureml:AzureML-lightgbm-3.3@latest", "LightGBM 3.3", "Ubuntu 20.04, Python 3.8, CPU"),
    Curated("azureml:AzureML-tensorflow-2.16-cuda12@latest", "TensorFlow 2.16", "CUDA 12, GPU"),
    Curated("azureml:AzureML-acpt-pytorch-2.8-cuda12.6@latest", "PyTorch 2.8 (ACPT)", "CUDA 12.6, GPU"),
)
DEFAULT_ENVIRONMENT = CURATED_ENVIRONMENTS[0].reference
_CURATED = {c.reference for c in CURATED_ENVIRONMENTS}


def initial(state: Mapping) -> dict:
    env = state["spec"].get("environment")
    if isinstance(env, Mapping):
        return {"env_kind": IMAGE, "curated": DEFAULT_ENVIRONMENT, "reference": "", "image": str(env.get("image") or "")}
    if isinstance(env, str) and env:
        if env in _CURATED:
            return {"env_kind": REFERENCE, "curated": env, "reference": "", "image": DEFAULT_IMAGE}
        return {"env_kind": REFERENCE, "curated": OTHER, "reference": env, "image": DEFAULT_IMAGE}
    return {"env_kind": REFERENCE, "curated": DEFAULT_ENVIRONMENT, "reference": "", "image": DEFAULT_IMAGE}


def _reference(spec: dict, values: Mapping) -> tuple[str, list[Problem]]:
    curated = text(values.get("curated")) or OTHER
    if curated == OTHER:
        set_field(spec, "environment", text(values.get("reference")))
        if "environment" in spec:
            return "reference", []
        return "reference", [Problem("reference", "type an environment, for example azureml:<name>@latest or "
                                                  "azureml:<name>:<version>")]
    if curated in _CURATED:
        spec["environment"] = curated
        return "curated", []
    return "curated", [Problem("curated", f"'{curated}' is not one of the curated environments; choose Other to "
                                          "type it")]


def _image(spec: dict, values: Mapping) -> tuple[str, list[Problem]]:
    old = spec.get("environment")
    env = dict(old) if isinstance(old, Mapping) else {}
    image = text(values.get("image"))
    if image:
        env["image"] = image
        env.pop("build", None)
    else:
        env.pop("image", None)
    spec["environment"] = env
    return "image", []


def apply(state: Mapping, values: Mapping) -> tuple[dict, list[Problem]]:
    spec = copy.deepcopy(dict(state["spec"]))
    kind = text(values.get("env_kind")) or REFERENCE
    if kind == REFERENCE:
        target, problems = _reference(spec, values)
    elif kind == IMAGE:
        target, problems = _image(spec, values)
    else:
        target, problems = "env_kind", [Problem("env_kind", "choose an environment or a Docker image")]
    if not problems:
        problems = spec_problems(spec, "environment", lambda path: target)
    return finish(state, spec, "environment", problems)
