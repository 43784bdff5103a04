import pytest

from jobs.specs import (
    CommandComponentSpec,
    ComponentInputSpec,
    ComponentOutputSpec,
    ParallelComponentSpec,
    PipelineComponentSpec,
    SparkComponentSpec,
    load_component,
    load_job,
    validate_file,
)

from .helpers import error_at, errors_of, write_tree

SCHEMA = "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
ENV = "environment: azureml://registries/azureml/environments/sklearn-1.5/labels/latest\n"


def component(extra: str = "", command: str = "python t.py", name: str = "train") -> str:
    return f"{SCHEMA}type: command\nname: {name}\nversion: 1\n{ENV}command: {command}\n{extra}"


def test_it_loads_a_command_component():
    spec = load_component(component(
        "inputs:\n  data: {type: uri_folder}\n  lr: {type: number, default: 0.01, min: 0, max: 1}\n"
        "  schedule: {type: string, default: step, enum: [step, time-based]}\n"
        "outputs:\n  model: {type: mlflow_model}\n",
        command="python t.py ${{inputs.data}} ${{inputs.lr}} ${{inputs.schedule}} ${{outputs.model}}",
    ))
    assert isinstance(spec, CommandComponentSpec) and (spec.name, spec.version) == ("train", "1")
    assert spec.inputs["lr"] == ComponentInputSpec(type="number", default=0.01, min=0, max=1)
    assert spec.inputs["schedule"].enum == ("step", "time-based")
    assert spec.outputs["model"] == ComponentOutputSpec(type="mlflow_model")
    assert spec.required_inputs() == ["data"]
    assert load_component(spec.to_yaml()) == spec
    assert load_job(component()) == load_component(component())


def test_it_accepts_numbers_written_as_text_in_defaults():
    spec = load_component(component("inputs:\n  tol: {type: number, default: 1e-3}\n"))
    assert spec.inputs["tol"].default == 0.001


@pytest.mark.parametrize("name", ["train", "train_model_2", "t"])
def test_it_accepts_valid_component_names(name):
    assert load_component(component(name=name)).name == name


@pytest.mark.parametrize("name", ["r-iris-example", "Train", "2train", "_train"])
def test_it_rejects_invalid_component_names(name):
    issue = error_at(load_component, component(name=name), "name")
    assert "lower-case letters, digits and '_'" in issue.message and "write for example `name:" in issue.message


def test_it_requires_a_name():
    text = component().replace("name: train\n", "")
    assert error_at(load_component, text, "name").message.startswith("required")


def test_it_only_warns_about_names_of_components_used_from_a_pipeline(tmp_path):
    write_tree(tmp_path, {
        "component.yml": component(name="r-iris-example"),
        "pipeline.yml": "type: pipeline\njobs:\n  r:\n    type: command\n    component: ./component.yml\n"
                        "    compute: azureml:cpu-cluster\n",
    })
    assert not validate_file(tmp_path / "component.yml").valid
    result = validate_file(tmp_path / "pipeline.yml")
    assert result.valid and "ignored here: a component used from a pipeline is anonymous" in result.warnings[0].message


def test_it_names_the_closest_field():
    assert "did you mean 'command'?" in error_at(load_component, component("comand: x\n"), "comand").message


@pytest.mark.parametrize(
    "port, path, words",
    [
        ("{type: integr}", "inputs.x.type", "did you mean 'integer'?"),
        ("{default: 1}", "inputs.x.type", "required"),
        ("{type: integer, default: abc}", "inputs.x.default", "needs a value such as `default: 5`, got 'abc'"),
        ("{type: integer, min: 5, max: 1}", "inputs.x.min", "min (5) is greater than max (1)"),
        ("{type: number, default: 7, max: 1}", "inputs.x.default", "default 7 is above max (1)"),
        ("{type: string, default: c, enum: [a, b]}", "inputs.x.default", "not one of enum: a or b"),
        ("{type: string, min: 1}", "inputs.x.min", "only integer and number inputs take min"),
        ("{type: uri_folder, mode: upload}", "inputs.x.mode", "'upload' is an output mode"),
        ("{type: integer, mode: ro_mount}", "inputs.x.mode", "only data inputs"),
    ],
)
def test_it_rejects_bad_input_declarations(port, path, words):
    assert words in error_at(load_component, component(f"inputs:\n  x: {port}\n"), path).message


@pytest.mark.parametrize(
    "port, path, words",
    [
        ("{type: uri_folder, mode: ro_mount}", "outputs.x.mode", "'ro_mount' is an input mode"),
        ("{mode: upload}", "outputs.x.type", "required"),
        ("{type: uri_folder, is_control: true}", "outputs.x.is_control", "only literal outputs"),
    ],
)
def test_it_rejects_bad_output_declarations(port, path, words):
    assert words in error_at(load_component, component(f"outputs:\n  x: {port}\n"), path).message


