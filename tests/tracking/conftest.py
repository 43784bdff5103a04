"""Jobs to log to, and clients that call the MLflow API as a job (its token) or as a user."""

from __future__ import annotations

import itertools

import pytest
from rest_framework.test import APIClient

from jobs.lifecycle import Status
from jobs.models import Job
from jobs.tracking.services import tracking_token_issue
from tests.jobs.helpers import wait_for_status, with_environment

_names = itertools.count(1)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Users here only need to exist; hashing their passwords properly costs ~0.3 s per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_job(user, workspace):
    """A job row as the scheduling service leaves it once admitted (Running by default)."""

    def make(*, name: str | None = None, status: str = Status.RUNNING, experiment: str = "exp-1", **fields) -> Job:
        return Job.objects.create(
            name=name or f"job-{next(_names)}", workspace=workspace, submitted_by=user, status=status,
            experiment_name=experiment, spec={"command": "python train.py"}, **fields,
        )

    return make


@pytest.fixture
def job(make_job):
    return make_job(name="train-1")


def client_for(token: str, keyword: str = "Bearer") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {token}")
    return client


@pytest.fixture
def as_job(job):
    """The MLflow client of ``job``'s node: MLFLOW_TRACKING_TOKEN sent as a bearer token."""
    return client_for(tracking_token_issue(job=job))


@pytest.fixture
def studio(live_server, local_executor, settings):
    """The studio reachable over HTTP, as nodes reach it, with a local executor running nodes."""
    settings.STUDIO_PUBLIC_URL = live_server.url
    return live_server


def run_job(api, text: str, **files):
    """Submit a job through the API and wait for it to complete; returns the job and its log."""
    response = api.post("/api/v1/jobs", {"spec": with_environment(text), **files}, format="multipart")
    assert response.status_code == 201, response.json()
    name = response.json()["name"]
    job = wait_for_status(name, timeout=90)
    log = api.get(f"/api/v1/jobs/{name}/logs").json()["text"]
    assert job.status == Status.COMPLETED, (job.error, log)
    return job, log
