import io
import json
import tarfile

import pytest

from tests.cli.fakes import job

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
    (tmp_path / "src" / ".git").mkdir(parents=True)
    (tmp_path / "src" / ".git" / "HEAD").write_text("ref")
    (tmp_path / "src" / "train.py").write_text("print('train')\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "iris.csv").write_text("a,b\n1,2\n")
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "1.png").write_bytes(b"png")
    (tmp_path / "job.yml").write_text(JOB)
    return tmp_path


def names(upload) -> dict[str, bytes]:
    filename, data = upload
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def create(run, studio, project, *extra):
    return run("job", "create", "--file", str(project / "job.yml"), "--url", studio.url, "--token", "t", *extra)


def test_it_uploads_the_spec_code_and_local_inputs(studio, run, project):
    studio.answer("POST", "/jobs", job("j1", "Running"), status=201)
    code, out, err = create(run, studio, project, "--set", "inputs.epochs=3", "--name", "j1", "-w", "ws-2")
    assert code == 0, err
    assert "Job j1 created: Running" in out and "studio job stream --name j1" in out
    form = studio.made("POST", "/jobs")[0].form()
    assert form["spec"] == [JOB] and form["set"] == ["inputs.epochs=3"]
    assert form["name"] == ["j1"] and form["workspace"] == ["ws-2"]
    assert names(form["code"][0]) == {"train.py": b"print('train')\n"}  # .git left out
    assert names(form["inputs.iris"][0]) == {"iris.csv": b"a,b\n1,2\n"}
    assert names(form["inputs.images"][0]) == {"1.png": b"png"}
    assert "inputs.remote" not in form and "inputs.epochs" not in form
    assert "Uploading code: 1 file" in err


def test_it_sends_the_profiles_workspace_by_default(studio, run, project):
    from studio.cli.profile import save_profile

    save_profile(studio.url, "saved", "ws-saved")
    studio.answer("POST", "/jobs", job("j1"), status=201)
    code, _, err = run("job", "create", "-f", str(project / "job.yml"))
    assert code == 0, err
    request = studio.made("POST", "/jobs")[0]
    assert request.headers["Authorization"] == "Token saved"
    assert request.form()["workspace"] == ["ws-saved"]


def test_it_warns_why_a_queued_job_waits(studio, run, project):
    studio.answer("POST", "/jobs", job("j1", "Queued", pending_reason="waiting for 4 vCPUs of DASv4 quota",
                                       queue_position=2), status=201)
    code, out, err = create(run, studio, project)
    assert code == 0
    assert "Job j1 created: Queued" in out
    assert "warning: waiting for 4 vCPUs of DASv4 quota (position 2 in the queue)" in err


def test_it_prints_only_the_job_as_json(studio, run, project):
    studio.answer("POST", "/jobs", job("j1", "Queued", pending_reason="busy"), status=201)
    code, out, err = create(run, studio, project, "-o", "json")
    assert code == 0 and json.loads(out)["name"] == "j1"
    assert "warning: busy" in err


def test_it_refuses_a_bad_file_offline_with_line_numbers(studio, run, project):
    (project / "job.yml").write_text("command: python x.py\nenvironment:\n  image: python\nresources:\n  instance_count: 0\n")
    code, out, err = create(run, studio, project)
    assert code == 1 and out == ""
    assert err == f"{project / 'job.yml'}:5:19: resources.instance_count: expected an integer ≥ 1, got 0\n"
    assert studio.requests == []


def test_it_refuses_a_bad_override_offline(studio, run, project):
    code, _, err = create(run, studio, project, "--set", "resources.instance_count=-2")
    assert code == 1 and "resources.instance_count" in err
    assert studio.requests == []


def test_it_names_a_missing_code_folder(studio, run, project):
    (project / "src" / "train.py").unlink()
    (project / "src" / ".git" / "HEAD").unlink()
    (project / "src" / ".git").rmdir()
    (project / "src").rmdir()
    code, _, err = create(run, studio, project)
    assert code == 1
    assert err.startswith(f"error: code: the folder {project / 'src'} does not exist")
    assert studio.requests == []


def test_it_names_a_missing_input(studio, run, project):
    (project / "data" / "iris.csv").unlink()
    code, _, err = create(run, studio, project)
    assert code == 1 and err.startswith(f"error: inputs.iris: {project / 'data' / 'iris.csv'} does not exist")
    assert studio.requests == []


def test_it_refuses_code_over_the_limit_before_sending(studio, run, project, monkeypatch):
    monkeypatch.setenv("STUDIO_CODE_MAX_BYTES", "10")
    code, _, err = create(run, studio, project)
    assert code == 1 and "code:" in err and "limit of 10 bytes" in err
    assert studio.requests == []


def test_it_shows_the_servers_refusal(studio, run, project):
    studio.answer("POST", "/jobs", {"message": "no quota for Standard_NC6", "extra": {
        "recommendations": ["use Standard_D2as_v4"]}}, status=400)
    code, out, err = create(run, studio, project)
    assert (code, out) == (1, "")
    assert err.endswith("\nerror: no quota for Standard_NC6\n  - use Standard_D2as_v4\n")


def test_it_streams_after_creating_when_asked(studio, run, project):
    studio.answer("POST", "/jobs", job("j1", "Queued"), status=201)
    studio.answer("GET", "/jobs/j1/logs", {"node": 0, "offset": 0, "next_offset": 3, "text": "hi\n",
                                           "status": "Completed", "finished": True},
                  {"node": 0, "offset": 3, "next_offset": 3, "text": "", "status": "Completed", "finished": True})
    studio.answer("GET", "/jobs/j1", job("j1", "Failed", exit_code=4, error="bad"))
    code, out, _ = create(run, studio, project, "--stream")
    assert code == 4
    assert out.startswith("Job j1 created: Queued\n") and out.endswith("hi\nJob j1 Failed: bad (exit code 4)\n")


def test_it_refuses_a_folder_given_as_a_file_input(studio, run, project):
    (project / "job.yml").write_text(JOB.replace("path: data/iris.csv", "path: data"))
    code, _, err = create(run, studio, project)
    assert code == 1 and err.startswith(f"error: inputs.iris: {project / 'data'} is a folder")
    assert studio.requests == []


def test_it_refuses_a_code_symlink_leading_outside(studio, run, project):
    (project / "src" / "creds").symlink_to(project / "data" / "iris.csv")
    code, _, err = create(run, studio, project)
    assert code == 1 and "code: 'creds' is a symbolic link" in err
    assert studio.requests == []
