"""The Compute page: Serverless first, the named clusters, create and delete."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Job
from jobs.scheduling.service import schedule_cycle
from jobs.services import job_submit
from jobs.specs import load_command_job
from quotas import services as quota_services
from quotas.models import Cluster
from tests.jobs.helpers import with_environment
from tests.pages.test_quota_pages import cells, text

pytestmark = pytest.mark.django_db

URL = "/compute/"
CREATE = "/compute/create/"
VALID = {"name": "cpu-cluster", "size": "Standard_DS3_v2", "min_instances": "0", "max_instances": "2",
         "idle_seconds": "300"}


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def submit(user, workspace, extra: str = ""):
    spec = load_command_job(with_environment("command: sleep 1\n" + extra))
    job = job_submit(user=user, workspace=workspace, spec=spec)
    schedule_cycle()
    job.refresh_from_db()
    return job


def test_it_lists_serverless_first_with_the_jobs_usage(signed_in, user, workspace, data_dir):
    quota_services.cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_DS3_v2",
                                  max_instances=2, idle_seconds=300)
    submit(user, workspace)

    response = signed_in.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    card = text(re.search(r'id="serverless">.*?</section>', html, re.S).group(0))
    assert "No cluster to create: nodes start per job from your quota" in card
    assert "1 node in use 2 vCPUs in use 1 running job" in card
    assert "standardDASv4Family 2 vCPUs" in card
    assert 'href="/quota/"' in re.search(r'id="serverless">.*?</section>', html, re.S).group(0)
    rows = re.findall(r'<tr class="[^"]*" id="cluster-([^"]+)"|<tr id="cluster-([^"]+)"', html)
    assert [a or b for a, b in rows] == ["serverless", "cpu-cluster"]
    name, size, min_max, allocated, busy, state, idle, _ = cells(html, 'id="cluster-cpu-cluster"')
    assert (name, min_max, allocated, busy) == ("cpu-cluster", "0 – 2", "0", "0")
    assert size == "Standard_DS3_v2 4 vCPUs · $0.293/h"
    assert (state, idle) == ("Steady no nodes", "5 min idle")
    assert re.search(r'<a href="/compute/" class="active">Compute</a>', html)


def test_the_vm_size_select_says_how_many_nodes_the_free_quota_holds(signed_in, workspace):
    html = signed_in.get(URL).content.decode()
    assert ('<option value="Standard_DS3_v2" selected>Standard_DS3_v2 · 4 vCPUs · 14 GiB · $0.293/h · '
            "quota fits 5 nodes</option>") in html
    assert re.search(r'<option value="Standard_D32s_v3">Standard_D32s_v3 · 32 vCPUs · 128 GiB · \$[\d.]+/h · '
                     r"does not fit \(needs 32 vCPUs, 20 free\)</option>", html)
    assert re.search(r'<option value="Standard_D2s_v3">[^<]* · quota fits 10 nodes</option>', html)
    assert '<optgroup label="GPU for training">' in html
    select = re.search(r'<select id="id_size".*?</select>', html, re.S).group(0)
    assert len(re.findall(r"<option value=", select)) == 70


def test_it_creates_a_cluster(signed_in, user, workspace):
    response = signed_in.post(CREATE, VALID, follow=True)

    assert response.redirect_chain == [("/compute/#cluster-cpu-cluster", 302)]
    cluster = Cluster.objects.get(workspace=workspace, name="cpu-cluster")
    assert (cluster.size_id, cluster.min_instances, cluster.max_instances, cluster.idle_seconds) == (
        "Standard_DS3_v2", 0, 2, 300)
    assert cluster.created_by == user
    assert "Created compute cluster &#x27;cpu-cluster&#x27; (Standard_DS3_v2, 0–2 nodes)." in response.content.decode()


@pytest.mark.parametrize("changes, field, message", [
    ({"name": "-bad"}, "name", "name: &#x27;-bad&#x27; is not a valid compute name"),
    ({"name": "serverless"}, "name", "name: &#x27;serverless&#x27; is reserved for serverless compute"),
    ({"size": "Standard_DS3_v9"}, "size", "size: unknown VM size &#x27;Standard_DS3_v9&#x27;; did you mean"),
    ({"min_instances": "3", "max_instances": "2"}, "min_instances", "min_instances: 3 is more than max_instances (2)"),
    ({"max_instances": "0"}, "max_instances", "max_instances: a cluster needs at least 1 node"),
    ({"min_instances": "two"}, "min_instances", "min_instances: must be a whole number, 0 or more"),
    ({"idle_seconds": "-5"}, "idle_seconds", "idle_time_before_scale_down: must be a whole number, 0 or more"),
])
def test_create_errors_are_shown_inline_and_create_nothing(signed_in, workspace, changes, field, message):
    response = signed_in.post(CREATE, {**VALID, **changes})

    assert response.status_code == 400
    html = response.content.decode()
    error = re.search(rf'<div class="field-error" id="error-{field}" role="alert">(.*?)</div>', html, re.S)
    assert error and message in error.group(1)
    assert f'aria-describedby="error-{field}"' in html
    for key, value in {**VALID, **changes}.items():  # what was typed is kept
        if key == "size" and "v9" in value:
            continue
        assert f'value="{value}"' in html
    assert not Cluster.objects.exists()


def test_a_second_cluster_with_the_same_name_is_a_conflict(signed_in, workspace):
    signed_in.post(CREATE, VALID)
    response = signed_in.post(CREATE, {**VALID, "name": "CPU-cluster"})
    assert response.status_code == 409
    assert "name: a compute named &#x27;CPU-cluster&#x27; already exists in workspace &#x27;ws-1&#x27;" in \
        response.content.decode()
    assert Cluster.objects.count() == 1


def test_it_deletes_a_cluster_after_confirmation(signed_in, user, workspace):
    quota_services.cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_DS3_v2")
    list_html = signed_in.get(URL).content.decode()
    assert 'href="/compute/cpu-cluster/delete/"' in list_html

    confirm = signed_in.get("/compute/cpu-cluster/delete/")
    assert confirm.status_code == 200
    assert '<form method="post" action="/compute/cpu-cluster/delete/"' in confirm.content.decode()
    assert Cluster.objects.exists()  # asking deletes nothing

    response = signed_in.post("/compute/cpu-cluster/delete/", follow=True)
    assert response.redirect_chain == [("/compute/", 302)]
    assert "Deleted compute cluster &#x27;cpu-cluster&#x27;." in response.content.decode()
    assert not Cluster.objects.exists()
    assert signed_in.post("/compute/cpu-cluster/delete/").status_code == 404


def test_it_refuses_to_delete_a_cluster_that_jobs_use(signed_in, user, workspace, data_dir):
    quota_services.cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_DS3_v2",
                                  max_instances=1)
    job = submit(user, workspace, "compute: azureml:cpu-cluster\n")
    assert job.compute == "cpu-cluster" and job.status == "Provisioning"
    row = cells(signed_in.get(URL).content.decode(), 'id="cluster-cpu-cluster"')
    assert (row[3], row[4], row[5]) == ("1", "1", "Busy")

    confirm = signed_in.get("/compute/cpu-cluster/delete/").content.decode()
    assert '<p class="notice warn" role="status">1 node busy: it can be deleted once they have ended.</p>' in confirm

    response = signed_in.post("/compute/cpu-cluster/delete/")

    assert response.status_code == 409
    assert ("Compute &#x27;cpu-cluster&#x27; has 1 job waiting or running; cancel them or wait for them to end "
            "first.") in response.content.decode()
    assert Cluster.objects.filter(name="cpu-cluster").exists()
    assert Job.objects.get(id=job.id).status == "Provisioning"


def test_it_shows_the_jobs_waiting_for_a_cluster_linked_to_them(signed_in, user, workspace):
    quota_services.cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_DS3_v2")
    quota_services.queued_demand_replace(demand={("cluster", "ws-1", "cpu-cluster"): (3, 2)})

    html = signed_in.get(URL).content.decode()

    state = re.search(r'<tr id="cluster-cpu-cluster".*?</tr>', html, re.S).group(0)
    assert '<a class="queued-demand" href="/jobs/?compute=cpu-cluster&amp;waiting=any">2 jobs waiting for 3 nodes</a>' \
        in state
    assert cells(html, 'id="cluster-cpu-cluster"')[5] == "Steady no nodes 2 jobs waiting for 3 nodes"

    confirm = signed_in.get("/compute/cpu-cluster/delete/").content.decode()
    assert "2 jobs waiting for it: it can be deleted once they have ended." in confirm
    assert signed_in.post("/compute/cpu-cluster/delete/").status_code == 409
    assert Cluster.objects.filter(name="cpu-cluster").exists()


def test_it_shows_a_cluster_scaling_down_until_when(signed_in, user, workspace):
    cluster = quota_services.cluster_create(user=user, workspace=workspace, name="cpu-cluster",
                                            size="Standard_DS3_v2", max_instances=2)
    until = timezone.now() + timedelta(seconds=45)
    quota_services.cluster_scale(cluster_id=cluster.id, allocated=1, scaling_down_until=until)
    state = cells(signed_in.get(URL).content.decode(), 'id="cluster-cpu-cluster"')[5]
    assert state == f"Scaling down until {until:%H:%M:%S} UTC"

    quota_services.cluster_scale(cluster_id=cluster.id, allocated=1, scaling_down_until=None,
                                 idle_since=timezone.now() - timedelta(seconds=200))
    state = cells(signed_in.get(URL).content.decode(), 'id="cluster-cpu-cluster"')[5]
    assert state == "Idle for 3 min 20 s"


def test_the_page_makes_a_bounded_number_of_queries(signed_in, user, workspace, data_dir,
                                                    django_assert_max_num_queries):
    quota_services.cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_DS3_v2",
                                  max_instances=4)
    submit(user, workspace, "compute: azureml:cpu-cluster\n")
    signed_in.get(URL)
    # 18: the page asks once for the user's role (create and delete are for owners)
    with django_assert_max_num_queries(18) as few:
        assert signed_in.get(URL).status_code == 200
    for _ in range(30):
        submit(user, workspace)
    Job.objects.bulk_create([Job(name=f"done-{i}", workspace=workspace, submitted_by=user, spec={},
                                 status="Completed", compute="cpu-cluster") for i in range(300)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert signed_in.get(URL).status_code == 200


def test_another_workspaces_clusters_never_show(signed_in, user, workspace, django_user_model):
    eve = django_user_model.objects.create_user(username="eve", password="pw-eve-123")
    other = quota_services.workspace_ensure(subscription_name="sub-2", workspace_name="ws-2", admin=eve)
    quota_services.cluster_create(user=eve, workspace=other, name="secret-cluster", size="Standard_DS3_v2")

    for params in ({}, {"workspace": "ws-2"}):
        assert "secret-cluster" not in signed_in.get(URL, params).content.decode()
    assert signed_in.get("/compute/secret-cluster/delete/").status_code == 404
    assert signed_in.post("/compute/secret-cluster/delete/").status_code == 404
    assert Cluster.objects.filter(name="secret-cluster").exists()
    # A cluster created from ws-1's page belongs to ws-1, even when it has the same name.
    signed_in.post(CREATE, {**VALID, "name": "secret-cluster"})
    assert Cluster.objects.filter(name="secret-cluster", workspace=workspace).exists()


def test_pages_need_a_signed_in_user(client, workspace):
    for url in (URL, "/compute/x/delete/"):
        assert client.get(url)["Location"].startswith("/accounts/login/")
    assert client.post(CREATE, VALID)["Location"].startswith("/accounts/login/")
    assert not Cluster.objects.exists()
