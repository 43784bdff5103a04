"""A wizard run as a whole: steps in order, the spec it builds and back, review, cloning."""

from __future__ import annotations

import pytest

from jobs.specs import CommandJobSpec, load_command_job
from jobs.wizard import flow
from jobs.wizard.steps import basics, code, compute, environment
from tests.wizard.helpers import COMPUTE_CHOICES, OFF, ON, problem_fields, walk


@pytest.mark.parametrize("choice", COMPUTE_CHOICES)
def test_it_builds_a_spec_that_round_trips_for_each_compute_choice(choice):
    state = walk(COMPUTE_CHOICES[choice])
    assert state["done"] == ["basics", "compute", "environment", "code"]
    assert flow.review_problems(state) == []
    spec = flow.build_spec(state)
    assert CommandJobSpec.from_dict(spec.to_dict()) == spec
    assert flow.build_spec(flow.new_state(spec.to_dict())) == spec
    # and back: each step's form is prefilled with what was entered
    back = flow.new_state(spec.to_dict())
    assert compute.initial(back, ON) == COMPUTE_CHOICES[choice] | ({"tier": "Standard"} if choice == "cluster" else {})
    assert basics.initial(back) == {"name": "fit-check", "display_name": "", "experiment_name": "wizard",
                                    "description": "line one\nline two", "tags": "team=vision\nstage="}
    assert environment.initial(back)["curated"] == environment.DEFAULT_ENVIRONMENT


def test_it_writes_what_azure_ml_yaml_says_for_serverless():
    spec = flow.build_spec(walk(COMPUTE_CHOICES["serverless-size-spot"])).to_dict()
    assert "compute" not in spec
    assert spec["resources"] == {"instance_type": "Standard_D4s_v3", "instance_count": 2}
    assert spec["queue_settings"] == {"job_tier": "Spot"}
    assert spec["code"] == "./src"
    assert spec["inputs"] == {"lr": 0.01, "data": {"type": "uri_file", "path": "./iris.csv"}}
    assert spec["tags"] == {"team": "vision", "stage": ""}
    assert spec["$schema"] == flow.SCHEMA


def test_it_gives_the_yaml_of_the_spec_or_of_the_run_so_far():
    state = walk(COMPUTE_CHOICES["serverless-automatic"])
    assert load_command_job(flow.job_yaml(state)) == flow.build_spec(state)
    unfinished = flow.new_state({"command": "echo", "limits": {"timeout": "soon"}})
    assert "timeout: soon" in flow.job_yaml(unfinished)


def test_it_opens_steps_in_order():
    state = flow.new_state()
    assert flow.reachable(state, "basics") and not flow.reachable(state, "compute")
    assert flow.first_open_step(state) == "basics"
    state, _ = basics.apply(state, {})
    assert flow.reachable(state, "compute") and not flow.reachable(state, "review")
    assert (flow.next_step("basics"), flow.previous_step("compute"), flow.previous_step("basics")) == (
        "compute", "basics", None)


@pytest.mark.parametrize("path, key", [
    ("name", "basics"), ("resources.instance_count", "compute"), ("queue_settings.job_tier", "compute"),
    ("environment.image", "environment"), ("inputs.x.value", "code"), ("outputs.model.mode", "code"),
    ("environment_variables.LOG_LEVEL", "code"), ("limits.timeout", "code"), ("distribution.type", "code"),
    ("", "review"),
])
def test_it_knows_which_step_edits_a_field(path, key):
    assert flow.step_of_path(path) == key


def test_it_lists_what_is_missing_by_step_before_review():
    state, _ = basics.apply(flow.new_state(), {})
    assert set(dict(flow.review_problems(state))) == {"compute", "environment", "code"}


def submitted_spec(choice: str, **code_values) -> dict:
    """What a job row keeps (`{**spec.to_dict(), "name": name}`)."""
    state = walk(COMPUTE_CHOICES[choice])
    if code_values:
        state, problems = code.apply(state, {**code.initial(state), **code_values})
        assert problems == []
    return {**flow.build_spec(state).to_dict(), "name": "brave_owl_1234abcd"}


def test_it_prefills_a_clone_except_its_name_code_and_uploaded_data():
    state = flow.from_job(submitted_spec("serverless-size-spot"), job_name="brave_owl_1234abcd",
                          serverless_allowed=True)
    assert "name" not in state["spec"] and "code" not in state["spec"]
    assert state["cloned_from"] == "brave_owl_1234abcd"
    assert any("Code is not cloned" in note for note in state["notes"])
    assert any("Uploaded data is not cloned" in note and "data" in note for note in state["notes"])
    assert state["done"] == ["basics", "compute", "environment"]
    assert compute.initial(state, ON) == COMPUTE_CHOICES["serverless-size-spot"]
    assert basics.initial(state)["experiment_name"] == "wizard"
    assert code.initial(state)["literals"] == [{"name": "lr", "type": "number", "value": "0.01"}]
    assert code.initial(state)["data"][0]["upload"] is None
    # the code step asks for the data again
    _, problems = code.apply(state, {"command": state["spec"]["command"], "data": [
        {"name": "data", "original": "data"}]})
    assert "was not cloned" in problem_fields(problems)["data.0.file"]


def test_it_asks_a_clone_of_a_serverless_job_without_the_preview_for_a_cluster():
    state = flow.from_job(submitted_spec("serverless-automatic"), job_name="j", serverless_allowed=False)
    assert state["done"] == ["basics"]
    assert any("Manage previews" in note for note in state["notes"])
    assert compute.initial(state, OFF)["compute_type"] == "cluster"


def test_it_completes_a_clone_without_code_or_data_and_keeps_what_it_does_not_edit():
    spec = {"type": "command", "name": "old", "command": "echo ${{inputs.n}}", "inputs": {"n": 3},
            "environment": {"image": "python:3.11-slim"}, "compute": "azureml:cpu-cluster",
            "resources": {"instance_count": 2, "shm_size": "2g"}, "identity": {"type": "managed"}}
    state = flow.from_job(spec, job_name="old", serverless_allowed=True)
    assert state["done"] == list(flow.EDIT_STEPS)
    assert compute.initial(state, ON)["cluster"] == "cpu-cluster"
    built = flow.build_spec(state)
    assert built.resources.shm_size == "2g" and built.identity.type == "managed"


def test_it_checks_the_placement_before_the_other_steps_are_done():
    state, _ = compute.apply(flow.new_state(), COMPUTE_CHOICES["serverless-size-spot"], ON)
    spec = flow.placement_spec(state["spec"])
    assert spec.resources.instance_count == 2 and spec.queue_settings.job_tier == "Spot"
