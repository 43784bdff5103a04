import json
import stat

import pytest

from studio.cli.errors import CliError
from studio.cli.common import connection
from studio.cli.main import build_parser
from studio.cli.profile import load_profile, profile_path, save_profile


def args(*argv):
    return build_parser().parse_args([*argv, "job", "list"])


def test_it_reads_back_a_saved_profile(tmp_path):
    path = save_profile(url="http://studio:8000", token="abc", workspace="ws")
    assert path == profile_path() == tmp_path / "config" / "profile.json"
    assert load_profile() == {"url": "http://studio:8000", "token": "abc", "workspace": "ws"}
    assert json.loads(path.read_text()) == {"url": "http://studio:8000", "token": "abc", "workspace": "ws"}


def test_it_keeps_the_profile_private_to_its_owner():
    path = save_profile("http://studio:8000", "secret", "ws")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_it_overwrites_a_profile_without_leaving_temporary_files():
    save_profile("http://a", "1", "w1")
    path = save_profile("http://b", "2", None)
    assert load_profile() == {"url": "http://b", "token": "2"}
    assert [p.name for p in path.parent.iterdir()] == ["profile.json"]


def test_it_uses_the_home_folder_without_studio_config(monkeypatch, tmp_path):
    monkeypatch.delenv("STUDIO_CONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert profile_path() == tmp_path / ".config" / "serverless-studio" / "profile.json"


def test_it_treats_a_missing_profile_as_empty():
    assert load_profile() == {}


def test_it_explains_a_broken_profile():
    profile_path().parent.mkdir(parents=True)
    profile_path().write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_profile()


def test_it_prefers_options_then_environment_then_profile(monkeypatch):
    save_profile("http://saved:8000", "saved-token", "saved-ws")
    assert connection(args()) == ("http://saved:8000", "saved-token", "saved-ws")
    monkeypatch.setenv("STUDIO_TOKEN", "env-token")
    assert connection(args()) == ("http://saved:8000", "env-token", "saved-ws")
    assert connection(args("--token", "flag-token")) == ("http://saved:8000", "flag-token", "saved-ws")


def test_it_never_sends_the_saved_token_to_another_studio():
    save_profile("http://saved:8000", "saved-token", "saved-ws")
    with pytest.raises(CliError, match="no API token for http://other:8000"):
        connection(args("--url", "http://other:8000"))
    assert connection(args("--url", "http://saved:8000/")) == ("http://saved:8000/", "saved-token", "saved-ws")


def test_it_says_how_to_configure_when_nothing_is_set(run):
    code, out, err = run("job", "list")
    assert code == 1 and out == ""
    assert "--url" in err and "STUDIO_TOKEN" in err and "studio_setup" in err and str(profile_path()) in err
