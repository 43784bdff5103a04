import pytest

from jobs.specs import (
    EarlyTerminationSpec,
    SamplingAlgorithmSpec,
    SearchSpec,
    SpecError,
    SweepJobSpec,
    SweepLimitsSpec,
    check_submittable,
    load_job,
    load_sweep_job,
    resolve_trial_command,
)

from .helpers import error_at, errors_of, write_tree

ENV = "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest"


def sweep(
    *,
    command="python train.py --lr ${{search_space.lr}}",
    space="  lr: {type: uniform, min_value: 0.001, max_value: 0.1}\n",
    sampling="random",
    limits="{max_total_trials: 4, max_concurrent_trials: 2}",
    extra="",
) -> str:
    return (
        "type: sweep\n"
        f"trial:\n  command: {command}\n  environment: {ENV}\n"
        f"search_space:\n{space}"
        f"sampling_algorithm: {sampling}\n"
        "objective: {goal: maximize, primary_metric: accuracy}\n"
        f"limits: {limits}\n"
        f"{extra}"
    )


def test_it_loads_a_minimal_sweep():
    spec = load_sweep_job(sweep())
    assert isinstance(spec, SweepJobSpec)
    assert spec.trial.command == "python train.py --lr ${{search_space.lr}}"
    assert spec.search_space["lr"] == SearchSpec(type="uniform", min_value=0.001, max_value=0.1)
    assert spec.sampling_algorithm == SamplingAlgorithmSpec(type="random")
    assert spec.limits == SweepLimitsSpec(max_total_trials=4, max_concurrent_trials=2)
    assert spec.is_serverless and spec.node_count == 2


def test_it_is_what_load_job_returns_for_a_sweep():
    assert load_job(sweep()) == load_sweep_job(sweep())


@pytest.mark.parametrize("field", ["trial", "search_space", "sampling_algorithm", "objective", "limits"])
def test_it_requires_the_sweep_fields(field):
    lines = sweep().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(field + ":"))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines))
    text = "".join(lines[:start] + lines[end:])
    assert error_at(load_sweep_job, text, field).message.startswith("required")


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("{type: choice, values: [1, 2]}", SearchSpec(type="choice", values=(1, 2))),
        ("{type: uniform, min_value: 0, max_value: 1}", SearchSpec(type="uniform", min_value=0, max_value=1)),
        ("{type: loguniform, min_value: -6, max_value: -1}", SearchSpec(type="loguniform", min_value=-6, max_value=-1)),
        ("{type: quniform, min_value: 0, max_value: 10, q: 2}", SearchSpec(type="quniform", min_value=0, max_value=10, q=2)),
        ("{type: qloguniform, min_value: 0, max_value: 3, q: 1}", SearchSpec(type="qloguniform", min_value=0, max_value=3, q=1)),
        ("{type: normal, mu: 0, sigma: 1}", SearchSpec(type="normal", mu=0, sigma=1)),
        ("{type: lognormal, mu: 0, sigma: 1}", SearchSpec(type="lognormal", mu=0, sigma=1)),
        ("{type: qnormal, mu: 0, sigma: 1, q: 0.5}", SearchSpec(type="qnormal", mu=0, sigma=1, q=0.5)),
        ("{type: qlognormal, mu: 0, sigma: 1, q: 0.5}", SearchSpec(type="qlognormal", mu=0, sigma=1, q=0.5)),
        ("{type: randint, upper: 10}", SearchSpec(type="randint", upper=10)),
    ],
)
def test_it_reads_every_search_space_type(expression, expected):
    spec = load_sweep_job(sweep(space=f"  lr: {expression}\n"))
    assert spec.search_space["lr"] == expected
    assert load_sweep_job(spec.to_yaml()) == spec


def test_it_reads_nested_choices():
    space = (
        "  lr:\n    type: choice\n    values:\n"
        "      - {model: small, depth: {type: randint, upper: 4}}\n"
        "      - {model: big, width: {type: choice, values: [1, 2]}}\n"
    )
    spec = load_sweep_job(sweep(space=space))
    first, second = spec.search_space["lr"].values
    assert first["model"] == "small" and first["depth"] == SearchSpec(type="randint", upper=4)
    assert second["width"] == SearchSpec(type="choice", values=(1, 2))
    assert spec.search_space["lr"].is_nested


