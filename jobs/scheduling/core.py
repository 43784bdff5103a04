"""The pure scheduling core: a snapshot in, decisions out. No Django, no clock of its own.

For every pending job it decides one of: admit (with VM size, node count and tier),
wait (with a reason code, the reason, queue position, what it waits for and an estimated
start), reject (with a reason code, the reason and concrete recommendations); for running
Spot jobs it may decide to preempt; for clusters, to scale down. Everything a user is told
about *why* comes from here, so the API, the CLI and the pages say the same thing; the
codes (``Reason``) let them group and filter without reading prose.

Order is priority, then submission time. A job that has to wait holds what it needs
of each quota: later jobs can only use what is left beyond that, so a large job at
the head is never starved by small ones slipping past, while jobs that need other
quotas go ahead.

How start estimates are made: ``jobs.scheduling.estimates``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Mapping

from jobs.scheduling.estimates import Estimate, Range, Timeline, Typical, describe_estimate
from studio.enums import DocumentedEnum
from studio.humanize import duration, plural
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


class Reason(DocumentedEnum):
    """Why a job waits, is refused or is evicted: a code beside the sentence, as Kueue does.

    Each member's docstring says what it means (``Reason.QUOTA_BUSY.__doc__``)."""

    # -- waits: the job fits its quotas, but not now
    QUOTA_BUSY = ("QuotaBusy",
                  "Waits: the VM family's subscription quota is large enough for the job, but running jobs use it.")
    WORKSPACE_CAP_BUSY = ("WorkspaceCapBusy",
                          "Waits: the workspace's cap for the VM family is large enough, but running jobs of the "
                          "workspace use it.")
    REGIONAL_QUOTA_BUSY = ("RegionalQuotaBusy",
                           "Waits: the subscription's total regional vCPUs (`cores`) are large enough, but running "
                           "jobs of any family use them.")
    SPOT_POOL_BUSY = ("SpotPoolBusy",
                      "Waits: the subscription's shared Spot (low-priority) pool is large enough, but running Spot "
                      "jobs use it.")
    HELD_FOR_JOBS_AHEAD = ("HeldForJobsAhead",
                           "Waits: what is free now would fit the job, but it is held for jobs ahead of it in the "
                           "queue (higher priority, or submitted earlier), so that they are not starved.")
    CLUSTER_BUSY = ("ClusterBusy",
                    "Waits: the named compute cluster has no room: its nodes run other jobs, up to its maximum.")
    CLUSTER_SCALING_DOWN = ("ClusterScalingDown",
                            "Waits: the named compute cluster is releasing idle nodes and cannot scale up until it "
                            "has finished.")
    CLUSTER_QUOTA_BUSY = ("ClusterQuotaBusy",
                          "Waits: the named compute cluster could add nodes, but the quota of its VM family is in "
                          "use.")
    # -- rejections: the job cannot run as asked
    EXCEEDS_QUOTA = ("ExceedsQuota",
                     "Refused: there is quota for the VM size, but not enough for `resources.instance_count` even "
                     "when nothing else runs.")
    NO_QUOTA_FOR_SIZE = ("NoQuotaForSize",
                         "Refused: there is no quota for the VM size (or less than one node needs).")
    UNKNOWN_VM_SIZE = ("UnknownVmSize", "Refused: `resources.instance_type` names no VM size in the catalogue.")
    SIZE_NOT_ON_SERVERLESS = ("SizeNotOnServerless",
                              "Refused: the VM size is retired or not offered on serverless compute.")
    SPOT_UNAVAILABLE = ("SpotUnavailable", "Refused: the VM size has no Spot (low-priority) offer.")
    NO_AUTO_SIZE = ("NoAutoSize",
                    "Refused: no size was named, and no general-purpose CPU size has enough quota for the job.")
    UNKNOWN_COMPUTE = ("UnknownCompute", "Refused: `compute` names no cluster in the job's workspace.")
    EXCEEDS_CLUSTER_SIZE = ("ExceedsClusterSize",
                            "Refused: the job asks for more nodes than the named cluster's maximum.")
    # -- preemption
    PREEMPTED = ("Preempted",
                 "Evicted: a lower-priority Spot job makes room for a higher-priority Spot job; it goes back to "
                 "the queue.")