def test_it_accepts_modes_on_the_right_side():
    spec = load_component(component("inputs:\n  x: {type: uri_folder, mode: download}\noutputs:\n  y: {type: uri_folder, mode: upload}\n"))
    assert (spec.inputs["x"].mode, spec.outputs["y"].mode) == ("download", "upload")


def test_it_checks_command_references_against_declared_ports():
    text = component("inputs:\n  data: {type: uri_folder}\n", command="python t.py ${{inputs.dat}}")
    assert "did you mean ${{inputs.data}}?" in error_at(load_component, text, "command").message


def test_it_accepts_optional_arguments_around_optional_inputs(tmp_path):
    text = component("inputs:\n  whom: {type: string, optional: true}\n", command="python greet.py $[[--whom ${{inputs.whom}}]]")
    write_tree(tmp_path, {"c.yml": text})
    result = validate_file(tmp_path / "c.yml")
    assert (result.valid, result.warnings) == (True, [])


def test_it_warns_when_an_optional_input_is_used_outside_an_optional_argument(tmp_path):
    write_tree(tmp_path, {"c.yml": component("inputs:\n  whom: {type: string, optional: true}\n", command="python greet.py --whom ${{inputs.whom}}")})
    result = validate_file(tmp_path / "c.yml")
    assert result.valid
    [warning] = result.warnings
    assert "write $[[--whom ${{inputs.whom}}]]" in warning.message


def test_it_rejects_an_unclosed_optional_argument():
    text = component("inputs:\n  whom: {type: string, optional: true}\n", command="python greet.py $[[--whom ${{inputs.whom}}")
    assert "'$[[' is not closed" in error_at(load_component, text, "command").message


def test_it_checks_optional_inputs_in_optional_arguments_too():
    text = component("inputs:\n  whom: {type: string, optional: true}\n", command="python greet.py $[[--whom ${{inputs.who}}]]")
    assert "did you mean ${{inputs.whom}}?" in error_at(load_component, text, "command").message


def test_it_reads_pipeline_components(tmp_path):
    write_tree(tmp_path, {"train.yml": component("inputs:\n  data: {type: uri_folder}\n", command="t ${{inputs.data}}")})
    text = (
        "$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json\n"
        "type: pipeline\nname: outer\ninputs:\n  raw: {type: uri_folder, optional: true}\n"
        "jobs:\n  train:\n    type: command\n    component: ./train.yml\n    inputs: {data: '${{parent.inputs.raw}}'}\n"
    )
    spec = load_component(text, base_dir=tmp_path)
    assert isinstance(spec, PipelineComponentSpec) and spec.steps_in_order() == ["train"]
    bad = text.replace("parent.inputs.raw", "parent.inputs.rae")
    assert "did you mean ${{parent.inputs.raw}}?" in error_at(load_component, bad, "jobs.train.inputs.data", base_dir=tmp_path).message


def test_it_reads_spark_components():
    text = (
        "$schema: https://azuremlschemas.azureedge.net/latest/sparkComponent.schema.json\n"
        "type: spark\nname: wrangle\nversion: 1\ncode: ./src\nentry: {file: titanic.py}\n"
        "inputs: {data: {type: uri_file, mode: direct}}\noutputs: {out: {type: uri_folder, mode: direct}}\n"
        "args: --data ${{inputs.data}} --out ${{outputs.out}}\n"
        "conf: {spark.driver.cores: 1, spark.driver.memory: 2g, spark.dynamicAllocation.enabled: true}\n"
    )
    spec = load_component(text)
    assert isinstance(spec, SparkComponentSpec) and spec.entry.file == "titanic.py"
    assert "only mode: direct works" in error_at(load_component, text.replace("mode: direct}}\noutputs", "mode: download}}\noutputs"),
                                                 "inputs.data.mode").message


def test_it_reads_parallel_components():
    text = (
        "type: parallel\nname: score\nversion: 1\ninputs: {data: {type: mltable}}\noutputs: {out: {type: uri_file}}\n"
        "input_data: ${{inputs.data}}\nmini_batch_size: '10'\n"
        "task: {type: run_function, entry_script: score.py, environment: {image: python:3.11}, append_row_to: '${{outputs.out}}'}\n"
    )
    spec = load_component(text)
    assert isinstance(spec, ParallelComponentSpec) and spec.task.entry_script == "score.py"
    assert "did you mean ${{inputs.data}}?" in error_at(load_component, text.replace("input_data: ${{inputs.data}}", "input_data: ${{inputs.dta}}"),
                                                        "input_data").message


def test_it_rejects_unknown_component_types():
    assert "use command, pipeline, spark or parallel" in error_at(load_component, "type: sweep\nname: x\nversion: 1\n", "type").message


def test_it_reports_all_problems_at_once():
    text = component("inputs:\n  a: {type: integr}\nresources: {instance_count: 0}\n", name="Bad-Name")
    assert [issue.path for issue in errors_of(load_component, text)] == ["name", "inputs.a.type", "resources.instance_count"]
