"""`studio job stream` follows a real job's log to its end; the exit code follows the job's fate."""

import json
import re

import pytest

from studio.cli.client import StudioClient
from studio.cli.commands.job import exit_code_for, follow_job, summary_line
from studio.cli.errors import CliError
from tests.cli.helpers import D2S_V3
from tests.jobs.helpers import wait_for_status

TWO_EPOCHS = "command: echo epoch 1; printf 'epoch 2'\n"
PHASES = ["NotStarted", "Queued", "Provisioning", "Preparing", "Running", "Finalizing"]


def test_it_prints_the_log_then_a_summary_and_exits_0_when_completed(studio, local_executor, run):
    studio.submit(TWO_EPOCHS, name="j1")
    code, out, err = run("job", "stream", "--name", "j1")
    assert code == 0
    assert re.fullmatch(r"epoch 1\nepoch 2\nJob j1 Completed in [0-9.]+ (ms|s)\n", out), out
    noted = re.findall(r"^\[j1: (\w+)\]$", err, re.MULTILINE)  # as many as the polls happened to see
    assert noted == sorted(set(noted), key=PHASES.index)  # each once, in the lifecycle's order


def test_it_notes_each_status_change_on_stderr(studio, busy, capsys):
    from jobs import services

    studio.submit(D2S_V3, name="j1")  # waits for the blocker's quota
    meanwhile = [lambda: services.job_cancel(job=busy, user=studio.user),  # j1 is admitted
                 lambda: services.job_cancel(job=studio.job("j1"), user=studio.user)]
    code = follow_job(StudioClient(studio.url, studio.token), "j1", sleep=lambda seconds: meanwhile.pop(0)())
    captured = capsys.readouterr()
    assert (code, captured.err) == (1, "[j1: Queued]\n[j1: Provisioning]\n")
    assert captured.out == "Job j1 Canceled: canceled by request\n"


def test_it_exits_with_the_jobs_exit_code_when_it_failed(studio, local_executor, run):
    studio.submit("command: echo bad data >&2; exit 3\n", name="j1")
    code, out, _ = run("job", "stream", "-n", "j1")
    assert code == 3
    assert out == "bad data\nJob j1 Failed: the command exited with code 3 (exit code 3)\n"


def test_it_reads_a_finished_jobs_long_log_to_its_end(studio, local_executor, run):
    studio.submit("command: python -c \"print('x' * 1500000); print('the end')\"\n", name="j1")
    wait_for_status("j1")
    code, out, _ = run("job", "stream", "-n", "j1")  # more than the studio sends at once
    assert code == 0
    assert out.startswith("x" * 1500000 + "\nthe end\nJob j1 Completed in ")


@pytest.mark.parametrize("final, expected", [
    ({"status": "Completed", "exit_code": 0}, 0),
    ({"status": "Failed", "exit_code": 3}, 3),
    ({"status": "Failed", "exit_code": 300}, 255),
    ({"status": "Failed", "exit_code": -9}, 1),
    ({"status": "Failed", "exit_code": None}, 1),
    ({"status": "Canceled", "exit_code": None}, 1),
])
def test_it_chooses_the_exit_code_from_the_job(final, expected):
    assert exit_code_for(final) == expected


def test_it_summarises_a_canceled_job():
    assert summary_line({"name": "j1", "status": "Canceled", "error": "canceled by request", "exit_code": None}) \
        == "Job j1 Canceled: canceled by request"


def test_it_summarises_a_completed_job_with_its_duration():
    job = {"name": "j1", "status": "Completed", "started_at": "2025-01-01T10:00:00Z",
           "ended_at": "2025-01-01T10:00:03.2Z"}
    assert summary_line(job) == "Job j1 Completed in 3.2 s"


def test_it_keeps_stdout_for_one_json_document_in_json_mode(studio, local_executor, run):
    studio.submit("command: echo boom; exit 2\n", name="j1")
    code, out, err = run("job", "stream", "-n", "j1", "-o", "json")
    assert code == 2
    assert json.loads(out)["status"] == "Failed"
    assert "boom\nJob j1 Failed: the command exited with code 2 (exit code 2)\n" in err


def test_it_stops_following_on_ctrl_c_without_canceling(studio, busy, capsys):
    studio.submit(D2S_V3, name="j1")  # waits for quota: the log stays open

    def interrupt(seconds):
        raise KeyboardInterrupt

    code = follow_job(StudioClient(studio.url, studio.token), "j1", sleep=interrupt)
    captured = capsys.readouterr()
    assert (code, captured.out) == (130, "")
    assert "Stopped following job j1; it keeps running. To cancel it: studio job cancel --name j1" in captured.err
    assert studio.job("j1").status == "Queued"


def test_it_reports_an_unknown_job(studio, run):
    code, out, err = run("job", "stream", "-n", "nope")
    assert (code, out) == (1, "")
    assert err == "error: job 'nope' was not found in your workspaces; `studio job list` shows your jobs\n"


def test_it_never_follows_another_workspaces_job(studio, django_user_model):
    from quotas.services import workspace_ensure

    studio.submit(name="j1")
    eve = django_user_model.objects.create_user(username="eve")
    workspace_ensure(subscription_name="sub-2", workspace_name="ws-eve", admin=eve)
    with pytest.raises(CliError, match="job 'j1' was not found"):
        follow_job(StudioClient(studio.url, studio.token_for(eve)), "j1")
