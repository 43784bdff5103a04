"""The Manage previews panel, the preview_required decorator and the preview_on tag."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpResponse
from django.template import Context, Template, TemplateSyntaxError

from previews.decorators import preview_required
from previews.registry import REGISTRY, SERVERLESS
from previews.selectors import preview_enabled

pytestmark = pytest.mark.django_db

URL = "/previews/"


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(username="grace", password="pw-grace-123")


def toggle(client, key, enabled, **extra):
    return client.post(URL, {"key": key, "enabled": "on" if enabled else "off"}, **extra)


def test_it_lists_every_preview_with_its_stage_and_description(client_in):
    response = client_in.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for preview in REGISTRY.values():
        assert f'id="preview-row-{preview.key}"' in html
        assert preview.name in html and preview.description in html
        assert f'<span class="badge preview">{preview.stage}</span>' in html
    assert 'role="switch" aria-checked="false"' in html
    assert response.context["section"] == "previews"


def test_it_turns_a_preview_on_with_htmx_and_returns_the_row(client_in, user):
    response = toggle(client_in, SERVERLESS, True, HTTP_HX_REQUEST="true",
                      HTTP_HX_TARGET=f"preview-row-{SERVERLESS}")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<li class="preview-row" id="preview-row-{SERVERLESS}">')
    assert "<html" not in html
    assert 'aria-checked="true"' in html and 'name="enabled" value="off"' in html
    assert preview_enabled(user=user, key=SERVERLESS) is True
    assert not list(get_messages(response.wsgi_request))  # nothing left over for the next full page

    toggle(client_in, SERVERLESS, False, HTTP_HX_REQUEST="true")
    assert preview_enabled(user=user, key=SERVERLESS) is False


def test_it_keeps_each_users_choice_apart(client, user, other_user):
    client.force_login(user)
    toggle(client, SERVERLESS, True)
    client.force_login(other_user)
    assert 'aria-checked="false"' in client.get(URL).content.decode()
    client.force_login(user)
    assert 'aria-checked="true"' in client.get(URL).content.decode()
    assert (preview_enabled(user=user, key=SERVERLESS), preview_enabled(user=other_user, key=SERVERLESS)) == (True, False)


def test_it_works_as_a_plain_form_without_javascript(client_in, user):
    response = toggle(client_in, SERVERLESS, True, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert "Serverless compute is now on." in response.content.decode()
    assert preview_enabled(user=user, key=SERVERLESS)


def test_it_goes_back_to_next_once_the_preview_is_on(client_in):
    page = client_in.get(URL, {"next": "/submit/?clone=x"}).content.decode()
    assert 'name="next" value="/submit/?clone=x"' in page
    response = client_in.post(URL, {"key": SERVERLESS, "enabled": "on", "next": "/submit/?clone=x"})
    assert response.status_code == 302 and response["Location"] == "/submit/?clone=x"


def test_it_ignores_a_next_on_another_site(client_in):
    response = client_in.post(URL, {"key": SERVERLESS, "enabled": "on", "next": "https://evil.example/"})
    assert response["Location"] == URL


def test_it_refuses_an_unknown_preview_with_a_message(client_in):
    response = toggle(client_in, "no-such-preview", True, follow=True)
    assert response.status_code == 200
    assert "preview &#x27;no-such-preview&#x27; does not exist" in response.content.decode()
    htmx = toggle(client_in, "no-such-preview", True, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 404 and b"does not exist" in htmx.content


def test_it_sends_anonymous_users_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert toggle(client, SERVERLESS, True).status_code == 302


# --- preview_required ------------------------------------------------------------------------------


@preview_required(SERVERLESS)
def gated(request):
    return HttpResponse("gated page")


def request_for(rf, user, path="/submit/?clone=abc", **headers):
    request = rf.get(path, **headers)
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    request.htmx = bool(headers.get("HTTP_HX_REQUEST"))
    return request


def test_preview_required_sends_users_to_the_panel_while_the_preview_is_off(rf, user):
    request = request_for(rf, user)
    response = gated(request)
    assert response.status_code == 302
    assert response["Location"] == "/previews/?next=%2Fsubmit%2F%3Fclone%3Dabc"
    assert [str(m) for m in request._messages] == [
        "Serverless compute is a preview feature. Turn it on below to use that page."]


def test_preview_required_redirects_htmx_requests_in_the_browser(rf, user):
    response = gated(request_for(rf, user, HTTP_HX_REQUEST="true"))
    assert response.status_code == 200 and response["HX-Redirect"].startswith("/previews/?next=")


def test_preview_required_runs_the_view_once_the_preview_is_on(rf, client, user):
    client.force_login(user)
    toggle(client, SERVERLESS, True)
    assert gated(request_for(rf, user)).content == b"gated page"


def test_preview_required_sends_anonymous_users_to_sign_in(rf):
    from django.contrib.auth.models import AnonymousUser

    response = gated(request_for(rf, AnonymousUser()))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_preview_required_refuses_an_unknown_key_when_the_view_is_defined():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="no-such"):
        preview_required("no-such")


# --- {% preview_on %} -------------------------------------------------------------------------------

TAG = Template('{% load previews %}{% preview_on "serverless-compute" as serverless %}'
               '{% if serverless %}shown{% else %}hidden{% endif %}')


def test_the_tag_shows_what_a_preview_gates_only_to_users_who_turned_it_on(rf, client, user, other_user):
    client.force_login(user)
    toggle(client, SERVERLESS, True)
    assert TAG.render(Context({"request": request_for(rf, user), "user": user})) == "shown"
    assert TAG.render(Context({"request": request_for(rf, other_user), "user": other_user})) == "hidden"


def test_the_tag_asks_the_database_once_per_request(rf, user, django_assert_num_queries):
    request = request_for(rf, user)
    twice = Template('{% load previews %}{% preview_on "serverless-compute" as a %}'
                     '{% preview_on "serverless-compute" as b %}{{ a }}{{ b }}')
    with django_assert_num_queries(1):
        assert twice.render(Context({"request": request, "user": user})) == "FalseFalse"


def test_the_tag_refuses_an_unknown_preview(rf, user):
    with pytest.raises(TemplateSyntaxError, match="unknown preview"):
        Template('{% load previews %}{% preview_on "nope" as x %}').render(Context({"user": user}))
