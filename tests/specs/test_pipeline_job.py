import pytest

from jobs.specs import (
    BindingSpec,
    CommandStepSpec,
    InputSpec,
    PipelineJobSpec,
    PipelineStepSpec,
    SpecError,
    SweepStepSpec,
    check_submittable,
    load_job,
    load_pipeline_job,
    resolve_step_command,
    validate_file,
)

from .helpers import error_at, errors_of, write_tree

ENV = "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest"
SERVERLESS = "settings: {default_compute: azureml:serverless}\n"


def step(name: str, command: str = "echo hi", extra: str = "") -> str:
    body = f"  {name}:\n    command: {command}\n    environment: {ENV}\n"
    return body + "".join(f"    {line}\n" for line in extra.splitlines())


def pipeline(*steps: str, head: str = SERVERLESS) -> str:
    return "type: pipeline\n" + head + "jobs:\n" + "".join(steps)


ABC = pipeline(
    step("a", "echo ${{inputs.greeting}}", "inputs:\n  greeting: ${{parent.inputs.hello}}"),
    step("b", "echo world > ${{outputs.out}}/w.txt", "outputs:\n  out:"),
    step("c", "cat ${{inputs.w}}/w.txt", "inputs:\n  w: ${{parent.jobs.b.outputs.out}}"),
    head=SERVERLESS + "inputs:\n  hello: hello world\n",
)


def test_it_loads_inline_steps_with_bindings():
    spec = load_pipeline_job(ABC)
    assert isinstance(spec, PipelineJobSpec) and list(spec.jobs) == ["a", "b", "c"]
    assert isinstance(spec.jobs["a"], CommandStepSpec)
    assert spec.jobs["a"].inputs["greeting"] == BindingSpec("parent.inputs.hello")
    assert spec.jobs["c"].inputs["w"].step == "b"
    assert spec.inputs["hello"] == InputSpec(type="string", value="hello world")
    assert spec.settings.default_compute == "azureml:serverless"


def test_it_is_what_load_job_returns_for_a_pipeline():
    assert load_job(ABC) == load_pipeline_job(ABC)


def test_it_writes_pipelines_back_unchanged():
    spec = load_pipeline_job(ABC)
    assert load_pipeline_job(spec.to_yaml()) == spec
    assert spec.to_dict()["jobs"]["c"]["inputs"] == {"w": "${{parent.jobs.b.outputs.out}}"}


def test_it_builds_the_dependency_graph_and_an_order():
    spec = load_pipeline_job(pipeline(
        step("last", "echo ${{inputs.x}} ${{inputs.y}}", "inputs:\n  x: ${{parent.jobs.first.outputs.o}}\n  y: ${{parent.jobs.middle.outputs.o}}"),
        step("middle", "echo ${{inputs.x}} ${{outputs.o}}", "inputs:\n  x: ${{parent.jobs.first.outputs.o}}\noutputs:\n  o:"),
        step("first", "echo ${{outputs.o}}", "outputs:\n  o:"),
        step("alone"),
    ))
    assert dict(spec.dependencies) == {"last": ("middle", "first"), "middle": ("first",), "first": (), "alone": ()}
    assert spec.steps_in_order() == ["first", "middle", "last", "alone"]


def test_it_gives_each_step_its_compute():
    spec = load_pipeline_job(pipeline(step("a"), step("b", extra="compute: azureml:gpu-cluster")))
    assert (spec.step_compute("a"), spec.step_compute("b")) == ("azureml:serverless", "azureml:gpu-cluster")


