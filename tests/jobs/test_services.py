"""The one write path: submit, schedule, run reports, finish, cancel, reap."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from jobs import services
from jobs.lifecycle import Outcome, Status
from jobs.models import Job, LogChunk, Node
from jobs.scheduling.service import schedule_cycle
from jobs.selectors import job_log_read
from jobs.specs import load_command_job
from studio.errors import ApplicationError, Conflict
from tests.jobs.helpers import tar_gz, with_environment

pytestmark = pytest.mark.django_db


def submit(user, workspace, text="command: echo hi\n", **kwargs):
    return services.job_submit(user=user, workspace=workspace, spec=load_command_job(with_environment(text)), **kwargs)


def test_it_records_a_serverless_job_and_admits_it_on_commit(user, workspace, data_dir,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = submit(user, workspace)
    job.refresh_from_db()
    assert job.compute == "serverless"
    assert job.status == Status.PROVISIONING
    assert list(job.nodes.values_list("index", "status")) == [(0, Status.PROVISIONING)]
    events = list(job.events.values_list("code", "message"))
    assert events[0] == ("Submitted", "submitted by ada to serverless compute")
    assert events[1] == ("Admitted", job.instance_type_reason)


def test_it_refuses_a_taken_name_and_creates_nothing(user, workspace, data_dir):
    submit(user, workspace, "name: run-1\ncommand: echo hi\n")
    with pytest.raises(Conflict, match="run-1"):
        submit(user, workspace, "name: run-1\ncommand: echo again\n")
    assert Job.objects.count() == 1


def test_it_refuses_an_archive_that_escapes_and_leaves_nothing(user, workspace, data_dir):
    with pytest.raises(ApplicationError, match="escapes the code folder"):
        submit(user, workspace, "name: evil\ncode: src\ncommand: ls\n", code=tar_gz({"../../etc/x": "boom"}))
    assert not Job.objects.exists()
    assert not list((data_dir / "snapshots").glob("evil*"))


def test_it_refuses_code_over_the_limit(user, workspace, data_dir, settings):
    settings.STUDIO_CODE_MAX_BYTES = 10
    with pytest.raises(ApplicationError, match="larger than the limit of 10 bytes"):
        submit(user, workspace, "code: src\ncommand: ls\n", code=tar_gz({"big.bin": b"x" * 11}))
    assert not Job.objects.exists()


D2 = "resources:\n  instance_type: Standard_D2s_v3\n"


def test_it_refuses_a_job_that_can_never_fit(user, workspace, data_dir, set_quota):
    set_quota("standardDSv3Family", 4)
    with pytest.raises(ApplicationError) as error:
        submit(user, workspace, "command: hostname\n" + D2 + "  instance_count: 3\n")
    assert error.value.message.startswith("at most 2 instances of Standard_D2s_v3 (2 vCPUs each) fit in your "
                                          "standardDSv3Family quota of 4 vCPUs")
    assert error.value.extra["recommendations"] == ["reduce `resources.instance_count` to 2",
                                                    "or request a quota increase for standardDSv3Family"]
    assert not Job.objects.exists()


def test_it_refuses_a_size_without_quota_and_names_sizes_with_quota(user, workspace, data_dir):
    with pytest.raises(ApplicationError) as error:
        submit(user, workspace, "command: nvidia-smi\nresources:\n  instance_type: Standard_NC4as_T4_v3\n")
    assert error.value.message == ("no quota for Standard_NC4as_T4_v3 in your standardNCASv3_T4Family quota")
    assert error.value.extra["recommendations"][0].startswith("choose a VM size that has quota: ")


def test_it_refuses_an_unknown_cluster(user, workspace, data_dir):
    with pytest.raises(ApplicationError, match="compute 'cpu-cluster' does not exist"):
        submit(user, workspace, "command: hostname\ncompute: azureml:cpu-cluster\n")


def test_it_queues_what_does_not_fit_with_a_position(user, workspace, data_dir, set_quota):
    set_quota("standardDSv3Family", 2)
    first, second, third = (submit(user, workspace, "command: hostname\n" + D2) for _ in range(3))
    schedule_cycle()
    statuses = {j.name: (j.status, j.queue_position) for j in Job.objects.all()}
    assert statuses == {first.name: (Status.PROVISIONING, None), second.name: (Status.QUEUED, 1),
                        third.name: (Status.QUEUED, 2)}
    assert "waiting for quota" in Job.objects.get(id=third.id).pending_reason


def test_it_admits_each_job_once_however_often_the_cycle_runs(user, workspace, data_dir):
    job = submit(user, workspace, "command: hostname\nresources:\n  instance_count: 2\n")
    schedule_cycle()
    schedule_cycle()
    assert Node.objects.filter(job=job).count() == 2


def test_it_never_admits_beyond_quota_when_cycles_race(transactional_db, postgres, user, workspace,
                                                       data_dir, set_quota):
    set_quota("standardDSv3Family", 6)
    for _ in range(10):
        submit(user, workspace, "command: hostname\n" + D2)
    errors = []

    def cycle():
        try:
            schedule_cycle()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=cycle) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Node.objects.count() == 3
    assert Job.objects.filter(status=Status.PROVISIONING).count() == 3


def test_it_finishes_the_job_when_its_last_node_exits(user, workspace, data_dir):
    job = submit(user, workspace, "command: hostname\nresources:\n  instance_count: 2\n")
    schedule_cycle()
    n0, n1 = Node.objects.filter(job=job).order_by("index")
    for node in (n0, n1):
        assert services.node_claim(node_id=node.id, worker="w1")
        services.node_phase(node_id=node.id, status=Status.RUNNING)
    assert Job.objects.get(id=job.id).status == Status.RUNNING
    services.node_exited(node_id=n0.id, outcome=Outcome("Completed", 0))
    assert Job.objects.get(id=job.id).status == Status.RUNNING
    services.node_exited(node_id=n1.id, outcome=Outcome("Completed", 0))
    job.refresh_from_db()
    assert (job.status, job.exit_code) == (Status.COMPLETED, 0)


def test_it_stops_the_other_nodes_when_one_fails(user, workspace, data_dir):
    job = submit(user, workspace, "command: hostname\nresources:\n  instance_count: 2\n")
    schedule_cycle()
    n0, n1 = Node.objects.filter(job=job).order_by("index")
    for node in (n0, n1):
        services.node_claim(node_id=node.id, worker="w1")
    services.node_exited(node_id=n1.id, outcome=Outcome("Failed", 2, "user", "the command exited with code 2"))
    assert services.node_heartbeat(node_id=n0.id) is True, "the surviving node is told to stop"
    services.node_exited(node_id=n0.id, outcome=Outcome("Canceled", None, "canceled", "stopped"))
    job.refresh_from_db()
    assert (job.status, job.exit_code, job.failure_kind) == (Status.FAILED, 2, "user")
    assert job.error == "node 1: the command exited with code 2"


def test_it_cancels_a_queued_job_at_once(user, workspace, data_dir, set_quota):
    set_quota("standardDSv3Family", 2)
    submit(user, workspace, "command: hostname\n" + D2)
    waiting = submit(user, workspace, "command: hostname\n" + D2)
    schedule_cycle()
    job = services.job_cancel(job=waiting, user=user)
    assert job.status == Status.CANCELED
    with pytest.raises(Conflict, match="already ended"):
        services.job_cancel(job=job, user=user)


def test_it_asks_running_nodes_to_stop_on_cancel(user, workspace, data_dir):
    job = submit(user, workspace)
    schedule_cycle()
    node = Node.objects.get(job=job)
    services.node_claim(node_id=node.id, worker="w1")
    job = services.job_cancel(job=job, user=user)
    assert job.status == Status.CANCEL_REQUESTED
    assert services.node_should_stop(node_id=node.id)
    services.node_exited(node_id=node.id, outcome=Outcome("Canceled", -15, "canceled", "canceled by request"))
    assert Job.objects.get(id=job.id).status == Status.CANCELED


def test_it_cancels_nodes_no_worker_has_claimed(user, workspace, data_dir):
    job = submit(user, workspace)
    schedule_cycle()
    job = services.job_cancel(job=job, user=user)
    assert job.status == Status.CANCELED
    node = Node.objects.get(job=job)
    assert not services.node_claim(node_id=node.id, worker="late")


def test_it_marks_silent_nodes_not_responding_then_failed(user, workspace, data_dir, settings):
    settings.STUDIO_NOT_RESPONDING_SECONDS = 30
    settings.STUDIO_NODE_LOST_SECONDS = 120
    job = submit(user, workspace)
    schedule_cycle()
    node = Node.objects.get(job=job)
    services.node_claim(node_id=node.id, worker="w-dead")
    services.node_phase(node_id=node.id, status=Status.RUNNING)
    now = timezone.now()
    Node.objects.filter(id=node.id).update(heartbeat_at=now - timedelta(seconds=60))
    services.node_reap(now=now)
    assert Job.objects.get(id=job.id).status == Status.NOT_RESPONDING
    Node.objects.filter(id=node.id).update(heartbeat_at=now - timedelta(seconds=600))
    services.node_reap(now=now)
    job.refresh_from_db()
    assert (job.status, job.failure_kind) == (Status.FAILED, "infrastructure")
    assert "w-dead" in job.error and "stopped responding" in job.error


def test_it_brings_a_not_responding_node_back_when_it_heartbeats(user, workspace, data_dir):
    job = submit(user, workspace)
    schedule_cycle()
    node = Node.objects.get(job=job)
    services.node_claim(node_id=node.id, worker="w-slow")
    services.node_phase(node_id=node.id, status=Status.RUNNING)
    Node.objects.filter(id=node.id).update(heartbeat_at=timezone.now() - timedelta(seconds=60))
    services.node_reap()
    assert services.node_heartbeat(node_id=node.id) is False
    assert Job.objects.get(id=job.id).status == Status.RUNNING


def test_it_reads_logs_from_any_offset(user, workspace, data_dir):
    job = submit(user, workspace)
    schedule_cycle()
    node = Node.objects.get(job=job)
    for piece in ("hello ", "wor", "ld\n"):
        services.node_log_append(node_id=node.id, text=piece)
    assert LogChunk.objects.filter(node=node).count() == 3
    assert job_log_read(job=job)["text"] == "hello world\n"
    tail = job_log_read(job=job, offset=7)
    assert (tail["text"], tail["next_offset"]) == ("orld\n", 12)
    assert job_log_read(job=job, offset=12)["text"] == ""


def test_it_refuses_a_local_code_folder_that_was_not_uploaded(user, workspace, data_dir):
    with pytest.raises(ApplicationError, match="code: the job names the local folder 'src'"):
        submit(user, workspace, "code: src\ncommand: python train.py\n")
    assert not Job.objects.exists()


def test_it_refuses_a_local_input_that_was_not_uploaded(user, workspace, data_dir):
    text = "command: cat ${{inputs.d}}\ninputs:\n  d:\n    type: uri_file\n    path: ./data.csv\n"
    with pytest.raises(ApplicationError, match="inputs.d: the local path './data.csv' was not uploaded"):
        submit(user, workspace, text)
    assert not Job.objects.exists()


def test_it_refuses_data_for_an_undeclared_input(user, workspace, data_dir):
    with pytest.raises(ApplicationError, match="inputs.extra: data was uploaded"):
        submit(user, workspace, inputs={"extra": tar_gz({"a": "1"})})
