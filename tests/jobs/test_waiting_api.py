"""Why a job waits, through the API: a reason code beside the sentence, its position, and a start
estimate that is a range built from what is known (or says there is none, and why)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils.dateparse import parse_datetime

from jobs import services
from jobs.lifecycle import Status
from jobs.models import Job, Node
from jobs.scheduling.service import schedule_cycle
from tests.jobs.helpers import with_environment

pytestmark = pytest.mark.django_db

D2 = "resources:\n  instance_type: Standard_D2s_v3\n"


def start(name):
    """What a worker reports: it claimed the job's node and its command runs."""
    node = Node.objects.get(job__name=name)
    services.node_claim(node_id=node.id, worker="w")
    services.node_phase(node_id=node.id, status=Status.RUNNING)


def post(api, text):
    response = api.post("/api/v1/jobs", data=with_environment(text), content_type="application/yaml")
    assert response.status_code == 201, response.json()
    schedule_cycle()
    return api.get(f"/api/v1/jobs/{response.json()['name']}").json()


def test_it_bounds_the_start_by_the_time_limit_of_the_jobs_it_waits_for(api, data_dir, set_quota):
    """The issue's scenario: behind two running 60-second jobs, the estimate is a range whose latest
    end is their time limit — never "any moment now" while they still run."""
    set_quota("standardDSv3Family", 4)
    blockers = [post(api, f"name: blocker-{i}\ncommand: sleep 60\nlimits:\n  timeout: 60\n{D2}") for i in range(2)]
    for blocker in blockers:
        start(blocker["name"])
    waiting = post(api, f"name: third\ncommand: echo hi\n{D2}")["waiting"]
    ends = sorted(Job.objects.get(name=b["name"]).started_at + timedelta(seconds=60) for b in blockers)
    assert waiting["code"] == "QuotaBusy" and waiting["position"] == 1
    assert parse_datetime(waiting["estimated_start"]["latest"]) == ends[0]  # one of them must end by then
    assert parse_datetime(waiting["estimated_start"]["earliest"]) <= ends[0]
    assert "time limit" in waiting["basis"]
    assert "any moment" not in waiting["message"] and "about 0 s" not in waiting["message"]
    assert waiting["message"].startswith(waiting["reason"])
    assert api.get("/api/v1/jobs", {"waiting": "QuotaBusy"}).json()["results"][0]["name"] == "third"


def test_it_says_there_is_no_estimate_and_why(api, data_dir, set_quota):
    set_quota("standardDSv3Family", 4)
    for i in range(2):
        post(api, f"name: blocker-{i}\ncommand: sleep 600\n{D2}")
    waiting = post(api, f"name: third\ncommand: echo hi\n{D2}")["waiting"]
    assert waiting["estimated_start"] is None
    assert waiting["basis"] == "no estimate: the 2 running jobs it waits for have no time limit and no history"
    assert waiting["basis"] in waiting["message"]


def test_it_uses_recent_runs_of_the_same_experiment(api, data_dir, set_quota):
    set_quota("standardDSv3Family", 2)
    done = post(api, f"name: earlier\nexperiment_name: tuning\ncommand: echo hi\n{D2}")
    earlier = Job.objects.get(name=done["name"])
    Job.objects.filter(id=earlier.id).update(status="Completed", started_at=earlier.admitted_at,
                                              ended_at=earlier.admitted_at + timedelta(seconds=90))
    post(api, f"name: running\nexperiment_name: tuning\ncommand: sleep 600\n{D2}")
    waiting = post(api, f"name: next\nexperiment_name: tuning\ncommand: echo hi\n{D2}")["waiting"]
    assert waiting["estimated_start"] is not None
    assert "experiment 'tuning'" in waiting["basis"]


def test_it_shows_no_waiting_object_for_a_job_that_runs(api, data_dir):
    assert post(api, "name: runs\ncommand: echo hi\n")["waiting"] is None


def test_it_explains_a_refusal_with_a_code_and_changes_nothing(api, data_dir, set_quota):
    set_quota("standardNCASv3_T4Family", 0)
    response = api.post("/api/v1/jobs", data=with_environment(
        "command: nvidia-smi\nresources:\n  instance_type: Standard_NC4as_T4_v3\n"), content_type="application/yaml")
    assert response.status_code == 400
    body = response.json()
    assert body["extra"]["code"] == "NoQuotaForSize" and body["extra"]["recommendations"]
    assert not Job.objects.exists()


def test_it_explains_a_wait_without_submitting(api, data_dir, set_quota):
    set_quota("standardDSv3Family", 2)
    post(api, f"name: blocker\ncommand: sleep 60\nlimits:\n  timeout: 60\n{D2}")
    answer = api.post("/api/v1/jobs/explain", {"spec": with_environment(f"command: echo hi\n{D2}")},
                      format="json").json()
    assert (answer["decision"], answer["code"], answer["position"]) == ("wait", "QuotaBusy", 1)
    assert answer["estimated_start"]["latest"] is not None and "time limit" in answer["basis"]
    assert Job.objects.count() == 1
