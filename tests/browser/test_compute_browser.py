"""The Compute page in a real browser, against the live studio with a real local executor."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from quotas.services import cluster_create
from tests.browser.conftest import screenshot
from tests.browser.test_quota_browser import running_job, waiting_jobs

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_shows_serverless_first_and_a_cluster_busy_with_a_job(page, studio_url, user, workspace):
    cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_DS3_v2", min_instances=0,
                   max_instances=2, idle_seconds=300)
    cluster_create(user=user, workspace=workspace, name="gpu-cluster", size="Standard_NC4as_T4_v3", max_instances=1)
    with running_job(user, workspace, "command: sleep 60\ncompute: azureml:cpu-cluster\n"):
        # one of its two nodes is busy: two jobs that need both wait for the cluster
        waiting_jobs(user, workspace, "command: echo hi\ncompute: azureml:cpu-cluster\nresources:\n"
                                      "  instance_count: 2\n", 2)

        page.goto(f"{studio_url}/compute/")

        first = page.locator(".compute-table tbody tr").first
        expect(first).to_contain_text("Serverless")
        expect(page.locator("#serverless")).to_contain_text("No cluster to create")
        busy = page.locator("#cluster-cpu-cluster td")
        expect(busy.nth(1)).to_contain_text("Standard_DS3_v2")
        expect(busy.nth(3)).to_have_text("1")  # allocated
        expect(busy.nth(4)).to_have_text("1")  # busy: the job's node, from the usage ledger
        expect(busy.nth(5)).to_contain_text("Busy")
        expect(busy.nth(5)).to_contain_text("2 jobs waiting for 4 nodes")
        expect(page.locator("#cluster-gpu-cluster td").nth(5)).to_contain_text("Steady")
        expect(page.locator("#id_size option[value=Standard_D32s_v3]")).to_contain_text(
            "does not fit (needs 32 vCPUs, 16 free)")  # the job's node holds 4 of the 20 regional vCPUs
        screenshot(page, "compute")

        # Deleting it is refused while its job runs and two wait, and the page says so first.
        page.locator("#cluster-cpu-cluster").get_by_role("link", name="Delete cpu-cluster").click()
        expect(page.locator(".notice.warn")).to_have_text(
            "1 node busy and 2 jobs waiting for it: it can be deleted once they have ended.")
        page.get_by_role("button", name="Delete cpu-cluster").click()
        expect(page.locator(".notice.bad")).to_have_text(
            "Compute 'cpu-cluster' has 3 jobs waiting or running; cancel them or wait for them to end first.")
        screenshot(page, "compute-delete-refused")
        page.get_by_role("link", name="Back to compute").click()

        page.locator("#cluster-cpu-cluster .queued-demand").click()
        expect(page).to_have_url(f"{studio_url}/jobs/?compute=cpu-cluster&waiting=any")


def test_it_creates_and_deletes_a_cluster_from_the_compute_page(page, studio_url, user, workspace):
    page.goto(f"{studio_url}/compute/")
    page.fill("#id_name", "gpu-x")
    page.select_option("#id_size", "Standard_NC4as_T4_v3")
    page.fill("#id_min_instances", "3")
    page.fill("#id_max_instances", "1")
    page.get_by_role("button", name="Create cluster").click()
    expect(page.locator("#id_min_instances ~ .field-error")).to_contain_text("3 is more than max_instances (1)")
    expect(page.locator("#id_size")).to_have_value("Standard_NC4as_T4_v3")
    screenshot(page, "compute-create-error")
    page.fill("#id_min_instances", "0")
    page.get_by_role("button", name="Create cluster").click()
    expect(page.locator(".message.success")).to_contain_text("Created compute cluster 'gpu-x'")
    page.locator("#cluster-gpu-x").get_by_role("link", name="Delete gpu-x").click()
    page.get_by_role("button", name="Delete gpu-x").click()
    expect(page.locator(".message.success")).to_contain_text("Deleted compute cluster 'gpu-x'")
    expect(page.locator("#cluster-gpu-x")).to_have_count(0)
