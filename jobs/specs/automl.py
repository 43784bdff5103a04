"""AutoML jobs (`type: automl`): Azure ML tries many models for a `task` on tabular, image or
text data and keeps the best one by `primary_metric`.

The fields a file may use depend on the task's family:

- tables (`classification`, `regression`, `forecasting`): `target_column_name`, `featurization`,
  `training`, cross-validation settings, `forecasting` (forecasting only);
- images (`image_classification`, `image_classification_multilabel`, `image_object_detection`,
  `image_instance_segmentation`) and text (`text_classification`,
  `text_classification_multilabel`, `text_ner`): `sweep`, `training_parameters`, `search_space`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .common import (
    ComputeMixin,
    JobSpec,
    named,
    part,
    read_compute,
    read_header,
    read_identity,
    read_job_root,
    warn_missing,
)
from .fields import EMPTY, FrozenDict, Issues, Section, Spec, describe, freeze, is_integer, one_of, suggest
from .parts import InputSpec, OutputSpec, QueueSettingsSpec, ResourcesSpec, snake_case
from .sweep import EarlyTerminationSpec, SamplingAlgorithmSpec, SearchSpec
from .yaml_loader import join

TASKS = {
    "classification": "table",
    "regression": "table",
    "forecasting": "table",
    "image_classification": "image",
    "image_classification_multilabel": "image",
    "image_object_detection": "image",
    "image_instance_segmentation": "image",
    "text_classification": "text",
    "text_classification_multilabel": "text",
    "text_ner": "text",
}
_CLASSIFICATION_METRICS = ("accuracy", "auc_weighted", "average_precision_score_weighted", "norm_macro_recall",
                           "precision_score_weighted")
_REGRESSION_METRICS = ("spearman_correlation", "normalized_root_mean_squared_error", "r2_score",
                       "normalized_mean_absolute_error")
PRIMARY_METRICS = {
    "classification": _CLASSIFICATION_METRICS,
    "regression": _REGRESSION_METRICS,
    "forecasting": _REGRESSION_METRICS,
    "image_classification": _CLASSIFICATION_METRICS,
    "image_classification_multilabel": (*_CLASSIFICATION_METRICS, "iou"),
    "image_object_detection": ("mean_average_precision",),
    "image_instance_segmentation": ("mean_average_precision",),
    "text_classification": _CLASSIFICATION_METRICS,
    "text_classification_multilabel": ("accuracy",),
    "text_ner": ("accuracy",),
}
LOG_VERBOSITIES = ("not_set", "debug", "info", "warning", "error", "critical")
_COMMON = ("task", "primary_metric", "log_verbosity", "target_column_name", "training_data", "validation_data",
           "limits", "environment_id", "environment_variables", "outputs", "compute", "resources", "queue_settings",
           "identity")
_FAMILY = {
    "table": ("test_data", "validation_data_size", "test_data_size", "n_cross_validations", "cv_split_column_names",
              "weight_column_name", "featurization", "training"),
    "image": ("test_data", "validation_data_size", "test_data_size", "sweep", "training_parameters", "search_space"),
    "text": ("featurization", "sweep", "training_parameters", "search_space"),
}
_TASK_ONLY = {"classification": ("positive_label",), "forecasting": ("forecasting",)}
_LIMITS = {
    "table": ("enable_early_termination", "exit_score", "max_concurrent_trials", "max_cores_per_trial", "max_nodes",
              "max_trials", "timeout_minutes", "trial_timeout_minutes"),
    "image": ("max_concurrent_trials", "max_trials", "timeout_minutes"),
    "text": ("max_concurrent_trials", "max_nodes", "max_trials", "timeout_minutes", "trial_timeout_minutes"),
}
_NEEDS_TARGET = ("table", "image")
_TRANSFORMERS = ("text_target_encoder", "one_hot_encoder", "cat_target_encoder", "tf_idf", "wo_e_target_encoder",
                 "label_encoder", "word_embedding", "naive_bayes", "count_vectorizer", "hash_one_hot_encoder")
_TABLE_FEATURIZATION = ("mode", "blocked_transformers", "column_name_and_types", "transformer_params",
                        "enable_dnn_featurization", "dataset_language")
_TRAINING = ("enable_dnn_training", "enable_model_explainability", "enable_onnx_compatible_models",
             "enable_stack_ensemble", "enable_vote_ensemble", "ensemble_model_download_timeout_minutes",
             "stack_ensemble_settings", "allowed_training_algorithms", "blocked_training_algorithms", "training_mode")
_FORECASTING = ("country_or_region_for_holidays", "cv_step_size", "forecast_horizon", "target_lags",
                "target_rolling_window_size", "time_column_name", "time_series_id_column_names", "frequency",
                "feature_lags", "seasonality", "short_series_handling_config", "use_stl", "target_aggregate_function",
                "features_unknown_at_forecast_time")
_REGRESSION_MODELS = ("elastic_net", "gradient_boosting", "decision_tree", "knn", "lasso_lars", "sgd",
                      "random_forest", "extreme_random_trees", "light_gbm", "xg_boost_regressor")
ALGORITHMS = {
    "classification": ("logistic_regression", "sgd", "multinomial_naive_bayes", "bernoulli_naive_bayes", "svm",
                       "linear_svm", "knn", "decision_tree", "random_forest", "extreme_random_trees", "light_gbm",
                       "gradient_boosting", "xg_boost_classifier"),
    "regression": _REGRESSION_MODELS,
    "forecasting": ("auto_arima", "prophet", "naive", "seasonal_naive", "average", "seasonal_average",
                    "exponential_smoothing", "arimax", "tcn_forecaster", *_REGRESSION_MODELS),
}


def automl_fields(task: str | None) -> tuple[str, ...]:
    """The fields an AutoML job of `task` may have (all AutoML fields when the task is unknown)."""
    if task not in TASKS:
        family_fields = {key for fields in _FAMILY.values() for key in fields} | {"positive_label", "forecasting"}
        return (*_COMMON, *sorted(family_fields))
    return (*_COMMON, *_FAMILY[TASKS[task]], *_TASK_ONLY.get(task, ()))


@dataclass(frozen=True)
class AutoMLLimitsSpec(Spec):
    """Trial limits; which of them a task takes depends on its family (tables take the most)."""

    max_trials: int | None = None
    max_concurrent_trials: int | None = None
    max_cores_per_trial: int | None = None
    max_nodes: int | None = None
    timeout_minutes: int | None = None
    trial_timeout_minutes: int | None = None
    enable_early_termination: bool | None = None
    exit_score: int | float | None = None

    EXAMPLE = "limits: {timeout_minutes: 60, max_trials: 20, max_concurrent_trials: 4}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any, *, family: str | None = None) -> AutoMLLimitsSpec | None:
        fields = _LIMITS.get(family, cls.yaml_fields())
        section = Section.read(issues, path, value, fields, example=cls.EXAMPLE)
        if section is None:
            return None
        return cls(
            max_trials=section.integer("max_trials", minimum=1),
            max_concurrent_trials=section.integer("max_concurrent_trials", minimum=1),
            max_cores_per_trial=section.integer("max_cores_per_trial", minimum=-1),
            max_nodes=section.integer("max_nodes", minimum=1),
            timeout_minutes=section.integer("timeout_minutes", minimum=1, unit=" (minutes)"),
            trial_timeout_minutes=section.integer("trial_timeout_minutes", minimum=1, unit=" (minutes)"),
            enable_early_termination=section.boolean("enable_early_termination"),
            exit_score=section.number("exit_score"),
        )


@dataclass(frozen=True)
class AutoMLSweepSpec(Spec):
    """How image and text tasks sweep their model settings."""

    sampling_algorithm: SamplingAlgorithmSpec | None = None
    early_termination: EarlyTerminationSpec | None = None
    limits: FrozenDict = EMPTY

    EXAMPLE = "sweep: {sampling_algorithm: random, early_termination: {type: bandit, slack_factor: 0.2}}"

    @classmethod
    def parse(cls, issues: Issues, path: str, value: Any) -> AutoMLSweepSpec | None:
        section = cls.section(issues, path, value)
        if section is None:
            return None
        limits = EMPTY
        if section.has("limits"):
            limits_section = Section.read(
                issues, section.at("limits"), value["limits"], ("max_trials", "max_concurrent_trials"),
                example="limits: {max_trials: 10}",
            )
            if limits_section is not None:
                limits = FrozenDict({
                    key: number
                    for key in ("max_trials", "max_concurrent_trials")
                    if (number := limits_section.integer(key, minimum=1)) is not None
                })
        return cls(
            sampling_algorithm=part(section, "sampling_algorithm", SamplingAlgorithmSpec.parse),
            early_termination=part(section, "early_termination", EarlyTerminationSpec.parse),
            limits=limits,
        )


@dataclass(frozen=True)
class AutoMLFields:
    """The fields of an AutoML job or pipeline step (all but the job header, outputs and where it
    runs). Task-specific settings (`featurization`, `training`, `forecasting`,
    `training_parameters`) are kept as checked mappings."""

    task: str = ""
    primary_metric: str | None = None
    log_verbosity: str | None = None
    target_column_name: str | None = None
    training_data: Any = None  # InputSpec (a BindingSpec in a pipeline step)
    validation_data: Any = None
    test_data: Any = None
    validation_data_size: float | None = None
    test_data_size: float | None = None
    n_cross_validations: int | str | None = None
    cv_split_column_names: tuple[str, ...] = ()
    weight_column_name: str | None = None
    positive_label: str | None = None
    limits: AutoMLLimitsSpec | None = None
    featurization: FrozenDict = EMPTY
    training: FrozenDict = EMPTY
    forecasting: FrozenDict = EMPTY
    sweep: AutoMLSweepSpec | None = None
    training_parameters: FrozenDict = EMPTY
    search_space: tuple = ()  # of FrozenDict: name -> SearchSpec or value
    environment_id: str | None = None
    environment_variables: FrozenDict = EMPTY

    @property
    def family(self) -> str | None:
        return TASKS.get(self.task)


@dataclass(frozen=True)
class AutoMLJobSpec(ComputeMixin, JobSpec, AutoMLFields):
    """A validated AutoML job (the AutoML fields, then the job's own)."""

    outputs: FrozenDict = EMPTY
    resources: ResourcesSpec | None = None
    queue_settings: QueueSettingsSpec | None = None

    KIND: ClassVar[str] = "automl"
    FIELDS: ClassVar[tuple[str, ...]] = automl_fields(None)
    LEAD: ClassVar[tuple[str, ...]] = tuple(field.name for field in dataclasses.fields(AutoMLFields))


def read_automl_fields(root: Section, *, in_pipeline: bool, read_data=None) -> dict:
    """The AutoML fields (everything but the job header and outputs), as keyword arguments.

    `read_data(issues, path, value)` reads a data input (in a pipeline it accepts bindings).
    """
    read_data = read_data or _mltable
    root.required("task", "task: classification")
    task = root.choice("task", {name: name for name in TASKS}, what="AutoML task", normalise=snake_case)
    family = TASKS.get(task)
    if family in _NEEDS_TARGET or task in ("text_classification", "text_classification_multilabel"):
        root.required("target_column_name", "target_column_name: label")
    if not in_pipeline:
        root.required("training_data", "training_data: {type: mltable, path: ./training-mltable-folder}")
    if task is not None:
        _check_family_fields(root, task)
    metrics = PRIMARY_METRICS.get(task)
    primary = root.choice(
        "primary_metric",
        {metric: metric for metric in metrics} if metrics else {m: m for ms in PRIMARY_METRICS.values() for m in ms},
        what=f"primary metric{' for ' + task if task else ''}",
        normalise=snake_case,
    )
    fields = dict(
        task=task or "",
        primary_metric=primary,
        log_verbosity=root.choice("log_verbosity", {v: v for v in LOG_VERBOSITIES}, what="log verbosity",
                                  normalise=snake_case),
        target_column_name=root.text("target_column_name"),
        training_data=part(root, "training_data", read_data),
        validation_data=part(root, "validation_data", read_data),
        test_data=part(root, "test_data", read_data),
        validation_data_size=_fraction(root, "validation_data_size"),
        test_data_size=_fraction(root, "test_data_size"),
        n_cross_validations=_folds(root),
        cv_split_column_names=root.text_list("cv_split_column_names", hint="write a list of column names"),
        weight_column_name=root.text("weight_column_name"),
        positive_label=root.text("positive_label"),
        limits=part(root, "limits", lambda issues, path, value: AutoMLLimitsSpec.parse(issues, path, value, family=family)),
        featurization=_settings(root, "featurization", _TABLE_FEATURIZATION if family == "table" else ("dataset_language",)),
        training=_settings(root, "training", _TRAINING),
        forecasting=_settings(root, "forecasting", _FORECASTING),
        sweep=part(root, "sweep", AutoMLSweepSpec.parse),
        training_parameters=root.any_map("training_parameters"),
        search_space=_model_search_space(root),
        environment_id=root.text("environment_id"),
        environment_variables=root.text_map("environment_variables"),
    )
    _check_featurization(root, fields["featurization"])
    _check_algorithms(root, task, fields["training"])
    return fields


def _check_family_fields(root: Section, task: str) -> None:
    """Fields of other task families get a message naming the tasks they are for."""
    allowed = set(automl_fields(task))
    for key in root.data:
        if key in allowed or key not in automl_fields(None):
            continue
        owners = [f"{family} tasks" for family, fields in _FAMILY.items() if key in fields]
        owners += [f"{name} tasks" for name, fields in _TASK_ONLY.items() if key in fields]
        root.issues.error(root.at(key), f"'{key}' is not a setting of {task} jobs (it is for {one_of(owners)}); remove it",
                          key=True)


def _mltable(issues: Issues, path: str, value: Any) -> InputSpec | None:
    spec = InputSpec.parse(issues, path, value)
    if spec is not None and isinstance(value, Mapping) and spec.type != "mltable":
        issues.error(
            join(path, "type") if "type" in value else path,
            f"AutoML reads tables: write `type: mltable` (got {spec.type if 'type' in value else 'no type'})",
        )
    return spec


def _fraction(root: Section, key: str) -> float | None:
    value = root.number(key, above=0)
    if value is not None and value >= 1:
        root.error(key, f"expected a fraction between 0 and 1 (e.g. 0.2), got {value}")
        return None
    return value


def _folds(root: Section) -> int | str | None:
    value = root.data.get("n_cross_validations")
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    if value is not None and not (is_integer(value) and value >= 2):
        root.error("n_cross_validations", f"expected auto or a number of folds ≥ 2, got {describe(value)}")
        return None
    return value


def _settings(root: Section, key: str, fields: tuple[str, ...]) -> FrozenDict:
    value = root.data.get(key)
    if value is None:
        return EMPTY
    section = Section.read(root.issues, root.at(key), value, fields, example=f"{key}: {{{fields[0]}: ...}}")
    if section is None:
        return EMPTY
    for name, item in value.items():
        if str(name).startswith("enable_") and item is not None:
            section.boolean(name)
    return freeze(value)


def _check_featurization(root: Section, featurization: Mapping) -> None:
    section = Section(root.issues, root.at("featurization"), featurization)
    section.choice("mode", {"auto": "auto", "off": "off", "custom": "custom"}, what="featurization mode")
    for index, name in enumerate(featurization.get("blocked_transformers") or ()):
        if not isinstance(name, str) or snake_case(name) not in _TRANSFORMERS:
            root.issues.error(
                join(section.at("blocked_transformers"), index),
                f"unknown transformer {describe(name)}; use {one_of(_TRANSFORMERS)}",
            )


def _check_algorithms(root: Section, task: str | None, training: Mapping) -> None:
    known = ALGORITHMS.get(task)
    if not known:
        return
    for key in ("allowed_training_algorithms", "blocked_training_algorithms"):
        value = training.get(key)
        if value is None:
            continue
        path = join(root.at("training"), key)
        if not isinstance(value, (list, tuple)):
            root.issues.error(path, f"expected a list of algorithm names, got {describe(value)}")
            continue
        for index, name in enumerate(value):
            if not isinstance(name, str) or snake_case(name) not in known:
                guess = suggest(str(name), known)
                fix = f"did you mean '{guess}'?" if guess else f"use {one_of(known)}"
                root.issues.error(join(path, index), f"unknown {task} algorithm {describe(name)}; {fix}")


def _model_search_space(root: Section) -> tuple:
    """Image and text tasks: a list of model settings, each a mapping of names to values or
    search-space expressions."""
    value = root.data.get("search_space")
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        root.error("search_space", "expected a list of mappings, one per model family, such as "
                                   "`- {model_name: {type: choice, values: [yolov5]}}`")
        return ()
    spaces = []
    for index, item in enumerate(value):
        path = join(root.at("search_space"), index)
        if not isinstance(item, Mapping):
            root.issues.error(path, f"expected a mapping of settings, got {describe(item)}")
            continue
        space = {}
        for name, setting in item.items():
            if isinstance(setting, Mapping):
                parsed = SearchSpec.parse(root.issues, join(path, name), setting)
                if parsed is not None:
                    space[str(name)] = parsed
            elif isinstance(setting, (str, int, float, bool)):
                space[str(name)] = setting
            else:
                root.issues.error(join(path, name), f"expected a value or a search-space expression, got {describe(setting)}")
        spaces.append(FrozenDict(space))
    return tuple(spaces)


def read_automl_job(issues: Issues, data: Any, *, base_dir: Path | None = None) -> AutoMLJobSpec | None:
    """Read parsed data into an AutoML job, reporting every problem to `issues` (None if any)."""
    if data is not None and not isinstance(data, Mapping):
        issues.error("", "expected a mapping (key: value lines) at the top level")
        return None
    root = read_job_root(issues, data, AutoMLJobSpec, what="an AutoML job",
                         needs="at least type: automl, task: and training_data:")
    if root is None:
        return None
    spec = AutoMLJobSpec(
        **read_header(root),
        **read_automl_fields(root, in_pipeline=False),
        outputs=named(root, "outputs", OutputSpec.parse),
        compute=read_compute(root),
        resources=part(root, "resources", ResourcesSpec.parse),
        queue_settings=part(root, "queue_settings", QueueSettingsSpec.parse),
        identity=read_identity(root),
    )
    if base_dir is not None:
        warn_missing(issues, base_dir, [
            (f"{key}.path", getattr(getattr(spec, key), "path", None))
            for key in ("training_data", "validation_data", "test_data")
        ])
    return None if issues.errors else spec
