"""The Content-Security-Policy in a real browser: the main pages load, poll and swap fragments with
htmx, and the scripts moved out of the templates still work, with not one violation reported —
while something the policy forbids (an inline script) is reported, so the check can fail."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from previews.registry import SERVERLESS
from previews.services import preview_set
from tests.browser.conftest import screenshot
from tests.browser.test_jobs_browser import held_job, release_file
from tests.browser.test_wizard_browser import next_step
from tests.jobs.helpers import wait_for_status
from jobs.lifecycle import Status

pytestmark = pytest.mark.django_db(transaction=True)

# Playwright's init scripts run outside the page's policy: this one records every violation.
RECORD = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
          "(e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));")


@pytest.fixture
def watched(page):
    """The signed-in page, recording CSP violations (events and the console's "Refused to ...")."""
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text else None)
    page.add_init_script(RECORD)
    page.console_refusals = console
    return page


def violations(page) -> list[str]:
    return page.evaluate("window.__csp || []") + page.console_refusals


def test_the_main_pages_load_with_no_violation(watched, studio_url, user, workspace, set_quota):
    page = watched
    preview_set(user=user, key=SERVERLESS, enabled=True)
    set_quota("standardDSv3Family", 24)
    job = held_job(user, workspace, "csp-job")
    wait_for_status(job.name, Status.RUNNING)

    page.goto(f"{studio_url}/jobs/")
    expect(page.locator("#job-rows")).to_contain_text("csp-job")
    with page.expect_response(lambda r: "/jobs/" in r.url and r.request.headers.get("hx-request") == "true"):
        pass  # the list polls while a job runs
    assert violations(page) == [], "jobs list"

    page.goto(f"{studio_url}/jobs/csp-job/")
    expect(page.locator("#job-log")).to_contain_text("first line from csp-job")
    with page.expect_response(lambda r: "offset=" in r.url):
        pass  # the log tail polls (and its scroll-keeping handler runs in studio.js)
    expect(page.get_by_role("button", name="Cancel job")).to_be_enabled()
    assert violations(page) == [], "job page"
    release_file("csp-job", workspace).write_text("go")
    expect(page.locator("[data-testid=job-status]")).to_have_text("Completed", timeout=60_000)
    assert violations(page) == [], "job page after it ended"

    for step in ("submit/", "compute/", "quota/", "designer/", "previews/"):
        page.goto(f"{studio_url}/{step}")
        page.wait_for_load_state("networkidle")
        screenshot(page, f"csp-{step.strip('/')}")
        assert violations(page) == [], step

    # The wizard's steps with scripts and htmx: the code step's file box, the compute step's filter.
    page.goto(f"{studio_url}/submit/")
    for title in ("Compute", "Environment"):
        next_step(page, title)
        page.wait_for_load_state("networkidle")  # the compute step's fit panel and size list load by htmx
    page.get_by_role("button", name="Next: Code").click()
    expect(page.locator(".wizard-steps li.current")).to_have_text("Code, command and inputs")
    # wizard-code.js runs (the step may be shown before its script has been fetched and run)
    page.wait_for_function("document.documentElement.classList.contains('wizard-js')")
    assert violations(page) == [], "wizard steps"

    # An htmx fragment swapped in: the quota row's edit form (ada administers sub-1).
    page.goto(f"{studio_url}/quota/")
    page.locator("#quota-row-standardDSv3Family").get_by_role("link", name="Edit").click()
    expect(page.locator("#quota-row-standardDSv3Family input[name=workspace_cap]")).to_be_visible()
    assert page.locator(".bar > span[class^=w-]").count() > 0  # meters drawn with classes, not style attributes
    assert violations(page) == [], "quota edit row"


def test_the_workspace_switcher_works_without_an_inline_handler(watched, studio_url, user):
    from quotas.services import workspace_ensure

    workspace_ensure(subscription_name="sub-1", workspace_name="ws-other", admin=user)
    page = watched
    page.goto(f"{studio_url}/compute/")
    with page.expect_navigation():
        page.select_option("#workspace-select", "ws-other")
    assert "workspace=ws-other" in page.url
    expect(page.locator("#workspace-select")).to_have_value("ws-other")
    assert violations(page) == []


def test_an_inline_script_is_reported(watched, studio_url):
    """The detector works: a script the page did not load from the studio is refused and reported."""
    page = watched
    page.goto(f"{studio_url}/jobs/")
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
                  " document.body.appendChild(s); }")
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.__ran") is None
    assert any(found.startswith("script-src") for found in violations(page))
