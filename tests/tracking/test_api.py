"""The MLflow tracking REST API through DRF's client: every endpoint, its errors, and who may call it."""

from __future__ import annotations

import math

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token

from jobs.lifecycle import Status
from jobs.models import LatestMetric, MetricPoint, RunParam, TrackingExperiment, TrackingRun
from jobs.tracking.services import tracking_token_issue
from tests.tracking.conftest import client_for

pytestmark = pytest.mark.django_db

M = "/api/2.0/mlflow"


def error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error_code"] == code, body
    return body["message"]


def run_of(client, run_id: str) -> dict:
    response = client.get(f"{M}/runs/get", {"run_id": run_id})
    assert response.status_code == 200, response.json()
    return response.json()["run"]


def as_dict(items: list[dict]) -> dict:
    return {item["key"]: item["value"] for item in items}


# --- logging to the job's own run -----------------------------------------------------------------


def test_it_logs_a_metric_a_param_and_a_tag_to_the_jobs_own_run(api, job, as_job):
    for step, loss in enumerate([0.9, 0.5, 0.25]):
        response = as_job.post(f"{M}/runs/log-metric", {"run_id": job.name, "key": "loss", "value": loss,
                                                        "timestamp": 1_700_000_000_000 + step, "step": step},
                               format="json")
        assert response.status_code == 200 and response.json() == {}
    assert as_job.post(f"{M}/runs/log-parameter", {"run_id": job.name, "key": "lr", "value": "0.01"},
                       format="json").status_code == 200
    assert as_job.post(f"{M}/runs/set-tag", {"run_uuid": job.name, "key": "stage", "value": "train"},
                       format="json").status_code == 200

    run = run_of(as_job, job.name)
    assert run["info"]["run_id"] == run["info"]["run_uuid"] == job.name
    assert run["info"]["status"] == "RUNNING" and run["info"]["lifecycle_stage"] == "active"
    assert run["info"]["artifact_uri"] == f"mlflow-artifacts:/{job.name}"
    assert run["data"]["metrics"] == [{"key": "loss", "value": 0.25, "timestamp": 1_700_000_000_002, "step": 2}]
    assert as_dict(run["data"]["params"]) == {"lr": "0.01"}
    assert as_dict(run["data"]["tags"])["stage"] == "train"

    body = api.get(f"/api/v1/jobs/{job.name}/metrics").json()
    assert body == {
        "metrics": {"loss": [{"step": 0, "value": 0.9, "timestamp": 1_700_000_000_000},
                             {"step": 1, "value": 0.5, "timestamp": 1_700_000_000_001},
                             {"step": 2, "value": 0.25, "timestamp": 1_700_000_000_002}]},
        "params": {"lr": "0.01"},
        "tags": {"stage": "train"},
    }
    assert api.get(f"/api/v1/jobs/{job.name}").json()["metrics"] == {"loss": 0.25}


def test_it_shows_metrics_only_to_members_of_the_jobs_workspace(job, as_job, django_user_model):
    outsider = django_user_model.objects.create_user(username="eve", password="pw-eve-123")
    client = client_for(Token.objects.create(user=outsider).key, "Token")
    assert client.get(f"/api/v1/jobs/{job.name}/metrics").status_code == 404
    error(client.get(f"{M}/runs/get", {"run_id": job.name}), 404, "RESOURCE_DOES_NOT_EXIST")


def test_it_keeps_the_latest_value_by_step_not_by_arrival(job, as_job, api):
    for step, value in [(5, 0.1), (2, 0.7)]:
        as_job.post(f"{M}/runs/log-metric", {"run_id": job.name, "key": "acc", "value": value, "timestamp": 10,
                                             "step": step}, format="json")
    assert api.get(f"/api/v1/jobs/{job.name}").json()["metrics"] == {"acc": 0.1}
    history = as_job.get(f"{M}/metrics/get-history", {"run_id": job.name, "metric_key": "acc"}).json()["metrics"]
    assert [(m["step"], m["value"]) for m in history] == [(2, 0.7), (5, 0.1)]


