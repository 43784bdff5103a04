"""Every route of the studio refuses bob, who is not in ada's workspace: every API route (the
studio's REST API with his API token, the MLflow tracking API with his token and his job's) and
every page (signed in) — 404 for her things, 403 where only a job's own token may write, never
her data, never a 500, and nothing of hers changes. Where only an admin may act, charlie (a plain
member of her workspace) gets a 403.

The routes are read from the URLconf; what to ask each is in api_probes.py and page_probes.py. A
route with neither probes nor a reason to be public fails ``test_it_has_probes_for_every_route``,
so that a route added later cannot go untested.
"""

from __future__ import annotations

import re

import pytest

from tests.security import api_probes, page_probes
from tests.security.conftest import Probe, ask, url_patterns

pytestmark = pytest.mark.django_db

ADMIN_SITE = "admin/"  # Django's admin: staff only (test_it_sends_everyone_but_staff_to_the_admins_sign_in)
PROBES = {**api_probes.PROBES, **page_probes.PROBES}
PUBLIC = {**api_probes.PUBLIC, **page_probes.PUBLIC}
ADMIN_ONLY = [(route, probe) for table in (api_probes.ADMIN_ONLY, page_probes.ADMIN_ONLY)
              for route, probes in sorted(table.items()) for probe in probes]
# Static files are served by WhiteNoise, outside the URLconf: nothing of a workspace is among them.


def test_it_has_probes_for_every_route():
    routes = [route for route in url_patterns() if not route.startswith(ADMIN_SITE)]
    assert {"jobs/<str:name>/cancel/", "api/v1/jobs/<str:name>/logs", "api/2.0/mlflow/runs/log-batch"} <= set(routes)
    assert not (PROBES.keys() | PUBLIC.keys()) - set(routes), "probes for routes that no longer exist"
    missing = [route for route in routes if route not in PROBES and route not in PUBLIC]
    assert not missing, f"routes with no outsider probe (add them to api_probes or page_probes): {missing}"


@pytest.mark.parametrize("route", sorted(PROBES))
def test_it_refuses_the_outsider(route, ada_world, callers):
    for probe in PROBES[route]:
        ask(callers[probe.who], ada_world, route, probe)


@pytest.mark.parametrize("route, probe", ADMIN_ONLY, ids=[f"{route} {probe.method}" for route, probe in ADMIN_ONLY])
def test_it_refuses_a_member_what_needs_an_admin(route, probe, ada_world, callers):
    ask(callers[probe.who], ada_world, route, probe)


@pytest.mark.parametrize("route", sorted(PUBLIC))
def test_it_shows_the_outsider_nothing_of_ada_on_public_routes(route, ada_world, callers):
    who = "outsider" if route.startswith("api/") else "outsider-page"
    ask(callers[who], ada_world, route, Probe(expect=(200, 302, 405), who=who))


@pytest.mark.parametrize("route", [route for route in sorted(PROBES) if route.startswith("api/v1/")])
def test_it_refuses_a_jobs_tracking_token_on_the_studio_api(route, ada_world, callers):
    """A job's MLFLOW_TRACKING_TOKEN is for MLflow only: the script that holds it (ada's other job,
    in her own workspace) cannot act as ada on the studio's API."""
    for probe in PROBES[route]:
        ask(callers["sibling-job"], ada_world, route,
            Probe(probe.method, probe.params, probe.query, probe.data, expect=(401,), who="sibling-job"))


def _admin_url(route: str, object_id: str) -> str:
    """An admin route with its parameters filled: an object id, the first app of an app list."""
    url = re.sub(r"<(?:\w+:)?\w+>", object_id, route).replace("^", "").replace("$", "")
    url = re.sub(r"\(\?P<app_label>([\w]+)[^)]*\)", r"\1", url)
    return "/" + url.replace("(?P<url>.*)", "no-such-page/")


def test_it_sends_everyone_but_staff_to_the_admins_sign_in(ada_world, callers):
    """Django's admin is for staff (bob and charlie are not): every admin page, with ada's ids."""
    routes = [route for route in url_patterns() if route.startswith(ADMIN_SITE)]
    assert "admin/quotas/cluster/<path:object_id>/change/" in routes
    object_id = ada_world.values["workspace_id"]
    for who in ("outsider-page", "member-page"):
        for route in routes:
            url = _admin_url(route, object_id)
            response = callers[who].get(url)
            if route in ("admin/login/", "admin/logout/"):
                assert response.status_code in (200, 302, 405), (url, response.status_code)
                continue
            assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), \
                (who, url, response.status_code)


def test_it_lets_ada_reach_what_bob_is_refused(ada_world, api, client, user):
    """The probes can fail: as ada, the same requests find her things."""
    from jobs.models import Job
    from jobs.tracking.auth import job_tracking_token
    from tests.tracking.conftest import client_for

    values = ada_world.values
    assert api.get(f"/api/v1/jobs/{values['job']}/logs").json()["text"] == "ada-secret-log-line\n"
    assert api.get(f"/api/v1/computes/{values['cluster']}").status_code == 200
    as_job = client_for(job_tracking_token(job=Job.objects.get(name=values["job"])))
    run = as_job.get("/api/2.0/mlflow/runs/get", {"run_id": values["run_id"]})
    assert run.status_code == 200 and run.json()["run"]["info"]["run_name"] == "ada-secret-run"
    client.force_login(user)
    assert "ada-secret-log-line" in client.get(f"/jobs/{values['job']}/").content.decode()
    assert values["cluster"] in client.get(f"/compute/{values['cluster']}/delete/").content.decode()
    link = client.get(f"/mlflow/experiments/{values['experiment_id']}/runs/{values['run_id']}/")
    assert link.status_code == 302 and link["Location"] == f"/jobs/{values['job']}/?workspace={values['workspace']}"
