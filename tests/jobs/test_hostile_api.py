"""Hostile submissions through DRF's client: each gets a 4xx in the JSON error format naming the
field and the fix, creates nothing, and is logged; an unexpected error is a logged JSON 500."""

from __future__ import annotations

import io
import os
import json
import logging
import tarfile
import time

import pytest
from django.core import signals
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from rest_framework.views import APIView

from jobs.models import Job, JobEvent, Node
from tests.jobs.helpers import ENVIRONMENT, tar_gz

pytestmark = pytest.mark.django_db

JOB = ENVIRONMENT + "command: echo hi\n"


def rows():
    return Job.objects.count(), Node.objects.count(), JobEvent.objects.count()


def refused(response, status, *words):
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"message", "extra"}, body
    for word in words:
        assert word in body["message"], body["message"]
    return body


@pytest.fixture
def before(data_dir):
    return rows()


def test_an_alias_bomb_is_refused_before_it_is_built(api, before, caplog):
    text = JOB + "description: &big " + "x" * 100_000 + "\ntags:\n" + "".join(f"  t{i}: *big\n" for i in range(1_000))
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="studio.api"):
        response = api.post("/api/v1/jobs", data=text, content_type="application/yaml")
    assert time.monotonic() - started < 2.0
    refused(response, 400, "once aliases (*name) are expanded")
    assert rows() == before
    assert any("refused POST /api/v1/jobs (400)" in record.getMessage() for record in caplog.records)


def test_a_yaml_body_declared_larger_than_the_limit_is_refused_unread(api, before, settings):
    response = api.post("/api/v1/jobs", data=JOB, content_type="application/yaml", CONTENT_LENGTH=str(400 * 2**20))
    body = refused(response, 413, "body:", "419,430,400 bytes", "STUDIO_SPEC_MAX_BYTES")
    assert body["extra"]["limit"] == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert rows() == before


@pytest.mark.parametrize("content_type", ["application/yaml", "application/json"])
def test_a_body_over_the_limit_is_refused_in_the_json_format(api, before, settings, content_type):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    text = JOB + "description: " + "d" * 2_000 + "\n"
    data = text if content_type == "application/yaml" else json.dumps({"spec": text})
    body = refused(api.post("/api/v1/jobs", data=data, content_type=content_type), 413, "body: ")
    assert "limit of 1,000" in body["message"] or "DATA_UPLOAD_MAX_MEMORY_SIZE" in body["message"]
    assert rows() == before


def test_a_multipart_upload_declared_too_large_is_refused_unread(api, before, settings):
    settings.STUDIO_UPLOAD_MAX_BYTES = 10_000
    response = api.post("/api/v1/jobs", {"spec": JOB + "code: src\n", "code": tar_gz({"a.py": os.urandom(20_000)})},
                        format="multipart")
    refused(response, 413, "STUDIO_UPLOAD_MAX_BYTES")
    assert rows() == before


