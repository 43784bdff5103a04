"""Quota arithmetic and the VM catalogue, in pure Python (no Django, no clock).

Quota is counted in vCPUs. Dedicated (Standard tier) nodes count against their VM
family's subscription quota, the subscription's total regional vCPUs (``cores``) and,
where an admin set one, the workspace's cap for that family (never above the
subscription's). Spot nodes count against one shared Spot pool per subscription.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from studio.humanize import plural

MAX_QUOTA_VCPUS = 1_000_000
"""The largest quota an admin may set (Azure's own regional limits are far below it)."""
MAX_CLUSTER_NODES = 1_000
MAX_IDLE_SECONDS = 30 * 24 * 3600

REGIONAL_TOTAL = "cores"
SPOT_POOL = "lowPriorityCores"
STANDARD = "Standard"
SPOT = "Spot"
SERVERLESS = "serverless"  # the usage ledger's ``compute`` for serverless nodes (else a cluster's name)
SERVERLESS_COMPUTE = "Serverless"  # how pages, the API and the CLI name it beside the clusters


@dataclass(frozen=True)
class VmSize:
    name: str
    family: str  # the quota family id, e.g. standardDSv2Family
    vcpus: int
    memory_gib: float
    gpus: int = 0
    temp_disk_gib: float = 0
    price_dedicated: float | None = None
    price_spot: float | None = None
    category: str = "cpu-general"
    serverless: str = "yes"  # yes | no | unknown (as the catalogue says)
    gpu_model: str = ""

    @property
    def is_cpu(self) -> bool:
        return self.gpus == 0 and self.category.startswith("cpu")

    def price(self, tier: str) -> float | None:
        return self.price_spot if tier == SPOT else self.price_dedicated

    def describe(self) -> str:
        gpu = f", {plural(self.gpus, 'GPU')} ({self.gpu_model})" if self.gpus else ""
        return f"{plural(self.vcpus, 'vCPU')}, {self.memory_gib:g} GiB{gpu}, {self.temp_disk_gib:g} GiB temp disk"


@dataclass(frozen=True)
class QuotaFamily:
    id: str
    display_name: str
    default_limit: int | None


def _number(value: str, kind=float):
    value = (value or "").strip()
    return kind(value) if value else None


def parse_vm_sizes(text: str) -> list[VmSize]:
    return [
        VmSize(
            name=row["name"], family=row["quota_family_id"], vcpus=int(row["vcpus"]),
            memory_gib=float(row["memory_gib"]), gpus=int(row["gpus"] or 0),
            temp_disk_gib=float(row["temp_disk_gib"] or 0),
            price_dedicated=_number(row["price_dedicated_usd_hour"]), price_spot=_number(row["price_spot_usd_hour"]),
            category=row["category"], serverless=row["aml_serverless_supported"], gpu_model=row.get("gpu_model", ""),
        )
        for row in csv.DictReader(io.StringIO(text))
    ]


def parse_quota_families(text: str) -> list[QuotaFamily]:
    return [
        QuotaFamily(row["quota_family_id"], row["display_name"], _number(row["default_dedicated_vcpu_limit"], int))
        for row in csv.DictReader(io.StringIO(text))
    ]


@dataclass(frozen=True)
class SubscriptionQuota:
    limits: Mapping[str, int]  # family id (and REGIONAL_TOTAL) -> vCPUs
    spot_limit: int = 0


@dataclass(frozen=True)
class WorkspaceQuota:
    subscription: str
    caps: Mapping[str, int] = field(default_factory=dict)  # family id -> vCPUs (absent: no cap)


@dataclass(frozen=True)
class Quotas:
    subscriptions: Mapping[str, SubscriptionQuota]
    workspaces: Mapping[str, WorkspaceQuota]

    def subscription_of(self, workspace: str) -> str:
        return self.workspaces[workspace].subscription


Key = tuple
"""A quota key: ``("family", subscription, family)``, ``("cores", subscription)``,
``("ws", workspace, family)`` (a workspace's cap), ``("spot", subscription)``, or
``("cluster", workspace, cluster)``, whose amounts are nodes rather than vCPUs."""
KEY_KINDS = ("family", "cores", "ws", "spot", "cluster")


def demand(quotas: Quotas, workspace: str, size: VmSize, nodes: int, tier: str) -> dict[Key, int]:
    """The vCPUs a placement takes from each quota it counts against."""
    sub = quotas.subscription_of(workspace)
    vcpus = size.vcpus * nodes
    if tier == SPOT:
        return {("spot", sub): vcpus}
    keys: dict[Key, int] = {("family", sub, size.family): vcpus, ("cores", sub): vcpus}
    if size.family in quotas.workspaces[workspace].caps:
        keys[("ws", workspace, size.family)] = vcpus
    return keys


def limit_of(quotas: Quotas, key: Key) -> int:
    kind = key[0]
    if kind == "spot":
        return quotas.subscriptions[key[1]].spot_limit
    if kind == "cores":
        return quotas.subscriptions[key[1]].limits.get(REGIONAL_TOTAL, 0)
    if kind == "family":
        return quotas.subscriptions[key[1]].limits.get(key[2], 0)
    workspace = quotas.workspaces[key[1]]
    return min(workspace.caps[key[2]], quotas.subscriptions[workspace.subscription].limits.get(key[2], 0))


def effective_limit(quotas: Quotas, workspace: str, size: VmSize, tier: str) -> tuple[int, Key]:
    """The smallest limit a placement of ``size`` meets, and which quota it is."""
    keys = demand(quotas, workspace, size, 1, tier)
    return min(((limit_of(quotas, key), key) for key in keys), key=lambda pair: (pair[0], pair[1][0] != "ws"))


def describe_key(key: Key) -> str:
    kind = key[0]
    if kind == "spot":
        return "the subscription's Spot (low-priority) vCPU quota"
    if kind == "cores":
        return "the subscription's total regional vCPU quota"
    if kind == "family":
        return f"your {key[2]} quota"
    return f"workspace '{key[1]}''s {key[2]} quota"


class Ledger:
    """vCPUs in use per quota key; a working copy the core updates as it admits jobs."""

    def __init__(self, quotas: Quotas, used: Mapping[Key, int] | None = None,
                 extra_limits: Mapping[Key, int] | None = None):
        self.quotas = quotas
        self.used: dict[Key, int] = dict(used or {})
        self.reserved: dict[Key, int] = {}  # held for jobs waiting ahead in the queue
        self.extra_limits = dict(extra_limits or {})  # e.g. a cluster's node count

    def limit(self, key: Key) -> int:
        if key in self.extra_limits:
            return self.extra_limits[key]
        return limit_of(self.quotas, key)

    def free(self, key: Key) -> int:
        """What a job may take now: the limit less what is in use and held for jobs ahead."""
        return self.limit(key) - self.used.get(key, 0) - self.reserved.get(key, 0)

    def unused(self, key: Key) -> int:
        return self.limit(key) - self.used.get(key, 0)

    def fits(self, need: Mapping[Key, int]) -> bool:
        return all(self.free(key) >= amount for key, amount in need.items())

    def take(self, need: Mapping[Key, int]) -> None:
        for key, amount in need.items():
            self.used[key] = self.used.get(key, 0) + amount

    def reserve(self, need: Mapping[Key, int]) -> None:
        for key, amount in need.items():
            self.reserved[key] = self.reserved.get(key, 0) + amount

    def short(self, need: Mapping[Key, int]) -> list[Key]:
        return [key for key, amount in need.items() if self.free(key) < amount]


def usage_keys(quotas: Quotas, allocations: Iterable[tuple[str, VmSize, int, str]]) -> dict[Key, int]:
    """Sum (workspace, size, nodes, tier) allocations into per-key usage."""
    used: dict[Key, int] = {}
    for workspace, size, nodes, tier in allocations:
        for key, amount in demand(quotas, workspace, size, nodes, tier).items():
            used[key] = used.get(key, 0) + amount
    return used


def queued_demand(needs: Iterable[Mapping[Key, int]]) -> dict[Key, tuple[int, int]]:
    """What waiting jobs wait for, per key: each job's need (``demand(...)``, or
    ``{("cluster", workspace, name): nodes}``) summed into (amount, number of jobs)."""
    total: dict[Key, tuple[int, int]] = {}
    for need in needs:
        for key, amount in need.items():
            so_far, jobs = total.get(key, (0, 0))
            total[key] = (so_far + amount, jobs + 1)
    return total


def instances_fit(free_vcpus: int, vcpus: int) -> int:
    """How many nodes of ``vcpus`` each fit in ``free_vcpus`` (0 when none, or the size is unknown)."""
    return max(0, free_vcpus) // vcpus if vcpus > 0 else 0


def queue_name(size_name: str) -> str:
    """The worker queue for nodes of one VM size: a worker is a machine of some size."""
    return f"vm-{size_name.lower()}"


# Automatic VM choice: a general-purpose CPU size with at least this much, chosen by cost,
# then temp disk, then memory, then name (deterministic).
AUTO_MIN_VCPUS = 2
AUTO_MIN_TEMP_DISK_GIB = 16


def auto_candidates(catalogue: Iterable[VmSize], tier: str) -> list[VmSize]:
    sizes = [
        s for s in catalogue
        if s.is_cpu and s.category == "cpu-general" and s.serverless != "no"
        and s.vcpus >= AUTO_MIN_VCPUS and s.temp_disk_gib >= AUTO_MIN_TEMP_DISK_GIB and s.price(tier) is not None
    ]
    return sorted(sizes, key=lambda s: (s.price(tier), -s.temp_disk_gib, -s.memory_gib, s.name))