def test_it_keeps_nan_and_infinite_values(job, as_job, api):
    metrics = [{"key": "m", "value": v, "timestamp": 1, "step": i} for i, v in enumerate(["NaN", "Infinity", "-Infinity"])]
    assert as_job.post(f"{M}/runs/log-batch", {"run_id": job.name, "metrics": metrics}, format="json").status_code == 200
    history = as_job.get(f"{M}/metrics/get-history", {"run_id": job.name, "metric_key": "m"}).json()["metrics"]
    assert [m["value"] for m in history] == ["NaN", "Infinity", "-Infinity"]
    assert api.get(f"/api/v1/jobs/{job.name}").json()["metrics"] == {"m": "-Infinity"}


def test_it_never_changes_a_logged_param(job, as_job):
    url = f"{M}/runs/log-parameter"
    assert as_job.post(url, {"run_id": job.name, "key": "lr", "value": "0.1"}, format="json").status_code == 200
    assert as_job.post(url, {"run_id": job.name, "key": "lr", "value": "0.1"}, format="json").status_code == 200
    message = error(as_job.post(url, {"run_id": job.name, "key": "lr", "value": "0.2"}, format="json"),
                    400, "INVALID_PARAMETER_VALUE")
    assert "Changing param values is not allowed" in message and "'0.1'" in message
    batch = {"run_id": job.name, "params": [{"key": "lr", "value": "0.3"}],
             "metrics": [{"key": "loss", "value": 1.0, "timestamp": 1, "step": 0}]}
    error(as_job.post(f"{M}/runs/log-batch", batch, format="json"), 400, "INVALID_PARAMETER_VALUE")
    assert list(RunParam.objects.filter(job=job).values_list("key", "value")) == [("lr", "0.1")]
    assert not MetricPoint.objects.filter(job=job).exists()  # the whole batch was refused


def test_it_logs_a_batch_of_1000_metrics_in_a_handful_of_queries(job, as_job, django_assert_max_num_queries):
    metrics = [{"key": f"m{i % 10}", "value": i / 7, "timestamp": 1_700_000_000_000 + i, "step": i // 10}
               for i in range(990)]
    body = {"run_id": job.name, "metrics": metrics, "params": [{"key": f"p{i}", "value": str(i)} for i in range(5)],
            "tags": [{"key": f"t{i}", "value": "x"} for i in range(5)]}
    # A fixed handful, plus the INSERTs the database needs for 990 rows (SQLite takes ~140 rows per INSERT).
    fields = ["job", "run", "key", "value", "is_nan", "step", "timestamp"]
    inserts = math.ceil(990 / min(500, connection.ops.bulk_batch_size(fields, metrics)))
    with django_assert_max_num_queries(10 + inserts):
        response = as_job.post(f"{M}/runs/log-batch", body, format="json")
    assert response.status_code == 200, response.json()
    assert MetricPoint.objects.filter(job=job).count() == 990
    assert LatestMetric.objects.filter(job=job).count() == 10
    assert LatestMetric.objects.get(job=job, key="m3").step == 98
    assert RunParam.objects.filter(job=job).count() == 5


@pytest.mark.parametrize("body,words", [
    ({"metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": 0}] * 1001}, "at most 1000 metrics"),
    ({"params": [{"key": f"p{i}", "value": "1"} for i in range(101)]}, "at most 100 params"),
    ({"metrics": [{"key": "../up", "value": 1, "timestamp": 1, "step": 0}]}, "resolve"),
    ({"metrics": [{"key": "bad*name", "value": 1, "timestamp": 1, "step": 0}]}, "Names may only contain"),
    ({"metrics": [{"key": "m", "value": "high", "timestamp": 1, "step": 0}]}, "expected a number"),
    ({"metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": 1.5}]}, "expected an integer"),
    ({"params": [{"key": "p", "value": "1"}, {"key": "p", "value": "2"}]}, "Duplicate parameter keys"),
    ({"params": [{"key": "p", "value": "x" * 6001}]}, "maximum length"),
    ({"metrics": "loss=1"}, "expected a list"),
])
def test_it_refuses_bad_batches_and_writes_nothing(job, as_job, body, words):
    message = error(as_job.post(f"{M}/runs/log-batch", {"run_id": job.name, **body}, format="json"),
                    400, "INVALID_PARAMETER_VALUE")
    assert words in message
    assert not MetricPoint.objects.filter(job=job).exists() and not RunParam.objects.filter(job=job).exists()