def test_it_reads_step_types():
    text = pipeline(
        "  sweeper:\n    type: sweep\n    trial:\n      command: echo ${{search_space.x}}\n"
        f"      environment: {ENV}\n    search_space: {{x: {{type: choice, values: [1, 2]}}}}\n"
        "    sampling_algorithm: grid\n    objective: {goal: maximize, primary_metric: acc}\n"
        "    limits: {max_total_trials: 2}\n",
        "  spark:\n    type: spark\n    entry: {file: main.py}\n    resources: {instance_type: standard_e4s_v3, runtime_version: '3.4'}\n",
        "  batch:\n    type: parallel\n    inputs: {data: {type: mltable, path: https://x/t, mode: direct}}\n"
        "    input_data: ${{inputs.data}}\n    mini_batch_size: 10kb\n"
        f"    task: {{type: run_function, entry_script: score.py, environment: {ENV}}}\n",
        "  tabular:\n    type: automl\n    task: classification\n    target_column_name: y\n"
        "    training_data: ${{parent.inputs.table}}\n    primary_metric: accuracy\n",
        head=SERVERLESS + "inputs: {table: {type: mltable, path: https://x/table}}\n",
    )
    spec = load_pipeline_job(text)
    assert [step.type for step in spec.jobs.values()] == ["sweep", "spark", "parallel", "automl"]
    assert isinstance(spec.jobs["sweeper"], SweepStepSpec)
    assert list(spec.jobs["sweeper"].trial_parameters()) == [{"x": 1}, {"x": 2}]
    assert spec.jobs["tabular"].training_data == BindingSpec("parent.inputs.table")
    assert load_pipeline_job(spec.to_yaml()) == spec


def test_it_explains_automl_tasks_written_as_step_types():
    text = pipeline("  t:\n    type: classification\n")
    assert "write `type: automl` and `task: classification`" in error_at(load_pipeline_job, text, "jobs.t.type").message


def test_it_suggests_a_step_type():
    assert "did you mean 'command'?" in error_at(load_pipeline_job, pipeline("  t:\n    type: comand\n"), "jobs.t.type").message


def test_it_needs_steps():
    assert "at least one step" in error_at(load_pipeline_job, "type: pipeline\njobs: {}\n", "jobs").message


def test_it_rejects_invalid_step_names():
    issue = error_at(load_pipeline_job, pipeline(step("Train-Model")), "jobs.Train-Model")
    assert "not a valid step name" in issue.message


def test_it_warns_about_unknown_settings_but_keeps_the_pipeline_valid(tmp_path):
    write_tree(tmp_path, {"p.yml": pipeline(step("a"), head="settings:\n  default_compute: azureml:serverless\n  default_datestore: x\n")})
    result = validate_file(tmp_path / "p.yml")
    assert result.valid
    [warning] = result.warnings
    assert warning.path == "settings.default_datestore" and "did you mean 'default_datastore'?" in warning.message


def test_it_checks_on_init_names_a_step():
    text = pipeline(step("a"), head="settings: {default_compute: azureml:serverless, on_init: setup}\n")
    assert "'setup' is not a step" in error_at(load_pipeline_job, text, "settings.on_init").message


# Bindings ---------------------------------------------------------------------------------------


def test_it_accepts_bindings_to_declared_things():
    assert load_pipeline_job(ABC)


def test_it_rejects_bindings_to_undeclared_pipeline_inputs():
    text = ABC.replace("${{parent.inputs.hello}}", "${{parent.inputs.helo}}")
    issue = error_at(load_pipeline_job, text, "jobs.a.inputs.greeting")
    assert issue.message == (
        "${{parent.inputs.helo}} refers to a pipeline input that is not declared under inputs:; "
        "did you mean ${{parent.inputs.hello}}?"
    )
    assert issue.line == 10


def test_it_rejects_bindings_to_undeclared_pipeline_outputs():
    text = pipeline(step("a", "echo > ${{outputs.o}}", "outputs:\n  o: ${{parent.outputs.result}}"))
    assert "pipeline output that is not declared" in error_at(load_pipeline_job, text, "jobs.a.outputs.o").message
    assert load_pipeline_job(text.replace(SERVERLESS, SERVERLESS + "outputs: {result: {mode: upload}}\n"))


def test_it_rejects_bindings_to_missing_steps():
    text = ABC.replace("parent.jobs.b.outputs", "parent.jobs.bb.outputs")
    issue = error_at(load_pipeline_job, text, "jobs.c.inputs.w")
    assert "refers to a step 'bb' that is not under jobs:; did you mean 'b'?" in issue.message


def test_it_rejects_bindings_to_missing_outputs():
    text = ABC.replace("parent.jobs.b.outputs.out", "parent.jobs.b.outputs.result")
    issue = error_at(load_pipeline_job, text, "jobs.c.inputs.w")
    assert issue.message.endswith("step 'b' has no output 'result'; its outputs: out")


