"""The pure lifecycle core: what a claim, a phase, an exit, a lost heartbeat, a cancel, an eviction
and a timeout do to a node or a job. Named cases; each compares the whole transition."""

from __future__ import annotations

import pytest

from jobs import lifecycle
from jobs.lifecycle import (
    ACTIVE,
    ALLOWED,
    PENDING,
    TERMINAL,
    Cause,
    FailureKind,
    IllegalTransition,
    Outcome,
    Status,
    Transition,
)

S = Status


def test_it_documents_every_status_cause_and_failure_kind():
    for enum in (Status, Cause, FailureKind):
        for member in enum:
            assert member.__doc__ and member.__doc__ != enum.__doc__, member


def test_it_groups_every_status_exactly_once_into_waiting_working_or_ended():
    assert PENDING | ACTIVE | TERMINAL == set(Status)
    assert not PENDING & ACTIVE and not ACTIVE & TERMINAL and not PENDING & TERMINAL


def test_it_never_leaves_an_ended_status():
    for end in TERMINAL:
        assert ALLOWED[end] == frozenset()
        with pytest.raises(IllegalTransition):
            Transition(end, S.RUNNING, "x", "")


def test_it_refuses_a_transition_the_table_does_not_allow():
    with pytest.raises(IllegalTransition, match="CancelRequested → Running"):
        Transition(S.CANCEL_REQUESTED, S.RUNNING, "x", "")


@pytest.mark.parametrize("name, status, phase, expected", [
    ("forward", S.PREPARING, S.RUNNING, Transition(S.PREPARING, S.RUNNING, Cause.NODE_PROGRESS, "Running")),
    ("skipping a phase", S.PROVISIONING, S.RUNNING,
     Transition(S.PROVISIONING, S.RUNNING, Cause.NODE_PROGRESS, "Running")),
    ("never backwards", S.RUNNING, S.PREPARING, None),
    ("same phase again", S.RUNNING, S.RUNNING, None),
    ("after the end", S.COMPLETED, S.FINALIZING, None),
    ("a silent node reports again", S.NOT_RESPONDING, S.FINALIZING,
     Transition(S.NOT_RESPONDING, S.FINALIZING, Cause.RESPONDING, "the node is responding again")),
    ("not a phase", S.RUNNING, S.COMPLETED, None),
])
def test_it_moves_a_node_only_forward(name, status, phase, expected):
    assert lifecycle.on_phase(status, phase) == expected


def test_it_starts_preparing_a_claimed_node():
    assert lifecycle.on_claim(S.PROVISIONING, node_index=1, worker="local:h:1") == Transition(
        S.PROVISIONING, S.PREPARING, Cause.NODE_CLAIMED, "node 1 claimed by worker local:h:1")
    assert lifecycle.on_claim(S.CANCELED, node_index=1, worker="w") is None


@pytest.mark.parametrize("name, outcome, flags, expected", [
    ("completed", Outcome(S.COMPLETED, 0), {},
     Transition(S.RUNNING, S.COMPLETED, Cause.COMPLETED, "", exit_code=0)),
    ("the command failed: its siblings stop", Outcome(S.FAILED, 3, FailureKind.USER, "the command exited with code 3"),
     {}, Transition(S.RUNNING, S.FAILED, Cause.USER_ERROR, "the command exited with code 3",
                    failure_kind=FailureKind.USER, exit_code=3, stop=True)),
    ("timed out", Outcome(S.FAILED, None, FailureKind.TIMEOUT, "ran longer than limits.timeout"), {},
     Transition(S.RUNNING, S.FAILED, Cause.TIMED_OUT, "ran longer than limits.timeout",
                failure_kind=FailureKind.TIMEOUT, stop=True)),
    ("a cancel", Outcome(S.CANCELED, None, FailureKind.CANCELED, "canceled by request"), {},
     Transition(S.RUNNING, S.CANCELED, Cause.CANCELED, "canceled by request", failure_kind=FailureKind.CANCELED)),
    ("a stop that was an eviction", Outcome(S.CANCELED, None, FailureKind.CANCELED, "canceled by request"),
     {"evict_requested": True},
     Transition(S.RUNNING, S.CANCELED, Cause.EVICTING, "evicted (Spot capacity reclaimed)",
                failure_kind=FailureKind.EVICTED)),
    ("a stop because the worker shut down interrupts the node, neither canceled nor failed",
     Outcome(S.CANCELED, None, FailureKind.CANCELED, "canceled by request"), {"worker_stopping": True},
     Transition(S.RUNNING, S.CANCELED, Cause.INTERRUPTED,
                "the worker running this node was stopped; the job goes back to the queue",
                failure_kind=FailureKind.INTERRUPTED, stop=True)),
    ("a node that completed as its worker stopped has completed",
     Outcome(S.COMPLETED, 0), {"worker_stopping": True},
     Transition(S.RUNNING, S.COMPLETED, Cause.COMPLETED, "", exit_code=0)),
])
def test_it_classifies_a_node_exit(name, outcome, flags, expected):
    assert lifecycle.on_exit(S.RUNNING, outcome, **flags) == expected