def test_it_reports_bad_nested_expressions_at_their_path():
    space = "  lr:\n    type: choice\n    values:\n      - {depth: {type: randint, uper: 4}}\n"
    paths = [issue.path for issue in errors_of(load_sweep_job, sweep(space=space))]
    assert "search_space.lr.values[0].depth.uper" in paths


def test_it_names_the_closest_search_space_type():
    issue = error_at(load_sweep_job, sweep(space="  lr: {type: uniforme, min_value: 0, max_value: 1}\n"),
                     "search_space.lr.type")
    assert "did you mean 'uniform'?" in issue.message


def test_it_rejects_fields_of_another_search_space_type():
    issue = error_at(load_sweep_job, sweep(space="  lr: {type: uniform, min_value: 0, max_value: 1, q: 1}\n"),
                     "search_space.lr.q")
    assert issue.message.startswith("unknown field 'q' for uniform")


def test_it_wants_search_space_expressions_not_bare_values():
    issue = error_at(load_sweep_job, sweep(space="  lr: 0.1\n"), "search_space.lr")
    assert "expected a search-space expression" in issue.message


@pytest.mark.parametrize(
    "written, expected",
    [
        ("random", SamplingAlgorithmSpec(type="random")),
        ("grid", SamplingAlgorithmSpec(type="grid")),
        ("bayesian", SamplingAlgorithmSpec(type="bayesian")),
        ("{type: random, seed: 42, rule: sobol}", SamplingAlgorithmSpec(type="random", seed=42, rule="sobol")),
        ("{type: grid}", SamplingAlgorithmSpec(type="grid")),
        ("{type: Bayesian}", SamplingAlgorithmSpec(type="bayesian")),
    ],
)
def test_it_reads_short_and_long_sampling_algorithms(written, expected):
    space = "  lr: {type: choice, values: [1, 2]}\n"
    assert load_sweep_job(sweep(sampling=written, space=space)).sampling_algorithm == expected


def test_it_writes_the_short_sampling_form_back():
    spec = load_sweep_job(sweep(sampling="{type: random}"))
    assert spec.to_dict()["sampling_algorithm"] == "random"
    seeded = load_sweep_job(sweep(sampling="{type: random, seed: 1}"))
    assert seeded.to_dict()["sampling_algorithm"] == {"type": "random", "seed": 1}


@pytest.mark.parametrize(
    "written, path, words",
    [
        ("randum", "sampling_algorithm.type", "did you mean 'random'?"),
        ("{type: random, rule: halton}", "sampling_algorithm.rule", "use random or sobol"),
        ("{type: grid, seed: 3}", "sampling_algorithm.seed", "only random sampling takes seed"),
    ],
)
def test_it_rejects_bad_sampling_algorithms(written, path, words):
    space = "  lr: {type: choice, values: [1, 2]}\n"
    assert words in error_at(load_sweep_job, sweep(sampling=written, space=space), path).message


def test_it_reads_objectives():
    spec = load_sweep_job(sweep())
    assert (spec.objective.goal, spec.objective.primary_metric) == ("maximize", "accuracy")
    text = sweep().replace("goal: maximize", "goal: maximise")
    assert "did you mean 'maximize'?" in error_at(load_sweep_job, text, "objective.goal").message


@pytest.mark.parametrize(
    "policy, expected",
    [
        ("{type: bandit, slack_factor: 0.1, evaluation_interval: 2, delay_evaluation: 5}",
         EarlyTerminationSpec(type="bandit", slack_factor=0.1, evaluation_interval=2, delay_evaluation=5)),
        ("{type: bandit, slack_amount: 0.2}", EarlyTerminationSpec(type="bandit", slack_amount=0.2)),
        ("{type: median_stopping, evaluation_interval: 1}", EarlyTerminationSpec(type="median_stopping", evaluation_interval=1)),
        ("{type: truncation_selection, truncation_percentage: 20}",
         EarlyTerminationSpec(type="truncation_selection", truncation_percentage=20)),
    ],
)
def test_it_reads_every_early_termination_policy(policy, expected):
    assert load_sweep_job(sweep(extra=f"early_termination: {policy}\n")).early_termination == expected


