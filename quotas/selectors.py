"""Read-only queries for quotas, the catalogue, clusters and usage."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from quotas import core
from quotas.models import Cluster, Subscription, SubscriptionQuota, UsageRecord, VmSize, Workspace, WorkspaceQuota
from studio.errors import NotFound

SERVERLESS_COMPUTE = "Serverless"


def workspace_list_for_user(*, user: AbstractBaseUser) -> QuerySet[Workspace]:
    return Workspace.objects.filter(members=user).order_by("name")


def catalogue() -> dict[str, core.VmSize]:
    return {
        v.name: core.VmSize(v.name, v.family_id, v.vcpus, v.memory_gib, v.gpus, v.temp_disk_gib, v.price_dedicated,
                            v.price_spot, v.category, v.serverless, v.gpu_model)
        for v in VmSize.objects.all()
    }


def quotas() -> core.Quotas:
    """Every subscription's and workspace's quotas, for the scheduling core (three queries)."""
    limits: dict[str, dict[str, int]] = {}
    for sub, family, limit in SubscriptionQuota.objects.values_list("subscription__name", "family_id", "limit"):
        limits.setdefault(sub, {})[family] = limit
    caps: dict[str, dict[str, int]] = {}
    for ws, family, limit in WorkspaceQuota.objects.values_list("workspace__name", "family_id", "limit"):
        caps.setdefault(ws, {})[family] = limit
    subscriptions = {name: core.SubscriptionQuota(limits.get(name, {}), spot)
                     for name, spot in Subscription.objects.values_list("name", "spot_vcpu_limit")}
    workspaces = {name: core.WorkspaceQuota(sub, caps.get(name, {}))
                  for name, sub in Workspace.objects.values_list("name", "subscription__name")}
    return core.Quotas(subscriptions, workspaces)


def clusters() -> list[Cluster]:
    return list(Cluster.objects.select_related("workspace", "size"))


def cluster_get(*, workspace: Workspace, name: str) -> Cluster:
    cluster = Cluster.objects.filter(workspace=workspace, name=name).select_related("size").first()
    if cluster is None:
        raise NotFound(f"compute '{name}' was not found in workspace '{workspace.name}'; "
                       "`studio compute list` shows the clusters")
    return cluster


def _in_use(workspace: Workspace) -> tuple[dict, dict, int]:
    """vCPUs in use now: per family in the subscription and in the workspace, and Spot."""
    open_records = UsageRecord.objects.filter(workspace__subscription=workspace.subscription_id,
                                              ended_at__isnull=True)
    sub_use: dict[str, int] = {}
    ws_use: dict[str, int] = {}
    spot = 0
    for ws_id, family, tier, vcpus in open_records.values_list("workspace_id", "family", "tier", "vcpus"):
        if tier == core.SPOT:
            spot += vcpus
            continue
        sub_use[family] = sub_use.get(family, 0) + vcpus
        sub_use[core.REGIONAL_TOTAL] = sub_use.get(core.REGIONAL_TOTAL, 0) + vcpus
        if ws_id == workspace.id:
            ws_use[family] = ws_use.get(family, 0) + vcpus
    for cluster in Cluster.objects.filter(workspace__subscription=workspace.subscription_id, allocated__gt=0) \
            .select_related("size"):
        idle_vcpus = 0  # held nodes count against quota even when idle; busy ones are in the ledger
        busy_nodes = UsageRecord.objects.filter(workspace=cluster.workspace, compute=cluster.name,
                                                ended_at__isnull=True).count()
        idle_vcpus = max(0, cluster.allocated - busy_nodes) * cluster.size.vcpus
        family = cluster.size.family_id
        sub_use[family] = sub_use.get(family, 0) + idle_vcpus
        sub_use[core.REGIONAL_TOTAL] = sub_use.get(core.REGIONAL_TOTAL, 0) + idle_vcpus
        if cluster.workspace_id == workspace.id:
            ws_use[family] = ws_use.get(family, 0) + idle_vcpus
    return sub_use, ws_use, spot


def quota_list(*, workspace: Workspace) -> dict:
    """Per quota family: the subscription's limit, the workspace's cap and what is in use."""
    sub_use, ws_use, spot_use = _in_use(workspace)
    caps = dict(WorkspaceQuota.objects.filter(workspace=workspace).values_list("family_id", "limit"))
    families = []
    for quota in SubscriptionQuota.objects.filter(subscription_id=workspace.subscription_id) \
            .select_related("family").order_by("family_id"):
        families.append({
            "family": quota.family_id, "display_name": quota.family.display_name,
            "subscription_limit": quota.limit, "workspace_limit": caps.get(quota.family_id),
            "subscription_in_use": sub_use.get(quota.family_id, 0), "workspace_in_use": ws_use.get(quota.family_id, 0),
        })
    subscription = Subscription.objects.get(id=workspace.subscription_id)
    return {"subscription": subscription.name, "workspace": workspace.name, "families": families,
            "spot": {"limit": subscription.spot_vcpu_limit, "in_use": spot_use}}


def usage_list(*, workspace: Workspace, since: datetime | None = None, now: datetime | None = None) -> list[dict]:
    """One row per compute resource ("Serverless" and each cluster): vCPUs in use per family,
    nodes, running jobs, and the cost of everything run since ``since``."""
    now = now or timezone.now()
    rows: dict[str, dict] = {SERVERLESS_COMPUTE: _usage_row(SERVERLESS_COMPUTE, "serverless")}
    for cluster in Cluster.objects.filter(workspace=workspace).select_related("size").order_by("name"):
        rows[cluster.name] = _usage_row(cluster.name, "cluster", cluster.size_id, cluster.allocated,
                                        cluster.max_instances)
    records = UsageRecord.objects.filter(workspace=workspace)
    if since:
        records = records.exclude(ended_at__lt=since)
    for r in records.values("compute", "family", "vcpus", "tier", "price_per_hour", "started_at", "ended_at",
                            "job_name"):
        name = SERVERLESS_COMPUTE if r["compute"] == "serverless" else r["compute"]
        row = rows.setdefault(name, _usage_row(name, "cluster (deleted)"))
        start = max(r["started_at"], since) if since else r["started_at"]
        seconds = max(0.0, ((r["ended_at"] or now) - start).total_seconds())
        row["vcpu_hours"] += r["vcpus"] * seconds / 3600
        row["cost_usd"] += r["price_per_hour"] * seconds / 3600
        if r["ended_at"] is None:
            row["nodes_in_use"] += 1
            row["vcpus_in_use"][r["family"]] = row["vcpus_in_use"].get(r["family"], 0) + r["vcpus"]
            row["_jobs"].add(r["job_name"])
    for row in rows.values():
        row["running_jobs"] = len(row.pop("_jobs"))
        row["vcpu_hours"] = round(row["vcpu_hours"], 4)
        row["cost_usd"] = round(row["cost_usd"], 4)
    return list(rows.values())


def _usage_row(name: str, kind: str, size: str | None = None, allocated: int | None = None,
               max_nodes: int | None = None) -> dict:
    return {"compute": name, "kind": kind, "vm_size": size, "allocated_nodes": allocated, "max_nodes": max_nodes,
            "nodes_in_use": 0, "vcpus_in_use": {}, "running_jobs": 0, "vcpu_hours": 0.0, "cost_usd": 0.0,
            "_jobs": set()}


def workspace_for_user(*, user: AbstractBaseUser, name: str | None) -> Workspace:
    """The named workspace, or the user's only one; errors name the field and the fix."""
    from studio.errors import ApplicationError

    workspaces = Workspace.objects.filter(members=user).select_related("subscription").order_by("name")
    if name:
        workspace = workspaces.filter(name=name).first()
        if workspace is None:
            raise NotFound(f"workspace: you are not a member of a workspace named '{name}'", {"field": "workspace"})
        return workspace
    found = list(workspaces[:2])
    if len(found) == 1:
        return found[0]
    if not found:
        raise ApplicationError("workspace: you are not a member of any workspace; ask an admin to add you",
                               {"field": "workspace"})
    raise ApplicationError("workspace: you belong to several workspaces; say which one with `workspace`",
                           {"field": "workspace"})


def vm_size_list(*, workspace: Workspace) -> list[VmSize]:
    """The catalogue, each size with the dedicated vCPUs its family has free for this workspace."""
    listing = quota_list(workspace=workspace)
    free = {}
    total = next((f for f in listing["families"] if f["family"] == core.REGIONAL_TOTAL), None)
    total_free = (total["subscription_limit"] - total["subscription_in_use"]) if total else None
    for f in listing["families"]:
        room = f["subscription_limit"] - f["subscription_in_use"]
        if f["workspace_limit"] is not None:
            room = min(room, f["workspace_limit"] - f["workspace_in_use"])
        if total_free is not None:
            room = min(room, total_free)
        free[f["family"]] = max(0, room)
    sizes = list(VmSize.objects.all())
    for size in sizes:
        size.quota_available = free.get(size.family_id, 0)
    return sizes
