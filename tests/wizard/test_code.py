"""The Code step: code, command, inputs, outputs, environment variables, time limit and
distribution; each validated by the spec layer, written into the YAML and read back from it."""

from __future__ import annotations

import pytest

from jobs.specs import load_command_job
from jobs.wizard import flow
from jobs.wizard.steps import code
from tests.wizard.helpers import CODE, COMPUTE_CHOICES, problem_fields, walk


def apply(values, state=None):
    return code.apply(state or flow.new_state(), {"command": "echo", **values})


def test_it_only_lets_the_command_use_declared_inputs_and_outputs():
    _, problems = apply({"command": "python train.py --lr ${{inputs.lr}} --epochs ${{inputs.epochs}}",
                         "literals": [{"name": "lr", "type": "number", "value": "0.1"}]})
    assert problem_fields(problems) == {"command": "${{inputs.epochs}} refers to an input that is not declared "
                                                   "under inputs:; declared inputs: lr"}
    state, problems = apply({"command": "python train.py --out ${{outputs.model}}",
                             "outputs": [{"name": "model", "type": "uri_folder", "mode": ""}]})
    assert problems == []
    assert code.input_references(state) == ["${{outputs.model}}"]


def test_it_refuses_a_missing_command():
    _, problems = code.apply(flow.new_state(), {"command": "   "})
    assert problem_fields(problems)["command"].startswith("required")


def test_it_types_literal_inputs_and_puts_bad_ones_on_their_row():
    state, problems = apply({"literals": [
        {"name": "epochs", "type": "integer", "value": "10"},
        {"name": "verbose", "type": "boolean", "value": "True"},
        {"name": "tag", "type": "string", "value": "42"},
    ]})
    assert problems == []
    assert state["spec"]["inputs"] == {"epochs": {"type": "integer", "value": 10},
                                       "verbose": {"type": "boolean", "value": True},
                                       "tag": {"type": "string", "value": "42"}}
    _, problems = apply({"literals": [
        {"name": "ok", "type": "string", "value": "x"},
        {"name": "epochs", "type": "integer", "value": "ten"},
        {"name": "bad-name", "type": "string", "value": "x"},
        {"name": "ok", "type": "string", "value": "y"},
        {"name": "", "type": "string", "value": "orphan"},
    ]})
    fields = problem_fields(problems)
    assert "needs a value such as `value: 5`, got 'ten'" in fields["literals.1.value"]
    assert "'bad-name' is not a valid name" in fields["literals.2.name"]
    assert "declared twice" in fields["literals.3.name"]
    assert fields["literals.4.name"] == "give this input a name"


def test_it_needs_a_file_for_a_data_input_and_replaces_or_removes_it():
    upload = {"filename": "data.zip", "kind": "folder", "path": "data", "files": 3, "bytes": 3000}
    _, problems = apply({"data": [{"name": "train", "original": ""}]})
    assert "choose the file" in problem_fields(problems)["data.0.file"]
    state, problems = apply({"command": "ls ${{inputs.train}}", "data": [{"name": "train", "original": "",
                                                                         "upload": upload}]})
    assert problems == []
    assert state["spec"]["inputs"] == {"train": {"type": "uri_folder", "path": "./data"}}
    assert state["data"] == {"train": upload}
    assert code.initial(state)["data"] == [{"name": "train", "original": "train", "type": "uri_folder",
                                            "path": "./data", "upload": upload, "remote": False,
                                            "summary": "3 files, 2.9 KiB"}]
    csv = {"filename": "t.csv", "kind": "file", "path": "t.csv", "files": 1, "bytes": 3}
    replaced, problems = apply({"data": [{"name": "train", "original": "train", "upload": csv}]}, state)
    assert problems == []
    assert replaced["spec"]["inputs"]["train"] == {"type": "uri_file", "path": "./t.csv"}
    removed, problems = apply({"data": [{"name": "train", "original": "train", "remove": True}]}, state)
    assert problems == [] and "inputs" not in removed["spec"] and removed["data"] == {}


def test_it_removes_the_code():
    state = walk(COMPUTE_CHOICES["serverless-automatic"])
    state, problems = code.apply(state, {"command": "echo hi", "remove_code": True})
    assert problems == []
    assert "code" not in state["spec"] and state["code"] is None


# Environment variables -------------------------------------------------------------------------

