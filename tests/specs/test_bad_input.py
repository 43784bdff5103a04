"""Broken files of every kind, and broken component files named by pipelines, get clear errors."""

import pytest

from jobs.specs import validate_file

from .helpers import write_tree
from .test_yaml_loading import BILLION_LAUGHS

PIPELINE = (
    "type: pipeline\nsettings: {default_compute: azureml:serverless}\n"
    "jobs:\n  train:\n    type: command\n    component: ./train.yml\n"
)
SWEEP = (
    "type: sweep\ntrial: {command: 'echo ${{search_space.x}}', environment: {image: python}}\n"
    "search_space: {x: {type: choice, values: [1]}}\nsampling_algorithm: random\n"
    "objective: {goal: maximize, primary_metric: m}\nlimits: {max_total_trials: 1}\n"
)


def only_error(result):
    assert not result.valid
    [error] = result.errors
    return error


def test_it_reports_yaml_syntax_errors_with_line_and_column(tmp_path):
    write_tree(tmp_path, {"s.yml": SWEEP.replace("limits: {max_total_trials: 1}", "limits: {max_total_trials: 1")})
    error = only_error(validate_file(tmp_path / "s.yml"))
    assert error.message.startswith("invalid YAML") and (error.line, error.column) == (7, 1)


def test_it_reports_duplicate_keys_in_steps(tmp_path):
    write_tree(tmp_path, {"p.yml": PIPELINE + "    compute: a\n    compute: b\n", "train.yml": "name: t\ncommand: x\nenvironment: {image: py}\n"})
    error = only_error(validate_file(tmp_path / "p.yml"))
    assert (error.path, error.line) == ("jobs.train.compute", 8)
    assert "duplicate key 'compute' (first written on line 7)" in error.message


@pytest.mark.parametrize(
    "content, words",
    [
        (b"name: t\ncommand: caf\xe9\n", "is not UTF-8 text"),
        (b"name: t\n\x00", "is a binary file"),
        (b"name: [t\n", "invalid YAML"),
        (BILLION_LAUGHS.encode(), "too large or complex"),
        (b"a:\n" + b"".join(b"  " * depth + b"- \n" for depth in range(1, 80)), "nested more than"),
    ],
)
def test_it_reports_broken_component_files_at_the_step(tmp_path, content, words):
    write_tree(tmp_path, {"p.yml": PIPELINE})
    (tmp_path / "train.yml").write_bytes(content)
    error = only_error(validate_file(tmp_path / "p.yml"))
    assert error.path == "jobs.train.component" and (error.line, error.column) == (6, 16)
    assert words in error.message and str(tmp_path / "train.yml") in error.message


def test_it_reports_component_files_over_the_size_limit(tmp_path):
    write_tree(tmp_path, {"p.yml": PIPELINE, "train.yml": "# padding\n" * 120_000})
    assert "larger than 1,048,576 bytes" in only_error(validate_file(tmp_path / "p.yml")).message


def test_it_rejects_alias_bombs_in_sweeps(tmp_path):
    write_tree(tmp_path, {"s.yml": SWEEP + BILLION_LAUGHS.replace("a: &a", "x_a: &a", 1)})
    assert "too large or complex" in only_error(validate_file(tmp_path / "s.yml")).message


def test_it_rejects_deeply_nested_search_spaces(tmp_path):
    nested = "search_space:\n  x:\n" + "".join("  " * (depth + 2) + "a:\n" for depth in range(60))
    write_tree(tmp_path, {"s.yml": SWEEP.replace("search_space: {x: {type: choice, values: [1]}}\n", nested)})
    assert "nested more than" in only_error(validate_file(tmp_path / "s.yml")).message


def test_it_rejects_a_folder_named_as_a_component_file(tmp_path):
    write_tree(tmp_path, {"p.yml": PIPELINE})
    (tmp_path / "train.yml").mkdir()
    assert "not found" in only_error(validate_file(tmp_path / "p.yml")).message
