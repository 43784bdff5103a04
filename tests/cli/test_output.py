import json
from datetime import datetime, timezone

from studio.cli import output


def job(name="happy_cat_1", status="Queued", **fields) -> dict:
    """A job as the API sends it (the fields these tests read)."""
    return {"name": name, "display_name": name, "type": "command", "status": status, "compute": "serverless",
            "created_at": "2025-01-01T10:00:00Z", "started_at": None, "ended_at": None, "exit_code": None,
            "error": "", "pending_reason": "", "queue_position": None, "estimated_start_at": None,
            "instance_type": "Standard_D2as_v4", "instance_count": 1, "tier": "Standard", **fields}


def test_it_lines_up_job_tables():
    jobs = [job("a", "Running", started_at="2025-01-01T10:00:00Z"),
            job("a_much_longer_name", "Completed", started_at="2025-01-01T10:00:00Z",
                ended_at="2025-01-01T10:02:05Z")]
    lines = output.job_list_table(jobs).splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "TYPE", "COMPUTE", "CREATED", "DURATION"]
    assert lines[1].index("Running") == lines[2].index("Completed") == lines[0].index("STATUS")
    assert lines[2].endswith("2 min 05 s")


def test_it_says_when_there_are_no_jobs():
    assert output.job_list_table([]) == "No jobs found."


def test_it_formats_durations():
    assert output.format_duration(3.24) == "3.2 s"
    assert output.format_duration(125) == "2 min 05 s"
    assert output.format_duration(3 * 3600 + 60 * 7) == "3 h 07 min"
    assert output.format_duration(None) == ""
    assert output.format_duration(0.042) == "42 ms"


def test_it_measures_a_running_job_up_to_now():
    now = datetime(2025, 1, 1, 10, 0, 30, tzinfo=timezone.utc)
    assert output.job_duration(job(started_at="2025-01-01T10:00:00Z"), now) == 30
    assert output.job_duration(job()) is None


def test_it_shows_a_job_with_nodes_events_and_outputs():
    detail = job("j1", "Failed", exit_code=3, error="boom", failure_kind="user",
                 nodes=[{"index": 0, "status": "Failed", "worker": "w1", "exit_code": 3, "error": "boom"}],
                 events=[{"at": "2025-01-01T10:00:00Z", "message": "queued: waiting for quota"}])
    text = output.job_detail(detail, [{"path": "outputs/model.pkl", "size": 12}])
    assert "Status:" in text and "Failed" in text and "Exit code:" in text
    assert "Nodes\nNODE" in text and "w1" in text
    assert "System log\n" in text and "queued: waiting for quota" in text
    assert "Outputs\nPATH" in text and "outputs/model.pkl" in text
    assert "Pending reason" not in text  # empty fields are left out


def test_it_renders_spec_issues_with_and_without_a_file():
    issue = {"path": "resources.instance_count", "line": 4, "column": 19, "message": "too big"}
    assert output.format_issue(issue, "job.yml") == "job.yml:4:19: resources.instance_count: too big"
    assert output.format_issue(issue) == "resources.instance_count (line 4, column 19): too big"
    assert output.format_issue({"path": "name", "line": None, "column": None, "message": "taken"}) == "name: taken"
    assert output.format_issue({"path": "", "line": None, "column": None, "message": "gone"}, "a.yml") == "a.yml: gone"


def test_it_reads_the_studios_error_body():
    body = {"message": "no quota for Standard_NC6", "extra": {
        "code": "NoQuotaForSize",
        "errors": [{"path": "resources.instance_type", "line": 3, "column": 18, "message": "no quota"}],
        "recommendations": ["use Standard_D2as_v4", "request a quota increase"]}}
    error = output.error_body(body)
    assert error == {"message": "no quota for Standard_NC6", "code": "NoQuotaForSize",
                     "recommendations": ["use Standard_D2as_v4", "request a quota increase"],
                     "errors": body["extra"]["errors"]}
    assert output.error_lines(error) == (
        "no quota for Standard_NC6\n"
        "  resources.instance_type (line 3, column 18): no quota\n"
        "  - use Standard_D2as_v4\n"
        "  - request a quota increase")
    assert output.error_body({"detail": "x"}) is None
    assert output.error_body({"message": "gone", "extra": "?"})["recommendations"] == []



def test_it_renders_validation_results():
    good = {"file": "a.yml", "kind": "command", "valid": True, "errors": [],
            "warnings": [{"path": "code", "line": 3, "column": 7, "message": "missing"}]}
    bad = {"file": "b.yml", "kind": "command", "valid": False, "warnings": [],
           "errors": [{"path": "foo", "line": 5, "column": 1, "message": "unknown field"}]}
    assert output.validation_lines(good) == ["a.yml: valid (command)", "warning: a.yml:3:7: code: missing"]
    assert output.validation_lines(bad) == ["b.yml:5:1: foo: unknown field"]


def test_it_writes_json_that_round_trips():
    data = {"name": "j", "nested": [1, "ü"]}
    assert json.loads(output.to_json(data)) == data


def test_it_says_when_an_estimated_start_is():
    now = datetime(2025, 1, 1, 10, 0, tzinfo=timezone.utc)
    assert output.format_eta("2025-01-01T10:12:00Z", now).endswith(" (in 12 min)")
    assert output.format_eta("2025-01-01T12:05:00Z", now).endswith(" (in 2 h 5 min)")
    assert output.format_eta("2025-01-01T09:59:00Z", now).endswith(" (any moment now)")
    assert output.format_eta("2025-01-04T13:00:00Z", now).endswith(" (in 3 d 3 h)")
    assert output.format_eta(None, now) == ""


def test_it_counts_free_quota_under_both_limits():
    row = {"subscription_limit": 20, "subscription_in_use": 12, "workspace_limit": None, "workspace_in_use": 2}
    assert output.quota_free(row) == 8
    assert output.quota_free({**row, "workspace_limit": 4}) == 2
    assert output.quota_free({**row, "workspace_limit": 1}) == 0  # over its cap: nothing, never negative
    assert output.quota_free({"subscription_limit": None, "workspace_limit": None}) == 0
