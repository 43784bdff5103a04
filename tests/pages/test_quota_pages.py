"""The Quota & usage page: Serverless beside the clusters, quotas edited in place, usage per day."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from jobs.scheduling.service import schedule_cycle
from jobs.services import job_submit
from jobs.specs import load_command_job
from quotas import selectors
from quotas.models import Subscription, SubscriptionQuota, UsageRecord, WorkspaceMember, WorkspaceQuota
from quotas.services import cluster_create, queued_demand_replace, quota_set, workspace_ensure
from quotas.views import meter
from tests.jobs.helpers import with_environment

pytestmark = pytest.mark.django_db

URL = "/quota/"
FAMILY = "standardDSv3Family"
ROW_URL = f"/quota/families/{FAMILY}/"


def htmx(target: str) -> dict:
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": target}


def submit(user, workspace, extra: str = ""):
    spec = load_command_job(with_environment("command: sleep 1\n" + extra))
    job = job_submit(user=user, workspace=workspace, spec=spec)
    schedule_cycle()
    return job


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def cells(html: str, row_start: str) -> list[str]:
    """The text of each cell of the first row whose opening tag contains ``row_start``."""
    match = re.search(r"<tr[^>]*" + re.escape(row_start) + r"[^>]*>(.*?)</tr>", html, re.S)
    assert match, f"no row with {row_start!r}"
    return [text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)]


def family_row(html: str, family: str) -> str:
    match = re.search(rf'<tbody id="quota-row-{family}".*?</tbody>', html, re.S)
    assert match, f"no row for {family}"
    return match.group(0)


def record(workspace, user, node_id, start, end, *, compute="serverless", family="standardDSv3Family", vcpus=4,
           price=1.0):
    return UsageRecord.objects.create(
        workspace=workspace, user=user, job_name=f"job-{node_id}", node_id=node_id, compute=compute,
        vm_size="Standard_D4s_v3", family=family, tier="Standard", vcpus=vcpus, price_per_hour=price,
        started_at=start, ended_at=end)


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def member(django_user_model, workspace):
    bob = django_user_model.objects.create_user(username="bob", password="pw-bob-123")
    WorkspaceMember.objects.create(workspace=workspace, user=bob)
    return bob


# ------------------------------------------------------------------------------- the page

def test_it_lists_serverless_first_with_the_jobs_usage_beside_each_cluster(signed_in, user, workspace, data_dir):
    cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_DS3_v2", max_instances=2)
    job = submit(user, workspace)
    job.refresh_from_db()
    assert job.status == "Provisioning"  # admitted: its node holds 2 vCPUs of quota

    response = signed_in.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    order = re.findall(r'<tr class="compute-row[^"]*" data-compute="([^"]+)"', html)
    assert order == ["Serverless", "cpu-cluster"]
    compute, size, nodes, vcpus, running, _hours, _cost = cells(html, 'data-compute="Serverless"')
    assert (nodes, running) == ("1", "1")
    assert vcpus == "2 Standard DASv4 Family vCPUs"  # the job's Standard_D2as_v4
    assert cells(html, 'data-compute="cpu-cluster"')[1] == "Standard_DS3_v2"
    assert "Serverless" in text(re.search(r'id="serverless-now".*?</section>', html, re.S).group(0))
    assert re.search(r'<a href="/quota/" class="active">Quota &amp; usage</a>', html)


def test_the_compute_table_agrees_with_the_chart_and_keeps_deleted_clusters(signed_in, user, workspace):
    day = datetime.now(timezone.utc).date() - timedelta(days=3)
    start = datetime(day.year, day.month, day.day, 9, tzinfo=timezone.utc)
    record(workspace, user, 1, start, start + timedelta(hours=2), compute="old-cluster", vcpus=4, price=0.5)
    record(workspace, user, 2, start, start + timedelta(minutes=30), vcpus=2, price=0.1)
    record(workspace, user, 3, start - timedelta(days=30), start - timedelta(days=29), vcpus=64)  # before the window

    html = signed_in.get(URL).content.decode()

    assert cells(html, 'data-compute="Serverless"')[5:] == ["1.00", "$0.05"]
    old = cells(html, 'data-compute="old-cluster"')
    assert old[0] == "old-cluster · cluster (deleted)" and old[5:] == ["8.00", "$1.00"]


def test_it_shows_the_regional_total_the_spot_pool_and_meters_by_level(signed_in, user, workspace, set_quota):
    set_quota("standardDSv3Family", 20)
    for k in range(4):  # 16 of 20 vCPUs: 80 %, "high"
        record(workspace, user, 100 + k, datetime.now(timezone.utc) - timedelta(minutes=5), None)
    html = signed_in.get(URL).content.decode()

    row = family_row(html, FAMILY)
    assert 'class="bar high"' in row and "16 <span class=\"muted\">of 20" in row
    assert "16" in text(re.search(r'id="regional-total".*?</section>', html, re.S).group(0))
    assert "0 of 20 vCPUs in use" in text(re.search(r'id="spot-pool".*?</section>', html, re.S).group(0))


@pytest.mark.parametrize("used, limit, percent, level", [
    (0, 20, 0, ""), (14, 20, 70, ""), (15, 20, 75, "high"), (20, 20, 100, "full"), (30, 20, 100, "full"),
    (0, 0, 0, ""), (2, 0, 100, "full"), (1, 3, 33.3, ""),
])
def test_a_meter_is_high_from_75_and_full_from_100_percent(used, limit, percent, level):
    assert meter(used, limit) == {"used": used, "limit": limit, "percent": percent, "level": level,
                                  "step": round(percent)}


def test_it_hides_families_without_quota_until_asked(signed_in, workspace):
    html = signed_in.get(URL).content.decode()
    assert 'id="quota-row-standardNCASv3_T4Family"' not in html  # 0 vCPUs, nothing in use
    assert 'id="quota-row-cores"' in html and f'id="quota-row-{FAMILY}"' in html
    assert "Show all families" in html

    everything = signed_in.get(URL, {"families": "all"}).content.decode()
    assert 'id="quota-row-standardNCASv3_T4Family"' in everything

    response = signed_in.get(URL, {"families": "all"}, **htmx("quota-table"))
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<section class="card" id="quota-table">')
    assert "<html" not in fragment and 'id="quota-row-standardNCASv3_T4Family"' in fragment
    for url in (URL, ROW_URL, "/quota/spot/"):  # the fragment and the page share a URL: caches must keep both
        vary = signed_in.get(url, **htmx("quota-table"))["Vary"]
        assert "HX-Request" in vary and "HX-Target" in vary


# ---------------------------------------------------------------------------- queued demand

def test_the_page_shows_queued_demand_per_family_and_for_spot_linked_to_the_waiting_jobs(signed_in, workspace):
    queued_demand_replace(demand={("family", "sub-1", FAMILY): (24, 2), ("cores", "sub-1"): (24, 2),
                                  ("ws", "ws-1", FAMILY): (24, 2), ("spot", "sub-1"): (4, 1)})

    html = signed_in.get(URL).content.decode()

    row = family_row(html, FAMILY)
    link = re.search(r'<a class="badge tone-waiting queued-demand" href="([^"]+)"[^>]*>([^<]+)</a>', row)
    assert link and link.groups() == ("/jobs/?waiting=any", "24 vCPUs queued · 2 jobs")
    assert "queued-demand" not in family_row(html, "standardDASv4Family")  # nothing waits for it
    spot = text(re.search(r'id="spot-pool".*?</section>', html, re.S).group(0))
    assert "4 vCPUs queued · 1 job" in spot
    total = text(re.search(r'id="regional-total".*?</section>', html, re.S).group(0))
    assert "24 vCPUs queued · 2 jobs" in total


def test_a_family_that_jobs_wait_for_is_shown_even_without_quota(signed_in, workspace):
    queued_demand_replace(demand={("family", "sub-1", "standardNCASv3_T4Family"): (4, 1)})
    html = signed_in.get(URL).content.decode()
    assert "4 vCPUs queued · 1 job" in family_row(html, "standardNCASv3_T4Family")  # 0 vCPUs, yet shown


# ------------------------------------------------------------------------ in-place editing

def test_an_admin_edits_a_workspace_cap_in_place(signed_in, workspace):
    form = signed_in.get(ROW_URL, {"edit": "1"}, **htmx(f"quota-row-{FAMILY}")).content.decode()
    assert form.lstrip().startswith(f'<tbody id="quota-row-{FAMILY}"')
    assert f'hx-post="{ROW_URL}"' in form and f'hx-target="#quota-row-{FAMILY}"' in form
    assert 'name="workspace_cap"' in form and 'name="subscription_limit"' in form

    response = signed_in.post(ROW_URL, {"subscription_limit": "20", "workspace_cap": "8"},
                              **htmx(f"quota-row-{FAMILY}"))

    assert response.status_code == 200
    row = response.content.decode()
    assert row.lstrip().startswith(f'<tbody id="quota-row-{FAMILY}"') and "<input" not in row
    assert cells(row, "")[2] == "8"
    assert WorkspaceQuota.objects.get(workspace=workspace, family_id=FAMILY).limit == 8


def test_a_cap_above_the_subscription_limit_shows_the_error_in_the_row_and_changes_nothing(signed_in, workspace):
    response = signed_in.post(ROW_URL, {"subscription_limit": "20", "workspace_cap": "21"},
                              **htmx(f"quota-row-{FAMILY}"))

    assert response.status_code == 200  # htmx swaps the row with its error
    row = response.content.decode()
    assert row.lstrip().startswith(f'<tbody id="quota-row-{FAMILY}"')
    assert 'role="alert"' in row
    assert ("limit: a workspace cap cannot exceed the subscription&#x27;s quota (20 vCPUs of standardDSv3Family); "
            "set 20 or less") in row
    assert 'value="21"' in row  # what was typed stays in the form
    assert not WorkspaceQuota.objects.filter(workspace=workspace).exists()


def test_both_changes_are_saved_or_neither(signed_in, workspace):
    # Raising the subscription's limit would succeed alone; the cap above it fails, so neither is kept.
    response = signed_in.post(ROW_URL, {"subscription_limit": "30", "workspace_cap": "40"},
                              **htmx(f"quota-row-{FAMILY}"))
    assert "cannot exceed the subscription&#x27;s quota (30 vCPUs" in response.content.decode()
    assert SubscriptionQuota.objects.get(subscription=workspace.subscription, family_id=FAMILY).limit == 20
    assert not WorkspaceQuota.objects.filter(workspace=workspace).exists()

    # Raising both, and lowering both, work in one save (the order is chosen so the cap always fits).
    signed_in.post(ROW_URL, {"subscription_limit": "48", "workspace_cap": "40"}, **htmx(f"quota-row-{FAMILY}"))
    assert SubscriptionQuota.objects.get(subscription=workspace.subscription, family_id=FAMILY).limit == 48
    assert WorkspaceQuota.objects.get(workspace=workspace, family_id=FAMILY).limit == 40
    signed_in.post(ROW_URL, {"subscription_limit": "4", "workspace_cap": "4"}, **htmx(f"quota-row-{FAMILY}"))
    assert SubscriptionQuota.objects.get(subscription=workspace.subscription, family_id=FAMILY).limit == 4
    assert WorkspaceQuota.objects.get(workspace=workspace, family_id=FAMILY).limit == 4


@pytest.mark.parametrize("posted, message", [
    ({"subscription_limit": "-1"}, "limit: a quota is a whole number of vCPUs, 0 or more"),
    ({"subscription_limit": "lots"}, "limit: a quota is a whole number of vCPUs, 0 or more"),
    ({"workspace_cap": "2.5"}, "limit: a quota is a whole number of vCPUs, 0 or more"),
])
def test_bad_numbers_get_the_services_message(signed_in, workspace, posted, message):
    response = signed_in.post(ROW_URL, {"subscription_limit": "20", "workspace_cap": "", **posted},
                              **htmx(f"quota-row-{FAMILY}"))
    assert message in response.content.decode()
    assert SubscriptionQuota.objects.get(subscription=workspace.subscription, family_id=FAMILY).limit == 20


def test_lowering_a_limit_below_a_cap_names_the_workspace(signed_in, user, workspace):
    quota_set(user=user, subscription=workspace.subscription, family_id=FAMILY, limit=8, workspace=workspace)
    response = signed_in.post(ROW_URL, {"subscription_limit": "4", "workspace_cap": "8"},
                              **htmx(f"quota-row-{FAMILY}"))
    assert "workspace caps above 4 vCPUs exist for standardDSv3Family: ws-1 (8)" in response.content.decode()
    assert SubscriptionQuota.objects.get(subscription=workspace.subscription, family_id=FAMILY).limit == 20


def test_the_regional_total_is_set_for_the_subscription_only(signed_in, workspace):
    form = signed_in.get("/quota/families/cores/", {"edit": "1"}, **htmx("quota-row-cores")).content.decode()
    assert 'name="subscription_limit"' in form and 'name="workspace_cap"' not in form
    signed_in.post("/quota/families/cores/", {"subscription_limit": "64", "workspace_cap": "10"},
                   **htmx("quota-row-cores"))
    assert SubscriptionQuota.objects.get(subscription=workspace.subscription, family_id="cores").limit == 64
    assert not WorkspaceQuota.objects.filter(family_id="cores").exists()


def test_the_plain_form_works_without_javascript(signed_in, workspace):
    # The Edit link loads the page with that row as a form; Cancel and the GET of a row fall back to it.
    html = signed_in.get(URL, {"edit": FAMILY}).content.decode()
    assert f'<form id="quota-form-{FAMILY}" method="post" action="{ROW_URL}"' in family_row(html, FAMILY)
    assert signed_in.get(ROW_URL, {"edit": "1"})["Location"] == f"/quota/?edit={FAMILY}#quota-row-{FAMILY}"

    bad = signed_in.post(ROW_URL, {"subscription_limit": "20", "workspace_cap": "99"})
    assert bad.status_code == 400
    page = bad.content.decode()
    assert "<html" in page and "cannot exceed the subscription&#x27;s quota" in family_row(page, FAMILY)

    good = signed_in.post(ROW_URL, {"subscription_limit": "20", "workspace_cap": "12"}, follow=True)
    assert good.redirect_chain == [(f"/quota/#quota-row-{FAMILY}", 302)]
    assert "Saved the quota of Standard DSv3 Family vCPUs." in good.content.decode()
    assert WorkspaceQuota.objects.get(workspace=workspace, family_id=FAMILY).limit == 12


def test_an_unknown_family_is_a_404(signed_in, workspace):
    assert signed_in.post("/quota/families/nope/", {"subscription_limit": "4"}).status_code == 404
    assert signed_in.get("/quota/families/nope/", **htmx("quota-row-nope")).status_code == 404


def test_a_member_sees_no_edit_controls_and_a_forged_post_is_refused(client, member, workspace):
    client.force_login(member)
    html = client.get(URL, {"edit": FAMILY}).content.decode()
    assert "Read-only" in html and "only admins of subscription <strong>sub-1</strong>" in html
    assert "hx-post" not in html and "edit-quota" not in html and "<input" not in family_row(html, FAMILY)
    assert 'name="limit"' not in html  # no Spot form either

    forged = ((ROW_URL, {"subscription_limit": "999", "workspace_cap": "5"},
               "Only owners of workspace &#x27;ws-1&#x27; can set its quota caps; you are a contributor"),
              ("/quota/spot/", {"limit": "99"}, "Only admins of subscription &#x27;sub-1&#x27; can change its quotas"))
    for url, data, refusal in forged:
        for headers in ({}, htmx("quota-row")):
            response = client.post(url, data, **headers)
            assert response.status_code == 403
            assert refusal in response.content.decode()
    assert SubscriptionQuota.objects.get(subscription=workspace.subscription, family_id=FAMILY).limit == 20
    assert not WorkspaceQuota.objects.exists()
    assert Subscription.objects.get(id=workspace.subscription_id).spot_vcpu_limit == 20
    # Asking for the edit form gives the plain row.
    assert "<input" not in client.get(ROW_URL, {"edit": "1"}, **htmx(f"quota-row-{FAMILY}")).content.decode()


def test_the_spot_pool_is_edited_in_place(signed_in, workspace):
    form = signed_in.get("/quota/spot/", {"edit": "1"}, **htmx("spot-pool")).content.decode()
    assert form.lstrip().startswith('<section class="card stat-card" id="spot-pool">') and 'name="limit"' in form

    bad = signed_in.post("/quota/spot/", {"limit": "-3"}, **htmx("spot-pool")).content.decode()
    assert "limit: a quota is a whole number of vCPUs, 0 or more" in bad and 'value="-3"' in bad

    good = signed_in.post("/quota/spot/", {"limit": "48"}, **htmx("spot-pool")).content.decode()
    assert "0 of 48 vCPUs in use" in text(good)
    assert Subscription.objects.get(id=workspace.subscription_id).spot_vcpu_limit == 48


# ------------------------------------------------------------------------------- the chart

def test_the_chart_draws_usage_per_day_and_switches_without_a_page_load(signed_in, user, workspace):
    day = datetime.now(timezone.utc).date() - timedelta(days=2)
    start = datetime(day.year, day.month, day.day, 10, tzinfo=timezone.utc)
    record(workspace, user, 1, start, start + timedelta(hours=1), price=0.5)
    html = signed_in.get(URL).content.decode()
    chart = re.search(r'<section class="card" id="usage-chart">.*?</section>', html, re.S).group(0)
    assert chart.count('<svg class="usage-chart') == 2  # a wide and a compact layout
    assert "Serverless: 4 vCPU-hours" in chart  # a bar's title
    assert "<script" not in chart and "http" not in chart.replace("http://www.w3.org", "")

    fragment = signed_in.get(URL, {"metric": "cost_usd", "by": "family"}, **htmx("usage-chart")).content.decode()
    assert fragment.lstrip().startswith('<section class="card" id="usage-chart">') and "<html" not in fragment
    assert "standardDSv3Family: $0.50" in fragment
    assert 'href="?metric=cost_usd&amp;by=compute#usage-chart"' in fragment


def test_usage_by_day_splits_a_node_across_midnight(user, workspace):
    now = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    # 4 vCPUs at $1/h from 22:00 on the 24th to 02:00 on the 25th: 2 h on each day.
    record(workspace, user, 1, datetime(2026, 11, 24, 22, tzinfo=timezone.utc),
           datetime(2026, 11, 25, 2, tzinfo=timezone.utc))
    usage = selectors.usage_by_day(workspace=workspace, days=3, now=now)

    assert usage["days"] == [datetime(2026, 11, d).date() for d in (24, 25, 26)]
    serverless = usage["by_compute"][0]
    assert serverless["compute"] == "Serverless"
    assert serverless["vcpu_hours"] == [8.0, 8.0, 0.0] and serverless["cost_usd"] == [2.0, 2.0, 0.0]
    assert usage["by_family"] == [{"family": "standardDSv3Family", "vcpu_hours": [8.0, 8.0, 0.0],
                                   "cost_usd": [2.0, 2.0, 0.0], "total_vcpu_hours": 16.0,
                                   "total_cost_usd": 4.0}]
    assert usage["total"] == {"vcpu_hours": [8.0, 8.0, 0.0], "cost_usd": [2.0, 2.0, 0.0]}


def test_usage_by_day_clips_to_the_window_counts_running_nodes_until_now_and_orders_computes(
        user, workspace, django_assert_num_queries):
    now = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    utc = timezone.utc
    record(workspace, user, 1, datetime(2026, 11, 20, tzinfo=utc), datetime(2026, 11, 25, 6, tzinfo=utc),
           compute="zeta", vcpus=1)                                              # starts before the window
    record(workspace, user, 2, datetime(2026, 11, 26, 10, tzinfo=utc), None, compute="alpha", vcpus=2)  # running
    record(workspace, user, 3, datetime(2026, 11, 1, tzinfo=utc), datetime(2026, 11, 2, tzinfo=utc))  # before
    with django_assert_num_queries(1):
        usage = selectors.usage_by_day(workspace=workspace, days=3, now=now)

    assert [r["compute"] for r in usage["by_compute"]] == ["Serverless", "alpha", "zeta"]
    serverless, alpha, zeta = usage["by_compute"]
    assert serverless["total_vcpu_hours"] == 0
    assert alpha["vcpu_hours"] == [0.0, 0.0, 4.0]  # 2 vCPUs for the 2 hours up to now
    assert zeta["vcpu_hours"] == [24.0, 6.0, 0.0]


def test_usage_by_day_uses_midnight_of_the_studios_time_zone(settings, user, workspace):
    from django.utils import timezone as dj_timezone

    settings.TIME_ZONE = "America/New_York"  # UTC-5 in November
    with dj_timezone.override("America/New_York"):
        now = datetime(2026, 11, 26, 17, 0, tzinfo=timezone.utc)  # 12:00 in New York
        # 03:00–07:00 UTC on the 25th is 22:00–02:00 in New York: split at 05:00 UTC.
        record(workspace, user, 1, datetime(2026, 11, 25, 3, tzinfo=timezone.utc),
               datetime(2026, 11, 25, 7, tzinfo=timezone.utc), vcpus=1)
        usage = selectors.usage_by_day(workspace=workspace, days=3, now=now)
    assert usage["by_compute"][0]["vcpu_hours"] == [2.0, 2.0, 0.0]


def test_a_day_when_clocks_go_back_has_25_hours(settings, user, workspace):
    from django.utils import timezone as dj_timezone

    with dj_timezone.override("America/New_York"):
        # 2026-11-01 in New York runs from 04:00 UTC to 05:00 UTC the next day.
        record(workspace, user, 1, datetime(2026, 10, 31, tzinfo=timezone.utc),
               datetime(2026, 11, 3, tzinfo=timezone.utc), vcpus=1)
        usage = selectors.usage_by_day(workspace=workspace, days=2, now=datetime(2026, 11, 2, 17, tzinfo=timezone.utc))
    assert usage["days"] == [datetime(2026, 11, 1).date(), datetime(2026, 11, 2).date()]
    assert usage["by_compute"][0]["vcpu_hours"] == [25.0, 12.0]  # the 2nd so far: midnight to noon, local


def test_usage_by_day_agrees_with_a_node_by_node_sum(user, workspace):
    """Random nodes (short, spanning several midnights, still running, started before the window)
    against the plain definition: each node's overlap with each day."""
    import random

    rng = random.Random(3)
    now = datetime(2026, 11, 26, 15, 30, tzinfo=timezone.utc)
    nodes = []
    for k in range(120):
        start = now - timedelta(hours=rng.uniform(0, 24 * 9))
        end = None if k % 10 == 0 else min(now, start + timedelta(hours=rng.choice([0.2, 3, 20, 50, 100])))
        compute = rng.choice(["serverless", "serverless", "cpu-cluster"])
        family, vcpus, price = rng.choice([("standardDSv3Family", 4, 0.192), ("standardDASv4Family", 2, 0.096)])
        record(workspace, user, k + 1, start, end, compute=compute, family=family, vcpus=vcpus, price=price)
        nodes.append((start, end or now, compute, family, vcpus, price))

    usage = selectors.usage_by_day(workspace=workspace, days=7, now=now)

    midnights = [datetime(2026, 11, 20 + d, tzinfo=timezone.utc) for d in range(8)]
    expected: dict = {}
    for start, end, compute, family, vcpus, price in nodes:
        for day in range(7):
            hours = max(0.0, (min(end, midnights[day + 1]) - max(start, midnights[day])).total_seconds() / 3600)
            for key in (("compute", "Serverless" if compute == "serverless" else compute), ("family", family)):
                sums = expected.setdefault(key, ([0.0] * 7, [0.0] * 7))
                sums[0][day] += vcpus * hours
                sums[1][day] += price * hours
    got = {("compute", r["compute"]): r for r in usage["by_compute"]}
    got.update({("family", r["family"]): r for r in usage["by_family"]})
    assert set(got) == set(expected)
    for key, (vcpu_hours, cost) in expected.items():
        assert got[key]["vcpu_hours"] == pytest.approx(vcpu_hours, abs=1e-3), key
        assert got[key]["cost_usd"] == pytest.approx(cost, abs=1e-3), key


