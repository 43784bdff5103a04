"""What to ask each API route — the studio's REST API and the MLflow tracking API — as bob, who is
not in ada's workspace: 404 for her things (403 where only a job's own token may write). A job's
tracking token reaches only its own job's runs. Read by test_outsiders.py, which fails for a route
under ``api/`` that has no probes here (or a reason in PUBLIC)."""

from __future__ import annotations

from tests.security.conftest import OWN, Probe

SPEC = "command: echo hi\nenvironment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest\n"
ON_WS1 = {"workspace": "{workspace}"}
JOB = {"name": "{job}"}
BOBS = {"name": "{bob_job}"}  # bob's own job, whose outputs hold links to ada's files
M = "api/2.0/mlflow/"
OTHER_CALLERS = ("outsider-bearer", "outsider-job", "sibling-job")  # bob's token, bob's job's, ada's other job's


def writes(data: dict) -> list[Probe]:
    """A tracking write to ada's job's run: bob's user token may not write at all (403), bob's job's
    token and ada's other job's token may not reach this run (403)."""
    return [Probe("post", data=data, expect=(403,), who=who) for who in OTHER_CALLERS]


def reads(query: dict) -> list[Probe]:
    """A tracking read of ada's job's run: not found for bob's user token (404), refused to any
    other job's token (403)."""
    return [Probe(query=query, who="outsider-bearer"), Probe(query=query, expect=(403,), who="outsider-job"),
            Probe(query=query, expect=(403,), who="sibling-job")]


