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

A start estimate is a range, and only as good as what is known. A running job ends
somewhere in a window: its time limit (``limits.timeout``) bounds its latest end, and
recent runs of the same experiment give a typical end (``Typical``); with neither, its
end is unknown. The core plays the future twice: once with every job ending as early as
is plausible (the estimate's ``earliest``), once with every job ending at its latest
bound (``latest``; ``None`` when a job it must wait for has no bound). With no basis at
all there is no estimate, and ``basis`` says why.
"""

from __future__ import annotations

import bisect
import difflib
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Mapping

from studio.humanize import duration, moment_from_now, plural
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


class Reason(str, Enum):
    """Why a job waits, is refused or is evicted: a code beside the sentence, as Kueue does.

    Each member's docstring says what it means (``Reason.QUOTA_BUSY.__doc__``)."""

    def __new__(cls, value: str, doc: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.__doc__ = doc
        return member

    def __str__(self) -> str:
        return self.value

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
class Typical:
    """How long recent completed runs of the same kind of job took: the basis of an estimate.

    The service computes it per job from history: the job's last (up to 20) Completed runs of
    the same experiment, or of the same display name when it has no experiment, each measured
    the way ``started_at`` is (from the command's start to its end). ``low_seconds`` is the
    shortest of them, ``high_seconds`` the longest, ``runs`` how many there were (at least 1),
    and ``of`` names what they are runs of in words, e.g. "experiment 'tuning'" or
    "jobs named 'train'". ``None`` when there is no such run."""

    low_seconds: float
    high_seconds: float
    runs: int
    of: str


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
class Estimate:
    earliest: datetime  # the soonest the job can start given what is known
    latest: datetime | None  # the latest it should start; None = no upper bound known


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


def describe_estimate(*, estimate: Estimate | None, basis: str, now: datetime) -> str:
    """A start estimate in words, with its basis (or, with no estimate, why there is none)."""
    if estimate is None:
        return basis
    earliest, latest = estimate.earliest, estimate.latest
    if latest is not None and latest <= now:
        when = f"overdue, due {moment_from_now(latest, now)}"
    elif latest is not None and (earliest <= now or latest - earliest < timedelta(seconds=1)):
        when = f"at the latest {moment_from_now(latest, now)}" if earliest <= now else moment_from_now(latest, now)
    elif latest is not None:
        when = f"earliest {moment_from_now(earliest, now)}, latest {moment_from_now(latest, now)}"
    else:
        when = f"earliest {moment_from_now(earliest, now)}, no latest known"
    return f"estimated start {when}, {basis}"


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


# -- estimates -----------------------------------------------------------------------------------
#
# A tag says why a release happens when it does (or never): (kind, of, runs). Kinds:
#   limit, typical, unknown, overrun     a running (or just admitted) job, bounded by its time
#                                        limit, by its recent runs, by nothing, or past its
#                                        recent runs with no time limit
#   ahead-limit, ahead-typical, ahead-unknown, ahead-waiting
#                                        a job ahead in the queue, the same, or with no latest
#                                        start of its own
#   cluster                              a compute cluster's nodes (of = its name)

Tag = tuple[str, str, int]


def _tag(kind: str, typical: Typical | None = None) -> Tag:
    return (kind, typical.of, typical.runs) if typical and kind.endswith("typical") else (kind, "", 0)


def _run_length(timeout_seconds: int | None, typical: Typical | None) -> tuple[timedelta, timedelta | None, str]:
    """How long a job runs once started: (shortest plausible, longest expected or None, tag kind)."""
    limit = timedelta(seconds=timeout_seconds) if timeout_seconds else None
    if typical is not None:
        low, high = timedelta(seconds=typical.low_seconds), timedelta(seconds=typical.high_seconds)
        return (min(low, limit), min(high, limit), "typical") if limit else (low, high, "typical")
    return timedelta(0), limit, "limit" if limit else "unknown"


def _end_window(job: RunningJob, now: datetime) -> tuple[datetime, datetime | None, Tag]:
    """When a running job lets go of its quota: (earliest plausible end, latest bound or None, tag).

    A job that has run past its recent runs but still runs is still running: it may end at any
    moment, and only its time limit still bounds it."""
    started = job.started_at or now
    low, high, kind = _run_length(job.timeout_seconds, job.typical)
    if kind == "typical" and started + high <= now:  # past its recent runs
        if job.timeout_seconds:
            return now, max(started + timedelta(seconds=job.timeout_seconds), now), _tag("limit")
        return now, None, ("overrun", job.typical.of, job.typical.runs)
    return max(started + low, now), (max(started + high, now) if high is not None else None), _tag(kind, job.typical)


class _KeyTimeline:
    """One quota's future in one world: what is free from now on (less what waiting jobs hold),
    and the releases to come, sorted by time, each with why it comes then (its tag).

    As in the ledger, a waiting job holds its need from now until it ends, and a job behind it
    may start sooner with what is left: a job's start is the first moment the releases so far
    cover its need. ``skip`` passes the releases that cannot make a single unit free on their
    own; no release is ever added before them, which keeps a cycle over ten thousand waiting
    jobs fast."""

    def __init__(self, free: int, now: datetime, releases: list[tuple[datetime, int, Tag]], never: Counter):
        self.free = free
        self.now = now
        self.releases = sorted(releases)
        self.skip = 0
        self.skipped = 0  # the sum of releases[:skip]
        self.times_of: dict[Tag, list[datetime]] = {}  # each tag's release times, sorted (few tags)
        for at, _, tag in self.releases:
            self.times_of.setdefault(tag, []).append(at)
        self.never = never

    def _pass_useless(self) -> None:
        releases = self.releases
        while self.skip < len(releases) and self.free + self.skipped + releases[self.skip][1] < 1:
            self.skipped += releases[self.skip][1]
            self.skip += 1

    def earliest(self, need: int) -> datetime | None:
        if self.free >= need:
            return self.now
        self._pass_useless()
        free, releases = self.free + self.skipped, self.releases
        for i in range(self.skip, len(releases)):
            free += releases[i][1]
            if free >= need:
                return releases[i][0]
        return None

    def released_by(self, moment: datetime) -> Counter:
        """Why what frees by ``moment`` frees: how many releases of each tag come until then."""
        counts = ((tag, bisect.bisect_right(times, moment)) for tag, times in self.times_of.items())
        return Counter({tag: n for tag, n in counts if n})

    def consume(self, need: int, release_at: datetime | None, tag: Tag) -> None:
        if release_at is None:
            self.free -= need
            self.never[tag] += 1
        elif release_at > self.now:  # (a job that may end as it starts gives back at once)
            self.free -= need
            bisect.insort(self.releases, (release_at, need, tag), lo=self.skip)
            bisect.insort(self.times_of.setdefault(tag, []), release_at)


class _World:
    """One way the future may go: every job ends at its earliest plausible end (``early``), or
    at its latest bound, a job with no bound never ending (``late``)."""

    def __init__(self, now: datetime, ledger: Ledger, early: bool):
        self.now = now
        self.early = early
        self.ledger = ledger
        self.initial_used = dict(ledger.used)
        self.releases: dict[Key, list[tuple[datetime, int, Tag]]] = {}
        self.never: dict[Key, Counter] = {}
        self.keys: dict[Key, _KeyTimeline] = {}

    def hold(self, need: Mapping[Key, int], end: datetime | None, tag: Tag) -> None:
        """Something that holds quota before the cycle starts: a running job, a cluster's nodes."""
        for key, amount in need.items():
            if end is None:
                self.never.setdefault(key, Counter())[tag] += 1
            else:
                self.releases.setdefault(key, []).append((max(end, self.now), amount, tag))

    def _key(self, key: Key) -> _KeyTimeline:
        timeline = self.keys.get(key)
        if timeline is None:
            free = self.ledger.limit(key) - self.initial_used.get(key, 0)
            timeline = self.keys[key] = _KeyTimeline(free, self.now, self.releases.get(key, []),
                                                     self.never.setdefault(key, Counter()))
        return timeline

    def earliest(self, need: Mapping[Key, int]) -> tuple[datetime | None, tuple[Key, ...]]:
        """When every quota of ``need`` has room; and the quotas that never will in this world,
        or (when it has a moment) those it waits on, whose releases the basis names."""
        moment, never, waits_on = self.now, [], []
        for key, amount in need.items():
            timeline = self._key(key)
            at = timeline.earliest(amount)
            if at is None:
                never.append(key)
                continue
            if timeline.free < amount:
                waits_on.append(key)
            if at > moment:
                moment = at
        return (None, tuple(never)) if never else (moment, tuple(waits_on))

    def take(self, need: Mapping[Key, int], start: datetime | None, run: tuple, ahead: bool) -> None:
        """A job takes ``need`` at ``start`` and runs for ``run`` (from ``_run_length``)."""
        low, high, kind = run[:3]
        length = low if self.early else high
        if start is None:
            end, kind = None, "waiting"
        else:
            end = start + length if length is not None else None
        tag = _tag(f"ahead-{kind}" if ahead else kind, run[3])
        for key, amount in need.items():
            self._key(key).consume(amount, end, tag)

    def tags(self, keys, *, by: datetime | None = None) -> Counter:
        """Why ``keys`` free by ``by`` (or, without it, why they never do), each tag counted once
        per job: a job counts on every quota it holds, so counts merge by the largest."""
        return _merge(*(self._key(key).never if by is None else self._key(key).released_by(by) for key in keys))


def _merge(*counters: Counter) -> Counter:
    merged: dict = {}
    for counter in counters:
        for tag, count in counter.items():
            if count > merged.get(tag, 0):
                merged[tag] = count
    return Counter(merged)


def _based_on(tags: Counter) -> str:
    """How an estimate was made, from what ends before the job can start."""
    limits = {"limit": 0, "ahead-limit": 0}
    runs: dict[str, int] = {}
    for (kind, of, count), jobs in tags.items():
        if kind in limits:
            limits[kind] += jobs
        elif kind.endswith("typical"):
            runs[of] = max(runs.get(of, 0), count)
    parts = []
    if limits["limit"]:
        parts.append(f"the time limit of {plural(limits['limit'], 'running job')}")
    if limits["ahead-limit"]:
        parts.append(f"the time limit of {plural(limits['ahead-limit'], 'job')} ahead in the queue")
    common = sorted(runs.items(), key=lambda item: (-item[1], item[0]))
    parts += [f"{plural(count, 'recent run')} of {of}" for of, count in common[:2]]
    if len(common) > 2:
        parts.append(f"the recent runs of {plural(len(common) - 2, 'other kind')} of job")
    if not parts:  # nothing it waits for ends first: it starts after the jobs ahead of it do
        return "based on when the jobs ahead of it in the queue start"
    return "based on " + (parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1])


def _unbounded(tags: Counter) -> str:
    """Why no latest start is known: what it waits for that has no bound."""
    jobs: Counter = Counter()
    overrun: set[str] = set()
    clusters: list[str] = []
    for (kind, of, _), count in tags.items():
        if kind == "cluster":
            clusters.append(of)
            continue
        jobs[kind] += count
        if kind == "overrun":
            overrun.add(of)

    parts = []
    if jobs["unknown"]:
        n = jobs["unknown"]
        parts.append("the running job it waits for has no time limit and no history" if n == 1 else
                     f"the {plural(n, 'running job')} it waits for have no time limit and no history")
    if jobs["overrun"]:
        n, of = jobs["overrun"], ", ".join(sorted(overrun))
        parts.append(f"the running job it waits for has run longer than its recent runs ({of}) and has no time "
                     "limit" if n == 1 else
                     f"the {plural(n, 'running job')} it waits for have run longer than their recent runs ({of}) "
                     "and have no time limit")
    if jobs["ahead-unknown"]:
        n = jobs["ahead-unknown"]
        parts.append("the job ahead of it in the queue has no time limit and no history" if n == 1 else
                     f"the {plural(n, 'job')} ahead of it in the queue have no time limit and no history")
    if jobs["ahead-waiting"]:
        n = jobs["ahead-waiting"]
        parts.append("the job ahead of it in the queue has no estimate itself" if n == 1 else
                     f"the {plural(n, 'job')} ahead of it in the queue have no estimate themselves")
    if clusters:
        names = ", ".join(f"'{c}'" for c in sorted(clusters))
        parts.append(f"compute cluster {names} holds part of the quota until it scales down" if len(clusters) == 1
                     else f"compute clusters {names} hold part of the quota until they scale down")
    return "; ".join(parts) or "nothing it waits for has an end that is known"


@dataclass(frozen=True)
class _Range:
    """When a job could start in each world (None: never, there), and in each the quotas that
    never free (no start) or that it waits on (a start)."""

    early: datetime | None
    late: datetime | None
    early_keys: tuple = ()
    late_keys: tuple = ()


class _Timeline:
    """When will quota free up? Both worlds side by side; a wait gets its range and basis here.

    A waiting job is placed in three moves: ``range`` looks ahead (for each size it could
    take, changing nothing), ``describe`` says what the chosen range is based on, and
    ``reserve`` makes the job hold its need until its end, in both worlds."""

    def __init__(self, now: datetime, ledger: Ledger):
        self.now = now
        self.early = _World(now, ledger, early=True)
        self.late = _World(now, ledger, early=False)

    def hold_running(self, job: RunningJob, need: Mapping[Key, int]) -> None:
        low, high, tag = _end_window(job, self.now)
        self.early.hold(need, low, tag)
        self.late.hold(need, high, tag)

    def hold_forever(self, need: Mapping[Key, int], tag: Tag) -> None:
        self.early.hold(need, None, tag)
        self.late.hold(need, None, tag)

    def admitted(self, job: PendingJob, need: Mapping[Key, int]) -> None:
        """A job admitted in this cycle starts now."""
        run = (*_run_length(job.timeout_seconds, job.typical), job.typical)
        self.early.take(need, self.now, run, ahead=False)
        self.late.take(need, self.now, run, ahead=False)

    def range(self, need: Mapping[Key, int]) -> _Range:
        early, early_keys = self.early.earliest(need)
        if early is None:
            return _Range(None, None, early_keys)
        late, late_keys = self.late.earliest(need)
        return _Range(early, late, early_keys, late_keys)

    def describe(self, start: _Range) -> tuple[Estimate | None, str]:
        """The estimate of a job that starts at ``start``, and what it is based on."""
        if start.early is None:
            return None, "no estimate: " + _unbounded(self.early.tags(start.early_keys))
        if start.late is not None:  # what its latest start rests on (an earliest "now" needs none)
            based_on = _based_on(self.late.tags(start.late_keys, by=start.late))
            return Estimate(start.early, max(start.late, start.early)), based_on
        based_on = _based_on(self.early.tags(start.early_keys, by=start.early))
        why = _unbounded(self.late.tags(start.late_keys))
        if start.early <= self.now:
            return None, f"no estimate: {why}"
        return Estimate(start.early, None), f"{based_on}; no latest start known: {why}"

    def reserve(self, job: PendingJob, start: _Range, need: Mapping[Key, int],
                early_need: Mapping[Key, int] | None = None) -> None:
        """A waiting job holds its need from now, and gives it back when it ends (its start in
        each world, plus how long it runs there). An automatic job may start on another size
        in the early world (``early_need``)."""
        run = (*_run_length(job.timeout_seconds, job.typical), job.typical)
        self.early.take(early_need or need, start.early, run, ahead=True)
        self.late.take(need, start.late, run, ahead=True)


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
        self.timeline = _Timeline(s.now, self.ledger)
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
        self.cluster_queue: dict[Key, _Range] = {}  # when the last job waiting for each cluster starts
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
        start = _Range(early[0].early if early else None, late[0].late if late else None,
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
            start = _Range(until, until)
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

    def _behind_cluster_queue(self, key: Key, start: _Range, estimate: Estimate | None, basis: str):
        """A cluster's queue is first come, first served: no job starts before the one ahead of it."""
        ahead = self.cluster_queue.get(key)
        if ahead is None:
            return start, estimate, basis
        early = None if start.early is None or ahead.early is None else max(start.early, ahead.early)
        late = None if start.late is None or ahead.late is None else max(start.late, ahead.late)
        if (early, late) == (start.early, start.late):
            return start, estimate, basis
        later = _Range(early, late, start.early_keys, start.late_keys)
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


def explain(job: PendingJob, snapshot: Snapshot) -> Decision:
    """What would happen to ``job`` if it were submitted now, behind the current queue."""
    with_job = replace(snapshot, pending=tuple(snapshot.pending) + (job,))
    return next(d for d in decide(with_job) if d.job_id == job.id and not isinstance(d, Preempt))
