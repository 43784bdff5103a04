"""The Basics step: name, display name, experiment, description, tags."""

from __future__ import annotations

from jobs.wizard import flow
from jobs.wizard.steps import basics
from tests.wizard.helpers import problem_fields


def test_it_refuses_a_bad_name_with_the_spec_layers_message():
    new, problems = basics.apply(flow.new_state(), {"name": "no spaces!"})
    assert problem_fields(problems) == {"name": "'no spaces!' is not valid; job names use letters, digits, '-' "
                                                "and '_' (up to 255)"}
    assert problems[0].path == "name"
    assert "basics" not in new["done"]


def test_it_refuses_a_taken_name():
    _, problems = basics.apply(flow.new_state(), {"name": "taken"}, name_taken=lambda n: n == "taken")
    assert "already exists" in problem_fields(problems)["name"]


def test_it_reads_tags_as_key_value_lines():
    _, problems = basics.apply(flow.new_state(), {"tags": "a=1\n\nnot a tag\na=2"})
    assert [p.message for p in problems] == ["line 3: write key=value, got 'not a tag'",
                                            "line 4: tag 'a' is given twice"]
