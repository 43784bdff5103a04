"""The "View run" and "View experiment" links that the mlflow client prints in a job's log open the
job's page and the experiment's jobs, in a real browser, signed in or not yet."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from jobs import services
from jobs.lifecycle import Status
from jobs.models import Job
from jobs.specs import load_command_job
from jobs.tracking import services as tracking
from tests.browser.conftest import PASSWORD
from tests.jobs.helpers import wait_for_status, with_environment

pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"View (run \S+|experiment) at: (\S+)")


def test_it_opens_the_job_from_the_view_run_link_in_its_log(page, studio_url, user, workspace):
    text = with_environment("name: linked-run\nexperiment_name: linked\n"
                            "command: python -c \"import mlflow; mlflow.log_metric('loss', 0.5)\"\n")
    services.job_submit(user=user, workspace=workspace, spec=load_command_job(text), spec_yaml=text)
    job = wait_for_status("linked-run", timeout=120)
    log = "".join(job.nodes.get().log_chunks.order_by("offset").values_list("text", flat=True))
    assert job.status == Status.COMPLETED, log
    links = dict((kind.split()[0], url) for kind, url in LINK.findall(log))
    experiment = tracking.experiment_ensure(workspace=workspace, name="linked")
    assert links == {"run": f"{studio_url}/#/experiments/{experiment.id}/runs/linked-run",
                     "experiment": f"{studio_url}/#/experiments/{experiment.id}"}, log

    page.goto(links["run"])
    page.wait_for_url(f"{studio_url}/jobs/linked-run/?workspace=ws-1")
    expect(page.get_by_test_id("job-status")).to_have_text("Completed")

    page.goto(links["experiment"])
    page.wait_for_url(f"{studio_url}/jobs/?workspace=ws-1&experiment=linked")
    expect(page.locator("#job-rows")).to_contain_text("linked-run")


def test_it_opens_a_nested_run_after_signing_in(browser, studio_url, user, workspace):
    job = Job.objects.create(name="nested-parent", workspace=workspace, submitted_by=user, status=Status.RUNNING,
                             experiment_name="linked", spec={"command": "python train.py"})
    experiment = tracking.experiment_ensure(workspace=workspace, name="linked")
    nested = tracking.run_create(job=job, experiment=experiment, run_name="trial-1")
    user.set_password(PASSWORD)
    user.save()
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        # MLflow 3 adds ?workspace= when it names an MLflow workspace; the link works with it too
        page.goto(f"{studio_url}/#/experiments/{experiment.id}/runs/{nested.run_id}?workspace=default")
        page.wait_for_url(re.compile(r".*/accounts/login/.*"))
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{studio_url}/jobs/nested-parent/?workspace=ws-1")
        expect(page.locator("h1")).to_contain_text("nested-parent")
    finally:
        context.close()


def test_it_leaves_other_fragments_alone(page, studio_url):
    page.goto(f"{studio_url}/jobs/#job-rows")
    page.wait_for_load_state("load")
    assert page.url == f"{studio_url}/jobs/#job-rows"
