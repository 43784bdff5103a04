"""`studio quota list/set` against the real studio's quotas and the jobs that use them."""

import json

import pytest

from studio.cli.main import main
from tests.cli.helpers import D2S_V3, cells

HEADER = ["FAMILY", "SUBSCRIPTION LIMIT", "WORKSPACE CAP", "IN USE (SUBSCRIPTION)", "IN USE (WORKSPACE)", "FREE",
          "QUEUED"]


def rows_by_family(out: str) -> dict[str, list[str]]:
    _heading, header, *rows = out.splitlines()
    assert cells(header) == HEADER
    return {cells(row)[0]: cells(row)[1:] for row in rows}


@pytest.fixture
def capped(studio, set_quota):
    """standardDSv3Family: 20 vCPUs for the subscription, ws-1 capped at 8; 3 D2s_v3 jobs in ws-1 and
    3 in ws-2 hold 12 of them; the Spot pool: 16 vCPUs, one 2-vCPU Spot job."""
    from quotas.services import quota_set

    set_quota("standardDSv3Family", 20)
    set_quota("spot", 16)
    quota_set(user=studio.user, subscription=studio.workspace.subscription, family_id="standardDSv3Family",
              limit=8, workspace=studio.workspace)
    other = studio.workspace_named("ws-2")
    for workspace in (studio.workspace, other) * 3:
        assert studio.submit(D2S_V3, workspace=workspace).status == "Provisioning"
    assert studio.submit("command: echo hi\nqueue_settings:\n  job_tier: Spot\n").status == "Provisioning"


def test_it_lists_quotas_with_free_vcpus_and_the_spot_pool_last(studio, capped, run):
    code, out, err = run("quota", "list", "--workspace", "ws-1")
    assert code == 0, err
    assert out.splitlines()[0] == "vCPU quota of subscription sub-1, workspace ws-1"
    rows = rows_by_family(out)
    assert rows["standardDSv3Family"][:5] == ["20", "8", "12", "6", "2"]  # the cap leaves 2 of ws-1's 8 free
    assert list(rows)[-1] == "Spot (shared pool)"
    assert rows["Spot (shared pool)"][:5] == ["16", "-", "2", "-", "14"]
    assert "standardNCASv3_T4Family" not in rows  # no quota and no use
    hidden = err.strip()
    assert hidden.endswith("with no quota and no use not shown; --all shows them") and hidden[0].isdigit()


def test_it_lists_every_family_with_all(studio, set_quota, run):
    set_quota("standardNCASv3_T4Family", 0)
    code, out, err = run("quota", "list", "--all")
    assert code == 0 and err == ""
    assert rows_by_family(out)["standardNCASv3_T4Family"][:5] == ["0", "-", "0", "0", "0"]


def test_it_shows_what_waiting_jobs_need(studio, busy, run):
    for _ in range(3):
        assert studio.submit(D2S_V3).status == "Queued"
    rows = rows_by_family(run("quota", "list")[1])
    assert rows["standardDSv3Family"][5] == "6 (3 jobs)"
    assert rows["Spot (shared pool)"][5] == "0"


def test_it_asks_for_the_profiles_workspace_by_default(studio, run, monkeypatch):
    from studio.cli.profile import save_profile

    studio.workspace_named("ws-saved")
    save_profile(studio.url, studio.token, "ws-saved")
    monkeypatch.delenv("STUDIO_URL")
    monkeypatch.delenv("STUDIO_TOKEN")
    code, out, _ = run("quota", "list")
    assert code == 0 and out.splitlines()[0] == "vCPU quota of subscription sub-1, workspace ws-saved"


def test_it_lists_quotas_as_the_servers_object(studio, capped, run):
    code, out, _ = run("quota", "list", "-w", "ws-1", "-o", "json")
    quotas = json.loads(out)
    assert code == 0 and (quotas["subscription"], quotas["workspace"]) == ("sub-1", "ws-1")
    family, = [f for f in quotas["families"] if f["family"] == "standardDSv3Family"]
    assert (family["subscription_limit"], family["workspace_limit"], family["subscription_in_use"],
            family["workspace_in_use"]) == (20, 8, 12, 6)
    assert (quotas["spot"]["limit"], quotas["spot"]["in_use"]) == (16, 2)


def subscription_limit(family: str) -> int:
    from quotas.models import SubscriptionQuota

    return SubscriptionQuota.objects.get(family_id=family).limit


def test_it_sets_a_subscription_limit_and_prints_the_row(studio, busy, run):
    code, out, err = run("quota", "set", "--family", "standardDSv3Family", "--limit", "24")
    assert code == 0, err
    assert subscription_limit("standardDSv3Family") == 24
    assert [cells(r)[:6] for r in out.splitlines()[2:]] == [["standardDSv3Family", "24", "-", "2", "2", "22"]]


