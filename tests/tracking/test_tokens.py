"""Tracking tokens are random, stored hashed, scoped to one job, and revoked when their node or job
ends; nothing a job could read lets it make one."""

from __future__ import annotations

import hashlib

import pytest
from django.utils.crypto import salted_hmac

from jobs.lifecycle import Status
from jobs.models import MetricPoint, Node, TrackingToken
from jobs.tracking.services import tracking_token_issue, tracking_tokens_revoke
from tests.tracking.conftest import client_for, run_job

M = "/api/2.0/mlflow"


def log_metric(token: str, run_id: str):
    return client_for(token).post(f"{M}/runs/log-metric",
                                  {"run_id": run_id, "key": "m", "value": 1, "timestamp": 1, "step": 0},
                                  format="json")


@pytest.mark.django_db
def test_it_keeps_only_a_hash_of_the_token(job):
    token = tracking_token_issue(job=job)
    token_id, secret = token.split(".")
    row = TrackingToken.objects.get(id=int(token_id))
    assert row.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(list(TrackingToken.objects.values_list()))
    assert len(secret) >= 43  # 32 random bytes
    assert log_metric(token, job.name).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("forge", [
    pytest.param(lambda job, token: f"{job.name}." + salted_hmac(
        "jobs.tracking.job-token", f"{job.name}:", algorithm="sha256").hexdigest(), id="derived-the-old-way"),
    pytest.param(lambda job, token: token.split(".")[0] + ".not-the-secret", id="right-id-wrong-secret"),
    pytest.param(lambda job, token: str(int(token.split(".")[0]) + 1) + "." + token.split(".")[1], id="next-id"),
    pytest.param(lambda job, token: "9" * 40 + "." + token.split(".")[1], id="id-beyond-64-bits"),
])
def test_it_refuses_a_token_it_did_not_issue(job, forge):
    token = tracking_token_issue(job=job)
    response = log_metric(forge(job, token), job.name)
    assert (response.status_code, response.json()["error_code"]) == (401, "UNAUTHENTICATED")
    assert "not valid" in response.json()["message"]
    assert not MetricPoint.objects.exists()


@pytest.mark.django_db
def test_it_revokes_a_nodes_token_when_the_node_ends_and_all_when_the_job_ends(job):
    nodes = [Node.objects.create(job=job, index=i) for i in range(2)]
    first, second = (tracking_token_issue(job=job, node=node) for node in nodes)
    assert tracking_tokens_revoke(job_id=job.id, node_id=nodes[0].id) == 1
    response = log_metric(first, job.name)
    assert response.status_code == 401 and "revoked when the node it was given to ended" in response.json()["message"]
    assert log_metric(second, job.name).status_code == 200  # the other node still runs
    assert tracking_tokens_revoke(job_id=job.id) == 1
    assert log_metric(second, job.name).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_it_revokes_the_token_a_node_used_once_it_has_run(api, studio):
    job, log = run_job(api, "command: echo $MLFLOW_TRACKING_TOKEN\n")
    assert job.status == Status.COMPLETED
    token = TrackingToken.objects.get(job=job)
    assert token.revoked_at is not None and token.node is not None
    assert log_metric(log.strip(), job.name).status_code == 401
