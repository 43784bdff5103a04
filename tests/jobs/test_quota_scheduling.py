"""The scheduling service on the database: quota cases, queueing, Spot evictions, clusters."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import services
from jobs.lifecycle import Outcome, Status
from jobs.models import Job, Node
from jobs.scheduling.service import schedule_cycle
from jobs.specs import load_command_job
from quotas import selectors as quota_selectors
from quotas import services as quota_services
from quotas.models import Cluster, UsageRecord
from studio.errors import ApplicationError
from tests.jobs.helpers import with_environment

pytestmark = pytest.mark.django_db


def submit(user, workspace, size=None, count=1, tier=None, compute=None, priority=None):
    lines = ["command: hostname"]
    if size or count != 1:
        lines.append("resources:")
        if size:
            lines.append(f"  instance_type: {size}")
        lines.append(f"  instance_count: {count}")
    if tier or priority:
        lines.append("queue_settings:")
        if tier:
            lines.append(f"  job_tier: {tier}")
        if priority:
            lines.append(f"  priority: {priority}")
    if compute:
        lines.append(f"compute: azureml:{compute}")
    spec = load_command_job(with_environment("\n".join(lines) + "\n"))
    job = services.job_submit(user=user, workspace=workspace, spec=spec)
    schedule_cycle()
    job.refresh_from_db()
    return job


def finish(job, status="Completed"):
    for node in Node.objects.filter(job=job, attempt=Job.objects.get(id=job.id).attempt):
        services.node_claim(node_id=node.id, worker="w")
        services.node_exited(node_id=node.id, outcome=Outcome(status, 0 if status == "Completed" else 1,
                                                                   "" if status == "Completed" else "user", ""))
    schedule_cycle()


def test_a_job_without_resources_runs_on_a_size_it_names_and_explains(user, workspace, data_dir):
    job = submit(user, workspace)
    assert job.instance_type == "Standard_D2as_v4"
    assert "cheapest general-purpose CPU size" in job.instance_type_reason
    assert Node.objects.get(job=job).pool == "vm-standard_d2as_v4"


def test_the_third_job_waits_with_a_position_and_runs_when_quota_frees(user, workspace, data_dir, set_quota):
    set_quota("standardDSv3Family", 4)
    first, second = (submit(user, workspace, "Standard_D2s_v3") for _ in range(2))
    third = submit(user, workspace, "Standard_D2s_v3")
    assert (first.status, second.status) == (Status.PROVISIONING, Status.PROVISIONING)
    assert (third.status, third.queue_position) == (Status.QUEUED, 1)
    assert (third.estimated_start_earliest, third.estimated_start_latest) == (None, None)
    assert third.estimate_basis == "no estimate: the 2 running jobs it waits for have no time limit and no history"
    assert third.pending_code == "QuotaBusy"
    assert third.pending_reason == ("waiting for quota: Standard_D2s_v3 × 1 needs 2 vCPUs of standardDSv3Family "
                                    "quota, which has 0 free of 4 (4 in use by running jobs)")
    assert not Node.objects.filter(job=third).exists()
    finish(first)
    assert Job.objects.get(id=third.id).status == Status.PROVISIONING


def test_a_two_node_job_never_starts_with_one_node(user, workspace, data_dir, set_quota):
    set_quota("standardDSv3Family", 4)
    blocker = submit(user, workspace, "Standard_D2s_v3")
    gang = submit(user, workspace, "Standard_D2s_v3", count=2)
    assert gang.status == Status.QUEUED and not Node.objects.filter(job=gang).exists()
    finish(blocker)
    assert Node.objects.filter(job=gang).count() == 2


def test_the_usage_ledger_records_each_node_with_its_price(user, workspace, data_dir):
    job = submit(user, workspace, "Standard_D4s_v3", count=2)
    records = UsageRecord.objects.filter(job_name=job.name)
    assert [(r.vcpus, r.family, r.price_per_hour, r.ended_at) for r in records] == \
        [(4, "standardDSv3Family", 0.192, None)] * 2
    rows = {r["compute"]: r for r in quota_selectors.usage_list(workspace=workspace)}
    assert rows["Serverless"]["vcpus_in_use"] == {"standardDSv3Family": 8}
    assert rows["Serverless"]["running_jobs"] == 1
    finish(job)
    assert not UsageRecord.objects.filter(job_name=job.name, ended_at__isnull=True).exists()


def test_an_evicted_spot_job_goes_back_to_the_queue(user, workspace, data_dir):
    job = submit(user, workspace, "Standard_D2s_v3", tier="Spot")
    assert job.tier == "Spot"
    node = Node.objects.get(job=job)
    services.node_claim(node_id=node.id, worker="w")
    services.job_evict(job=job, user=user)
    assert services.node_heartbeat(node_id=node.id) is True, "the node is told to stop"
    services.node_exited(node_id=node.id, outcome=Outcome("Canceled", None, "canceled", "stopped"))
    job.refresh_from_db()
    assert (job.status, job.evictions) == (Status.QUEUED, 1)
    assert "evicted" in job.pending_reason
    schedule_cycle()
    job.refresh_from_db()
    assert (job.status, job.attempt) == (Status.PROVISIONING, 2)
    assert Node.objects.filter(job=job).count() == 2, "the first attempt's node is kept"


def test_a_job_evicted_too_often_fails_with_that_reason(user, workspace, data_dir, settings):
    settings.STUDIO_SPOT_MAX_EVICTIONS = 1
    job = submit(user, workspace, "Standard_D2s_v3", tier="Spot")
    for _ in range(2):
        node = Node.objects.filter(job=job).order_by("-attempt").first()
        services.node_claim(node_id=node.id, worker="w")
        services.job_evict(job=Job.objects.get(id=job.id), user=user)
        services.node_exited(node_id=node.id, outcome=Outcome("Canceled", None, "canceled", ""))
        schedule_cycle()
    job.refresh_from_db()
    assert (job.status, job.failure_kind) == (Status.FAILED, "evicted")
    assert "evicted 2 times" in job.error


def test_only_spot_jobs_can_be_evicted(user, workspace, data_dir):
    job = submit(user, workspace, "Standard_D2s_v3")
    with pytest.raises(ApplicationError, match="only Spot jobs"):
        services.job_evict(job=job, user=user)


def test_a_random_eviction_rate_evicts_spot_jobs(user, workspace, data_dir, settings):
    settings.STUDIO_SPOT_EVICTION_RATE = 3600.0  # per hour: all but certain within one second
    job = submit(user, workspace, "Standard_D2s_v3", tier="Spot")
    assert services.spot_random_evictions(elapsed_seconds=1.0, rng=random.Random(1)) == 1
    job.refresh_from_db()  # its node had not started: it stopped at once, and the job is back in the queue
    assert (job.status, job.evictions, job.evicting) == (Status.QUEUED, 1, False)


def test_a_busy_cluster_queues_while_serverless_starts_at_once(user, workspace, data_dir):
    quota_services.cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_D2s_v3",
                                  max_instances=1)
    running = submit(user, workspace, compute="cpu-cluster")
    assert running.status == Status.PROVISIONING
    assert Cluster.objects.get(name="cpu-cluster").allocated == 1
    waiting = submit(user, workspace, compute="cpu-cluster")
    assert waiting.status == Status.QUEUED
    assert "cluster 'cpu-cluster' is busy" in waiting.pending_reason
    serverless = submit(user, workspace, "Standard_D2s_v3")
    assert serverless.status == Status.PROVISIONING
    finish(running)
    assert Job.objects.get(id=waiting.id).status == Status.PROVISIONING


def test_a_cluster_finishes_scaling_down_before_it_scales_up(user, workspace, data_dir, settings):
    cluster = quota_services.cluster_create(user=user, workspace=workspace, name="cpu-cluster",
                                            size="Standard_D2s_v3", max_instances=2, idle_seconds=0)
    finish(submit(user, workspace, compute="cpu-cluster"))
    cluster.refresh_from_db()
    assert cluster.scaling_down_until is not None, "idle past its idle time: scaling down"
    job = submit(user, workspace, compute="cpu-cluster")
    assert job.status == Status.QUEUED and "scaling down" in job.pending_reason
    schedule_cycle(now=cluster.scaling_down_until + timedelta(seconds=1))
    schedule_cycle(now=cluster.scaling_down_until + timedelta(seconds=2))
    assert Job.objects.get(id=job.id).status == Status.PROVISIONING


def test_a_cluster_with_running_jobs_cannot_be_deleted(user, workspace, data_dir):
    quota_services.cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_D2s_v3")
    job = submit(user, workspace, compute="cpu-cluster")
    with pytest.raises(ApplicationError, match="1 job waiting or running"):
        quota_services.cluster_delete(user=user, workspace=workspace, name="cpu-cluster")
    finish(job)
    quota_services.cluster_delete(user=user, workspace=workspace, name="cpu-cluster")
    assert not Cluster.objects.exists()


def test_quota_list_counts_what_is_running(user, workspace, data_dir):
    submit(user, workspace, "Standard_D4s_v3", count=2)
    listing = quota_selectors.quota_list(workspace=workspace)
    dsv3 = next(f for f in listing["families"] if f["family"] == "standardDSv3Family")
    cores = next(f for f in listing["families"] if f["family"] == "cores")
    assert (dsv3["subscription_in_use"], dsv3["workspace_in_use"], cores["subscription_in_use"]) == (8, 8, 8)
    assert timezone.now()  # the listing is read at a moment, not cached


def test_a_cycle_costs_the_same_queries_however_many_jobs_wait(user, workspace, data_dir, set_quota):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    set_quota("standardDSv3Family", 2)
    submit(user, workspace, "Standard_D2s_v3")

    def cycle_queries():
        with CaptureQueriesContext(connection) as captured:
            schedule_cycle()
        return len(captured)

    for _ in range(3):
        submit(user, workspace, "Standard_D2s_v3")
    few = cycle_queries()
    for _ in range(30):
        services.job_submit(user=user, workspace=workspace, spec=load_command_job(with_environment(
            "command: hostname\nresources:\n  instance_type: Standard_D2s_v3\n")))
    schedule_cycle()  # the new jobs are queued once
    events = Job.objects.get(name=Job.objects.order_by("-id").first().name).events.count()
    assert cycle_queries() == few, "waiting jobs whose place did not change are not rewritten"
    assert Job.objects.order_by("-id").first().events.count() == events, "no new event when nothing changed"


PINNED = "command: hostname\nresources:\n  instance_type: Standard_D2as_v4\n"


def test_a_cycle_planned_before_another_cycle_admitted_decides_again_and_never_exceeds_quota(
        user, workspace, data_dir, set_quota):
    """A cycle decides on a snapshot read without the write lock; when another cycle admitted a job
    in between, its plan is stale: it decides again under the lock instead of admitting twice."""
    from jobs.scheduling.service import cycle_apply, cycle_plan

    set_quota("standardDASv4Family", 2)  # room for one 2-vCPU job
    first = services.job_submit(user=user, workspace=workspace,
                                spec=load_command_job(with_environment(PINNED)))
    stale = cycle_plan()
    fresh = cycle_plan()
    assert cycle_apply(fresh) == fresh.decisions  # admits ``first``: nothing changed since its snapshot
    second = services.job_submit(user=user, workspace=workspace,
                                 spec=load_command_job(with_environment(PINNED)))
    decided = cycle_apply(stale)  # planned when the quota was free and ``first`` waited
    assert decided != stale.decisions
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Status.PROVISIONING, Status.QUEUED)
    assert second.pending_code == "QuotaBusy"
    assert Node.objects.filter(job=first).count() == 1 and not Node.objects.filter(job=second).exists()


def test_quota_freed_since_the_plan_leaves_it_valid_and_the_next_cycle_uses_it(user, workspace, data_dir,
                                                                              set_quota):
    from jobs.scheduling.service import cycle_apply, cycle_plan

    set_quota("standardDASv4Family", 2)
    running = submit(user, workspace, size="Standard_D2as_v4")
    waiting = submit(user, workspace, size="Standard_D2as_v4")
    assert waiting.status == Status.QUEUED
    plan = cycle_plan()
    for node in Node.objects.filter(job=running):
        services.node_claim(node_id=node.id, worker="w")
        services.node_exited(node_id=node.id, outcome=Outcome("Completed", 0, "", ""))
    assert cycle_apply(plan) == plan.decisions  # freed quota only made it cautious: applied as planned
    waiting.refresh_from_db()
    assert waiting.status == Status.QUEUED
    schedule_cycle()
    waiting.refresh_from_db()
    assert waiting.status == Status.PROVISIONING
