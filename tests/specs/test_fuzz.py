"""Nothing crashes: every file gets an answer, whatever it holds.

Random bytes, random YAML structures built from Azure ML field names, and real corpus files with
one value swapped for a random one go through `validate_file` (which must never raise) and
`load_job` (which may only raise SpecError). The example database is off: no `.hypothesis/`.
"""

import copy
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.specs import SpecError, load_job, validate_file

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "azureml"
FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

FIELDS = [
    "type", "command", "environment", "inputs", "outputs", "jobs", "trial", "search_space", "sampling_algorithm",
    "objective", "limits", "early_termination", "settings", "component", "compute", "resources", "task", "entry",
    "conf", "values", "min_value", "max_value", "q", "mu", "sigma", "upper", "goal", "primary_metric", "path",
    "mode", "name", "version", "default", "optional", "min", "max", "enum", "instance_count", "default_compute",
    "max_total_trials", "max_concurrent_trials", "slack_factor", "slack_amount", "training_data", "input_data",
    "mini_batch_size", "search_space", "$schema", "image", "build", "distribution", "identity", "queue_settings",
]
TYPES = ["command", "sweep", "pipeline", "automl", "spark", "parallel", "choice", "uniform", "randint", "bandit",
         "grid", "random", "bayesian", "uri_folder", "mltable", "integer", "string", "classification", "run_function"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 1000), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(TYPES), st.text(max_size=12),
    st.sampled_from(["${{inputs.x}}", "${{parent.jobs.a.outputs.o}}", "${{parent.inputs.x}}", "$[[--x ${{inputs.x}}]]",
                     "{search_space.lr}", "azureml:serverless", "./component.yml", "azureml:c:1", "${{", "$[["]),
)
STRUCTURES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), children, max_size=6)),
    max_leaves=40,
)


def answered(result) -> None:
    """A real answer: `validate_file` turns its own crashes into "could not validate" errors."""
    assert result.to_dict()["file"]
    assert result.valid == (not result.errors)
    assert not any(error.message.startswith("could not validate") for error in result.errors), result.errors


def check(path: Path, text: str) -> None:
    answered(validate_file(path))
    try:
        load_job(text, source=str(path), base_dir=path.parent)
    except SpecError:
        pass


@FUZZ
@given(content=st.binary(max_size=400))
def test_it_answers_for_random_bytes(tmp_path, content):
    path = tmp_path / "job.yml"
    path.write_bytes(content)
    answered(validate_file(path))


@FUZZ
@given(data=st.dictionaries(st.sampled_from(FIELDS), STRUCTURES, max_size=8))
def test_it_answers_for_random_structures(tmp_path, data):
    path = tmp_path / "job.yml"
    text = yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text)
    check(path, text)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _replace(data, path, new):
    if not path:
        return new
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return data


@pytest.fixture(scope="module")
def corpus_copy(tmp_path_factory):
    """A private copy of the corpus: mutated files are written beside their component files."""
    if not CORPUS.exists():
        pytest.skip("the Azure ML corpus is not available")
    target = tmp_path_factory.mktemp("corpus")
    shutil.copytree(CORPUS, target, dirs_exist_ok=True)
    return target


@FUZZ
@given(index=st.integers(0, 10_000), choice=st.integers(0, 10_000), value=STRUCTURES)
def test_it_answers_for_corpus_files_with_one_value_changed(corpus_copy, index, choice, value):
    files = sorted(corpus_copy.rglob("*.y*ml"))
    source = files[index % len(files)]
    data = yaml.safe_load(source.read_text())
    paths = list(_paths(data))
    mutated = _replace(data, paths[choice % len(paths)], value)
    path = source.parent / "fuzzed.yml"
    text = yaml.safe_dump(mutated, allow_unicode=True)
    path.write_text(text)
    try:
        check(path, text)
    finally:
        path.unlink()
