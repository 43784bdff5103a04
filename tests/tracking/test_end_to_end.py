"""Real jobs that use the real ``mlflow`` client, unchanged, against the studio over HTTP.

The node's process gets MLFLOW_TRACKING_URI (the studio, here a live server), MLFLOW_RUN_ID
(the job's name) and its own MLFLOW_TRACKING_TOKEN, exactly as on Azure ML.
"""

from __future__ import annotations

import json
import secrets

import pytest
from rest_framework.authtoken.models import Token

from jobs.models import TrackingRun
from tests.jobs.helpers import tar_gz
from tests.tracking.conftest import client_for, run_job

pytestmark = pytest.mark.django_db(transaction=True)

ENVIRONMENT = "environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest\n"


def test_it_records_what_an_unchanged_mlflow_script_logs(api, studio):
    job, _ = run_job(api, ENVIRONMENT + (
        "command: >-\n"
        "  python -c \"import mlflow; mlflow.log_param('lr', 0.1);"
        " [mlflow.log_metric('loss', 1/(i+1), step=i) for i in range(5)]\"\n"
    ))
    body = api.get(f"/api/v1/jobs/{job.name}/metrics").json()
    assert [(p["step"], p["value"]) for p in body["metrics"]["loss"]] == [(i, 1 / (i + 1)) for i in range(5)]
    assert body["params"] == {"lr": "0.1"}
    assert api.get(f"/api/v1/jobs/{job.name}").json()["metrics"] == {"loss": 0.2}
    assert not TrackingRun.objects.exists()  # it all went to the job's own run


def test_it_resumes_the_jobs_run_when_the_script_starts_one(api, studio):
    script = """
import os
import mlflow

with mlflow.start_run() as run:
    assert run.info.run_id == os.environ["AZUREML_RUN_ID"], run.info.run_id
    mlflow.set_tag("stage", "train")
    mlflow.log_params({"epochs": 3, "optimizer": "adam"})
    mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=1)
    with open("notes.txt", "w") as f:
        f.write("trained")
    mlflow.log_artifact("notes.txt")
    with mlflow.start_run(nested=True, run_name="trial-1"):
        mlflow.log_metric("trial_loss", 0.3)
    print("resumed", run.info.run_id)
"""
    job, log = run_job(api, "code: src\ncommand: python train.py\n", code=tar_gz({"train.py": script}))
    assert f"resumed {job.name}" in log
    body = api.get(f"/api/v1/jobs/{job.name}/metrics").json()
    assert {k: [p["value"] for p in v] for k, v in body["metrics"].items()} == {"acc": [0.9], "f1": [0.8]}
    assert body["params"] == {"epochs": "3", "optimizer": "adam"}
    assert body["tags"] == {"stage": "train"}
    assert "notes.txt" in [f["path"] for f in api.get(f"/api/v1/jobs/{job.name}/outputs").json()]
    assert b"".join(api.get(f"/api/v1/jobs/{job.name}/outputs/notes.txt").streaming_content) == b"trained"
    child = TrackingRun.objects.get(job=job)
    assert (child.name, child.parent_run_id, child.status) == ("trial-1", job.name, "FINISHED")


def test_it_shows_the_script_nothing_else_from_the_server_environment(api, studio, settings, monkeypatch, user):
    server_secret = "server-secret-" + secrets.token_hex(8)
    settings.SECRET_KEY = server_secret
    monkeypatch.setenv("SECRET_KEY", server_secret)
    monkeypatch.setenv("STUDIO_SERVER_ONLY", "not-for-jobs")
    job, _ = run_job(api, ENVIRONMENT + (
        "command: >-\n"
        "  python -c \"import os, mlflow; mlflow.log_dict(dict(os.environ), 'environment.json')\"\n"
    ))
    seen = json.loads(api.get(f"/api/v1/jobs/{job.name}/outputs/environment.json").getvalue())

    assert {k for k in seen if k.startswith("MLFLOW_")} == {
        "MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_TRACKING_TOKEN",
        "MLFLOW_DISABLE_TELEMETRY"}
    assert (seen["MLFLOW_TRACKING_URI"], seen["MLFLOW_RUN_ID"]) == (studio.url, job.name)
    expected = {"PATH", "HOME", "LANG", "LC_ALL", "PYTHONUNBUFFERED", "AZUREML_RUN_ID", "AZUREML_ROOT_RUN_ID",
                "AZUREML_ARM_WORKSPACE_NAME", "AZUREML_NODE_RANK", "PWD", "SHLVL", "_"}
    assert set(seen) - expected - {k for k in seen if k.startswith("MLFLOW_")} == set()
    user_token = Token.objects.get(user=user).key
    assert not [k for k, v in seen.items() if server_secret in v or user_token in v]

    # The token the job saw worked while it ran (it logged the artifact) and no longer does.
    response = client_for(seen["MLFLOW_TRACKING_TOKEN"]).get("/api/2.0/mlflow/runs/get", {"run_id": job.name})
    assert (response.status_code, response.json()["error_code"]) == (401, "UNAUTHENTICATED")
