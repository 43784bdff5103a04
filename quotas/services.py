"""The only code that changes subscriptions, workspaces, the catalogue, quotas, clusters and usage."""

from __future__ import annotations

import re
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q

from quotas.catalogue import DEFAULT_SPOT_LIMIT, default_families, default_sizes
from quotas.core import REGIONAL_TOTAL, SPOT_POOL
from quotas.models import (
    Cluster,
    QuotaFamily,
    Subscription,
    SubscriptionQuota,
    UsageRecord,
    VmSize,
    Workspace,
    WorkspaceMember,
    WorkspaceQuota,
)
from studio.errors import ApplicationError, Conflict, Forbidden, NotFound

CLUSTER_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$")


@transaction.atomic
def catalogue_load_defaults() -> None:
    """Load the shipped VM catalogue and quota families where they are missing."""
    QuotaFamily.objects.bulk_create(
        [QuotaFamily(family_id=f.id, display_name=f.display_name, default_limit=f.default_limit)
         for f in default_families() if f.id != SPOT_POOL],
        ignore_conflicts=True,
    )
    VmSize.objects.bulk_create(
        [VmSize(name=s.name, family_id=s.family, vcpus=s.vcpus, memory_gib=s.memory_gib, gpus=s.gpus,
                gpu_model=s.gpu_model, temp_disk_gib=s.temp_disk_gib, price_dedicated=s.price_dedicated,
                price_spot=s.price_spot, category=s.category, serverless=s.serverless) for s in default_sizes()],
        ignore_conflicts=True,
    )


@transaction.atomic
def subscription_ensure(*, name: str, admin: AbstractBaseUser) -> Subscription:
    """A subscription with Azure's default quota for every family (once)."""
    subscription, created = Subscription.objects.get_or_create(name=name,
                                                               defaults={"spot_vcpu_limit": DEFAULT_SPOT_LIMIT})
    subscription.admins.add(admin)
    if created:
        SubscriptionQuota.objects.bulk_create(
            SubscriptionQuota(subscription=subscription, family=family, limit=family.default_limit or 0)
            for family in QuotaFamily.objects.all()
        )
    return subscription


@transaction.atomic
def workspace_ensure(*, subscription_name: str, workspace_name: str, admin: AbstractBaseUser) -> Workspace:
    """Create (or reuse) a subscription and workspace administered by ``admin``."""
    subscription = subscription_ensure(name=subscription_name, admin=admin)
    workspace, _ = Workspace.objects.get_or_create(name=workspace_name, defaults={"subscription": subscription})
    WorkspaceMember.objects.update_or_create(
        workspace=workspace, user=admin, defaults={"role": WorkspaceMember.Role.ADMIN}
    )
    return workspace


def _require_admin(user: AbstractBaseUser, subscription: Subscription) -> None:
    if not (user.is_superuser or subscription.admins.filter(id=user.id).exists()):
        raise Forbidden(f"only admins of subscription '{subscription.name}' can change its quotas")


