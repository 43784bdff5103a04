"""`studio job download`: a real job's outputs and logs, all of them, one file or one folder."""

import json

import pytest

from studio.cli import main as cli_main
from tests.jobs.helpers import wait_for_status

MAKES_OUTPUTS = """\
command: printf m > outputs/m.pkl && printf w > ${{outputs.model}}/w.bin && echo done
outputs:
  model:
    type: uri_folder
"""


@pytest.fixture
def finished(studio, local_executor):
    studio.submit(MAKES_OUTPUTS, name="j1")
    assert wait_for_status("j1").status == "Completed"


def test_it_downloads_everything_into_a_folder_named_after_the_job(finished, run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("job", "download", "-n", "j1")
    assert code == 0
    written = sorted(p.relative_to(tmp_path / "j1").as_posix() for p in (tmp_path / "j1").rglob("*") if p.is_file())
    assert {"outputs/m.pkl", "named-outputs/model/w.bin", "user_logs/std_log.txt"} <= set(written)
    assert out == f"Downloaded {len(written)} files of job j1 to j1\n"
    assert (tmp_path / "j1" / "outputs" / "m.pkl").read_bytes() == b"m"
    assert "done" in (tmp_path / "j1" / "user_logs" / "std_log.txt").read_text()


def test_it_downloads_one_file(finished, run, tmp_path):
    code, out, _ = run("job", "download", "-n", "j1", "--path", "outputs/m.pkl", "-p", str(tmp_path / "d"), "-o", "json")
    assert code == 0
    assert json.loads(out) == {"name": "j1", "path": str(tmp_path / "d"), "files": ["outputs/m.pkl"]}
    assert [p.name for p in (tmp_path / "d" / "outputs").iterdir()] == ["m.pkl"]  # no .part left behind


def test_it_downloads_a_folder_where_it_sits_among_the_outputs(finished, run, tmp_path):
    code, out, _ = run("job", "download", "-n", "j1", "--path", "named-outputs/model", "-p", str(tmp_path / "d"),
                       "-o", "json")
    assert code == 0 and json.loads(out)["files"] == ["named-outputs/model/w.bin"]
    assert (tmp_path / "d" / "named-outputs" / "model" / "w.bin").read_bytes() == b"w"


def test_it_names_a_path_the_job_does_not_have(studio, run, tmp_path):
    studio.submit(name="j1")
    code, out, err = run("job", "download", "-n", "j1", "--path", "outputs/nope.pkl", "-p", str(tmp_path / "d"))
    assert (code, out, err) == (1, "", "error: job 'j1' has no output 'outputs/nope.pkl'; `studio job show` lists them\n")
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("path", ["../x", "outputs/../../x"])
def test_it_refuses_a_download_path_outside_the_outputs(nowhere, run, path):
    code, _, err = run("job", "download", "-n", "j1", "--path", path)
    assert code == 1 and err.startswith("error: --path: ")


def test_it_takes_az_ml_flags_download_path_output_name_and_all(finished, run, tmp_path):
    code, out, _ = run("job", "download", "-n", "j1", "--output-name", "model", "--download-path", str(tmp_path / "a"),
                       "-o", "json")
    assert code == 0 and json.loads(out)["files"] == ["named-outputs/model/w.bin"]
    assert (tmp_path / "a" / "named-outputs" / "model" / "w.bin").read_bytes() == b"w"
    code, out, _ = run("job", "download", "-n", "j1", "--all", "--download-path", str(tmp_path / "b"), "-o", "json")
    assert code == 0 and {"outputs/m.pkl", "named-outputs/model/w.bin"} <= set(json.loads(out)["files"])


def test_it_refuses_an_output_name_that_is_not_one(nowhere, run):
    code, _, err = run("job", "download", "-n", "j1", "--output-name", "../x")
    assert code == 1 and err.startswith("error: --output-name: '../x' is not an output name")


def test_it_takes_one_of_path_output_name_and_all(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main(["job", "download", "-n", "j1", "--output-name", "model", "--path", "outputs"])
    assert exit_info.value.code == 2
    assert "argument --path: not allowed with argument --output-name" in capsys.readouterr().err