def test_it_deletes_a_tag(job, as_job):
    as_job.post(f"{M}/runs/set-tag", {"run_id": job.name, "key": "stage", "value": "x"}, format="json")
    assert as_job.post(f"{M}/runs/delete-tag", {"run_id": job.name, "key": "stage"}, format="json").status_code == 200
    assert "stage" not in as_dict(run_of(as_job, job.name)["data"]["tags"])
    error(as_job.post(f"{M}/runs/delete-tag", {"run_id": job.name, "key": "stage"}, format="json"),
          404, "RESOURCE_DOES_NOT_EXIST")


def test_it_pages_through_a_metric_history(job, as_job):
    metrics = [{"key": "loss", "value": i, "timestamp": i, "step": i} for i in range(5)]
    as_job.post(f"{M}/runs/log-batch", {"run_id": job.name, "metrics": metrics}, format="json")
    first = as_job.get(f"{M}/metrics/get-history", {"run_id": job.name, "metric_key": "loss", "max_results": 3}).json()
    assert [m["step"] for m in first["metrics"]] == [0, 1, 2]
    second = as_job.get(f"{M}/metrics/get-history", {"run_id": job.name, "metric_key": "loss", "max_results": 3,
                                                     "page_token": first["next_page_token"]}).json()
    assert [m["step"] for m in second["metrics"]] == [3, 4] and "next_page_token" not in second
    assert as_job.get(f"{M}/metrics/get-history", {"run_id": job.name, "metric_key": "nope"}).json() == {"metrics": []}


def test_it_keeps_the_jobs_status_but_takes_a_new_run_name(job, as_job, api):
    response = as_job.post(f"{M}/runs/update", {"run_id": job.name, "status": "FINISHED", "end_time": 5,
                                                "run_name": "fine-tune"}, format="json")
    assert response.status_code == 200
    info = response.json()["run_info"]
    assert (info["status"], info["run_name"]) == ("RUNNING", "fine-tune")  # the job, not the script, ends the run
    assert api.get(f"/api/v1/jobs/{job.name}").json()["display_name"] == "fine-tune"
    error(as_job.post(f"{M}/runs/update", {"run_id": job.name, "status": "DONE"}, format="json"),
          400, "INVALID_PARAMETER_VALUE")


def test_it_accepts_dataset_and_model_records_without_keeping_them(job, as_job, make_job):
    response = as_job.post(f"{M}/runs/log-inputs", {"run_id": job.name, "datasets": [{"dataset": {"name": "d"}}]},
                           format="json")
    assert response.status_code == 200
    error(as_job.post(f"{M}/runs/log-inputs", {"run_id": make_job().name}, format="json"), 403, "PERMISSION_DENIED")


# --- who may call -------------------------------------------------------------------------------


def test_it_refuses_a_request_without_a_token(job, client):
    message = error(client.post(f"{M}/runs/log-metric", {"run_id": job.name, "key": "m", "value": 1},
                                content_type="application/json"), 401, "UNAUTHENTICATED")
    assert "credentials" in message
    assert not MetricPoint.objects.exists()


@pytest.mark.parametrize("token", [
    "train-1.0000000000000000000000000000000000000000000000000000000000000000",
    "no-such-job.0000000000000000000000000000000000000000000000000000000000000000",
    "0123456789abcdef0123456789abcdef01234567",  # shaped like a user's API token, but no such token
])
def test_it_refuses_a_bad_token(job, token):
    body = {"run_id": job.name, "key": "m", "value": 1, "timestamp": 1, "step": 0}
    error(client_for(token).post(f"{M}/runs/log-metric", body, format="json"), 401, "UNAUTHENTICATED")
    assert not MetricPoint.objects.exists()


