"""Values no database can keep, and documents that grow when read, are refused at the spec layer
(which the API, the CLI and the wizard share), each with the field at fault and the fix."""

import time

import pytest

from jobs.specs import CommandJobSpec, SpecError, load_command_job
from jobs.specs.yaml_loader import MAX_ALIASES, check_data, parse_yaml

from .helpers import MINIMAL, problem_at, problems


def test_it_refuses_a_small_file_whose_aliases_expand_past_the_limit_before_building_it():
    # The probe: 113 KB of YAML, one 100 KB anchor used 1,000 times, once stored as 100 MB of JSON.
    text = MINIMAL + "description: &big " + "x" * 100_000 + "\ntags:\n" + "".join(
        f"  t{i}: *big\n" for i in range(1_000))
    assert len(text) < 120_000
    started = time.monotonic()
    [issue] = problems(text)
    assert time.monotonic() - started < 1.0
    assert "larger than 1,048,576 bytes once aliases (*name) are expanded" in issue.message
    assert "write the repeated value once" in issue.message


def test_the_expanded_limit_follows_the_limit_it_is_given():
    text = MINIMAL + "environment_variables: {A: &v " + "y" * 1_000 + ", B: *v, C: *v}\n"
    assert load_command_job(text).environment_variables["C"] == "y" * 1_000
    with pytest.raises(SpecError, match="larger than 3,000 bytes once aliases"):
        load_command_job(text, max_bytes=3_000)


def test_it_refuses_too_many_aliases():
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(SpecError, match=f"more than {MAX_ALIASES:,} aliases"):
        parse_yaml(text)


def test_it_refuses_nul_characters_in_values_and_keys_naming_the_field():
    issue = problem_at(MINIMAL.replace("echo hello", '"echo \\0hello"'), "command")
    assert "NUL character" in issue.message and "remove it" in issue.message
    issue = problem_at(MINIMAL + 'tags: {"a\\0b": x}\n', "tags")
    assert "a key contains a NUL character" in issue.message


@pytest.mark.parametrize("value, expected", [
    (2**70, "beyond 64 bits"),
    (2**40, "expected an integer of at most 2,147,483,647 (seconds)"),
])
def test_it_refuses_integers_beyond_what_the_database_keeps(value, expected):
    issue = problem_at(MINIMAL + f"limits: {{timeout: {value}}}\n", "limits.timeout")
    assert expected in issue.message


def test_it_refuses_huge_instance_counts():
    issue = problem_at(MINIMAL + f"resources: {{instance_count: {2**33}}}\n", "resources.instance_count")
    assert "at most 2,147,483,647" in issue.message


def test_it_refuses_nan_anywhere():
    issue = problem_at(MINIMAL + "inputs: {lr: .nan}\n", "inputs.lr")
    assert "not a finite number" in issue.message


def test_it_caps_tags_and_properties():
    many = MINIMAL + "tags: {" + ", ".join(f"t{i}: v" for i in range(101)) + "}\n"
    assert "has 101 entries; keep at most 100" in problem_at(many, "tags").message
    long_value = MINIMAL + "properties: {p: " + "v" * 5_000 + "}\n"
    assert "values 4,096" in problem_at(long_value, "properties.p").message
    long_name = MINIMAL + "tags: {" + "n" * 300 + ": v}\n"
    assert "names may have at most 256" in problems(long_name)[0].message


def test_it_keeps_names_within_their_columns():
    issue = problem_at(MINIMAL + "display_name: " + "d" * 256 + "\n", "display_name")
    assert "is 256 characters long; write at most 255" in issue.message


def test_from_dict_refuses_what_yaml_cannot_carry():
    data = {"command": "echo", "environment": {"image": "python"}, "display_name": "a\x00b",
            "tags": {"k": "\ud800"}}
    with pytest.raises(SpecError) as caught:
        CommandJobSpec.from_dict(data)
    assert {issue.path for issue in caught.value.issues} == {"display_name", "tags.k"}


def nested(depth):
    value = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("data, path, expected", [
    ({"command": "x", "inputs": nested(100_000)}, "inputs" + ".a" * 50, "nested more than 50 levels"),
    ({"command": "echo \x00"}, "command", "NUL character"),
    ({"limits": {"timeout": 2**64}}, "limits.timeout", "beyond 64 bits"),
    ({"tags": {"x": "\udfff"}}, "tags.x", "unpaired surrogate"),
    ({"inputs": {"x": float("inf")}}, "inputs.x", "not a finite number"),
    ({"tags": {"\x00": "v"}}, "tags", "a key contains a NUL"),
    ({"description": "x" * 2_000_000}, "description", "larger than 1,048,576 bytes"),
])
def test_check_data_refuses_json_documents_before_anything_walks_them(data, path, expected):
    with pytest.raises(SpecError) as caught:
        check_data(data)
    [issue] = caught.value.issues
    assert issue.path == path and expected in issue.message


def test_check_data_accepts_a_normal_job():
    check_data({"command": "python train.py", "environment": {"image": "python:3.11"}, "tags": {"a": 1},
                "limits": {"timeout": 3600}, "inputs": {"lr": 0.1, "flag": True, "list": [1, 2, None]}})
