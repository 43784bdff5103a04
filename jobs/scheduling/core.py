"""The pure scheduling core: a snapshot in, decisions out. No Django, no clock of its own.

For every pending job it decides one of: admit (with VM size, node count and tier),
wait (with the reason, queue position and an estimated start), reject (with the
reason and concrete recommendations); for running Spot jobs it may decide to
preempt; for clusters, to scale down. Everything a user is told about *why* comes
from here, so the API, the CLI and the pages say the same thing.

Order is priority, then submission time. A job that has to wait holds what it needs
of each quota: later jobs can only use what is left beyond that, so a large job at
the head is never starved by small ones slipping past, while jobs that need other
quotas go ahead.
"""

from __future__ import annotations

import difflib
import heapq
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Mapping

from studio.humanize import moment_from_now, plural
from quotas.core import (
    SPOT,
    STANDARD,
    Key,
    Ledger,
    Quotas,
    VmSize,
    auto_candidates,
    demand,
    describe_key,
    effective_limit,
    queue_name,
    usage_keys,
)

SERVERLESS = "serverless"


@dataclass(frozen=True)
class PendingJob:
    id: int
    name: str
    submitted_at: datetime
    workspace: str
    instance_count: int = 1
    instance_type: str | None = None
    tier: str = STANDARD
    priority: int = 0
    compute: str = SERVERLESS


@dataclass(frozen=True)
class RunningJob:
    id: int
    workspace: str
    instance_type: str
    nodes: int
    tier: str = STANDARD
    priority: int = 0
    started_at: datetime | None = None
    timeout_seconds: int | None = None
    compute: str = SERVERLESS
    evicting: bool = False


@dataclass(frozen=True)
class Cluster:
    workspace: str
    name: str
    instance_type: str
    min_instances: int = 0
    max_instances: int = 1
    idle_seconds: int = 120
    allocated: int = 0
    idle_since: datetime | None = None
    scaling_down_until: datetime | None = None


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    catalogue: Mapping[str, VmSize]
    quotas: Quotas
    running: tuple[RunningJob, ...] = ()
    pending: tuple[PendingJob, ...] = ()
    clusters: tuple[Cluster, ...] = ()
    typical_runtime: timedelta = timedelta(minutes=5)
    scale_down_time: timedelta = timedelta(seconds=60)


@dataclass(frozen=True)
class Admit:
    job_id: int
    nodes: int
    instance_type: str
    tier: str
    pool: str
    reason: str
    scale_cluster_to: int | None = None


@dataclass(frozen=True)
class Wait:
    job_id: int
    reason: str
    position: int
    estimated_start: datetime | None
    instance_type: str | None = None


@dataclass(frozen=True)
class Reject:
    job_id: int
    reason: str
    recommendations: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Preempt:
    job_id: int
    reason: str


@dataclass(frozen=True)
class ScaleCluster:
    workspace: str
    name: str
    allocated: int
    scaling_down_until: datetime | None
    reason: str

    @property
    def job_id(self) -> None:  # decisions are matched by job id; cluster decisions have none
        return None


Decision = Admit | Wait | Reject | Preempt | ScaleCluster


def queue_order(jobs) -> list[PendingJob]:
    """Higher priority first, then first come first served."""
    return sorted(jobs, key=lambda j: (-j.priority, j.submitted_at, j.id))



def describe_wait(reason: str, position: int | None, estimated_start: datetime | None, now: datetime) -> str:
    """The whole sentence a user reads about a waiting job (position and estimate change
    from cycle to cycle, so they are kept apart from the reason)."""
    where = f"; position {position} in the queue" if position else ""
    return f"{reason}{where}, estimated start {_when(estimated_start, now)}"



def _when(moment: datetime | None, now: datetime) -> str:
    return "unknown" if moment is None else moment_from_now(max(moment, now), now)


class _KeyTimeline:
    """One quota's future: vCPUs free at a moving point in time, and releases still to come.

    Jobs on a quota wait in order, so the point only moves forward: each release is
    popped once, which keeps a cycle over ten thousand waiting jobs fast."""

    def __init__(self, free: int, now: datetime, releases: list[tuple[datetime, int]]):
        self.free = free
        self.time = now
        self.heap = list(releases)
        heapq.heapify(self.heap)

    def earliest(self, need: int) -> datetime | None:
        while self.free < need and self.heap:
            moment, amount = heapq.heappop(self.heap)
            self.free += amount
            self.time = max(self.time, moment)
        return self.time if self.free >= need else None

    def advance_to(self, moment: datetime) -> None:
        while self.heap and self.heap[0][0] <= moment:
            self.free += heapq.heappop(self.heap)[1]
        self.time = max(self.time, moment)

    def consume(self, need: int, release_at: datetime | None) -> None:
        self.free -= need
        if release_at is not None:
            heapq.heappush(self.heap, (release_at, need))


