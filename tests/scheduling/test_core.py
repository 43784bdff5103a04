"""The pure scheduling core: named cases, no database, an explicit clock."""

from datetime import datetime, timedelta, timezone

import pytest

from jobs.scheduling.core import Admit, PendingJob, Reject, RunningJob, Snapshot, Wait, decide, explain

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def pending(job_id, count=1, priority=0, age=0, compute="serverless"):
    return PendingJob(id=job_id, name=f"job{job_id}", submitted_at=NOW - timedelta(seconds=age),
                      instance_count=count, priority=priority, compute=compute)


def running(job_id, nodes=1, started_ago=60, timeout=None):
    return RunningJob(id=job_id, nodes=nodes, started_at=NOW - timedelta(seconds=started_ago), timeout_seconds=timeout)


CASES = {
    "empty queue decides nothing": (Snapshot(NOW, 4), {}),
    "a job that fits is admitted": (Snapshot(NOW, 4, pending=(pending(1),)), {1: Admit}),
    "jobs are admitted until capacity runs out": (
        Snapshot(NOW, 2, pending=(pending(1, age=3), pending(2, age=2), pending(3, age=1))),
        {1: Admit, 2: Admit, 3: Wait},
    ),
    "running nodes use capacity": (
        Snapshot(NOW, 2, running=(running(9, nodes=2),), pending=(pending(1),)), {1: Wait}
    ),
    "higher priority goes first": (
        Snapshot(NOW, 1, pending=(pending(1, age=10), pending(2, priority=1))), {2: Admit, 1: Wait}
    ),
    "a big job at the head is not starved by small ones": (
        Snapshot(NOW, 4, running=(running(9, nodes=2),), pending=(pending(1, count=3, age=5), pending(2, age=1))),
        {1: Wait, 2: Wait},
    ),
    "more nodes than capacity is refused": (Snapshot(NOW, 4, pending=(pending(1, count=5),)), {1: Reject}),
    "an unknown cluster is refused": (Snapshot(NOW, 4, pending=(pending(1, compute="gpu-cluster"),)), {1: Reject}),
    "a refused job does not block the queue": (
        Snapshot(NOW, 4, pending=(pending(1, count=9, age=5), pending(2))), {1: Reject, 2: Admit}
    ),
}


@pytest.mark.parametrize("snapshot,expected", CASES.values(), ids=CASES.keys())
def test_it_decides(snapshot, expected):
    decisions = {d.job_id: type(d) for d in decide(snapshot)}
    assert decisions == expected


def test_it_gives_queue_positions_in_order():
    snapshot = Snapshot(NOW, 1, running=(running(9),), pending=(pending(1, age=3), pending(2, age=2), pending(3)))
    waits = [d for d in decide(snapshot) if isinstance(d, Wait)]
    assert [(w.job_id, w.position) for w in waits] == [(1, 1), (2, 2), (3, 3)]
    assert "position 1" in waits[0].reason


def test_it_estimates_start_from_running_timeouts():
    snapshot = Snapshot(NOW, 1, running=(running(9, started_ago=60, timeout=600),), pending=(pending(1),))
    (wait,) = decide(snapshot)
    assert wait.estimated_start == NOW + timedelta(seconds=540)


def test_it_never_estimates_a_start_in_the_past():
    snapshot = Snapshot(NOW, 1, running=(running(9, started_ago=3600, timeout=60),), pending=(pending(1),))
    (wait,) = decide(snapshot)
    assert wait.estimated_start == NOW


def test_it_recommends_a_count_that_fits():
    (reject,) = decide(Snapshot(NOW, 4, pending=(pending(1, count=6),)))
    assert "instance_count is 6" in reject.reason
    assert any("4 or fewer" in r for r in reject.recommendations)


def test_it_explains_a_job_behind_the_queue():
    snapshot = Snapshot(NOW, 1, running=(running(9),), pending=(pending(1, age=5),))
    decision = explain(pending(0), snapshot)
    assert isinstance(decision, Wait) and decision.position == 2


def test_it_is_deterministic():
    snapshot = Snapshot(NOW, 3, pending=tuple(pending(i, count=1 + i % 2, age=i) for i in range(10)))
    assert decide(snapshot) == decide(snapshot)
