"""Sign-in and the layout every page shares."""

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_signs_in_and_shows_the_navigation(page, studio_url):
    nav = page.locator("nav.sidebar a")
    assert nav.all_inner_texts() == ["Jobs", "Designer", "Compute", "Quota & usage", "Manage previews"]
    assert page.locator("#workspace-select").input_value() == "ws-1"


def test_it_refuses_a_wrong_password(browser, studio_url, user):
    page = browser.new_page()
    page.goto(f"{studio_url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert "didn't match" in page.locator("[role=alert]").inner_text()
    screenshot(page, "sign-in")
    page.close()


def test_it_keeps_pages_usable_on_a_narrow_screen(page, studio_url):
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{studio_url}/designer/")
    assert page.locator("nav.sidebar").is_visible()
    screenshot(page, "designer-narrow")
