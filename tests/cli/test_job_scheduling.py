"""What the scheduler decided about a job, and what happened to it, as `studio job show/evict` tell it."""

import json
import re

from tests.cli.helpers import D2S_V3, cells, fields_of
from tests.jobs.helpers import wait_for_status

SPOT = "command: sleep 30\nqueue_settings:\n  job_tier: Spot\n"


def test_it_shows_the_vm_size_it_chose_and_why(studio, run):
    studio.submit(name="j1")
    code, out, _ = run("job", "show", "-n", "j1")
    assert code == 0
    fields = fields_of(out)
    assert (fields["VM size"], fields["Tier"], fields["Instance count"]) == ("Standard_D2as_v4", "Standard", "1")
    assert fields["Why this size"].startswith("1 node of Standard_D2as_v4")
    assert "the cheapest general-purpose CPU size" in fields["Why this size"]
    assert "Requested VM size" not in fields


def test_it_shows_why_it_chose_a_dearer_size(studio, set_quota, run):
    set_quota("standardDASv4Family", 2)
    studio.submit(name="takes_the_cheapest")
    studio.submit(name="j1")
    fields = fields_of(run("job", "show", "-n", "j1")[1])
    assert fields["VM size"] != "Standard_D2as_v4"
    assert fields["Why this size"].startswith(f"1 node of {fields['VM size']} (")
    assert "Standard_D2as_v4 is cheaper but its quota is in use" in fields["Why this size"]


def test_it_shows_why_a_job_waits_and_its_code(studio, busy, run):
    studio.submit(D2S_V3, name="j1")
    waiting = json.loads(run("job", "show", "-n", "j1", "-o", "json")[1])["waiting"]
    fields = fields_of(run("job", "show", "-n", "j1")[1])
    assert (fields["Status"], fields["Waiting"], fields["Waiting code"]) == ("Queued", waiting["message"], "QuotaBusy")
    assert "position 1" in fields["Waiting"]
    assert "VM size" not in fields


def test_it_leaves_out_what_the_scheduler_did_not_say(studio, busy, run):
    studio.submit(D2S_V3, name="j1")
    run("job", "cancel", "-n", "j1")
    out = run("job", "show", "-n", "j1")[1]
    fields = fields_of(out)
    assert (fields["Status"], fields["Requested VM size"]) == ("Canceled", "Standard_D2s_v3")
    assert not {"VM size", "Why this size", "Waiting", "Waiting code", "Evictions", "Started", "Exit code"} & set(fields)
    assert "\nNodes\n" not in out


def timeline(out: str) -> list[tuple[str, str]]:
    """(status, detail) of each row of the Timeline table (a step it never reached has no time)."""
    section = out.split("\nTimeline\n", 1)[1].split("\n\n", 1)[0]
    header, *rows = section.splitlines()
    assert cells(header) == ["AT", "STATUS", "DETAIL"]
    status_at, detail_at = header.index("STATUS"), header.index("DETAIL")
    return [(row[status_at:detail_at].strip(), row[detail_at:].strip()) for row in rows]


def test_it_shows_the_steps_of_a_completed_job(studio, local_executor, run):
    studio.submit(name="j1")
    wait_for_status("j1")
    rows = timeline(run("job", "show", "-n", "j1")[1])
    assert [row[0] for row in rows] == ["Submitted", "Queued", "Provisioning", "Preparing", "Running", "Finalizing",
                                        "Completed"]
    assert rows[1] == ("Queued", "skipped")  # admitted at once
    assert rows[-1] == ("Completed", "")


def test_it_shows_where_a_failed_job_stopped_and_why(studio, local_executor, run):
    studio.submit("command: exit 3\n", name="j1")
    wait_for_status("j1")
    rows = dict(timeline(run("job", "show", "-n", "j1")[1]))
    assert rows["Running"] == "stopped here: UserError"
    assert rows["Failed"] == "UserError: the command exited with code 3"


def test_it_shows_where_a_canceled_job_stopped(studio, busy, run):
    studio.submit(D2S_V3, name="j1")
    run("job", "cancel", "-n", "j1")
    rows = dict(timeline(run("job", "show", "-n", "j1")[1]))
    assert rows["Queued"] == "stopped here: Canceled"
    assert rows["Running"] == "not reached"
    assert rows["Canceled"] == "Canceled: canceled by ada before it started"


def test_it_evicts_a_spot_job_back_to_the_queue(studio, local_executor, run):
    studio.submit(SPOT, name="j1")
    wait_for_status("j1", {"Running"})
    code, out, _ = run("job", "evict", "--name", "j1")
    # the answer comes as the nodes are told to stop: the job is still at work (or, rarely, already back)
    assert code == 0 and re.fullmatch(r"Job j1 evicted: (Running|Queued|Provisioning|Preparing)\n", out), out
    assert wait_for_evicted_and_running_again("j1").evictions == 1
    code, out, _ = run("job", "evict", "-n", "j1")
    assert code == 0 and re.fullmatch(r"Job j1 evicted: \w+ \(evictions so far: [12]\)\n", out), out
    assert fields_of(run("job", "show", "-n", "j1")[1])["Evictions"] in ("1", "2")


def wait_for_evicted_and_running_again(name: str):
    """Back in the queue once, then running again (the executor's scheduling cycle admits it)."""
    import time

    from jobs.models import Job

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = Job.objects.get(name=name)
        if job.evictions >= 1 and job.status == "Running" and not job.evicting:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {name} was not evicted and run again: {job.status}, {job.evictions} evictions")


def test_it_shows_why_a_job_cannot_be_evicted(studio, run):
    studio.submit(name="j1")
    code, out, err = run("job", "evict", "-n", "j1")
    assert (code, out) == (1, "")
    assert err == "error: job 'j1' runs on dedicated (Standard) nodes; only Spot jobs can be evicted\n"


def test_it_lets_only_admins_evict(studio, member, run, monkeypatch):
    studio.submit(SPOT, name="j1")
    monkeypatch.setenv("STUDIO_TOKEN", studio.token_for(member))
    code, out, err = run("job", "evict", "-n", "j1")
    assert (code, out) == (1, "")
    assert err == ("error: only admins of subscription 'sub-1' can evict jobs; "
                   "you are a contributor of workspace 'ws-1'\n")