def test_it_rejects_unknown_binding_forms():
    text = ABC.replace("${{parent.inputs.hello}}", "${{parent.settings.x}}")
    assert "unknown binding ${{parent.settings.x}}" in error_at(load_pipeline_job, text, "jobs.a.inputs.greeting").message


def test_it_only_binds_step_outputs_to_pipeline_outputs():
    text = pipeline(step("a", extra="outputs:\n  o: ${{parent.inputs.x}}"))
    assert "binding to a pipeline output" in error_at(load_pipeline_job, text, "jobs.a.outputs.o").message


def test_it_rejects_dependency_cycles_and_names_them():
    text = pipeline(
        step("a", "echo ${{inputs.x}} ${{outputs.o}}", "inputs:\n  x: ${{parent.jobs.c.outputs.o}}\noutputs:\n  o:"),
        step("b", "echo ${{inputs.x}} ${{outputs.o}}", "inputs:\n  x: ${{parent.jobs.a.outputs.o}}\noutputs:\n  o:"),
        step("c", "echo ${{inputs.x}} ${{outputs.o}}", "inputs:\n  x: ${{parent.jobs.b.outputs.o}}\noutputs:\n  o:"),
    )
    issue = error_at(load_pipeline_job, text, "jobs.a")
    assert "steps depend on each other in a cycle: a → b → c → a" in issue.message


def test_it_rejects_a_step_using_its_own_outputs():
    text = pipeline(step("a", "echo ${{inputs.x}} ${{outputs.o}}", "inputs:\n  x: ${{parent.jobs.a.outputs.o}}\noutputs:\n  o:"))
    assert "cycle: a → a" in error_at(load_pipeline_job, text, "jobs.a").message


def test_it_checks_inline_step_commands():
    text = pipeline(step("a", "echo ${{inputs.missing}}"))
    assert "refers to an input that is not declared" in error_at(load_pipeline_job, text, "jobs.a.command").message


# Compute ----------------------------------------------------------------------------------------


def test_it_refuses_steps_without_compute_at_submission_only():
    spec = load_pipeline_job(pipeline(step("a"), step("b", extra="compute: azureml:cpu-cluster"), head=""))
    [problem] = check_submittable(spec)
    assert problem.path == "jobs.a.compute"
    assert problem.message.startswith("Compute not set: step 'a' has no compute and the pipeline has no settings.default_compute")
    assert "default_compute: azureml:serverless" in problem.message


@pytest.mark.parametrize(
    "head, extra",
    [(SERVERLESS, ""), ("settings: {default_compute: azureml:cpu-cluster}\n", ""), ("compute: azureml:cpu-cluster\n", ""),
     ("", "compute: azureml:serverless"), ("inputs: {target: cpu-cluster}\n", "compute: ${{parent.inputs.target}}")],
)
def test_it_accepts_any_way_of_setting_compute(head, extra):
    assert check_submittable(load_pipeline_job(pipeline(step("a", extra=extra), head=head))) == []


def test_it_shows_compute_not_set_as_a_warning_when_validating(tmp_path):
    write_tree(tmp_path, {"p.yml": pipeline(step("a"), head="")})
    result = validate_file(tmp_path / "p.yml")
    assert result.valid  # Azure ML's loader accepts it; submission refuses it
    [warning] = result.warnings
    assert warning.path == "jobs.a.compute" and warning.line == 4  # the step's first line
    assert warning.message.startswith("will be refused at submission: Compute not set")


def test_it_lets_serverless_spark_steps_run_without_compute():
    text = pipeline("  s:\n    type: spark\n    entry: {file: m.py}\n    resources: {instance_type: e4, runtime_version: '3.4'}\n", head="")
    assert check_submittable(load_pipeline_job(text)) == []


# Component files ------------------------------------------------------------------------------------

