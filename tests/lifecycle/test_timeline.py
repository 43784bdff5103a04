"""A job's timeline, read from its recorded transitions: where a failed job stopped is marked."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from jobs.lifecycle import Event, Status, Step, timeline

S = Status
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def moves(*steps):
    """(seconds, from, to, code, message) → events."""
    return [Event(at(t), f, to, code, message) for t, f, to, code, message in steps]


SUBMITTED = (0, "", S.NOT_STARTED, "Submitted", "submitted by ada")


def test_it_shows_a_completed_job_all_green():
    events = moves(SUBMITTED, (1, S.NOT_STARTED, S.PROVISIONING, "Admitted", "admitted"),
                   (2, S.PROVISIONING, S.PREPARING, "NodeClaimed", ""), (3, S.PREPARING, S.RUNNING, "NodeProgress", ""),
                   (9, S.RUNNING, S.FINALIZING, "NodeProgress", ""), (10, S.FINALIZING, S.COMPLETED, "Completed", ""))
    assert timeline(events, S.COMPLETED) == [
        Step(S.NOT_STARTED, "Submitted", "done", at(0)),
        Step(S.QUEUED, "Queued", "skipped"),
        Step(S.PROVISIONING, "Provisioning", "done", at(1)),
        Step(S.PREPARING, "Preparing", "done", at(2)),
        Step(S.RUNNING, "Running", "done", at(3)),
        Step(S.FINALIZING, "Finalizing", "done", at(9)),
        Step(S.COMPLETED, "Completed", "ok", at(10), "Completed", ""),
    ]


def test_it_marks_where_a_failed_job_stopped_and_fades_what_it_never_reached():
    events = moves(SUBMITTED, (1, S.NOT_STARTED, S.QUEUED, "QuotaBusy", "waiting"),
                   (5, S.QUEUED, S.PROVISIONING, "Admitted", "admitted"),
                   (6, S.PROVISIONING, S.PREPARING, "NodeClaimed", ""),
                   (7, S.PREPARING, S.FAILED, "InfrastructureError", "inputs.data: not uploaded"))
    steps = timeline(events, S.FAILED)
    assert [(s.status, s.state) for s in steps] == [
        (S.NOT_STARTED, "done"), (S.QUEUED, "done"), (S.PROVISIONING, "done"), (S.PREPARING, "failed"),
        (S.RUNNING, "not-reached"), (S.FINALIZING, "not-reached"), (S.FAILED, "bad")]
    assert steps[-1] == Step(S.FAILED, "Failed", "bad", at(7), "InfrastructureError", "inputs.data: not uploaded")


def test_it_shows_a_rejected_job_failing_at_submission():
    events = moves(SUBMITTED, (1, S.NOT_STARTED, S.FAILED, "NoQuotaForSize", "rejected: no quota for Standard_NC6"))
    steps = timeline(events, S.FAILED)
    assert steps[0].state == "failed" and all(s.state == "not-reached" for s in steps[1:-1])
    assert steps[-1].code == "NoQuotaForSize"


def test_it_shows_a_canceled_job_grey_where_it_stopped():
    events = moves(SUBMITTED, (1, S.NOT_STARTED, S.PROVISIONING, "Admitted", ""),
                   (2, S.PROVISIONING, S.PREPARING, "NodeClaimed", ""), (3, S.PREPARING, S.RUNNING, "NodeProgress", ""),
                   (4, S.RUNNING, S.CANCEL_REQUESTED, "CancelRequested", "cancel requested by ada"),
                   (5, S.CANCEL_REQUESTED, S.CANCELED, "Canceled", "canceled by request"))
    steps = timeline(events, S.CANCELED)
    assert [(s.status, s.state) for s in steps][3:] == [
        (S.PREPARING, "done"), (S.RUNNING, "stopped"), (S.FINALIZING, "not-reached"), (S.CANCELED, "stopped")]


def test_it_shows_a_running_job_at_its_current_step():
    events = moves(SUBMITTED, (1, S.NOT_STARTED, S.PROVISIONING, "Admitted", ""),
                   (2, S.PROVISIONING, S.PREPARING, "NodeClaimed", ""), (3, S.PREPARING, S.RUNNING, "NodeProgress", ""))
    assert [(s.status, s.state) for s in timeline(events, S.RUNNING)][2:] == [
        (S.PROVISIONING, "done"), (S.PREPARING, "done"), (S.RUNNING, "current"), (S.FINALIZING, "upcoming")]


def test_it_shows_the_latest_attempt_after_a_spot_eviction():
    events = moves(SUBMITTED, (1, S.NOT_STARTED, S.PROVISIONING, "Admitted", ""),
                   (2, S.PROVISIONING, S.RUNNING, "NodeProgress", ""),
                   (3, S.RUNNING, S.RUNNING, "Evicting", "evicting: evicted by ada"),
                   (4, S.RUNNING, S.QUEUED, "Requeued", "evicted ...; back in the queue"),
                   (6, S.QUEUED, S.PROVISIONING, "Admitted", ""))
    steps = timeline(events, S.PROVISIONING)
    assert [(s.status, s.state, s.at) for s in steps] == [
        (S.NOT_STARTED, "done", at(0)), (S.QUEUED, "done", at(4)), (S.PROVISIONING, "current", at(6)),
        (S.PREPARING, "upcoming", None), (S.RUNNING, "upcoming", None), (S.FINALIZING, "upcoming", None)]


def test_it_gives_a_parent_its_own_short_path():
    events = moves(SUBMITTED, (1, S.NOT_STARTED, S.RUNNING, "NodeProgress", "a child is running"),
                   (9, S.RUNNING, S.COMPLETED, "Completed", "3 of 4 children completed"))
    assert [(s.status, s.state) for s in timeline(events, S.COMPLETED, parent=True)] == [
        (S.NOT_STARTED, "done"), (S.QUEUED, "skipped"), (S.RUNNING, "done"), (S.COMPLETED, "ok")]
