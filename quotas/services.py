"""The only code that changes subscriptions, workspaces, the catalogue, quotas, clusters and usage."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from quotas import roles
from quotas.catalogue import DEFAULT_SPOT_LIMIT, default_families, default_sizes
from quotas.core import KEY_KINDS, MAX_CLUSTER_NODES, MAX_IDLE_SECONDS, MAX_QUOTA_VCPUS, REGIONAL_TOTAL, SPOT_POOL, Key
from quotas.models import (
    Cluster,
    QueuedDemand,
    QuotaFamily,
    Subscription,
    SubscriptionQuota,
    UsageRecord,
    VmSize,
    Workspace,
    WorkspaceMember,
    WorkspaceQuota,
)
from studio.db import bulk_set
from studio.errors import ApplicationError, Conflict, Forbidden, NotFound
from studio.humanize import plural

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
    """Create (or reuse) a subscription and workspace administered by ``admin`` (its owner)."""
    subscription = subscription_ensure(name=subscription_name, admin=admin)
    workspace, _ = Workspace.objects.get_or_create(name=workspace_name, defaults={"subscription": subscription})
    WorkspaceMember.objects.update_or_create(
        workspace=workspace, user=admin, defaults={"role": WorkspaceMember.Role.OWNER}
    )
    return workspace


def _require_admin(user: AbstractBaseUser, subscription: Subscription, workspace: Workspace | None = None) -> None:
    if roles.subscription_admin(user=user, subscription_id=subscription.id):
        return
    you = ""
    if workspace is not None:
        you = "; " + roles.describe_in(user=user, workspace=workspace)
        if roles.role_of(user=user, workspace=workspace) == roles.OWNER:
            you += ", whose caps you can set"
    raise Forbidden(f"only admins of subscription '{subscription.name}' can change its quotas{you}")


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
    if limit > MAX_QUOTA_VCPUS:
        raise ApplicationError(f"limit: {limit} vCPUs is more than any region offers; set at most "
                               f"{MAX_QUOTA_VCPUS:,} vCPUs", {"field": "limit"})


@transaction.atomic
def quota_save(*, user: AbstractBaseUser, workspace: Workspace, family_id: str, subscription_limit: int | None = None,
               workspace_cap: int | None = None) -> bool:
    """Set a family's vCPU quota for the workspace's subscription and the workspace's cap for it, in one
    go: both are checked against each other (and against the other workspaces' caps) before either is
    written, so both are saved or neither. ``None`` leaves a value as it is. Returns whether anything
    changed."""
    return _quota_write(user=user, subscription=workspace.subscription, family_id=family_id,
                        limit=subscription_limit, workspace=workspace, cap=workspace_cap)


@transaction.atomic
def quota_set(*, user: AbstractBaseUser, subscription: Subscription, family_id: str, limit: int,
              workspace: Workspace | None = None) -> None:
    """Set a family's vCPU quota for the subscription, or a workspace's cap (never above it)."""
    if workspace is None:
        _quota_write(user=user, subscription=subscription, family_id=family_id, limit=limit)
        return
    _check_limit(limit)
    if workspace.subscription_id != subscription.id:
        raise ApplicationError(f"workspace: '{workspace.name}' is not in subscription '{subscription.name}'",
                               {"field": "workspace"})
    _quota_write(user=user, subscription=subscription, family_id=family_id, workspace=workspace, cap=limit)


def _quota_write(*, user: AbstractBaseUser, subscription: Subscription, family_id: str, limit: int | None = None,
                 workspace: Workspace | None = None, cap: int | None = None) -> bool:
    """Check, then write, a subscription's limit and (with ``workspace``) a workspace's cap for one family."""
    for value in (limit, cap):
        if value is not None:
            _check_limit(value)
    # The subscription's quota (shared by its workspaces) is its admins'; a workspace's caps are
    # also its owners'.
    if limit is not None or workspace is None:
        _require_admin(user, subscription, workspace)
    if cap is not None:
        roles.role_require(user=user, workspace=workspace, needed=roles.OWNER, action="set its quota caps")
    family = _family(family_id)
    if cap is not None and family.family_id == REGIONAL_TOTAL:
        raise ApplicationError("family: the total regional vCPU quota is set for the subscription only; "
                               "leave out --workspace", {"field": "family"})
    # The row is locked so that two saves of the same family check each other's result.
    current_limit = SubscriptionQuota.objects.select_for_update().filter(
        subscription=subscription, family=family).values_list("limit", flat=True).first() or 0
    current_cap = None if workspace is None else WorkspaceQuota.objects.filter(
        workspace=workspace, family=family).values_list("limit", flat=True).first()
    new_limit = current_limit if limit is None else limit
    cap_changes = cap is not None and cap != current_cap
    limit_changes = new_limit != current_limit
    if cap_changes and cap > new_limit:
        raise ApplicationError(
            f"limit: a workspace cap cannot exceed the subscription's quota ({new_limit} vCPUs of "
            f"{family.family_id}); set {new_limit} or less, or raise the subscription's quota first",
            {"field": "limit", "subscription_limit": new_limit})
    if limit_changes:
        caps = WorkspaceQuota.objects.filter(workspace__subscription=subscription, family=family, limit__gt=new_limit)
        if cap_changes:
            caps = caps.exclude(workspace=workspace)  # its new cap was checked above
        above = list(caps.order_by("workspace__name").values_list("workspace__name", "limit"))
        if above:
            names = ", ".join(f"{name} ({cap})" for name, cap in above)
            raise Conflict(f"limit: workspace caps above {new_limit} vCPUs exist for {family.family_id}: {names}; "
                           "lower them first", {"field": "limit"})
        SubscriptionQuota.objects.update_or_create(subscription=subscription, family=family,
                                                   defaults={"limit": new_limit})
    if cap_changes:
        WorkspaceQuota.objects.update_or_create(workspace=workspace, family=family, defaults={"limit": cap})
    return limit_changes or cap_changes


@transaction.atomic
def quota_set_spot(*, user: AbstractBaseUser, subscription: Subscription, limit: int,
                   workspace: Workspace | None = None) -> None:
    """The subscription's Spot pool (its admins only; ``workspace``: where the user asks from, for the refusal)."""
    _check_limit(limit)
    _require_admin(user, subscription, workspace)
    Subscription.objects.filter(id=subscription.id).update(spot_vcpu_limit=limit)


def cluster_create(*, user: AbstractBaseUser, workspace: Workspace, name: str, size: str, min_instances: int = 0,
                   max_instances: int = 1, idle_seconds: int = 120) -> Cluster:
    roles.role_require(user=user, workspace=workspace, needed=roles.OWNER, action="create clusters")
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
    for field, value, most in (("min_instances", min_instances, MAX_CLUSTER_NODES),
                               ("max_instances", max_instances, MAX_CLUSTER_NODES),
                               ("idle_time_before_scale_down", idle_seconds, MAX_IDLE_SECONDS)):
        if value > most:
            raise ApplicationError(f"{field}: {value} is more than the most a cluster allows ({most:,})",
                                   {"field": field})
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


@transaction.atomic
def cluster_delete(*, user: AbstractBaseUser, workspace: Workspace, name: str) -> None:
    """Delete a cluster that no job is waiting for or running on. Running jobs are those with nodes
    open in the usage ledger; waiting ones are in the queued demand the last scheduling cycle
    recorded for the cluster. Owners only."""
    roles.role_require(user=user, workspace=workspace, needed=roles.OWNER, action="delete clusters")
    cluster = Cluster.objects.select_for_update().filter(workspace=workspace, name=name).first()
    if cluster is None:
        raise NotFound(f"compute '{name}' was not found in workspace '{workspace.name}'; "
                       "`studio compute list` shows the clusters")
    running = (UsageRecord.objects.filter(workspace=workspace, compute=cluster.name, ended_at__isnull=True)
               .values("job_name").distinct().count())
    waiting = QueuedDemand.objects.filter(workspace=workspace, kind=QueuedDemand.Kind.CLUSTER, name=cluster.name) \
        .values_list("jobs", flat=True).first() or 0
    if running + waiting:
        raise Conflict(f"compute '{name}' has {plural(running + waiting, 'job')} waiting or running; cancel them "
                       "or wait for them to end first", {"running": running, "waiting": waiting})
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


def queued_demand_replace(*, demand: Mapping[Key, tuple[int, int]]) -> None:
    """What waiting jobs wait for, per quota key: (vCPUs — node counts for cluster keys — , number of jobs).

    Replaces what the table held. The scheduling service calls it once per cycle, inside the cycle's
    transaction (which serialises the calls). It reads the rows and writes only the difference:
    one query when nothing changed; then one statement each for the keys nobody waits for any more,
    the keys whose figures moved and the new keys (whose owners' names it looks up). Keys whose
    subscription or workspace no longer exists are left out; a key of (0, 0) is no key."""
    wanted: dict[tuple[str, str, str], tuple[int, int]] = {}
    for key, (amount, jobs) in demand.items():
        if not key or key[0] not in KEY_KINDS:
            raise ValueError(f"not a quota key: {key!r}")
        if amount < 0 or jobs < 0:
            raise ValueError(f"demand for {key!r} is negative: {(amount, jobs)!r}")
        if amount or jobs:
            wanted[_demand_row_key(key)] = (amount, jobs)
    rows = QueuedDemand.objects.values_list("id", "kind", "subscription__name", "workspace__name", "name",
                                            "amount", "jobs")
    have: dict[tuple[str, str, str], tuple[int, int, int]] = {}
    for row_id, kind, subscription, workspace, name, amount, jobs in rows:
        have[(kind, workspace or subscription, name)] = (row_id, amount, jobs)
    gone = [row_id for key, (row_id, _, _) in have.items() if key not in wanted]
    changed = [(have[key][0], value) for key, value in wanted.items() if key in have and have[key][1:] != value]
    new = {key: value for key, value in wanted.items() if key not in have}
    if not (gone or changed or new):
        return
    now = timezone.now()
    with transaction.atomic():
        if gone:
            QueuedDemand.objects.filter(id__in=gone).delete()
        if changed:
            bulk_set(QueuedDemand, [QueuedDemand(id=row_id, amount=amount, jobs=jobs, updated_at=now)
                                    for row_id, (amount, jobs) in changed], ["amount", "jobs", "updated_at"])
        if new:
            QueuedDemand.objects.bulk_create(_demand_rows(new, now))


def _demand_row_key(key: Key) -> tuple[str, str, str]:
    """A quota key as the table spells it: (kind, the subscription's or workspace's name, name)."""
    kind = key[0]
    return (kind, key[1], key[2] if kind in ("family", "ws", "cluster") else "")


_PER_WORKSPACE = ("ws", "cluster")  # keys owned by a workspace; the others by a subscription


def _demand_rows(new: dict[tuple[str, str, str], tuple[int, int]], now: datetime) -> list[QueuedDemand]:
    workspaces = {name: (ws_id, sub_id) for name, ws_id, sub_id in Workspace.objects.filter(
        name__in={owner for kind, owner, _ in new if kind in _PER_WORKSPACE}).values_list(
        "name", "id", "subscription_id")}
    subscriptions = dict(Subscription.objects.filter(
        name__in={owner for kind, owner, _ in new if kind not in _PER_WORKSPACE}).values_list("name", "id"))
    rows = []
    for (kind, owner, name), (amount, jobs) in new.items():
        if kind in _PER_WORKSPACE:
            if owner not in workspaces:
                continue
            workspace_id, subscription_id = workspaces[owner]
        elif owner in subscriptions:
            workspace_id, subscription_id = None, subscriptions[owner]
        else:
            continue
        rows.append(QueuedDemand(subscription_id=subscription_id, workspace_id=workspace_id, kind=kind, name=name,
                                 amount=amount, jobs=jobs, updated_at=now))
    return rows