TRAIN = (
    "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
    "type: command\nname: train\nversion: 1\n"
    "inputs:\n  data: {type: uri_folder}\n  epochs: {type: integer, default: 3}\n"
    "outputs:\n  model: {type: uri_folder}\n"
    f"environment: {ENV}\n"
    "command: python t.py --data ${{inputs.data}} --epochs ${{inputs.epochs}} --model ${{outputs.model}}\n"
)
SCORE = TRAIN.replace("name: train", "name: score").replace("model: {type: uri_folder}", "report: {type: uri_folder}").replace(
    "--model ${{outputs.model}}", "--report ${{outputs.report}}")


def uses(name, component, extra=""):
    return f"  {name}:\n    type: command\n    component: {component}\n" + "".join(f"    {line}\n" for line in extra.splitlines())


TWO_STEPS = pipeline(
    uses("train", "./components/train.yml", "inputs:\n  data: {type: uri_folder, path: https://x/d}"),
    uses("score", "file:./components/score.yml", "inputs:\n  data: ${{parent.jobs.train.outputs.model}}"),
)


def test_it_loads_component_files_relative_to_the_pipeline(tmp_path):
    write_tree(tmp_path, {"components/train.yml": TRAIN, "components/score.yml": SCORE})
    spec = load_pipeline_job(TWO_STEPS, base_dir=tmp_path)
    assert spec.jobs["train"].definition.name == "train"
    assert spec.jobs["score"].component == "file:./components/score.yml"
    assert spec.steps_in_order() == ["train", "score"]
    assert "definition" not in spec.to_dict()["jobs"]["train"]


def test_it_rejects_a_missing_component_file_with_its_resolved_path(tmp_path):
    write_tree(tmp_path, {"components/train.yml": TRAIN})
    issue = error_at(load_pipeline_job, TWO_STEPS, "jobs.score.component", base_dir=tmp_path)
    assert f"looked for {tmp_path / 'components' / 'score.yml'}" in issue.message
    assert (issue.line, issue.column) == (11, 16)


def test_it_reports_problems_inside_component_files(tmp_path):
    write_tree(tmp_path, {"components/train.yml": TRAIN.replace("type: integer", "type: integr"),
                          "components/score.yml": SCORE})
    issue = error_at(load_pipeline_job, TWO_STEPS, "jobs.train.component", base_dir=tmp_path)
    assert "component file ./components/train.yml is not valid" in issue.message
    assert "train.yml:7:" in issue.message and "inputs.epochs.type" in issue.message


def test_it_checks_step_outputs_against_the_component(tmp_path):
    write_tree(tmp_path, {"components/train.yml": TRAIN, "components/score.yml": SCORE})
    text = TWO_STEPS.replace("train.outputs.model", "train.outputs.modl")
    assert "has no output 'modl'; did you mean 'model'?" in error_at(
        load_pipeline_job, text, "jobs.score.inputs.data", base_dir=tmp_path).message


def test_it_warns_about_inputs_the_component_does_not_declare(tmp_path):
    write_tree(tmp_path, {"p.yml": TWO_STEPS.replace("path: https://x/d}", "path: https://x/d}\n      epoch: 4"),
                          "components/train.yml": TRAIN, "components/score.yml": SCORE})
    result = validate_file(tmp_path / "p.yml")
    assert result.valid
    assert any(w.path == "jobs.train.inputs.epoch" and "did you mean 'epochs'?" in w.message for w in result.warnings)


def test_it_refuses_steps_missing_required_component_inputs_at_submission(tmp_path):
    write_tree(tmp_path, {"components/train.yml": TRAIN, "components/score.yml": SCORE})
    text = TWO_STEPS.replace("    inputs:\n      data: {type: uri_folder, path: https://x/d}\n", "")
    [problem] = check_submittable(load_pipeline_job(text, base_dir=tmp_path))
    assert problem.path == "jobs.train" and "needs a value for data" in problem.message
    assert check_submittable(load_pipeline_job(TWO_STEPS, base_dir=tmp_path)) == []


def test_it_checks_registered_components_for_form_and_warns(tmp_path):
    good = pipeline(uses("a", "azureml:train:1"), uses("b", "azureml:train@latest"),
                    uses("c", "azureml://registries/azureml/components/train/versions/2"))
    write_tree(tmp_path, {"p.yml": good})
    result = validate_file(tmp_path / "p.yml")
    assert result.valid and len(result.warnings) == 3
    assert "cannot be checked offline" in result.warnings[0].message
    bad = pipeline(uses("a", "azureml:train:1:2"))
    assert "is not a component reference" in error_at(load_pipeline_job, bad, "jobs.a.component").message


