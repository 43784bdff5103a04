import json

import pytest

from studio.cli.client import StudioClient
from studio.cli.commands.job import exit_code_for, follow_job, summary_line
from tests.cli.fakes import job


def logs(text, offset, status="Running", finished=False):
    return {"node": 0, "offset": offset, "next_offset": offset + len(text), "text": text,
            "status": status, "finished": finished}


def finished_job(status, **fields):
    return job("j1", status, started_at="2025-01-01T10:00:00Z", ended_at="2025-01-01T10:00:03.2Z", **fields)


def serve_run(studio, final):
    studio.answer("GET", "/jobs/j1/logs",
                  logs("", 0, "Queued"), logs("epoch 1\n", 0), logs("", 8), logs("epoch 2", 8),
                  logs("", 15, final["status"], finished=True))
    studio.answer("GET", "/jobs/j1", final)


def test_it_prints_the_log_then_a_summary_and_exits_0_when_completed(studio, run):
    serve_run(studio, finished_job("Completed", exit_code=0))
    code, out, err = run("job", "stream", "--name", "j1", "--url", studio.url, "--token", "t")
    assert code == 0
    assert out == "epoch 1\nepoch 2\nJob j1 Completed in 3.2 s\n"
    assert "[j1: Queued]" in err and "[j1: Running]" in err
    offsets = [r.query["offset"][0] for r in studio.made("GET", "/jobs/j1/logs")]
    assert offsets == ["0", "0", "8", "8", "15"]


def test_it_exits_with_the_jobs_exit_code_when_it_failed(studio, run):
    serve_run(studio, finished_job("Failed", exit_code=3, error="ValueError: bad data"))
    code, out, _ = run("job", "stream", "-n", "j1", "--url", studio.url, "--token", "t")
    assert code == 3
    assert out.endswith("epoch 2\nJob j1 Failed: ValueError: bad data (exit code 3)\n")


def test_it_reads_the_log_to_its_end_after_the_job_finished(studio, run):
    studio.answer("GET", "/jobs/j1/logs", logs("a", 0, "Completed", finished=True),
                  logs("b\n", 1, "Completed", finished=True), logs("", 3, "Completed", finished=True))
    studio.answer("GET", "/jobs/j1", finished_job("Completed"))
    code, out, _ = run("job", "stream", "-n", "j1", "--url", studio.url, "--token", "t")
    assert (code, out) == (0, "ab\nJob j1 Completed in 3.2 s\n")


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
    assert summary_line(job("j1", "Canceled", error="canceled by request")) == "Job j1 Canceled: canceled by request"


def test_it_keeps_stdout_for_one_json_document_in_json_mode(studio, run):
    serve_run(studio, finished_job("Failed", exit_code=2, error="boom"))
    code, out, err = run("job", "stream", "-n", "j1", "-o", "json", "--url", studio.url, "--token", "t")
    assert code == 2
    assert json.loads(out)["status"] == "Failed"
    assert "epoch 1\nepoch 2\nJob j1 Failed: boom (exit code 2)" in err


def test_it_stops_following_on_ctrl_c_without_canceling(studio, capsys):
    studio.answer("GET", "/jobs/j1/logs", logs("working\n", 0))

    def interrupt(seconds):
        raise KeyboardInterrupt

    code = follow_job(StudioClient(studio.url, "t"), "j1", sleep=interrupt)
    captured = capsys.readouterr()
    assert code == 130
    assert captured.out == "working\n"
    assert "studio job cancel --name j1" in captured.err
    assert not studio.made("POST", "/jobs/j1/cancel")


def test_it_reports_an_unknown_job(studio, run):
    studio.answer("GET", "/jobs/nope/logs", {"message": "job 'nope' not found", "extra": {}}, status=404)
    code, out, err = run("job", "stream", "-n", "nope", "--url", studio.url, "--token", "t")
    assert (code, out, err) == (1, "", "error: job 'nope' not found\n")
