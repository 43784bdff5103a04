"""The job-submission wizard in a real browser, against the studio with a real local executor."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from jobs.models import TERMINAL, Job, JobStatus, LogChunk
from previews.registry import SERVERLESS
from previews.services import preview_set
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_job(name: str, *, seconds: float = 60) -> Job:
    """The job once it has ended (polling the database until a deadline)."""
    deadline = time.monotonic() + seconds
    while True:
        job = Job.objects.filter(name=name).first()
        if job is not None and job.status in TERMINAL:
            return job
        assert time.monotonic() < deadline, f"job {name} is still {job.status if job else 'missing'} after {seconds} s"
        time.sleep(0.2)


def next_step(page, title: str) -> None:
    page.get_by_role("button", name=f"Next: {title}").click()
    expect(page.locator(".wizard-steps li.current")).to_have_text(title)


def test_it_walks_the_wizard_on_serverless_and_the_job_runs(page, studio_url, user):
    preview_set(user=user, key=SERVERLESS, enabled=True)
    page.goto(f"{studio_url}/submit/")
    expect(page.locator(".wizard-steps li.current")).to_have_text("Basics")
    page.get_by_label("Job name").fill("wizard-hello")
    page.get_by_label("Experiment").fill("browser-tests")
    page.get_by_label("Tags").fill("made-by=wizard")
    screenshot(page, "wizard-basics")
    next_step(page, "Compute")

    expect(page.locator("input[name=compute_type][value=serverless]")).to_be_checked()
    expect(page.locator("#size-automatic")).to_be_checked()
    expect(page.locator("#compute-fit")).to_contain_text("Starts now")
    # the cluster options are hidden while Serverless is chosen
    expect(page.locator(".cluster-only")).to_be_hidden()
    # the VM table filters as you type (htmx), keeping the choice
    page.locator("#vm-q").fill("E4s_v3")
    expect(page.locator("#vm-sizes tbody tr")).to_have_count(1)
    expect(page.locator("#vm-sizes tbody tr")).to_contain_text("Standard_E4s_v3")
    page.locator("#vm-q").fill("")
    expect(page.locator("#vm-sizes tbody tr")).not_to_have_count(1)
    screenshot(page, "wizard-compute")
    next_step(page, "Environment")

    expect(page.locator("input[name=curated]").first).to_be_checked()
    expect(page.locator("#id_image")).to_be_hidden()
    screenshot(page, "wizard-environment")
    next_step(page, "Code, command and inputs")

    page.get_by_label("Command").fill("echo hello from the wizard")
    screenshot(page, "wizard-code")
    next_step(page, "Review")

    expect(page.locator("pre.yaml")).to_contain_text("command: echo hello from the wizard")
    expect(page.locator("#fit-panel")).to_contain_text("Starts now")
    screenshot(page, "wizard-review")
    page.get_by_role("button", name="Submit job").click()

    page.wait_for_url(f"{studio_url}/jobs/wizard-hello/")
    job = wait_for_job("wizard-hello")
    assert job.status == JobStatus.COMPLETED, job.error
    assert job.compute == "serverless" and job.submitted_by == user
    assert job.spec["tags"] == {"made-by": "wizard"}
    log = "".join(LogChunk.objects.filter(node__job=job).order_by("offset").values_list("text", flat=True))
    assert "hello from the wizard" in log


def test_review_shows_an_over_quota_rejection_before_submit(page, studio_url, user, set_quota):
    preview_set(user=user, key=SERVERLESS, enabled=True)
    set_quota("standardDSv3Family", 4)
    page.goto(f"{studio_url}/submit/")
    # a mistake is shown next to its field, and nothing moves on
    page.get_by_label("Job name").fill("bad name!")
    page.get_by_role("button", name="Next: Compute").click()
    expect(page.locator(".wizard-field.has-error .field-error")).to_contain_text("'bad name!' is not valid")
    expect(page.locator(".wizard-steps li.current")).to_have_text("Basics")
    screenshot(page, "wizard-basics-error")
    page.get_by_label("Job name").fill("")
    next_step(page, "Compute")

    page.get_by_label("Instance count").fill("0")
    page.get_by_role("button", name="Next: Environment").click()
    expect(page.locator(".wizard-count .field-error")).to_have_text("expected an integer ≥ 1, got 0")

    page.locator("#vm-q").fill("D4s_v3")
    expect(page.locator("#vm-sizes tbody tr")).to_have_count(1)
    page.locator("#size-Standard_D4s_v3").check()
    page.get_by_label("Instance count").fill("2")
    fit = page.locator("#compute-fit")
    expect(fit).to_contain_text("Will not run as asked")
    expect(fit).to_contain_text("reduce `resources.instance_count` to 1")

    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "wizard-compute-narrow")
    page.set_viewport_size({"width": 1360, "height": 900})

    next_step(page, "Environment")
    next_step(page, "Code, command and inputs")
    page.get_by_label("Command").fill("echo too big")
    next_step(page, "Review")
    panel = page.locator("#fit-panel")
    expect(panel).to_contain_text("Will not run as asked")
    expect(panel).to_contain_text("at most 1 instance of Standard_D4s_v3")
    expect(panel).to_contain_text("reduce `resources.instance_count` to 1")
    screenshot(page, "wizard-review-rejected")

    page.get_by_role("button", name="Submit job").click()
    expect(page.locator("[role=alert]")).to_contain_text("The job was not submitted.")
    assert Job.objects.count() == 0
