"""Browser tests: Debian's Chromium driven by Playwright against the studio on a free port.

The studio runs as pytest-django's live server with a real local executor. Screenshots go
to test-artifacts/screenshots/ (kept by CI as artifacts)."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import _require

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
# itself are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("STUDIO_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "browser-pw-123"


@pytest.fixture(scope="session")
def browser():
    _require(f"Chromium at {CHROMIUM} (apt-get install chromium)", bool(shutil.which(CHROMIUM)))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.fixture
def studio_url(live_server, local_executor, settings):
    settings.STUDIO_PUBLIC_URL = live_server.url
    return live_server.url


@contextmanager
def signed_in_page(browser, studio_url, user):
    """A page (desktop size) signed in as ``user``."""
    user.set_password(PASSWORD)
    user.save()
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{studio_url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{studio_url}/jobs/**")
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser, studio_url, user, workspace):
    """A signed-in page (desktop size)."""
    with signed_in_page(browser, studio_url, user) as page:
        yield page


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
