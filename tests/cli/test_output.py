"""How the CLI shows the studio's JSON: pure functions, fed JSON in the API's shape."""

import json
from datetime import datetime, timezone

from studio.cli import output
from tests.cli.helpers import cells, fields_of


def job(name="happy_cat_1", status="Queued", **fields) -> dict:
    return {"name": name, "display_name": name, "type": "command", "status": status, "compute": "serverless",
            "created_at": "2025-01-01T10:00:00Z", "started_at": None, "ended_at": None, "exit_code": None,
            "error": "", "waiting": None, "instance_type": "Standard_D2as_v4", "instance_count": 1,
            "tier": "Standard", **fields}


def event(at: str, from_: str, to: str, code: str = "", message: str = "", actor: str = "") -> dict:
    return {"at": f"2025-01-01T10:{at}Z", "from": from_, "to": to, "code": code, "message": message, "actor": actor}


WAITING = {"code": "QuotaBusy", "reason": "waiting for quota: Standard_D2s_v3 × 1 needs 2 vCPUs of standardDSv3Family",
           "message": "waiting for quota: Standard_D2s_v3 × 1 needs 2 vCPUs of standardDSv3Family; position 2 in "
                      "the queue; estimated start between 10:05 and 10:20 UTC",
           "position": 2, "estimated_start": {"earliest": "2025-01-01T10:05:00Z", "latest": "2025-01-01T10:20:00Z"},
           "basis": "the 1 job ahead ends by its time limit (limits.timeout)"}


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


def test_it_formats_durations_with_the_studios_own_words():
    assert output.format_duration(3.24) == "3.2 s"
    assert output.format_duration(125) == "2 min 05 s"
    assert output.format_duration(3 * 3600 + 60 * 7) == "3 h 07 min"
    assert output.format_duration(None) == ""
    assert output.format_duration(0.042) == "42 ms"


def test_it_measures_a_running_job_up_to_now():
    now = datetime(2025, 1, 1, 10, 0, 30, tzinfo=timezone.utc)
    assert output.job_duration(job(started_at="2025-01-01T10:00:00Z"), now) == 30
    assert output.job_duration(job()) is None


def test_it_shows_a_job_with_nodes_notes_and_outputs():
    detail = job("j1", "Failed", exit_code=3, error="boom", failure_kind="user",
                 nodes=[{"index": 0, "status": "Failed", "worker": "w1", "exit_code": 3, "error": "boom"}],
                 events=[event("00:00", "", "", message="code snapshot kept: 3 files")])
    text = output.job_detail(detail, [{"path": "outputs/model.pkl", "size": 12}])
    assert "Status:" in text and "Failed" in text and "Exit code:" in text
    assert "Nodes\nNODE" in text and "w1" in text
    assert "System log\n" in text and "code snapshot kept: 3 files" in text
    assert "Timeline" not in text  # notes only
    assert "Outputs\nPATH" in text and "outputs/model.pkl" in text
    assert "Waiting" not in text  # empty fields are left out


def test_it_shows_why_a_job_waits_and_its_code():
    fields = fields_of(output.job_detail(job("j1", "Queued", instance_type="", waiting=WAITING)))
    assert (fields["Waiting"], fields["Waiting code"]) == (WAITING["message"], "QuotaBusy")
    assert "Estimated start" not in fields and "Queue position" not in fields  # the message says both


def test_it_warns_with_the_studios_whole_sentence_and_the_code():
    assert output.waiting_text(WAITING) == WAITING["message"] + " (QuotaBusy)"
    no_estimate = {**WAITING, "estimated_start": None,
                   "message": "waiting for quota ...; position 1 in the queue; no estimate: the 2 jobs ahead have "
                              "no time limit and no history"}
    assert output.waiting_text(no_estimate).endswith("no estimate: the 2 jobs ahead have no time limit and no "
                                                     "history (QuotaBusy)")
    assert output.waiting_text(None) == ""


SUBMITTED = event("00:00", "", "NotStarted", "Submitted", "submitted by ada to serverless compute", "ada")
QUEUED = event("00:01", "NotStarted", "Queued", "QuotaBusy", "waiting for quota")
ADMITTED = event("00:05", "Queued", "Provisioning", "Admitted", "1 node of Standard_D2as_v4")
PREPARING = event("00:06", "Provisioning", "Preparing", "NodeClaimed", "node 0 claimed by worker w1")
RUNNING = event("00:07", "Preparing", "Running", "NodeProgress", "Running")


FINALIZING = event("02:06", "Running", "Finalizing", "NodeProgress", "Finalizing")


