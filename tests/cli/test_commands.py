"""`studio validate` offline; `studio job list/show/cancel/explain` against the real studio."""

import json
import subprocess
import sys
from pathlib import Path

from tests.cli.helpers import D2S_V3, cells, fields_of

ROOT = Path(__file__).resolve().parents[2]
GOOD = "command: python train.py\nenvironment:\n  image: python:3.11-slim\n"
BAD = "command: python train.py\nenvironment:\n  image: python:3.11-slim\nfoo: 1\n"


def test_it_validates_files_offline(run, tmp_path, nowhere):
    (tmp_path / "good.yml").write_text(GOOD)
    (tmp_path / "bad.yml").write_text(BAD)
    code, out, _ = run("validate", "-f", str(tmp_path / "good.yml"))
    assert (code, out) == (0, f"{tmp_path / 'good.yml'}: valid (command)\n")
    code, out, _ = run("validate", "-f", str(tmp_path / "good.yml"), "-f", str(tmp_path / "bad.yml"))
    assert code == 1
    assert out.splitlines()[1].startswith(f"{tmp_path / 'bad.yml'}:4:1: foo: unknown field 'foo'")


def test_it_validates_to_a_json_list(run, tmp_path):
    (tmp_path / "bad.yml").write_text(BAD)
    code, out, _ = run("validate", "-o", "json", "-f", str(tmp_path / "bad.yml"), "-f", str(tmp_path / "none.yml"))
    results = json.loads(out)
    assert code == 1
    assert [(r["file"], r["valid"]) for r in results] == [(str(tmp_path / "bad.yml"), False),
                                                           (str(tmp_path / "none.yml"), False)]
    assert results[0]["errors"][0]["path"] == "foo" and results[0]["errors"][0]["line"] == 4


def test_it_runs_as_a_program_without_django(tmp_path):
    (tmp_path / "good.yml").write_text(GOOD)
    probe = ("import sys; from studio.cli.main import main; code = main(sys.argv[1:]); "
             "assert 'django' not in sys.modules, 'the CLI imported Django'; sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", probe, "validate", "-f", str(tmp_path / "good.yml")],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{tmp_path / 'good.yml'}: valid (command)\n"
    module = subprocess.run([sys.executable, "-m", "studio.cli.main", "validate", "-f", str(tmp_path / "x.yml")],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert module.returncode == 1 and "file not found" in module.stdout


def test_it_starts_without_loading_what_only_some_commands_need():
    probe = ("import sys; from studio.cli.main import build_parser; build_parser(); "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'jobs', 'requests', 'yaml'}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert (result.returncode, result.stdout) == (0, "[]\n"), result.stderr


def test_it_lists_jobs_as_a_table_newest_first(studio, run):
    studio.submit(name="first")
    studio.submit("experiment_name: e1\ncommand: echo hello\n", name="second")
    code, out, _ = run("job", "list")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "STATUS", "TYPE", "COMPUTE", "CREATED", "DURATION"]
    assert [cells(row)[:4] for row in rows] == [["second", "Provisioning", "command", "serverless"],
                                                ["first", "Provisioning", "command", "serverless"]]


def test_it_lists_only_the_jobs_the_filters_name(studio, run):
    studio.submit(name="plain")
    studio.submit("experiment_name: tuning\ncommand: echo hello\n", name="tuned")
    studio.submit("experiment_name: tuning\ncommand: echo hello\n", name="tuned_resnet")
    studio.submit(name="other_resnet")
    code, out, _ = run("job", "list", "--experiment", "tuning", "--search", "resnet", "-o", "json")
    assert code == 0 and [j["name"] for j in json.loads(out)] == ["tuned_resnet"]
    code, out, _ = run("job", "list", "--status", "Provisioning", "--max-results", "2", "-o", "json")
    assert code == 0 and [j["name"] for j in json.loads(out)] == ["other_resnet", "tuned_resnet"]


def test_it_says_when_there_are_no_jobs(studio, run):
    assert run("job", "list", "--status", "Failed") == (0, "No jobs found.\n", "")


