"""The pure scheduling core: named cases, no database, an explicit clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobs.scheduling.core import (
    Admit,
    Cluster,
    PendingJob,
    Preempt,
    Reject,
    RunningJob,
    ScaleCluster,
    Snapshot,
    Wait,
    decide,
    describe_wait,
    explain,
)
from tests.scheduling.catalogue import CATALOGUE, NOW, quotas


def pending(job_id, count=1, size=None, tier="Standard", priority=0, age=0, ws="w1", compute="serverless"):
    return PendingJob(id=job_id, name=f"job{job_id}", submitted_at=NOW - timedelta(seconds=age), workspace=ws,
                      instance_count=count, instance_type=size, tier=tier, priority=priority, compute=compute)


def running(job_id, size, nodes=1, tier="Standard", priority=0, started_ago=60, timeout=None, ws="w1",
            compute="serverless"):
    return RunningJob(id=job_id, workspace=ws, instance_type=size, nodes=nodes, tier=tier, priority=priority,
                      started_at=NOW - timedelta(seconds=started_ago), timeout_seconds=timeout, compute=compute)


def snap(pending_jobs=(), running_jobs=(), clusters=(), **quota):
    return Snapshot(now=NOW, catalogue=CATALOGUE, quotas=quotas(**quota), running=tuple(running_jobs),
                    pending=tuple(pending_jobs), clusters=tuple(clusters))


def by_job(decisions):
    return {d.job_id: d for d in decisions if d.job_id is not None and not isinstance(d, Preempt)}


CASES = {
    "an automatic job gets the cheapest general-purpose size with quota": (
        snap([pending(1)]), {1: (Admit, "Standard_D2as_v4")}),
    "an automatic job moves to the next size when the cheapest is busy": (
        snap([pending(1)], [running(9, "Standard_D2as_v4", nodes=2)]), {1: (Admit, "Standard_D2s_v3")}),
    "an automatic job never picks a size too small for the temp disk floor": (
        snap([pending(1)], dsv3=0, dasv4=0), {1: (Reject, None)}),
    "a named size within quota is admitted": (
        snap([pending(1, 2, "Standard_D4s_v3")]), {1: (Admit, "Standard_D4s_v3")}),
    "more instances than the family quota allows is refused": (
        snap([pending(1, 3, "Standard_D4s_v3")]), {1: (Reject, None)}),
    "a size with no quota is refused": (snap([pending(1, 1, "Standard_NC4as_T4_v3")]), {1: (Reject, None)}),
    "a size whose quota is in use waits": (
        snap([pending(1, 2, "Standard_D4s_v3")], [running(9, "Standard_D2s_v3")]), {1: (Wait, "Standard_D4s_v3")}),
    "an unknown size is refused": (snap([pending(1, 1, "Standard_D4s_v9")]), {1: (Reject, None)}),
    "a retired size is refused": (snap([pending(1, 1, "Standard_NC6")]), {1: (Reject, None)}),
    "a size with no Spot price cannot run as Spot": (
        snap([pending(1, 1, "Standard_ND96isr_H100_v5", tier="Spot")]), {1: (Reject, None)}),
    "Spot jobs use the Spot pool, not the family quota": (
        snap([pending(1, 2, "Standard_D2s_v3", tier="Spot")], [running(9, "Standard_D4s_v3", nodes=2)]),
        {1: (Admit, "Standard_D2s_v3")}),
    "the Spot pool limits Spot jobs": (
        snap([pending(1, 1, "Standard_D4s_v3", tier="Spot")], [running(9, "Standard_D2s_v3", tier="Spot")]),
        {1: (Wait, "Standard_D4s_v3")}),
    "a workspace cap below the subscription's refuses": (
        snap([pending(1, 2, "Standard_D4s_v3", ws="w2")], caps={"standardDSv3Family": 4}), {1: (Reject, None)}),
    "the regional total limits dedicated vCPUs across families": (
        snap([pending(1, 1, "Standard_D4s_v3")], [running(9, "Standard_E4s_v3")], cores=6),
        {1: (Wait, "Standard_D4s_v3")}),
    "a job bigger than the regional total is refused": (
        snap([pending(1, 2, "Standard_D4s_v3")], cores=6), {1: (Reject, None)}),
    "higher priority goes first": (
        snap([pending(1, 2, "Standard_D4s_v3", age=10), pending(2, 2, "Standard_D4s_v3", priority=1)]),
        {2: (Admit, "Standard_D4s_v3"), 1: (Wait, "Standard_D4s_v3")}),
    "a big job at the head is not starved by small ones": (
        snap([pending(1, 2, "Standard_D4s_v3", age=5), pending(2, 1, "Standard_D2s_v3", age=1)],
             [running(9, "Standard_D2s_v3")]),
        {1: (Wait, "Standard_D4s_v3"), 2: (Wait, "Standard_D2s_v3")}),
    "jobs on other quotas go past a waiting job": (
        snap([pending(1, 2, "Standard_D4s_v3", age=5), pending(2, 1, "Standard_D2as_v4", age=1)],
             [running(9, "Standard_D2s_v3")]),
        {1: (Wait, "Standard_D4s_v3"), 2: (Admit, "Standard_D2as_v4")}),
    "a refused job does not block the queue": (
        snap([pending(1, 9, "Standard_D4s_v3", age=5), pending(2, 1, "Standard_D4s_v3")]),
        {1: (Reject, None), 2: (Admit, "Standard_D4s_v3")}),
}


@pytest.mark.parametrize("snapshot,expected", CASES.values(), ids=CASES.keys())
def test_it_decides(snapshot, expected):
    decisions = by_job(decide(snapshot))
    assert {k: type(v) for k, v in decisions.items()} == {k: v[0] for k, v in expected.items()}
    for job_id, (kind, size) in expected.items():
        if size:
            assert decisions[job_id].instance_type == size


def test_it_says_how_many_instances_fit_and_what_to_do():
    (reject,) = decide(snap([pending(1, 3, "Standard_D4s_v3")]))
    assert reject.reason.startswith("at most 2 instances of Standard_D4s_v3 (4 vCPUs each) fit in your "
                                    "standardDSv3Family quota of 8 vCPUs; you asked for 3 (12 vCPUs)")
    assert reject.recommendations == ("reduce `resources.instance_count` to 2",
                                      "or request a quota increase for standardDSv3Family")


def test_it_lists_sizes_that_have_quota_when_a_size_has_none():
    (reject,) = decide(snap([pending(1, 1, "Standard_NC4as_T4_v3")]))
    assert reject.reason == "no quota for Standard_NC4as_T4_v3 in your standardNCASv3_T4Family quota"
    assert reject.recommendations[0].startswith("choose a VM size that has quota: Standard_DS1_v2 (1 vCPUs")
    assert "request a quota increase for standardNCASv3_T4Family" in reject.recommendations[-1]


def test_it_names_the_workspace_cap():
    (reject,) = decide(snap([pending(1, 2, "Standard_D4s_v3", ws="w2")], caps={"standardDSv3Family": 4}))
    assert "workspace 'w2''s standardDSv3Family quota of 4 vCPUs" in reject.reason


def test_it_explains_the_automatic_choice():
    (admit,) = decide(snap([pending(1)]))
    assert admit.reason.startswith("1 node of Standard_D2as_v4 (2 vCPUs, 8 GiB, 16 GiB temp disk, $0.096/h each): "
                                   "the cheapest general-purpose CPU size")
    assert "2 vCPUs of standardDASv4Family quota left" in admit.reason
    assert admit.pool == "vm-standard_d2as_v4"


def test_it_gives_positions_and_start_estimates_in_order():
    snapshot = snap([pending(1, 2, "Standard_D4s_v3", age=3), pending(2, 2, "Standard_D4s_v3", age=2)],
                    [running(9, "Standard_D4s_v3", nodes=2, started_ago=60, timeout=600)])
    waits = by_job(decide(snapshot))
    assert (waits[1].position, waits[2].position) == (1, 2)
    assert waits[1].estimated_start == NOW + timedelta(seconds=540)
    assert waits[2].estimated_start == NOW + timedelta(seconds=540 + 300), "after job 1's typical runtime"
    sentence = describe_wait(waits[1].reason, waits[1].position, waits[1].estimated_start, NOW)
    assert sentence.endswith("; position 1 in the queue, estimated start in about 9 min (12:09 UTC)")


def test_it_never_estimates_a_start_in_the_past():
    snapshot = snap([pending(1, 2, "Standard_D4s_v3")], [running(9, "Standard_D4s_v3", started_ago=3600, timeout=60)])
    assert by_job(decide(snapshot))[1].estimated_start == NOW


def test_it_admits_gangs_whole_or_not_at_all():
    snapshot = snap([pending(1, 3, "Standard_D2s_v3")], [running(9, "Standard_E4s_v3")])
    decision = by_job(decide(snapshot))[1]
    assert isinstance(decision, Admit) and decision.nodes == 3
    assert isinstance(by_job(decide(snap([pending(1, 3, "Standard_D2s_v3")],
                                         [running(9, "Standard_D4s_v3")])))[1], Wait)


def test_it_preempts_lower_priority_spot_jobs_for_a_higher_priority_one():
    snapshot = snap([pending(1, 1, "Standard_D4s_v3", tier="Spot", priority=1)],
                    [running(8, "Standard_D2s_v3", tier="Spot", priority=0, started_ago=10),
                     running(9, "Standard_D2s_v3", tier="Spot", priority=0, started_ago=100)])
    decisions = decide(snapshot)
    assert {d.job_id for d in decisions if isinstance(d, Preempt)} == {8, 9}
    assert isinstance(by_job(decisions)[1], Wait)


def test_it_does_not_preempt_equal_priority():
    snapshot = snap([pending(1, 1, "Standard_D4s_v3", tier="Spot")],
                    [running(9, "Standard_D4s_v3", tier="Spot")])
    assert not [d for d in decide(snapshot) if isinstance(d, Preempt)]


def test_it_explains_a_job_behind_the_queue():
    snapshot = snap([pending(1, 2, "Standard_D4s_v3", age=5)], [running(9, "Standard_D4s_v3")])
    decision = explain(pending(0, 1, "Standard_D4s_v3"), snapshot)
    assert isinstance(decision, Wait) and decision.position == 2


def test_it_is_deterministic():
    snapshot = snap([pending(i, 1 + i % 2, age=i) for i in range(10)])
    assert decide(snapshot) == decide(snapshot)


# -- clusters ---------------------------------------------------------------------------------

def cluster(allocated=0, max_instances=2, idle_since=None, scaling_down_until=None, idle_seconds=120):
    return Cluster("w1", "cpu-cluster", "Standard_D2s_v3", 0, max_instances, idle_seconds, allocated,
                   idle_since, scaling_down_until)


def test_it_refuses_an_unknown_cluster_and_suggests_serverless():
    (reject,) = decide(snap([pending(1, compute="gpu-cluster")], clusters=[cluster()]))
    assert reject.reason == "compute 'gpu-cluster' does not exist in this workspace"
    assert "serverless" in reject.recommendations[0] and "cpu-cluster" in reject.recommendations[1]


def test_it_scales_a_cluster_up_within_quota():
    (admit,) = decide(snap([pending(1, compute="cpu-cluster")], clusters=[cluster()]))
    assert (admit.instance_type, admit.scale_cluster_to) == ("Standard_D2s_v3", 1)


def test_it_reuses_idle_cluster_nodes():
    (admit,) = decide(snap([pending(1, compute="cpu-cluster")], clusters=[cluster(allocated=1, idle_since=NOW)]))
    assert admit.scale_cluster_to is None and "1 idle node" in admit.reason


def test_a_busy_cluster_queues_while_serverless_starts_at_once():
    busy = [running(9, "Standard_D2s_v3", nodes=2, compute="cpu-cluster")]
    decisions = by_job(decide(snap([pending(1, compute="cpu-cluster"), pending(2, 1, "Standard_D2s_v3")], busy,
                                   clusters=[cluster(allocated=2)])))
    assert isinstance(decisions[1], Wait) and "is busy: 2 of its 2 nodes" in decisions[1].reason
    assert isinstance(decisions[2], Admit)


def test_a_cluster_scaling_down_must_finish_before_it_scales_up():
    until = NOW + timedelta(seconds=45)
    (wait,) = decide(snap([pending(1, compute="cpu-cluster")], clusters=[cluster(allocated=2,
                                                                                 scaling_down_until=until)]))
    assert isinstance(wait, Wait) and wait.estimated_start == until
    assert "scaling down" in wait.reason


def test_an_idle_cluster_scales_down_after_its_idle_time():
    idle = cluster(allocated=2, idle_since=NOW - timedelta(seconds=121))
    (scale,) = decide(snap(clusters=[idle]))
    assert isinstance(scale, ScaleCluster) and scale.allocated == 0
    assert scale.scaling_down_until == NOW + timedelta(seconds=60)
    assert decide(snap(clusters=[cluster(allocated=2, idle_since=NOW - timedelta(seconds=30))])) == []


def test_a_finished_scale_down_is_settled():
    done = cluster(allocated=0, scaling_down_until=NOW - timedelta(seconds=1))
    (scale,) = decide(snap(clusters=[done]))
    assert scale.scaling_down_until is None


def test_cluster_nodes_count_against_the_family_quota():
    decisions = by_job(decide(snap([pending(1, 1, "Standard_D4s_v3")], clusters=[cluster(allocated=4,
                                                                                         max_instances=4)],
                                   dsv3=10)))
    assert isinstance(decisions[1], Wait), "8 of 10 DSv3 vCPUs are held by the cluster's nodes"