def steps_of(detail: dict) -> dict[str, str]:
    """Each step's detail, by the step's label (the page's rule: jobs.lifecycle.timeline)."""
    return {row["status"]: row["detail"] for row in output.timeline_rows(detail)}


def test_it_shows_each_step_of_a_job_with_its_time():
    done = event("02:07", "Finalizing", "Completed", "Completed", "")
    rows = output.timeline_rows(job("j1", "Completed", events=[SUBMITTED, QUEUED, ADMITTED, PREPARING, RUNNING,
                                                               FINALIZING, done]))
    assert [row["status"] for row in rows] == ["Submitted", "Queued", "Provisioning", "Preparing", "Running",
                                               "Finalizing", "Completed"]
    assert rows[0]["at"] == output.format_time("2025-01-01T10:00:00Z")
    assert all(row["detail"] == "" for row in rows)  # all went well: nothing more to say


def test_it_shows_where_a_failed_job_stopped_and_why():
    failed = event("01:00", "Finalizing", "Failed", "UserError", "the command exited with code 3")
    steps = steps_of(job("j1", "Failed", events=[SUBMITTED, ADMITTED, PREPARING, RUNNING, FINALIZING, failed]))
    # the command failed while it ran; keeping its outputs afterwards is not where it stopped
    assert (steps["Queued"], steps["Running"], steps["Finalizing"]) == ("skipped", "stopped here: UserError", "")
    assert steps["Failed"] == "UserError: the command exited with code 3"


def test_it_shows_a_job_that_failed_before_it_ran_where_it_did():
    lost = event("00:30", "Preparing", "Failed", "InfrastructureError", "the environment could not be built")
    steps = steps_of(job("j1", "Failed", events=[SUBMITTED, ADMITTED, PREPARING, lost]))
    assert (steps["Preparing"], steps["Running"]) == ("stopped here: InfrastructureError", "not reached")
    assert steps["Failed"] == "InfrastructureError: the environment could not be built"


def test_it_shows_where_an_evicted_job_stopped_in_its_latest_attempt():
    requeued = event("00:20", "Running", "Queued", "Requeued", "evicted from Spot capacity; back in the queue")
    again = event("00:21", "Queued", "Provisioning", "Admitted", "1 node of Standard_D2as_v4")
    failed = event("00:22", "Provisioning", "Failed", "EvictionLimit", "evicted 4 times")
    rows = output.timeline_rows(job("j1", "Failed", events=[SUBMITTED, ADMITTED, RUNNING, requeued, again, failed]))
    assert rows[1] == {"at": output.format_time(requeued["at"]), "status": "Queued", "detail": ""}
    assert rows[2]["detail"] == "stopped here: EvictionLimit" and rows[4]["detail"] == "not reached"
    assert rows[-1]["detail"] == "EvictionLimit: evicted 4 times"


def test_it_shows_the_step_a_canceled_job_was_at_when_asked_to_stop():
    asked = event("00:30", "Running", "CancelRequested", "CancelRequested", "cancel requested by ada", "ada")
    canceled = event("00:31", "CancelRequested", "Canceled", "Canceled", "canceled by request")
    detail = job("j1", "Canceled", events=[SUBMITTED, ADMITTED, RUNNING, asked, canceled])
    steps = steps_of(detail)
    assert (steps["Running"], steps["Canceled"]) == ("stopped here: Canceled", "Canceled: canceled by request")
    log = output.job_detail(detail).split("\nSystem log\n", 1)[1]
    assert "CancelRequested  cancel requested by ada (CancelRequested, by ada)" in log


def test_it_keeps_notes_out_of_the_timeline_and_in_the_system_log():
    note = event("00:02", "", "", "", "code snapshot kept: 3 files")
    detail = job("j1", "Queued", events=[SUBMITTED, note, QUEUED])
    assert [(row["status"], row["detail"]) for row in output.timeline_rows(detail)][:3] == [
        ("Submitted", ""), ("Queued", "now"), ("Provisioning", "")]
    log = output.job_detail(detail).split("\nSystem log\n", 1)[1].splitlines()
    assert log[1] == f"{output.format_time(note['at'])}  code snapshot kept: 3 files"


def test_it_shows_the_requested_size_when_another_was_chosen():
    fields = fields_of(output.job_detail(job("j1", "Running", instance_type="Standard_D4as_v4",
                                             requested_instance_type="Standard_D4s_v3")))
    assert fields["VM size"] == "Standard_D4as_v4" and fields["Requested VM size"] == "Standard_D4s_v3"
    same = fields_of(output.job_detail(job("j1", "Running", requested_instance_type="Standard_D2as_v4")))
    assert "Requested VM size" not in same