def test_it_sets_environment_variables_from_name_value_rows():
    state, problems = apply({"env": [{"name": "LOG_LEVEL", "value": "DEBUG"}, {"name": "EMPTY", "value": ""},
                                     {"name": "", "value": ""}]})
    assert problems == []
    assert state["spec"]["environment_variables"] == {"LOG_LEVEL": "DEBUG", "EMPTY": ""}
    assert code.initial(state)["env"] == [{"name": "LOG_LEVEL", "value": "DEBUG"}, {"name": "EMPTY", "value": ""}]
    cleared, problems = apply({"env": [{"name": "", "value": ""}]}, state)
    assert problems == [] and "environment_variables" not in cleared["spec"]


def test_it_puts_bad_environment_variables_on_their_row():
    _, problems = apply({"env": [{"name": "A", "value": "1"}, {"name": "", "value": "orphan"},
                                 {"name": "A", "value": "2"}, {"name": "MY VAR", "value": "x"}]})
    assert problem_fields(problems) == {
        "env.1.name": "give this variable a name",
        "env.2.name": "'A' is declared twice; give each variable its own name",
        "env.3.name": "'MY VAR' cannot name an environment variable: leave out spaces and '='; for example MY_SETTING",
    }


# Time limit ------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, seconds", [
    ("3600", 3600), ("90 min", 5400), ("2h 30m", 9000), ("1 h 05 min", 3900), ("1.5h", 5400), ("1 d", 86400),
    ("45 s", 45), ("2 hours, 10 minutes", 7800), ("", None),
])
def test_it_reads_the_time_limit_in_seconds_or_with_a_unit(typed, seconds):
    state, problems = apply({"timeout": typed})
    assert problems == []
    assert (state["spec"].get("limits") or {}).get("timeout") == seconds


@pytest.mark.parametrize("seconds, shown", [(3600, "1 h"), (5400, "1 h 30 min"), (45, "45 s"), (3661, "3661"),
                                            (5, "5"), (None, "")])
def test_it_shows_the_time_limit_exactly(seconds, shown):
    assert code.timeout_text(seconds) == shown
    assert code.parse_timeout(shown) == seconds


@pytest.mark.parametrize("typed, message", [
    ("0", "expected an integer ≥ 1 (seconds), got 0"),
    ("soon", "expected an integer ≥ 1 (seconds), got 'soon'; or write it with a unit, e.g. 90 min"),
    ("2 weeks", "got '2 weeks'; or write it with a unit"),
    ("0.5 s", "got '0.5 s'"),
])
def test_it_refuses_a_bad_time_limit_on_its_field(typed, message):
    new, problems = apply({"timeout": typed})
    assert message in problem_fields(problems)["timeout"]
    assert "code" not in new["done"]


# Outputs ---------------------------------------------------------------------------------------

def test_it_declares_named_outputs_with_type_and_mode():
    state, problems = apply({"outputs": [{"name": "model", "type": "uri_folder", "mode": "upload"},
                                         {"name": "score", "type": "uri_file", "mode": ""},
                                         {"name": "", "type": "uri_folder", "mode": ""}]})
    assert problems == []
    assert state["spec"]["outputs"] == {"model": {"type": "uri_folder", "mode": "upload"},
                                        "score": {"type": "uri_file"}}
    assert code.initial(state)["outputs"] == [{"name": "model", "type": "uri_folder", "mode": "upload"},
                                              {"name": "score", "type": "uri_file", "mode": ""}]


def test_it_keeps_what_the_form_does_not_show_of_an_output():
    state = flow.new_state({"command": "echo", "outputs": {"model": {"type": "uri_folder",
                                                                      "path": "azureml://datastores/x/paths/m"}}})
    state, problems = code.apply(state, {"command": "echo", "outputs": [{"name": "model", "type": "uri_folder",
                                                                         "mode": "rw_mount"}]})
    assert problems == []
    assert state["spec"]["outputs"]["model"] == {"type": "uri_folder", "path": "azureml://datastores/x/paths/m",
                                                 "mode": "rw_mount"}


def test_it_puts_bad_outputs_on_their_row():
    _, problems = apply({"outputs": [{"name": "bad-name", "type": "uri_folder", "mode": ""},
                                     {"name": "m", "type": "uri_folder", "mode": "ro_mount"},
                                     {"name": "x", "type": "blob", "mode": ""},
                                     {"name": "", "type": "uri_file", "mode": "upload"},
                                     {"name": "m", "type": "uri_folder", "mode": ""}]})
    fields = problem_fields(problems)
    assert "'bad-name' is not a valid name" in fields["outputs.0.name"]
    assert "'ro_mount' is an input mode" in fields["outputs.1.mode"]
    assert "uri_folder" in fields["outputs.2.type"]
    assert fields["outputs.3.name"] == "give this output a name"
    assert "declared twice" in fields["outputs.4.name"]


# Distribution ----------------------------------------------------------------------------------

