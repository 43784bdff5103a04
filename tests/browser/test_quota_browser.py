"""Quota & usage and Compute in a real browser, against the live studio with a real local executor."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jobs import services
from jobs.models import TERMINAL, JobStatus
from jobs.specs import load_command_job
from quotas.models import UsageRecord, WorkspaceQuota
from quotas.services import cluster_create
from tests.browser.conftest import screenshot
from tests.jobs.helpers import wait_for_status, with_environment

pytestmark = pytest.mark.django_db(transaction=True)


def _history(user, workspace):
    """Two weeks of finished nodes on Serverless and on a cluster, so that the chart has bars."""
    rng = random.Random(7)
    now = timezone.now()
    records = []
    for day in range(1, 14):
        for k in range(rng.randint(1, 4)):
            start = now - timedelta(days=day, hours=rng.uniform(0, 20))
            serverless = rng.random() < 0.7
            size, family, vcpus, price = (("Standard_D2as_v4", "standardDASv4Family", 2, 0.096) if serverless and k % 2
                                          else ("Standard_DS3_v2", "standardDSv2Family", 4, 0.293))
            records.append(UsageRecord(
                workspace=workspace, user=user, job_name=f"old-{day}-{k}", node_id=9_000_000 + day * 10 + k,
                compute="serverless" if serverless else "cpu-cluster", vm_size=size, family=family,
                tier="Standard", vcpus=vcpus, price_per_hour=price, started_at=start,
                ended_at=start + timedelta(hours=rng.uniform(0.3, 3.5))))
    UsageRecord.objects.bulk_create(records)


def _edit(page, family: str):
    """Click a family's Edit and wait for its form, including the autofocus htmx gives it as the swap
    settles (typing before that would land in the focused field)."""
    row = page.locator(f"#quota-row-{family}")
    row.get_by_role("link", name="Edit").click()
    expect(row.locator("input[name=subscription_limit]")).to_be_focused()
    return row


def _saving(family: str):
    """Matches the htmx POST that saves a family's row."""
    return lambda response: (response.request.method == "POST" and response.url.endswith(f"/quota/families/{family}/")
                             and response.request.headers.get("hx-request") == "true")


def _submit(user, workspace, command: str):
    spec = load_command_job(with_environment(f"command: {command}\n"))
    return services.job_submit(user=user, workspace=workspace, spec=spec)


