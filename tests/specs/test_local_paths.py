from pathlib import Path

import pytest

from jobs.specs import load_command_job, local_path

from .helpers import MINIMAL, problem_at, problems


@pytest.mark.parametrize(
    "value",
    ["azureml:iris@latest", "azureml://datastores/blob/paths/x", "https://x/y.csv", "http://x", "wasbs://c@a.blob.core.windows.net/",
     "abfss://c@a.dfs.core.windows.net/p", "git+https://github.com/a/b", "runs:/abc/model", "/subscriptions/s/resourceGroups/r/x", "", "  "],
)
def test_it_returns_none_for_remote_values(value):
    assert local_path(Path("/base"), value) is None


@pytest.mark.parametrize(
    "value, expected",
    [("src", "/base/src"), ("./src", "/base/src"), ("../data", "/data"), ("file:./d", "/base/d"), ("/abs/p", "/abs/p"), ("file:///abs/p", "/abs/p")],
)
def test_it_resolves_local_values_against_the_base_dir(value, expected):
    assert local_path(Path("/base"), value) == Path(expected)


def test_it_does_not_check_paths_without_a_base_dir():
    assert load_command_job(MINIMAL + "code: does-not-exist\n", strict_paths=True).code == "does-not-exist"


def test_it_does_not_fail_on_missing_paths_unless_strict(tmp_path):
    assert load_command_job(MINIMAL + "code: src\n", base_dir=tmp_path).code == "src"


def test_it_reports_a_missing_code_folder_when_strict(tmp_path):
    issue = problem_at(MINIMAL + "code: src\n", "code", base_dir=tmp_path, strict_paths=True)
    assert issue.message == f"'src' does not exist (looked for {tmp_path / 'src'}); create it or fix the path"
    assert issue.line == 3


def test_it_reports_a_missing_input_path_when_strict(tmp_path):
    text = "command: ls ${{inputs.d}}\nenvironment: {image: py}\ninputs:\n  d: {path: ../nowhere}\n  r: {path: azureml:x@latest}\n"
    issue = problem_at(text, "inputs.d.path", base_dir=tmp_path / "job", strict_paths=True)
    assert issue.line == 4


def test_it_accepts_existing_relative_paths_outside_the_folder(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "jobs").mkdir()
    spec = load_command_job(MINIMAL + "code: ../src\n", base_dir=tmp_path / "jobs", strict_paths=True)
    assert spec.code == "../src"


def test_it_reports_an_absolute_code_path_when_strict(tmp_path):
    issue = problem_at(MINIMAL + f"code: {tmp_path}\n", "code", base_dir=tmp_path, strict_paths=True)
    assert "absolute path" in issue.message


def test_it_lists_the_values_that_may_be_local():
    text = ("command: ls\nenvironment: {image: py, conda_file: env/conda.yml}\ncode: src\n"
            "inputs:\n  d: {path: ./d}\n  n: 1\n  r: {path: azureml:x@latest}\n")
    assert load_command_job(text).local_references() == [
        ("code", "src"), ("environment.conda_file", "env/conda.yml"), ("inputs.d.path", "./d"), ("inputs.r.path", "azureml:x@latest"),
    ]


def test_it_reports_missing_paths_together_with_other_problems(tmp_path):
    text = MINIMAL + "code: src\nresources: {instance_count: 0}\n"
    paths = [issue.path for issue in problems(text, base_dir=tmp_path, strict_paths=True)]
    assert paths == ["code", "resources.instance_count"]
