"""What every response tells the browser: a Content-Security-Policy with no inline script, style
or eval; cookies marked Secure when STUDIO_SECURE_COOKIES says the studio is behind HTTPS; the
OpenAPI schema for signed-in users unless STUDIO_PUBLIC_SCHEMA opens it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in header.split("; ")}


@pytest.mark.parametrize("url", ["/accounts/login/", "/healthz", "/api/v1/jobs", "/jobs/", "/quota/", "/compute/",
                                 "/designer/", "/admin/login/", "/no-such-page/"])
def test_every_response_carries_the_policy(client, url):
    found = policy(client.get(url))
    assert found["default-src"] == found["script-src"] == found["style-src"] == "'self'"
    assert found["object-src"] == "'none'" and found["frame-ancestors"] == "'none'"
    assert "unsafe" not in " ".join(found.values())


def test_no_template_has_inline_script_style_or_handlers():
    """What the policy would block: a <script> without src, a style attribute or <style>, an on…=
    handler, htmx's hx-on (it evals)."""
    problems = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\sstyle=", r"<style", r"\son[a-z]+=", r"hx-on"):
            problems += [f"{path.relative_to(TEMPLATES)}: {m.group(0)!r}" for m in re.finditer(pattern, text)]
    assert not problems


def test_cookies_are_secure_only_when_the_setting_says(settings, user):
    def cookies():
        client = Client()
        client.get("/accounts/login/")  # the CSRF cookie
        client.post("/accounts/login/", {"username": "ada", "password": "pw-ada-123",
                                          "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
        return {name: bool(morsel["secure"]) for name, morsel in client.cookies.items()}

    assert cookies() == {"csrftoken": False, "sessionid": False}
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    assert cookies() == {"csrftoken": True, "sessionid": True}


def test_the_schema_is_for_signed_in_users(client, user):
    anonymous = client.get("/api/schema/")
    assert anonymous.status_code == 401
    assert "/api/v1/jobs" not in anonymous.content.decode()
    assert api_client_for(user).get("/api/schema/").status_code == 200
    client.force_login(user)
    assert client.get("/api/schema/").status_code == 200


def test_a_setting_opens_the_schema_to_everyone(client, settings):
    settings.STUDIO_PUBLIC_SCHEMA = True
    response = client.get("/api/schema/")
    assert response.status_code == 200 and "/api/v1/jobs" in response.content.decode()