def test_it_explains_a_wait_a_rejection_and_an_admission():
    wait = {"decision": "wait", "code": "QuotaBusy", "reason": WAITING["reason"], "message": WAITING["message"],
            "position": 2, "estimated_start": WAITING["estimated_start"], "basis": WAITING["basis"],
            "recommendations": []}
    assert output.explanation_text(wait) == f"wait: {WAITING['message']} (QuotaBusy)"
    reject = {**wait, "decision": "reject", "code": "NoQuotaForSize", "message": "no quota for Standard_NC6s_v3",
              "position": None, "estimated_start": None, "recommendations": ["choose a VM size that has quota"]}
    assert output.explanation_text(reject) == ("reject: no quota for Standard_NC6s_v3 (NoQuotaForSize)\n"
                                               "  - choose a VM size that has quota")
    admit = {**wait, "decision": "admit", "code": None, "message": "1 node of Standard_D2as_v4"}
    assert output.explanation_text(admit) == "admit: 1 node of Standard_D2as_v4"


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


def test_it_counts_free_quota_under_both_limits():
    row = {"subscription_limit": 20, "subscription_in_use": 12, "workspace_limit": None, "workspace_in_use": 2}
    assert output.quota_free(row) == 8
    assert output.quota_free({**row, "workspace_limit": 4}) == 2
    assert output.quota_free({**row, "workspace_limit": 1}) == 0  # over its cap: nothing, never negative
    assert output.quota_free({"subscription_limit": None, "workspace_limit": None}) == 0


def quota_rows(families, spot):
    quotas = {"subscription": "sub-1", "workspace": "ws-1", "families": families, "spot": spot}
    _heading, header, *rows = output.quota_table(quotas, output.quota_rows(quotas)).splitlines()
    return cells(header), [cells(row) for row in rows]


def family(name, limit, used=0, queued=0, jobs=0):
    return {"family": name, "display_name": name, "subscription_limit": limit, "workspace_limit": None,
            "subscription_in_use": used, "workspace_in_use": used, "queued_vcpus": queued, "queued_jobs": jobs}


def test_it_shows_what_waiting_jobs_need_per_family_and_for_spot():
    header, rows = quota_rows([family("standardDSv3Family", 20, used=20, queued=24, jobs=3),
                               family("standardDASv4Family", 10),
                               family("standardNCASv3_T4Family", 0, queued=4, jobs=1)],
                              {"limit": 16, "in_use": 0, "queued_vcpus": 8, "queued_jobs": 1})
    assert header[-1] == "QUEUED"
    assert [(row[0], row[-1]) for row in rows] == [
        ("standardDSv3Family", "24 (3 jobs)"), ("standardDASv4Family", "0"),
        ("standardNCASv3_T4Family", "4 (1 job)"),  # no quota, but demand: shown
        ("Spot (shared pool)", "8 (1 job)")]


def test_it_says_nothing_of_queued_demand_a_studio_did_not_send():
    old = {key: value for key, value in family("standardDSv3Family", 20).items() if not key.startswith("queued")}
    _header, rows = quota_rows([old], {"limit": 16, "in_use": 0})
    assert [row[-1] for row in rows] == ["-", "-"]


def test_it_says_how_many_instances_of_a_size_fit():
    sizes = [{"name": "Standard_D8s_v3", "family": "standardDSv3Family", "vcpus": 8, "memory_gib": 32, "gpus": 0,
              "gpu_model": "", "price_dedicated": 0.384, "price_spot": 0.04224, "quota_available": 20,
              "instances_fit": 2},
             {"name": "Standard_D32s_v3", "family": "standardDSv3Family", "vcpus": 32, "memory_gib": 128, "gpus": 0,
              "gpu_model": "", "price_dedicated": 1.536, "price_spot": None, "quota_available": 20,
              "instances_fit": 0}]
    header, *rows = output.vm_size_table(sizes).splitlines()
    assert cells(header)[-2:] == ["INSTANCES FIT", "QUOTA FREE (VCPUS)"]
    assert [cells(row)[-3:] for row in rows] == [["0.0422", "2", "20"], ["-", "0", "20"]]


def test_it_shows_a_cluster_scaling_down_until_when():
    row = output.compute_list_table([{"name": "gpu", "type": "amlcompute", "size": "Standard_NC4as_T4_v3",
                                      "min_instances": 0, "max_instances": 2, "idle_time_before_scale_down": 120,
                                      "allocated_nodes": 1, "busy_nodes": 0, "state": "scaling down",
                                      "scaling_down_until": "2025-01-01T10:02:00Z"}]).splitlines()[1]
    assert cells(row)[-1] == f"scaling down until {output.format_time('2025-01-01T10:02:00Z')}"