@pytest.mark.parametrize(
    "policy, path, words",
    [
        ("{type: bandit}", "early_termination", "needs slack_factor"),
        ("{type: truncation_selection}", "early_termination.truncation_percentage", "required"),
        ("{type: truncation_selection, truncation_percentage: 100}", "early_termination.truncation_percentage", "1 to 99"),
        ("{type: median_stopping, slack_factor: 0.1}", "early_termination.slack_factor", "does not take slack_factor"),
        ("{type: bandit, slack_factor: -1}", "early_termination.slack_factor", "expected a number > 0"),
        ("{type: bandit, slack_factor: 0.1, evaluation_interval: 0}", "early_termination.evaluation_interval", "≥ 1"),
    ],
)
def test_it_rejects_bad_policies(policy, path, words):
    assert words in error_at(load_sweep_job, sweep(extra=f"early_termination: {policy}\n"), path).message


def test_it_reads_the_other_sweep_fields():
    extra = (
        "inputs: {data: {type: uri_file, path: https://x/iris.csv}}\n"
        "compute: azureml:cpu-cluster\n"
        "resources: {instance_count: 2, shm_size: 4g}\n"
        "queue_settings: {job_tier: Spot}\n"
        "identity: {type: managed}\n"
    )
    spec = load_sweep_job(sweep(command="python t.py --lr ${{search_space.lr}} --d ${{inputs.data}}", extra=extra))
    assert spec.compute_name == "cpu-cluster" and spec.queue_settings.job_tier == "Spot"
    assert spec.resources.instance_count == 2 and spec.node_count == 4
    assert spec.identity.type == "managed"


def test_it_suggests_a_field_for_a_misspelt_one():
    assert "did you mean 'search_space'?" in error_at(load_sweep_job, sweep(extra="serch_space: {}\n"), "serch_space").message


# Semantic checks ---------------------------------------------------------------------------------


def test_it_accepts_references_to_declared_search_space_parameters():
    spec = load_sweep_job(sweep(command="python t.py --lr ${{search_space.lr}} --x {search_space.lr}"))
    assert spec.trial.command.endswith("{search_space.lr}")


def test_it_rejects_references_to_undeclared_search_space_parameters():
    issue = error_at(load_sweep_job, sweep(command="python t.py --lr ${{search_space.learning_rate}}"), "trial.command")
    assert issue.message.startswith("${{search_space.learning_rate}} refers to a parameter that is not declared")
    assert issue.line == 3


def test_it_rejects_undeclared_legacy_references():
    issue = error_at(load_sweep_job, sweep(command="python t.py --lr {search_space.lrr}"), "trial.command")
    assert "did you mean ${{search_space.lr}}?" in issue.message


def test_it_rejects_references_to_undeclared_inputs_in_the_trial():
    text = sweep(command="python t.py ${{inputs.data}} ${{search_space.lr}}")
    assert "refers to an input that is not declared" in error_at(load_sweep_job, text, "trial.command").message
    assert load_sweep_job(text + "inputs: {data: {type: uri_file, path: https://x/d.csv}}\n")


def test_it_warns_about_parameters_the_command_never_uses(tmp_path):
    from jobs.specs import validate_file

    write_tree(tmp_path, {"sweep.yml": sweep(space="  lr: {type: choice, values: [1]}\n  unused: {type: choice, values: [1]}\n")})
    result = validate_file(tmp_path / "sweep.yml")
    assert result.valid
    assert [w.path for w in result.warnings] == ["search_space.unused"]


def test_it_rejects_bayesian_sampling_with_early_termination():
    policy = "early_termination: {type: bandit, slack_factor: 0.1}\n"
    issue = error_at(load_sweep_job, sweep(sampling="bayesian", extra=policy), "early_termination")
    assert "Bayesian sampling does not support early termination" in issue.message
    assert load_sweep_job(sweep(sampling="random", extra=policy))
    assert load_sweep_job(sweep(sampling="bayesian"))


def test_it_refuses_grid_sampling_over_a_non_choice_parameter_at_submission():
    grid = load_sweep_job(sweep(sampling="grid"))  # loads, as Azure ML's loader does
    [problem] = check_submittable(grid)
    assert problem.path == "search_space.lr" and "grid sampling" in problem.message
    assert check_submittable(load_sweep_job(sweep(sampling="grid", space="  lr: {type: choice, values: [1, 2]}\n"))) == []


def test_it_refuses_bayesian_sampling_over_unsupported_types_at_submission():
    spec = load_sweep_job(sweep(sampling="bayesian", space="  lr: {type: normal, mu: 0, sigma: 1}\n"))
    [problem] = check_submittable(spec)
    assert "Bayesian sampling supports only choice, uniform or quniform" in problem.message
    assert check_submittable(load_sweep_job(sweep(sampling="bayesian"))) == []