def test_it_loads_pipeline_components_recursively(tmp_path):
    inner = (
        "$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json\n"
        "type: pipeline\nname: inner\ninputs:\n  data: {type: uri_folder}\noutputs:\n  model: {type: uri_folder}\n"
        "jobs:\n  train:\n    type: command\n    component: ../components/train.yml\n"
        "    inputs: {data: '${{parent.inputs.data}}'}\n    outputs: {model: '${{parent.outputs.model}}'}\n"
    )
    write_tree(tmp_path, {"components/train.yml": TRAIN, "nested/inner.yml": inner})
    steps = (
        uses("outer", "./nested/inner.yml", "inputs:\n  data: {type: uri_folder, path: https://x/d}").replace(
            "type: command", "type: pipeline"),
        step("after", "echo ${{inputs.m}}", "inputs:\n  m: ${{parent.jobs.outer.outputs.model}}"),
    )
    spec = load_pipeline_job(pipeline(*steps, head=""), base_dir=tmp_path)
    assert isinstance(spec.jobs["outer"], PipelineStepSpec)
    assert spec.jobs["outer"].definition.jobs["train"].definition.name == "train"
    assert spec.steps_in_order() == ["outer", "after"]
    problems = check_submittable(spec)  # no compute anywhere: inner and outer steps are refused
    assert [p.path for p in problems] == ["jobs.outer.component", "jobs.after.compute"]
    assert "in component ./nested/inner.yml: jobs.train.compute: Compute not set" in problems[0].message
    assert check_submittable(load_pipeline_job(pipeline(*steps, head=SERVERLESS), base_dir=tmp_path)) == []


def test_it_catches_component_files_that_include_each_other(tmp_path):
    loop = "type: pipeline\nname: loop\nversion: 1\njobs:\n  again:\n    type: pipeline\n    component: ./loop.yml\n"
    write_tree(tmp_path, {"loop.yml": loop})
    result = validate_file(tmp_path / "loop.yml")
    assert not result.valid and "in a loop" in result.errors[0].message


def test_it_warns_when_component_files_cannot_be_checked():
    spec = load_pipeline_job(TWO_STEPS)  # no base_dir: nothing to load the files from
    assert spec.jobs["train"].definition is None


def test_it_rejects_a_component_of_the_wrong_type(tmp_path):
    write_tree(tmp_path, {"components/train.yml": TRAIN, "components/score.yml": SCORE})
    text = TWO_STEPS.replace("type: command\n    component: ./components/train.yml", "type: spark\n    component: ./components/train.yml")
    issue = error_at(load_pipeline_job, text, "jobs.train.component", base_dir=tmp_path)
    assert "is a command component; a spark step needs a spark component" in issue.message


# Running steps --------------------------------------------------------------------------------------


def test_it_resolves_step_commands_with_component_defaults(tmp_path):
    write_tree(tmp_path, {"components/train.yml": TRAIN, "components/score.yml": SCORE})
    spec = load_pipeline_job(TWO_STEPS, base_dir=tmp_path)
    command = resolve_step_command(spec.jobs["train"], inputs={"data": "/d"}, outputs={"model": "/m"})
    assert command == "python t.py --data /d --epochs 3 --model /m"
    inline = load_pipeline_job(ABC).jobs["a"]
    assert resolve_step_command(inline, inputs={"greeting": "hey"}, outputs={}) == "echo hey"


def test_it_cannot_resolve_registered_steps_offline():
    spec = load_pipeline_job(pipeline(uses("a", "azureml:train:1")))
    with pytest.raises(SpecError, match="not known offline"):
        resolve_step_command(spec.jobs["a"], inputs={}, outputs={})


def test_it_reports_every_problem_of_every_step():
    text = pipeline(step("a", extra="resources: {instance_count: 0}"), step("b", extra="limits: {timeout: -1}"))
    assert [issue.path for issue in errors_of(load_pipeline_job, text)] == [
        "jobs.a.resources.instance_count", "jobs.b.limits.timeout"]