# ------------------------------------------------------------------------ queries and scope

def _many_jobs_and_records(user, workspace, count: int, offset: int):
    from jobs.models import Job

    now = datetime.now(timezone.utc)
    Job.objects.bulk_create([Job(name=f"bulk-{offset + i}", workspace=workspace, submitted_by=user, spec={},
                                 status="Completed") for i in range(count)])
    UsageRecord.objects.bulk_create([
        UsageRecord(workspace=workspace, user=user, job_name=f"bulk-{offset + i}", node_id=10_000 + offset + i,
                    compute="serverless" if i % 2 else "cpu-cluster", vm_size="Standard_D4s_v3",
                    family="standardDSv3Family", tier="Standard", vcpus=4, price_per_hour=0.2,
                    started_at=now - timedelta(hours=i % 300 + 2), ended_at=now - timedelta(hours=i % 300 + 1))
        for i in range(count)])


def test_the_page_makes_a_bounded_number_of_queries(signed_in, user, workspace, data_dir,
                                                    django_assert_max_num_queries):
    cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_DS3_v2", max_instances=2)
    submit(user, workspace)
    signed_in.get(URL)  # the session is written once
    _many_jobs_and_records(user, workspace, 5, 0)
    with django_assert_max_num_queries(16) as few:
        assert signed_in.get(URL).status_code == 200
    _many_jobs_and_records(user, workspace, 400, 5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert signed_in.get(URL).status_code == 200
    with django_assert_max_num_queries(8):
        signed_in.get(URL, {"metric": "cost_usd"}, **htmx("usage-chart"))


def test_another_workspaces_data_never_shows(signed_in, user, workspace, django_user_model):
    eve = django_user_model.objects.create_user(username="eve", password="pw-eve-123")
    other = workspace_ensure(subscription_name="sub-2", workspace_name="ws-2", admin=eve)
    cluster_create(user=eve, workspace=other, name="secret-cluster", size="Standard_DS3_v2")
    now = datetime.now(timezone.utc)
    record(other, eve, 1, now - timedelta(hours=3), None, compute="secret-cluster", family="standardFSv2Family")
    record(other, eve, 2, now - timedelta(hours=3), now - timedelta(hours=1), compute="serverless", vcpus=64)

    for params in ({}, {"workspace": "ws-2"}, {"families": "all", "by": "family"}):
        html = signed_in.get(URL, params).content.decode()
        assert "secret-cluster" not in html and "sub-2" not in html and "ws-2" not in html
        assert cells(html, 'data-compute="Serverless"')[2] == "0"
        assert "No usage in the last 14 days" in html
    # Quotas are per subscription: ws-2's admin cannot be reached through ws-1's pages either.
    signed_in.post(ROW_URL, {"subscription_limit": "5"}, **htmx(f"quota-row-{FAMILY}"))
    assert SubscriptionQuota.objects.get(subscription=other.subscription, family_id=FAMILY).limit == 20
