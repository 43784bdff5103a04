"""Job names are unique per workspace, as on Azure ML: another workspace's job of the same name
neither blocks a submission nor shows through any answer (no 409, no 403 instead of 404), and two
jobs of one name keep their files apart."""

from __future__ import annotations

import pytest

from jobs import storage
from jobs.models import Job
from quotas.services import workspace_ensure
from tests.conftest import api_client_for
from tests.jobs.helpers import with_environment

pytestmark = pytest.mark.django_db

SPEC = "command: echo hi\n"


def submit(client, name: str, **query):
    url = "/api/v1/jobs" + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    return client.post(url, {"spec": with_environment(SPEC), "name": name, **query}, format="json")


def without_names(body: dict, *names: str) -> str:
    text = str(body)
    for name in names:
        text = text.replace(name, "<name>")
    return text


def test_another_workspaces_job_name_is_free_and_the_answers_are_those_for_a_new_name(
        api, outsider, outsider_workspace, data_dir):
    assert submit(api, "train-1").status_code == 201  # ada, in ws-1
    bob = api_client_for(outsider)

    taken, fresh = submit(bob, "train-1"), submit(bob, "never-used")
    assert (taken.status_code, fresh.status_code) == (201, 201), (taken.json(), fresh.json())
    assert Job.objects.filter(name="train-1").count() == 2

    # Asking for one of ada's names that bob has not used is asked about a name that nobody has.
    assert submit(api, "adas-only").status_code == 201
    for path in ("", "/logs", "/outputs", "/metrics", "/download"):
        hers, nobodys = bob.get(f"/api/v1/jobs/adas-only{path}"), bob.get(f"/api/v1/jobs/no-such-job{path}")
        assert hers.status_code == nobodys.status_code == 404
        assert without_names(hers.json(), "adas-only") == without_names(nobodys.json(), "no-such-job")
    hers, nobodys = bob.post("/api/v1/jobs/adas-only/cancel"), bob.post("/api/v1/jobs/no-such-job/cancel")
    assert hers.status_code == nobodys.status_code == 404
    assert Job.objects.get(name="adas-only").status != "Canceled"


def test_a_name_is_taken_within_its_workspace(api, data_dir):
    assert submit(api, "train-1").status_code == 201
    again = submit(api, "train-1")
    assert again.status_code == 409
    assert again.json()["message"].startswith("name: a job named 'train-1' already exists in workspace 'ws-1'")
    assert Job.objects.filter(name="train-1").count() == 1


def test_two_jobs_of_one_name_keep_their_files_apart_and_workspace_says_which(api, user, workspace, data_dir):
    workspace_ensure(subscription_name="sub-1", workspace_name="ws-9", admin=user)
    first = submit(api, "same", workspace="ws-1").json()
    second = submit(api, "same", workspace="ws-9").json()
    assert (first["workspace"], second["workspace"]) == ("ws-1", "ws-9")
    jobs = {job.workspace.name: job for job in Job.objects.filter(name="same").select_related("workspace")}
    assert jobs["ws-1"].files != jobs["ws-9"].files
    assert storage.artifacts_dir(jobs["ws-1"].files) != storage.artifacts_dir(jobs["ws-9"].files)
    for name in ("ws-1", "ws-9"):
        shown = api.get("/api/v1/jobs/same", {"workspace": name})
        assert shown.status_code == 200 and shown.json()["workspace"] == name
    assert api.get("/api/v1/jobs/same", {"workspace": "ws-2"}).status_code == 404


def test_the_wizard_checks_the_name_in_its_own_workspace_only(client, user, workspace, outsider, outsider_workspace,
                                                               data_dir):
    from jobs import services
    from jobs.specs import load_command_job

    services.job_submit(user=outsider, workspace=outsider_workspace,
                        spec=load_command_job(with_environment("name: bobs-name\n" + SPEC)))
    client.force_login(user)
    run = client.get("/submit/")["Location"].split("/")[2]
    saved = client.post(f"/submit/{run}/basics/", {"name": "bobs-name", "display_name": "", "experiment_name": "",
                                                   "description": "", "tags": ""})
    assert saved.status_code == 302, saved.content.decode()[:1000]  # accepted: bob's job is not in ws-1
