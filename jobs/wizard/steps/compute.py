"""Compute: serverless (tier, VM size or Automatic) or a named cluster, and the instance count;
and the VM table the step shows."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from jobs.wizard import rules
from jobs.wizard.flow import Problem, finish, integer, set_field, spec_problems, text
from quotas.core import SPOT, STANDARD, VmSize
from studio.humanize import plural

SERVERLESS = "serverless"
CLUSTER = "cluster"
TIERS = (STANDARD, SPOT)
FIELDS = ("compute_type", "tier", "instance_type", "instance_count", "cluster")


@dataclass(frozen=True)
class ClusterOption:
    name: str
    instance_type: str
    max_instances: int = 1
    min_instances: int = 0
    state: str = "steady"
    busy_nodes: int = 0


@dataclass(frozen=True)
class ComputeContext:
    """What the step offers: the preview, the VM catalogue with the dedicated vCPUs each family
    has free for this workspace, the clusters and the Spot pool's free vCPUs."""

    serverless_allowed: bool
    catalogue: Mapping[str, VmSize] = field(default_factory=dict)
    quota_free: Mapping[str, int] = field(default_factory=dict)  # family -> free dedicated vCPUs
    clusters: Mapping[str, ClusterOption] = field(default_factory=dict)
    spot_available: int = 0


def initial(state: Mapping, ctx: ComputeContext) -> dict:
    spec = state["spec"]
    resources = spec.get("resources") or {}
    queue = spec.get("queue_settings") or {}
    on_serverless = rules.runs_on_serverless(spec)
    cluster = "" if on_serverless else rules.cluster_name(spec.get("compute"))
    if not (on_serverless and ctx.serverless_allowed) and not cluster and len(ctx.clusters) == 1:
        cluster = next(iter(ctx.clusters))
    return {
        "compute_type": SERVERLESS if on_serverless and ctx.serverless_allowed else CLUSTER,
        "tier": SPOT if str(queue.get("job_tier") or "").lower() == "spot" else STANDARD,
        "instance_type": str(resources.get("instance_type") or "") if on_serverless else "",
        "instance_count": str(resources.get("instance_count") or 1),
        "cluster": cluster,
    }


def find_size(catalogue: Mapping[str, VmSize], name: str) -> VmSize | None:
    """The catalogue's size of that name, matched case-insensitively."""
    return catalogue.get(name) or next((s for s in catalogue.values() if s.name.lower() == name.lower()), None)


def _field(path: str) -> str:
    if path.startswith("resources.instance_count"):
        return "instance_count"
    if path.startswith("resources.instance_type"):
        return "instance_type"
    if path.startswith("queue_settings"):
        return "tier"
    if path.startswith("compute"):
        return "cluster"
    return ""


def _size_problem(wanted: str, tier: str, ctx: ComputeContext) -> Problem | None:
    """The core's refusal of a VM size, with what to do about it on this step."""
    refusal = rules.size_refusal(wanted, tier, ctx.catalogue)
    if refusal is None:
        return None
    if find_size(ctx.catalogue, wanted) is None:
        fix = "choose one from the table"
    elif rules.only_at_spot(wanted, tier, ctx.catalogue):
        fix = "choose Standard or another size"
    else:
        fix = "choose another size, or Automatic"
    message = f"{refusal} Otherwise {fix}" if refusal.endswith("?") else f"{refusal}; {fix}"
    return Problem("instance_type", message, "resources.instance_type")


def _serverless(spec: dict, resources: dict, queue: dict, values: Mapping, ctx: ComputeContext) -> list[Problem]:
    problems = []
    if not ctx.serverless_allowed:
        problems.append(Problem("compute_type", "Serverless compute is a preview: turn it on under Manage "
                                                "previews, or choose a compute cluster"))
    spec.pop("compute", None)
    tier = text(values.get("tier")) or STANDARD
    tier = next((t for t in TIERS if t.lower() == tier.lower()), tier)
    if tier not in TIERS:
        problems.append(Problem("tier", f"unknown tier '{tier}'; choose Standard (dedicated) or Spot (low "
                                        "priority)"))
    queue["job_tier"] = tier
    wanted = text(values.get("instance_type"))
    if not wanted:
        resources.pop("instance_type", None)
        return problems
    refused = _size_problem(wanted, tier, ctx)
    if refused:
        problems.append(refused)
    size = find_size(ctx.catalogue, wanted)
    resources["instance_type"] = size.name if size else wanted
    return problems


