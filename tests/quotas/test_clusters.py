"""Named clusters in the quotas app: listed with their busy nodes (from the usage ledger) and the
jobs waiting for them (from the queued demand), and deleted only when no job waits for or runs on them."""

from __future__ import annotations

from datetime import timedelta

import functools

import pytest
from django.utils import timezone

from quotas import selectors, services
from quotas.models import Cluster, UsageRecord
from studio.errors import Conflict, NotFound
from tests.jobs.test_quota_scheduling import finish, submit

pytestmark = pytest.mark.django_db


def node(workspace, user, node_id, *, compute="cpu-cluster", job="job-1", ended=False):
    now = timezone.now()
    return UsageRecord.objects.create(
        workspace=workspace, user=user, job_name=job, node_id=node_id, compute=compute, vm_size="Standard_DS3_v2",
        family="standardDSv2Family", tier="Standard", vcpus=4, price_per_hour=0.293,
        started_at=now - timedelta(minutes=5), ended_at=now if ended else None)


@pytest.fixture
def cluster(user, workspace):
    return services.cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_DS3_v2",
                                   max_instances=4)


def test_it_lists_busy_nodes_from_the_ledger_and_waiting_jobs_from_the_queue(
        user, workspace, cluster, django_assert_num_queries):
    services.cluster_create(user=user, workspace=workspace, name="idle-cluster", size="Standard_DS3_v2")
    node(workspace, user, 1, job="job-1")
    node(workspace, user, 2, job="job-1")
    node(workspace, user, 3, job="job-2")
    node(workspace, user, 4, job="job-0", ended=True)      # done: not busy
    node(workspace, user, 5, compute="serverless")          # not a cluster's
    services.queued_demand_replace(demand={("cluster", "ws-1", "cpu-cluster"): (3, 2)})

    with django_assert_num_queries(3):
        clusters = selectors.cluster_list(workspace=workspace)

    assert [c.name for c in clusters] == ["cpu-cluster", "idle-cluster"]
    busy, idle = clusters
    assert (busy.busy_nodes, busy.state, busy.queued_jobs, busy.queued_nodes) == (3, "busy", 2, 3)
    assert (idle.busy_nodes, idle.state, idle.queued_jobs, idle.queued_nodes) == (0, "steady", 0, 0)


def test_a_cluster_scaling_down_says_so(user, workspace, cluster):
    services.cluster_scale(cluster_id=cluster.id, allocated=1, scaling_down_until=timezone.now() + timedelta(seconds=30))
    assert selectors.cluster_get(workspace=workspace, name="cpu-cluster").state == "scaling down"
    services.cluster_scale(cluster_id=cluster.id, allocated=1, scaling_down_until=timezone.now() - timedelta(seconds=1))
    assert selectors.cluster_get(workspace=workspace, name="cpu-cluster").state == "steady"


def test_it_refuses_to_delete_a_cluster_with_running_nodes(user, workspace, cluster):
    node(workspace, user, 1, job="job-1")
    node(workspace, user, 2, job="job-1")  # one job on two nodes is one job

    with pytest.raises(Conflict) as refused:
        services.cluster_delete(user=user, workspace=workspace, name="cpu-cluster")

    assert refused.value.message == ("compute 'cpu-cluster' has 1 job waiting or running; cancel them or wait for "
                                     "them to end first")
    assert refused.value.extra == {"running": 1, "waiting": 0}
    assert Cluster.objects.filter(id=cluster.id).exists()


def test_it_refuses_to_delete_a_cluster_that_jobs_wait_for(user, workspace, cluster):
    services.queued_demand_replace(demand={("cluster", "ws-1", "cpu-cluster"): (4, 2)})

    with pytest.raises(Conflict, match="has 2 jobs waiting or running"):
        services.cluster_delete(user=user, workspace=workspace, name="cpu-cluster")
    assert Cluster.objects.filter(id=cluster.id).exists()

    services.queued_demand_replace(demand={})
    services.cluster_delete(user=user, workspace=workspace, name="cpu-cluster")
    assert not Cluster.objects.exists()


def test_it_deletes_a_cluster_whose_jobs_ended(user, workspace, cluster):
    node(workspace, user, 1, ended=True)
    node(workspace, user, 2, compute="other-cluster")
    services.queued_demand_replace(demand={("cluster", "ws-1", "other-cluster"): (1, 1)})

    services.cluster_delete(user=user, workspace=workspace, name="cpu-cluster")

    assert not Cluster.objects.exists()
    assert UsageRecord.objects.count() == 2  # the ledger keeps its history


def test_a_cluster_of_another_workspace_is_not_found(user, workspace, django_user_model):
    eve = django_user_model.objects.create_user(username="eve", password="pw-eve-123")
    other = services.workspace_ensure(subscription_name="sub-2", workspace_name="ws-2", admin=eve)
    services.cluster_create(user=eve, workspace=other, name="secret-cluster", size="Standard_DS3_v2")

    for lookup in (selectors.cluster_get, functools.partial(services.cluster_delete, user=user)):
        with pytest.raises(NotFound, match="compute 'secret-cluster' was not found in workspace 'ws-1'"):
            lookup(workspace=workspace, name="secret-cluster")
    assert selectors.cluster_list(workspace=workspace) == []
    assert Cluster.objects.filter(name="secret-cluster").exists()


def test_a_job_on_a_cluster_blocks_its_deletion_until_it_ends(user, workspace, data_dir):
    services.cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_D2s_v3")
    job = submit(user, workspace, compute="cpu-cluster")
    assert job.status == "Provisioning"
    assert selectors.cluster_get(workspace=workspace, name="cpu-cluster").busy_nodes == 1

    with pytest.raises(Conflict, match="1 job waiting or running"):
        services.cluster_delete(user=user, workspace=workspace, name="cpu-cluster")
    finish(job)
    services.cluster_delete(user=user, workspace=workspace, name="cpu-cluster")
    assert not Cluster.objects.exists()


@pytest.mark.parametrize("role", ["contributor", "reader"])
def test_only_owners_create_and_delete_clusters(user, workspace, cluster, make_user, role):
    from studio.errors import Forbidden

    someone = make_user("someone", member_of=[workspace], role=role)
    with pytest.raises(Forbidden, match=f"^only owners of workspace 'ws-1' can delete clusters; you are a {role}$"):
        services.cluster_delete(user=someone, workspace=workspace, name="cpu-cluster")
    with pytest.raises(Forbidden, match=f"^only owners of workspace 'ws-1' can create clusters; you are a {role}$"):
        services.cluster_create(user=someone, workspace=workspace, name="gpu-cluster", size="Standard_DS3_v2")
    assert sorted(Cluster.objects.values_list("name", flat=True)) == ["cpu-cluster"]
    owner = make_user("olga", member_of=[workspace], role="owner")
    services.cluster_delete(user=owner, workspace=workspace, name="cpu-cluster")
    assert not Cluster.objects.exists()