def test_it_lists_the_jobs_waiting_for_a_reason(studio, busy, run):
    studio.submit(D2S_V3, name="waiting_for_quota")
    code, out, _ = run("job", "list", "--waiting-reason", "QuotaBusy", "-o", "json")
    assert code == 0
    assert [(j["name"], j["waiting"]["code"]) for j in json.loads(out)] == [("waiting_for_quota", "QuotaBusy")]
    assert run("job", "list", "--waiting-reason", "SpotPoolBusy")[1] == "No jobs found.\n"


def test_it_lists_jobs_as_the_servers_objects(studio, run):
    studio.submit(name="a")
    code, out, _ = run("-o", "json", "job", "list")
    assert code == 0
    listed, = json.loads(out)
    assert listed["name"] == "a" and listed["status"] == "Provisioning" and listed["submitted_by"] == "ada"


def test_it_shows_a_job_its_nodes_and_system_log(studio, run):
    studio.submit(name="j1")
    code, out, _ = run("job", "show", "-n", "j1")
    assert code == 0
    fields = fields_of(out)
    assert (fields["Name"], fields["Status"], fields["Compute"]) == ("j1", "Provisioning", "serverless")
    assert fields["VM size"] == "Standard_D2as_v4" and fields["Submitted by"] == "ada"
    assert "\nNodes\nNODE" in out
    assert "submitted by ada" in out


def test_it_shows_a_job_as_json(studio, run):
    studio.submit(GOOD, name="j1")
    code, out, _ = run("job", "show", "-n", "j1", "-o", "json")
    assert code == 0 and json.loads(out)["spec_yaml"] == GOOD


def test_it_cancels_a_job(studio, busy, run):
    studio.submit(D2S_V3, name="j1")  # waits: a cancel ends it at once
    code, out, _ = run("job", "cancel", "-n", "j1")
    assert (code, out) == (0, "Job j1: Canceled\n")
    assert studio.job("j1").status == "Canceled"


def test_it_asks_a_running_job_to_stop(studio, run):
    studio.submit(name="j1")
    code, out, _ = run("job", "cancel", "-n", "j1", "-o", "json")
    assert code == 0 and json.loads(out)["status"] in ("CancelRequested", "Canceled")
    assert studio.job("j1").status in ("CancelRequested", "Canceled")


def test_it_says_why_an_ended_job_cannot_be_canceled(studio, busy, run):
    studio.submit(D2S_V3, name="j1")
    run("job", "cancel", "-n", "j1")
    code, out, err = run("job", "cancel", "-n", "j1")
    assert (code, out) == (1, "")
    assert err == "error: job 'j1' has already ended (Canceled); there is nothing to cancel\n"


def test_it_explains_a_rejection(studio, run, tmp_path):
    (tmp_path / "job.yml").write_text(GOOD + "resources:\n  instance_type: Standard_NC24ads_A100_v4\n")
    code, out, _ = run("job", "explain", "-f", str(tmp_path / "job.yml"))
    assert code == 1
    first, *recommendations = out.splitlines()
    assert first.startswith("reject: ") and "Standard_NC24ads_A100_v4" in first
    assert recommendations and all(line.startswith("  - ") for line in recommendations)
    assert run("job", "list")[1] == "No jobs found.\n"  # explaining submits nothing


def test_it_explains_an_admission(studio, run, tmp_path):
    (tmp_path / "job.yml").write_text(GOOD)
    code, out, _ = run("job", "explain", "-f", str(tmp_path / "job.yml"), "-o", "json")
    assert code == 0 and json.loads(out)["decision"] == "admit"


def test_it_explains_a_wait_with_its_code_position_and_estimate(studio, busy, run, tmp_path):
    (tmp_path / "job.yml").write_text(D2S_V3 + "environment:\n  image: python:3.11-slim\n")
    code, out, _ = run("job", "explain", "-f", str(tmp_path / "job.yml"))
    assert code == 0
    answer = json.loads(run("job", "explain", "-f", str(tmp_path / "job.yml"), "-o", "json")[1])
    assert (answer["decision"], answer["code"], answer["position"]) == ("wait", "QuotaBusy", 1)
    assert out == f"wait: {answer['message']} (QuotaBusy)\n"
    assert "position 1" in answer["message"]
