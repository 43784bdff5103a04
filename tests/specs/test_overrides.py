import pytest

from jobs.specs import load_command_job
from jobs.specs.overrides import parse_value

from .helpers import MINIMAL, problem_at, problems


def test_it_sets_nested_fields_with_yaml_scalars():
    spec = load_command_job(MINIMAL, overrides=["resources.instance_count=2", "limits.timeout=60"])
    assert spec.resources.instance_count == 2
    assert spec.limits.timeout == 60


def test_it_replaces_values_from_the_file():
    text = MINIMAL + "resources:\n  instance_count: 1\n  instance_type: Standard_DS3_v2\n"
    spec = load_command_job(text, overrides=["resources.instance_count=4"])
    assert (spec.resources.instance_count, spec.resources.instance_type) == (4, "Standard_DS3_v2")


def test_it_sets_environment_variables_and_inputs():
    text = "command: ls ${{inputs.x}}\nenvironment: {image: py}\n"
    spec = load_command_job(text, overrides=["environment_variables.FOO=bar", "inputs.x.path=./d"])
    assert spec.environment_variables == {"FOO": "bar"}
    assert spec.inputs["x"].path == "./d"


def test_it_applies_overrides_in_order():
    spec = load_command_job(MINIMAL, overrides=["compute=azureml:a", "compute=azureml:b"])
    assert spec.compute == "azureml:b"


def test_it_can_clear_a_field():
    spec = load_command_job(MINIMAL + "compute: azureml:cpu\n", overrides=["compute="])
    assert spec.is_serverless


@pytest.mark.parametrize(
    "raw, value",
    [("2", 2), ("0.5", 0.5), ("true", True), ("", None), ("null", None), ("hello", "hello"), ("'2'", "2"),
     ("echo a: b", "echo a: b"), ("[1, 2", "[1, 2"), ("#tag", "#tag"), ("python train.py --lr 0.1", "python train.py --lr 0.1")],
)
def test_it_parses_values_as_yaml_scalars_or_keeps_the_text(raw, value):
    assert parse_value(raw) == value


def test_it_reports_bad_values_as_coming_from_set():
    issue = problem_at(MINIMAL + "resources:\n  instance_count: 1\n", "resources.instance_count", overrides=["resources.instance_count=0"])
    assert issue.message == "expected an integer ≥ 1, got 0 (value given with --set)"
    assert (issue.line, issue.column) == (None, None)


def test_it_rejects_overrides_without_equals_sign():
    [issue] = problems(MINIMAL, overrides=["resources.instance_count"])
    assert issue.message.startswith("--set 'resources.instance_count': expected path=value")
    assert issue.line is None


def test_it_rejects_paths_through_plain_values():
    [issue] = problems(MINIMAL, overrides=["command.x=1"])
    assert issue.path == "command"
    assert "command is 'echo hello', not a mapping" in issue.message


def test_it_validates_overridden_field_names():
    assert "did you mean 'instance_count'" in problem_at(MINIMAL, "resources.instance_cout", overrides=["resources.instance_cout=2"]).message


def test_it_applies_overrides_to_an_empty_document():
    spec = load_command_job("", overrides=["command=echo hi", "environment.image=python:3.11"])
    assert (spec.command, spec.environment.image) == ("echo hi", "python:3.11")
