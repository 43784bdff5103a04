"""Read-only queries for quotas, the catalogue, clusters and usage."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from quotas import core, roles
from quotas.core import SERVERLESS_COMPUTE
from quotas.models import (
    Cluster,
    QueuedDemand,
    Subscription,
    SubscriptionQuota,
    UsageRecord,
    VmSize,
    Workspace,
    WorkspaceQuota,
)
from studio.errors import NotFound


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


def cluster_list(*, workspace: Workspace) -> list[Cluster]:
    """The workspace's clusters by name, each with ``busy_nodes`` (nodes at work now, from the usage
    ledger), ``queued_jobs`` and ``queued_nodes`` (what jobs wait for, from the last scheduling cycle)
    and ``state`` ("scaling down", "busy" or "steady"). Three queries, however many clusters and jobs."""
    busy = _busy_nodes(workspace=workspace)
    queued = {name: (amount, jobs) for name, amount, jobs in QueuedDemand.objects.filter(
        workspace=workspace, kind=QueuedDemand.Kind.CLUSTER).values_list("name", "amount", "jobs")}
    now = timezone.now()
    clusters = list(Cluster.objects.filter(workspace=workspace).select_related("size").order_by("name"))
    for cluster in clusters:
        cluster.busy_nodes = busy.get((workspace.id, cluster.name), 0)
        cluster.queued_nodes, cluster.queued_jobs = queued.get(cluster.name, (0, 0))
        scaling = cluster.scaling_down_until is not None and cluster.scaling_down_until > now
        cluster.state = "scaling down" if scaling else ("busy" if cluster.busy_nodes else "steady")
    return clusters


def cluster_get(*, workspace: Workspace, name: str) -> Cluster:
    """One of the workspace's clusters, as ``cluster_list`` gives it."""
    cluster = next((c for c in cluster_list(workspace=workspace) if c.name == name), None)
    if cluster is None:
        raise NotFound(f"compute '{name}' was not found in workspace '{workspace.name}'; "
                       "`studio compute list` shows the clusters")
    return cluster


def _busy_nodes(**scope) -> dict[tuple[int, str], int]:
    """Nodes at work now on each named cluster, by (workspace id, cluster name): the open rows of the
    usage ledger, counted by the database (one grouped query). ``scope`` filters the ledger."""
    rows = (UsageRecord.objects.filter(ended_at__isnull=True, **scope).exclude(compute=core.SERVERLESS)
            .values("workspace_id", "compute").annotate(nodes=Count("id")).order_by())
    return {(row["workspace_id"], row["compute"]): row["nodes"] for row in rows}


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
    busy_nodes = _busy_nodes(workspace__subscription=workspace.subscription_id)
    for cluster in Cluster.objects.filter(workspace__subscription=workspace.subscription_id, allocated__gt=0) \
            .select_related("size"):
        # held nodes count against quota even when idle; busy ones are in the ledger already
        idle_vcpus = max(0, cluster.allocated - busy_nodes.get((cluster.workspace_id, cluster.name), 0)) \
            * cluster.size.vcpus
        family = cluster.size.family_id
        sub_use[family] = sub_use.get(family, 0) + idle_vcpus
        sub_use[core.REGIONAL_TOTAL] = sub_use.get(core.REGIONAL_TOTAL, 0) + idle_vcpus
        if cluster.workspace_id == workspace.id:
            ws_use[family] = ws_use.get(family, 0) + idle_vcpus
    return sub_use, ws_use, spot


def quota_list(*, workspace: Workspace) -> dict:
    """Per quota family: the subscription's limit, the workspace's cap, what is in use, and what jobs
    queued in the subscription wait for (``queued_vcpus``, ``queued_jobs``); the same for Spot."""
    sub_use, ws_use, spot_use = _in_use(workspace)
    caps = dict(WorkspaceQuota.objects.filter(workspace=workspace).values_list("family_id", "limit"))
    queued = {(kind, name): (amount, jobs) for kind, name, amount, jobs in QueuedDemand.objects.filter(
        subscription_id=workspace.subscription_id, workspace=None).values_list("kind", "name", "amount", "jobs")}
    families = []
    for quota in SubscriptionQuota.objects.filter(subscription_id=workspace.subscription_id) \
            .select_related("family").order_by("family_id"):
        key = ("cores", "") if quota.family_id == core.REGIONAL_TOTAL else ("family", quota.family_id)
        queued_vcpus, queued_jobs = queued.get(key, (0, 0))
        families.append({
            "family": quota.family_id, "display_name": quota.family.display_name,
            "subscription_limit": quota.limit, "workspace_limit": caps.get(quota.family_id),
            "subscription_in_use": sub_use.get(quota.family_id, 0), "workspace_in_use": ws_use.get(quota.family_id, 0),
            "queued_vcpus": queued_vcpus, "queued_jobs": queued_jobs,
        })
    subscription = Subscription.objects.get(id=workspace.subscription_id)
    spot_vcpus, spot_jobs = queued.get(("spot", ""), (0, 0))
    return {"subscription": subscription.name, "workspace": workspace.name, "families": families,
            "spot": {"limit": subscription.spot_vcpu_limit, "in_use": spot_use, "queued_vcpus": spot_vcpus,
                     "queued_jobs": spot_jobs}}


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
        records = records.filter(Q(ended_at__isnull=True) | Q(ended_at__gte=since))  # uses the ended_at index
    for r in records.values("compute", "family", "vcpus", "tier", "price_per_hour", "started_at", "ended_at",
                            "job_name"):
        name = SERVERLESS_COMPUTE if r["compute"] == core.SERVERLESS else r["compute"]
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


