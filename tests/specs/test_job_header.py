"""Every job kind has one header (`JobSpec`): read, checked and written back the same way."""

import dataclasses

import pytest

from jobs.specs import (
    AutoMLJobSpec,
    CommandJobSpec,
    JobSpec,
    ParallelJobSpec,
    PipelineJobSpec,
    SparkJobSpec,
    SweepJobSpec,
    load_job,
)

from .helpers import error_at

ENV = "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest"
# A small valid file of each kind, without its header.
BODIES = {
    CommandJobSpec: f"command: echo hi\nenvironment: {ENV}\n",
    SweepJobSpec: (
        f"type: sweep\ntrial: {{command: 'python t.py --lr ${{{{search_space.lr}}}}', environment: {ENV}}}\n"
        "search_space: {lr: {type: uniform, min_value: 0.01, max_value: 0.1}}\nsampling_algorithm: random\n"
        "objective: {goal: maximize, primary_metric: accuracy}\nlimits: {max_total_trials: 2}\n"
    ),
    PipelineJobSpec: (
        "type: pipeline\nsettings: {default_compute: azureml:serverless}\n"
        f"jobs: {{hello: {{command: echo hi, environment: {ENV}}}}}\n"
    ),
    AutoMLJobSpec: (
        "type: automl\ntask: classification\nprimary_metric: accuracy\ntarget_column_name: y\n"
        "training_data: {type: mltable, path: https://x/train}\n"
    ),
    SparkJobSpec: "type: spark\nentry: {file: main.py}\nresources: {instance_type: standard_e4s_v3, runtime_version: '3.4'}\n",
    ParallelJobSpec: (
        "type: parallel\ninputs: {data: {type: uri_folder, path: https://x/data}}\ninput_data: ${{inputs.data}}\n"
        "task: {type: run_function, entry_script: score.py, environment: {image: python:3.11}}\n"
    ),
}
HEADER = (
    "$schema: https://azuremlschemas.azureedge.net/latest/job.schema.json\nname: job_1\ndisplay_name: First\n"
    "experiment_name: tries\ndescription: Some words\ntags: {team: ml}\nproperties: {kept: 'yes'}\n"
    "compute: azureml:cpu-cluster\nidentity: {type: managed}\n"
)
HEADER_FIELDS = ("schema", "name", "display_name", "experiment_name", "description", "tags", "properties",
                 "compute", "identity")
KINDS = list(BODIES)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.KIND)
def test_it_declares_the_header_once_for_every_kind(kind):
    assert issubclass(kind, JobSpec)
    declared_by_the_kind = set(kind.__dict__.get("__annotations__", {}))
    assert declared_by_the_kind.isdisjoint(HEADER_FIELDS)
    assert {field.name for field in dataclasses.fields(kind)} >= set(HEADER_FIELDS)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.KIND)
def test_it_reads_and_writes_back_the_header_of_every_kind(kind):
    spec = load_job(BODIES[kind] + HEADER)
    assert isinstance(spec, kind)
    assert (spec.schema, spec.name, spec.display_name, spec.experiment_name, spec.description) == (
        "https://azuremlschemas.azureedge.net/latest/job.schema.json", "job_1", "First", "tries", "Some words")
    assert (spec.tags, spec.properties, spec.compute, spec.identity.type) == (
        {"team": "ml"}, {"kept": "yes"}, "azureml:cpu-cluster", "managed")
    written = spec.to_dict()
    assert written["type"] == kind.KIND and written["identity"] == {"type": "managed"}
    keys = [key for key in written if key != "type"]  # a command job writes it after $schema, others last
    start = keys.index("$schema")
    assert keys[start:start + 7] == ["$schema", "name", "display_name", "experiment_name", "description", "tags",
                                     "properties"]  # one block, after the kind's LEAD fields
    assert set(keys[:start]) <= set(kind.LEAD)
    assert load_job(spec.to_yaml()) == spec


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.KIND)
def test_it_checks_the_header_of_every_kind_the_same_way(kind):
    text = BODIES[kind] + "name: not a name\ntags: [a]\ncompute: two words\n"
    assert "job names use letters, digits" in error_at(load_job, text, "name").message
    assert error_at(load_job, text, "tags").message == "expected a mapping of names to values, got a list"
    assert "write azureml:<cluster-name>, or leave it out" in error_at(load_job, text, "compute").message


def test_it_refuses_a_kind_whose_fields_leave_one_of_its_fields_out():
    @dataclasses.dataclass(frozen=True)
    class Toy(JobSpec):
        extra: str | None = None

        KIND = "toy"
        FIELDS = ("compute", "identity")

    with pytest.raises(TypeError, match="leaves out extra"):
        Toy(extra="x").to_dict()
