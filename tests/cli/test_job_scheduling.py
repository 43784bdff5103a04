"""What the scheduler decided about a job, as `studio job show/create/evict` tell it."""

import json
from datetime import datetime, timedelta, timezone

from studio.cli.output import format_time
from tests.cli.fakes import job


def connect(studio):
    return ("--url", studio.url, "--token", "t")


def soon(minutes: int) -> str:
    moment = datetime.now(timezone.utc) + timedelta(minutes=minutes, seconds=20)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def lines_of(out: str) -> dict[str, str]:
    return {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in out.splitlines() if ":" in line}


def test_it_shows_the_vm_size_why_and_the_queue(studio, run):
    eta = soon(12)
    studio.answer("GET", "/jobs/j1", job(
        "j1", "Queued", tier="Spot", instance_type="Standard_DS3_v2", requested_instance_type=None,
        instance_type_reason="cheapest CPU size with free quota and a 28 GiB disk",
        pending_reason="waiting for 4 vCPUs of standardDSv2Family quota in use by other jobs",
        queue_position=2, estimated_start_at=eta, evictions=1))
    studio.answer("GET", "/jobs/j1/outputs", [])
    code, out, _ = run("job", "show", "-n", "j1", *connect(studio))
    assert code == 0
    fields = lines_of(out)
    assert fields["VM size"] == "Standard_DS3_v2"
    assert fields["Why this size"] == "cheapest CPU size with free quota and a 28 GiB disk"
    assert fields["Tier"] == "Spot"
    assert fields["Pending reason"] == "waiting for 4 vCPUs of standardDSv2Family quota in use by other jobs"
    assert fields["Queue position"] == "2"
    assert fields["Estimated start"] == f"{format_time(eta)} (in 12 min)"
    assert fields["Evictions"] == "1"
    assert "Requested VM size" not in fields


def test_it_shows_the_requested_size_when_another_was_chosen(studio, run):
    studio.answer("GET", "/jobs/j1", job("j1", "Running", instance_type="Standard_D4as_v4",
                                         requested_instance_type="Standard_D4s_v3",
                                         instance_type_reason="no quota left for Standard_D4s_v3"))
    studio.answer("GET", "/jobs/j1/outputs", [])
    fields = lines_of(run("job", "show", "-n", "j1", *connect(studio))[1])
    assert fields["VM size"] == "Standard_D4as_v4" and fields["Requested VM size"] == "Standard_D4s_v3"


def test_it_leaves_out_what_the_scheduler_did_not_say(studio, run):
    studio.answer("GET", "/jobs/j1", job("j1", "Completed", instance_type=None, tier=None, evictions=0))
    studio.answer("GET", "/jobs/j1/outputs", [])
    out = run("job", "show", "-n", "j1", *connect(studio))[1]
    for label in ("VM size", "Why this size", "Tier", "Pending reason", "Queue position", "Estimated start",
                  "Evictions"):
        assert f"{label}:" not in out


def test_it_evicts_a_spot_job(studio, run):
    studio.answer("POST", "/jobs/j1/evict", job("j1", "Queued", tier="Spot", evictions=2))
    code, out, _ = run("job", "evict", "--name", "j1", *connect(studio))
    assert (code, out) == (0, "Job j1 evicted: Queued (evictions so far: 2)\n")
    assert len(studio.made("POST", "/jobs/j1/evict")) == 1
    code, out, _ = run("job", "evict", "-n", "j1", "-o", "json", *connect(studio))
    assert code == 0 and json.loads(out)["evictions"] == 2


def test_it_shows_why_a_job_cannot_be_evicted(studio, run):
    studio.answer("POST", "/jobs/j1/evict", {"message": "Only Spot jobs can be evicted; j1 is Standard.",
                                             "extra": {"recommendations": ["cancel it: studio job cancel --name j1"]}},
                  status=409)
    code, out, err = run("job", "evict", "-n", "j1", *connect(studio))
    assert (code, out) == (1, "")
    assert err == ("error: Only Spot jobs can be evicted; j1 is Standard.\n"
                   "  - cancel it: studio job cancel --name j1\n")


def test_it_warns_when_a_created_job_waits_with_its_estimated_start(studio, run, tmp_path):
    (tmp_path / "job.yml").write_text("command: echo hi\nenvironment:\n  image: python:3.11-slim\n")
    eta = soon(5)
    studio.answer("POST", "/jobs", job("j1", "Queued", pending_reason="quota busy", queue_position=1,
                                       estimated_start_at=eta), status=201)
    code, out, err = run("job", "create", "-f", str(tmp_path / "job.yml"), *connect(studio))
    assert code == 0 and "Job j1 created: Queued" in out
    assert f"warning: quota busy (position 1 in the queue, estimated start {format_time(eta)} (in 5 min))\n" in err


def test_it_exits_1_with_the_recommendations_when_the_job_cannot_fit(studio, run, tmp_path):
    (tmp_path / "job.yml").write_text("command: echo hi\nenvironment:\n  image: python:3.11-slim\n"
                                      "resources:\n  instance_count: 8\n")
    studio.answer("POST", "/jobs", {"message": "At most 2 instances of Standard_DS3_v2 fit in the quota.", "extra": {
        "recommendations": ["set resources.instance_count to 2", "request a quota increase for standardDSv2Family"]}},
        status=400)
    code, out, err = run("job", "create", "-f", str(tmp_path / "job.yml"), *connect(studio))
    assert (code, out) == (1, "")
    assert err.endswith("error: At most 2 instances of Standard_DS3_v2 fit in the quota.\n"
                        "  - set resources.instance_count to 2\n"
                        "  - request a quota increase for standardDSv2Family\n")
