"""Every page refuses bob, who is signed in but not in ada's workspace: 404 for her job, cluster,
MLflow run or experiment; her wizard draft is not his (it lives in her session: he is sent to a new
run of his own); pages of his own workspace show nothing of hers, whatever ``?workspace=`` says;
and nothing of hers changes. Pages that change what only an admin may change are a 403 for charlie,
a plain member of her workspace.

The routes come from the URLconf: a route outside ``api/`` with no probes here fails
``test_it_has_probes_for_every_page_route``, so a page added later cannot go untested.
"""

from __future__ import annotations

import re

import pytest

from tests.security.conftest import Probe, ask, url_patterns

pytestmark = pytest.mark.django_db

OWN = (200,)
SAVED = (302,)  # a form saved (bob's own workspace) and redirected
ON_WS1 = {"workspace": "{workspace}"}
JOB = {"name": "{job}"}
DRAFT = {"run": "{draft}"}
NEW_RUN = (302,)  # ada's draft is not in bob's session: "that wizard run has ended; here is a new one"
WIZARD_STEPS = ("basics", "compute", "environment", "code")


def page(method: str = "get", expect=(404,), **fields) -> Probe:
    return Probe(method, expect=expect, who="outsider-page", **fields)


PROBES: dict[str, list[Probe]] = {
    "jobs/": [
        page(expect=OWN), page(query=ON_WS1, expect=OWN, why="?workspace= of someone else's: his own stays"),
        page(query={"experiment": "{experiment}", "search": "ada-secret"}, expect=OWN),
        page(htmx="job-rows", expect=OWN),
    ],
    "jobs/<str:name>/": [
        page(params=JOB), page(params=JOB, htmx="job-status"), page(params=JOB, htmx="job-log", query={"offset": "0"}),
        page(params=JOB, query={"node": "{node}"}), page(params={"name": "{run_id}"}),
        page(params={"name": "{bob_job}"}, expect=OWN, why="his outputs hold links to ada's files: not listed"),
    ],
    "jobs/<str:name>/cancel/": [page("post", params=JOB), page("post", params=JOB, htmx="job-status")],
    "submit/": [page(expect=NEW_RUN), page(query={"clone": "{job}"}, expect=NEW_RUN, why="clone ada's job")],
    "submit/<slug:run>/review/": [page(params=DRAFT, expect=NEW_RUN)],
    "submit/<slug:run>/review/fit/": [page(params=DRAFT, htmx="review-fit", expect=NEW_RUN)],
    "submit/<slug:run>/compute/fit/": [page(params=DRAFT, htmx="compute-fit", expect=NEW_RUN)],
    "submit/<slug:run>/compute/sizes/": [page(params=DRAFT, htmx="vm-sizes", expect=NEW_RUN)],
    "submit/<slug:run>/job.yml": [page(params=DRAFT, expect=NEW_RUN, why="her draft as YAML")],
    "submit/<slug:run>/submit/": [page("post", params=DRAFT, expect=NEW_RUN, why="submit her draft")],
    "submit/<slug:run>/<slug:step>/": [page(params={**DRAFT, "step": step}, expect=NEW_RUN) for step in WIZARD_STEPS]
    + [page("post", params={**DRAFT, "step": "basics"}, data={"display_name": "bob-was-here"}, expect=NEW_RUN)],
    "compute/": [page(expect=OWN), page(query=ON_WS1, expect=OWN)],
    "compute/create/": [page("post", query=ON_WS1, data={"name": "bob-cluster", "size": "Standard_DS3_v2"},
                             expect=SAVED, why="created in bob's own workspace, never in ws-1")],
    "compute/<str:name>/delete/": [page(params={"name": "{cluster}"}), page(params={"name": "{cluster}"}, query=ON_WS1),
                                   page("post", params={"name": "{cluster}"}, query=ON_WS1)],
    "quota/": [page(expect=OWN), page(query=ON_WS1, expect=OWN), page(htmx="usage-chart", expect=OWN),
               page(htmx="quota-table", query={"families": "all"}, expect=OWN)],
    "quota/spot/": [page(htmx="spot-pool", expect=OWN),
                    page("post", query=ON_WS1, data={"limit": "7"}, expect=SAVED, why="bob's own sub-2 pool")],
    "quota/families/<str:family_id>/": [
        page(params={"family_id": "{family}"}, htmx="quota-row-{family}", expect=OWN),
        page("post", params={"family_id": "{family}"}, query=ON_WS1,
             data={"subscription_limit": "3", "workspace_cap": ""}, expect=SAVED, why="bob's own sub-2 quota"),
    ],
    "previews/": [page(expect=OWN), page("post", data={"key": "serverless-compute", "enabled": "on"}, expect=SAVED)],
    "designer/": [page(expect=OWN)],
    "mlflow/experiments/<str:experiment_id>/": [page(params={"experiment_id": "{experiment_id}"})],
    "mlflow/experiments/<str:experiment_id>/runs/<str:run_id>/": [
        page(params={"experiment_id": "{experiment_id}", "run_id": "{job}"}),
        page(params={"experiment_id": "{experiment_id}", "run_id": "{run_id}"}),
    ],
}

