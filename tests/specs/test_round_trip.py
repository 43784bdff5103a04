"""Whatever a spec holds, to_dict / to_yaml write it back so that it loads to an equal spec."""

import json
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.specs import CommandJobSpec, load_command_job

names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
text = st.text(st.characters(min_codepoint=32, max_codepoint=0x24F, exclude_characters="$") | st.just("\n"), min_size=1, max_size=30)
words = st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=12).filter(lambda w: w[0].isalnum())
numbers = st.integers(-(10**12), 10**12) | st.floats(allow_nan=False, allow_infinity=False)
literals = st.booleans() | numbers | text

environments = st.one_of(
    st.sampled_from([
        "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest",
        "azureml:my-env:3",
        "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
        "file:./env.yml",
    ]),
    st.fixed_dictionaries({"image": words}, optional={"conda_file": words, "os_type": st.sampled_from(["linux", "windows"])}),
    st.fixed_dictionaries({"build": st.fixed_dictionaries({"path": words}, optional={"dockerfile_path": words})}),
)
data_inputs = st.fixed_dictionaries(
    {"path": words},
    optional={
        "type": st.sampled_from(["uri_file", "uri_folder", "mlflow_model", "custom_model", "triton_model"]),
        "mode": st.sampled_from(["ro_mount", "rw_mount", "download", "direct"]),
        "description": text,
    },
)
typed_literals = st.sampled_from([("integer", st.integers(-(2**63), 2**63 - 1)), ("number", numbers), ("boolean", st.booleans()), ("string", text)]).flatmap(
    lambda pair: st.fixed_dictionaries({"type": st.just(pair[0]), "value": pair[1]}, optional={"optional": st.booleans()})
)
outputs = st.none() | st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["uri_file", "uri_folder", "mltable", "custom_model"]),
        "mode": st.sampled_from(["rw_mount", "upload", "direct"]),
        "path": words,
        "name": words,
        "version": words,
    },
)
distributions = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["pytorch", "mpi"])}, optional={"process_count_per_instance": st.integers(1, 8)}),
    st.fixed_dictionaries({"type": st.just("tensorflow")}, optional={"worker_count": st.integers(1, 8), "parameter_server_count": st.integers(0, 4)}),
)


@st.composite
def command_jobs(draw) -> dict:
    inputs = draw(st.dictionaries(names, literals | data_inputs | typed_literals, max_size=4))
    outs = draw(st.dictionaries(names, outputs, max_size=3))
    refs = [f"${{{{inputs.{name}}}}}" for name in inputs] + [f"${{{{outputs.{name}}}}}" for name in outs]
    job = {"command": " ".join([draw(text), *refs]), "environment": draw(environments)}
    optional = {
        "name": words.filter(lambda w: "." not in w),
        "display_name": text,
        "experiment_name": words,
        "description": text,
        "tags": st.dictionaries(words, text, max_size=3),
        "environment_variables": st.dictionaries(st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True), text, max_size=3),
        "code": words,
        "compute": st.sampled_from(["azureml:cpu-cluster", "azureml:serverless", "local"]),
        "resources": st.fixed_dictionaries({}, optional={"instance_type": words, "instance_count": st.integers(1, 100), "shm_size": st.just("2g")}),
        "distribution": distributions,
        "limits": st.fixed_dictionaries({"timeout": st.integers(1, 10**6)}),
        "queue_settings": st.fixed_dictionaries({}, optional={"job_tier": st.sampled_from(["spot", "Standard"]), "priority": st.just("high")}),
        "identity": st.sampled_from([{"type": "user_identity"}, {"type": "managed", "client_id": "abc"}, {"type": "AMLToken"}]),
        "services": st.dictionaries(names, st.sampled_from([{"type": "vs_code"}, {"type": "tensor_board", "log_dir": "tb"}, {"type": "ssh", "port": 22}]), max_size=2),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            job[key] = draw(strategy)
    if inputs:
        job["inputs"] = inputs
    if outs:
        job["outputs"] = outs
    return job


@settings(max_examples=150, deadline=None)
@given(command_jobs())
def test_it_round_trips_through_to_dict(data):
    spec = CommandJobSpec.from_dict(data)
    written = spec.to_dict()
    assert json.loads(json.dumps(written)) == written
    assert CommandJobSpec.from_dict(written) == spec


@settings(max_examples=150, deadline=None)
@given(command_jobs())
def test_it_round_trips_through_yaml(data):
    spec = CommandJobSpec.from_dict(data)
    assert load_command_job(spec.to_yaml()) == spec
