"""The wizard's rules without Django: form values -> spec dict -> CommandJobSpec, and back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jobs.scheduling import core
from jobs.specs import CommandJobSpec
from jobs.wizard import state as wizard

SIZES = {
    "Standard_D2s_v3": wizard.SizeOption("Standard_D2s_v3", "standardDSv3Family", 2, 8, price_dedicated=0.096,
                                         price_spot=0.01056, quota_available=20),
    "Standard_D4s_v3": wizard.SizeOption("Standard_D4s_v3", "standardDSv3Family", 4, 16, price_dedicated=0.192,
                                         price_spot=0.02112, quota_available=20),
    "Standard_NC24ads_A100_v4": wizard.SizeOption("Standard_NC24ads_A100_v4", "standardNCADSA100v4Family", 24, 220,
                                                  gpus=1, gpu_model="A100", category="gpu-training",
                                                  price_dedicated=3.673, price_spot=0.44, quota_available=0),
    "Standard_ND96isr_H100_v5": wizard.SizeOption("Standard_ND96isr_H100_v5", "standardNDSH100v5Family", 96, 1900,
                                                  gpus=8, gpu_model="H100", category="gpu-training",
                                                  price_dedicated=98.32, price_spot=None),
    "Standard_NC6": wizard.SizeOption("Standard_NC6", "standardNCFamily", 6, 56, gpus=1, category="gpu-training",
                                      price_dedicated=0.9, price_spot=0.099, serverless="no"),
}
CLUSTERS = {"cpu-cluster": wizard.ClusterOption("cpu-cluster", "Standard_DS3_v2", max_instances=4)}
ON = wizard.ComputeContext(serverless_allowed=True, sizes=SIZES, clusters=CLUSTERS, spot_available=12)
OFF = wizard.ComputeContext(serverless_allowed=False, sizes=SIZES, clusters=CLUSTERS, spot_available=12)

COMPUTE_CHOICES = {
    "serverless-automatic": {"compute_type": "serverless", "tier": "Standard", "instance_type": "",
                             "instance_count": "1", "cluster": ""},
    "serverless-size-spot": {"compute_type": "serverless", "tier": "Spot", "instance_type": "Standard_D4s_v3",
                             "instance_count": "2", "cluster": ""},
    "cluster": {"compute_type": "cluster", "tier": "Standard", "instance_type": "", "instance_count": "3",
                "cluster": "cpu-cluster"},
}


def walk(compute: dict, *, ctx=ON) -> dict:
    """A whole run through the four steps, each expected to validate."""
    state = wizard.new_state()
    state, problems = wizard.apply_basics(state, {"name": "fit-check", "experiment_name": "wizard",
                                                  "description": "line one\nline two", "tags": "team=vision\nstage="})
    assert problems == []
    state, problems = wizard.apply_compute(state, compute, ctx)
    assert problems == []
    state, problems = wizard.apply_environment(state, {"env_kind": "reference", "curated": wizard.DEFAULT_ENVIRONMENT})
    assert problems == []
    state, problems = wizard.apply_code(state, {
        "command": "python train.py --lr ${{inputs.lr}} --data ${{inputs.data}}",
        "code": {"filename": "train.py", "kind": "file", "path": "train.py", "files": 1, "bytes": 10},
        "literals": [{"name": "lr", "type": "number", "value": "0.01"}, {"name": "", "type": "string", "value": ""}],
        "data": [{"name": "data", "original": "", "upload": {"filename": "iris.csv", "kind": "file",
                                                             "path": "iris.csv", "files": 1, "bytes": 5}}],
    })
    assert problems == []
    return state


@pytest.mark.parametrize("choice", COMPUTE_CHOICES)
def test_it_builds_a_spec_that_round_trips_for_each_compute_choice(choice):
    state = walk(COMPUTE_CHOICES[choice])
    assert state["done"] == ["basics", "compute", "environment", "code"]
    assert wizard.review_problems(state) == []
    spec = wizard.build_spec(state)
    again = CommandJobSpec.from_dict(spec.to_dict())
    assert again == spec
    assert wizard.build_spec(wizard.new_state(spec.to_dict())) == spec
    # and back: each step's form is prefilled with what was entered
    back = wizard.new_state(spec.to_dict())
    assert wizard.compute_initial(back, ON) == COMPUTE_CHOICES[choice] | (
        {"tier": "Standard"} if choice == "cluster" else {})
    assert wizard.basics_initial(back) == {"name": "fit-check", "display_name": "", "experiment_name": "wizard",
                                           "description": "line one\nline two", "tags": "team=vision\nstage="}
    assert wizard.environment_initial(back)["curated"] == wizard.DEFAULT_ENVIRONMENT


def test_serverless_spec_says_what_azure_ml_yaml_says():
    spec = wizard.build_spec(walk(COMPUTE_CHOICES["serverless-size-spot"])).to_dict()
    assert "compute" not in spec
    assert spec["resources"] == {"instance_type": "Standard_D4s_v3", "instance_count": 2}
    assert spec["queue_settings"] == {"job_tier": "Spot"}
    assert spec["code"] == "./src"
    assert spec["inputs"] == {"lr": 0.01, "data": {"type": "uri_file", "path": "./iris.csv"}}
    assert spec["tags"] == {"team": "vision", "stage": ""}
    assert spec["$schema"] == wizard.SCHEMA


def test_automatic_size_leaves_instance_type_out():
    spec = wizard.build_spec(walk(COMPUTE_CHOICES["serverless-automatic"]))
    assert spec.is_serverless
    assert spec.resources.instance_type is None
    assert spec.resources.instance_count == 1
    assert spec.queue_settings.job_tier == "Standard"


def test_cluster_spec_names_the_cluster_and_no_size_or_tier():
    spec = wizard.build_spec(walk(COMPUTE_CHOICES["cluster"]))
    assert spec.compute == "azureml:cpu-cluster"
    assert spec.compute_name == "cpu-cluster"
    assert spec.resources.instance_type is None and spec.resources.instance_count == 3
    assert spec.queue_settings is None


def test_switching_from_serverless_to_a_cluster_drops_the_size_and_tier():
    state = walk(COMPUTE_CHOICES["serverless-size-spot"])
    state, problems = wizard.apply_compute(state, COMPUTE_CHOICES["cluster"], ON)
    assert problems == []
    assert state["spec"]["resources"] == {"instance_count": 3}
    assert "queue_settings" not in state["spec"]


def problem_fields(problems):
    return {p.field: p.message for p in problems}


def test_a_bad_name_is_refused_with_the_spec_layers_message():
    state = wizard.new_state()
    new, problems = wizard.apply_basics(state, {"name": "no spaces!"})
    assert problem_fields(problems) == {"name": "'no spaces!' is not valid; job names use letters, digits, '-' "
                                                "and '_' (up to 255)"}
    assert problems[0].path == "name"
    assert "basics" not in new["done"]


def test_a_taken_name_is_refused():
    _, problems = wizard.apply_basics(wizard.new_state(), {"name": "taken"}, name_taken=lambda n: n == "taken")
    assert "already exists" in problem_fields(problems)["name"]


def test_tags_must_be_key_value_lines():
    _, problems = wizard.apply_basics(wizard.new_state(), {"tags": "a=1\n\nnot a tag\na=2"})
    assert [p.message for p in problems] == ["line 3: write key=value, got 'not a tag'",
                                            "line 4: tag 'a' is given twice"]


@pytest.mark.parametrize("values, field, message", [
    ({"instance_count": "0"}, "instance_count", "expected an integer ≥ 1, got 0"),
    ({"instance_count": "two"}, "instance_count", "expected an integer ≥ 1, got 'two'"),
    ({"instance_type": "Standard_D4s_v9"}, "instance_type", "unknown VM size 'Standard_D4s_v9'; did you mean"),
    ({"instance_type": "Standard_NC6"}, "instance_type", "not offered on serverless compute"),
    ({"instance_type": "Standard_ND96isr_H100_v5", "tier": "Spot"}, "instance_type", "not available as Spot"),
    ({"tier": "Premium"}, "tier", "unknown tier 'Premium'"),
    ({"compute_type": "cluster", "cluster": "gpu-cluster"}, "cluster", "compute 'gpu-cluster' does not exist"),
    ({"compute_type": "cluster", "cluster": ""}, "cluster", "choose a cluster"),
])
def test_compute_problems_name_the_field(values, field, message):
    _, problems = wizard.apply_compute(wizard.new_state(), {"compute_type": "serverless", **values}, ON)
    assert field in problem_fields(problems)
    assert message in problem_fields(problems)[field]


def test_serverless_needs_the_preview():
    _, problems = wizard.apply_compute(wizard.new_state(), COMPUTE_CHOICES["serverless-automatic"], OFF)
    assert "Manage previews" in problem_fields(problems)["compute_type"]
    assert wizard.compute_initial(wizard.new_state(), OFF)["compute_type"] == "cluster"
    assert wizard.compute_initial(wizard.new_state(), ON)["compute_type"] == "serverless"


def test_without_clusters_and_preview_there_is_nothing_to_choose():
    ctx = wizard.ComputeContext(serverless_allowed=False, sizes=SIZES)
    _, problems = wizard.apply_compute(wizard.new_state(), {"compute_type": "cluster"}, ctx)
    assert "no compute cluster" in problem_fields(problems)["cluster"]


def test_sizes_are_matched_case_insensitively_and_written_as_the_catalogue_spells_them():
    state, problems = wizard.apply_compute(wizard.new_state(), {"instance_type": "standard_d4s_v3"}, ON)
    assert problems == []
    assert state["spec"]["resources"]["instance_type"] == "Standard_D4s_v3"


@pytest.mark.parametrize("values, field, message", [
    ({"env_kind": "reference", "curated": "other", "reference": "not a reference!"}, "reference",
     "is not an environment reference"),
    ({"env_kind": "reference", "curated": "other", "reference": ""}, "reference", "type an environment"),
    ({"env_kind": "image", "image": ""}, "image", "an inline environment needs image:"),
    ({"env_kind": "reference", "curated": "azureml:made-up@latest"}, "curated", "not one of the curated"),
])
def test_environment_problems_name_the_field(values, field, message):
    _, problems = wizard.apply_environment(wizard.new_state(), values)
    assert message in problem_fields(problems)[field]


def test_environment_choices_map_to_the_spec_and_back():
    state, _ = wizard.apply_environment(wizard.new_state(), {"env_kind": "image", "image": "python:3.12"})
    assert state["spec"]["environment"] == {"image": "python:3.12"}
    assert wizard.environment_initial(state)["env_kind"] == "image"
    state, _ = wizard.apply_environment(state, {"env_kind": "reference", "curated": "other",
                                                "reference": "azureml:my-env:3"})
    assert state["spec"]["environment"] == "azureml:my-env:3"
    assert wizard.environment_initial(state) == {"env_kind": "reference", "curated": "other",
                                                 "reference": "azureml:my-env:3", "image": wizard.DEFAULT_IMAGE}


def test_the_command_may_only_use_declared_inputs():
    _, problems = wizard.apply_code(wizard.new_state(), {
        "command": "python train.py --lr ${{inputs.lr}} --epochs ${{inputs.epochs}}",
        "literals": [{"name": "lr", "type": "number", "value": "0.1"}],
    })
    assert problem_fields(problems) == {"command": "${{inputs.epochs}} refers to an input that is not declared "
                                                   "under inputs:; declared inputs: lr"}


def test_a_missing_command_is_refused():
    _, problems = wizard.apply_code(wizard.new_state(), {"command": "   "})
    assert problem_fields(problems)["command"].startswith("required")


def test_literal_inputs_are_typed_and_bad_ones_land_on_their_row():
    state, problems = wizard.apply_code(wizard.new_state(), {"command": "echo", "literals": [
        {"name": "epochs", "type": "integer", "value": "10"},
        {"name": "verbose", "type": "boolean", "value": "True"},
        {"name": "tag", "type": "string", "value": "42"},
    ]})
    assert problems == []
    assert state["spec"]["inputs"] == {"epochs": {"type": "integer", "value": 10},
                                       "verbose": {"type": "boolean", "value": True},
                                       "tag": {"type": "string", "value": "42"}}
    _, problems = wizard.apply_code(wizard.new_state(), {"command": "echo", "literals": [
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


def test_data_inputs_need_a_file_and_can_be_replaced_or_removed():
    upload = {"filename": "data.zip", "kind": "folder", "path": "data", "files": 3, "bytes": 30}
    _, problems = wizard.apply_code(wizard.new_state(), {"command": "ls", "data": [{"name": "train", "original": ""}]})
    assert "choose the file" in problem_fields(problems)["data.0.file"]
    state, problems = wizard.apply_code(wizard.new_state(), {"command": "ls ${{inputs.train}}", "data": [
        {"name": "train", "original": "", "upload": upload}]})
    assert problems == []
    assert state["spec"]["inputs"] == {"train": {"type": "uri_folder", "path": "./data"}}
    assert state["data"] == {"train": upload}
    rows = wizard.code_initial(state)["data"]
    assert rows == [{"name": "train", "original": "train", "type": "uri_folder", "path": "./data", "upload": upload,
                     "remote": False}]
    csv = {"filename": "t.csv", "kind": "file", "path": "t.csv", "files": 1, "bytes": 3}
    replaced, problems = wizard.apply_code(state, {"command": "ls", "data": [
        {"name": "train", "original": "train", "upload": csv}]})
    assert problems == []
    assert replaced["spec"]["inputs"]["train"] == {"type": "uri_file", "path": "./t.csv"}
    removed, problems = wizard.apply_code(state, {"command": "ls", "data": [
        {"name": "train", "original": "train", "remove": True}]})
    assert problems == [] and "inputs" not in removed["spec"] and removed["data"] == {}


def test_code_can_be_removed():
    state = walk(COMPUTE_CHOICES["serverless-automatic"])
    state, problems = wizard.apply_code(state, {"command": "echo hi", "remove_code": True})
    assert problems == []
    assert "code" not in state["spec"] and state["code"] is None


def test_review_lists_what_is_missing_by_step():
    state, _ = wizard.apply_basics(wizard.new_state(), {})
    found = dict(wizard.review_problems(state))
    assert set(found) == {"compute", "environment", "code"}


def test_steps_open_in_order():
    state = wizard.new_state()
    assert wizard.reachable(state, "basics") and not wizard.reachable(state, "compute")
    assert wizard.first_open_step(state) == "basics"
    state, _ = wizard.apply_basics(state, {})
    assert wizard.reachable(state, "compute") and not wizard.reachable(state, "review")
    assert wizard.step_of_path("inputs.x.value") == "code"
    assert wizard.step_of_path("resources.instance_count") == "compute"
    assert wizard.step_of_path("") == "review"


def submitted_spec(choice: str) -> dict:
    """What a job row keeps (`{**spec.to_dict(), "name": name}`)."""
    return {**wizard.build_spec(walk(COMPUTE_CHOICES[choice])).to_dict(), "name": "brave_owl_1234abcd"}


def test_a_clone_is_prefilled_except_its_name_code_and_uploaded_data():
    state = wizard.from_job(submitted_spec("serverless-size-spot"), job_name="brave_owl_1234abcd",
                            serverless_allowed=True)
    assert "name" not in state["spec"] and "code" not in state["spec"]
    assert state["cloned_from"] == "brave_owl_1234abcd"
    assert any("Code is not cloned" in note for note in state["notes"])
    assert any("Uploaded data is not cloned" in note and "data" in note for note in state["notes"])
    assert state["done"] == ["basics", "compute", "environment"]
    assert wizard.compute_initial(state, ON) == COMPUTE_CHOICES["serverless-size-spot"]
    assert wizard.basics_initial(state)["experiment_name"] == "wizard"
    assert wizard.code_initial(state)["literals"] == [{"name": "lr", "type": "number", "value": "0.01"}]
    assert wizard.code_initial(state)["data"][0]["upload"] is None
    # the code step asks for the data again
    _, problems = wizard.apply_code(state, {"command": state["spec"]["command"], "data": [
        {"name": "data", "original": "data"}]})
    assert "was not cloned" in problem_fields(problems)["data.0.file"]


def test_a_clone_of_a_serverless_job_without_the_preview_asks_for_a_cluster():
    state = wizard.from_job(submitted_spec("serverless-automatic"), job_name="j", serverless_allowed=False)
    assert state["done"] == ["basics"]
    assert any("Manage previews" in note for note in state["notes"])
    assert wizard.compute_initial(state, OFF)["compute_type"] == "cluster"


def test_a_clone_without_code_or_data_is_complete():
    spec = {"type": "command", "name": "old", "command": "echo ${{inputs.n}}", "inputs": {"n": 3},
            "environment": {"image": "python:3.11-slim"}, "compute": "azureml:cpu-cluster",
            "resources": {"instance_count": 2}, "limits": {"timeout": 60}}
    state = wizard.from_job(spec, job_name="old", serverless_allowed=True)
    assert state["done"] == list(wizard.EDIT_STEPS)
    assert wizard.compute_initial(state, ON)["cluster"] == "cpu-cluster"
    # fields the wizard does not edit are kept
    assert wizard.build_spec(state).limits.timeout == 60


def test_placement_is_checked_before_the_other_steps_are_done():
    state, _ = wizard.apply_compute(wizard.new_state(), COMPUTE_CHOICES["serverless-size-spot"], ON)
    spec = wizard.placement_spec(state["spec"])
    assert spec.resources.instance_count == 2 and spec.queue_settings.job_tier == "Spot"


NOW = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)


def test_the_fit_panel_says_what_the_scheduler_decided():
    admit = wizard.fit_of(core.Admit(0, 2, "Standard_D4s_v3", "Standard", "vm-standard_d4s_v3", "2 nodes, as asked"),
                          now=NOW)
    assert (admit.verdict, admit.title, admit.instance_type, admit.nodes) == ("starts", "Starts now",
                                                                              "Standard_D4s_v3", 2)
    wait = wizard.fit_of(core.Wait(0, "waiting for quota", 3, NOW + timedelta(minutes=10), "Standard_D4s_v3"),
                         now=NOW)
    assert wait.verdict == "waits" and wait.position == 3
    assert wait.detail == "waiting for quota; position 3 in the queue, estimated start in about 10 min (12:10 UTC)"
    reject = wizard.fit_of(core.Reject(0, "too big", ("reduce `resources.instance_count` to 1",)), now=NOW)
    assert reject.verdict == "rejected" and reject.recommendations == ("reduce `resources.instance_count` to 1",)


def test_the_vm_table_filters_and_shows_the_quota_of_the_tier():
    names = [row.size.name for row in wizard.size_rows(ON, tier="Standard")]
    assert names == ["Standard_D2s_v3", "Standard_D4s_v3", "Standard_NC24ads_A100_v4", "Standard_ND96isr_H100_v5"]
    assert [r.size.name for r in wizard.size_rows(ON, tier="Standard", kind="gpu")] == [
        "Standard_NC24ads_A100_v4", "Standard_ND96isr_H100_v5"]
    assert [r.size.name for r in wizard.size_rows(ON, tier="Standard", query="d4s")] == ["Standard_D4s_v3"]
    assert [r.size.name for r in wizard.size_rows(ON, tier="Standard", kind="quota")] == [
        "Standard_D2s_v3", "Standard_D4s_v3"]
    # the chosen size stays listed whatever the filter
    assert "Standard_D4s_v3" in [r.size.name for r in wizard.size_rows(ON, tier="Standard", query="A100",
                                                                        selected="Standard_D4s_v3")]
    spot = {r.size.name: r for r in wizard.size_rows(ON, tier="Spot")}
    assert spot["Standard_D4s_v3"].quota_available == 12 and spot["Standard_D4s_v3"].fits == 3
    assert spot["Standard_D4s_v3"].price == 0.02112
    assert spot["Standard_ND96isr_H100_v5"].refusal.endswith("not available as Spot (low priority)")