def test_it_refuses_a_bandit_policy_with_both_slacks_at_submission():
    both = load_sweep_job(sweep(extra="early_termination: {type: bandit, slack_factor: 0.1, slack_amount: 0.2}\n"))
    assert [p.message for p in check_submittable(both)] == ["give slack_factor or slack_amount, not both"]
    assert check_submittable(load_sweep_job(sweep(extra="early_termination: {type: bandit, slack_amount: 0.2}\n"))) == []


@pytest.mark.parametrize(
    "limits, path, words",
    [
        ("{max_total_trials: 0}", "limits.max_total_trials", "expected an integer ≥ 1, got 0"),
        ("{max_total_trials: 2.5}", "limits.max_total_trials", "expected an integer ≥ 1, got 2.5"),
        ("{max_total_trials: 4, max_concurrent_trials: 0}", "limits.max_concurrent_trials", "≥ 1, got 0"),
        ("{max_total_trials: 4, timeout: -5}", "limits.timeout", "≥ 1 (seconds), got -5"),
        ("{max_total_trials: 4, trial_timeout: 0}", "limits.trial_timeout", "≥ 1 (seconds), got 0"),
        ("{max_concurrent_trials: 2}", "limits.max_total_trials", "required"),
    ],
)
def test_it_rejects_impossible_limits(limits, path, words):
    assert words in error_at(load_sweep_job, sweep(limits=limits), path).message


@pytest.mark.parametrize(
    "expression, path, words",
    [
        ("{type: uniform, min_value: 1, max_value: 0.5}", "search_space.lr.min_value", "must be less than max_value"),
        ("{type: quniform, min_value: 0, max_value: 5, q: 0}", "search_space.lr.q", "must be above 0"),
        ("{type: normal, mu: 0, sigma: -1}", "search_space.lr.sigma", "must be above 0"),
        ("{type: randint, upper: 0}", "search_space.lr.upper", "≥ 1"),
        ("{type: choice, values: []}", "search_space.lr.values", "non-empty list"),
    ],
)
def test_it_rejects_impossible_search_spaces(expression, path, words):
    assert words in error_at(load_sweep_job, sweep(space=f"  lr: {expression}\n"), path).message


def test_it_refuses_more_concurrent_than_total_trials_at_submission():
    too_many = load_sweep_job(sweep(limits="{max_total_trials: 2, max_concurrent_trials: 10}"))
    [problem] = check_submittable(too_many)
    assert (problem.path, problem.message) == (
        "limits.max_concurrent_trials",
        "is 10, more than max_total_trials (2); at most 2 trials can ever run at once, so lower it to 2",
    )
    assert too_many.node_count == 2
    assert check_submittable(load_sweep_job(sweep(limits="{max_total_trials: 2, max_concurrent_trials: 2}"))) == []


# Trials as components -------------------------------------------------------------------------

COMPONENT = (
    "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
    "type: command\nname: train\n"
    "inputs:\n  data: {type: uri_folder}\n  lr: {type: number, default: 0.01}\n  depth: {type: integer}\n"
    "outputs:\n  model: {type: uri_folder}\n"
    f"environment: {ENV}\n"
    "command: python t.py --data ${{inputs.data}} --lr ${{inputs.lr}} --depth ${{inputs.depth}} --m ${{outputs.model}}\n"
)


def component_sweep(space="  lr: {type: uniform, min_value: 0.01, max_value: 0.1}\n  depth: {type: choice, values: [2, 4]}\n"):
    return (
        "type: sweep\ntrial: ./train.yml\n"
        "inputs: {data: {type: uri_folder, path: https://x/data}}\n"
        f"search_space:\n{space}"
        "sampling_algorithm: random\nobjective: {goal: minimize, primary_metric: loss}\n"
        "limits: {max_total_trials: 3}\n"
    )


def test_it_loads_a_component_trial(tmp_path):
    write_tree(tmp_path, {"train.yml": COMPONENT})
    spec = load_sweep_job(component_sweep(), base_dir=tmp_path)
    assert spec.trial.reference == "./train.yml" and spec.trial.definition.name == "train"
    assert spec.to_dict()["trial"] == "./train.yml"


def test_it_rejects_search_space_parameters_the_trial_component_lacks(tmp_path):
    write_tree(tmp_path, {"train.yml": COMPONENT})
    text = component_sweep(space="  lr: {type: uniform, min_value: 0.01, max_value: 0.1}\n  dept: {type: choice, values: [2]}\n")
    issue = error_at(load_sweep_job, text, "search_space.dept", base_dir=tmp_path)
    assert "declares no input 'dept' for this parameter; did you mean 'depth'?" in issue.message


