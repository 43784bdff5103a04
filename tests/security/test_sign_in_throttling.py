"""Signing in is throttled per username and address (django-axes): after the failure limit the pair
is locked out with a page that says so and for how long, a right password included, while the same
user from another address and other users from this one still sign in."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def limit(settings):
    settings.AXES_FAILURE_LIMIT = settings.STUDIO_LOGIN_FAILURE_LIMIT = 3
    return 3


def sign_in(username: str, password: str, address: str = "10.0.0.1"):
    return Client(REMOTE_ADDR=address).post("/accounts/login/", {"username": username, "password": password})


def test_it_locks_a_username_out_from_an_address_after_the_limit(limit, user, make_user):
    make_user("grace")
    for _ in range(limit - 1):
        wrong = sign_in("ada", "not-her-password")
        assert wrong.status_code == 200 and "didn't match" in wrong.content.decode()
    locked = sign_in("ada", "not-her-password")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert 'id="locked-out"' in page and "Too many failed sign-ins as <strong>ada</strong>" in page
    assert "locked for 15 min" in page and "axes_reset_username ada" in page

    assert sign_in("ada", "pw-ada-123").status_code == 429  # the right password too, while locked
    assert sign_in("ada", "pw-ada-123", address="10.0.0.2").status_code == 302  # from elsewhere: signed in
    assert sign_in("grace", "pw-grace-123").status_code == 302  # another user from the same address


def test_a_success_before_the_limit_starts_the_count_again(limit, user):
    for _ in range(limit - 1):
        assert sign_in("ada", "wrong").status_code == 200
    assert sign_in("ada", "pw-ada-123").status_code == 302
    for _ in range(limit - 1):
        assert sign_in("ada", "wrong").status_code == 200
    assert sign_in("ada", "pw-ada-123").status_code == 302


def test_the_admin_sign_in_is_throttled_alike(limit, django_user_model):
    django_user_model.objects.create_superuser("root", password="pw-root-123")
    client = Client(REMOTE_ADDR="10.0.0.9")
    for _ in range(limit):
        answer = client.post("/admin/login/", {"username": "root", "password": "wrong"})
    assert answer.status_code == 429
    assert client.post("/admin/login/", {"username": "root", "password": "pw-root-123"}).status_code == 429