def test_it_refuses_another_jobs_token(job, make_job):
    other = client_for(tracking_token_issue(job=make_job(name="someone-else")))
    body = {"run_id": job.name, "key": "m", "value": 1, "timestamp": 1, "step": 0}
    message = error(other.post(f"{M}/runs/log-metric", body, format="json"), 403, "PERMISSION_DENIED")
    assert "another job" in message and job.name in message
    error(other.get(f"{M}/runs/get", {"run_id": job.name}), 403, "PERMISSION_DENIED")
    error(other.put(f"/api/2.0/mlflow-artifacts/artifacts/{job.name}/x.txt", b"x",
                    content_type="text/plain"), 403, "PERMISSION_DENIED")
    assert not MetricPoint.objects.exists()


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.FAILED, Status.CANCELED])
def test_it_refuses_the_token_once_the_job_has_ended(job, as_job, status):
    body = {"run_id": job.name, "key": "m", "value": 1, "timestamp": 1, "step": 0}
    assert as_job.post(f"{M}/runs/log-metric", body, format="json").status_code == 200
    type(job).objects.filter(id=job.id).update(status=status)
    message = error(as_job.post(f"{M}/runs/log-metric", body, format="json"), 401, "UNAUTHENTICATED")
    assert f"has ended ({status})" in message
    error(as_job.get(f"{M}/runs/get", {"run_id": job.name}), 401, "UNAUTHENTICATED")


def test_it_gives_each_job_its_own_token(job, make_job, user):
    other = make_job()
    token = tracking_token_issue(job=job)
    assert token != tracking_token_issue(job=other)
    assert job.name not in token and settings.SECRET_KEY not in token


def test_it_lets_a_user_read_with_their_api_token_but_not_write(job, as_job, user):
    as_job.post(f"{M}/runs/log-metric", {"run_id": job.name, "key": "m", "value": 1, "timestamp": 1, "step": 0},
                format="json")
    key = Token.objects.get_or_create(user=user)[0].key
    for reader in (client_for(key, "Bearer"), client_for(key, "Token")):
        assert run_of(reader, job.name)["data"]["metrics"][0]["key"] == "m"
        assert len(reader.get(f"{M}/metrics/get-history", {"run_id": job.name, "metric_key": "m"}).json()["metrics"]) == 1
        message = error(reader.post(f"{M}/runs/log-metric", {"run_id": job.name, "key": "m", "value": 2},
                                    format="json"), 403, "PERMISSION_DENIED")
        assert "can only read" in message
        error(reader.post(f"{M}/runs/create", {"experiment_id": "1"}, format="json"), 403, "PERMISSION_DENIED")
    assert MetricPoint.objects.count() == 1


def test_it_answers_for_a_run_that_does_not_exist(as_job):
    """A job's token reaches its own runs only: any other run id is refused alike, whether a run of
    that id exists elsewhere or not (so a job cannot learn the names of other workspaces' jobs)."""
    message = error(as_job.get(f"{M}/runs/get", {"run_id": "nope"}), 403, "PERMISSION_DENIED")
    assert "nope" in message
    error(as_job.get(f"{M}/runs/get"), 400, "INVALID_PARAMETER_VALUE")


def test_it_answers_unknown_endpoints_in_mlflows_shape(as_job, client):
    error(client.get(f"{M}/registered-models/search"), 404, "ENDPOINT_NOT_FOUND")
    error(client.get("/api/3.0/mlflow/server-info"), 404, "ENDPOINT_NOT_FOUND")
    message = error(as_job.post(f"{M}/logged-models", {"experiment_id": "1"}, format="json"), 501, "NOT_IMPLEMENTED")
    assert "outputs" in message


def test_it_answers_malformed_json_in_mlflows_shape(job, as_job):
    response = as_job.post(f"{M}/runs/log-metric", "{not json", content_type="application/json")
    error(response, 400, "MALFORMED_REQUEST")


# --- experiments --------------------------------------------------------------------------------


def test_it_finds_the_jobs_experiment_by_name_and_by_id(job, as_job):
    found = as_job.get(f"{M}/experiments/get-by-name", {"experiment_name": "exp-1"}).json()["experiment"]
    assert found["name"] == "exp-1" and found["lifecycle_stage"] == "active"
    assert run_of(as_job, job.name)["info"]["experiment_id"] == found["experiment_id"]
    by_id = as_job.get(f"{M}/experiments/get", {"experiment_id": found["experiment_id"]}).json()["experiment"]
    assert by_id == found
    error(as_job.get(f"{M}/experiments/get-by-name", {"experiment_name": "nope"}), 404, "RESOURCE_DOES_NOT_EXIST")
    error(as_job.get(f"{M}/experiments/get", {"experiment_id": "999999"}), 404, "RESOURCE_DOES_NOT_EXIST")