def test_it_ignores_a_late_exit_report_of_a_node_already_settled():
    assert lifecycle.on_exit(S.FAILED, Outcome(S.COMPLETED, 0)) is None


def test_it_declares_a_silent_node_not_responding_then_lost():
    silent = lifecycle.on_heartbeat_lost(S.RUNNING, node_index=0, worker="w1", silent_seconds=31, lost=False)
    assert silent == Transition(S.RUNNING, S.NOT_RESPONDING, Cause.NOT_RESPONDING,
                                "node 0 is not responding (worker w1: no heartbeat for 31 s)")
    assert lifecycle.on_heartbeat_lost(S.NOT_RESPONDING, node_index=0, worker="w1", silent_seconds=40,
                                       lost=False) is None
    lost = lifecycle.on_heartbeat_lost(S.NOT_RESPONDING, node_index=0, worker="w1", silent_seconds=121, lost=True)
    assert lost.to == S.FAILED and lost.code == Cause.NODE_LOST and lost.failure_kind == FailureKind.INFRASTRUCTURE
    assert "no heartbeat for 121 s" in lost.message
    assert lifecycle.on_heartbeat(S.NOT_RESPONDING) == Transition(
        S.NOT_RESPONDING, S.RUNNING, Cause.RESPONDING, "the node is responding again")
    assert lifecycle.on_heartbeat(S.RUNNING) is None


@pytest.mark.parametrize("name, status, expected", [
    ("not started: canceled at once", S.QUEUED,
     Transition(S.QUEUED, S.CANCELED, Cause.CANCELED, "canceled by ada before it started",
                failure_kind=FailureKind.CANCELED, stop=True)),
    ("at work: asked to stop", S.RUNNING,
     Transition(S.RUNNING, S.CANCEL_REQUESTED, Cause.CANCEL_REQUESTED, "cancel requested by ada", stop=True)),
    ("stopping already: nothing more", S.CANCEL_REQUESTED, None),
    ("ended: nothing to cancel", S.COMPLETED, None),
])
def test_it_cancels(name, status, expected):
    assert lifecycle.on_cancel(status, actor="ada") == expected


def test_it_stops_a_child_because_its_parent_stopped():
    assert lifecycle.stop_child(S.RUNNING, parent="sweep-1") == Transition(
        S.RUNNING, S.CANCEL_REQUESTED, Cause.PARENT_STOPPED, "cancel requested because its parent sweep-1 stopped",
        stop=True)
    assert lifecycle.stop_child(S.QUEUED, parent="sweep-1") == Transition(
        S.QUEUED, S.CANCELED, Cause.PARENT_STOPPED, "canceled because its parent sweep-1 stopped before it started",
        failure_kind=FailureKind.CANCELED, stop=True)


def test_it_evicts_only_a_job_at_work_and_keeps_its_status_until_the_nodes_stop():
    assert lifecycle.on_evict(S.RUNNING, reason="evicted by ada") == Transition(
        S.RUNNING, S.RUNNING, Cause.EVICTING, "evicted by ada", stop=True)
    assert lifecycle.on_evict(S.QUEUED, reason="x") is None
    assert lifecycle.on_evict(S.CANCEL_REQUESTED, reason="x") is None


def test_it_stops_a_job_that_ran_past_its_time_limit():
    stopping = lifecycle.on_timeout(S.RUNNING, limit_seconds=60)
    assert (stopping.to, stopping.code, stopping.failure_kind, stopping.stop) == (
        S.CANCEL_REQUESTED, Cause.TIMED_OUT, FailureKind.TIMEOUT, True)
    assert "limits.timeout (60 s)" in stopping.message
    never_started = lifecycle.on_timeout(S.QUEUED, limit_seconds=60)
    assert (never_started.to, never_started.failure_kind) == (S.FAILED, FailureKind.TIMEOUT)
    assert lifecycle.on_timeout(S.COMPLETED, limit_seconds=60) is None


def test_it_colours_each_status_by_what_it_means():
    assert [lifecycle.tone(s) for s in (S.COMPLETED, S.FAILED, S.CANCELED, S.QUEUED, S.RUNNING)] == [
        "ok", "bad", "stopped", "waiting", "live"]
