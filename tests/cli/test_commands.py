import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.cli.fakes import job

ROOT = Path(__file__).resolve().parents[2]
GOOD = "command: python train.py\nenvironment:\n  image: python:3.11-slim\n"
BAD = "command: python train.py\nenvironment:\n  image: python:3.11-slim\nfoo: 1\n"


def connect(studio):
    return ("--url", studio.url, "--token", "t")


def test_it_validates_files_offline(run, tmp_path):
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


def test_it_lists_jobs_as_a_table(studio, run):
    studio.answer("GET", "/jobs", {"count": 1, "next": None, "previous": None,
                                   "results": [job("j1", "Running", started_at="2025-01-01T10:00:00Z")]})
    code, out, _ = run("job", "list", "--status", "Running", "--experiment", "e1", "--max-results", "5",
                       *connect(studio))
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["NAME", "STATUS", "TYPE", "COMPUTE", "CREATED", "DURATION"]
    assert row.split()[:4] == ["j1", "Running", "command", "serverless"]
    assert studio.made("GET", "/jobs")[0].query == {"status": ["Running"], "experiment": ["e1"],
                                                     "page": ["1"], "page_size": ["5"]}


def test_it_lists_jobs_as_json(studio, run):
    studio.answer("GET", "/jobs", {"count": 2, "next": None, "previous": None, "results": [job("a"), job("b")]})
    code, out, _ = run("-o", "json", "job", "list", *connect(studio))
    assert code == 0 and [j["name"] for j in json.loads(out)] == ["a", "b"]


def test_it_shows_a_job_and_its_outputs(studio, run):
    studio.answer("GET", "/jobs/j1", job("j1", "Completed", nodes=[{"index": 0, "status": "Completed", "worker": "w"}],
                                         events=[{"at": "2025-01-01T10:00:00Z", "message": "admitted"}]))
    studio.answer("GET", "/jobs/j1/outputs", [{"path": "outputs/model.pkl", "size": 5}])
    code, out, _ = run("job", "show", "-n", "j1", *connect(studio))
    assert code == 0
    assert "Completed" in out and "admitted" in out and "outputs/model.pkl" in out


def test_it_shows_a_job_as_json(studio, run):
    studio.answer("GET", "/jobs/j1", job("j1", spec_yaml=GOOD))
    code, out, _ = run("job", "show", "-n", "j1", "-o", "json", *connect(studio))
    assert code == 0 and json.loads(out)["spec_yaml"] == GOOD
    assert not studio.made("GET", "/jobs/j1/outputs")


def test_it_cancels_a_job(studio, run):
    studio.answer("POST", "/jobs/j1/cancel", job("j1", "CancelRequested"))
    code, out, _ = run("job", "cancel", "-n", "j1", *connect(studio))
    assert (code, out) == (0, "Job j1: CancelRequested\n")


def test_it_explains_a_rejection(studio, run, tmp_path):
    (tmp_path / "job.yml").write_text(GOOD)
    studio.answer("POST", "/jobs/explain", {"decision": "reject", "reason": "no quota for NC",
                                            "recommendations": ["request quota"]})
    code, out, _ = run("job", "explain", "-f", str(tmp_path / "job.yml"), *connect(studio))
    assert (code, out) == (1, "reject: no quota for NC\n  - request quota\n")


def tarball(*entries) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_it_downloads_everything_into_a_folder_named_after_the_job(studio, run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    studio.answer("GET", "/jobs/j1/outputs", [{"path": "outputs/m.pkl", "size": 1}])
    studio.answer("GET", "/jobs/j1/download", raw=tarball(("j1/outputs/m.pkl", b"m"), ("j1/user_logs/std_log.txt", b"log")),
                  content_type="application/gzip")
    code, out, _ = run("job", "download", "-n", "j1", *connect(studio))
    assert code == 0 and "Downloaded 2 files of job j1" in out
    assert (tmp_path / "j1" / "outputs" / "m.pkl").read_bytes() == b"m"
    assert (tmp_path / "j1" / "user_logs" / "std_log.txt").read_bytes() == b"log"


def test_it_downloads_one_file(studio, run, tmp_path):
    studio.answer("GET", "/jobs/j1/outputs", [{"path": "outputs/m.pkl", "size": 1}])
    studio.answer("GET", "/jobs/j1/outputs/outputs/m.pkl", raw=b"\x1f\x8bnot-a-tar", content_type="application/gzip")
    code, out, _ = run("job", "download", "-n", "j1", "--path", "outputs/m.pkl", "-p", str(tmp_path / "d"),
                       "-o", "json", *connect(studio))
    assert code == 0 and json.loads(out)["files"] == ["outputs/m.pkl"]
    assert (tmp_path / "d" / "outputs" / "m.pkl").read_bytes() == b"\x1f\x8bnot-a-tar"


def test_it_downloads_a_folder_where_it_sits_among_the_outputs(studio, run, tmp_path):
    studio.answer("GET", "/jobs/j1/outputs", [{"path": "named-outputs/model/w.bin", "size": 1}])
    studio.answer("GET", "/jobs/j1/outputs/named-outputs/model", raw=tarball(("model/w.bin", b"w")),
                  content_type="application/gzip")
    code, out, _ = run("job", "download", "-n", "j1", "--path", "named-outputs/model", "-p", str(tmp_path),
                       "-o", "json", *connect(studio))
    assert code == 0 and json.loads(out)["files"] == ["named-outputs/model/w.bin"]
    assert (tmp_path / "named-outputs" / "model" / "w.bin").read_bytes() == b"w"


def test_it_refuses_a_download_that_escapes_the_folder(studio, run, tmp_path):
    studio.answer("GET", "/jobs/j1/outputs", [])
    studio.answer("GET", "/jobs/j1/download", raw=tarball(("j1/../../evil", b"x")), content_type="application/gzip")
    code, _, err = run("job", "download", "-n", "j1", "-p", str(tmp_path / "d" / "e"), *connect(studio))
    assert code == 1 and "refusing to extract 'j1/../../evil'" in err
    assert not (tmp_path / "evil").exists() and not (tmp_path / "d" / "evil").exists()


@pytest.mark.parametrize("path", ["../x", "outputs/../../x"])
def test_it_refuses_a_download_path_outside_the_outputs(studio, run, path):
    code, _, err = run("job", "download", "-n", "j1", "--path", path, *connect(studio))
    assert code == 1 and "--path" in err and studio.requests == []