def test_too_many_fields_get_the_json_format(api, before, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    body = {"spec": JOB, "set": [f"tags.t{i}=v" for i in range(20)]}
    refused(api.post("/api/v1/jobs", body, format="multipart"), 400, "body:", "fields")
    assert rows() == before


@pytest.mark.parametrize("spec, field, words", [
    ({"command": "echo \x00hi", "environment": "azureml:e@1"}, "spec.command", "NUL character"),
    ({"command": "echo", "environment": "azureml:e@1", "limits": {"timeout": 2**70}}, "spec.limits.timeout",
     "beyond 64 bits"),
    ('{"command": "echo", "environment": "azureml:e@1", "tags": {"a": "\\ud800"}}', "spec.tags.a", "surrogate"),
])
def test_unstorable_json_values_are_refused_naming_the_field(api, before, spec, field, words):
    data = '{"spec": ' + (spec if isinstance(spec, str) else json.dumps(spec)) + "}"
    body = refused(api.post("/api/v1/jobs", data=data, content_type="application/json"), 400, f"{field}: ", words)
    assert body["extra"]["field"] == field
    assert rows() == before


@pytest.mark.parametrize("text, field, words", [
    (JOB.replace("echo hi", '"echo \\0hi"'), "command", "NUL character"),
    (JOB + f"limits: {{timeout: {2**64}}}\n", "limits.timeout", "beyond 64 bits"),
    (JOB + f"limits: {{timeout: {2**40}}}\n", "limits.timeout", "at most 2,147,483,647"),
    (JOB + f"resources: {{instance_count: {2**40}}}\n", "resources.instance_count", "at most 2,147,483,647"),
    (JOB + "display_name: " + "n" * 300 + "\n", "display_name", "at most 255"),
    (JOB + "tags: {" + ", ".join(f"t{i}: v" for i in range(101)) + "}\n", "tags", "at most 100"),
])
def test_unstorable_yaml_values_are_refused_naming_the_field(api, before, text, field, words):
    body = refused(api.post("/api/v1/jobs", data=text, content_type="application/yaml"), 400, f"{field}: ", words)
    assert body["extra"]["errors"][0]["path"] == field
    assert rows() == before


@pytest.mark.parametrize("depth", [60, 900, 100_000])
def test_deeply_nested_json_is_refused(api, before, depth):
    spec = "[" * depth + "]" * depth
    data = '{"spec": {"command": "echo", "inputs": ' + spec + "}}"
    refused(api.post("/api/v1/jobs", data=data, content_type="application/json"), 400, "nested")
    assert rows() == before


@pytest.mark.parametrize("data", ["[1, 2]", '"just text"', "{bad json", "NaN"])
def test_a_body_that_is_not_an_object_is_refused(api, before, data):
    refused(api.post("/api/v1/jobs", data=data, content_type="application/json"), 400, "body: ")
    refused(api.post("/api/v1/jobs/explain", data=data, content_type="application/json"), 400, "body: ")
    assert rows() == before


def many_files(count: int) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for index in range(count):
            archive.addfile(tarfile.TarInfo(f"f{index}"), io.BytesIO(b""))
    buffer.seek(0)
    buffer.name = "code.tar.gz"
    return buffer


def test_an_upload_of_100000_empty_files_is_refused_fast(api, before, data_dir):
    archive = many_files(100_000)
    started = time.monotonic()
    response = api.post("/api/v1/jobs", {"spec": JOB + "code: src\n", "code": archive}, format="multipart")
    elapsed = time.monotonic() - started
    body = refused(response, 400, "code: ", "more than 10,000 files", "STUDIO_CODE_MAX_FILES")
    assert body["extra"] == {"field": "code", "limit": 10_000}
    assert elapsed < 5.0, elapsed
    assert rows() == before
    assert not any((data_dir / "snapshots").glob("*/code")) if (data_dir / "snapshots").exists() else True


def test_the_file_limit_follows_its_setting(api, data_dir, settings):
    settings.STUDIO_CODE_MAX_FILES = 3
    refused(api.post("/api/v1/jobs", {"spec": JOB + "code: src\n", "code": many_files(4)}, format="multipart"),
            400, "more than 3 files")
    response = api.post("/api/v1/jobs", {"spec": JOB + "code: src\n", "code": many_files(3)}, format="multipart")
    assert response.status_code == 201, response.json()


def test_the_job_list_carries_bounded_summaries(api, data_dir):
    long = "d" * 20_000
    tags = "".join(f"  t{i}: {'v' * 4_000}\n" for i in range(100))
    response = api.post("/api/v1/jobs", data=JOB + f"description: {long}\ntags:\n{tags}",
                        content_type="application/yaml")
    assert response.status_code == 201, response.json()
    listed = api.get("/api/v1/jobs").json()["results"][0]
    assert len(listed["description"]) == 500 and listed["description"].endswith("…")
    assert len(listed["tags"]) == 20 and all(len(value) == 500 for value in listed["tags"].values())
    assert len(json.dumps(listed)) < 20_000
    detail = api.get(f"/api/v1/jobs/{listed['name']}").json()
    assert detail["description"] == long and len(detail["tags"]) == 100
    assert detail["spec_yaml"].startswith(ENVIRONMENT) and detail["spec"]["command"] == "echo hi"


def test_the_job_list_does_not_fetch_specs(api, data_dir):
    assert api.post("/api/v1/jobs", data=JOB + "description: x\n", content_type="application/yaml").status_code == 201
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/jobs").status_code == 200
    selected = [query["sql"] for query in queries.captured_queries if "jobs_job" in query["sql"]]
    assert selected and not any("spec_yaml" in sql for sql in selected), selected


# --- an unexpected error: logged with its traceback, answered as JSON on /api/, a page elsewhere ----

class Broken(Exception):
    pass


class BrokenApi(APIView):
    def get(self, request):
        raise Broken("a bug")


def broken_page(request):
    raise Broken("a bug")


urlpatterns = [
    path("api/v1/broken", BrokenApi.as_view()),
    path("broken", broken_page),
    path("", include("studio.urls")),
]
handler500 = "studio.views.server_error"  # as studio.urls says


@pytest.mark.urls(__name__)
def test_an_unexpected_api_error_is_a_logged_json_500(api, caplog):
    api.raise_request_exception = False
    with caplog.at_level(logging.ERROR):
        response = api.get("/api/v1/broken")
    body = refused(response, 500, "internal error")
    assert body["extra"] == {}
    [record] = [r for r in caplog.records if r.name == "studio.api"]
    assert "GET /api/v1/broken" in record.getMessage() and record.exc_info[0] is Broken


@pytest.mark.urls(__name__)
def test_an_unexpected_page_error_is_a_logged_html_500(client, caplog, user):
    client.raise_request_exception = False
    client.force_login(user)
    with caplog.at_level(logging.ERROR):
        response = client.get("/broken")
    assert response.status_code == 500 and b"Something went wrong" in response.content
    assert response["Content-Type"].startswith("text/html")
    assert any(r.name == "django.request" and r.exc_info and r.exc_info[0] is Broken for r in caplog.records)


def test_an_over_size_page_form_gets_an_html_page(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    response = client.post("/accounts/login/", {"username": "u" * 2_000, "password": "p"})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html") and b"Too large" in response.content


@pytest.mark.parametrize("url, field", [
    ("/api/v1/jobs?search=%00", "search"), ("/api/v1/jobs?status=Running&experiment=a%00b", "experiment"),
    ("/api/v1/usage?workspace=%00", "workspace"),
])
def test_nul_in_a_query_parameter_is_a_json_400_naming_it(api, url, field):
    body = refused(api.get(url), 400, f"{field}: ", "NUL character")
    assert body["extra"] == {"field": field}


@pytest.mark.parametrize("method, url, data", [
    ("get", "/jobs/?search=a%00", None),
    ("post", "/compute/create/", {"name": "c\x00", "size": "Standard_DS3_v2"}),
])
def test_nul_in_a_page_parameter_is_an_html_400(client, user, method, url, data):
    client.force_login(user)
    response = getattr(client, method)(url, data) if data else client.get(url)
    assert response.status_code == 400 and b"NUL character" in response.content
    assert response["Content-Type"].startswith("text/html")


class Endless:
    """A request body of `size` bytes made on demand, counting what the studio reads of it."""

    def __init__(self, size: int, chunk: bytes = b"a: " + b"x" * 61 + b"\n"):
        self.left, self.read_bytes, self.chunk = size, 0, chunk

    def read(self, size: int = -1) -> bytes:
        size = self.left if size is None or size < 0 else min(size, self.left)
        data = (self.chunk * (size // len(self.chunk) + 1))[:size]
        self.left -= size
        self.read_bytes += size
        return data

    readline = read


def wsgi_post(user, path: str, content_type: str, body: Endless) -> tuple[int, dict]:
    """Post through the WSGI handler itself, as gunicorn would: nothing buffers the body first."""
    from django.core.handlers.wsgi import WSGIHandler
    from rest_framework.authtoken.models import Token

    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
               "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(body.left), "SERVER_NAME": "testserver",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": body, "wsgi.errors": io.StringIO(),
               "HTTP_AUTHORIZATION": f"Token {Token.objects.get_or_create(user=user)[0].key}"}
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = int(status.split()[0])

    # As Django's test client does: the test's database connection stays open across the request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        content = b"".join(WSGIHandler()(environ, start_response))
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return answer["status"], json.loads(content)


@pytest.mark.parametrize("content_type", ["application/yaml", "application/json",
                                          "multipart/form-data; boundary=xyz"])
def test_a_400_mb_body_is_refused_having_read_none_of_it(user, workspace, before, content_type):
    body = Endless(400 * 2**20)
    status, answer = wsgi_post(user, "/api/v1/jobs", content_type, body)
    assert status == 413 and answer["message"].startswith("body: "), answer
    assert body.read_bytes == 0
    assert rows() == before