def test_it_creates_and_searches_experiments_in_the_jobs_workspace(job, as_job, make_job, user):
    created = as_job.post(f"{M}/experiments/create", {"name": "sweep-a"}, format="json")
    assert created.status_code == 200
    experiment_id = created.json()["experiment_id"]
    assert TrackingExperiment.objects.get(id=int(experiment_id)).workspace_id == job.workspace_id
    error(as_job.post(f"{M}/experiments/create", {"name": "sweep-a"}, format="json"), 400, "RESOURCE_ALREADY_EXISTS")
    error(as_job.post(f"{M}/experiments/create", {"name": "exp-1"}, format="json"), 400, "RESOURCE_ALREADY_EXISTS")
    error(as_job.post(f"{M}/experiments/create", {"name": ""}, format="json"), 400, "INVALID_PARAMETER_VALUE")

    make_job(experiment="never-ran")  # a user's search also lists experiments that only jobs name
    reader = client_for(Token.objects.get_or_create(user=user)[0].key)
    names = [e["name"] for e in reader.post(f"{M}/experiments/search", {}, format="json").json()["experiments"]]
    assert sorted(names) == ["exp-1", "never-ran", "sweep-a"]
    one = reader.post(f"{M}/experiments/search", {"filter": "name = 'sweep-a'"}, format="json").json()
    assert [e["experiment_id"] for e in one["experiments"]] == [experiment_id]
    error(reader.post(f"{M}/experiments/search", {"filter": "tags.x = 'y'"}, format="json"), 400, "INVALID_PARAMETER_VALUE")


# --- other runs of the job (nested) ---------------------------------------------------------------


def test_it_keeps_runs_the_script_creates_under_the_job(job, as_job, api):
    experiment_id = as_job.get(f"{M}/experiments/get-by-name", {"experiment_name": "exp-1"}).json()["experiment"]["experiment_id"]
    response = as_job.post(f"{M}/runs/create", {
        "experiment_id": experiment_id, "start_time": 1000, "run_name": "trial-1", "user_id": "node",
        "tags": [{"key": "mlflow.parentRunId", "value": job.name}, {"key": "mlflow.source.type", "value": "LOCAL"}],
    }, format="json")
    assert response.status_code == 200, response.json()
    child = response.json()["run"]
    child_id = child["info"]["run_id"]
    assert child["info"]["run_name"] == "trial-1" and child["info"]["status"] == "RUNNING"
    assert child["info"]["artifact_uri"] == f"mlflow-artifacts:/{job.name}/mlflow-runs/{child_id}"
    assert as_dict(child["data"]["tags"])["mlflow.parentRunId"] == job.name

    as_job.post(f"{M}/runs/log-metric", {"run_id": child_id, "key": "trial_loss", "value": 0.3, "timestamp": 2,
                                         "step": 0}, format="json")
    update = as_job.post(f"{M}/runs/update", {"run_id": child_id, "status": "FINISHED", "end_time": 2000},
                         format="json")
    assert update.json()["run_info"]["status"] == "FINISHED" and update.json()["run_info"]["end_time"] == 2000
    assert run_of(as_job, child_id)["data"]["metrics"][0]["key"] == "trial_loss"
    assert api.get(f"/api/v1/jobs/{job.name}/metrics").json()["metrics"] == {}  # not the job's own run

    found = as_job.post(f"{M}/runs/search", {"experiment_ids": [experiment_id],
                                             "filter": f"tags.mlflow.parentRunId = '{job.name}'"}, format="json")
    assert [r["info"]["run_id"] for r in found.json()["runs"]] == [child_id]
    everything = as_job.post(f"{M}/runs/search", {"experiment_ids": [experiment_id]}, format="json").json()["runs"]
    assert sorted(r["info"]["run_id"] for r in everything) == sorted([child_id, job.name])
    error(as_job.post(f"{M}/runs/search", {"experiment_ids": [experiment_id], "filter": "metrics.loss < 1"},
                      format="json"), 400, "INVALID_PARAMETER_VALUE")


