"""The REST API through DRF's client: submit, list, show, cancel, logs, outputs, errors."""

from __future__ import annotations

import io
import tarfile

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from jobs import services
from jobs.lifecycle import Status
from jobs.models import Job, Node
from jobs.scheduling.service import schedule_cycle
from quotas.services import workspace_ensure
from tests.jobs.helpers import ENVIRONMENT, tar_gz, with_environment

pytestmark = pytest.mark.django_db

HELLO = "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\ncommand: echo hello\n"


def post_yaml(api, text, **params):
    return api.post("/api/v1/jobs", data=with_environment(text), content_type="application/yaml", QUERY_STRING="", **params)


def test_it_submits_a_yaml_body(api, data_dir):
    response = post_yaml(api, HELLO)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["compute"] == "serverless" and body["type"] == "command"
    assert Job.objects.filter(name=body["name"]).exists()


def test_it_submits_json_with_overrides(api, data_dir):
    response = api.post("/api/v1/jobs", {"spec": {"command": "echo hi", "environment": "azureml:env@latest"}, "set": ["name=from-json",
                        "resources.instance_count=2"]}, format="json")
    assert response.status_code == 201, response.json()
    job = Job.objects.get(name="from-json")
    assert job.instance_count == 2


def test_it_submits_multipart_with_code(api, data_dir):
    response = api.post("/api/v1/jobs", {"spec": ENVIRONMENT + "code: src\ncommand: python train.py\n", "name": "with-code",
                                         "code": tar_gz({"train.py": "print(1)\n"})}, format="multipart")
    assert response.status_code == 201, response.json()
    assert (data_dir / "snapshots" / Job.objects.get(name="with-code").files / "code/train.py").read_text() == "print(1)\n"


@pytest.mark.parametrize("text,field,words", [
    ("command: [unclosed\n", "", "line"),
    ("comand: echo hi\n", "comand", "command"),
    ("command: echo ${{inputs.missing}}\n", "command", "missing"),
    ("command: echo hi\nresources:\n  instance_count: two\n", "resources.instance_count", "integer"),
    ("description: no command\n", "command", "required"),
])
def test_it_explains_bad_job_files_and_creates_nothing(api, data_dir, text, field, words):
    response = post_yaml(api, text)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"message", "extra"}
    assert words in body["message"]
    paths = [e["path"] for e in body["extra"]["errors"]]
    assert field in paths
    assert all("line" in e and "column" in e for e in body["extra"]["errors"])
    assert not Job.objects.exists()


def test_it_refuses_an_alias_bomb_before_expanding_it(api, data_dir):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{','.join(['*' + prev] * 9)}]")
    lines.append("command: echo ${{inputs.x}}")
    response = post_yaml(api, "\n".join(lines) + "\n")
    assert response.status_code == 400
    # refused by counting what the aliases would expand to (10^9 values), not by expanding them
    assert "more than 10,000 values" in response.json()["message"]
    assert not Job.objects.exists()


def test_it_refuses_a_huge_payload(api, data_dir, settings):
    text = "command: echo hi\ndescription: " + "x" * (settings.STUDIO_SPEC_MAX_BYTES + 10) + "\n"
    response = post_yaml(api, text)
    assert response.status_code in (400, 413)
    assert "message" in response.json()
    assert not Job.objects.exists()


def test_it_needs_a_token(data_dir):
    response = APIClient().get("/api/v1/jobs")
    assert response.status_code == 401
    assert "message" in response.json()


