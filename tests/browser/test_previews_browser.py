"""Manage previews in a real browser: the switch works with htmx and the choice is kept."""

import pytest
from playwright.sync_api import expect

from previews.registry import SERVERLESS
from previews.selectors import preview_enabled
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_turns_serverless_on_and_off_and_keeps_the_choice_across_reloads(page, studio_url, user):
    page.goto(f"{studio_url}/previews/")
    switch = page.get_by_role("switch", name="Serverless compute")
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(page.locator(f"#preview-row-{SERVERLESS} .badge.preview")).to_have_text("Preview")
    page.evaluate("window.notReloaded = true")

    switch.click()
    expect(switch).to_have_attribute("aria-checked", "true")
    expect(switch).to_contain_text("On")
    assert page.evaluate("window.notReloaded") is True  # swapped in place by htmx, not a form post
    assert preview_enabled(user=user, key=SERVERLESS) is True
    screenshot(page, "previews")

    page.reload()
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "false")
    page.reload()
    expect(switch).to_have_attribute("aria-checked", "false")
    assert preview_enabled(user=user, key=SERVERLESS) is False


def test_the_switch_works_without_javascript(browser, page, studio_url, user):
    context = browser.new_context(java_script_enabled=False, storage_state=page.context.storage_state())
    plain = context.new_page()
    plain.goto(f"{studio_url}/previews/")
    plain.get_by_role("switch", name="Serverless compute").click()
    expect(plain.locator(".message.success")).to_have_text("Serverless compute is now on.")
    expect(plain.get_by_role("switch", name="Serverless compute")).to_have_attribute("aria-checked", "true")
    context.close()