@pytest.mark.parametrize("values, expected", [
    ({"distribution_type": "pytorch", "process_count_per_instance": "2"},
     {"type": "pytorch", "process_count_per_instance": 2}),
    ({"distribution_type": "mpi", "process_count_per_instance": ""}, {"type": "mpi"}),
    ({"distribution_type": "tensorflow", "worker_count": "3"}, {"type": "tensorflow", "worker_count": 3}),
    ({"distribution_type": ""}, None),
])
def test_it_sets_the_distribution(values, expected):
    state, problems = apply(values)
    assert problems == []
    assert state["spec"].get("distribution") == expected


@pytest.mark.parametrize("values, field, message", [
    ({"distribution_type": "tensorflow", "process_count_per_instance": "2"}, "process_count_per_instance",
     "distribution type tensorflow does not take process_count_per_instance"),
    ({"distribution_type": "pytorch", "process_count_per_instance": "0"}, "process_count_per_instance",
     "expected an integer ≥ 1, got 0"),
    ({"distribution_type": "pytorch", "worker_count": "2"}, "worker_count", "does not take worker_count"),
    ({"distribution_type": "horovod"}, "distribution_type", "horovod"),
])
def test_it_refuses_a_bad_distribution_on_its_field(values, field, message):
    _, problems = apply(values)
    assert message in problem_fields(problems)[field]


def test_it_keeps_a_distributions_other_fields_while_its_type_stays():
    state = flow.new_state({"command": "echo", "distribution": {"type": "tensorflow", "worker_count": 2,
                                                                "parameter_server_count": 1}})
    kept, problems = apply({"distribution_type": "tensorflow", "worker_count": "4"}, state)
    assert problems == [] and kept["spec"]["distribution"] == {"type": "tensorflow", "parameter_server_count": 1,
                                                              "worker_count": 4}
    changed, problems = apply({"distribution_type": "pytorch", "process_count_per_instance": "2"}, state)
    assert problems == [] and changed["spec"]["distribution"] == {"type": "pytorch", "process_count_per_instance": 2}


# Into the YAML and back ------------------------------------------------------------------------

EVERYTHING = {
    **CODE,
    "command": "python train.py --lr ${{inputs.lr}} --out ${{outputs.model}}",
    "outputs": [{"name": "model", "type": "uri_folder", "mode": "upload"}],
    "env": [{"name": "LOG_LEVEL", "value": "INFO"}, {"name": "OMP_NUM_THREADS", "value": "4"}],
    "timeout": "2h 30m",
    "distribution_type": "pytorch", "process_count_per_instance": "2", "worker_count": "",
}


def test_every_field_round_trips_through_the_yaml_and_a_clone():
    state = walk(COMPUTE_CHOICES["serverless-size-spot"], code_values=EVERYTHING)
    yaml = flow.job_yaml(state)
    spec = load_command_job(yaml)
    assert dict(spec.environment_variables) == {"LOG_LEVEL": "INFO", "OMP_NUM_THREADS": "4"}
    assert spec.limits.timeout == 9000
    assert (spec.distribution.type, spec.distribution.process_count_per_instance) == ("pytorch", 2)
    assert (spec.outputs["model"].type, spec.outputs["model"].mode) == ("uri_folder", "upload")
    clone = flow.from_job({**spec.to_dict(), "name": "j"}, job_name="j", serverless_allowed=True)
    values = code.initial(clone)
    assert {key: values[key] for key in ("outputs", "env", "timeout", "distribution_type",
                                         "process_count_per_instance", "worker_count")} == {
        "outputs": EVERYTHING["outputs"], "env": EVERYTHING["env"], "timeout": "2 h 30 min",
        "distribution_type": "pytorch", "process_count_per_instance": "2", "worker_count": ""}
    # saving the clone's code step as it is prefilled gives the same job (but the code, not cloned)
    again, problems = code.apply(clone, {**values, "data": [{"name": "data", "original": "data",
                                                             "upload": CODE["data"][0]["upload"]}],
                                         "code": CODE["code"]})
    assert problems == []
    original = flow.build_spec(state).to_dict()
    assert flow.build_spec(again).to_dict() == {key: value for key, value in original.items() if key != "name"}


def test_the_review_says_it_in_words():
    review = code.review(walk(COMPUTE_CHOICES["serverless-automatic"], code_values=EVERYTHING))
    assert review["timeout_words"] == "2 h 30 min"
    assert review["distribution"] == "pytorch, 2 processes per node"
    assert review["code_summary"] == "1 file, 10 bytes"
    assert code.distribution_text({"distribution_type": "tensorflow", "worker_count": "1"}) == "tensorflow, 1 worker"
