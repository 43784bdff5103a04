"""A number too big for the database is refused with a message (or finds nothing), never a 500 —
whoever sends it. Here bob sends them, to his own things and to ada's ids."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

HUGE = "9" * 30  # beyond any 64-bit column


CASES = [
    pytest.param("outsider-page", "get", f"/mlflow/experiments/{HUGE}/", {}, (404,), id="link-to-an-experiment"),
    pytest.param("outsider-page", "get", f"/mlflow/experiments/{HUGE}/runs/{HUGE}/", {}, (404,), id="link-to-a-run"),
    pytest.param("outsider-bearer", "get", "/api/2.0/mlflow/experiments/get", {"experiment_id": HUGE}, (404,),
                 id="mlflow-experiment-get"),
    pytest.param("outsider", "get", "/api/v1/jobs/{bob_job}/logs", {"offset": HUGE, "node": HUGE}, (200,),
                 id="log-offset"),
    pytest.param("outsider", "get", "/api/v1/jobs", {"page": HUGE}, (404,), id="jobs-page"),
    pytest.param("outsider-bearer", "post", "/api/2.0/mlflow/runs/search", {"experiment_ids": [HUGE]}, (200, 400),
                 id="mlflow-runs-search-experiment"),
    pytest.param("outsider-job", "get", "/api/2.0/mlflow/metrics/get-history",
                 {"run_id": "{bob_job}", "metric_key": "loss", "page_token": HUGE}, (400,), id="mlflow-history-page"),
    pytest.param("outsider-bearer", "post", "/api/2.0/mlflow/experiments/search", {"page_token": HUGE}, (400,),
                 id="mlflow-experiments-search-page"),
    pytest.param("outsider", "post", "/api/v1/quotas", {"family": "standardDSv3Family", "limit": int(HUGE)}, (400,),
                 id="quota-limit"),
    pytest.param("outsider", "post", "/api/v1/quotas/spot", {"limit": int(HUGE)}, (400,), id="spot-limit"),
    pytest.param("outsider", "post", "/api/v1/computes",
                 {"name": "bobs-cluster", "size": "Standard_DS3_v2", "max_instances": int(HUGE)}, (400,),
                 id="cluster-max-instances"),
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
