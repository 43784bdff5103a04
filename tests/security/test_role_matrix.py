"""Every route of the studio against each kind of caller of ada's workspace ws-1: an outsider (bob,
of another subscription), a reader, a contributor (charlie), an owner and an admin of its
subscription (a reader by membership, an owner by being admin). Each gets the status the matrix
says; a refused write changes nothing of ws-1, an allowed one changes it, and a refusal names the
role it needs and the caller's. Pages show a refusal's sentence instead of the control.

The routes are read from the URLconf: a route that is neither in MATRIX nor in ROLE_FREE (with the
reason no role changes its answer) fails ``test_every_route_is_classified``, so that an endpoint
added later cannot be forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.test import Client
from django.utils.http import urlencode

from tests.conftest import api_client_for
from tests.security.conftest import FAMILY, OUTPUT, World, text_of, url_for, url_patterns, world_state

pytestmark = pytest.mark.django_db

PERSONAS = ("outsider", "reader", "contributor", "owner", "admin")
MEMBERS = PERSONAS[1:]
ROLE_OF = {"reader": "a reader", "contributor": "a contributor", "owner": "an owner"}


def read(ok: int = 200, outsider: int = 404) -> dict[str, int]:
    return {"outsider": outsider, **{persona: ok for persona in MEMBERS}}


def write(*, reader: int, contributor: int, owner: int, admin: int, outsider: int = 404) -> dict[str, int]:
    return {"outsider": outsider, "reader": reader, "contributor": contributor, "owner": owner, "admin": admin}


@dataclass(frozen=True)
class Ask:
    """One request; ``expect`` the status per persona. ``writes``: an allowed answer (below 400)
    changes ws-1 (for a member; the outsider's own workspace is not ws-1). ``shows``: text the
    body holds for a persona. ``page``: sent signed in to the pages (else with the API token)."""

    method: str = "get"
    params: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    data: dict | None = None
    expect: dict = field(default_factory=read)
    writes: bool = False
    page: bool = False
    htmx: str = ""
    shows: dict = field(default_factory=dict)
    absent: dict = field(default_factory=dict)  # text the body must not hold, per persona
    draft: bool = False  # the persona's own wizard run, walked to Review, is the route's {run}


WS1 = {"workspace": "{workspace}"}
JOB = {"name": "{job}"}  # ada's running Spot job
OWN = {"name": "{charlie_job}"}  # charlie's (the contributor's) running job
SPEC = "command: echo hi\nenvironment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest\n"
CANCEL_ANYONES = write(reader=403, contributor=403, owner=200, admin=200)
CANCEL_OWN = write(reader=403, contributor=200, owner=200, admin=200)
OWNERS = {"reader": 403, "contributor": 403}
ADMINS_ONLY = write(reader=403, contributor=403, owner=403, admin=200)


def page(method="get", **fields) -> Ask:
    return Ask(method, page=True, **fields)


def GRANTED(refusal_id: str) -> dict[str, str]:  # noqa: N802 — reads as a value in the table
    """No refusal (the element of that id) for the owner and the admin, who may."""
    return {persona: f'id="{refusal_id}"' for persona in ("owner", "admin")}


def refusal(sentence: str) -> dict[str, str]:
    """A page's refusal for the reader and the contributor, absent for the owner and the admin."""
    return {"reader": sentence.format(role="a reader"), "contributor": sentence.format(role="a contributor")}


MATRIX: dict[str, list[Ask]] = {
    # --- the studio's API --------------------------------------------------------------------------
    "api/v1/jobs": [
        Ask(expect=read(outsider=200), query=WS1),
        Ask("post", data={"spec": SPEC, **WS1}, expect=write(reader=403, contributor=201, owner=201, admin=201),
            writes=True),
    ],
    "api/v1/jobs/explain": [Ask("post", data={"spec": SPEC, **WS1})],
    "api/v1/jobs/<str:name>": [Ask(params=JOB), Ask(params=JOB, query=WS1)],
    "api/v1/jobs/<str:name>/cancel": [Ask("post", params=JOB, expect=CANCEL_ANYONES, writes=True),
                                      Ask("post", params=OWN, expect=CANCEL_OWN, writes=True)],
    "api/v1/jobs/<str:name>/evict": [Ask("post", params=JOB, expect=ADMINS_ONLY, writes=True)],
    "api/v1/jobs/<str:name>/logs": [Ask(params=JOB)],
    "api/v1/jobs/<str:name>/metrics": [Ask(params=JOB)],
    "api/v1/jobs/<str:name>/outputs": [Ask(params=JOB)],
    "api/v1/jobs/<str:name>/download": [Ask(params=JOB)],
    "api/v1/jobs/<str:name>/outputs/<path:path>": [Ask(params={**JOB, "path": OUTPUT})],
    "api/v1/computes": [
        Ask(query=WS1),
        Ask("post", data={"name": "new-cluster", "size": "Standard_DS3_v2", **WS1},
            expect=write(**OWNERS, owner=201, admin=201), writes=True),
    ],
    "api/v1/computes/<str:name>": [
        Ask(params={"name": "{cluster}"}, query=WS1),
        Ask("delete", params={"name": "{spare_cluster}"}, query=WS1, expect=write(**OWNERS, owner=204, admin=204),
            writes=True),
    ],
    "api/v1/quotas": [
        Ask(query=WS1),
        Ask("post", data={"family": FAMILY, "limit": 8, **WS1}, expect=write(**OWNERS, owner=200, admin=200),
            writes=True),  # the workspace's cap
        Ask("post", query=WS1, data={"family": FAMILY, "limit": 4000}, expect=ADMINS_ONLY, writes=True),
    ],
    "api/v1/quotas/spot": [Ask("post", query=WS1, data={"limit": 7}, expect=ADMINS_ONLY, writes=True)],
    "api/v1/usage": [Ask(query=WS1)],
    "api/v1/vm-sizes": [Ask(query=WS1)],
    # --- pages (the outsider's current workspace is his own: what he changes is not ws-1) -----------
    "jobs/": [page(expect=read(outsider=200)), page(htmx="job-rows", expect=read(outsider=200))],
    "jobs/<str:name>/": [
        page(params=JOB, absent=GRANTED("cancel-refusal"), shows=refusal(
            "Only owners of workspace &#x27;ws-1&#x27; can cancel other people&#x27;s jobs; you are {role}.")),
        page(params=OWN, shows={"reader": "can cancel other people&#x27;s jobs; you are a reader."},
             absent={persona: 'id="cancel-refusal"' for persona in ("contributor", "owner", "admin")}),
    ],
    "jobs/<str:name>/cancel/": [
        page("post", params=JOB, expect=write(reader=403, contributor=403, owner=302, admin=302), writes=True),
        page("post", params=OWN, expect=write(reader=403, contributor=302, owner=302, admin=302), writes=True),
        page("post", params=JOB, htmx="job-status", expect=read(), writes=True,
             shows=refusal("only owners of workspace &#x27;ws-1&#x27; can cancel other people&#x27;s jobs; "
                           "you are {role}")),
    ],
    "compute/": [page(expect=read(outsider=200), absent=GRANTED("manage-refusal"), shows=refusal(
        "Only owners of workspace &#x27;ws-1&#x27; can create or delete clusters; you are {role}."))],
    "compute/create/": [page("post", data={"name": "new-cluster", "size": "Standard_DS3_v2"},
                             expect=write(**OWNERS, owner=302, admin=302, outsider=302), writes=True)],
    "compute/<str:name>/delete/": [
        page(params={"name": "{cluster}"}, absent=GRANTED("manage-refusal"),
             shows=refusal("Only owners of workspace &#x27;ws-1&#x27; can delete clusters; you are {role}.")),
        page("post", params={"name": "{spare_cluster}"}, expect=write(**OWNERS, owner=302, admin=302), writes=True),
    ],
    "quota/": [page(expect=read(outsider=200), shows={
        "reader": "can set its quota caps; you are a reader.", "owner": "Workspace owner · you can set caps",
        "admin": "Subscription admin · you can edit quotas"})],
    "quota/spot/": [page("post", data={"limit": "7"}, expect=write(**OWNERS, owner=403, admin=302, outsider=302),
                         writes=True)],
    "quota/families/<str:family_id>/": [
        page("post", params={"family_id": FAMILY}, data={"subscription_limit": "", "workspace_cap": "8"},
             expect=write(**OWNERS, owner=302, admin=302, outsider=302), writes=True),
        page("post", params={"family_id": FAMILY}, data={"subscription_limit": "4000", "workspace_cap": ""},
             expect=write(**OWNERS, owner=403, admin=302, outsider=302), writes=True),
    ],
    "submit/<slug:run>/review/": [page(draft=True, params={"run": "{run}"}, expect=read(outsider=200), absent=GRANTED("submit-refusal"), shows={
        "reader": "Only contributors and owners of workspace &#x27;ws-1&#x27; can submit jobs; you are a reader."})],
    "submit/<slug:run>/submit/": [page("post", draft=True, params={"run": "{run}"}, writes=True,
                                       expect=write(reader=403, contributor=302, owner=302, admin=302, outsider=302))],
    "designer/": [page(expect=read(outsider=200))],
    "mlflow/experiments/<str:experiment_id>/": [page(params={"experiment_id": "{experiment_id}"}, expect=read(302))],
    "mlflow/experiments/<str:experiment_id>/runs/<str:run_id>/": [
        page(params={"experiment_id": "{experiment_id}", "run_id": "{job}"}, expect=read(302))],
}

WIZARD_DRAFT = "a draft in the caller's own session: nothing of a workspace changes before submit/<run>/submit/"
ROLE_FREE = {
    "": "redirects to the jobs list", "accounts/login/": "signing in", "accounts/logout/": "signing out",
    "healthz": "liveness", "favicon.ico": "the icon", "api/schema/": "the same document for every signed-in user",
    "previews/": "each user's own preview toggles, of no workspace",
    "submit/": WIZARD_DRAFT, "submit/<slug:run>/review/fit/": WIZARD_DRAFT,
    "submit/<slug:run>/compute/fit/": WIZARD_DRAFT, "submit/<slug:run>/compute/sizes/": WIZARD_DRAFT,
    "submit/<slug:run>/code/rows/<slug:table>/": WIZARD_DRAFT, "submit/<slug:run>/code/check/": WIZARD_DRAFT,
    "submit/<slug:run>/job.yml": WIZARD_DRAFT, "submit/<slug:run>/<slug:step>/": WIZARD_DRAFT,
}
# The MLflow tracking API: a member's own token reads whatever their role (and writes nothing); only
# a job's token writes, to its own run (test_outsiders.py asks every route of it).
TRACKING = ("api/2.0/mlflow", "^api/2\\.0/mlflow", "^api/[23]\\.0/mlflow")
ADMIN_SITE = "admin/"  # Django's admin: staff only (test_outsiders.py)


def test_every_route_is_classified():
    routes = [r for r in url_patterns() if not r.startswith((ADMIN_SITE, *TRACKING))]
    assert {"api/v1/jobs/<str:name>/cancel", "compute/create/", "quota/spot/"} <= set(routes)
    assert not (MATRIX.keys() | ROLE_FREE.keys()) - set(routes), "entries for routes that no longer exist"
    missing = [r for r in routes if r not in MATRIX and r not in ROLE_FREE]
    assert not missing, f"routes with no place in the role matrix (add them to MATRIX or ROLE_FREE): {missing}"


@pytest.fixture
def personas(ada_world, user, workspace, outsider, member, make_user):
    """Each persona's user; ada's world gains charlie's own running job."""
    from jobs.lifecycle import Status
    from jobs.models import Job, Node
    from quotas.services import cluster_create

    sam = make_user("sam", member_of=[workspace], role="reader")
    workspace.subscription.admins.add(sam)
    charlie_job = Job.objects.create(name="charlie-job", workspace=workspace, submitted_by=member,
                                     status=Status.RUNNING, spec={"command": "x"}, experiment_name="charlie")
    Node.objects.create(job=charlie_job, index=0, status=Status.RUNNING, worker="w")
    ada_world.values["charlie_job"] = charlie_job.name
    ada_world.values["spare_cluster"] = cluster_create(user=user, workspace=workspace, name="spare-cluster",
                                                       size="Standard_DS3_v2").name  # nothing uses it
    return {"outsider": outsider, "reader": make_user("rita", member_of=[workspace], role="reader"),
            "contributor": member, "owner": make_user("olga", member_of=[workspace], role="owner"), "admin": sam}


def _draft(client, persona_user) -> str:
    """The persona's own wizard run, walked to its Review step (the serverless preview on)."""
    from previews.registry import SERVERLESS
    from previews.services import preview_set
    from tests.pages.test_wizard_pages import start, walk_to_review

    preview_set(user=persona_user, key=SERVERLESS, enabled=True)
    run = start(client)
    walk_to_review(client, run)
    return run


CASES = [(route, index, persona) for route, asks in sorted(MATRIX.items()) for index in range(len(asks))
         for persona in PERSONAS]


@pytest.mark.parametrize("route, index, persona", CASES, ids=[f"{r} #{i} {p}" for r, i, p in CASES])
def test_each_persona_gets_what_its_role_allows(route, index, persona, personas, ada_world: World, data_dir):
    ask = MATRIX[route][index]
    who = personas[persona]
    if ask.page:
        client = Client()
        client.force_login(who)
    else:
        client = api_client_for(who)
    values = dict(ada_world.values)
    if ask.draft:
        values["run"] = _draft(client, who)
    filled = World(values=values)
    url = url_for(route, filled.fill(ask.params))
    query, data = filled.fill(ask.query), filled.fill(ask.data)
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": ask.htmx} if ask.htmx else {}

    before = world_state(ada_world)
    if ask.method == "get":
        response = client.get(url, query, **headers)
    else:
        if query:
            url += "?" + urlencode(query)
        kwargs = {"format": "json"} if not ask.page and data is not None else {}
        response = getattr(client, ask.method)(url, data or {}, **kwargs, **headers)
    body = text_of(response)
    label = f"{persona}: {ask.method.upper()} {url} {data or ''}"

    assert response.status_code == ask.expect[persona], f"{label} → {response.status_code}: {body[:800]}"
    changed = world_state(ada_world) != before
    should_change = ask.writes and persona != "outsider" and response.status_code < 400 and \
        not (ask.htmx and persona in ("reader", "contributor"))  # an htmx refusal is a 200 fragment
    assert changed == should_change, f"{label}: ws-1 {'changed' if changed else 'did not change'}"
    if response.status_code == 403:
        message = response.json()["message"] if not ask.page else body
        assert message.startswith("only ") or "Only " in message or "only " in message, message
        if persona in ROLE_OF:
            assert f"you are {ROLE_OF[persona]}" in message, f"{label}: the refusal names no role: {message}"
    if persona in ask.shows:
        assert ask.shows[persona] in body, f"{label}: expected {ask.shows[persona]!r} in the page"
    if persona in ask.absent:
        assert ask.absent[persona] not in body, f"{label}: {ask.absent[persona]!r} should not be in the page"
