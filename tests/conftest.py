"""Shared fixtures. Database tests run on whatever DATABASE_URL names (PostgreSQL in CI)."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest


def pytest_report_header(config):
    from django.conf import settings

    if not settings.configured:
        return []
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = os.environ.get("CELERY_BROKER_URL") or "none (local executor)"
    return [f"database: {engine}; broker: {broker}"]


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Tests sign in with passwords they just made: a deliberately slow hash (a quarter of a second
    each) tests nothing of ours."""
    from django.conf import settings as django_settings

    if django_settings.configured:
        django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.STUDIO_DATA_DIR = tmp_path / "data"
    settings.STUDIO_DATA_DIR.mkdir()
    return settings.STUDIO_DATA_DIR


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="ada", password="pw-ada-123")


@pytest.fixture
def catalogue(db):
    """The shipped VM catalogue (a transactional test's flush empties what the migration loaded)."""
    from quotas.services import catalogue_load_defaults

    catalogue_load_defaults()


@pytest.fixture
def workspace(catalogue, user):
    from quotas.services import workspace_ensure

    return workspace_ensure(subscription_name="sub-1", workspace_name="ws-1", admin=user)


@pytest.fixture
def set_quota(user, workspace):
    """Set the subscription's quota for a family (or `cores`, or `spot`) in vCPUs."""
    from quotas.services import quota_set, quota_set_spot

    def set_quota(family: str, limit: int) -> None:
        if family == "spot":
            quota_set_spot(user=user, subscription=workspace.subscription, limit=limit)
        else:
            quota_set(user=user, subscription=workspace.subscription, family_id=family, limit=limit)

    return set_quota


@pytest.fixture
def api(user, workspace):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def local_executor(transactional_db, data_dir, settings):
    """A real local executor (and scheduling loop) running in a background thread."""
    from jobs.executors import LocalExecutor

    settings.STUDIO_HEARTBEAT_SECONDS = 0.2
    with running_executor(LocalExecutor(max_nodes=4, interval=0.5)) as executor:
        yield executor


@contextmanager
def running_executor(executor):
    """``executor``'s loop in a background thread, stopped (and its nodes with it) on the way out."""
    thread = threading.Thread(target=executor.run, daemon=True)
    thread.start()
    try:
        yield executor
    finally:
        executor.shutdown()
        thread.join(timeout=10)


@pytest.fixture(autouse=True)
def _local_executor_by_default(request):
    """CI sets CELERY_BROKER_URL so that the Celery tests can run; every other test uses the
    embedded local executor, so that no test leaves messages on the broker. (Pure tests run
    without Django at all: then there is nothing to set.)"""
    from django.conf import settings as django_settings

    if django_settings.configured:
        request.getfixturevalue("settings").STUDIO_EXECUTOR = "local"


def _require(name: str, present: bool) -> None:
    """Skip (with a reason) when a service is not configured; in CI (STUDIO_REQUIRE_SERVICES) fail."""
    if present:
        return
    reason = f"needs {name}; set it to run this test"
    if os.environ.get("STUDIO_REQUIRE_SERVICES"):
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


@pytest.fixture
def postgres():
    from django.db import connection

    _require("DATABASE_URL=postgres://...", connection.vendor == "postgresql")


@pytest.fixture
def broker_url():
    url = os.environ.get("CELERY_BROKER_URL")
    _require("CELERY_BROKER_URL=redis://...", bool(url))
    return url


# --- who else is there: an outsider and a plain member (as healthchecks' alice, bob and charlie) ---


@pytest.fixture
def make_user(django_user_model, catalogue):
    """A user (password ``pw-<name>-123``): admin of ``admins=(subscription, workspace)`` (created
    when new, its owner), and ``role`` (contributor unless said) in each workspace in ``member_of``."""
    from quotas.models import WorkspaceMember
    from quotas.services import workspace_ensure

    def make(username: str, *, admins: tuple[str, str] | None = None, member_of=(), role: str = "contributor"):
        made = django_user_model.objects.create_user(username=username, password=f"pw-{username}-123")
        if admins:
            workspace_ensure(subscription_name=admins[0], workspace_name=admins[1], admin=made)
        for workspace in member_of:
            WorkspaceMember.objects.create(workspace=workspace, user=made, role=role)
        return made

    return make


@pytest.fixture
def outsider(make_user):
    """bob: admin of his own subscription and workspace (sub-2 / ws-2), and of nothing of ada's."""
    return make_user("bob", admins=("sub-2", "ws-2"))


@pytest.fixture
def outsider_workspace(outsider):
    from quotas.models import Workspace

    return Workspace.objects.select_related("subscription").get(name="ws-2")


@pytest.fixture
def member(make_user, workspace):
    """charlie: a contributor in ada's workspace ws-1 who administers nothing."""
    return make_user("charlie", member_of=[workspace])


def api_client_for(user):
    """A DRF client that sends ``user``'s API token, as the CLI does."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


# --- the checkout's var/ belongs to `dev.py run` -----------------------------------------------

CHECKOUT_VAR = Path(__file__).resolve().parents[1] / "var"
# What a `dev.py run` in another terminal changes while the suite runs (tests never reach them:
# the session below points the data folder elsewhere, and the test database is in the temp dir).
DEV_RUN_WRITES = ("studio.db", "studio.db-journal", "studio.db-wal", "studio.db-shm", "data")


def checkout_snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` (but what a running studio writes) with its size and mtime."""
    if not root.is_dir():
        return {}
    found = {}
    for entry in root.iterdir():
        if entry.name in DEV_RUN_WRITES:
            continue
        for path in [entry, *entry.rglob("*")] if entry.is_dir() else [entry]:
            stat = path.lstat()
            found[path.relative_to(root).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


def checkout_changes(before: dict, after: dict) -> list[str]:
    """What changed between two snapshots, one line per path."""
    lines = [f"written: {path}" for path in sorted(after.keys() - before.keys())]
    lines += [f"changed: {path}" for path in sorted(before.keys() & after.keys()) if before[path] != after[path]]
    lines += [f"removed: {path}" for path in sorted(before.keys() - after.keys())]
    return lines


@pytest.fixture(scope="session", autouse=True)
def _nothing_written_into_the_checkouts_var(tmp_path_factory):
    """Tests keep the studio's data and the demo login in a temporary folder; after the session,
    the checkout's var/ must be as it was (a test that wrote var/demo-login.json made `dev.py run`
    print a demo password that did not work)."""
    from django.conf import settings as django_settings

    override = None
    if django_settings.configured:
        from django.test import override_settings

        scratch = tmp_path_factory.mktemp("studio-session")
        override = override_settings(STUDIO_DATA_DIR=scratch / "data",
                                     STUDIO_DEMO_LOGIN_FILE=scratch / "demo-login.json")
        override.enable()
    before = checkout_snapshot(CHECKOUT_VAR)
    yield
    if override is not None:
        override.disable()
    changes = checkout_changes(before, checkout_snapshot(CHECKOUT_VAR))
    if changes:
        pytest.fail(f"the suite wrote into the checkout's {CHECKOUT_VAR} (use tmp_path, the data_dir fixture or "
                    "settings.STUDIO_DEMO_LOGIN_FILE):\n  " + "\n  ".join(changes), pytrace=False)
