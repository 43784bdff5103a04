import io
import json
import socket

import pytest

from studio.cli.client import MultipartBody, StudioClient
from studio.cli.errors import CliError
from tests.cli.fakes import job


def test_it_sends_the_token_and_reads_json(studio):
    studio.answer("GET", "/jobs/happy_cat_1", job())
    assert StudioClient(studio.url, "t0k3n").get_job("happy_cat_1")["status"] == "Queued"
    request = studio.made("GET", "/jobs/happy_cat_1")[0]
    assert request.headers["Authorization"] == "Token t0k3n"


def test_it_accepts_the_url_with_the_api_prefix_and_a_slash(studio):
    studio.answer("POST", "/jobs/j/cancel", job("j", "CancelRequested"))
    assert StudioClient(studio.url + "/api/v1/", "t").cancel_job("j")["status"] == "CancelRequested"


def test_it_renders_the_servers_message_errors_and_recommendations(studio):
    studio.answer("POST", "/jobs/explain", {"message": "resources.instance_count: too many", "extra": {
        "errors": [{"path": "resources.instance_count", "line": 7, "column": 3, "message": "at most 2 fit"}],
        "recommendations": ["ask for 2 instances", "request more quota"]}}, status=400)
    with pytest.raises(CliError) as error:
        StudioClient(studio.url, "t").explain("command: x")
    assert error.value.exit_code == 1
    assert error.value.message == (
        "resources.instance_count: too many\n"
        "  resources.instance_count (line 7, column 3): at most 2 fit\n"
        "  - ask for 2 instances\n"
        "  - request more quota")


def test_it_says_how_to_fix_a_rejected_token(studio):
    studio.answer("GET", "/jobs", {"message": "Invalid token.", "extra": {}}, status=401)
    with pytest.raises(CliError) as error:
        StudioClient(studio.url, "bad").list_jobs()
    assert error.value.message.startswith("Invalid token.\n") and "STUDIO_TOKEN" in error.value.message


def test_it_wonders_whether_a_url_without_the_api_is_a_studio(studio):
    with pytest.raises(CliError) as error:
        StudioClient(studio.url, "t").get_job("x")
    assert "404" in error.value.message and f"is {studio.url} a Serverless Studio?" in error.value.message


def test_it_says_when_the_studio_is_not_running():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(CliError) as error:
        StudioClient(f"http://127.0.0.1:{port}", "t").get_job("x")
    assert error.value.message.startswith(f"cannot reach the studio at http://127.0.0.1:{port}: ")
    assert error.value.message.endswith("; is it running?")


def test_it_posts_the_job_as_multipart_with_files_streamed(studio, tmp_path):
    studio.answer("POST", "/jobs", job("j1"), status=201)
    code = (tmp_path / "code.tar.gz").open("wb+")
    code.write(b"CODE-ARCHIVE")
    code.seek(0)
    data = (tmp_path / "data.tar.gz").open("wb+")
    data.write(b"\x1f\x8b DATA")
    data.seek(0)
    client = StudioClient(studio.url, "t", workspace="ws-default")
    created = client.create_job("command: echo hi\n", sets=["a=1", "b=2"], name="j1", code=code,
                                inputs={"iris": data})
    assert created["name"] == "j1"
    request = studio.made("POST", "/jobs")[0]
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert int(request.headers["Content-Length"]) == len(request.body)
    assert "Transfer-Encoding" not in request.headers
    form = request.form()
    assert form["spec"] == ["command: echo hi\n"]
    assert form["set"] == ["a=1", "b=2"]
    assert form["name"] == ["j1"] and form["workspace"] == ["ws-default"]
    assert form["code"] == [("code.tar.gz", b"CODE-ARCHIVE")]
    assert form["inputs.iris"] == [("iris.tar.gz", b"\x1f\x8b DATA")]


def test_it_leaves_out_optional_fields(studio):
    studio.answer("POST", "/jobs", job("j2"), status=201)
    StudioClient(studio.url, "t").create_job("command: x\n")
    assert set(studio.made("POST", "/jobs")[0].form()) == {"spec"}


def test_it_reads_a_multipart_body_in_small_pieces(tmp_path):
    handle = (tmp_path / "f").open("wb+")
    handle.write(b"x" * 10000)
    handle.seek(0)
    body = MultipartBody([("spec", "s")], [("code", "code.tar.gz", handle)])
    pieces = []
    while piece := body.read(4096):
        assert len(piece) <= 4096
        pieces.append(piece)
    assert len(b"".join(pieces)) == len(body)
    assert b"x" * 10000 in b"".join(pieces)


def test_it_pages_through_jobs_up_to_the_maximum(studio):
    page = lambda names, more: {"count": 5, "next": "http://x/?page=2" if more else None, "previous": None,
                                "results": [job(n) for n in names]}
    studio.answer("GET", "/jobs", page(["a", "b"], True), page(["c", "d"], True), page(["e"], False))
    names = [j["name"] for j in StudioClient(studio.url, "t").iter_jobs(max_results=3, status="Failed")]
    assert names == ["a", "b", "c"]
    first, second = studio.made("GET", "/jobs")
    assert first.query == {"status": ["Failed"], "page": ["1"], "page_size": ["3"]}
    assert second.query["page"] == ["2"]


def test_it_downloads_to_a_file_object(studio):
    studio.answer("GET", "/jobs/j/outputs/outputs/model.pkl", raw=b"\x00model", content_type="application/octet-stream")
    sink = io.BytesIO()
    StudioClient(studio.url, "t").download("j", sink, "outputs/model.pkl")
    assert sink.getvalue() == b"\x00model"


def test_it_explains_with_json(studio):
    studio.answer("POST", "/jobs/explain", {"decision": "wait", "reason": "quota busy", "position": 2})
    answer = StudioClient(studio.url, "t").explain("command: x\n", sets=["a=1"])
    assert answer["decision"] == "wait"
    assert json.loads(studio.made("POST", "/jobs/explain")[0].body) == {"spec": "command: x\n", "set": ["a=1"]}
