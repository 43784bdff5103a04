"""The suite never writes into the checkout's var/ (where `dev.py run` keeps its database, data,
secret key and demo login): tests/conftest.py points the data folder and the demo login elsewhere
for the session, the SQLite test database is in the temporary folder, and the session fails if
var/ changed anyway."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from studio import settings as studio_settings
from tests.conftest import CHECKOUT_VAR, checkout_changes, checkout_snapshot


def test_it_keeps_the_studios_files_out_of_the_checkout_during_tests():
    assert CHECKOUT_VAR == studio_settings.BASE_DIR / "var"
    assert studio_settings.STUDIO_DEMO_LOGIN_FILE == CHECKOUT_VAR / "demo-login.json"  # outside tests
    for path in (settings.STUDIO_DATA_DIR, settings.STUDIO_DEMO_LOGIN_FILE,
                 settings.DATABASES["default"].get("TEST", {}).get("NAME") or "/elsewhere"):
        assert not Path(path).resolve().is_relative_to(CHECKOUT_VAR), path


def test_it_sees_a_file_written_changed_or_removed(tmp_path):
    var = tmp_path / "var"
    (var / "static").mkdir(parents=True)
    (var / "secret-key").write_text("s")
    (var / "studio.db").write_text("the dev studio's, changing as it runs")
    before = checkout_snapshot(var)
    (var / "demo-login.json").write_text("{}")
    (var / "secret-key").write_text("another")
    (var / "studio.db").write_text("changed by `dev.py run` in another terminal")
    (var / "data").mkdir()
    assert checkout_changes(before, checkout_snapshot(var)) == ["written: demo-login.json", "changed: secret-key"]
    (var / "static").rmdir()
    assert "removed: static" in checkout_changes(before, checkout_snapshot(var))
