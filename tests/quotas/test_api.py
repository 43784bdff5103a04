"""Quota, usage, VM size and compute endpoints through DRF's client (the compute API lives in quotas/api)."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from jobs.scheduling.service import schedule_cycle
from tests.jobs.helpers import ENVIRONMENT

pytestmark = pytest.mark.django_db


def family(body, family_id):
    return next(f for f in body["families"] if f["family"] == family_id)


def test_it_lists_and_sets_quotas(api):
    body = api.get("/api/v1/quotas").json()
    assert body["workspace"] == "ws-1"
    assert body["spot"] == {"limit": 20, "in_use": 0, "queued_vcpus": 0, "queued_jobs": 0}
    assert set(family(body, "standardDSv3Family")) == {
        "family", "display_name", "subscription_limit", "workspace_limit", "subscription_in_use", "workspace_in_use",
        "queued_vcpus", "queued_jobs"}
    assert family(body, "standardDSv3Family")["subscription_limit"] == 20
    body = api.post("/api/v1/quotas", {"family": "standardDSv3Family", "limit": 8, "workspace": "ws-1"},
                    format="json").json()
    assert family(body, "standardDSv3Family")["workspace_limit"] == 8
    body = api.post("/api/v1/quotas/spot", {"limit": 4}, format="json").json()
    assert body["spot"]["limit"] == 4


def test_it_explains_bad_quota_input(api):
    response = api.post("/api/v1/quotas", {"family": "standardDSv3Family", "limit": -2}, format="json")
    assert response.status_code == 400 and response.json()["message"].startswith("limit:")
    response = api.post("/api/v1/quotas", {"family": "standardDSv3Family", "limit": 99, "workspace": "ws-1"},
                        format="json")
    assert response.status_code == 400 and "cannot exceed the subscription's quota" in response.json()["message"]


def test_it_refuses_quota_changes_from_non_admins(api, workspace, django_user_model):
    from quotas.models import WorkspaceMember

    bob = django_user_model.objects.create_user(username="bob", password="pw-bob-123")
    WorkspaceMember.objects.create(workspace=workspace, user=bob)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=bob).key}")
    response = client.post("/api/v1/quotas", {"family": "cores", "limit": 500}, format="json")
    assert response.status_code == 403 and "only admins" in response.json()["message"]


def test_it_lists_serverless_usage_beside_clusters(api, data_dir):
    api.post("/api/v1/computes", {"name": "cpu-cluster", "size": "Standard_DS3_v2", "max_instances": 2},
             format="json")
    created = api.post("/api/v1/jobs", data=ENVIRONMENT + "command: hostname\n", content_type="application/yaml")
    assert created.status_code == 201
    schedule_cycle()
    rows = {r["compute"]: r for r in api.get("/api/v1/usage").json()}
    assert set(rows) == {"Serverless", "cpu-cluster"}
    assert rows["Serverless"]["nodes_in_use"] == 1 and rows["Serverless"]["running_jobs"] == 1
    assert rows["Serverless"]["vcpus_in_use"] == {"standardDASv4Family": 2}
    assert rows["cpu-cluster"]["kind"] == "cluster"
    assert api.get("/api/v1/usage", {"since": "not-a-date"}).status_code == 400


def test_it_lists_vm_sizes_with_free_quota_and_how_many_nodes_fit(api, user, workspace, data_dir):
    sizes = {s["name"]: s for s in api.get("/api/v1/vm-sizes").json()}
    assert len(sizes) == 70
    fits = {name: (sizes[name]["quota_available"], sizes[name]["instances_fit"])
            for name in ("Standard_D2s_v3", "Standard_D4s_v3", "Standard_D32s_v3", "Standard_D64s_v3",
                         "Standard_NC4as_T4_v3")}
    assert fits == {"Standard_D2s_v3": (20, 10), "Standard_D4s_v3": (20, 5), "Standard_D32s_v3": (20, 0),
                    "Standard_D64s_v3": (20, 0), "Standard_NC4as_T4_v3": (0, 0)}

    # A running job takes 8 DSv3 vCPUs; a workspace cap of 10 then leaves 2 free here.
    job = ENVIRONMENT + "command: sleep 1\nresources:\n  instance_type: Standard_D4s_v3\n  instance_count: 2\n"
    assert api.post("/api/v1/jobs", data=job, content_type="application/yaml").status_code == 201
    schedule_cycle()
    sizes = {s["name"]: s for s in api.get("/api/v1/vm-sizes").json()}
    assert (sizes["Standard_D4s_v3"]["quota_available"], sizes["Standard_D4s_v3"]["instances_fit"]) == (12, 3)
    api.post("/api/v1/quotas", {"family": "standardDSv3Family", "limit": 10, "workspace": "ws-1"}, format="json")
    sizes = {s["name"]: s for s in api.get("/api/v1/vm-sizes").json()}
    assert (sizes["Standard_D2s_v3"]["quota_available"], sizes["Standard_D2s_v3"]["instances_fit"]) == (2, 1)
    assert sizes["Standard_D4s_v3"]["instances_fit"] == 0


def test_it_creates_shows_and_deletes_computes(api):
    response = api.post("/api/v1/computes", {"name": "cpu-cluster", "size": "Standard_DS3_v2", "min_instances": 0,
                                             "max_instances": 4, "idle_time_before_scale_down": 300}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["state"] == "steady" and response.json()["idle_time_before_scale_down"] == 300
    assert [c["name"] for c in api.get("/api/v1/computes").json()] == ["cpu-cluster"]
    assert api.get("/api/v1/computes/cpu-cluster").json()["size"] == "Standard_DS3_v2"
    assert api.post("/api/v1/computes", {"name": "cpu-cluster", "size": "Standard_DS3_v2"},
                    format="json").status_code == 409
    assert api.delete("/api/v1/computes/cpu-cluster").status_code == 204
    assert api.get("/api/v1/computes/cpu-cluster").status_code == 404


def test_the_compute_json_keeps_its_fields_and_counts_busy_nodes(api, data_dir):
    api.post("/api/v1/computes", {"name": "cpu-cluster", "size": "Standard_D2s_v3", "max_instances": 2},
             format="json")
    text = ENVIRONMENT + "command: sleep 1\ncompute: azureml:cpu-cluster\n"
    assert api.post("/api/v1/jobs", data=text, content_type="application/yaml").status_code == 201
    schedule_cycle()

    body = api.get("/api/v1/computes/cpu-cluster").json()

    assert set(body) == {"name", "type", "size", "min_instances", "max_instances", "idle_time_before_scale_down",
                         "allocated_nodes", "busy_nodes", "state", "idle_since", "scaling_down_until", "created_at"}
    assert (body["type"], body["allocated_nodes"], body["busy_nodes"], body["state"]) == ("amlcompute", 1, 1, "busy")
    refused = api.delete("/api/v1/computes/cpu-cluster")
    assert refused.status_code == 409
    assert refused.json()["message"] == ("compute 'cpu-cluster' has 1 job waiting or running; cancel them or wait "
                                         "for them to end first")
    assert api.get("/api/v1/computes", {"workspace": "nope"}).status_code == 404


def test_it_refuses_a_job_that_cannot_fit_with_the_recommendation(api, data_dir):
    text = ENVIRONMENT + "command: x\nresources:\n  instance_type: Standard_D4s_v3\n  instance_count: 6\n"
    response = api.post("/api/v1/jobs", data=text, content_type="application/yaml")
    assert response.status_code == 400
    body = response.json()
    assert body["message"].startswith("at most 5 instances of Standard_D4s_v3")
    assert body["extra"]["recommendations"][0] == "reduce `resources.instance_count` to 5"


def test_it_evicts_spot_jobs_for_admins(api, data_dir):
    text = ENVIRONMENT + "command: sleep 1\nqueue_settings:\n  job_tier: Spot\n"
    name = api.post("/api/v1/jobs", data=text, content_type="application/yaml").json()["name"]
    schedule_cycle()
    response = api.post(f"/api/v1/jobs/{name}/evict")
    assert response.status_code == 200, response.json()
    dedicated = api.post("/api/v1/jobs", data=ENVIRONMENT + "command: x\n", content_type="application/yaml").json()
    schedule_cycle()
    response = api.post(f"/api/v1/jobs/{dedicated['name']}/evict")
    assert response.status_code == 409 and "only Spot jobs" in response.json()["message"]