class _Timeline:
    """When will quota free up? Running jobs release their vCPUs at their expected end
    (timeout, or a typical runtime); jobs ahead in the queue take theirs first."""

    def __init__(self, snapshot: Snapshot, ledger: Ledger):
        self.now = snapshot.now
        self.runtime = snapshot.typical_runtime
        self.ledger = ledger
        self.initial_used = dict(ledger.used)
        self.releases: dict[Key, list[tuple[datetime, int]]] = {}
        self.keys: dict[Key, _KeyTimeline] = {}

    def add_release(self, end: datetime, amounts: Mapping[Key, int]) -> None:
        """A running job (known before the cycle starts)."""
        for key, amount in amounts.items():
            self.releases.setdefault(key, []).append((max(end, self.now), amount))

    def expected_end(self, started_at: datetime | None, timeout_seconds: int | None) -> datetime:
        runtime = timedelta(seconds=timeout_seconds) if timeout_seconds else self.runtime
        return max((started_at or self.now) + runtime, self.now)

    def _key(self, key: Key) -> _KeyTimeline:
        timeline = self.keys.get(key)
        if timeline is None:
            free = self.ledger.limit(key) - self.initial_used.get(key, 0)
            timeline = self.keys[key] = _KeyTimeline(free, self.now, self.releases.get(key, []))
        return timeline

    def earliest(self, need: Mapping[Key, int]) -> datetime | None:
        moments = [self._key(key).earliest(amount) for key, amount in need.items()]
        if any(m is None for m in moments):
            return None
        moment = max(moments, default=self.now)
        for key in need:
            self._key(key).advance_to(moment)
        return moment

    def admitted(self, need: Mapping[Key, int]) -> None:
        """A job admitted in this cycle runs from now for a typical runtime."""
        end = self.expected_end(self.now, None)
        for key, amount in need.items():
            self._key(key).consume(amount, end)

    def reserve(self, start: datetime | None, need: Mapping[Key, int]) -> None:
        """A waiting job takes its share first when quota frees up, then gives it back."""
        end = self.expected_end(start, None) if start is not None else None
        for key, amount in need.items():
            self._key(key).consume(amount, end)


