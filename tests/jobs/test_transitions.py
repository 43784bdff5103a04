"""The one applier of job state (jobs.transitions) on a real database: compare-and-swap, the
events that make the timeline, a job settled from its nodes under its own lock, and parents
settled from their children (a toy parent: no sweep or pipeline code)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from jobs import services, transitions
from jobs.lifecycle import TERMINAL, Cause, FailureKind, Outcome, Status, Transition
from jobs.models import Job, JobEvent, Node
from jobs.scheduling.service import schedule_cycle
from jobs.specs import load_command_job
from quotas.models import UsageRecord
from tests.jobs.helpers import with_environment

D2 = "resources:\n  instance_type: Standard_D2s_v3\n"


def submit(user, workspace, text="command: echo hi\n"):
    return services.job_submit(user=user, workspace=workspace, spec=load_command_job(with_environment(text)))


def run_nodes(job):
    """Claim every node of the job and report it Running, as a worker would."""
    for node in Node.objects.filter(job=job).order_by("index"):
        assert services.node_claim(node_id=node.id, worker=f"w{node.index}")
        services.node_phase(node_id=node.id, status=Status.RUNNING)


def moves(job):
    return list(JobEvent.objects.filter(job=job).exclude(to_status="").order_by("at", "id")
                .values_list("from_status", "to_status", "code"))


@pytest.mark.django_db(transaction=True)
def test_it_ends_every_gang_job_when_its_nodes_exit_at_the_same_moment(postgres, user, workspace, data_dir,
                                                                        set_quota):
    """Each node's exit locks its job first: the last one always sees its siblings ended (at READ
    COMMITTED, without that lock, every node saw the others running and none ended the job)."""
    set_quota("standardDSv3Family", 120)
    set_quota("cores", 120)
    jobs = [submit(user, workspace, f"name: gang-{i}\ncommand: hostname\n{D2}  instance_count: 3\n")
            for i in range(20)]
    schedule_cycle()
    for job in jobs:
        run_nodes(job)
    errors = []
    for job in jobs:
        nodes = list(Node.objects.filter(job=job))
        barrier = threading.Barrier(len(nodes))

        def exit_node(node_id):
            try:
                barrier.wait(timeout=10)
                services.node_exited(node_id=node_id, outcome=Outcome(Status.COMPLETED, 0))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=exit_node, args=(n.id,)) for n in nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert sorted(Job.objects.filter(name__startswith="gang-").values_list("status", flat=True)) == \
        [Status.COMPLETED] * 20
    assert not UsageRecord.objects.filter(ended_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_it_records_every_transition_with_its_code_and_who_caused_it(user, workspace, data_dir):
    job = submit(user, workspace, "name: fails\ncommand: exit 3\n")
    schedule_cycle()
    node = Node.objects.get(job=job)
    run_nodes(job)
    services.node_exited(node_id=node.id, outcome=Outcome(Status.FAILED, 3, FailureKind.USER,
                                                          "the command exited with code 3"))
    assert moves(job) == [
        ("", Status.NOT_STARTED, Cause.SUBMITTED),
        (Status.NOT_STARTED, Status.PROVISIONING, Cause.ADMITTED),
        (Status.PROVISIONING, Status.PREPARING, Cause.NODE_CLAIMED),
        (Status.PREPARING, Status.RUNNING, Cause.NODE_PROGRESS),
        (Status.RUNNING, Status.FAILED, Cause.USER_ERROR),
    ]
    actors = list(JobEvent.objects.filter(job=job).exclude(to_status="").values_list("actor", flat=True))
    assert actors == ["ada", "scheduler", "w0", "w0", "w0"]
    job.refresh_from_db()
    assert (job.status, job.failure_kind, job.exit_code, job.error) == (
        Status.FAILED, FailureKind.USER, 3, "the command exited with code 3")


@pytest.mark.django_db
def test_it_writes_nothing_when_the_row_moved_on_since_it_was_read(user, workspace, data_dir):
    job = submit(user, workspace)
    stale = transitions.lock_job(job.id)
    Job.objects.filter(id=job.id).update(status=Status.CANCELED)
    applied = transitions.job_transition(job=stale, transition=Transition(
        Status.NOT_STARTED, Status.QUEUED, "QuotaBusy", "waiting"))
    assert applied is False
    assert Job.objects.get(id=job.id).status == Status.CANCELED
    assert not JobEvent.objects.filter(job=job, to_status=Status.QUEUED).exists()


# --- a toy parent -----------------------------------------------------------------------------


def toy_parent(user, workspace, *, kind="sweep", children=2, complete=True, extra=""):
    """A parent row with ``children`` command children, as a sweep or pipeline driver would make."""
    parent = Job.objects.create(name=f"{kind}-parent", workspace=workspace, submitted_by=user, type=kind,
                                spec={"type": kind}, children_complete=complete)
    kids = [submit(user, workspace, f"name: {kind}-child-{i}\ncommand: echo {i}\n{extra}") for i in range(children)]
    Job.objects.filter(id__in=[k.id for k in kids]).update(parent=parent)
    return parent, kids


def status(job):
    return Job.objects.values_list("status", flat=True).get(id=job.id)


def finish(job, outcome):
    for node in Node.objects.filter(job=job).exclude(status__in=TERMINAL):
        services.node_exited(node_id=node.id, outcome=outcome)


@pytest.mark.django_db(transaction=True)
def test_it_runs_a_parent_while_a_child_runs_and_completes_a_sweep_when_its_trials_end(user, workspace, data_dir):
    parent, (first, second) = toy_parent(user, workspace, kind="sweep", complete=False)
    schedule_cycle()
    run_nodes(first)
    assert status(parent) == Status.RUNNING
    finish(first, Outcome(Status.FAILED, 1, FailureKind.USER, "exit 1"))
    run_nodes(second)
    finish(second, Outcome(Status.COMPLETED, 0))
    assert status(parent) == Status.RUNNING  # the driver may still add trials
    Job.objects.filter(id=parent.id).update(children_complete=True)
    assert transitions.parent_settle(parent_id=parent.id).to == Status.COMPLETED
    assert status(parent) == Status.COMPLETED  # one failed trial does not fail a sweep


@pytest.mark.django_db(transaction=True)
def test_it_fails_a_pipeline_on_a_failed_step_and_stops_the_others_first(user, workspace, data_dir):
    parent, (train, score) = toy_parent(user, workspace, kind="pipeline")
    schedule_cycle()
    run_nodes(train)
    run_nodes(score)
    finish(train, Outcome(Status.FAILED, 2, FailureKind.USER, "exit 2"))
    assert status(score) in (Status.CANCEL_REQUESTED, Status.CANCELED)
    assert Node.objects.get(job=score).cancel_requested
    finish(score, Outcome(Status.CANCELED, None, FailureKind.CANCELED, "canceled by request"))
    parent.refresh_from_db()
    assert (parent.status, parent.failure_kind) == (Status.FAILED, FailureKind.USER)
    assert "pipeline-child-0" in parent.error
    assert moves(parent)[-2:] == [(Status.RUNNING, Status.CANCEL_REQUESTED, Cause.CHILD_FAILED),
                                  (Status.CANCEL_REQUESTED, Status.FAILED, Cause.CHILD_FAILED)]


@pytest.mark.django_db(transaction=True)
def test_it_cancels_a_parent_down_to_every_child(user, workspace, data_dir, set_quota):
    set_quota("standardDSv3Family", 2)
    parent, (running_child, waiting_child) = toy_parent(user, workspace, kind="pipeline", extra=D2)
    schedule_cycle()
    run_nodes(running_child)
    assert status(waiting_child) == Status.QUEUED
    services.job_cancel(job=parent, user=user)
    assert status(waiting_child) == Status.CANCELED
    assert status(running_child) == Status.CANCEL_REQUESTED
    assert Node.objects.get(job=running_child).cancel_requested
    assert status(parent) == Status.CANCEL_REQUESTED
    finish(running_child, Outcome(Status.CANCELED, None, FailureKind.CANCELED, "canceled by request"))
    assert (status(running_child), status(parent)) == (Status.CANCELED, Status.CANCELED)
    reason = JobEvent.objects.filter(job=waiting_child, to_status=Status.CANCELED).get()
    assert (reason.code, reason.actor) == (Cause.PARENT_STOPPED, "pipeline-parent")


@pytest.mark.django_db(transaction=True)
def test_it_never_lets_a_child_outlive_its_parent(user, workspace, data_dir):
    """A parent ended while a child was left running (a crashed process lost the cascade): the
    housekeeping loop's reconcile stops the child."""
    parent, (child, _) = toy_parent(user, workspace, kind="sweep", children=2)
    schedule_cycle()
    run_nodes(child)
    Job.objects.filter(id=parent.id).update(status=Status.CANCELED)
    assert transitions.parents_reconcile() >= 1
    assert status(child) == Status.CANCEL_REQUESTED and Node.objects.get(job=child).cancel_requested


