"""The job-submission wizard in a real browser, against the studio with a real local executor."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from jobs.lifecycle import TERMINAL, Status
from jobs.models import Job, LogChunk
from previews.registry import SERVERLESS
from previews.services import preview_set
from tests.browser.conftest import screenshot
from tests.browser.test_jobs_browser import held_job, release_file
from tests.jobs.helpers import wait_for_status

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


def submit_and_wait(page, studio_url: str, name: str) -> Job:
    """Submit the job on the Review step; it opens the job's page and completes."""
    page.get_by_role("button", name="Submit job").click()
    page.wait_for_url(f"{studio_url}/jobs/{name}/")
    job = wait_for_job(name)
    assert job.status == Status.COMPLETED, job.error
    return job


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
    job = submit_and_wait(page, studio_url, "wizard-hello")
    assert job.compute == "serverless" and job.submitted_by == user
    assert job.spec["tags"] == {"made-by": "wizard"}
    assert "hello from the wizard" in job_log(job)


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


def job_log(job: Job) -> str:
    return "".join(LogChunk.objects.filter(node__job=job).order_by("offset").values_list("text", flat=True))


def test_it_fills_every_field_of_the_code_step_and_the_job_runs_with_them(page, studio_url, user):
    preview_set(user=user, key=SERVERLESS, enabled=True)
    page.goto(f"{studio_url}/submit/")
    page.get_by_label("Job name").fill("wizard-everything")
    next_step(page, "Compute")
    next_step(page, "Environment")
    next_step(page, "Code, command and inputs")

    # the code: a drop/choose control that shows the chosen file's name and size
    page.locator("#id_code").set_input_files(files=[{"name": "train.py", "mimeType": "text/x-python",
                                                     "buffer": b"print('hello from train.py')\n"}])
    expect(page.locator(".file-drop.chosen .file-drop-chosen")).to_have_text("train.py · 29 bytes")
    page.get_by_label("Command").fill('python train.py && echo "$GREETING from rank $RANK of $WORLD_SIZE" '
                                      '&& echo done > ${{outputs.model}}/done.txt')
    # environment variables: one row, then another added without leaving the step
    page.get_by_label("Name of environment variable 1").fill("GREETING")
    page.get_by_label("Value of environment variable 1").fill("hello")
    page.get_by_role("button", name="Add a variable").click()
    expect(page.locator("#env-rows tr")).to_have_count(2)
    expect(page.get_by_label("Name of environment variable 2")).to_have_attribute("placeholder", "OMP_NUM_THREADS")
    page.get_by_label("Name of environment variable 2").fill("LOG_LEVEL")
    page.get_by_label("Value of environment variable 2").fill("DEBUG")
    # an output, and the distribution: only the counts of the chosen framework are shown
    page.get_by_label("Name of output 1").fill("model")
    page.get_by_label("Mode of output 1").select_option("upload")
    expect(page.get_by_label("Processes per node")).to_be_hidden()
    page.get_by_label("Distribution").select_option("pytorch")
    expect(page.get_by_label("Workers")).to_be_hidden()
    page.get_by_label("Processes per node").fill("2")
    # a mistake: the banner names the field; fixing it clears the banner and the field's error
    page.get_by_label("Time limit").fill("soon")
    page.get_by_role("button", name="Next: Review").click()
    banner = page.locator("#code-problems [role=alert]")
    expect(banner).to_contain_text("Time limit: expected an integer ≥ 1 (seconds), got 'soon'")
    expect(page.locator("#id_timeout_errors .field-error")).to_have_count(1)
    screenshot(page, "wizard-code-error")
    page.get_by_label("Time limit").fill("10 min")
    expect(banner).to_have_count(0)
    expect(page.locator("#id_timeout_errors .field-error")).to_have_count(0)
    # the files chosen before the failed save are chosen again
    page.locator("#id_code").set_input_files(files=[{"name": "train.py", "mimeType": "text/x-python",
                                                     "buffer": b"print('hello from train.py')\n"}])
    expect(page.locator("#env-rows tr")).to_have_count(2)  # the two variables are kept
    screenshot(page, "wizard-code-filled")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "wizard-code-narrow")
    page.set_viewport_size({"width": 1360, "height": 900})
    # Enter in a field saves the step (it does not add a row)
    page.get_by_label("Time limit").press("Enter")
    expect(page.locator(".wizard-steps li.current")).to_have_text("Review")

    facts = page.locator(".wizard-review .facts")
    expect(facts).to_contain_text("GREETING=hello")
    expect(facts).to_contain_text("10 min")
    expect(facts).to_contain_text("pytorch, 2 processes per node")
    expect(page.locator("pre.yaml")).to_contain_text("process_count_per_instance: 2")
    screenshot(page, "wizard-review-everything")
    job = submit_and_wait(page, studio_url, "wizard-everything")
    assert job.spec["environment_variables"] == {"GREETING": "hello", "LOG_LEVEL": "DEBUG"}
    assert job.spec["limits"] == {"timeout": 600}
    assert job.spec["outputs"] == {"model": {"type": "uri_folder", "mode": "upload"}}
    assert job.spec["distribution"] == {"type": "pytorch", "process_count_per_instance": 2}
    log = job_log(job)
    assert "hello from train.py" in log and "hello from rank 0 of 2" in log


def test_it_says_a_job_would_wait_behind_a_running_one_with_its_position_and_estimate(page, studio_url, user,
                                                                                     workspace, set_quota):
    preview_set(user=user, key=SERVERLESS, enabled=True)
    set_quota("standardDSv3Family", 4)
    release = release_file("blocker", workspace)
    held_job(user, workspace, "blocker", resources="{instance_type: Standard_D4s_v3}",
             limits="{timeout: 600}")
    wait_for_status("blocker", {Status.RUNNING})
    page.goto(f"{studio_url}/submit/")
    next_step(page, "Compute")
    page.locator("#vm-q").fill("D4s_v3")
    expect(page.locator("#vm-sizes tbody tr")).to_have_count(1)
    page.locator("#size-Standard_D4s_v3").check()
    fit = page.locator("#compute-fit")
    expect(fit.locator(".fit-title")).to_have_text("Waits in the queue (position 1)")
    expect(fit.locator(".fit-estimate")).to_contain_text("UTC")
    expect(fit.locator(".fit-detail")).to_contain_text("Standard_D4s_v3")
    screenshot(page, "wizard-compute-waits")
    release.touch()
    assert wait_for_status("blocker").status == Status.COMPLETED
