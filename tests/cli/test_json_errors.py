"""`--output json` promises exactly one JSON document on stdout: a command that fails prints
``{"error": {"message", "code", "recommendations", "errors"}}`` there (and says why on stderr)."""

import json

import pytest

from tests.cli.helpers import ENVIRONMENT


def error_of(out: str) -> dict:
    document = json.loads(out)  # exactly one document: json.loads refuses anything after it
    assert list(document) == ["error"] and set(document["error"]) == {"message", "code", "recommendations", "errors"}
    return document["error"]


def test_it_prints_a_refused_submission_as_one_json_document(studio, set_quota, run, tmp_path):
    set_quota("standardDSv3Family", 4)
    (tmp_path / "job.yml").write_text(ENVIRONMENT + "command: x\nresources:\n  instance_type: Standard_D2s_v3\n"
                                      "  instance_count: 3\n")
    code, out, err = run("job", "create", "-f", str(tmp_path / "job.yml"), "-o", "json")
    assert code == 1
    error = error_of(out)
    assert error["message"].startswith("at most 2 instances of Standard_D2s_v3")
    assert error["recommendations"] == ["reduce `resources.instance_count` to 2",
                                        "or request a quota increase for standardDSv3Family"]
    assert err.endswith(f"error: {error['message']}\n  - reduce `resources.instance_count` to 2\n"
                        "  - or request a quota increase for standardDSv3Family\n")


def test_it_gives_the_reason_code_of_a_refusal(studio, run, tmp_path):
    (tmp_path / "job.yml").write_text(ENVIRONMENT + "command: x\nresources:\n  instance_type: Standard_NC24ads_A100_v4\n")
    code, out, _ = run("job", "create", "-f", str(tmp_path / "job.yml"), "-o", "json")
    error = error_of(out)
    assert (code, error["code"]) == (1, "NoQuotaForSize")
    assert "Standard_NC24ads_A100_v4" in error["message"] and error["recommendations"]


def test_it_prints_a_bad_job_file_with_each_problem(nowhere, run, tmp_path):
    (tmp_path / "job.yml").write_text(ENVIRONMENT + "command: x\nresources:\n  instance_count: 0\n")
    code, out, err = run("job", "create", "-f", str(tmp_path / "job.yml"), "-o", "json")
    assert code == 1
    error = error_of(out)
    assert error["message"] == err.strip()  # the same line a terminal shows
    assert [(e["path"], e["line"], e["column"]) for e in error["errors"]] == [("resources.instance_count", 5, 19)]


@pytest.mark.parametrize("argv, message", [
    (["job", "show", "-n", "nope"], "job 'nope' was not found in your workspaces; `studio job list` shows your jobs"),
    (["compute", "delete", "-n", "nope", "--yes"],
     "compute 'nope' was not found in workspace 'ws-1'; `studio compute list` shows the clusters"),
    (["quota", "set", "--family", "standardDSv3Family", "--limit", "8", "-w", "ws-9"],
     "workspace: you are not a member of a workspace named 'ws-9'"),
    (["job", "evict", "-n", "nope"], "job 'nope' was not found in your workspaces; `studio job list` shows your jobs"),
])
def test_it_prints_every_failing_command_as_one_json_document(studio, run, argv, message):
    code, out, err = run(*argv, "--output", "json")
    assert code == 1
    assert error_of(out) == {"message": message, "code": None, "recommendations": [], "errors": []}
    assert err == f"error: {message}\n"


def test_it_prints_a_local_refusal_as_one_json_document(nowhere, run):
    code, out, _ = run("quota", "set", "--spot", "--limit", "4", "-w", "ws-2", "-o", "json")
    assert code == 1
    assert error_of(out)["message"].startswith("--spot: the Spot pool is shared by the whole subscription")


def test_it_prints_an_unreachable_studio_as_one_json_document(nowhere, run):
    code, out, _ = run("job", "list", "-o", "json")
    assert code == 1 and error_of(out)["message"].startswith(f"cannot reach the studio at {nowhere}: ")


@pytest.mark.parametrize("argv", [["job", "list", "--max-results", "0", "-o", "json"],
                                  ["-ojson", "job", "list", "--max-results", "0"],
                                  ["job", "list", "--max-results=0", "--output=json"],
                                  ["job", "list", "--max-results", "0", "--out", "json"]])
def test_it_prints_a_usage_error_as_one_json_document_too(run, capsys, argv):
    from studio.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    assert exit_info.value.code == 2
    assert error_of(captured.out)["message"] == "argument --max-results: must be 1 or more, got 0"
    assert "error: argument --max-results: must be 1 or more, got 0" in captured.err


def test_it_keeps_stdout_empty_for_a_usage_error_without_json(capsys):
    from studio.cli.main import main

    with pytest.raises(SystemExit):
        main(["job", "list", "--max-results", "0"])
    assert capsys.readouterr().out == ""


def test_it_prints_a_missing_command_as_one_json_document(run):
    code, out, err = run("quota", "-o", "json")
    assert code == 2 and error_of(out)["message"] == "choose a command: studio quota {list,set}"
    assert "list" in err and "set" in err