class _Decider:
    def __init__(self, snapshot: Snapshot):
        self.s = snapshot
        self.clusters = {(c.workspace, c.name): c for c in snapshot.clusters}
        extra = {("cluster", c.workspace, c.name): c.max_instances for c in snapshot.clusters}
        allocations = [(j.workspace, snapshot.catalogue[j.instance_type], j.nodes, j.tier)
                       for j in snapshot.running if j.compute == SERVERLESS and j.instance_type in snapshot.catalogue]
        allocations += [(c.workspace, snapshot.catalogue[c.instance_type], c.allocated, STANDARD)
                        for c in snapshot.clusters if c.instance_type in snapshot.catalogue]
        used = usage_keys(snapshot.quotas, allocations)
        self.cluster_busy: dict[tuple[str, str], int] = {}
        for job in snapshot.running:
            if job.compute != SERVERLESS:
                key = (job.workspace, job.compute)
                self.cluster_busy[key] = self.cluster_busy.get(key, 0) + job.nodes
                used[("cluster", *key)] = used.get(("cluster", *key), 0) + job.nodes
        self.ledger = Ledger(snapshot.quotas, used, extra)
        self.timeline = _Timeline(snapshot, self.ledger)
        self._limits: dict[tuple[str, str, str], tuple[int, Key]] = {}
        self._auto: dict[str, list[VmSize]] = {}
        for job in snapshot.running:
            if job.compute == SERVERLESS and job.instance_type in snapshot.catalogue:
                need = demand(snapshot.quotas, job.workspace, snapshot.catalogue[job.instance_type], job.nodes, job.tier)
            elif job.compute != SERVERLESS:
                need = {("cluster", job.workspace, job.compute): job.nodes}
            else:
                continue
            self.timeline.add_release(self.timeline.expected_end(job.started_at, job.timeout_seconds), need)
        self.waiters: dict[Key, int] = {}
        self.preempting: set[int] = set()
        self.decisions: list[Decision] = []

    # -- serverless -----------------------------------------------------------------------
    def _size_refusal(self, job: PendingJob) -> Reject | VmSize:
        name = job.instance_type
        size = self.s.catalogue.get(name) or next(
            (s for s in self.s.catalogue.values() if s.name.lower() == name.lower()), None)
        if size is None:
            close = difflib.get_close_matches(name, list(self.s.catalogue), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            return Reject(job.id, f"resources.instance_type: unknown VM size '{name}'{hint}",
                          ("`studio quota list` shows the VM sizes and the quota you have for each",))
        if size.serverless == "no":
            return Reject(job.id, f"resources.instance_type: {size.name} is not offered on serverless compute "
                                  "(retired or unsupported)", self._alternatives(job, size))
        if job.tier == SPOT and size.price_spot is None:
            return Reject(job.id, f"{size.name} is not available as Spot (low priority)",
                          ("use `queue_settings.job_tier: Standard`", *self._alternatives(job, size)))
        return size

    def _alternatives(self, job: PendingJob, like: VmSize | None, limit: int = 5) -> tuple[str, ...]:
        """Sizes that have enough quota for the job, cheapest first, preferring the same kind."""
        options = []
        for size in self.s.catalogue.values():
            if size.serverless == "no" or size.price(job.tier) is None or (like is not None and size.name == like.name):
                continue
            quota, _ = self._limit(job.workspace, size, job.tier)
            if quota >= size.vcpus * job.instance_count:
                same_kind = like is not None and (size.gpus > 0) == (like.gpus > 0)
                options.append((not same_kind, size.price(job.tier), size.name, size))
        options.sort(key=lambda o: o[:3])
        return tuple(f"{o[3].name} ({o[3].describe()}, ${o[3].price(job.tier):g}/h)" for o in options[:limit])

    def _limit(self, workspace: str, size: VmSize, tier: str) -> tuple[int, Key]:
        cache_key = (workspace, size.name, tier)
        found = self._limits.get(cache_key)
        if found is None:
            found = self._limits[cache_key] = effective_limit(self.s.quotas, workspace, size, tier)
        return found

    def _quota_refusal(self, job: PendingJob, size: VmSize) -> Reject | None:
        """The seed's first two cases: no quota at all, or not enough for instance_count."""
        quota, key = self._limit(job.workspace, size, job.tier)
        need = size.vcpus * job.instance_count
        if quota >= need:
            return None
        family = "Spot (low-priority)" if job.tier == SPOT else size.family
        alternatives = self._alternatives(job, size)
        if quota <= 0 or quota < size.vcpus:
            have = "no quota" if quota <= 0 else f"only {quota} vCPUs of quota (one node needs {size.vcpus})"
            reason = f"{have} for {size.name} in {describe_key(key)}"
            recs = []
            if alternatives:
                recs.append("choose a VM size that has quota: " + "; ".join(alternatives))
            recs.append(f"or request a quota increase for {family}")
            return Reject(job.id, reason, tuple(recs))
        fit = quota // size.vcpus
        reason = (f"at most {plural(fit, 'instance')} of {size.name} ({size.vcpus} vCPUs each) fit in "
                  f"{describe_key(key)} of {quota} vCPUs; you asked for {job.instance_count} "
                  f"({need} vCPUs)")
        return Reject(job.id, reason, (f"reduce `resources.instance_count` to {fit}",
                                       f"or request a quota increase for {family}"))

    def serverless(self, job: PendingJob) -> None:
        s = self.s
        if job.instance_type:
            size = self._size_refusal(job)
            if isinstance(size, Reject):
                self.decisions.append(size)
                return
            refusal = self._quota_refusal(job, size)
            if refusal:
                self.decisions.append(refusal)
                return
            candidates = [size]
        else:
            every = self._auto.get(job.tier)
            if every is None:
                every = self._auto[job.tier] = auto_candidates(s.catalogue.values(), job.tier)
            candidates = [c for c in every if self._limit(job.workspace, c, job.tier)[0] >= c.vcpus * job.instance_count]
            if not candidates:
                self.decisions.append(self._no_auto_size(job, every))
                return
        for size in candidates:
            need = demand(s.quotas, job.workspace, size, job.instance_count, job.tier)
            if self.ledger.fits(need):
                self.ledger.take(need)
                self.timeline.admitted(need)
                self.decisions.append(Admit(job.id, job.instance_count, size.name, job.tier, queue_name(size.name),
                                            self._admit_reason(job, size, candidates, need)))
                return
        self._wait(job, candidates)

    def _admit_reason(self, job: PendingJob, size: VmSize, candidates: list[VmSize], need) -> str:
        price = size.price(job.tier)
        what = f"{plural(job.instance_count, 'node')} of {size.name} ({size.describe()}, ${price:g}/h each)"
        key = next(k for k in need if k[0] in ("family", "spot"))
        free = self.ledger.free(key)
        room = f"{free} vCPUs of {describe_key(key).removeprefix('your ')} left"
        if job.instance_type:
            return f"{what}, as asked; {room}"
        if size is candidates[0]:
            why = "the cheapest general-purpose CPU size with at least 2 vCPUs and 16 GiB of temp disk"
        else:
            why = (f"{candidates[0].name} is cheaper but its quota is in use, so the next cheapest general-purpose "
                   "CPU size that fits")
        return f"{what}: {why} that fits your quota; {room}"

    def _no_auto_size(self, job: PendingJob, every: list[VmSize]) -> Reject:
        best = None
        for size in every:
            quota, _ = self._limit(job.workspace, size, job.tier)
            fit = quota // size.vcpus
            if best is None or fit > best[0]:
                best = (fit, size, quota)
        recs = []
        if best and best[0] >= 1:
            recs.append(f"reduce `resources.instance_count` to {best[0]} (fits {best[1].name})")
        recs.append("or request a quota increase for a general-purpose CPU family, e.g. "
                    f"{every[0].family if every else 'standardDSv3Family'}")
        tier = "Spot" if job.tier == SPOT else "dedicated"
        return Reject(job.id, f"no CPU VM size has enough {tier} quota for {plural(job.instance_count, 'node')}",
                      tuple(recs))

    def _wait(self, job: PendingJob, candidates: list[VmSize]) -> None:
        s = self.s
        options = []
        for size in candidates:
            need = demand(s.quotas, job.workspace, size, job.instance_count, job.tier)
            options.append((self.timeline.earliest(need), size, need))
        # the candidate that frees up first (unknown estimates last), else the preferred one
        estimate, size, need = min(options, key=lambda o: (o[0] is None, o[0] or s.now))
        short = self.ledger.short(need)
        if job.tier == SPOT and not any(self.waiters.get(key) for key in short):
            self._maybe_preempt(job, need)
        position = 1 + max((self.waiters.get(key, 0) for key in short), default=0)
        for key in short:
            self.waiters[key] = self.waiters.get(key, 0) + 1
        self.ledger.reserve(need)
        self.timeline.reserve(estimate, need)
        key = short[0]
        ahead = position - 1
        held = f", {ahead} held for {plural(ahead, 'job')} ahead" if ahead else ""
        reason = (f"waiting for quota: {size.name} × {job.instance_count} needs {need[key]} vCPUs of "
                  f"{describe_key(key).removeprefix('your ')}, which has {max(self.ledger.unused(key), 0)} free "
                  f"of {self.ledger.limit(key)} ({self.ledger.used.get(key, 0)} in use by running jobs{held})")
        self.decisions.append(Wait(job.id, reason, position, estimate, size.name))

    def _maybe_preempt(self, job: PendingJob, need) -> None:
        """A Spot job may evict lower-priority Spot jobs to make room."""
        key = next(iter(need))
        victims = sorted(
            (r for r in self.s.running if r.tier == SPOT and not r.evicting and r.id not in self.preempting
             and r.priority < job.priority and r.compute == SERVERLESS and r.instance_type in self.s.catalogue
             and ("spot", self.s.quotas.subscription_of(r.workspace)) == key),
            key=lambda r: (r.priority, -(r.started_at or self.s.now).timestamp()),
        )
        free = self.ledger.free(key)
        chosen = []
        for victim in victims:
            if free >= need[key]:
                break
            chosen.append(victim)
            free += self.s.catalogue[victim.instance_type].vcpus * victim.nodes
        if free >= need[key] and chosen:
            for victim in chosen:
                self.preempting.add(victim.id)
                self.decisions.append(Preempt(victim.id, f"evicted to make room for higher-priority Spot job "
                                                         f"'{job.name}'; it goes back to the queue"))

    # -- clusters --------------------------------------------------------------------------
    def cluster(self, job: PendingJob) -> None:
        s = self.s
        cluster = self.clusters.get((job.workspace, job.compute))
        if cluster is None:
            names = sorted(c.name for c in s.clusters if c.workspace == job.workspace)
            recs = ["leave `compute` out (or write `compute: azureml:serverless`) to run on serverless compute"]
            if names:
                recs.append("or use one of this workspace's clusters: " + ", ".join(names))
            else:
                recs.append("or create the cluster first (`studio compute create`)")
            self.decisions.append(Reject(job.id, f"compute '{job.compute}' does not exist in this workspace",
                                         tuple(recs)))
            return
        if job.instance_count > cluster.max_instances:
            self.decisions.append(Reject(job.id, f"cluster '{cluster.name}' has at most "
                                                 f"{plural(cluster.max_instances, 'node')}; you asked for "
                                                 f"{job.instance_count}",
                                         (f"reduce `resources.instance_count` to {cluster.max_instances}",
                                          "or leave `compute` out to run on serverless compute")))
            return
        size = s.catalogue.get(cluster.instance_type)
        key = ("cluster", cluster.workspace, cluster.name)
        busy = self.ledger.used.get(key, 0)
        idle = max(0, cluster.allocated - busy)
        grow = max(0, job.instance_count - idle)
        need_quota = demand(s.quotas, job.workspace, size, grow, STANDARD) if size and grow else {}
        scaling_down = cluster.scaling_down_until is not None and cluster.scaling_down_until > s.now
        blocked = bool(self.waiters.get(key))
        if not scaling_down and not blocked and busy + job.instance_count <= cluster.max_instances \
                and self.ledger.fits(need_quota):
            self.ledger.take({key: job.instance_count})
            self.ledger.take(need_quota)
            self.timeline.admitted({key: job.instance_count})
            how = (f"{plural(job.instance_count - grow, 'idle node')}" if not grow else
                   f"scaling up by {plural(grow, 'node')}")
            self.decisions.append(Admit(job.id, job.instance_count, cluster.instance_type, STANDARD,
                                        queue_name(cluster.instance_type),
                                        f"running on cluster '{cluster.name}' ({cluster.instance_type}): {how}",
                                        scale_cluster_to=cluster.allocated + grow if grow else None))
            return
        position = self.waiters.get(key, 0) + 1
        self.waiters[key] = position
        if scaling_down:
            estimate = cluster.scaling_down_until
            why = (f"cluster '{cluster.name}' is scaling down and must finish before it scales up again "
                   f"(until {cluster.scaling_down_until:%H:%M:%S} UTC)")
        elif busy + job.instance_count > cluster.max_instances or blocked:
            estimate = self.timeline.earliest({key: job.instance_count})
            why = (f"cluster '{cluster.name}' is busy: {busy} of its {cluster.max_instances} nodes are running "
                   "other jobs")
        else:
            estimate = self.timeline.earliest(need_quota)
            why = f"cluster '{cluster.name}' cannot scale up: its {size.family if size else ''} quota is in use"
        self.timeline.reserve(estimate, {key: job.instance_count})
        self.decisions.append(Wait(job.id, f"{why}; serverless compute would not wait for the cluster",
                                   position, estimate, cluster.instance_type))

    def scale_down(self) -> None:
        """Idle nodes go after the idle time; finished scale-downs release their quota."""
        s = self.s
        for cluster in s.clusters:
            key = (cluster.workspace, cluster.name)
            busy = self.ledger.used.get(("cluster", *key), 0)
            target = max(cluster.min_instances, busy)
            if cluster.scaling_down_until is not None:
                if cluster.scaling_down_until <= s.now:
                    self.decisions.append(ScaleCluster(cluster.workspace, cluster.name, cluster.allocated, None,
                                                       f"cluster '{cluster.name}' finished scaling down"))
                continue
            if cluster.allocated > target and busy == 0 and cluster.idle_since is not None \
                    and s.now - cluster.idle_since >= timedelta(seconds=cluster.idle_seconds):
                self.decisions.append(ScaleCluster(
                    cluster.workspace, cluster.name, target, s.now + s.scale_down_time,
                    f"cluster '{cluster.name}' was idle for {cluster.idle_seconds} s: scaling down from "
                    f"{cluster.allocated} to {plural(target, 'node')}"))


def decide(snapshot: Snapshot) -> list[Decision]:
    """One decision for every pending job (in queue order), plus preemptions and cluster scaling."""
    decider = _Decider(snapshot)
    for job in queue_order(snapshot.pending):
        if job.compute == SERVERLESS:
            decider.serverless(job)
        else:
            decider.cluster(job)
    decider.scale_down()
    return decider.decisions


def explain(job: PendingJob, snapshot: Snapshot) -> Decision:
    """What would happen to ``job`` if it were submitted now, behind the current queue."""
    with_job = replace(snapshot, pending=tuple(snapshot.pending) + (job,))
    return next(d for d in decide(with_job) if d.job_id == job.id and not isinstance(d, Preempt))
