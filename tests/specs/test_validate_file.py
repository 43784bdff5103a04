import json
from pathlib import Path

import pytest

from jobs.specs import validate_file

from .helpers import MINIMAL
from .test_yaml_loading import BILLION_LAUGHS


def write(tmp_path: Path, content: str | bytes, name: str = "job.yml") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def only_error(result) -> str:
    assert not result.valid
    [error] = result.errors
    return error.message


def test_it_accepts_a_valid_command_job(tmp_path):
    result = validate_file(write(tmp_path, MINIMAL))
    assert (result.kind, result.valid, result.errors, result.warnings) == ("command", True, [], [])


def test_it_reports_every_problem_with_its_position(tmp_path):
    result = validate_file(write(tmp_path, MINIMAL + "resources:\n  instance_count: 0\nlimits: {timeout: x}\n"))
    assert result.kind == "command" and not result.valid
    assert [(e.path, e.line, e.column) for e in result.errors] == [("resources.instance_count", 4, 19), ("limits.timeout", 5, 19)]
    assert result.errors[0].file == str(tmp_path / "job.yml")


def test_it_serialises_to_a_plain_dict(tmp_path):
    path = write(tmp_path, MINIMAL + "resources: {instance_count: 0}\n")
    data = json.loads(json.dumps(validate_file(path).to_dict()))
    assert data == {
        "file": str(path),
        "kind": "command",
        "valid": False,
        "errors": [{"path": "resources.instance_count", "line": 3, "column": 29, "message": "expected an integer ≥ 1, got 0"}],
        "warnings": [],
    }


def test_it_warns_about_a_missing_code_folder(tmp_path):
    result = validate_file(write(tmp_path, MINIMAL + "code: src\n"))
    assert result.valid
    [warning] = result.warnings
    assert (warning.path, warning.line) == ("code", 3)
    assert "'src' does not exist" in warning.message


def test_it_is_quiet_when_the_code_folder_exists(tmp_path):
    (tmp_path / "src").mkdir()
    assert validate_file(write(tmp_path, MINIMAL + "code: src\n")).warnings == []


@pytest.mark.parametrize(
    "kind, text, path",
    [("sweep", "type: sweep\ntrial: ./trial.yml\n", "trial"), ("pipeline", "type: pipeline\njobs: {}\n", "jobs"),
     ("automl", "type: automl\ntask: clasification\n", "task"), ("spark", "type: spark\n", "entry"),
     ("parallel", "type: parallel\n", "task"), ("component", "type: command\nversion: 1\n", "name"),
     ("environment", "$schema: https://x/environment.schema.json\nname: e\n", ""),
     ("data", "$schema: https://x/data.schema.json\nname: d\n", "path"),
     ("model", "$schema: https://x/model.schema.json\nname: m\n", "path")],
)
def test_it_validates_every_kind(tmp_path, kind, text, path):
    result = validate_file(write(tmp_path, text))
    assert (result.kind, result.valid) == (kind, False)
    assert path in [error.path for error in result.errors]
    assert not any("not implemented" in warning.message for warning in result.warnings)


def test_it_reports_broken_yaml_of_any_kind(tmp_path):
    result = validate_file(write(tmp_path, "type: sweep\ntrial: [\n"))
    assert not result.valid and result.errors[0].line == 3


def test_it_warns_about_unrecognised_files(tmp_path):
    result = validate_file(write(tmp_path, "name: env\nchannels: [conda-forge]\ndependencies: [python=3.11]\n"))
    assert (result.kind, result.valid) == ("unknown", True)
    assert "nothing was validated" in result.warnings[0].message


def test_it_reports_a_missing_file(tmp_path):
    assert only_error(validate_file(tmp_path / "nope.yml")) == "file not found"


def test_it_reports_a_directory(tmp_path):
    assert "is a folder" in only_error(validate_file(tmp_path))


def test_it_reports_binary_files(tmp_path):
    assert only_error(validate_file(write(tmp_path, b"\x7fELF\x00\x01\x02"))) == "is a binary file, not YAML text"


def test_it_reports_non_utf8_files_with_the_position(tmp_path):
    result = validate_file(write(tmp_path, "command: caf\xe9\n".encode("latin-1")))
    assert "not UTF-8" in only_error(result)
    assert (result.errors[0].line, result.errors[0].column) == (1, 13)


def test_it_reports_huge_files(tmp_path):
    assert "larger than 100 bytes" in only_error(validate_file(write(tmp_path, "a: 1\n" * 50), max_bytes=100))


def test_it_reports_empty_files(tmp_path):
    assert only_error(validate_file(write(tmp_path, "# nothing here\n"))) == "the file is empty"


def test_it_reports_a_top_level_list(tmp_path):
    assert "mapping" in only_error(validate_file(write(tmp_path, "- a\n- b\n")))


def test_it_reports_alias_bombs(tmp_path):
    assert "too large or complex" in only_error(validate_file(write(tmp_path, BILLION_LAUGHS)))


@pytest.mark.parametrize(
    "content",
    [b"", b"\xff\xfe", b"{", b"a: b: c", b"\t- x", b"- !!python/object:os.system x", b"a: *nope", b"\xef\xbb\xbfcommand: 1",
     b"[" * 5000, b"key: 'unterminated", b"x: 1\n---\ny: 2\n", b"? [a]\n: 1\n", b"command: echo\nenvironment: 12\n"],
)
def test_it_never_raises(tmp_path, content):
    result = validate_file(write(tmp_path, content))
    assert result.to_dict()["file"] == str(tmp_path / "job.yml")


@pytest.mark.parametrize("path", ["bad\0name.yml", ""])
def test_it_never_raises_for_odd_paths(path):
    assert not validate_file(path).valid
