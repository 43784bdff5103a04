"""The pages behind the mlflow client's "View run" and "View experiment" links (jobs/tracking/links.py).
Outsiders get a 404 from them: tests/security/test_outsiders_pages.py."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders

from jobs.lifecycle import Status
from jobs.tracking import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def experiment(job, workspace):
    """The MLflow experiment of ada's job ``train-1`` (tests/tracking/conftest.py)."""
    return services.experiment_ensure(workspace=workspace, name=job.experiment_name)


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def test_it_opens_the_job_of_its_own_run(signed_in, job, experiment):
    response = signed_in.get(f"/mlflow/experiments/{experiment.id}/runs/{job.name}/")
    assert (response.status_code, response["Location"]) == (302, f"/jobs/{job.name}/?workspace={job.workspace.name}")


def test_it_opens_the_job_of_a_run_its_script_created(signed_in, job, experiment):
    nested = services.run_create(job=job, experiment=experiment, run_name="trial-1")
    response = signed_in.get(f"/mlflow/experiments/{experiment.id}/runs/{nested.run_id}/")
    assert (response.status_code, response["Location"]) == (302, f"/jobs/{job.name}/?workspace={job.workspace.name}")


def test_it_lists_the_jobs_of_an_experiment_in_its_workspace(signed_in, job, make_job, experiment):
    make_job(name="elsewhere", experiment="exp-2", status=Status.COMPLETED)
    response = signed_in.get(f"/mlflow/experiments/{experiment.id}/", follow=True)
    assert response.redirect_chain == [(f"/jobs/?workspace=ws-1&experiment={experiment.name}", 302)]
    assert [row.name for row in response.context["jobs"]] == [job.name]


@pytest.mark.parametrize("path", ["experiments/{id}/runs/no-such-run/", "experiments/999999/",
                                  "experiments/not-a-number/", "experiments/not-a-number/runs/{job}/x/"])
def test_it_answers_404_for_what_does_not_exist(signed_in, job, experiment, path):
    response = signed_in.get("/mlflow/" + path.format(id=experiment.id, job=job.name))
    assert response.status_code == 404


def test_it_asks_a_signed_out_visitor_to_sign_in_first(client, job, experiment):
    url = f"/mlflow/experiments/{experiment.id}/runs/{job.name}/"
    assert client.get(url)["Location"] == f"/accounts/login/?next={url}"


def test_it_sends_the_links_fragment_on_from_every_page(client, signed_in):
    """The fragment never reaches the server: every page (the jobs list that / lands on, and the
    sign-in page) loads the studio's own script that reads it, with the two routes to fill."""
    assert client.get("/")["Location"] == "/jobs/"
    for page in (signed_in.get("/jobs/"), signed_in.get("/designer/")):
        html = page.content.decode()
        assert 'src="/static/studio/mlflow-links.js"' in html
        assert 'data-run="/mlflow/experiments/EXPERIMENT/runs/RUN/"' in html
        assert 'data-experiment="/mlflow/experiments/EXPERIMENT/"' in html
    signed_in.logout()
    assert "studio/mlflow-links.js" in client.get("/accounts/login/").content.decode()
    script = open(finders.find("studio/mlflow-links.js")).read()
    assert "location.hash" in script and "cdn" not in script.lower()
