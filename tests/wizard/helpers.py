"""A small catalogue, compute choices and a whole walk through the wizard's steps, for the pure tests."""

from __future__ import annotations

from jobs.wizard import flow
from jobs.wizard.steps import basics, code, compute, environment
from quotas.core import VmSize

SIZES = [
    VmSize("Standard_D2s_v3", "standardDSv3Family", 2, 8, temp_disk_gib=16, price_dedicated=0.096, price_spot=0.01056),
    VmSize("Standard_D4s_v3", "standardDSv3Family", 4, 16, temp_disk_gib=32, price_dedicated=0.192,
           price_spot=0.02112),
    VmSize("Standard_NC24ads_A100_v4", "standardNCADSA100v4Family", 24, 220, gpus=1, gpu_model="A100",
           category="gpu-training", price_dedicated=3.673, price_spot=0.44),
    VmSize("Standard_ND96isr_H100_v5", "standardNDSH100v5Family", 96, 1900, gpus=8, gpu_model="H100",
           category="gpu-training", price_dedicated=98.32, price_spot=None),
    VmSize("Standard_NC6", "standardNCFamily", 6, 56, gpus=1, category="gpu-training", price_dedicated=0.9,
           price_spot=0.099, serverless="no"),
]
CATALOGUE = {size.name: size for size in SIZES}
FREE = {"standardDSv3Family": 20, "standardNCADSA100v4Family": 0}
CLUSTERS = {"cpu-cluster": compute.ClusterOption("cpu-cluster", "Standard_DS3_v2", max_instances=4)}
ON = compute.ComputeContext(serverless_allowed=True, catalogue=CATALOGUE, quota_free=FREE, clusters=CLUSTERS,
                            spot_available=12)
OFF = compute.ComputeContext(serverless_allowed=False, catalogue=CATALOGUE, quota_free=FREE, clusters=CLUSTERS,
                             spot_available=12)

COMPUTE_CHOICES = {
    "serverless-automatic": {"compute_type": "serverless", "tier": "Standard", "instance_type": "",
                             "instance_count": "1", "cluster": ""},
    "serverless-size-spot": {"compute_type": "serverless", "tier": "Spot", "instance_type": "Standard_D4s_v3",
                             "instance_count": "2", "cluster": ""},
    "cluster": {"compute_type": "cluster", "tier": "Standard", "instance_type": "", "instance_count": "3",
                "cluster": "cpu-cluster"},
}

CODE = {
    "command": "python train.py --lr ${{inputs.lr}} --data ${{inputs.data}}",
    "code": {"filename": "train.py", "kind": "file", "path": "train.py", "files": 1, "bytes": 10},
    "literals": [{"name": "lr", "type": "number", "value": "0.01"}, {"name": "", "type": "string", "value": ""}],
    "data": [{"name": "data", "original": "", "upload": {"filename": "iris.csv", "kind": "file",
                                                         "path": "iris.csv", "files": 1, "bytes": 5}}],
}


def walk(compute_values: dict, *, ctx=ON, code_values: dict | None = None) -> dict:
    """A whole run through the four steps, each expected to validate."""
    state = flow.new_state()
    state, problems = basics.apply(state, {"name": "fit-check", "experiment_name": "wizard",
                                           "description": "line one\nline two", "tags": "team=vision\nstage="})
    assert problems == []
    state, problems = compute.apply(state, compute_values, ctx)
    assert problems == []
    state, problems = environment.apply(state, {"env_kind": "reference", "curated": environment.DEFAULT_ENVIRONMENT})
    assert problems == []
    state, problems = code.apply(state, code_values or CODE)
    assert problems == []
    return state


def problem_fields(problems) -> dict[str, str]:
    return {p.field: p.message for p in problems}