@pytest.mark.django_db(transaction=True)
def test_a_failed_node_ends_its_unclaimed_siblings_so_the_job_ends(user, workspace, data_dir, set_quota):
    """Nobody claims a node once it is asked to stop, so the applier ends it: the job never waits
    forever for a sibling no worker will take."""
    set_quota("standardDSv3Family", 12)
    job = submit(user, workspace, f"name: half-gang\ncommand: hostname\n{D2}  instance_count: 3\n")
    schedule_cycle()
    first = Node.objects.get(job=job, index=0)
    assert services.node_claim(node_id=first.id, worker="w0")
    services.node_exited(node_id=first.id, outcome=Outcome(Status.FAILED, 2, FailureKind.USER, "exit 2"))
    job.refresh_from_db()
    assert (job.status, job.error) == (Status.FAILED, "node 0: exit 2")
    assert sorted(Node.objects.filter(job=job).values_list("status", flat=True)) == \
        [Status.CANCELED, Status.CANCELED, Status.FAILED]
    assert not UsageRecord.objects.filter(ended_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_the_sweep_settles_a_job_whose_nodes_all_ended_behind_its_back(user, workspace, data_dir):
    job = submit(user, workspace, "name: left-over\ncommand: hostname\n")
    schedule_cycle()
    node = Node.objects.get(job=job)
    run_nodes(job)
    Node.objects.filter(id=node.id).update(status=Status.COMPLETED, exit_code=0)  # a crash between the two writes
    assert transitions.jobs_settle_leftovers() == 1
    assert Job.objects.get(id=job.id).status == Status.COMPLETED
    assert transitions.jobs_settle_leftovers() == 0


@pytest.mark.django_db(transaction=True)
def test_a_node_whose_worker_stops_requeues_its_job_without_counting_an_eviction(user, workspace, data_dir,
                                                                                   set_quota):
    set_quota("standardDSv3Family", 12)
    job = submit(user, workspace, f"name: interrupted\ncommand: hostname\n{D2}  instance_count: 2\n")
    schedule_cycle()
    run_nodes(job)
    first, second = Node.objects.filter(job=job).order_by("index")
    canceled = Outcome(Status.CANCELED, None, FailureKind.CANCELED, "canceled by request")
    services.node_exited(node_id=first.id, outcome=canceled, worker_stopping=True)
    assert Node.objects.get(id=second.id).cancel_requested  # the gang stops with it
    services.node_exited(node_id=second.id, outcome=canceled)
    job.refresh_from_db()
    assert job.evictions == 0 and job.failure_kind == ""
    assert JobEvent.objects.filter(job=job, code=Cause.REQUEUED).count() == 1
    assert job.status in (Status.QUEUED, Status.PROVISIONING)  # back in the queue (admitted again on commit)
    assert Node.objects.get(id=first.id).failure_kind == FailureKind.INTERRUPTED