# Routes that hold nothing of any workspace; bob still gets nothing of ada's from them.
PUBLIC = {
    "": "redirects to the jobs list (or to sign in)",
    "accounts/login/": "the sign-in form",
    "accounts/logout/": "signing out (POST)",
    "healthz": "liveness probe for load balancers: {'status': 'ok'}",
    "favicon.ico": "redirects to the static favicon",
}
# Static files are served by WhiteNoise (outside the URLconf); the API's routes are probed in
# test_outsiders_api.py; Django's admin (staff only) below.
ADMIN = "admin/"

ADMIN_ONLY: dict[str, list[Probe]] = {
    "quota/spot/": [Probe("post", data={"limit": "7"}, expect=(403,), who="member-page")],
    "quota/families/<str:family_id>/": [
        Probe("post", params={"family_id": "{family}"}, data={"subscription_limit": "3", "workspace_cap": ""},
              expect=(403,), who="member-page"),
        Probe("post", params={"family_id": "{family}"}, data={"subscription_limit": "", "workspace_cap": "2"},
              expect=(403,), who="member-page"),
    ],
}


def page_routes() -> list[str]:
    return [route for route in url_patterns() if not route.lstrip("^").startswith("api/")]


def test_it_has_probes_for_every_page_route():
    routes = [route for route in page_routes() if not route.startswith(ADMIN)]
    untested = [route for route in routes if route not in PROBES and route not in PUBLIC]
    assert not untested, f"pages with no outsider probe (add them to PROBES, or to PUBLIC with why): {untested}"
    assert not (PROBES.keys() | PUBLIC.keys()) - set(routes), "probes for routes that no longer exist"
    assert "jobs/<str:name>/cancel/" in routes  # the walk reads includes


@pytest.mark.parametrize("route", sorted(PROBES))
def test_it_refuses_the_outsider(route, ada_world, callers):
    for probe in PROBES[route]:
        ask(callers[probe.who], ada_world, route, probe)


@pytest.mark.parametrize("route", sorted(ADMIN_ONLY))
def test_it_refuses_a_member_what_needs_an_admin(route, ada_world, callers):
    for probe in ADMIN_ONLY[route]:
        ask(callers[probe.who], ada_world, route, probe)


@pytest.mark.parametrize("route", sorted(PUBLIC))
def test_it_shows_the_outsider_nothing_of_ada_on_public_routes(route, ada_world, callers):
    ask(callers["outsider-page"], ada_world, route, Probe(expect=(200, 302, 405), who="outsider-page"))


def _admin_url(route: str, object_id: str) -> str:
    """An admin route with its parameters filled: an object id, the first app of an app list."""
    url = re.sub(r"<(?:\w+:)?\w+>", object_id, route).replace("^", "").replace("$", "")
    url = re.sub(r"\(\?P<app_label>([\w]+)[^)]*\)", r"\1", url)
    return "/" + url.replace("(?P<url>.*)", "no-such-page/")


def test_it_sends_everyone_but_staff_to_the_admins_sign_in(ada_world, callers, user):
    """Django's admin is for staff (bob and charlie are not): every admin page, with ada's own ids."""
    from jobs.models import Job

    routes = [route for route in page_routes() if route.startswith(ADMIN)]
    assert "admin/quotas/cluster/<path:object_id>/change/" in routes
    object_id = str(Job.objects.get(name=ada_world.values["job"]).workspace_id)
    for who in ("outsider-page", "member-page"):
        for route in routes:
            url = _admin_url(route, object_id)
            response = callers[who].get(url)
            if route in ("admin/login/", "admin/logout/"):
                assert response.status_code in (200, 302, 405), (url, response.status_code)
                continue
            assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), \
                (who, url, response.status_code)


def test_it_lets_ada_see_what_bob_is_refused(ada_world, client, user):
    """The probes can fail: signed in as ada, the same pages show her things."""
    client.force_login(user)
    values = ada_world.values
    assert "ada-secret-log-line" in client.get(f"/jobs/{values['job']}/").content.decode()
    assert values["cluster"] in client.get(f"/compute/{values['cluster']}/delete/").content.decode()
    link = client.get(f"/mlflow/experiments/{values['experiment_id']}/runs/{values['run_id']}/")
    assert link.status_code == 302 and link["Location"] == f"/jobs/{values['job']}/"
