import json

import pytest

from jobs.specs import SpecError, load_command_job
from jobs.specs.yaml_loader import MAX_DEPTH, parse_yaml

from .helpers import MINIMAL, problem_at, problems

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_it_loads_plain_yaml():
    spec = load_command_job(MINIMAL)
    assert spec.command == "echo hello"


def test_it_loads_json():
    text = json.dumps({"command": "echo", "environment": {"image": "python:3.11"}}, indent=2)
    assert load_command_job(text).environment.image == "python:3.11"


def test_it_reports_syntax_errors_with_line_and_column():
    [issue] = problems("command: echo\nenvironment: {image: py}\nresources:\n  a: b: c\n")
    assert (issue.line, issue.column) == (4, 7)
    assert issue.file == "job.yml"
    assert "invalid YAML" in issue.message


def test_it_reports_unclosed_brackets():
    [issue] = problems("command: echo\nenvironment: [a\n")
    assert issue.line is not None and "invalid YAML" in issue.message


def test_it_reports_duplicate_keys_at_the_second_key():
    issue = problem_at(MINIMAL + "command: echo again\n", "command")
    assert (issue.line, issue.column) == (3, 1)
    assert "duplicate key 'command' (first written on line 1)" in issue.message


def test_it_reports_duplicate_keys_in_nested_mappings():
    text = MINIMAL + "resources:\n  instance_count: 1\n  instance_count: 2\n"
    issue = problem_at(text, "resources.instance_count")
    assert (issue.line, issue.column) == (5, 3)


def test_it_allows_normal_anchors_and_aliases():
    text = "environment: &env {image: python:3.11}\ncommand: echo\nenvironment_variables: {A: &v x, B: *v}\n"
    spec = load_command_job(text)
    assert dict(spec.environment_variables) == {"A": "x", "B": "x"}


def test_it_supports_merge_keys_with_explicit_keys_winning():
    data, _, issues = parse_yaml("base: &b {x: 1, y: 2}\nmine:\n  <<: *b\n  y: 3\n")
    assert data["mine"] == {"x": 1, "y": 3}
    assert issues == []


def test_it_refuses_the_billion_laughs():
    [issue] = problems(BILLION_LAUGHS)
    assert "too large or complex" in issue.message


def test_it_refuses_recursive_aliases():
    [issue] = problems("a: &a [1, *a]\n")
    assert "recursive aliases" in issue.message


def test_it_refuses_deep_nesting():
    depth = MAX_DEPTH + 5
    [issue] = problems("a: " + "[" * depth + "]" * depth + "\n")
    assert "nested more than" in issue.message


def test_it_accepts_reasonable_nesting():
    data, _, _ = parse_yaml("a: " + "[" * 20 + "]" * 20 + "\n")
    assert "a" in data


def test_it_refuses_huge_documents():
    with pytest.raises(SpecError, match="larger than"):
        parse_yaml("a: 1\n", max_bytes=3)


def test_it_refuses_a_second_document():
    [issue] = problems(MINIMAL + "---\ncommand: again\n")
    assert "second YAML document" in issue.message
    assert issue.line == 3


def test_it_refuses_text_that_is_not_unicode():
    [issue] = problems("command: caf\udce9\n")
    assert "not valid Unicode" in issue.message


def test_it_refuses_custom_tags():
    issue = problem_at("command: !!python/name:os.system echo\nenvironment: {image: py}\n", "command")
    assert "unsupported YAML tag" in issue.message


def test_it_keeps_dates_as_text():
    data, _, _ = parse_yaml("when: 2024-01-01\n")
    assert data == {"when": "2024-01-01"}


def test_it_keeps_mapping_keys_as_written():
    data, _, _ = parse_yaml("1: a\ntrue: b\non: c\n")
    assert list(data) == ["1", "true", "on"]


def test_it_reports_numbers_too_long_to_read():
    data, _, issues = parse_yaml("n: " + "9" * 5000 + "\n")
    assert "cannot read" in issues[0].message


def test_it_records_where_each_field_is():
    _, locations, _ = parse_yaml("a:\n  b: [x, {c: 1}]\n")
    assert locations.find("a.b[1].c").line == 2
    assert locations.find("a.b[1].c").column == 14
    assert locations.find("a.b", key=True).column == 3
    assert locations.find("a.missing").line == 2  # falls back to the parent
