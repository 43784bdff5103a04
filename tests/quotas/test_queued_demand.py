"""Queued demand: what waiting jobs wait for per quota key, replaced by each scheduling cycle and
given in the quota listing and its JSON (the page shows it: tests/pages/test_quota_pages.py)."""

from __future__ import annotations

import pytest

from quotas import core, selectors
from quotas.models import QueuedDemand
from quotas.services import queued_demand_replace, workspace_ensure

pytestmark = pytest.mark.django_db

DSV3 = "standardDSv3Family"


def table() -> dict:
    return {(row.kind, row.subscription.name, row.workspace.name if row.workspace else None, row.name):
            (row.amount, row.jobs) for row in QueuedDemand.objects.select_related("subscription", "workspace")}


def family(listing: dict, family_id: str) -> dict:
    return next(f for f in listing["families"] if f["family"] == family_id)


@pytest.fixture
def demand():
    """Three jobs waiting in ws-1: two for 8 and 16 DSv3 vCPUs, one Spot job for 4, and one for a cluster."""
    return {
        ("family", "sub-1", DSV3): (24, 2), ("cores", "sub-1"): (24, 2), ("ws", "ws-1", DSV3): (24, 2),
        ("spot", "sub-1"): (4, 1), ("cluster", "ws-1", "cpu-cluster"): (2, 1),
    }


def test_it_stores_every_kind_of_key(workspace, demand):
    queued_demand_replace(demand=demand)

    assert table() == {
        ("family", "sub-1", None, DSV3): (24, 2), ("cores", "sub-1", None, ""): (24, 2),
        ("ws", "sub-1", "ws-1", DSV3): (24, 2), ("spot", "sub-1", None, ""): (4, 1),
        ("cluster", "sub-1", "ws-1", "cpu-cluster"): (2, 1),
    }


def test_it_replaces_the_whole_table_writing_only_the_difference(workspace, demand, django_assert_num_queries):
    queued_demand_replace(demand=demand)
    before = {row.id: row.updated_at for row in QueuedDemand.objects.all()}

    with django_assert_num_queries(1):  # nothing changed: one read, no write
        queued_demand_replace(demand=dict(demand))
    assert {row.id: row.updated_at for row in QueuedDemand.objects.all()} == before

    changed = {key: value for key, value in demand.items() if key[0] != "spot"}  # the Spot job started
    changed[("family", "sub-1", DSV3)] = (8, 1)                                   # one DSv3 job started
    changed[("family", "sub-1", "standardFSv2Family")] = (16, 1)                  # a new job waits
    with django_assert_num_queries(7):  # read; savepoint; delete; update; look up the owner; insert; release
        queued_demand_replace(demand=changed)

    rows = table()
    assert ("spot", "sub-1", None, "") not in rows
    assert rows[("family", "sub-1", None, DSV3)] == (8, 1)
    assert rows[("family", "sub-1", None, "standardFSv2Family")] == (16, 1)
    kept = QueuedDemand.objects.get(kind="cores")
    assert kept.updated_at == before[kept.id]  # an unchanged row is not rewritten

    queued_demand_replace(demand={})
    assert not QueuedDemand.objects.exists()


def test_a_key_nobody_waits_for_and_unknown_owners_leave_no_row(workspace):
    queued_demand_replace(demand={("family", "sub-1", DSV3): (0, 0), ("spot", "gone-sub"): (4, 1),
                                  ("cluster", "gone-ws", "c"): (1, 1)})
    assert not QueuedDemand.objects.exists()


@pytest.mark.parametrize("demand, message", [
    ({("quota", "sub-1"): (1, 1)}, "not a quota key"),
    ({(): (1, 1)}, "not a quota key"),
    ({("spot", "sub-1"): (-1, 1)}, "negative"),
])
def test_it_refuses_what_is_not_a_quota_key_and_changes_nothing(workspace, demand, message):
    queued_demand_replace(demand={("spot", "sub-1"): (4, 1)})
    with pytest.raises(ValueError, match=message):
        queued_demand_replace(demand=demand)
    assert table() == {("spot", "sub-1", None, ""): (4, 1)}


def test_the_pure_sum_gives_what_the_service_takes():
    quotas = core.Quotas({"sub-1": core.SubscriptionQuota({DSV3: 48, "cores": 48}, 20)},
                         {"ws-1": core.WorkspaceQuota("sub-1", {DSV3: 16})})
    d4 = core.VmSize("Standard_D4s_v3", DSV3, 4, 16)
    needs = [core.demand(quotas, "ws-1", d4, 2, core.STANDARD), core.demand(quotas, "ws-1", d4, 1, core.STANDARD),
             core.demand(quotas, "ws-1", d4, 1, core.SPOT), {("cluster", "ws-1", "cpu-cluster"): 3}]

    assert core.queued_demand(needs) == {
        ("family", "sub-1", DSV3): (12, 2), ("cores", "sub-1"): (12, 2), ("ws", "ws-1", DSV3): (12, 2),
        ("spot", "sub-1"): (4, 1), ("cluster", "ws-1", "cpu-cluster"): (3, 1),
    }


def test_the_quota_listing_gives_each_family_and_spot_its_queued_demand(workspace, demand):
    queued_demand_replace(demand=demand)

    listing = selectors.quota_list(workspace=workspace)

    assert (family(listing, DSV3)["queued_vcpus"], family(listing, DSV3)["queued_jobs"]) == (24, 2)
    assert (family(listing, "cores")["queued_vcpus"], family(listing, "cores")["queued_jobs"]) == (24, 2)
    assert (family(listing, "standardFSv2Family")["queued_vcpus"],
            family(listing, "standardFSv2Family")["queued_jobs"]) == (0, 0)
    assert listing["spot"] == {"limit": 20, "in_use": 0, "queued_vcpus": 4, "queued_jobs": 1}


def test_the_quota_json_has_queued_vcpus_and_jobs(api, workspace, demand):
    queued_demand_replace(demand=demand)

    body = api.get("/api/v1/quotas").json()

    dsv3 = next(f for f in body["families"] if f["family"] == DSV3)
    assert (dsv3["queued_vcpus"], dsv3["queued_jobs"]) == (24, 2)
    assert body["spot"] == {"limit": 20, "in_use": 0, "queued_vcpus": 4, "queued_jobs": 1}


def test_another_subscriptions_demand_never_shows(client, user, workspace, django_user_model):
    eve = django_user_model.objects.create_user(username="eve", password="pw-eve-123")
    workspace_ensure(subscription_name="sub-2", workspace_name="ws-2", admin=eve)
    queued_demand_replace(demand={("family", "sub-2", DSV3): (64, 9), ("spot", "sub-2"): (8, 2)})
    client.force_login(user)

    for params in ({}, {"workspace": "ws-2"}, {"families": "all"}):
        assert "queued-demand" not in client.get("/quota/", params).content.decode()
    listing = selectors.quota_list(workspace=workspace)
    assert family(listing, DSV3)["queued_jobs"] == 0 and listing["spot"]["queued_jobs"] == 0
