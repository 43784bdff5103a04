"""What a node is told so that `mlflow` in its script reaches the studio as the job, and only as it."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from jobs.executors import assignment_for
from jobs.lifecycle import Status
from jobs.models import Node, TrackingExperiment
from tests.tracking.conftest import client_for

pytestmark = pytest.mark.django_db


def test_it_gives_each_node_the_mlflow_variables(make_job, settings, user, data_dir):
    settings.STUDIO_PUBLIC_URL = "http://studio.example:8000/"
    settings.SECRET_KEY = "the-servers-own-secret-key-" + "k" * 40
    job = make_job(name="two-nodes", instance_count=2)
    envs = [assignment_for(Node.objects.create(job=job, index=i)).extra_env for i in range(2)]
    tokens = [env.pop("MLFLOW_TRACKING_TOKEN") for env in envs]
    assert envs[0] == envs[1]  # every node of the job logs to the same run ...
    assert tokens[0] != tokens[1]  # ... each with a token of its own
    env = envs[0]
    assert env["MLFLOW_TRACKING_URI"] == "http://studio.example:8000"
    assert env["MLFLOW_RUN_ID"] == job.name
    assert Token.objects.get_or_create(user=user)[0].key not in tokens
    assert not [token for token in tokens if settings.SECRET_KEY in token or job.name in token]
    assert TrackingExperiment.objects.filter(workspace=job.workspace, name=job.experiment_name).exists()

    readers = [client_for(token) for token in tokens]
    assert [r.get("/api/2.0/mlflow/runs/get", {"run_id": job.name}).status_code for r in readers] == [200, 200]
    type(job).objects.filter(id=job.id).update(status=Status.COMPLETED)
    assert [r.get("/api/2.0/mlflow/runs/get", {"run_id": job.name}).status_code for r in readers] == [401, 401]