def test_it_refuses_runs_in_another_workspaces_experiment_or_under_a_foreign_parent(job, as_job, make_job, django_user_model):
    from quotas.services import workspace_ensure

    bob = django_user_model.objects.create_user(username="bob", password="pw-bob-123")
    other_ws = workspace_ensure(subscription_name="sub-2", workspace_name="ws-2", admin=bob)
    foreign = TrackingExperiment.objects.create(workspace=other_ws, name="theirs")
    error(as_job.post(f"{M}/runs/create", {"experiment_id": str(foreign.id)}, format="json"),
          404, "RESOURCE_DOES_NOT_EXIST")
    error(as_job.post(f"{M}/runs/create", {"tags": [{"key": "mlflow.parentRunId", "value": make_job().name}]},
                      format="json"), 400, "INVALID_PARAMETER_VALUE")
    assert not TrackingRun.objects.exists()


# --- artifacts ----------------------------------------------------------------------------------


def test_it_keeps_artifacts_with_the_jobs_outputs(job, as_job, api, data_dir, user):
    url = f"/api/2.0/mlflow-artifacts/artifacts/{job.name}"
    assert as_job.put(f"{url}/plots/loss.txt", b"0.9 0.5", content_type="text/plain").status_code == 200
    assert (data_dir / "artifacts" / job.name / "plots" / "loss.txt").read_bytes() == b"0.9 0.5"
    paths = [f["path"] for f in api.get(f"/api/v1/jobs/{job.name}/outputs").json()]
    assert paths == ["plots/loss.txt"]

    listing = as_job.get("/api/2.0/mlflow-artifacts/artifacts", {"path": job.name}).json()["files"]
    assert listing == [{"path": "plots", "is_dir": True}]
    listing = as_job.get("/api/2.0/mlflow-artifacts/artifacts", {"path": f"{job.name}/plots"}).json()["files"]
    assert listing == [{"path": "loss.txt", "is_dir": False, "file_size": 7}]
    reader = client_for(Token.objects.get_or_create(user=user)[0].key)
    assert b"".join(reader.get(f"{url}/plots/loss.txt").streaming_content) == b"0.9 0.5"
    error(reader.get(f"{url}/plots/none.txt"), 404, "RESOURCE_DOES_NOT_EXIST")
    error(reader.put(f"{url}/x.txt", b"x", content_type="text/plain"), 403, "PERMISSION_DENIED")


@pytest.mark.parametrize("path,words", [
    ("user_logs/std_log.txt", "kept by the studio"),
    ("named-outputs/model/m.pkl", "kept by the studio"),
    ("a/../../escape.txt", "leaves"),
])
def test_it_refuses_artifact_paths_outside_the_scripts_part(job, as_job, data_dir, path, words):
    response = as_job.put(f"/api/2.0/mlflow-artifacts/artifacts/{job.name}/{path}", b"x", content_type="text/plain")
    assert words in error(response, 400, "INVALID_PARAMETER_VALUE")
    assert not (data_dir / "artifacts" / job.name).exists() or not any((data_dir / "artifacts" / job.name).rglob("*.txt"))


@pytest.mark.parametrize("body", [
    '{"run_id": "RUN", "key": "lo\\u0000ss", "value": 1, "timestamp": 10, "step": 0}',
    '{"run_id": "RUN", "key": "loss", "value": 1, "timestamp": 100000000000000000000000, "step": 0}',
])
def test_values_no_database_keeps_are_refused_in_mlflow_format(as_job, job, body):
    """NULs and numbers beyond 64 bits: a 400 the client understands, never a 500 (PostgreSQL)."""
    response = as_job.post(f"{M}/runs/log-metric", data=body.replace("RUN", job.name), content_type="application/json")
    assert "key" in error(response, 400, "INVALID_PARAMETER_VALUE") or "timestamp" in response.json()["message"]
    assert not MetricPoint.objects.exists()


def test_a_nul_in_a_query_parameter_is_refused_in_mlflow_format(as_job, job):
    error(as_job.get(f"{M}/runs/get", {"run_id": job.name + "\x00"}), 400, "INVALID_PARAMETER_VALUE")
