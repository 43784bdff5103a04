"""A fuzz of the submit API: real job files (the tests' own and, when present, the Azure ML
corpus's command jobs) with one value changed for something hostile — NULs, unpaired surrogates,
numbers beyond 64 bits, NaN, deep nesting, odd unicode, long text, wrong types — posted as JSON and
as YAML with DRF's client. Never a 5xx (an unexpected error re-raises here with its traceback), a
4xx always in the JSON error format, and a refused submission leaves no Job, Node or JobEvent row.

Deterministic for CI: derandomized (the same examples every run), no example database.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.models import Job, JobEvent, Node
from tests.specs.test_fuzz import _paths as paths_of

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "azureml"
ENV = "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest"
SEEDS = [
    {"command": "echo hello", "environment": ENV},
    {"$schema": "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json", "command":
     "python -c 'print(${{inputs.n}})'", "environment": {"image": "python:3.11-slim"}, "inputs": {"n": 3},
     "display_name": "fuzz", "experiment_name": "fuzzing", "description": "a job", "tags": {"a": "b"},
     "resources": {"instance_count": 1}, "limits": {"timeout": 60}, "queue_settings": {"job_tier": "standard"},
     "environment_variables": {"X": "1"}, "outputs": {"out": {"type": "uri_folder"}}},
    {"type": "command", "command": "echo ${{inputs.lr}}", "environment": ENV, "inputs": {"lr": {"type": "number",
     "default": 0.1}}, "distribution": {"type": "pytorch", "process_count_per_instance": 2},
     "properties": {"p": "q"}},
]


def corpus_jobs() -> list[dict]:
    """The corpus's command jobs (without local folders, which a JSON body cannot bring)."""
    found = []
    for path in sorted(CORPUS.rglob("*.yml")) if CORPUS.exists() else []:
        try:
            data = yaml.safe_load(path.read_text())
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        if (isinstance(data, dict) and "command" in data and data.get("type", "command") == "command"
                and "component" not in str(data.get("$schema", "")).lower()):
            data.pop("code", None)
            found.append(data)
    return found[:60]


DOCUMENTS = SEEDS + corpus_jobs()


def nested(depth: int) -> object:
    value: object = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


HOSTILE_KINDS = {  # drawn kind first, so that each kind of hostility gets its share of examples
    "text": st.text(max_size=20),
    "nul": st.text(st.characters(codec="utf-8"), max_size=20).map(lambda text: text + "\x00"),
    "odd unicode": st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfff", "\u202e", "\ufeff", "🧪" * 50,
                                    "ǅ\u0301", "\uffff", "${{inputs.missing}}", "$[[", "*alias", "&anchor x", "{{",
                                    "a: b", "- x", "\t", "\r\n"]),
    "integer": st.integers() | st.sampled_from([2**31, 2**63, -(2**63) - 1, 2**64, 10**30, 10**400, -1, 0]),
    "float": st.floats(allow_nan=True, allow_infinity=True),
    "scalar": st.booleans() | st.none(),
    "deep": st.sampled_from([60, 499, 900, 950]).map(nested),  # the probe's JSON was ~900 deep
    "long": st.integers(1, 6).map(lambda power: "x" * 10**power),
    "container": st.lists(st.integers(), max_size=3) | st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
}
HOSTILE = st.sampled_from(sorted(HOSTILE_KINDS)).flatmap(HOSTILE_KINDS.__getitem__)
FUZZ = settings(max_examples=120, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


def mutate(data, path, how: str, value):
    """`data` with the value at `path` replaced, removed, or given a new sibling key."""
    if not path:
        return value if how == "replace" else data
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    if how == "remove":
        del target[path[-1]]
    elif how == "add" and isinstance(target, dict):
        target[str(value)[:30] if not isinstance(value, str) else value[:30]] = value
    else:
        target[path[-1]] = value
    return data


@st.composite
def submissions(draw):
    """(content type, body bytes) of a mutated job."""
    document = draw(st.sampled_from(DOCUMENTS))
    paths = list(paths_of(document))
    how = draw(st.sampled_from(["replace", "replace", "remove", "add", "keep"]))
    spec = document if how == "keep" else mutate(document, draw(st.sampled_from(paths)), how, draw(HOSTILE))
    body = {"spec": spec}
    if draw(st.booleans()):
        body[draw(st.sampled_from(["name", "workspace", "set"]))] = draw(
            HOSTILE | st.lists(st.sampled_from(["limits.timeout=99999999999999999999", "tags.a=\x00",
                                                "a..b=c", "name=ok_name", "=", "resources.instance_count=1e400",
                                                "x" * 5000]), max_size=3))
    if draw(st.booleans()):
        return "application/json", json.dumps(body).encode()
    try:
        text = yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, RecursionError, ValueError):
        text = json.dumps(spec)
    cut = draw(st.integers(0, len(text)))
    splice = draw(st.sampled_from(["", "", "\x00", "&a ", "*a", "\n  - [", "{", "\ud800", "\t\t:", "!!python/object:os.system "]))
    return "application/yaml", (text[:cut] + splice + text[cut:]).encode("utf-8", "surrogatepass")


def rows():
    return Job.objects.count(), Node.objects.count(), JobEvent.objects.count()


@pytest.mark.parametrize("url", ["/api/v1/jobs", "/api/v1/jobs/explain"])
@FUZZ
@given(submission=submissions())
def test_the_submit_api_never_fails_and_leaves_nothing_when_it_refuses(api, data_dir, url, submission):
    content_type, body = submission
    before = rows()
    response = api.post(url, data=body, content_type=content_type)
    assert response.status_code < 500, response.content[:2000]
    if response.status_code == 201:
        assert Job.objects.count() == before[0] + 1
        return
    assert rows() == before
    if response.status_code >= 400:
        assert response.status_code < 500
        answer = response.json()
        assert set(answer) == {"message", "extra"} and isinstance(answer["extra"], dict), answer
        assert isinstance(answer["message"], str) and answer["message"].strip(), answer
