"""Job pages in a real browser, with jobs really running on the local executor: status and
logs change on the page without a reload, and polling stops when the jobs end."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from jobs import services, storage
from jobs.lifecycle import Status
from jobs.models import Job
from jobs.specs import load_command_job
from tests.browser.conftest import screenshot
from tests.jobs.helpers import wait_for_status, with_environment

pytestmark = pytest.mark.django_db(transaction=True)

NARROW = {"width": 390, "height": 844}


def submit(user, workspace, text):
    text = with_environment(text)
    return services.job_submit(user=user, workspace=workspace, spec=load_command_job(text), spec_yaml=text)


def held_job(user, workspace, name, **fields):
    """A job that prints a line, then runs until the test creates ``release_file(name)`` (at most a minute)."""
    extra = "".join(f"{key}: {value}\n" for key, value in fields.items())
    return submit(user, workspace, (
        f"name: {name}\n{extra}"
        "command: >-\n"
        "  echo first line from $AZUREML_RUN_ID;\n"
        "  i=0; while [ ! -f $HOME/release ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done;\n"
        "  echo second line\n"
    ))


def release_file(name: str, workspace) -> Path:
    """What a held job waits for: a file in its own node folder, the only folder a sandboxed node sees."""
    return storage.work_root() / storage.job_folder(name=name, workspace_id=workspace.id) / "node-0" / "release"


def test_a_job_page_shows_running_then_completed_with_its_log_appearing_live(page, studio_url, user, workspace):
    release = release_file("live-detail", workspace)
    held_job(user, workspace, "live-detail", display_name="Train the classifier",
             experiment_name="mnist", description="Logs appear while it runs")
    page.goto(f"{studio_url}/jobs/live-detail/")
    page.evaluate("window.notReloaded = true")
    status = page.get_by_test_id("job-status")
    log = page.locator("#job-log")

    expect(status).to_have_text("Running", timeout=30_000)
    expect(log).to_have_text("first line from live-detail\n", timeout=15_000)
    expect(page.locator("#job-log-poller")).to_contain_text("Live")
    expect(page.get_by_role("button", name="Cancel job")).to_be_visible()
    screenshot(page, "job-detail-running")

    release.write_text("go")
    expect(status).to_have_text("Completed", timeout=30_000)
    expect(log).to_have_text("first line from live-detail\nsecond line\n")  # appended once, in order
    expect(page.locator("#job-log-poller")).to_contain_text("End of log")
    expect(page.locator("#job-results")).to_contain_text("user_logs/std_log.txt")
    expect(page.get_by_role("button", name="Cancel job")).to_have_count(0)
    expect(page.locator("#job-status")).not_to_have_attribute("hx-trigger", re.compile(".*"))
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "job-detail-completed")

    page.set_viewport_size(NARROW)
    page.reload()
    expect(status).to_have_text("Completed")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    screenshot(page, "job-detail-narrow")


def test_the_list_updates_a_jobs_status_live_and_stops_polling(page, studio_url, user, workspace):
    release = release_file("live-list", workspace)
    done = submit(user, workspace, "name: quick-echo\ndisplay_name: Quick echo\ncommand: echo hello\n")
    failed = submit(user, workspace, "name: broken-script\nexperiment_name: mnist\ncommand: echo oops; exit 3\n")
    wait_for_status(done.name)
    wait_for_status(failed.name)
    held_job(user, workspace, "live-list", display_name="Train the classifier", experiment_name="mnist")

    page.goto(f"{studio_url}/jobs/")
    page.evaluate("window.notReloaded = true")
    badge = page.locator("#job-row-live-list .badge")
    expect(badge).to_have_text("Running", timeout=30_000)
    expect(page.locator("#job-row-broken-script .badge")).to_have_text("Failed")
    expect(page.locator("#job-rows")).to_have_attribute("hx-trigger", "every 2s")
    screenshot(page, "jobs-list")

    release.write_text("go")
    expect(badge).to_have_text("Completed", timeout=30_000)
    expect(page.locator("#job-rows")).not_to_have_attribute("hx-trigger", re.compile(".*"))
    assert page.evaluate("window.notReloaded") is True

    page.set_viewport_size(NARROW)
    page.reload()
    expect(page.locator("#job-row-live-list .badge")).to_have_text("Completed")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]  # the table scrolls, not the page
    screenshot(page, "jobs-list-narrow")


def test_it_cancels_a_running_job_after_asking(page, studio_url, user, workspace):
    held_job(user, workspace, "to-cancel")
    page.goto(f"{studio_url}/jobs/to-cancel/")
    expect(page.get_by_test_id("job-status")).to_have_text("Running", timeout=30_000)
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Cancel job").click()
    expect(page.get_by_test_id("job-status")).to_have_text("Canceled", timeout=15_000)
    assert questions == ["Cancel job to-cancel? Its nodes stop within seconds."]
    assert Job.objects.get(name="to-cancel").status == Status.CANCELED


def test_a_failed_jobs_timeline_shows_where_it_stopped_in_red(page, studio_url, user, workspace):
    submit(user, workspace, "name: breaks\ndisplay_name: Breaks on purpose\ncommand: echo about to fail; exit 3\n")
    wait_for_status("breaks")
    page.goto(f"{studio_url}/jobs/breaks/")
    timeline = page.get_by_test_id("job-timeline")
    expect(timeline.locator("li.failed")).to_have_attribute("data-status", "Running")
    expect(timeline.locator("li.bad")).to_contain_text("Failed")
    expect(timeline.locator("li.bad")).to_contain_text("UserError")
    expect(timeline.locator('li[data-status="Finalizing"]')).to_have_class("done")  # its log was kept after
    red = timeline.locator("li.failed").evaluate("e => getComputedStyle(e).color")
    green = timeline.locator("li.done").first.evaluate("e => getComputedStyle(e).color")
    assert red != green
    expect(page.get_by_test_id("job-error")).to_contain_text("exit code 3")
    screenshot(page, "job-detail-failed-timeline")
