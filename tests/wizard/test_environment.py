"""The Environment step: curated, registered or a Docker image."""

from __future__ import annotations

import pytest

from jobs.wizard import flow
from jobs.wizard.steps import environment
from tests.wizard.helpers import problem_fields


@pytest.mark.parametrize("values, field, message", [
    ({"env_kind": "reference", "curated": "other", "reference": "not a reference!"}, "reference",
     "is not an environment reference"),
    ({"env_kind": "reference", "curated": "other", "reference": ""}, "reference", "type an environment"),
    ({"env_kind": "image", "image": ""}, "image", "an inline environment needs image:"),
    ({"env_kind": "reference", "curated": "azureml:made-up@latest"}, "curated", "not one of the curated"),
])
def test_it_names_the_field_of_each_problem(values, field, message):
    _, problems = environment.apply(flow.new_state(), values)
    assert message in problem_fields(problems)[field]


def test_it_maps_the_choices_to_the_spec_and_back():
    state, _ = environment.apply(flow.new_state(), {"env_kind": "image", "image": "python:3.12"})
    assert state["spec"]["environment"] == {"image": "python:3.12"}
    assert environment.initial(state)["env_kind"] == "image"
    state, _ = environment.apply(state, {"env_kind": "reference", "curated": "other", "reference": "azureml:my-env:3"})
    assert state["spec"]["environment"] == "azureml:my-env:3"
    assert environment.initial(state) == {"env_kind": "reference", "curated": "other",
                                          "reference": "azureml:my-env:3", "image": flow.DEFAULT_IMAGE}
