"""`studio job create`: checked locally, uploaded with its code and data, refused or admitted by the real studio."""

import json

import pytest

from tests.cli.helpers import D2S_V3, ENVIRONMENT

JOB = """\
code: src
command: python train.py --data ${{inputs.iris}} --epochs ${{inputs.epochs}}
environment:
  image: python:3.11-slim
inputs:
  iris:
    type: uri_file
    path: data/iris.csv
  images:
    type: uri_folder
    path: ./images
  remote:
    type: uri_folder
    path: azureml://datastores/workspaceblobstore/paths/x
  epochs: 10
"""


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    (root / "src" / ".git").mkdir(parents=True)
    (root / "src" / ".git" / "HEAD").write_text("ref")
    (root / "src" / "train.py").write_text("print('train')\n")
    (root / "data").mkdir()
    (root / "data" / "iris.csv").write_text("a,b\n1,2\n")
    (root / "images").mkdir()
    (root / "images" / "1.png").write_bytes(b"png")
    (root / "job.yml").write_text(JOB)
    return root


def files_under(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def create(run, project, *extra):
    return run("job", "create", "--file", str(project / "job.yml"), *extra)


def test_it_uploads_the_spec_code_and_local_inputs(studio, run, project):
    from jobs import storage

    studio.workspace_named("ws-2")
    code, out, err = create(run, project, "--set", "inputs.epochs=3", "--name", "j1", "-w", "ws-2")
    assert code == 0, err
    assert "Job j1 created: Provisioning" in out and "studio job stream --name j1" in out
    job = studio.job("j1")
    assert (job.spec_yaml, job.workspace.name, job.spec["inputs"]["epochs"]) == (JOB, "ws-2", 3)
    assert files_under(storage.code_dir(job.files)) == {"train.py": b"print('train')\n"}  # .git left out
    assert files_under(storage.uploads_dir(job.files)) == {"iris/iris.csv": b"a,b\n1,2\n", "images/1.png": b"png"}
    assert "Uploading code: 1 file" in err and "Uploading inputs.images: 1 file" in err


def test_it_shows_the_compute_it_was_given(studio, run, project):
    code, out, _ = create(run, project, "--name", "j1")
    assert code == 0
    assert "Compute: serverless, 1 x Standard_D2as_v4 (Standard)\n" in out


def test_it_sends_the_profiles_token_and_workspace_by_default(studio, run, project, monkeypatch):
    from studio.cli.profile import save_profile

    studio.workspace_named("ws-saved")
    save_profile(studio.url, studio.token, "ws-saved")
    monkeypatch.delenv("STUDIO_URL")
    monkeypatch.delenv("STUDIO_TOKEN")
    code, _, err = run("job", "create", "-f", str(project / "job.yml"), "--name", "j1")
    assert code == 0, err
    assert studio.job("j1").workspace.name == "ws-saved"


def test_it_warns_why_a_job_waits_with_its_position_and_estimate(studio, busy, run, tmp_path):
    (tmp_path / "job.yml").write_text(ENVIRONMENT + D2S_V3)
    code, out, err = run("job", "create", "-f", str(tmp_path / "job.yml"), "--name", "j1")
    assert code == 0 and "Job j1 created: Queued" in out
    waiting = json.loads(run("job", "show", "-n", "j1", "-o", "json")[1])["waiting"]
    assert waiting["code"] == "QuotaBusy" and waiting["position"] == 1
    assert err.endswith(f"warning: {waiting['message']} (QuotaBusy)\n")
    assert "position 1" in waiting["message"]
    assert waiting["estimated_start"] is not None or "no estimate" in waiting["message"]


def test_it_prints_only_the_job_as_json(studio, run, project):
    code, out, err = create(run, project, "--name", "j1", "-o", "json")
    assert code == 0 and json.loads(out)["name"] == "j1"
    assert "Uploading code" in err


def test_it_refuses_a_bad_file_offline_with_line_numbers(nowhere, run, project):
    (project / "job.yml").write_text("command: python x.py\nenvironment:\n  image: python\nresources:\n  instance_count: 0\n")
    code, out, err = create(run, project)
    assert code == 1 and out == ""
    assert err == f"{project / 'job.yml'}:5:19: resources.instance_count: expected an integer ≥ 1, got 0\n"


def test_it_refuses_a_bad_override_offline(nowhere, run, project):
    code, _, err = create(run, project, "--set", "resources.instance_count=-2")
    assert code == 1 and "resources.instance_count" in err and "cannot reach" not in err


def test_it_names_a_missing_code_folder(nowhere, run, project):
    (project / "src" / "train.py").unlink()
    (project / "src" / ".git" / "HEAD").unlink()
    (project / "src" / ".git").rmdir()
    (project / "src").rmdir()
    code, _, err = create(run, project)
    assert code == 1
    assert err.startswith(f"error: code: the folder {project / 'src'} does not exist")


def test_it_names_a_missing_input(nowhere, run, project):
    (project / "data" / "iris.csv").unlink()
    code, _, err = create(run, project)
    assert code == 1 and err.startswith(f"error: inputs.iris: {project / 'data' / 'iris.csv'} does not exist")


def test_it_refuses_code_over_the_limit_before_sending(nowhere, run, project, monkeypatch):
    monkeypatch.setenv("STUDIO_CODE_MAX_BYTES", "10")
    code, _, err = create(run, project)
    assert code == 1 and "code:" in err and "limit of 10 bytes" in err


def test_it_refuses_code_of_too_many_files_before_sending(nowhere, run, project, monkeypatch):
    monkeypatch.setenv("STUDIO_CODE_MAX_FILES", "2")
    for index in range(3):
        (project / "src" / f"module_{index}.py").write_text("")
    code, _, err = create(run, project)
    assert code == 1 and "code:" in err and "more than the limit of 2" in err and "STUDIO_CODE_MAX_FILES" in err


def test_it_refuses_a_folder_given_as_a_file_input(nowhere, run, project):
    (project / "job.yml").write_text(JOB.replace("path: data/iris.csv", "path: data"))
    code, _, err = create(run, project)
    assert code == 1 and err.startswith(f"error: inputs.iris: {project / 'data'} is a folder")


def test_it_refuses_a_code_symlink_leading_outside(nowhere, run, project):
    (project / "src" / "creds").symlink_to(project / "data" / "iris.csv")
    code, _, err = create(run, project)
    assert code == 1 and "code: 'creds' is a symbolic link" in err


def test_it_shows_the_studios_refusal_with_what_to_change(studio, run, tmp_path):
    (tmp_path / "job.yml").write_text(ENVIRONMENT + "command: echo hi\nresources:\n"
                                      "  instance_type: Standard_NC24ads_A100_v4\n")
    code, out, err = run("job", "create", "-f", str(tmp_path / "job.yml"))
    assert (code, out) == (1, "")
    message, *recommendations = err.removeprefix("error: ").splitlines()
    assert "Standard_NC24ads_A100_v4" in message
    assert recommendations and all(line.startswith("  - ") for line in recommendations)
    assert run("job", "list")[1] == "No jobs found.\n"


def test_it_names_the_largest_instance_count_that_fits(studio, set_quota, run, tmp_path):
    set_quota("standardDSv3Family", 4)
    (tmp_path / "job.yml").write_text(ENVIRONMENT + D2S_V3 + "  instance_count: 8\n")
    code, out, err = run("job", "create", "-f", str(tmp_path / "job.yml"))
    assert (code, out) == (1, "")
    assert err.startswith("error: at most 2 instances of Standard_D2s_v3")
    assert "  - reduce `resources.instance_count` to 2\n" in err


def test_it_refuses_a_name_that_is_taken(studio, run, project):
    studio.submit(name="j1")
    code, out, err = create(run, project, "--name", "j1")
    assert (code, out) == (1, "")
    assert err.endswith("error: name: a job named 'j1' already exists in workspace 'ws-1'; choose another name or leave it out\n")


def test_it_streams_after_creating_when_asked(studio, local_executor, run, tmp_path):
    (tmp_path / "job.yml").write_text(ENVIRONMENT + "command: echo hi; exit 4\n")
    code, out, _ = run("job", "create", "-f", str(tmp_path / "job.yml"), "--name", "j1", "--stream")
    assert code == 4
    assert out.startswith("Job j1 created: ")  # then what the job printed, then how it ended
    assert out.endswith("\nhi\nJob j1 Failed: the command exited with code 4 (exit code 4)\n")


def test_it_refuses_a_cluster_that_does_not_exist_before_uploading_anything(studio, run, project):
    from jobs.models import Job

    (project / "job.yml").write_text(JOB + "compute: azureml:cpu-cluster\n")
    code, out, err = create(run, project, "--name", "j1")
    assert (code, out) == (1, "")
    assert "error: compute: there is no compute cluster 'cpu-cluster' in the workspace" in err
    assert "studio compute create --name cpu-cluster --type amlcompute" in err
    assert "Uploading" not in err and not Job.objects.exists()

    assert run("compute", "create", "--name", "cpu-cluster", "--type", "amlcompute", "--min-instances", "0",
               "--max-instances", "8")[0] == 0  # as upstream's setup script makes it
    code, out, err = create(run, project, "--name", "j1")
    assert code == 0, err
    assert "Compute: cpu-cluster" in out