def test_it_rejects_a_missing_trial_component_file(tmp_path):
    issue = error_at(load_sweep_job, component_sweep(), "trial", base_dir=tmp_path)
    assert "component file './train.yml' not found" in issue.message and str(tmp_path / "train.yml") in issue.message


def test_it_refuses_a_component_trial_without_its_required_inputs_at_submission(tmp_path):
    write_tree(tmp_path, {"train.yml": COMPONENT})
    spec = load_sweep_job(component_sweep(space="  lr: {type: uniform, min_value: 0.01, max_value: 0.1}\n"), base_dir=tmp_path)
    [problem] = check_submittable(spec)
    assert problem.path == "trial" and "needs a value for depth" in problem.message
    assert check_submittable(load_sweep_job(component_sweep(), base_dir=tmp_path)) == []


# Running trials -------------------------------------------------------------------------------


def test_it_walks_the_grid_in_order():
    space = "  a: {type: choice, values: [1, 2]}\n  b: {type: choice, values: [x, y]}\n"
    spec = load_sweep_job(sweep(command="echo ${{search_space.a}} ${{search_space.b}}", space=space, sampling="grid",
                                limits="{max_total_trials: 3}"))
    assert list(spec.trial_parameters()) == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}]


def test_it_draws_random_parameters_within_bounds_and_reproducibly():
    space = (
        "  lr: {type: uniform, min_value: 0.1, max_value: 0.2}\n  n: {type: randint, upper: 3}\n"
        "  q: {type: quniform, min_value: 0, max_value: 10, q: 5}\n  c: {type: choice, values: [a, b]}\n"
    )
    command = "echo ${{search_space.lr}} ${{search_space.n}} ${{search_space.q}} ${{search_space.c}}"
    spec = load_sweep_job(sweep(command=command, space=space, limits="{max_total_trials: 50}"))
    draws = list(spec.trial_parameters(seed=7))
    assert len(draws) == 50 and draws == list(spec.trial_parameters(seed=7))
    assert all(0.1 <= d["lr"] <= 0.2 and d["n"] in (0, 1, 2) and d["q"] in (0, 5, 10) and d["c"] in "ab" for d in draws)


def test_it_uses_the_seed_of_the_sampling_algorithm():
    spec = load_sweep_job(sweep(sampling="{type: random, seed: 3}"))
    assert list(spec.trial_parameters()) == list(spec.trial_parameters(seed=3))


def test_it_resolves_trial_commands_in_both_syntaxes():
    spec = load_sweep_job(sweep(
        command="python t.py --lr ${{search_space.lr}} --old {search_space.lr} --data ${{inputs.data}} $[[--o ${{outputs.m}}]]",
        extra="inputs: {data: {type: uri_file, path: https://x/d}}\noutputs: {m: {type: uri_folder}}\n",
    ))
    command = resolve_trial_command(spec, {"lr": 0.05}, inputs={"data": "/mnt/d"}, outputs={})
    assert command == "python t.py --lr 0.05 --old 0.05 --data /mnt/d "


def test_it_writes_nested_parameter_values_as_json():
    spec = load_sweep_job(sweep(command="t ${{search_space.lr}}", space="  lr: {type: choice, values: [{a: 1}]}\n"))
    params = next(spec.trial_parameters(seed=0))
    assert resolve_trial_command(spec, params, inputs={}, outputs={}) == 't {"a":1}'


def test_it_resolves_component_trials_with_parameters_as_inputs(tmp_path):
    write_tree(tmp_path, {"train.yml": COMPONENT})
    spec = load_sweep_job(component_sweep(space="  depth: {type: choice, values: [2, 4]}\n"), base_dir=tmp_path)
    command = resolve_trial_command(spec, {"depth": 4}, inputs={"data": "/d"}, outputs={"model": "/m"})
    assert command == "python t.py --data /d --lr 0.01 --depth 4 --m /m"


def test_it_cannot_resolve_a_registered_trial_offline():
    text = component_sweep().replace("./train.yml", "azureml:train:1")
    spec = load_sweep_job(text)
    with pytest.raises(SpecError, match="not known offline"):
        resolve_trial_command(spec, {"lr": 0.1}, inputs={}, outputs={})