_BUSY = {"ws": Reason.WORKSPACE_CAP_BUSY, "family": Reason.QUOTA_BUSY, "cores": Reason.REGIONAL_QUOTA_BUSY,
         "spot": Reason.SPOT_POOL_BUSY}
_SHORTEST_FIRST = {"ws": 0, "family": 1, "cores": 2, "spot": 3}  # which quota a wait names first


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
    timeout_seconds: int | None = None  # limits.timeout: how long it may run once started
    typical: Typical | None = None


@dataclass(frozen=True)
class RunningJob:
    """A job that holds quota (admitted and not yet ended). ``started_at`` is when its time limit
    started counting (its command's start); ``None`` while it is still being prepared, and then
    its window is counted from now."""

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
    typical: Typical | None = None


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
    code: Reason
    reason: str  # the sentence about WHY it waits (no position or estimate in it)
    position: int
    estimate: Estimate | None  # None = no estimate at all
    basis: str  # how the estimate was made, or why there is none
    instance_type: str | None = None
    # what it waits for: the chosen size's need per quota key (vCPUs; nodes for ("cluster", ws, name) keys)
    demand: Mapping[Key, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Reject:
    job_id: int
    code: Reason
    reason: str
    recommendations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preempt:
    job_id: int
    code: Reason
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


def describe_wait(*, reason: str, position: int | None, estimate: Estimate | None, basis: str,
                  now: datetime) -> str:
    """The whole sentence a user reads about a waiting job. It is composed when it is read,
    because ``now`` moves while the decision stays: "in about 4 min" must be said from now."""
    where = f"; position {position} in the queue" if position else ""
    return f"{reason}{where}; {describe_estimate(estimate=estimate, basis=basis, now=now)}"


# -- sizes ---------------------------------------------------------------------------------------

def find_size(name: str, catalogue: Mapping[str, VmSize]) -> VmSize | None:
    """The catalogue's size called ``name`` (exactly, else ignoring case)."""
    return catalogue.get(name) or next((s for s in catalogue.values() if s.name.lower() == name.lower()), None)


def size_problem(name: str, tier: str, catalogue: Mapping[str, VmSize]) -> tuple[Reason, str] | None:
    """Why serverless compute cannot run VM size ``name`` at ``tier``, in the words every refusal
    uses (the core's own rejections and the wizard's check): None when it can."""
    size = find_size(name, catalogue)
    if size is None:
        close = difflib.get_close_matches(name, list(catalogue), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return Reason.UNKNOWN_VM_SIZE, f"unknown VM size '{name}'{hint}"
    if size.serverless == "no":
        return Reason.SIZE_NOT_ON_SERVERLESS, f"{size.name} is not offered on serverless compute (retired or unsupported)"
    if tier == SPOT and size.price_spot is None:
        return Reason.SPOT_UNAVAILABLE, f"{size.name} is not available as Spot (low priority)"
    return None


# -- the cycle -----------------------------------------------------------------------------------

def _increase_for(key: Key, size: VmSize) -> str:
    """What to ask a quota increase for, when ``key`` is the quota that is too small."""
    return {"spot": "Spot (low-priority)", "cores": "the subscription's total regional vCPUs (`cores`)",
            "ws": f"{size.family} in workspace '{key[1]}'"}.get(key[0], size.family)


class _Decider:
    def __init__(self, snapshot: Snapshot):
        s = self.s = snapshot
        self.clusters = {(c.workspace, c.name): c for c in s.clusters}
        # 1. What is in use: serverless jobs and clusters' nodes hold quota, cluster jobs hold nodes.
        extra = {("cluster", c.workspace, c.name): c.max_instances for c in s.clusters}
        allocations = [(j.workspace, s.catalogue[j.instance_type], j.nodes, j.tier)
                       for j in s.running if j.compute == SERVERLESS and j.instance_type in s.catalogue]
        allocations += [(c.workspace, s.catalogue[c.instance_type], c.allocated, STANDARD)
                        for c in s.clusters if c.instance_type in s.catalogue]
        used = usage_keys(s.quotas, allocations)
        for job in s.running:
            if job.compute != SERVERLESS:
                key = ("cluster", job.workspace, job.compute)
                used[key] = used.get(key, 0) + job.nodes
        self.ledger = Ledger(s.quotas, used, extra)
        # 2. When it frees: each running job at the end of its window; cluster nodes when they scale down.
        self.timeline = Timeline(s.now, self.ledger)
        for job in s.running:
            if job.compute == SERVERLESS and job.instance_type in s.catalogue:
                need = demand(s.quotas, job.workspace, s.catalogue[job.instance_type], job.nodes, job.tier)
            elif job.compute != SERVERLESS:
                need = {("cluster", job.workspace, job.compute): job.nodes}
            else:
                continue
            self.timeline.hold_running(job, need)
        for c in s.clusters:
            if c.allocated and c.instance_type in s.catalogue:
                self.timeline.hold_forever(demand(s.quotas, c.workspace, s.catalogue[c.instance_type], c.allocated,
                                                  STANDARD), ("cluster", c.name, 0))
        self._limits: dict[tuple[str, str, str], tuple[int, Key]] = {}
        self._auto: dict[str, list[VmSize]] = {}
        self.waiters: dict[Key, int] = {}  # jobs waiting so far that hold each quota
        self.cluster_queue: dict[Key, Range] = {}  # when the last job waiting for each cluster starts
        self.preempting: set[int] = set()
        self.decisions: list[Decision] = []

    # -- serverless -----------------------------------------------------------------------
    def _size_refusal(self, job: PendingJob) -> Reject | VmSize:
        problem = size_problem(job.instance_type, job.tier, self.s.catalogue)
        if problem is None:
            return find_size(job.instance_type, self.s.catalogue)
        code, sentence = problem
        if code is Reason.UNKNOWN_VM_SIZE:
            recs = ("`studio quota list` shows the VM sizes and the quota you have for each",)
        else:
            size = find_size(job.instance_type, self.s.catalogue)
            recs = (*(("use `queue_settings.job_tier: Standard`",) if code is Reason.SPOT_UNAVAILABLE else ()),
                    *self._alternatives(job, size))
        return Reject(job.id, code, f"resources.instance_type: {sentence}", recs)

    def _alternatives(self, job: PendingJob, like: VmSize, limit: int = 5) -> tuple[str, ...]:
        """Sizes that have enough quota for the job, cheapest first: of its own kind (GPU or CPU)
        first, and for a GPU job CPU sizes only after them, in case it can run without a GPU."""
        same, other = [], []
        for size in self.s.catalogue.values():
            if size.serverless == "no" or size.price(job.tier) is None or size.name == like.name:
                continue
            quota, _ = self._limit(job.workspace, size, job.tier)
            if quota >= size.vcpus * job.instance_count:
                (same if (size.gpus > 0) == (like.gpus > 0) else other).append(size)

        def listed(sizes: list[VmSize], n: int) -> str:
            sizes = sorted(sizes, key=lambda s: (s.price(job.tier), s.name))[:n]
            return ", ".join(f"{s.name} ({s.describe()}, ${s.price(job.tier):g}/h)" for s in sizes)

        if not like.gpus:
            return (f"choose a VM size that has quota: {listed(same, limit)}",) if same else ()
        if same and other:
            return (f"choose a VM size that has quota: {listed(same, limit)}; or, if the job can run without a "
                    f"GPU: {listed(other, 2)}",)
        if same:
            return (f"choose a VM size that has quota: {listed(same, limit)}",)
        if other:
            return (f"choose a VM size that has quota: no GPU size has any; if the job can run without a GPU: "
                    f"{listed(other, limit)}",)
        return ()

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
        family = _increase_for(key, size)
        if quota <= 0 or quota < size.vcpus:
            have = "no quota" if quota <= 0 else f"only {quota} vCPUs of quota (one node needs {size.vcpus})"
            return Reject(job.id, Reason.NO_QUOTA_FOR_SIZE, f"{have} for {size.name} in {describe_key(key)}",
                          (*self._alternatives(job, size), f"or request a quota increase for {family}"))
        fit = quota // size.vcpus
        reason = (f"at most {plural(fit, 'instance')} of {size.name} ({size.vcpus} vCPUs each) fit in "
                  f"{describe_key(key)} of {quota} vCPUs; you asked for {job.instance_count} "
                  f"({need} vCPUs)")
        return Reject(job.id, Reason.EXCEEDS_QUOTA, reason, (f"reduce `resources.instance_count` to {fit}",
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
                self.timeline.admitted(job, need)
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
                   "CPU size")
        return f"{what}: {why} that fits your quota; {room}"

    def _no_auto_size(self, job: PendingJob, every: list[VmSize]) -> Reject:
        best = None
        for size in every:
            quota, _ = self._limit(job.workspace, size, job.tier)
            fit = quota // size.vcpus
            if best is None or fit > best[0]:
                best = (fit, size, quota)
        increase = ("request a quota increase for a general-purpose CPU family, e.g. "
                    f"{every[0].family if every else 'standardDSv3Family'}")
        if best and best[0] >= 1:
            recs = [f"reduce `resources.instance_count` to {best[0]} (fits {best[1].name})", f"or {increase}"]
        else:
            recs = [increase]
        tier = "Spot" if job.tier == SPOT else "dedicated"
        return Reject(job.id, Reason.NO_AUTO_SIZE,
                      f"no CPU VM size has enough {tier} quota for {plural(job.instance_count, 'node')}", tuple(recs))

    def _wait(self, job: PendingJob, candidates: list[VmSize]) -> None:
        s = self.s
        options = []
        for size in candidates:  # cheapest first
            need = demand(s.quotas, job.workspace, size, job.instance_count, job.tier)
            options.append((self.timeline.range(need), size, need))
        # It starts on the cheapest size that fits when one does, so in each world it takes the one
        # that frees first there; it waits for (and holds) the one that frees first for certain.
        early = min((o for o in options if o[0].early is not None), key=lambda o: o[0].early, default=None)
        late = min((o for o in options if o[0].late is not None), key=lambda o: o[0].late, default=None)
        chosen = late or early or options[0]
        _, size, need = chosen
        start = Range(early[0].early if early else None, late[0].late if late else None,
                       (early or options[0])[0].early_keys, chosen[0].late_keys)
        estimate, basis = self.timeline.describe(start)
        short = self.ledger.short(need)
        evicting = 0
        if job.tier == SPOT and not any(self.waiters.get(key) for key in short):
            evicting = self._maybe_preempt(job, need)
        position = 1 + max((self.waiters.get(key, 0) for key in short), default=0)
        for key in need:
            self.waiters[key] = self.waiters.get(key, 0) + 1
        code, reason = self._wait_reason(job, size, need, short, position)
        if evicting:
            reason += f"; evicting {plural(evicting, 'lower-priority Spot job')} to make room"
        self.ledger.reserve(need)
        self.timeline.reserve(job, start, need, early_need=early[2] if early else need)
        self.decisions.append(Wait(job.id, code, reason, position, estimate, basis, size.name, need))

    def _wait_reason(self, job: PendingJob, size: VmSize, need, short: list[Key], position: int) -> tuple[Reason, str]:
        """The quota a wait names: one that running jobs fill, else one held for jobs ahead."""
        busy = [key for key in short if self.ledger.unused(key) < need[key]]
        key = min(busy or short, key=lambda k: _SHORTEST_FIRST.get(k[0], 9))
        ledger = self.ledger
        unused, used, held = max(ledger.unused(key), 0), ledger.used.get(key, 0), ledger.reserved.get(key, 0)
        what = (f"{size.name} × {job.instance_count} needs {need[key]} vCPUs of "
                f"{describe_key(key).removeprefix('your ')}, which has {unused} free of {ledger.limit(key)}")
        if busy:
            held = f", {held} held for jobs ahead" if held else ""
            return _BUSY[key[0]], f"waiting for quota: {what} ({used} in use by running jobs{held})"
        return Reason.HELD_FOR_JOBS_AHEAD, (f"waiting for jobs ahead: {what}, but {held} are held for "
                                            f"{plural(position - 1, 'job')} ahead of it in the queue")

    def _maybe_preempt(self, job: PendingJob, need) -> int:
        """A Spot job may evict lower-priority Spot jobs to make room; how many it evicts."""
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
                self.decisions.append(Preempt(victim.id, Reason.PREEMPTED,
                                              f"evicted to make room for higher-priority Spot job '{job.name}'; "
                                              "it goes back to the queue"))
            return len(chosen)
        return 0

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
            self.decisions.append(Reject(job.id, Reason.UNKNOWN_COMPUTE,
                                         f"compute '{job.compute}' does not exist in this workspace", tuple(recs)))
            return
        if job.instance_count > cluster.max_instances:
            self.decisions.append(Reject(job.id, Reason.EXCEEDS_CLUSTER_SIZE,
                                         f"cluster '{cluster.name}' has at most "
                                         f"{plural(cluster.max_instances, 'node')}; you asked for {job.instance_count}",
                                         (f"reduce `resources.instance_count` to {cluster.max_instances}",
                                          "or leave `compute` out to run on serverless compute")))
            return
        size = s.catalogue.get(cluster.instance_type)
        key = ("cluster", cluster.workspace, cluster.name)
        nodes = {key: job.instance_count}
        busy = self.ledger.used.get(key, 0)
        idle = max(0, cluster.allocated - busy)
        grow = max(0, job.instance_count - idle)
        need_quota = demand(s.quotas, job.workspace, size, grow, STANDARD) if size and grow else {}
        scaling_down = cluster.scaling_down_until is not None and cluster.scaling_down_until > s.now
        ahead = self.waiters.get(key, 0)
        full = busy + job.instance_count > cluster.max_instances
        if not scaling_down and not ahead and not full and self.ledger.fits(need_quota):
            self.ledger.take(nodes)
            self.ledger.take(need_quota)
            self.timeline.admitted(job, nodes)
            how = (f"{plural(job.instance_count - grow, 'idle node')}" if not grow else
                   f"scaling up by {plural(grow, 'node')}")
            self.decisions.append(Admit(job.id, job.instance_count, cluster.instance_type, STANDARD,
                                        queue_name(cluster.instance_type),
                                        f"running on cluster '{cluster.name}' ({cluster.instance_type}): {how}",
                                        scale_cluster_to=cluster.allocated + grow if grow else None))
            return
        self.waiters[key] = position = ahead + 1
        waits_for = nodes
        if scaling_down:
            code = Reason.CLUSTER_SCALING_DOWN
            until = cluster.scaling_down_until
            start = Range(until, until)
            estimate, basis = Estimate(until, until), f"when cluster '{cluster.name}' finishes scaling down"
            why = f"cluster '{cluster.name}' is scaling down and must finish before it scales up again"
        elif full or ahead:
            code = Reason.CLUSTER_BUSY if full else Reason.HELD_FOR_JOBS_AHEAD
            start = self.timeline.range(nodes)
            estimate, basis = self.timeline.describe(start)
            why = (f"cluster '{cluster.name}' is busy: {busy} of its {cluster.max_instances} nodes are running "
                   "other jobs" if full else
                   f"cluster '{cluster.name}' has room, but its nodes are held for "
                   f"{plural(ahead, 'job')} ahead of it in the cluster's queue")
        else:
            code = Reason.CLUSTER_QUOTA_BUSY
            start = self.timeline.range(need_quota)
            estimate, basis = self.timeline.describe(start)
            waits_for = {**nodes, **need_quota}
            why = f"cluster '{cluster.name}' cannot scale up: its {size.family if size else ''} quota is in use"
        start, estimate, basis = self._behind_cluster_queue(key, start, estimate, basis)
        self.cluster_queue[key] = start
        self.timeline.reserve(job, start, nodes)
        self.decisions.append(Wait(job.id, code, f"{why}; serverless compute would not wait for the cluster",
                                   position, estimate, basis, cluster.instance_type, waits_for))

    def _behind_cluster_queue(self, key: Key, start: Range, estimate: Estimate | None, basis: str):
        """A cluster's queue is first come, first served: no job starts before the one ahead of it."""
        ahead = self.cluster_queue.get(key)
        if ahead is None:
            return start, estimate, basis
        early = None if start.early is None or ahead.early is None else max(start.early, ahead.early)
        late = None if start.late is None or ahead.late is None else max(start.late, ahead.late)
        if (early, late) == (start.early, start.late):
            return start, estimate, basis
        later = Range(early, late, start.early_keys, start.late_keys)
        if early is None or (late is None and early <= self.s.now):
            return later, None, "no estimate: the job ahead of it in the cluster's queue has no estimate itself"
        if late is None:
            return later, Estimate(early, None), ("based on when the job ahead of it in the cluster's queue starts; "
                                                  "no latest start known")
        return later, Estimate(early, late), "based on when the jobs ahead of it in the cluster's queue start"

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
                    f"cluster '{cluster.name}' was idle for {duration(cluster.idle_seconds)}: scaling down from "
                    f"{cluster.allocated} to {plural(target, 'node')}"))


def decide(snapshot: Snapshot) -> list[Decision]:
    """One decision for every pending job (in queue order), plus preemptions and cluster scaling.

    1. Count what is in use: serverless jobs' and clusters' vCPUs per quota, cluster jobs' nodes.
    2. Lay out when it frees: each running job's end window, in the early and the late world.
    3. Take the pending jobs in queue order; each is refused (it can never fit as asked),
       admitted (it fits now, beyond what is held for jobs ahead), or waits (it holds what it
       needs, with its position and estimate); a waiting Spot job may preempt lower priority.
    4. Scale idle clusters down, and settle finished scale-downs.
    """
    decider = _Decider(snapshot)
    for job in queue_order(snapshot.pending):
        if job.compute == SERVERLESS:
            decider.serverless(job)
        else:
            decider.cluster(job)
    decider.scale_down()
    return decider.decisions


def refusal(job: PendingJob, snapshot: Snapshot) -> Reject | None:
    """Whether ``job`` can never run as asked (the seed's refusals: no such size or compute, no
    quota for the size, not enough for ``instance_count``). They depend on the quotas, the
    catalogue and the clusters, never on the queue, so this costs the same whatever its length:
    a submission checks it in the request and leaves the queue to the scheduling cycle."""
    decision = explain(job, replace(snapshot, running=(), pending=()))
    return decision if isinstance(decision, Reject) else None


def explain(job: PendingJob, snapshot: Snapshot) -> Decision:
    """What would happen to ``job`` if it were submitted now, behind the current queue."""
    with_job = replace(snapshot, pending=tuple(snapshot.pending) + (job,))
    return next(d for d in decide(with_job) if d.job_id == job.id and not isinstance(d, Preempt))