def workspace_of_subscription_for_user(*, user: AbstractBaseUser, name: str | None) -> Workspace:
    """A workspace that says which subscription is meant: the named one, or any of the user's when
    they all belong to one subscription (setting a subscription's limit needs no workspace)."""
    from studio.errors import ApplicationError

    if name:
        return workspace_for_user(user=user, name=name)
    workspaces = list(Workspace.objects.filter(members=user).select_related("subscription").order_by("name"))
    if not workspaces:
        return workspace_for_user(user=user, name=None)  # its error: not a member of any workspace
    if len({w.subscription_id for w in workspaces}) > 1:
        raise ApplicationError("workspace: your workspaces belong to several subscriptions; name one of them "
                               "(`?workspace=`, or `--workspace` in the CLI's profile) to say which subscription",
                               {"field": "workspace"})
    return workspaces[0]


def vm_size_list(*, workspace: Workspace) -> list[VmSize]:
    """The catalogue, each size with the dedicated vCPUs its family has free for this workspace
    (``quota_available``) and how many nodes of it fit in them now (``instances_fit``)."""
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
        size.instances_fit = core.instances_fit(size.quota_available, size.vcpus)
    return sizes


def subscription_is_admin(*, user: AbstractBaseUser, subscription_id: int) -> bool:
    """Whether ``user`` may change the subscription's quotas (the rule ``quota_set`` enforces)."""
    return roles.subscription_admin(user=user, subscription_id=subscription_id)


def usage_window_start(*, days: int = 14, now: datetime | None = None) -> datetime:
    """Midnight (in the studio's time zone) at the start of the last ``days`` days, today included."""
    from datetime import time, timedelta

    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    first = timezone.localtime(now, zone).date() - timedelta(days=days - 1)
    return datetime.combine(first, time.min, tzinfo=zone)


from django.db.models import FloatField, Func, IntegerField  # noqa: E402  (for usage_by_day below)


class _SecondsSince(Func):
    """Seconds from a fixed moment to a datetime expression, as a float, computed by the database
    (PostgreSQL: epoch arithmetic; SQLite: Julian days), so that no row has to reach Python."""

    arity = 1
    output_field = FloatField()

    def __init__(self, expression, since: datetime, **extra):
        super().__init__(expression, **extra)
        self.since = since

    def as_sql(self, compiler, connection, **extra_context):  # PostgreSQL
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(EXTRACT(EPOCH FROM {sql})::float8 - %s)", (*params, self.since.timestamp())

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        julian_day = 2440587.5 + self.since.timestamp() / 86400  # the Julian day of ``since``
        return f"((julianday({sql}) - %s) * 86400.0)", (*params, julian_day)


class _DayOf(Func):
    """Which day of the window a datetime falls on: the index of the first day end it is before
    (the last day when it is after them all, ``if_null`` when it is NULL). Plain SQL ``CASE``,
    written here rather than with ``When(Q(...))`` objects, which cost more to build than to run."""

    arity = 1
    output_field = IntegerField()

    def __init__(self, expression, day_ends: list[datetime], *, if_null: int | None = None, **extra):
        super().__init__(expression, **extra)
        self.day_ends, self.if_null = day_ends, if_null

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        whens, all_params = [], []
        if self.if_null is not None:
            whens.append(f"WHEN {sql} IS NULL THEN {int(self.if_null)}")
            all_params += params
        for index, day_end in enumerate(self.day_ends[:-1]):
            whens.append(f"WHEN {sql} < %s THEN {index}")
            all_params += [*params, connection.ops.adapt_datetimefield_value(day_end)]
        return f"CASE {' '.join(whens)} ELSE {len(self.day_ends) - 1} END", tuple(all_params)


