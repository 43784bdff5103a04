"""What to ask each page as bob, signed in but not in ada's workspace: 404 for her job, cluster,
MLflow run or experiment; her wizard draft is not his (it lives in her session: he is sent to a new
run of his own); pages of his own workspace show nothing of hers, whatever ``?workspace=`` says.
Pages that change what only an admin may change are a 403 for charlie, a plain member of hers.
Read by test_outsiders.py, which fails for a page that has no probes here (or a reason in PUBLIC)."""

from __future__ import annotations

from tests.security.conftest import OWN, Probe

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
    "submit/<slug:run>/code/rows/<slug:table>/": [page(params={**DRAFT, "table": table}, expect=NEW_RUN,
                                                       why="a new row for her draft's table")
                                                  for table in ("literals", "data", "outputs", "env")],
    "submit/<slug:run>/code/check/": [page("post", params=DRAFT, expect=NEW_RUN, why="re-check her draft's code step")],
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

# Routes that hold nothing of any workspace; bob still gets nothing of ada's from them. (Django's
# admin, for staff only, is asked page by page in test_outsiders.py.)
PUBLIC = {
    "": "redirects to the jobs list (or to sign in)",
    "accounts/login/": "the sign-in form",
    "accounts/logout/": "signing out (POST)",
    "healthz": "liveness probe for load balancers: {'status': 'ok'}",
    "favicon.ico": "redirects to the static favicon",
}

ADMIN_ONLY: dict[str, list[Probe]] = {
    "quota/spot/": [Probe("post", data={"limit": "7"}, expect=(403,), who="member-page")],
    "quota/families/<str:family_id>/": [
        Probe("post", params={"family_id": "{family}"}, data={"subscription_limit": "3", "workspace_cap": ""},
              expect=(403,), who="member-page"),
        Probe("post", params={"family_id": "{family}"}, data={"subscription_limit": "", "workspace_cap": "2"},
              expect=(403,), who="member-page"),
    ],
}