PROBES: dict[str, list[Probe]] = {
    # --- the studio's API ---------------------------------------------------------------------
    "api/v1/jobs": [
        Probe(expect=OWN, why="bob's own jobs"),
        Probe(query=ON_WS1, expect=OWN, why="filtered to ws-1: nothing"),
        Probe(query={"search": "ada-secret", "experiment": "{experiment}"}, expect=OWN),
        Probe("post", data={"spec": SPEC, **ON_WS1}, why="submit into ws-1"),
    ],
    "api/v1/jobs/explain": [Probe("post", data={"spec": SPEC, **ON_WS1}, why="ws-1's quota, through explain")],
    "api/v1/jobs/<str:name>": [Probe(params=JOB), Probe(params={"name": "{run_id}"})],
    "api/v1/jobs/<str:name>/cancel": [Probe("post", params=JOB)],
    "api/v1/jobs/<str:name>/evict": [Probe("post", params=JOB, why="bob administers sub-2, not sub-1")],
    "api/v1/jobs/<str:name>/logs": [Probe(params=JOB), Probe(params=JOB, query={"node": "{node}", "offset": "0"})],
    "api/v1/jobs/<str:name>/metrics": [Probe(params=JOB)],
    "api/v1/jobs/<str:name>/outputs": [Probe(params=JOB), Probe(params=BOBS, expect=OWN, why="links skipped")],
    "api/v1/jobs/<str:name>/download": [Probe(params=JOB), Probe(params=BOBS, expect=OWN, why="links not followed")],
    "api/v1/jobs/<str:name>/outputs/<path:path>": [
        Probe(params={**JOB, "path": "{output}"}), Probe(params={**JOB, "path": "outputs"}),
        *[Probe(params={**BOBS, "path": path}, expect=(400, 404), why="out of bob's outputs")
          for path in ("outputs/peek.txt", "outputs/peek/{output}", "../{job}/{output}", "outputs/../../{job}")],
    ],
    "api/v1/computes": [
        Probe(expect=OWN),
        Probe(query=ON_WS1),
        Probe("post", data={"name": "bob-in-ws1", "size": "Standard_DS3_v2", **ON_WS1}),
    ],
    "api/v1/computes/<str:name>": [
        Probe(params={"name": "{cluster}"}), Probe(params={"name": "{cluster}"}, query=ON_WS1),
        Probe("delete", params={"name": "{cluster}"}), Probe("delete", params={"name": "{cluster}"}, query=ON_WS1),
    ],
    "api/v1/quotas": [
        Probe(expect=OWN), Probe(query=ON_WS1),
        Probe("post", data={"family": "{family}", "limit": 1, **ON_WS1}),
    ],
    "api/v1/quotas/spot": [Probe("post", query=ON_WS1, data={"limit": 1})],
    "api/v1/usage": [Probe(expect=OWN), Probe(query=ON_WS1)],
    "api/v1/vm-sizes": [Probe(expect=OWN), Probe(query=ON_WS1)],
    # --- the MLflow tracking API --------------------------------------------------------------
    M + "experiments/get-by-name": [Probe(query={"experiment_name": "{experiment}"}, who=who)
                                    for who in ("outsider-bearer", "outsider-job")],
    M + "experiments/get": [Probe(query={"experiment_id": "{experiment_id}"}, who=who)
                            for who in ("outsider", "outsider-bearer", "outsider-job")],
    M + "experiments/create": [Probe("post", data={"name": "bob-was-here"}, expect=(403,), who="outsider-bearer")],
    M + "experiments/search": [
        *[Probe("post", data={}, expect=OWN, who=who) for who in ("outsider-bearer", "outsider-job")],
        Probe(query={"filter": "name = '{experiment}'"}, expect=OWN, who="outsider-bearer"),
    ],
    M + "runs/create": [
        Probe("post", data={"experiment_id": "{experiment_id}"}, who="outsider-job", why="into ada's experiment"),
        Probe("post", data={"tags": [{"key": "mlflow.parentRunId", "value": "{job}"}]}, expect=(400,),
              who="outsider-job", why="under ada's run"),
        Probe("post", data={"experiment_id": "{experiment_id}"}, expect=(403,), who="outsider-bearer"),
    ],
    M + "runs/get": reads({"run_id": "{job}"}) + reads({"run_id": "{run_id}"}),
    M + "runs/update": writes({"run_id": "{job}", "run_name": "bob-was-here"})
    + writes({"run_id": "{run_id}", "status": "KILLED"}),
    M + "runs/log-metric": writes({"run_id": "{job}", "key": "bob", "value": 1, "timestamp": 1}),
    M + "runs/log-parameter": writes({"run_id": "{job}", "key": "bob", "value": "1"}),
    M + "runs/set-tag": writes({"run_id": "{run_id}", "key": "bob", "value": "1"}),
    M + "runs/delete-tag": writes({"run_id": "{job}", "key": "ada_secret_tag"}),
    M + "runs/log-batch": writes({"run_id": "{job}", "metrics": [{"key": "bob", "value": 1, "timestamp": 1}]}),
    M + "runs/search": [Probe("post", data={"experiment_ids": ["{experiment_id}"]}, expect=OWN, who=who)
                        for who in ("outsider-bearer", "outsider-job")],
    M + "runs/log-inputs": writes({"run_id": "{job}", "datasets": []}),
    M + "runs/outputs": writes({"run_id": "{job}", "models": []}),
    M + "runs/log-model": writes({"run_id": "{job}", "model_json": "{{}}"}),
    M + "metrics/get-history": reads({"run_id": "{job}", "metric_key": "ada_secret_metric"}),
    r"^api/2\.0/mlflow/logged-models(?P<rest>/.*)?$": [
        Probe(params={"path_": M + "logged-models/search"}, expect=(501,), who="outsider-bearer",
              why="a fixed answer: logged models are not kept"),
    ],
    r"^api/[23]\.0/mlflow/(?P<rest>.*)$": [
        Probe(params={"path_": M + "runs/delete"}, expect=(404,), who="outsider-bearer", why="not served"),
    ],
    "api/2.0/mlflow-artifacts/artifacts": reads({"path": "{job}/outputs"})
    + [Probe(query={"path": "{bob_job}/outputs"}, expect=OWN, who="outsider-job", why="links skipped"),
       Probe(query={"path": "{bob_job}/outputs/peek"}, expect=(400, 404), who="outsider-job")],
    "api/2.0/mlflow-artifacts/artifacts/<path:path>": [
        Probe(params={"path": "{job}/{output}"}, who="outsider-bearer"),
        *[Probe(params={"path": "{job}/{output}"}, expect=(403,), who=who) for who in ("outsider-job", "sibling-job")],
        *[Probe("put", params={"path": "{job}/outputs/bob.txt"}, expect=(403,), who=who)
          for who in OTHER_CALLERS],
        *[Probe(params={"path": path}, expect=(400, 404), who="outsider-job", why="out of bob's job's artifacts")
          for path in ("{bob_job}/outputs/peek.txt", "{bob_job}/outputs/peek/{output}", "{bob_job}/../{job}/{output}")],
        *[Probe("put", params={"path": path}, expect=(400, 403, 404), who="outsider-job", why="write through a link")
          for path in ("{bob_job}/outputs/peek/outputs/bob.txt", "{bob_job}/../{job}/outputs/bob.txt")],
    ],
    r"^api/2\.0/mlflow-artifacts/(?P<rest>.*)$": [
        Probe(params={"path_": "api/2.0/mlflow-artifacts/mpu/create"}, expect=(404,), who="outsider-bearer"),
    ],
}
# Routes under api/ that hold nothing of any workspace; bob still gets nothing of ada's from them.
PUBLIC = {
    "api/schema/": "the OpenAPI schema: the same document for every signed-in user, about no workspace",
}

# charlie is in ada's workspace but administers nothing: what needs an admin of sub-1 is a 403.
ADMIN_ONLY: dict[str, list[Probe]] = {
    "api/v1/quotas": [Probe("post", data={"family": "{family}", "limit": 1}, expect=(403,), who="member"),
                      Probe("post", data={"family": "{family}", "limit": 1, **ON_WS1}, expect=(403,), who="member")],
    "api/v1/quotas/spot": [Probe("post", data={"limit": 1}, expect=(403,), who="member")],
    "api/v1/jobs/<str:name>/evict": [Probe("post", params=JOB, expect=(403,), who="member")],
}