def usage_by_day(*, workspace: Workspace, days: int = 14, now: datetime | None = None) -> dict:
    """vCPU-hours and cost per day over the last ``days`` days (today so far included), per
    compute ("Serverless" first, then clusters by name) and per quota family.

    A node's use is split at each midnight of the studio's time zone, and a node still running
    counts until ``now``. One query, aggregated by the database: nodes are grouped by compute,
    family, VM shape (vCPUs, price), the day they start and the day they end within the window,
    with the sums of their start and end times; each group is then split across its days here
    (a group's share of a day is linear in those sums). Every series has one value per day,
    oldest first."""
    from datetime import time, timedelta
    from datetime import timezone as dt_timezone

    from django.db.models import Count, DateTimeField, F, Q, Sum, Value
    from django.db.models.functions import Coalesce, Greatest, Least

    if days < 1:
        raise ValueError("days must be 1 or more")
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    start = usage_window_start(days=days, now=now)
    dates = [start.date() + timedelta(days=k) for k in range(days)]
    # Day boundaries in UTC, from each local midnight (a DST day is 23 or 25 hours long).
    bounds = [datetime.combine(d, time.min, tzinfo=zone).astimezone(dt_timezone.utc) for d in dates]
    bounds.append(datetime.combine(dates[-1] + timedelta(days=1), time.min, tzinfo=zone)
                  .astimezone(dt_timezone.utc))
    window_start, window_end = bounds[0], min(bounds[-1], now.astimezone(dt_timezone.utc))
    offsets = [(b - window_start).total_seconds() for b in bounds]  # seconds from the window's start

    def moment(value: datetime) -> Value:
        return Value(value, output_field=DateTimeField())

    # Each node's start and end, clipped to the window, in seconds from the window's start.
    begin = _SecondsSince(Greatest(F("started_at"), moment(window_start), output_field=DateTimeField()),
                          window_start)
    end = _SecondsSince(Least(Coalesce(F("ended_at"), moment(window_end), output_field=DateTimeField()),
                              moment(window_end), output_field=DateTimeField()), window_start)
    groups = (
        # Nodes still running, or that ended inside the window (the ``ended_at`` index finds both,
        # however long the ledger's history).
        UsageRecord.objects.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=window_start),
                                   workspace=workspace, started_at__lt=window_end)
        .exclude(ended_at__lt=F("started_at"))
        .values("compute", "family", "vcpus", "price_per_hour", first_day=_DayOf(F("started_at"), bounds[1:]),
                last_day=_DayOf(F("ended_at"), bounds[1:], if_null=days - 1))
        .order_by()
        .annotate(nodes=Count("id"), sum_begin=Sum(begin), sum_end=Sum(end))
    )

    def series() -> dict:
        return {"vcpu_hours": [0.0] * days, "cost_usd": [0.0] * days}

    def spread(values: list[float], first: int, last: int, weight: float, begin_sum: float, end_sum: float):
        """Add a group's seconds to its days: Σ w·(min(end, day end) − max(begin, day start)) per day."""
        if first == last:
            values[first] += end_sum - begin_sum
            return
        values[first] += weight * offsets[first + 1] - begin_sum
        for day in range(first + 1, last):
            values[day] += weight * (offsets[day + 1] - offsets[day])
        values[last] += end_sum - weight * offsets[last]

    by_compute: dict[str, dict] = {SERVERLESS_COMPUTE: series()}
    by_family: dict[str, dict] = {}
    for g in groups:
        name = SERVERLESS_COMPUTE if g["compute"] == core.SERVERLESS else g["compute"]
        node_seconds = [0.0] * days
        spread(node_seconds, g["first_day"], g["last_day"], float(g["nodes"]), float(g["sum_begin"]),
               float(g["sum_end"]))
        seconds = {"vcpu_hours": [g["vcpus"] * x for x in node_seconds],
                   "cost_usd": [g["price_per_hour"] * x for x in node_seconds]}
        for target in (by_compute.setdefault(name, series()), by_family.setdefault(g["family"], series())):
            for metric in ("vcpu_hours", "cost_usd"):
                target[metric] = [a + b / 3600 for a, b in zip(target[metric], seconds[metric])]

    def rows(found: dict[str, dict], key: str, order: list[str]) -> list[dict]:
        return [{key: name, "vcpu_hours": [round(v, 4) for v in found[name]["vcpu_hours"]],
                 "cost_usd": [round(v, 4) for v in found[name]["cost_usd"]],
                 "total_vcpu_hours": round(sum(found[name]["vcpu_hours"]), 4),
                 "total_cost_usd": round(sum(found[name]["cost_usd"]), 4)} for name in order]

    total = series()
    for values in by_compute.values():
        for metric in ("vcpu_hours", "cost_usd"):
            total[metric] = [a + b for a, b in zip(total[metric], values[metric])]
    return {
        "days": dates, "since": start, "until": now,
        "by_compute": rows(by_compute, "compute",
                           [SERVERLESS_COMPUTE] + sorted(n for n in by_compute if n != SERVERLESS_COMPUTE)),
        "by_family": rows(by_family, "family",
                          sorted(by_family, key=lambda f: (-sum(by_family[f]["vcpu_hours"]), f))),
        "total": {"vcpu_hours": [round(v, 4) for v in total["vcpu_hours"]],
                  "cost_usd": [round(v, 4) for v in total["cost_usd"]]},
    }
