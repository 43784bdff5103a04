"""A number too big for the database is refused with a message (or finds nothing), never a 500 —
whoever sends it. Here bob sends them, to his own things and to ada's ids."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

HUGE = "9" * 30  # beyond any 64-bit column


def known_500(reason: str, *, only_on: str = ""):
    """A 500 today, outside this helper's files: the lead fixes it after merging (then drop this)."""
    return pytest.mark.xfail(not only_on or connection.vendor == only_on, strict=True, reason=reason)


CASES = [
    pytest.param("outsider-page", "get", f"/mlflow/experiments/{HUGE}/", {}, (404,), id="link-to-an-experiment"),
    pytest.param("outsider-page", "get", f"/mlflow/experiments/{HUGE}/runs/{HUGE}/", {}, (404,), id="link-to-a-run"),
    pytest.param("outsider-bearer", "get", "/api/2.0/mlflow/experiments/get", {"experiment_id": HUGE}, (404,),
                 id="mlflow-experiment-get"),
    pytest.param("outsider", "get", "/api/v1/jobs/{bob_job}/logs", {"offset": HUGE, "node": HUGE}, (200,),
                 id="log-offset"),
    pytest.param("outsider", "get", "/api/v1/jobs", {"page": HUGE}, (404,), id="jobs-page"),
    pytest.param("outsider-bearer", "post", "/api/2.0/mlflow/runs/search", {"experiment_ids": [HUGE]}, (200, 400),
                 id="mlflow-runs-search-experiment",
                 marks=known_500("jobs/tracking/selectors.py runs_search: TrackingExperiment.objects"
                                 ".filter(id__in=[<huge>]) raises OverflowError on SQLite: a 500", only_on="sqlite")),
    pytest.param("outsider-job", "get", "/api/2.0/mlflow/metrics/get-history",
                 {"run_id": "{bob_job}", "metric_key": "loss", "page_token": HUGE}, (400,), id="mlflow-history-page",
                 marks=known_500("jobs/tracking/selectors.py _offset: a page token beyond 64 bits reaches the "
                                 "database as OFFSET: OverflowError (SQLite) / DataError (PostgreSQL), a 500")),
    pytest.param("outsider-bearer", "post", "/api/2.0/mlflow/experiments/search", {"page_token": HUGE}, (400,),
                 id="mlflow-experiments-search-page",
                 marks=known_500("jobs/tracking/selectors.py _offset: same page-token overflow, a 500")),
    pytest.param("outsider", "post", "/api/v1/quotas", {"family": "standardDSv3Family", "limit": int(HUGE)}, (400,),
                 id="quota-limit",
                 marks=known_500("quotas/services.py _check_limit: no upper bound, the limit overflows the column: "
                                 "a 500")),
    pytest.param("outsider", "post", "/api/v1/quotas/spot", {"limit": int(HUGE)}, (400,), id="spot-limit",
                 marks=known_500("quotas/services.py quota_set_spot: no upper bound on the limit: a 500")),
    pytest.param("outsider", "post", "/api/v1/computes",
                 {"name": "bobs-cluster", "size": "Standard_DS3_v2", "max_instances": int(HUGE)}, (400,),
                 id="cluster-max-instances",
                 marks=known_500("quotas/services.py cluster_create (and its API serializer): no upper bound on "
                                 "max_instances: a 500")),
]


@pytest.mark.parametrize("who, method, url, body, expect", CASES)
def test_it_answers_a_huge_number_without_a_500(ada_world, callers, who, method, url, body, expect):
    client = callers[who]
    client.raise_request_exception = True  # a 500 shows its exception
    url, body = ada_world.fill(url), ada_world.fill(body)
    if method == "get":
        response = client.get(url, body)
    else:
        response = client.post(url, body, format="json")
    assert response.status_code in expect, response.content[:300]
