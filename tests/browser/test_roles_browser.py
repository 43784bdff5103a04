"""What a reader sees in a real browser: the controls of what their role does not allow are
disabled or absent, each with the sentence that says which role it needs."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from jobs.lifecycle import Status
from tests.browser.conftest import screenshot, signed_in_page
from tests.browser.test_jobs_browser import held_job, release_file
from tests.jobs.helpers import wait_for_status
from quotas.services import cluster_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reader_page(browser, studio_url, make_user, workspace):
    rita = make_user("rita", member_of=[workspace], role="reader")
    with signed_in_page(browser, studio_url, rita) as page:
        yield page


def test_a_reader_sees_but_cannot_cancel_or_manage_clusters(reader_page, studio_url, user, workspace):
    page = reader_page
    cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_DS3_v2")
    release = release_file("adas-run", workspace)
    held_job(user, workspace, "adas-run")
    wait_for_status("adas-run", {Status.RUNNING})

    page.goto(f"{studio_url}/jobs/adas-run/")
    expect(page.locator("#job-log")).to_contain_text("first line from adas-run")  # readers see the log
    expect(page.get_by_role("button", name="Cancel job")).to_be_disabled()
    expect(page.locator("#cancel-refusal")).to_have_text(
        "Only owners of workspace 'ws-1' can cancel other people's jobs; you are a reader.")
    screenshot(page, "roles-reader-job")

    page.goto(f"{studio_url}/compute/")
    expect(page.locator("#cluster-cpu-cluster")).to_be_visible()
    expect(page.get_by_role("button", name="Create cluster")).to_have_count(0)
    expect(page.get_by_role("link", name="New cluster")).to_have_count(0)
    expect(page.locator("#cluster-cpu-cluster").get_by_role("button", name="Delete cpu-cluster (not allowed")) \
        .to_be_disabled()
    expect(page.locator("#manage-refusal")).to_contain_text("you are a reader")
    screenshot(page, "roles-reader-compute")

    page.goto(f"{studio_url}/quota/")
    expect(page.locator(".edit-quota")).to_have_count(0)
    expect(page.locator(".read-only-note")).to_contain_text("you are a reader")
    release.write_text("go")
    wait_for_status("adas-run", {Status.COMPLETED})