def _family(family_id: str) -> QuotaFamily:
    family = QuotaFamily.objects.filter(family_id__iexact=family_id).first()
    if family is None:
        import difflib

        names = list(QuotaFamily.objects.values_list("family_id", flat=True))
        close = difflib.get_close_matches(family_id, names, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `studio quota list` shows the families"
        raise NotFound(f"family: unknown quota family '{family_id}'{hint}", {"field": "family"})
    return family


def _check_limit(limit: int) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ApplicationError("limit: a quota is a whole number of vCPUs, 0 or more", {"field": "limit"})


@transaction.atomic
def quota_set(*, user: AbstractBaseUser, subscription: Subscription, family_id: str, limit: int,
              workspace: Workspace | None = None) -> None:
    """Set a family's vCPU quota for the subscription, or a workspace's cap (never above it)."""
    _check_limit(limit)
    _require_admin(user, subscription)
    family = _family(family_id)
    sub_quota = SubscriptionQuota.objects.filter(subscription=subscription, family=family).first()
    sub_limit = sub_quota.limit if sub_quota else 0
    if workspace is not None:
        if workspace.subscription_id != subscription.id:
            raise ApplicationError(f"workspace: '{workspace.name}' is not in subscription '{subscription.name}'",
                                   {"field": "workspace"})
        if family.family_id == REGIONAL_TOTAL:
            raise ApplicationError("family: the total regional vCPU quota is set for the subscription only; "
                                   "leave out --workspace", {"field": "family"})
        if limit > sub_limit:
            raise ApplicationError(
                f"limit: a workspace cap cannot exceed the subscription's quota ({sub_limit} vCPUs of "
                f"{family.family_id}); set {sub_limit} or less, or raise the subscription's quota first",
                {"field": "limit", "subscription_limit": sub_limit})
        WorkspaceQuota.objects.update_or_create(workspace=workspace, family=family, defaults={"limit": limit})
        return
    above = list(WorkspaceQuota.objects.filter(workspace__subscription=subscription, family=family,
                                               limit__gt=limit).values_list("workspace__name", "limit"))
    if above:
        names = ", ".join(f"{name} ({cap})" for name, cap in above)
        raise Conflict(f"limit: workspace caps above {limit} vCPUs exist for {family.family_id}: {names}; "
                       "lower them first", {"field": "limit"})
    SubscriptionQuota.objects.update_or_create(subscription=subscription, family=family, defaults={"limit": limit})


@transaction.atomic
def quota_set_spot(*, user: AbstractBaseUser, subscription: Subscription, limit: int) -> None:
    _check_limit(limit)
    _require_admin(user, subscription)
    Subscription.objects.filter(id=subscription.id).update(spot_vcpu_limit=limit)


def cluster_create(*, user: AbstractBaseUser, workspace: Workspace, name: str, size: str, min_instances: int = 0,
                   max_instances: int = 1, idle_seconds: int = 120) -> Cluster:
    if not CLUSTER_NAME_RE.match(name or ""):
        raise ApplicationError(
            f"name: '{name}' is not a valid compute name; use 3 to 32 letters, digits and hyphens, "
            "starting with a letter and not ending with a hyphen", {"field": "name"})
    if name.lower() == "serverless":
        raise ApplicationError("name: 'serverless' is reserved for serverless compute", {"field": "name"})
    vm = VmSize.objects.filter(Q(name=size) | Q(name__iexact=size)).first()
    if vm is None:
        import difflib

        close = difflib.get_close_matches(size, list(VmSize.objects.values_list("name", flat=True)), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ApplicationError(f"size: unknown VM size '{size}'{hint}", {"field": "size"})
    for field, value in (("min_instances", min_instances), ("max_instances", max_instances),
                         ("idle_time_before_scale_down", idle_seconds)):
        if not isinstance(value, int) or value < 0:
            raise ApplicationError(f"{field}: must be a whole number, 0 or more", {"field": field})
    if max_instances < 1:
        raise ApplicationError("max_instances: a cluster needs at least 1 node", {"field": "max_instances"})
    if min_instances > max_instances:
        raise ApplicationError(f"min_instances: {min_instances} is more than max_instances ({max_instances})",
                               {"field": "min_instances"})
    with transaction.atomic():
        if Cluster.objects.filter(workspace=workspace, name__iexact=name).exists():
            raise Conflict(f"name: a compute named '{name}' already exists in workspace '{workspace.name}'",
                           {"field": "name"})
        return Cluster.objects.create(workspace=workspace, name=name, size=vm, min_instances=min_instances,
                                      max_instances=max_instances, idle_seconds=idle_seconds,
                                      allocated=min_instances, created_by=user)


def cluster_delete(*, cluster: Cluster) -> None:
    """Delete a cluster; the caller has checked that no job uses it."""
    cluster.delete()


def cluster_scale(*, cluster_id: int, allocated: int, scaling_down_until: datetime | None,
                  idle_since: datetime | None | bool = False) -> None:
    updates = {"allocated": allocated, "scaling_down_until": scaling_down_until}
    if idle_since is not False:
        updates["idle_since"] = idle_since
    Cluster.objects.filter(id=cluster_id).update(**updates)


def usage_open(*, records: list[UsageRecord]) -> None:
    UsageRecord.objects.bulk_create(records, ignore_conflicts=True)


def usage_close(*, node_ids: list[int], at: datetime) -> None:
    UsageRecord.objects.filter(node_id__in=node_ids, ended_at__isnull=True).update(ended_at=at)
