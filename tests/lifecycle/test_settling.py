"""A job settles from its nodes; a parent (a toy one here: no sweep or pipeline code) settles from
its children under the policy it gives. Each case compares the whole transition."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jobs.lifecycle import (
    Cause,
    ChildView,
    FailureKind,
    JobView,
    NodeView,
    ParentPolicy,
    Status,
    Transition,
    settle_job,
    settle_parent,
)

S = Status
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def node(index, status, kind=None, code=None, error="", ended=None):
    return NodeView(index, status, kind, code, error, T0 + timedelta(seconds=ended) if ended is not None else None)


JOB_CASES = [
    ("follows its slowest node", JobView(S.PREPARING), [node(0, S.RUNNING), node(1, S.PREPARING)], None),
    ("all nodes running", JobView(S.PREPARING), [node(0, S.RUNNING), node(1, S.RUNNING)],
     Transition(S.PREPARING, S.RUNNING, Cause.NODE_PROGRESS, "Running")),
    ("an ended node does not hold it back", JobView(S.RUNNING), [node(0, S.COMPLETED, ended=1), node(1, S.FINALIZING)],
     Transition(S.RUNNING, S.FINALIZING, Cause.NODE_PROGRESS, "Finalizing")),
    ("a silent node makes the job NotResponding", JobView(S.RUNNING), [node(0, S.RUNNING), node(1, S.NOT_RESPONDING)],
     Transition(S.RUNNING, S.NOT_RESPONDING, Cause.NOT_RESPONDING, "a node is not responding")),
    ("and it comes back", JobView(S.NOT_RESPONDING), [node(0, S.RUNNING), node(1, S.RUNNING)],
     Transition(S.NOT_RESPONDING, S.RUNNING, Cause.RESPONDING, "the node is responding again")),
    ("the last of three nodes to end completes it", JobView(S.RUNNING),
     [node(0, S.COMPLETED, ended=1), node(1, S.COMPLETED, ended=2), node(2, S.COMPLETED, ended=3)],
     Transition(S.RUNNING, S.COMPLETED, Cause.COMPLETED, "", exit_code=0)),
    ("the first failure names its node", JobView(S.RUNNING),
     [node(0, S.CANCELED, FailureKind.CANCELED, ended=5), node(1, S.FAILED, FailureKind.USER, 3, "exit 3", ended=2),
      node(2, S.FAILED, FailureKind.USER, 1, "exit 1", ended=4)],
     Transition(S.RUNNING, S.FAILED, Cause.USER_ERROR, "node 1: exit 3", failure_kind=FailureKind.USER, exit_code=3)),
    ("one node's failure is the job's", JobView(S.RUNNING), [node(0, S.FAILED, FailureKind.TIMEOUT, None, "too long")],
     Transition(S.RUNNING, S.FAILED, Cause.TIMED_OUT, "too long", failure_kind=FailureKind.TIMEOUT)),
    ("a cancel in flight waits for the nodes", JobView(S.CANCEL_REQUESTED), [node(0, S.RUNNING)], None),
    ("then ends Canceled", JobView(S.CANCEL_REQUESTED), [node(0, S.CANCELED, FailureKind.CANCELED)],
     Transition(S.CANCEL_REQUESTED, S.CANCELED, Cause.CANCELED, "canceled by request",
                failure_kind=FailureKind.CANCELED)),
    ("a stop for a timeout ends Failed", JobView(S.CANCEL_REQUESTED, stop_kind=FailureKind.TIMEOUT),
     [node(0, S.CANCELED, FailureKind.CANCELED)],
     Transition(S.CANCEL_REQUESTED, S.FAILED, Cause.TIMED_OUT, "stopped: it ran past its time limit",
                failure_kind=FailureKind.TIMEOUT)),
    ("an evicted Spot job goes back to the queue", JobView(S.RUNNING, evictions=1),
     [node(0, S.CANCELED, FailureKind.EVICTED), node(1, S.CANCELED, FailureKind.EVICTED)],
     Transition(S.RUNNING, S.QUEUED, Cause.REQUEUED,
                "evicted from Spot capacity (2 evictions so far); back in the queue")),
    ("until it was evicted too often", JobView(S.RUNNING, evictions=3), [node(0, S.CANCELED, FailureKind.EVICTED)],
     Transition(S.RUNNING, S.FAILED, Cause.EVICTION_LIMIT,
                "evicted 4 times, more than STUDIO_SPOT_MAX_EVICTIONS (3); run it with "
                "`queue_settings.job_tier: Standard` to get dedicated nodes", failure_kind=FailureKind.EVICTED)),
    ("canceled during an eviction stays canceled", JobView(S.CANCEL_REQUESTED),
     [node(0, S.CANCELED, FailureKind.EVICTED)],
     Transition(S.CANCEL_REQUESTED, S.CANCELED, Cause.CANCELED, "canceled by request",
                failure_kind=FailureKind.CANCELED)),
    ("a job whose worker was stopped goes back to the queue, no eviction counted", JobView(S.RUNNING),
     [node(0, S.CANCELED, FailureKind.INTERRUPTED)],
     Transition(S.RUNNING, S.QUEUED, Cause.REQUEUED,
                "its worker was stopped while it ran; back in the queue, it starts again from the beginning",
                failure_kind=FailureKind.INTERRUPTED)),
    ("and so does a gang once its other nodes stopped", JobView(S.RUNNING),
     [node(0, S.CANCELED, FailureKind.CANCELED), node(1, S.CANCELED, FailureKind.INTERRUPTED)],
     Transition(S.RUNNING, S.QUEUED, Cause.REQUEUED,
                "the worker of node 1 was stopped while it ran; back in the queue, it starts again from the "
                "beginning", failure_kind=FailureKind.INTERRUPTED)),
    ("a failed sibling beats an interruption", JobView(S.RUNNING),
     [node(0, S.FAILED, FailureKind.USER, 2, "exit 2"), node(1, S.CANCELED, FailureKind.INTERRUPTED)],
     Transition(S.RUNNING, S.FAILED, Cause.USER_ERROR, "node 0: exit 2", failure_kind=FailureKind.USER,
                exit_code=2)),
    ("a cancel during an interruption is a cancel", JobView(S.CANCEL_REQUESTED),
     [node(0, S.CANCELED, FailureKind.INTERRUPTED)],
     Transition(S.CANCEL_REQUESTED, S.CANCELED, Cause.CANCELED, "canceled by request",
                failure_kind=FailureKind.CANCELED)),
    ("waiting jobs have no nodes to follow", JobView(S.QUEUED), [], None),
    ("an ended job never changes", JobView(S.COMPLETED), [node(0, S.FAILED, FailureKind.USER)], None),
]


@pytest.mark.parametrize("name, job, nodes, expected", JOB_CASES, ids=[c[0] for c in JOB_CASES])
def test_it_settles_a_job_from_its_nodes(name, job, nodes, expected):
    assert settle_job(job, nodes, max_evictions=3) == expected


def child(name, status, kind=None):
    return ChildView(name, status, kind)


PIPELINE = ParentPolicy(fail_on="any")
PIPELINE_GOES_ON = ParentPolicy(fail_on="any", continue_on_failure=True)
SWEEP = ParentPolicy(fail_on="all")
MORE_TO_COME = ParentPolicy(fail_on="all", complete=False)

PARENT_CASES = [
    ("a child at work runs the parent", JobView(S.NOT_STARTED), [child("a", S.RUNNING), child("b", S.QUEUED)], SWEEP,
     Transition(S.NOT_STARTED, S.RUNNING, Cause.NODE_PROGRESS, "a child is running")),
    ("every open child waiting queues it", JobView(S.NOT_STARTED), [child("a", S.QUEUED), child("b", S.NOT_STARTED)],
     SWEEP, Transition(S.NOT_STARTED, S.QUEUED, Cause.NODE_PROGRESS, "every open child is waiting to start")),
    ("running already", JobView(S.RUNNING), [child("a", S.PREPARING)], SWEEP, None),
    ("all ended but the driver adds more", JobView(S.RUNNING), [child("a", S.COMPLETED)], MORE_TO_COME, None),
    ("a sweep completes when its trials end, failed ones too", JobView(S.RUNNING),
     [child("t1", S.FAILED, FailureKind.USER), child("t2", S.COMPLETED), child("t3", S.CANCELED)], SWEEP,
     Transition(S.RUNNING, S.COMPLETED, Cause.COMPLETED, "1 of 3 children completed")),
    ("a sweep fails only if every trial failed", JobView(S.RUNNING),
     [child("t1", S.FAILED, FailureKind.USER), child("t2", S.FAILED, FailureKind.USER)], SWEEP,
     Transition(S.RUNNING, S.FAILED, Cause.CHILD_FAILED, "2 of 2 children failed: t1, t2",
                failure_kind=FailureKind.USER)),
    ("a failed trial does not stop the others", JobView(S.RUNNING),
     [child("t1", S.FAILED, FailureKind.USER), child("t2", S.RUNNING)], SWEEP, None),
    ("a pipeline's failed step stops the other steps", JobView(S.RUNNING),
     [child("train", S.FAILED, FailureKind.USER), child("eval", S.RUNNING), child("report", S.QUEUED)], PIPELINE,
     Transition(S.RUNNING, S.CANCEL_REQUESTED, Cause.CHILD_FAILED, "child train failed; stopping the other 2 children",
                failure_kind=FailureKind.USER, stop=True)),
    ("then ends Failed, not Canceled", JobView(S.CANCEL_REQUESTED, stop_kind=FailureKind.USER),
     [child("train", S.FAILED, FailureKind.USER), child("eval", S.CANCELED), child("report", S.CANCELED)], PIPELINE,
     Transition(S.CANCEL_REQUESTED, S.FAILED, Cause.CHILD_FAILED, "1 of 3 children failed: train",
                failure_kind=FailureKind.USER)),
    ("continue_on_step_failure lets independent steps go on", JobView(S.RUNNING),
     [child("train", S.FAILED, FailureKind.USER), child("other", S.RUNNING)], PIPELINE_GOES_ON, None),
    ("and fails the pipeline when they have ended", JobView(S.RUNNING),
     [child("train", S.FAILED, FailureKind.USER), child("other", S.COMPLETED)], PIPELINE_GOES_ON,
     Transition(S.RUNNING, S.FAILED, Cause.CHILD_FAILED, "1 of 2 children failed: train",
                failure_kind=FailureKind.USER)),
    ("a pipeline whose steps all completed", JobView(S.RUNNING), [child("a", S.COMPLETED), child("b", S.COMPLETED)],
     PIPELINE, Transition(S.RUNNING, S.COMPLETED, Cause.COMPLETED, "all 2 children completed")),
    ("canceling a parent waits for its children", JobView(S.CANCEL_REQUESTED), [child("a", S.CANCEL_REQUESTED)],
     PIPELINE, None),
    ("then it is Canceled", JobView(S.CANCEL_REQUESTED), [child("a", S.CANCELED), child("b", S.COMPLETED)], PIPELINE,
     Transition(S.CANCEL_REQUESTED, S.CANCELED, Cause.CANCELED, "canceled by request",
                failure_kind=FailureKind.CANCELED)),
    ("a parent's timeout ends it Failed", JobView(S.CANCEL_REQUESTED, stop_kind=FailureKind.TIMEOUT),
     [child("a", S.CANCELED)], SWEEP,
     Transition(S.CANCEL_REQUESTED, S.FAILED, Cause.TIMED_OUT, "stopped: it ran past its time limit",
                failure_kind=FailureKind.TIMEOUT)),
    ("an ended parent never changes", JobView(S.COMPLETED), [child("a", S.RUNNING)], SWEEP, None),
]


@pytest.mark.parametrize("name, parent, children, policy, expected", PARENT_CASES, ids=[c[0] for c in PARENT_CASES])
def test_it_settles_a_toy_parent_from_its_children(name, parent, children, policy, expected):
    assert settle_parent(parent, children, policy) == expected


def test_it_refuses_a_policy_it_does_not_know():
    with pytest.raises(ValueError, match="fail_on"):
        ParentPolicy(fail_on="most")
