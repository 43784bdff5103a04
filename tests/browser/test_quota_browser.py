"""Quota & usage in a real browser, against the live studio with a real local executor (Compute:
test_compute_browser.py)."""

from __future__ import annotations

import random
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jobs import services
from jobs.lifecycle import Status, TERMINAL
from jobs.specs import load_command_job
from quotas.models import UsageRecord, WorkspaceQuota
from quotas.services import cluster_create
from tests.browser.conftest import SCREENSHOTS, screenshot
from tests.jobs.helpers import wait_for_status, with_environment

pytestmark = pytest.mark.django_db(transaction=True)


def screenshot_path(name: str):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


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


def waiting_jobs(user, workspace, text: str, count: int) -> list:
    """``count`` jobs of ``text`` that the scheduling service puts in the queue (it records what they
    wait for: the quota page and the compute page show it)."""
    jobs = [services.job_submit(user=user, workspace=workspace, spec=load_command_job(with_environment(text)))
            for _ in range(count)]
    for job in jobs:
        wait_for_status(job.name, {Status.QUEUED})
    return jobs


@contextmanager
def running_job(user, workspace, text: str):
    """A job of ``text`` (YAML without its environment), submitted and Running; canceled on the way out."""
    job = services.job_submit(user=user, workspace=workspace, spec=load_command_job(with_environment(text)))
    try:
        wait_for_status(job.name, {Status.RUNNING})
        yield job
    finally:
        job.refresh_from_db()
        if job.status not in TERMINAL:
            services.job_cancel(job=job, user=user)
        wait_for_status(job.name, TERMINAL)


def test_it_lists_serverless_with_a_running_jobs_usage_and_edits_quota_in_place(page, studio_url, user, workspace,
                                                                               set_quota):
    cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_DS3_v2", min_instances=0,
                   max_instances=2, idle_seconds=300)
    _history(user, workspace)
    set_quota("spot", 8)
    with running_job(user, workspace, "command: sleep 60\n"), \
            running_job(user, workspace, "command: sleep 60\nresources:\n  instance_type: Standard_D16s_v3\n"), \
            running_job(user, workspace, "command: sleep 60\nresources:\n  instance_type: Standard_D8s_v3\n"
                                         "queue_settings:\n  job_tier: Spot\n"):
        # 16 of DSv3's 20 vCPUs and all 8 of the Spot pool are in use: three 8-vCPU jobs and one Spot job wait
        waiting_jobs(user, workspace, "command: echo hi\nresources:\n  instance_type: Standard_D8s_v3\n", 3)
        waiting_jobs(user, workspace, "command: echo hi\nresources:\n  instance_type: Standard_D8s_v3\n"
                                      "queue_settings:\n  job_tier: Spot\n", 1)

        page.goto(f"{studio_url}/quota/")
        rows = page.locator("#usage-by-compute tbody tr")
        expect(rows.first).to_have_attribute("data-compute", "Serverless")
        serverless = page.locator("#usage-by-compute tr[data-compute=Serverless] td")
        expect(serverless.nth(2)).to_have_text("3")  # nodes in use: the three running jobs' nodes
        expect(serverless.nth(3)).to_contain_text("2")  # vCPUs of the chosen Standard_D2as_v4
        expect(serverless.nth(3)).to_contain_text("Standard DASv4 Family vCPUs")
        expect(serverless.nth(4)).to_have_text("3")  # running jobs
        expect(page.locator("#usage-by-compute tr[data-compute=cpu-cluster]")).to_be_visible()
        expect(page.locator("#serverless-now .stat-value").first).to_have_text("3")
        expect(page.locator("#usage-chart svg.usage-chart rect.segment").first).to_be_visible()
        queued = page.locator("#quota-row-standardDSv3Family .queued-demand")
        expect(queued).to_have_text("24 vCPUs queued · 3 jobs")
        expect(page.locator("#spot-pool .queued-demand")).to_have_text("8 vCPUs queued · 1 job")
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

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{studio_url}/quota/")
        expect(page.locator("#usage-by-compute tr[data-compute=Serverless]")).to_be_attached()
        screenshot(page, "quota-usage-narrow")

        # The queued figure leads to the waiting jobs.
        page.set_viewport_size({"width": 1360, "height": 900})
        page.locator("#quota-row-standardDSv3Family .queued-demand").click()
        expect(page).to_have_url(f"{studio_url}/jobs/?waiting=any")


def test_the_chart_of_small_usage_has_distinct_y_axis_ticks(page, studio_url, user, workspace):
    """A few one-minute nodes: hundredths of a vCPU-hour a day, where the axis used to read
    0.01 / 0.01 / 0.01."""
    now = timezone.now()
    UsageRecord.objects.bulk_create([
        UsageRecord(workspace=workspace, user=user, job_name=f"tiny-{day}", node_id=8_000_000 + day,
                    compute="serverless", vm_size="Standard_D2as_v4", family="standardDASv4Family", tier="Standard",
                    vcpus=2, price_per_hour=0.096, started_at=now - timedelta(days=day, minutes=1 + day % 3),
                    ended_at=now - timedelta(days=day))
        for day in range(1, 6)])

    page.goto(f"{studio_url}/quota/#usage-chart")
    ticks = page.locator("#usage-chart svg.usage-chart.wide text.axis-label[text-anchor=end]").all_text_contents()
    # e.g. 0 / 0.025 / 0.050 / 0.075 / 0.100 for 0.1 vCPU-hours on the busiest day
    assert len(set(ticks)) == 5 and ticks[0] == "0" and all(t.startswith("0.0") for t in ticks[1:4]), ticks
    page.locator("#usage-chart").get_by_role("link", name="Cost (USD)").click()
    expect(page.locator("#usage-chart a[aria-current=true]").first).to_have_text("Cost (USD)")
    ticks = page.locator("#usage-chart svg.usage-chart.wide text.axis-label[text-anchor=end]").all_text_contents()
    assert len(set(ticks)) == 5, ticks
    page.locator("#usage-chart").screenshot(path=str(screenshot_path("quota-chart-small-values")))
