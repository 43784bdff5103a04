"""AutoML, Spark and parallel jobs, and environment, data and model assets."""

import pytest

from jobs.specs import (
    AutoMLJobSpec,
    DataAssetSpec,
    EnvironmentAssetSpec,
    ModelAssetSpec,
    ParallelJobSpec,
    SparkJobSpec,
    check_submittable,
    load_job,
    validate_file,
)

from .helpers import error_at, errors_of, write_tree

CLASSIFICATION = (
    "$schema: https://azuremlsdk2.blob.core.windows.net/preview/0.0.1/autoMLJob.schema.json\n"
    "type: automl\ntask: classification\nprimary_metric: accuracy\ntarget_column_name: y\n"
    "training_data: {type: mltable, path: ./train}\n"
    "limits: {timeout_minutes: 60, max_trials: 10, max_concurrent_trials: 2, enable_early_termination: true}\n"
    "featurization: {mode: custom, blocked_transformers: [WordEmbedding]}\n"
    "training: {allowed_training_algorithms: [gradient_boosting, LogisticRegression]}\n"
)
DETECTION = (
    "type: automl\ntask: image_object_detection\ntarget_column_name: label\n"
    "training_data: {type: mltable, path: ./train}\nlimits: {max_trials: 4}\n"
    "sweep:\n  sampling_algorithm: random\n  early_termination: {type: bandit, slack_factor: 0.2}\n"
    "search_space:\n  - model_name: {type: choice, values: [yolov5]}\n    learning_rate: {type: uniform, min_value: 0.0001, max_value: 0.01}\n"
)


def test_it_loads_automl_jobs():
    spec = load_job(CLASSIFICATION)
    assert isinstance(spec, AutoMLJobSpec) and (spec.task, spec.family, spec.primary_metric) == ("classification", "table", "accuracy")
    assert spec.limits.max_trials == 10 and spec.is_serverless
    assert load_job(spec.to_yaml()) == spec
    image = load_job(DETECTION)
    assert image.search_space[0]["model_name"].values == ("yolov5",)
    assert load_job(image.to_yaml()) == image


@pytest.mark.parametrize(
    "change, path, words",
    [
        (("resources: {instance_count: 1}", 'resources:\n  instance_type="Standard_E4s_v3"\n  instance_count=5'),
         "resources", "expected a mapping"),
        (("task: classification", "task: clasification"), "task", "did you mean 'classification'?"),
        (("primary_metric: accuracy", "primary_metric: r2_score"), "primary_metric", "unknown primary metric for classification"),
        (("target_column_name: y\n", ""), "target_column_name", "required"),
        (("type: mltable", "type: uri_folder"), "training_data.type", "write `type: mltable`"),
        (("max_trials: 10", "max_trials: 0"), "limits.max_trials", "≥ 1"),
        (("[WordEmbedding]", "[WordEmbeding]"), "featurization.blocked_transformers[0]", "unknown transformer"),
        (("gradient_boosting", "gradient_bosting"), "training.allowed_training_algorithms[0]", "did you mean 'gradient_boosting'?"),
        (("training:", "sweep:"), "sweep", "'sweep' is not a setting of classification jobs (it is for image tasks or text tasks)"),
    ],
)
def test_it_rejects_bad_automl_jobs(change, path, words):
    text = (CLASSIFICATION + "resources: {instance_count: 1}\n").replace(*change)
    assert words in error_at(load_job, text, path).message


def test_it_allows_fields_by_task_family():
    assert "it is for image tasks or text tasks" in error_at(load_job, CLASSIFICATION + "sweep: {sampling_algorithm: random}\n", "sweep").message
    text = DETECTION + "featurization: {mode: auto}\n"
    assert "it is for table tasks or text tasks" in error_at(load_job, text, "featurization").message
    assert "it is for forecasting tasks" in error_at(load_job, CLASSIFICATION + "forecasting: {}\n", "forecasting").message
    assert "unknown field 'sweeep'; did you mean 'sweep'?" in error_at(load_job, DETECTION + "sweeep: {}\n", "sweeep").message


def test_it_refuses_more_concurrent_than_total_automl_trials_at_submission():
    spec = load_job(CLASSIFICATION.replace("max_trials: 10", "max_trials: 1"))
    assert [p.path for p in check_submittable(spec)] == ["limits.max_concurrent_trials"]
    assert check_submittable(load_job(CLASSIFICATION)) == []


SPARK = (
    "$schema: https://azuremlschemas.azureedge.net/latest/sparkJob.schema.json\n"
    "type: spark\ncode: ./src\nentry: {file: titanic.py}\n"
    "conf: {spark.driver.cores: 1, spark.driver.memory: 2g, spark.executor.instances: 2}\n"
    "inputs: {titanic: {type: uri_file, path: azureml://datastores/x/paths/t.csv, mode: direct}}\n"
    "outputs: {wrangled: {type: uri_folder, path: azureml://datastores/x/paths/w/, mode: direct}}\n"
    "args: --titanic ${{inputs.titanic}} --wrangled ${{outputs.wrangled}}\n"
    "resources: {instance_type: standard_e4s_v3, runtime_version: '3.4'}\n"
)


def test_it_loads_spark_jobs():
    spec = load_job(SPARK)
    assert isinstance(spec, SparkJobSpec) and spec.resources.runtime_version == "3.4"
    assert spec.conf["spark.driver.memory"] == "2g"
    assert load_job(spec.to_yaml()) == spec