def test_it_lists_serverless_with_a_running_jobs_usage_and_edits_quota_in_place(page, studio_url, user, workspace):
    cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_DS3_v2", min_instances=0,
                   max_instances=2, idle_seconds=300)
    _history(user, workspace)
    job = _submit(user, workspace, "sleep 60")
    try:
        wait_for_status(job.name, {JobStatus.RUNNING})

        page.goto(f"{studio_url}/quota/")
        rows = page.locator("#usage-by-compute tbody tr")
        expect(rows.first).to_have_attribute("data-compute", "Serverless")
        serverless = page.locator("#usage-by-compute tr[data-compute=Serverless] td")
        expect(serverless.nth(2)).to_have_text("1")  # nodes in use
        expect(serverless.nth(3)).to_contain_text("2")  # vCPUs of the chosen Standard_D2as_v4
        expect(serverless.nth(3)).to_contain_text("Standard DASv4 Family vCPUs")
        expect(serverless.nth(4)).to_have_text("1")  # running jobs
        expect(page.locator("#usage-by-compute tr[data-compute=cpu-cluster]")).to_be_visible()
        expect(page.locator("#serverless-now .stat-value").first).to_have_text("1")
        expect(page.locator("#usage-chart svg.usage-chart rect.segment").first).to_be_visible()
        screenshot(page, "quota-usage")

        # In-place edit: the row becomes a form, saving puts the row back with the new cap.
        row = _edit(page, "standardDSv3Family")
        cap = row.locator("input[name=workspace_cap]")
        cap.fill("8")
        with page.expect_response(_saving("standardDSv3Family")) as saved:
            row.get_by_role("button", name="Save").click()
        assert "workspace_cap=8" in saved.value.request.post_data
        expect(page.locator("#quota-row-standardDSv3Family input")).to_have_count(0)
        expect(page.locator("#quota-row-standardDSv3Family td").nth(2)).to_have_text("8")
        assert WorkspaceQuota.objects.get(workspace=workspace, family_id="standardDSv3Family").limit == 8
        assert page.url == f"{studio_url}/quota/"  # htmx swapped the row; no page load

        # Above the subscription's limit: the service's message in the row, nothing changed.
        _edit(page, "standardDSv3Family").locator("input[name=workspace_cap]").fill("99")
        with page.expect_response(_saving("standardDSv3Family")):
            row.get_by_role("button", name="Save").click()
        expect(page.locator("#quota-row-standardDSv3Family [role=alert]")).to_contain_text(
            "cannot exceed the subscription's quota (20 vCPUs of standardDSv3Family)")
        assert WorkspaceQuota.objects.get(workspace=workspace, family_id="standardDSv3Family").limit == 8
        page.locator("#quota-row-standardDSv3Family").get_by_role("link", name="Cancel").click()
        expect(page.locator("#quota-row-standardDSv3Family td").nth(2)).to_have_text("8")

        # The chart switches to cost by VM family without a page load.
        page.locator("#usage-chart").get_by_role("link", name="Cost (USD)").click()
        expect(page).to_have_url(f"{studio_url}/quota/?metric=cost_usd")
        expect(page.locator("#usage-chart a[aria-current=true]").first).to_have_text("Cost (USD)")
        page.locator("#usage-chart").get_by_role("link", name="By VM family").click()
        expect(page.locator("#usage-chart .legend")).to_contain_text("standardDSv2Family")
        expect(page).to_have_url(f"{studio_url}/quota/?metric=cost_usd&by=family")

        page.goto(f"{studio_url}/compute/")
        first = page.locator(".compute-table tbody tr").first
        expect(first).to_contain_text("Serverless")
        expect(first.locator("td").nth(3)).to_have_text("1")
        expect(page.locator("#serverless")).to_contain_text("No cluster to create")
        expect(page.locator("#cluster-cpu-cluster")).to_contain_text("Standard_DS3_v2")
        screenshot(page, "compute")

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{studio_url}/quota/")
        expect(page.locator("#usage-by-compute tr[data-compute=Serverless]")).to_be_attached()
        screenshot(page, "quota-usage-narrow")
    finally:
        job.refresh_from_db()
        if job.status not in TERMINAL:
            services.job_cancel(job=job, user=user)
        wait_for_status(job.name, TERMINAL)


def test_it_creates_and_deletes_a_cluster_from_the_compute_page(page, studio_url, user, workspace):
    page.goto(f"{studio_url}/compute/")
    page.fill("#id_name", "gpu-x")
    page.select_option("#id_size", "Standard_NC4as_T4_v3")
    page.fill("#id_min_instances", "3")
    page.fill("#id_max_instances", "1")
    page.get_by_role("button", name="Create cluster").click()
    expect(page.locator("#id_min_instances ~ .field-error")).to_contain_text("3 is more than max_instances (1)")
    expect(page.locator("#id_size")).to_have_value("Standard_NC4as_T4_v3")
    page.fill("#id_min_instances", "0")
    page.get_by_role("button", name="Create cluster").click()
    expect(page.locator(".message.success")).to_contain_text("Created compute cluster 'gpu-x'")
    page.locator("#cluster-gpu-x").get_by_role("link", name="Delete gpu-x").click()
    page.get_by_role("button", name="Delete gpu-x").click()
    expect(page.locator(".message.success")).to_contain_text("Deleted compute cluster 'gpu-x'")
    expect(page.locator("#cluster-gpu-x")).to_have_count(0)