def test_it_never_sends_the_profiles_workspace_with_a_subscription_limit(studio, set_quota, run, monkeypatch):
    from quotas.models import WorkspaceQuota
    from studio.cli.profile import save_profile

    set_quota("standardDSv3Family", 8)
    save_profile(studio.url, studio.token, "ws-1")
    monkeypatch.delenv("STUDIO_URL")
    monkeypatch.delenv("STUDIO_TOKEN")
    assert run("quota", "set", "--family", "standardDSv3Family", "--limit", "24")[0] == 0
    assert subscription_limit("standardDSv3Family") == 24
    assert not WorkspaceQuota.objects.exists()  # not a cap of ws-1


def test_it_sets_a_subscription_limit_for_a_member_of_several_workspaces(studio, run):
    studio.workspace_named("ws-2")
    code, _, err = run("quota", "set", "--family", "standardDSv3Family", "--limit", "24")
    assert code == 0, err
    assert subscription_limit("standardDSv3Family") == 24


def test_it_sets_the_spot_pool_of_the_profiles_workspace(studio, run, monkeypatch):
    from studio.cli.profile import save_profile

    studio.workspace_named("ws-saved")  # ada has two workspaces now: the profile says which
    save_profile(studio.url, studio.token, "ws-saved")
    monkeypatch.delenv("STUDIO_URL")
    monkeypatch.delenv("STUDIO_TOKEN")
    code, _, err = run("quota", "set", "--spot", "--limit", "6")
    assert code == 0, err
    studio.workspace.subscription.refresh_from_db()
    assert studio.workspace.subscription.spot_vcpu_limit == 6


def test_it_caps_a_workspace(studio, set_quota, run):
    from quotas.models import WorkspaceQuota

    set_quota("standardDSv3Family", 20)
    studio.workspace_named("ws-2")
    code, out, _ = run("quota", "set", "--family", "standardDSv3Family", "--limit", "4", "-w", "ws-2", "-o", "json")
    assert code == 0 and json.loads(out)["workspace"] == "ws-2"
    assert [(q.workspace.name, q.limit) for q in WorkspaceQuota.objects.all()] == [("ws-2", 4)]
    assert subscription_limit("standardDSv3Family") == 20


def test_it_sets_the_spot_pool(studio, run):
    code, out, _ = run("quota", "set", "--spot", "--limit", "0")
    assert code == 0
    assert [cells(r)[:6] for r in out.splitlines()[2:]] == [["Spot (shared pool)", "0", "-", "0", "-", "0"]]
    studio.workspace.subscription.refresh_from_db()
    assert studio.workspace.subscription.spot_vcpu_limit == 0


@pytest.mark.parametrize("argv, message", [
    (["--spot", "--family", "standardDSv2Family", "--limit", "4"], "argument --family: not allowed with argument --spot"),
    (["--limit", "4"], "one of the arguments --family --spot is required"),
    (["--family", "standardDSv2Family", "--limit", "-1"],
     "argument --limit: must be 0 or more, got -1 (a number of vCPUs; 0 allows nothing)"),
    (["--family", "standardDSv2Family", "--limit", "4.5"], "argument --limit: expected a whole number, got '4.5'"),
])
def test_it_refuses_a_bad_quota_set_locally(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["quota", "set", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_it_refuses_a_workspace_for_the_spot_pool_locally(nowhere, run):
    code, out, err = run("quota", "set", "--spot", "--limit", "4", "-w", "ws-2")
    assert (code, out) == (1, "")
    assert err.startswith("error: --spot: the Spot pool is shared by the whole subscription")


def test_it_shows_the_studios_refusal_of_an_unknown_family(studio, run):
    code, out, err = run("quota", "set", "--family", "standardDSv9Family", "--limit", "4")
    assert (code, out) == (1, "")
    assert err.startswith("error: family: unknown quota family 'standardDSv9Family'; did you mean ")


def test_it_shows_why_a_workspace_cap_cannot_exceed_the_subscription(studio, set_quota, run):
    set_quota("standardDSv3Family", 4)
    code, _, err = run("quota", "set", "--family", "standardDSv3Family", "--limit", "8", "-w", "ws-1")
    assert code == 1
    assert err.startswith("error: limit: a workspace cap cannot exceed the subscription's quota (4 vCPUs of "
                          "standardDSv3Family)")


def test_it_shows_that_only_admins_set_quotas(studio, member, run, monkeypatch):
    monkeypatch.setenv("STUDIO_TOKEN", studio.token_for(member))
    code, _, err = run("quota", "set", "--spot", "--limit", "4")
    assert (code, err) == (1, "error: only admins of subscription 'sub-1' can change its quotas; "
                              "you are a contributor of workspace 'ws-1'\n")