@pytest.mark.parametrize(
    "change, path, words",
    [
        (("entry: {file: titanic.py}", "entry: {file: a.py, class_name: B}"), "entry", "exactly one of file"),
        (("spark.driver.memory: 2g", "spark.driver.memory: lots"), "conf.spark.driver.memory", "such as 2g"),
        (("spark.driver.cores: 1", "spark.driver.cores: 0"), "conf.spark.driver.cores", "≥ 1"),
        (("${{inputs.titanic}}", "${{inputs.titan}}"), "args", "did you mean ${{inputs.titanic}}?"),
        (("t.csv, mode: direct", "t.csv, mode: ro_mount"), "inputs.titanic.mode", "only mode: direct works"),
        (("runtime_version: '3.4'", "runtime_version: latest"), "resources.runtime_version", "such as '3.4'"),
    ],
)
def test_it_rejects_bad_spark_jobs(change, path, words):
    assert words in error_at(load_job, SPARK.replace(*change), path).message


def test_it_rejects_more_min_than_max_executors():
    text = SPARK.replace("spark.executor.instances: 2", "spark.dynamicAllocation.minExecutors: 4, spark.dynamicAllocation.maxExecutors: 2")
    assert "more than spark.dynamicAllocation.maxExecutors (2)" in error_at(load_job, text, "conf.spark.dynamicAllocation.minExecutors").message


def test_it_refuses_spark_jobs_with_neither_pool_nor_resources_at_submission():
    spec = load_job(SPARK.replace("resources: {instance_type: standard_e4s_v3, runtime_version: '3.4'}\n", ""))
    assert [p.path for p in check_submittable(spec)] == ["resources"]
    assert check_submittable(load_job(SPARK)) == []


PARALLEL = (
    "type: parallel\ninputs: {data: {type: mltable, path: ./table, mode: direct}}\n"
    "outputs: {scores: {type: uri_file, mode: rw_mount}}\ninput_data: ${{inputs.data}}\nmini_batch_size: 10kb\n"
    "resources: {instance_count: 2}\nmax_concurrency_per_instance: 2\nerror_threshold: -1\nlogging_level: debug\n"
    "retry_settings: {max_retries: 2, timeout: 60}\n"
    "task:\n  type: run_function\n  code: ./script\n  entry_script: score.py\n  environment: {image: python:3.11-slim}\n"
    "  program_arguments: --model ${{inputs.data}}\n  append_row_to: ${{outputs.scores}}\n"
)


def test_it_loads_parallel_jobs():
    spec = load_job(PARALLEL)
    assert isinstance(spec, ParallelJobSpec) and spec.logging_level == "DEBUG" and spec.task.entry_script == "score.py"
    assert load_job(spec.to_yaml()) == spec


@pytest.mark.parametrize(
    "change, path, words",
    [
        (("input_data: ${{inputs.data}}", "input_data: ./table"), "input_data", "expected a reference such as ${{inputs.<name>}}"),
        (("mini_batch_size: 10kb", "mini_batch_size: lots"), "mini_batch_size", "such as 10kb"),
        (("error_threshold: -1", "error_threshold: -2"), "error_threshold", "≥ -1"),
        (("max_concurrency_per_instance: 2", "max_concurrency_per_instance: 0"), "max_concurrency_per_instance", "≥ 1"),
        (("  entry_script: score.py\n", ""), "task.entry_script", "required"),
        (("${{outputs.scores}}", "${{outputs.score}}"), "task.append_row_to", "did you mean ${{outputs.scores}}?"),
        (("resources: {instance_count: 2}", "resources: {instance_count: 1.5}"), "resources.instance_count", "≥ 1"),
        (("max_retries: 2", "max_retries: -1"), "retry_settings.max_retries", "≥ 0"),
    ],
)
def test_it_rejects_bad_parallel_jobs(change, path, words):
    assert words in error_at(load_job, PARALLEL.replace(*change), path).message


def test_it_loads_assets(tmp_path):
    write_tree(tmp_path, {
        "env.yml": "$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json\nname: e\nversion: '1'\nbuild: {path: .}\n",
        "data.yml": "$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json\nname: local-data\ntype: uri_folder\npath: data\n",
        "model.yml": "$schema: https://azuremlschemas.azureedge.net/latest/model.schema.json\nname: m\ntype: mlflow_model\npath: model\n",
    })
    (tmp_path / "data").mkdir()
    results = {name: validate_file(tmp_path / name) for name in ("env.yml", "data.yml", "model.yml")}
    assert {name: (r.kind, r.valid) for name, r in results.items()} == {
        "env.yml": ("environment", True), "data.yml": ("data", True), "model.yml": ("model", True)}
    assert results["data.yml"].warnings == [] and results["model.yml"].warnings[0].path == "path"
    assert isinstance(load_job((tmp_path / "env.yml").read_text()), EnvironmentAssetSpec)
    assert isinstance(load_job((tmp_path / "data.yml").read_text()), DataAssetSpec)
    model = load_job((tmp_path / "model.yml").read_text())
    assert isinstance(model, ModelAssetSpec) and load_job(model.to_yaml()) == model


@pytest.mark.parametrize(
    "text, path, words",
    [
        ("$schema: https://x/environment.schema.json\nname: e\n", "", "needs image:"),
        ("$schema: https://x/environment.schema.json\nimage: python\n", "name", "required"),
        ("$schema: https://x/data.schema.json\nname: d\ntype: uri_fold\npath: p\n", "type", "did you mean 'uri_folder'?"),
        ("$schema: https://x/data.schema.json\nname: 'bad name'\npath: p\n", "name", "asset names use"),
        ("$schema: https://x/model.schema.json\nname: m\npath: p\nflavours: {}\n", "flavours", "did you mean 'flavors'?"),
    ],
)
def test_it_rejects_bad_assets(text, path, words):
    assert any(words in issue.message for issue in errors_of(load_job, text) if issue.path == path)