def _cluster(spec: dict, resources: dict, queue: dict, values: Mapping, ctx: ComputeContext) -> list[Problem]:
    name = text(values.get("cluster"))
    problems = []
    if not ctx.clusters:
        other = "choose Serverless" if ctx.serverless_allowed else "turn on Serverless compute under Manage previews"
        problems.append(Problem("cluster", f"this workspace has no compute cluster; create one under Compute, "
                                           f"or {other}"))
    elif not name:
        problems.append(Problem("cluster", "choose a cluster"))
    elif name not in ctx.clusters:
        problems.append(Problem("cluster", f"compute '{name}' does not exist in this workspace; choose one of "
                                           f"{', '.join(sorted(ctx.clusters))}", "compute"))
    set_field(spec, "compute", f"azureml:{name}" if name else None)
    resources.pop("instance_type", None)  # a cluster has its own VM size
    queue.pop("job_tier", None)  # and dedicated nodes
    return problems


def apply(state: Mapping, values: Mapping, ctx: ComputeContext) -> tuple[dict, list[Problem]]:
    spec = copy.deepcopy(dict(state["spec"]))
    choice = text(values.get("compute_type")) or (SERVERLESS if ctx.serverless_allowed else CLUSTER)
    resources = dict(spec.get("resources") or {})
    queue = dict(spec.get("queue_settings") or {})
    count = integer(values.get("instance_count"))
    resources["instance_count"] = 1 if count is None else count
    if choice == SERVERLESS:
        problems = _serverless(spec, resources, queue, values, ctx)
    elif choice == CLUSTER:
        problems = _cluster(spec, resources, queue, values, ctx)
    else:
        problems = [Problem("compute_type", "choose Serverless or Compute cluster")]
    set_field(spec, "resources", resources)
    set_field(spec, "queue_settings", queue)
    problems += spec_problems(spec, "compute", _field)
    return finish(state, spec, "compute", problems)


# The VM table ----------------------------------------------------------------------------------

VM_KINDS = (("", "All sizes"), ("cpu", "CPU"), ("gpu", "GPU"), ("quota", "With free quota"))


@dataclass(frozen=True)
class SizeRow:
    size: VmSize
    price: float | None
    quota_available: int  # free vCPUs of the quota this size would use at the tier
    fits: int  # nodes that fit in them
    refusal: str | None
    selected: bool

    @property
    def fits_text(self) -> str:
        return f"fits {plural(self.fits, 'node')}" if self.fits else "no node fits"


def size_rows(ctx: ComputeContext, *, tier: str, query: str = "", kind: str = "", selected: str = "") -> list[SizeRow]:
    """The sizes serverless compute offers, filtered, GPUs last, cheapest first; the selected size
    is always listed."""
    tier = SPOT if tier == SPOT else STANDARD
    query = query.strip().lower()
    rows = []
    for size in ctx.catalogue.values():
        chosen = size.name.lower() == selected.lower()
        free = ctx.spot_available if tier == SPOT else ctx.quota_free.get(size.family, 0)
        row = SizeRow(size, size.price(tier), free, free // size.vcpus if size.vcpus else 0,
                      rules.size_refusal(size.name, tier, ctx.catalogue), chosen)
        if not chosen:
            if rules.size_refusal(size.name, STANDARD, ctx.catalogue):
                continue  # not offered on serverless at all
            if query and query not in f"{size.name} {size.family} {size.gpu_model} {size.category}".lower():
                continue
            if kind == "cpu" and size.gpus or kind == "gpu" and not size.gpus or kind == "quota" and row.fits < 1:
                continue
        rows.append(row)
    return sorted(rows, key=lambda r: (r.size.gpus > 0, r.price if r.price is not None else math.inf, r.size.name))
