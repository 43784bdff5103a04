"""The CLI's HTTP client against the real studio: authentication, errors as the studio words
them, uploads, paging. (Failures only a broken network or proxy produces: test_transport.py.)"""

import json
import socket
from email import policy
from email.parser import BytesParser

import pytest

from studio.cli.client import MultipartBody, StudioClient
from studio.cli.errors import CliError
from tests.cli.helpers import ENVIRONMENT
from tests.jobs.helpers import tar_gz


def test_it_signs_in_with_the_token_and_reads_json(studio):
    studio.submit(name="happy_cat_1")
    assert StudioClient(studio.url, studio.token).get_job("happy_cat_1")["submitted_by"] == "ada"


def test_it_accepts_the_url_with_the_api_prefix_and_a_slash(studio):
    studio.submit(name="j")
    assert StudioClient(studio.url + "/api/v1/", studio.token).cancel_job("j")["name"] == "j"
    assert studio.job("j").status in ("CancelRequested", "Canceled")


def test_it_renders_the_studios_field_errors_with_their_positions(studio):
    with pytest.raises(CliError) as error:
        StudioClient(studio.url, studio.token).explain(ENVIRONMENT + "command: x\nresources:\n  instance_count: 0\n")
    message, *issues = error.value.message.splitlines()
    assert error.value.exit_code == 1
    assert message.startswith("resources.instance_count: ") and "(line 5, column 19)" in message
    assert issues == [f"  resources.instance_count (line 5, column 19): {error.value.errors[0]['message']}"]
    assert error.value.to_dict()["errors"][0]["path"] == "resources.instance_count"


def test_it_renders_the_studios_refusal_with_its_recommendations(studio, set_quota):
    set_quota("standardDSv3Family", 4)
    with pytest.raises(CliError) as error:
        StudioClient(studio.url, studio.token).create_job(
            ENVIRONMENT + "command: x\nresources:\n  instance_type: Standard_D2s_v3\n  instance_count: 3\n")
    refusal = error.value.to_dict()
    assert refusal["message"].startswith("at most 2 instances of Standard_D2s_v3")
    assert refusal["recommendations"] == ["reduce `resources.instance_count` to 2",
                                          "or request a quota increase for standardDSv3Family"]
    assert error.value.message == "\n".join([refusal["message"], *(f"  - {r}" for r in refusal["recommendations"])])


def test_it_says_how_to_fix_a_rejected_token(studio):
    with pytest.raises(CliError) as error:
        StudioClient(studio.url, "not-a-token").list_jobs()
    assert error.value.message == ("Invalid token.\n  check your API token: --token, STUDIO_TOKEN or the saved "
                                   "profile (`manage.py studio_setup` on the server writes one)")
    assert error.value.to_dict()["message"] == "Invalid token."


def test_it_wonders_whether_a_url_without_the_api_is_a_studio(studio):
    elsewhere = studio.url + "/somewhere-else"
    with pytest.raises(CliError) as error:
        StudioClient(elsewhere, studio.token).get_job("x")
    assert error.value.message == (f"the studio answered 404 Not Found to GET {elsewhere}/api/v1/jobs/x; "
                                   f"is {elsewhere} a Serverless Studio?")


def test_it_says_when_the_studio_is_not_running():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        with pytest.raises(CliError) as error:
            StudioClient(f"http://127.0.0.1:{port}", "t").get_job("x")
    assert error.value.message.startswith(f"cannot reach the studio at http://127.0.0.1:{port}: ")
    assert error.value.message.endswith("; is it running?")


def test_it_uploads_the_job_its_code_and_inputs(studio, tmp_path):
    from jobs import storage
    from jobs.models import Job

    code = (tmp_path / "code.tar.gz").open("wb+")
    code.write(tar_gz({"train.py": "print(1)\n"}).getvalue())
    code.seek(0)
    data = (tmp_path / "data.tar.gz").open("wb+")
    data.write(tar_gz({"iris.csv": "a,b\n"}).getvalue())
    data.seek(0)
    spec = (ENVIRONMENT + "code: .\ncommand: python train.py\n"
            "inputs:\n  iris:\n    type: uri_file\n    path: ./iris.csv\n")
    created = StudioClient(studio.url, studio.token, workspace="ws-1").create_job(
        spec, sets=["experiment_name=e1", "display_name=first"], name="j1", code=code, inputs={"iris": data})
    assert (created["name"], created["experiment_name"], created["display_name"]) == ("j1", "e1", "first")
    folder = Job.objects.get(name="j1").files
    assert (storage.code_dir(folder) / "train.py").read_text() == "print(1)\n"
    assert (storage.uploads_dir(folder) / "iris" / "iris.csv").read_text() == "a,b\n"


def test_it_leaves_out_optional_fields(studio):
    created = StudioClient(studio.url, studio.token).create_job(ENVIRONMENT + "command: x\n")
    assert created["name"] and created["workspace"] == "ws-1"  # a generated name; the only workspace


def test_it_writes_a_multipart_body_in_small_pieces_with_its_length(tmp_path):
    handle = (tmp_path / "f").open("wb+")
    handle.write(b"x" * 10000)
    handle.seek(0)
    body = MultipartBody([("spec", "s"), ("set", "a=1"), ("set", "b=2")], [("code", "code.tar.gz", handle)])
    pieces = []
    while piece := body.read(4096):
        assert len(piece) <= 4096
        pieces.append(piece)
    raw = b"".join(pieces)
    assert len(raw) == len(body)
    message = BytesParser(policy=policy.HTTP).parsebytes(f"Content-Type: {body.content_type}\r\n\r\n".encode() + raw)
    parts = [(p.get_param("name", header="content-disposition"), p.get_filename(), p.get_payload(decode=True))
             for p in message.iter_parts()]
    assert parts == [("spec", None, b"s"), ("set", None, b"a=1"), ("set", None, b"b=2"),
                     ("code", "code.tar.gz", b"x" * 10000)]


def test_it_pages_through_jobs_up_to_the_maximum(studio):
    for name in "abcde":
        studio.submit(name=name)
    client = StudioClient(studio.url, studio.token)
    assert [j["name"] for j in client.iter_jobs(max_results=3, page_size=2)] == ["e", "d", "c"]
    assert [j["name"] for j in client.iter_jobs(max_results=50, page_size=2, search="a")] == ["a"]
    assert len(list(client.iter_jobs(max_results=50, page_size=2))) == 5


def test_it_explains_with_json(studio):
    answer = StudioClient(studio.url, studio.token).explain(ENVIRONMENT + "command: x\n",
                                                            sets=["resources.instance_count=2"])
    assert answer["decision"] == "admit"
    assert json.dumps(answer)  # plain JSON, as `studio job explain -o json` prints it
