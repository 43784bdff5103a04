"""Property tests of the core: random submits, finishes, evictions and quota changes; and estimates
that hold when jobs run as their time limits and history say."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.scheduling.core import Admit, PendingJob, Preempt, Reject, RunningJob, Snapshot, Typical, Wait, decide
from quotas.core import Quotas, effective_limit, limit_of, usage_keys
from tests.scheduling.catalogue import CATALOGUE, NOW, quotas

SIZES = [None, "Standard_D2s_v3", "Standard_D4s_v3", "Standard_D2as_v4", "Standard_E4s_v3"]

submit = st.tuples(st.just("submit"), st.sampled_from(["w1", "w2"]), st.sampled_from(SIZES),
                   st.integers(1, 4), st.sampled_from(["Standard", "Spot"]), st.integers(0, 2))
finish = st.tuples(st.just("finish"), st.integers(0, 50))
evict = st.tuples(st.just("evict"), st.integers(0, 50))
requota = st.tuples(st.just("quota"), st.sampled_from(["standardDSv3Family", "standardDASv4Family", "cores", "spot"]),
                    st.integers(0, 24))
operations = st.lists(st.one_of(submit, submit, finish, evict, requota), max_size=40)


def with_limit(q: Quotas, family: str, value: int) -> Quotas:
    sub = q.subscriptions["s1"]
    if family == "spot":
        sub = replace(sub, spot_limit=value)
    else:
        sub = replace(sub, limits={**sub.limits, family: value})
    return replace(q, subscriptions={"s1": sub})


def check_wait(wait: Wait, now) -> None:
    """A range that starts no earlier than now and ends no earlier than it starts, or none and why."""
    if wait.estimate is None:
        assert wait.basis.startswith("no estimate: "), wait
    else:
        assert now <= wait.estimate.earliest, wait
        assert wait.estimate.latest is None or wait.estimate.earliest <= wait.estimate.latest, wait
        assert wait.basis.startswith("based on") or wait.basis.startswith("when cluster"), wait
    assert wait.demand and wait.position >= 1, wait


class World:
    def __init__(self):
        self.quotas = quotas(caps={"standardDSv3Family": 6})
        self.pending: list[PendingJob] = []
        self.running: list[RunningJob] = []
        self.ids = iter(range(1, 10_000))
        self.clock = NOW
        self.admitted: set[int] = set()
        self.rejected: set[int] = set()

    def usage(self):
        return usage_keys(self.quotas, [(r.workspace, CATALOGUE[r.instance_type], r.nodes, r.tier)
                                        for r in self.running])

    def cycle(self):
        self.clock += timedelta(seconds=1)
        before = self.usage()
        snapshot = Snapshot(self.clock, CATALOGUE, self.quotas, tuple(self.running), tuple(self.pending))
        by_id = {j.id: j for j in self.pending}
        for d in decide(snapshot):
            if isinstance(d, Admit):
                job = by_id[d.job_id]
                assert d.nodes == job.instance_count, "gang jobs are admitted whole"
                self.pending.remove(job)
                self.running.append(RunningJob(job.id, job.workspace, d.instance_type, d.nodes, d.tier,
                                               job.priority, self.clock))
                self.admitted.add(job.id)
            elif isinstance(d, Reject):
                job = by_id[d.job_id]
                self.pending.remove(job)
                self.rejected.add(job.id)
                if job.instance_type:
                    size = CATALOGUE[job.instance_type]
                    limit, _ = effective_limit(self.quotas, job.workspace, size, job.tier)
                    assert limit < size.vcpus * job.instance_count, f"{job} was refused although it fits"
            elif isinstance(d, Preempt):
                self.evict(next(i for i, r in enumerate(self.running) if r.id == d.job_id))
            elif isinstance(d, Wait):
                check_wait(d, self.clock)
        after = self.usage()
        for key, amount in after.items():
            if amount > before.get(key, 0):
                assert amount <= limit_of(self.quotas, key), f"{key} over its limit: {amount}"

    def evict(self, index):
        victim = self.running.pop(index)
        self.pending.append(PendingJob(victim.id, f"job{victim.id}", self.clock, victim.workspace, victim.nodes,
                                       victim.instance_type, victim.tier, victim.priority))

    def apply(self, op):
        kind = op[0]
        if kind == "submit":
            _, ws, size, count, tier, priority = op
            job_id = next(self.ids)
            self.pending.append(PendingJob(job_id, f"job{job_id}", self.clock, ws, count, size, tier, priority))
        elif kind == "finish" and self.running:
            self.running.pop(op[1] % len(self.running))
        elif kind == "evict":
            spot = [i for i, r in enumerate(self.running) if r.tier == "Spot"]
            if spot:
                self.evict(spot[op[1] % len(spot)])
        elif kind == "quota":
            self.quotas = with_limit(self.quotas, op[1], op[2])
        self.cycle()


@settings(max_examples=150, deadline=None)
@given(operations)
def test_it_never_exceeds_a_limit_and_admits_gangs_whole(ops):
    world = World()
    for op in ops:
        world.apply(op)


@settings(max_examples=100, deadline=None)
@given(operations)
def test_it_eventually_admits_every_job_that_fits_an_empty_quota(ops):
    world = World()
    for op in ops:
        world.apply(op)
    for _ in range(200):
        if not world.pending:
            break
        world.running.clear()
        world.cycle()
    assert world.pending == [], "jobs that fit an empty quota are still waiting"


# -- estimates that hold -------------------------------------------------------------------------
# Every job has a time limit and a history, and really runs somewhere inside its window: no
# shorter than its shortest recent run, no longer than its longest (never past its limit). Then
# each job must start inside every range it was given while it waited.
# Named sizes only: an automatic job starts on whichever size fits first, and when several compete
# in a future where some jobs end early and some late, their choices are not monotone, so neither
# world need bound them (hypothesis finds such chains of 8+ automatic jobs); the core's estimate
# for them is each world's best guess.

NAMED = ["Standard_D2s_v3", "Standard_D4s_v3", "Standard_D2as_v4", "Standard_E4s_v3"]
job_spec = st.tuples(st.sampled_from(["w1", "w2"]), st.sampled_from(NAMED), st.integers(1, 2),
                     st.integers(0, 1), st.integers(10, 600), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1))


@settings(max_examples=150, deadline=None)
@given(st.lists(job_spec, min_size=1, max_size=25), st.integers(0, 3))
def test_it_starts_every_job_inside_the_ranges_it_was_given(specs, already_running):
    q = quotas(caps={"standardDSv3Family": 6})
    clock = NOW
    pending, lengths = [], {}
    for i, (ws, size, count, priority, timeout, low, high, actual) in enumerate(specs):
        low_s = 1 + (timeout - 1) * low * 0.9  # a run takes a second at least
        high_s = low_s + (timeout - low_s) * high
        typical = Typical(low_s, high_s, 3, f"experiment 'e{i % 3}'")
        pending.append(PendingJob(i, f"job{i}", NOW, ws, count, size, "Standard", priority,
                                  timeout_seconds=timeout, typical=typical))
        lengths[i] = timedelta(seconds=low_s + (high_s - low_s) * actual)
    running: list[RunningJob] = []
    ends: dict[int, object] = {}
    for k in range(already_running):  # started before the first cycle, some past their shortest run
        typical = Typical(20, 60 + 30 * k, 4, "jobs named 'warm'")
        running.append(RunningJob(1000 + k, "w1", "Standard_D2s_v3", 1, started_at=NOW - timedelta(seconds=15 * k),
                                  timeout_seconds=120, typical=typical))
        ends[1000 + k] = NOW + timedelta(seconds=40 + 20 * k)
    ranges: dict[int, list] = {}
    for _ in range(200):
        by_id = {j.id: j for j in pending}
        for d in decide(Snapshot(clock, CATALOGUE, q, tuple(running), tuple(pending))):
            job = by_id[d.job_id]
            if isinstance(d, Admit):
                for estimate in ranges.get(job.id, []):
                    assert estimate.earliest <= clock, f"job {job.id} started before its earliest {estimate}"
                    assert estimate.latest is None or clock <= estimate.latest, \
                        f"job {job.id} started at {clock}, after its latest {estimate}"
                pending.remove(job)
                running.append(RunningJob(job.id, job.workspace, d.instance_type, d.nodes, started_at=clock,
                                          timeout_seconds=job.timeout_seconds, typical=job.typical))
                ends[job.id] = clock + lengths[job.id]
            elif isinstance(d, Reject):
                pending.remove(job)
            elif isinstance(d, Wait) and d.estimate is not None:
                ranges.setdefault(job.id, []).append(d.estimate)
        if not running:
            break
        clock = min(ends[r.id] for r in running)
        running = [r for r in running if ends[r.id] > clock]
    assert not pending, "every job that fits its quota starts once the others end"
