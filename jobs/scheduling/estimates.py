"""When a waiting job should start: a range built from what is known. Pure Python: no Django, no
clock of its own. The scheduling core (``jobs.scheduling.core``) places jobs; this module tells
it, for each waiting job, when the quota it needs frees and what that rests on.

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
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Mapping

from quotas.core import Key, Ledger
from studio.humanize import moment_from_now, plural

if TYPE_CHECKING:  # the core's job records, for the type hints only (the core imports this module)
    from jobs.scheduling.core import PendingJob, RunningJob


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
class Estimate:
    earliest: datetime  # the soonest the job can start given what is known
    latest: datetime | None  # the latest it should start; None = no upper bound known


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
class Range:
    """When a job could start in each world (None: never, there), and in each the quotas that
    never free (no start) or that it waits on (a start)."""

    early: datetime | None
    late: datetime | None
    early_keys: tuple = ()
    late_keys: tuple = ()


class Timeline:
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

    def range(self, need: Mapping[Key, int]) -> Range:
        early, early_keys = self.early.earliest(need)
        if early is None:
            return Range(None, None, early_keys)
        late, late_keys = self.late.earliest(need)
        return Range(early, late, early_keys, late_keys)

    def describe(self, start: Range) -> tuple[Estimate | None, str]:
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

    def reserve(self, job: PendingJob, start: Range, need: Mapping[Key, int],
                early_need: Mapping[Key, int] | None = None) -> None:
        """A waiting job holds its need from now, and gives it back when it ends (its start in
        each world, plus how long it runs there). An automatic job may start on another size
        in the early world (``early_need``)."""
        run = (*_run_length(job.timeout_seconds, job.typical), job.typical)
        self.early.take(early_need or need, start.early, run, ahead=True)
        self.late.take(need, start.late, run, ahead=True)
