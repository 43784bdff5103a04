import json

import pytest

from tests.cli.fakes import family, quotas


def connect(studio):
    return ("--url", studio.url, "--token", "t")


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("  ") if cell.strip()]


QUOTAS = quotas(family("standardDSv2Family", 20, cap=8, used=12, ws_used=6),
                family("standardNCASv3_T4Family", 0),
                family("standardDASv4Family", 10, used=4, ws_used=0),
                spot_limit=16, spot_used=3)


def test_it_lists_quotas_with_free_vcpus_and_the_spot_pool_last(studio, run):
    studio.answer("GET", "/quotas", QUOTAS)
    code, out, err = run("quota", "list", "--workspace", "ws-1", *connect(studio))
    assert code == 0, err
    heading, header, *rows = out.splitlines()
    assert heading == "vCPU quota of subscription sub-1, workspace ws-1"
    assert cells(header) == ["FAMILY", "SUBSCRIPTION LIMIT", "WORKSPACE CAP", "IN USE (SUBSCRIPTION)",
                             "IN USE (WORKSPACE)", "FREE"]
    assert [cells(r) for r in rows] == [
        ["standardDSv2Family", "20", "8", "12", "6", "2"],      # the workspace cap leaves 2 of the 8 free
        ["standardDASv4Family", "10", "-", "4", "0", "6"],      # no cap: what the subscription has left
        ["Spot (shared pool)", "16", "-", "3", "-", "13"],
    ]
    assert "1 family with no quota and no use not shown; --all shows them" in err
    assert studio.made("GET", "/quotas")[0].query == {"workspace": ["ws-1"]}


def test_it_lists_every_family_with_all(studio, run):
    studio.answer("GET", "/quotas", QUOTAS)
    code, out, err = run("quota", "list", "--all", *connect(studio))
    assert code == 0 and "standardNCASv3_T4Family" in out and err == ""
    assert studio.made("GET", "/quotas")[0].query == {}  # no profile: the server's default workspace


def test_it_asks_for_the_profiles_workspace_by_default(studio, run):
    from studio.cli.profile import save_profile

    save_profile(studio.url, "saved", "ws-saved")
    studio.answer("GET", "/quotas", QUOTAS)
    assert run("quota", "list")[0] == 0
    assert studio.made("GET", "/quotas")[0].query == {"workspace": ["ws-saved"]}


def test_it_lists_quotas_as_the_servers_object(studio, run):
    studio.answer("GET", "/quotas", QUOTAS)
    code, out, _ = run("quota", "list", "-o", "json", *connect(studio))
    assert code == 0 and json.loads(out) == QUOTAS


def test_it_sets_a_subscription_limit_and_prints_the_row(studio, run):
    studio.answer("POST", "/quotas", quotas(family("standardDSv2Family", 24, used=12), family("standardDASv4Family", 10)))
    code, out, err = run("quota", "set", "--family", "standardDSv2Family", "--limit", "24", *connect(studio))
    assert code == 0, err
    assert json.loads(studio.made("POST", "/quotas")[0].body) == {"family": "standardDSv2Family", "limit": 24}
    _heading, header, *rows = out.splitlines()
    assert cells(header)[0] == "FAMILY" and [cells(r) for r in rows] == [["standardDSv2Family", "24", "-", "12", "0", "12"]]


def test_it_never_sends_the_profiles_workspace_with_a_subscription_limit(studio, run):
    from studio.cli.profile import save_profile

    save_profile(studio.url, "saved", "ws-saved")
    studio.answer("POST", "/quotas", quotas(family("standardDSv2Family", 24)))
    assert run("quota", "set", "--family", "standardDSv2Family", "--limit", "24")[0] == 0
    assert "workspace" not in json.loads(studio.made("POST", "/quotas")[0].body)


def test_it_caps_a_workspace(studio, run):
    studio.answer("POST", "/quotas", quotas(family("standardDSv2Family", 20, cap=4), workspace="ws-2"))
    code, out, _ = run("quota", "set", "--family", "standardDSv2Family", "--limit", "4", "-w", "ws-2",
                       "-o", "json", *connect(studio))
    assert code == 0 and json.loads(out)["workspace"] == "ws-2"
    assert json.loads(studio.made("POST", "/quotas")[0].body) == {"family": "standardDSv2Family", "limit": 4,
                                                                  "workspace": "ws-2"}


def test_it_sets_the_spot_pool(studio, run):
    studio.answer("POST", "/quotas/spot", quotas(spot_limit=0, spot_used=0))
    code, out, _ = run("quota", "set", "--spot", "--limit", "0", *connect(studio))
    assert code == 0
    assert json.loads(studio.made("POST", "/quotas/spot")[0].body) == {"limit": 0}
    assert [cells(r) for r in out.splitlines()[2:]] == [["Spot (shared pool)", "0", "-", "0", "-", "0"]]


@pytest.mark.parametrize("argv, message", [
    (["--spot", "--family", "standardDSv2Family", "--limit", "4"], "argument --family: not allowed with argument --spot"),
    (["--limit", "4"], "one of the arguments --family --spot is required"),
    (["--family", "standardDSv2Family", "--limit", "-1"],
     "argument --limit: must be 0 or more, got -1 (a number of vCPUs; 0 allows nothing)"),
    (["--family", "standardDSv2Family", "--limit", "4.5"], "argument --limit: expected a whole number, got '4.5'"),
])
def test_it_refuses_a_bad_quota_set_locally(studio, capsys, argv, message):
    from studio.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["quota", "set", *argv, *connect(studio)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert studio.requests == []


def test_it_refuses_a_workspace_for_the_spot_pool_locally(studio, run):
    code, out, err = run("quota", "set", "--spot", "--limit", "4", "-w", "ws-2", *connect(studio))
    assert (code, out) == (1, "")
    assert err.startswith("error: --spot: the Spot pool is shared by the whole subscription")
    assert studio.requests == []


def test_it_shows_the_servers_refusal_of_a_quota(studio, run):
    studio.answer("POST", "/quotas", {"message": "Unknown quota family 'standardDSv9Family'.", "extra": {
        "recommendations": ["standardDSv2Family", "standardDSv3Family"]}}, status=400)
    code, out, err = run("quota", "set", "--family", "standardDSv9Family", "--limit", "4", *connect(studio))
    assert (code, out) == (1, "")
    assert err == ("error: Unknown quota family 'standardDSv9Family'.\n"
                   "  - standardDSv2Family\n  - standardDSv3Family\n")


def test_it_shows_that_only_admins_set_quotas(studio, run):
    studio.answer("POST", "/quotas/spot", {"message": "Only admins can change quotas.", "extra": {}}, status=403)
    code, _, err = run("quota", "set", "--spot", "--limit", "4", "-o", "json", *connect(studio))
    assert (code, err) == (1, "error: Only admins can change quotas.\n")
