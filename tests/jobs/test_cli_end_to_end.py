"""The `studio` CLI against the real studio: live server, scheduling service, local executor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token


pytestmark = pytest.mark.django_db(transaction=True)

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "azureml"
ENV_LINE = "environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest\n"


@pytest.fixture
def studio(live_server, local_executor, user, workspace, tmp_path):
    """Runs the CLI as a user would, in its own process, pointed at the live studio."""
    env = {**os.environ, "STUDIO_URL": live_server.url, "STUDIO_TOKEN": Token.objects.create(user=user).key,
           "STUDIO_CONFIG": str(tmp_path / "profile.json")}

    def run(*args: str, cwd: Path = tmp_path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "studio.cli.main", *args], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=120)

    return run


def test_it_streams_a_serverless_job_to_completion(studio, tmp_path):
    (tmp_path / "hello.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n"
        'command: echo "hello world"\nenvironment:\n  image: library/python:latest\n')
    result = studio("job", "create", "--file", "hello.yml", "--stream")
    assert result.returncode == 0, result.stderr
    assert "hello world" in result.stdout
    assert "Completed" in result.stdout + result.stderr


def test_it_exits_with_the_failing_commands_code_and_shows_its_log(studio, tmp_path):
    (tmp_path / "fail.yml").write_text(ENV_LINE + "command: echo last words; exit 3\n")
    result = studio("job", "create", "--file", "fail.yml", "--stream")
    assert result.returncode == 3
    assert "last words" in result.stdout
    assert "exited with code 3" in result.stdout + result.stderr


def test_it_uploads_code_and_data_and_downloads_outputs(studio, tmp_path):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "data").mkdir()
    (project / "src" / "train.py").write_text(
        "import pathlib, sys\nrows = pathlib.Path(sys.argv[1]).read_text().splitlines()\n"
        "pathlib.Path('outputs/model.txt').write_text(str(len(rows)))\nprint('rows', len(rows))\n")
    (project / "data" / "rows.csv").write_text("a\nb\n")
    (project / "job.yml").write_text(ENV_LINE + "code: src\ncommand: python train.py ${{inputs.rows}}\n"
                                     "inputs:\n  rows:\n    type: uri_file\n    path: ./data/rows.csv\n")
    created = studio("job", "create", "--file", "project/job.yml", "--name", "cli-e2e", "--stream")
    assert created.returncode == 0, created.stderr
    assert "rows 2" in created.stdout
    downloaded = studio("job", "download", "--name", "cli-e2e", "--output-path", str(tmp_path / "dl"))
    assert downloaded.returncode == 0, downloaded.stderr
    assert (tmp_path / "dl" / "outputs" / "model.txt").read_text() == "2"
    shown = json.loads(studio("job", "show", "--name", "cli-e2e", "--output", "json").stdout)
    assert shown["status"] == "Completed" and shown["compute"] == "serverless"


def test_it_refuses_a_bad_file_before_sending_anything(studio, tmp_path):
    (tmp_path / "bad.yml").write_text(ENV_LINE + "comand: echo hi\n")
    result = studio("job", "create", "--file", "bad.yml")
    assert result.returncode == 1
    assert "did you mean 'command'" in result.stdout + result.stderr
    listed = json.loads(studio("job", "list", "--output", "json").stdout)
    assert listed == []


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not beside this checkout")
def test_it_validates_every_corpus_command_job_offline(tmp_path):
    rows = [line.split("\t") for line in (CORPUS / "EXPECTED.tsv").read_text().splitlines()[1:]]
    files = [str(CORPUS / path) for path, kind, *_ in rows if kind == "command-job"]
    result = subprocess.run([sys.executable, "-m", "studio.cli.main", "validate", "--output", "json",
                             *sum((["--file", f] for f in files), [])],
                            capture_output=True, text=True, env={**os.environ, "STUDIO_URL": "http://127.0.0.1:9"})
    assert result.returncode == 0, result.stdout[-2000:]
    reports = json.loads(result.stdout)
    assert len(reports) == len(files) == 45
    assert all(r["valid"] and r["kind"] == "command" for r in reports)


def test_it_prints_a_refused_submission_as_one_json_document(studio, set_quota, tmp_path):
    set_quota("standardDSv3Family", 4)
    (tmp_path / "big.yml").write_text(ENV_LINE + "command: echo hi\nresources:\n  instance_type: Standard_D2s_v3\n"
                                      "  instance_count: 3\n")
    result = studio("job", "create", "--file", "big.yml", "--output", "json")
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert error["message"].startswith("at most 2 instances of Standard_D2s_v3")
    assert "reduce `resources.instance_count` to 2" in error["recommendations"]
    assert result.stderr.startswith(f"error: {error['message']}\n")


def test_it_warns_that_a_job_must_wait_and_says_where_it_stands(studio, set_quota, tmp_path):
    set_quota("standardDSv3Family", 2)
    (tmp_path / "job.yml").write_text(ENV_LINE + "command: sleep 20\nresources:\n  instance_type: Standard_D2s_v3\n")
    assert studio("job", "create", "--file", "job.yml", "--name", "first").returncode == 0
    waiting = studio("job", "create", "--file", "job.yml", "--name", "second")
    assert waiting.returncode == 0 and "Job second created: Queued" in waiting.stdout
    assert "warning: " in waiting.stderr and "position 1" in waiting.stderr and "(QuotaBusy)" in waiting.stderr
    listed = json.loads(studio("job", "list", "--waiting-reason", "QuotaBusy", "--output", "json").stdout)
    assert [job["name"] for job in listed] == ["second"]
