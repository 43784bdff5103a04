"""What the CLI says when the network or a proxy fails it: things a real studio cannot be made to do."""

import io
import json

import pytest

from studio.cli.client import StudioClient
from studio.cli.errors import CliError
from tests.cli.raw_http import RawServer, response

BAD_GATEWAY = response("502 Bad Gateway", b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>")
LOGIN_PAGE = response("200 OK", b"<html><form action='/login'>Sign in</form></html>")


@pytest.fixture
def raw():
    servers = []

    def serve(answer: bytes) -> RawServer:
        servers.append(RawServer(answer))
        return servers[-1]

    yield serve
    for server in servers:
        server.close()


def test_it_says_what_a_proxy_answered(raw, run):
    proxy = raw(BAD_GATEWAY)
    code, out, err = run("job", "show", "-n", "j1", "--url", proxy.url, "--token", "t")
    assert (code, out) == (1, "")
    assert err == f"error: the studio answered 502 Bad Gateway to GET {proxy.url}/api/v1/jobs/j1\n"


def test_it_says_a_page_that_is_not_json_is_not_the_studio(raw, run):
    page = raw(LOGIN_PAGE)
    code, _, err = run("job", "list", "--url", page.url, "--token", "t")
    assert (code, err) == (1, f"error: the studio at {page.url} answered GET /jobs with something that is not "
                              "JSON; is this the right URL?\n")


def test_it_says_when_the_studio_hangs_up_in_the_middle_of_an_answer(raw, run):
    dropped = raw(response("200 OK", b'{"name": "j1", "sta', content_type="application/json", length=400))
    code, _, err = run("job", "show", "-n", "j1", "--url", dropped.url, "--token", "t")
    assert (code, err) == (1, f"error: the studio at {dropped.url} closed the connection in the middle of its "
                              "answer to GET /jobs/j1; try again\n")


def test_it_says_when_a_download_breaks_off(raw):
    dropped = raw(response("200 OK", b"\x00" * 1000, content_type="application/octet-stream", length=1 << 20))
    with pytest.raises(CliError) as error:
        StudioClient(dropped.url, "t").download("j1", io.BytesIO(), "outputs/model.pkl")
    assert error.value.message == (f"the studio at {dropped.url} closed the connection in the middle of its "
                                   "answer to GET /jobs/j1/outputs/outputs/model.pkl; try again")


def test_it_prints_the_failure_as_one_json_document(raw, run):
    proxy = raw(BAD_GATEWAY)
    code, out, _ = run("quota", "list", "-o", "json", "--url", proxy.url, "--token", "t")
    assert code == 1
    assert json.loads(out) == {"error": {
        "message": f"the studio answered 502 Bad Gateway to GET {proxy.url}/api/v1/quotas", "code": None,
        "recommendations": [], "errors": []}}
