"""Property tests of the core: random submits, finishes, evictions and quota changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.scheduling.core import Admit, PendingJob, Preempt, Reject, RunningJob, Snapshot, decide
from quotas.core import Quotas, SubscriptionQuota, demand, effective_limit, limit_of, usage_keys
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
