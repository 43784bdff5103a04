"""`manage.py studio_setup` (what `dev.py run` calls) prints a demo login that works: the one it
saved when the saved one still signs in, and a new one, said so, when it does not."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def login_file(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STUDIO_DEMO_LOGIN_FILE = tmp_path / "var" / "demo-login.json"
    return settings.STUDIO_DEMO_LOGIN_FILE


def setup() -> tuple[str, str]:
    """Run the command as `dev.py run` does; the password it printed, and what it warned about."""
    out, err = io.StringIO(), io.StringIO()
    call_command("studio_setup", "--no-profile", stdout=out, stderr=err)
    password = re.search(r"^Login: +demo / (\S+)", out.getvalue(), re.MULTILINE).group(1)
    return password, err.getvalue()


def signs_in(password: str) -> bool:
    return authenticate(HttpRequest(), username="demo", password=password) is not None  # axes wants the request


def test_it_keeps_the_demo_login_where_the_setting_says(login_file):
    password, warned = setup()
    assert signs_in(password) and not warned
    assert json.loads(login_file.read_text()) == {"username": "demo", "password": password}
    assert login_file.stat().st_mode & 0o777 == 0o600
    assert setup() == (password, "")  # the next run prints the same, working, password


def test_it_resets_a_saved_password_that_does_not_sign_in(login_file):
    """A login saved for another database (the bug: a benchmark's run of this command wrote the
    checkout's var/demo-login.json for its own throwaway database)."""
    first, _ = setup()
    login_file.write_text(json.dumps({"username": "demo", "password": "from-another-database"}))
    password, warned = setup()
    assert "does not sign 'demo' in" in warned and str(login_file) in warned
    assert password != "from-another-database" and signs_in(password) and not signs_in(first)
    assert json.loads(login_file.read_text())["password"] == password


@pytest.mark.parametrize("saved", ['{"username": "someone-else", "password": "x"}', "not json", "[]"])
def test_it_resets_a_saved_login_it_cannot_use(login_file, saved):
    setup()
    login_file.write_text(saved)
    password, warned = setup()
    assert "has been reset" in warned and signs_in(password)


def test_it_leaves_a_password_alone_when_nothing_was_saved(login_file):
    setup()
    login_file.unlink()
    printed, warned = setup()
    assert printed == "(unchanged;" and not warned and not login_file.exists()