def test_it_lists_with_filters_and_pages(api, user, workspace, data_dir):
    for i in range(3):
        post_yaml(api, f"name: job-{i}\nexperiment_name: exp-{i % 2}\ncommand: echo {i}\n")
    body = api.get("/api/v1/jobs", {"experiment": "exp-0"}).json()
    assert sorted(j["name"] for j in body["results"]) == ["job-0", "job-2"]
    page = api.get("/api/v1/jobs", {"page_size": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert [j["name"] for j in api.get("/api/v1/jobs", {"search": "job-1"}).json()["results"]] == ["job-1"]


def test_it_lists_in_a_bounded_number_of_queries(api, data_dir, django_assert_max_num_queries):
    for i in range(20):
        post_yaml(api, f"command: echo {i}\n")
    with django_assert_max_num_queries(6):
        assert len(api.get("/api/v1/jobs").json()["results"]) == 20


def test_it_hides_other_workspaces(api, data_dir, django_user_model):
    name = post_yaml(api, HELLO).json()["name"]
    other = django_user_model.objects.create_user(username="eve", password="pw-eve-123")
    workspace_ensure(subscription_name="sub-2", workspace_name="ws-2", admin=other)
    eve = APIClient()
    eve.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=other).key}")
    assert eve.get("/api/v1/jobs").json()["count"] == 0
    assert eve.get(f"/api/v1/jobs/{name}").status_code == 404
    assert eve.post(f"/api/v1/jobs/{name}/cancel").status_code == 404
    assert eve.get(f"/api/v1/jobs/{name}/logs").status_code == 404


def test_it_shows_a_job_with_nodes_and_events(api, data_dir):
    name = post_yaml(api, HELLO).json()["name"]
    schedule_cycle()
    body = api.get(f"/api/v1/jobs/{name}").json()
    assert body["status"] == Status.PROVISIONING
    assert [n["index"] for n in body["nodes"]] == [0]
    assert body["events"][0]["message"].startswith("submitted by ada")
    assert body["spec"]["command"] == "echo hello"


def test_it_cancels(api, data_dir):
    name = post_yaml(api, HELLO).json()["name"]
    response = api.post(f"/api/v1/jobs/{name}/cancel")
    assert response.status_code == 200 and response.json()["status"] == Status.CANCELED
    again = api.post(f"/api/v1/jobs/{name}/cancel")
    assert again.status_code == 409 and "already ended" in again.json()["message"]


def test_it_serves_logs_from_an_offset(api, data_dir):
    name = post_yaml(api, HELLO).json()["name"]
    schedule_cycle()
    node = Node.objects.get(job__name=name)
    services.node_log_append(node_id=node.id, text="line one\nline two\n")
    body = api.get(f"/api/v1/jobs/{name}/logs", {"offset": 9}).json()
    assert (body["text"], body["next_offset"], body["finished"]) == ("line two\n", 18, False)
    assert api.get(f"/api/v1/jobs/{name}/logs", {"offset": "x"}).status_code == 400


def test_it_lists_and_downloads_outputs_but_nothing_outside(api, data_dir):
    name = post_yaml(api, HELLO).json()["name"]
    outputs = data_dir / "artifacts" / Job.objects.get(name=name).files / "outputs"
    outputs.mkdir(parents=True)
    (outputs / "model.txt").write_text("weights")
    (data_dir / "secret.txt").write_text("no")
    assert api.get(f"/api/v1/jobs/{name}/outputs").json() == [{"path": "outputs/model.txt", "size": 7}]
    response = api.get(f"/api/v1/jobs/{name}/outputs/outputs/model.txt")
    assert b"".join(response.streaming_content) == b"weights"
    assert api.get(f"/api/v1/jobs/{name}/outputs/../../secret.txt").status_code in (400, 404)
    archive = api.get(f"/api/v1/jobs/{name}/download")
    names = tarfile.open(fileobj=io.BytesIO(archive.content)).getnames()
    assert f"{name}/outputs/model.txt" in names


def test_it_explains_before_submitting(api, data_dir, set_quota):
    set_quota("standardDSv3Family", 4)
    body = api.post("/api/v1/jobs/explain", {"spec": ENVIRONMENT + "command: x\nresources:\n  instance_count: 4\n"
                                                     "  instance_type: Standard_D2s_v3\n"}, format="json").json()
    assert body["decision"] == "reject" and body["recommendations"]
    assert api.post("/api/v1/jobs/explain", {"spec": ENVIRONMENT + "command: x\n"}, format="json").json()["decision"] == "admit"


def test_it_serves_its_openapi_schema(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert "/api/v1/jobs" in response.json()["paths"]
