"""Real Azure ML files written by other people must get the reference implementation's verdict."""

import csv
import re
from pathlib import Path

import pytest

from jobs.specs import CommandJobSpec, check_submittable, load_command_job, load_job, validate_file

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "azureml"
EXPECTED = CORPUS / "EXPECTED.tsv"
KINDS = {
    "command-job": "command",
    "sweep-job": "sweep",
    "pipeline-job": "pipeline",
    "automl-job": "automl",
    "spark-job": "spark",
    "environment-asset": "environment",
    "data-asset": "data",
    "conda-env-file": "unknown",
}
NOT_JOBS = ("environment", "data", "unknown")


def rows() -> list[dict]:
    if not EXPECTED.exists():
        return []
    with EXPECTED.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def expected_kind(row: dict) -> str:
    return "component" if row["kind"].endswith("-component") else KINDS[row["kind"]]


def named(verdict: str) -> list[dict]:
    return [row for row in rows() if row["reference_verdict"] == verdict]


def reference_field(note: str) -> str:
    """The field the reference's error names: `"path": "name"` in its validation result, or the
    key of its marshmallow error dict (`{ "resources": {...} }`); a component reference it could
    not resolve (its note is cut short) is the step's `component` (`trial` for sweep steps)."""
    found = re.search(r'"path": "([^"]+)"', note) or re.search(r'failed: \{ "(\w+)": \{', note)
    if found:
        return found.group(1)
    assert "specify an existing components" in note, note
    return "jobs.<step>.component"


pytestmark = pytest.mark.skipif(not EXPECTED.exists(), reason=f"the Azure ML corpus is not at {CORPUS}")


def test_it_has_the_whole_corpus():
    assert len(rows()) == 176
    assert len([row for row in rows() if row["kind"] == "command-job"]) == 45
    assert {row["reference_verdict"] for row in rows()} == {"ok", "invalid", "skip"}


@pytest.mark.parametrize("row", rows(), ids=lambda row: row["path"])
def test_it_agrees_with_the_reference_on_every_file(row):
    result = validate_file(CORPUS / row["path"])
    verdict = row["reference_verdict"]
    if verdict == "skip":
        assert result.kind in NOT_JOBS, result.kind
    else:
        assert result.kind == expected_kind(row)
        assert result.valid == (verdict == "ok"), result.errors


@pytest.mark.parametrize("row", named("invalid"), ids=lambda row: row["path"])
def test_it_rejects_each_invalid_file_at_the_field_the_reference_names(row):
    errors = validate_file(CORPUS / row["path"]).errors
    field = reference_field(row["reference_note"])
    assert errors
    if field == "jobs.<step>.component":
        for error in errors:
            assert re.fullmatch(r"jobs\.\w+\.(component|trial)", error.path), error
            assert "not found (looked for " in error.message
    else:
        assert [error.path for error in errors] == [field]


def test_it_knows_which_fields_the_invalid_files_are_rejected_for():
    fields = {Path(row["path"]).name: reference_field(row["reference_note"]) for row in named("invalid")}
    assert fields == {
        "pipeline.yml": "jobs.<step>.component",
        "cli-automl-classification-task-bankmarketing-serverless.yml": "resources",
        "component.yml": "name",
    }


@pytest.mark.parametrize("row", rows(), ids=lambda row: row["path"])
def test_it_detects_the_kind_of_every_file(row):
    assert validate_file(CORPUS / row["path"]).kind == expected_kind(row)


@pytest.mark.parametrize("row", [row for row in rows() if row["kind"] == "command-job"], ids=lambda row: row["path"])
def test_it_writes_every_command_job_back_unchanged(row):
    spec = load_command_job((CORPUS / row["path"]).read_text())
    assert load_command_job(spec.to_yaml()) == spec
    assert CommandJobSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize("row", named("ok"), ids=lambda row: row["path"])
def test_it_writes_every_accepted_file_back_unchanged(row):
    path = CORPUS / row["path"]
    spec = load_job(path.read_text(), source=str(path), base_dir=path.parent)
    assert load_job(spec.to_yaml(), base_dir=path.parent) == spec


def test_it_warns_that_the_pipeline_without_compute_would_be_refused_at_submission():
    path = CORPUS / "azure-sdk-for-python/sdk/ml/azure-ai-ml/tests/test_configs/pipeline_jobs/serverless_compute/none_pipeline_default_compute_invalid/pipeline.yml"
    result = validate_file(path)
    assert result.valid  # as the reference's load_job says
    refused = [w for w in result.warnings if "Compute not set" in w.message]
    assert [w.path for w in refused] == ["jobs.vanilla_node.compute", "jobs.node_with_resources.compute",
                                         "jobs.pipeline_node.component", "jobs.pipeline_node.component"]
    spec = load_job(path.read_text(), base_dir=path.parent)
    assert len(check_submittable(spec)) == 4


def test_it_lets_every_other_accepted_pipeline_be_submitted():
    for row in named("ok"):
        path = CORPUS / row["path"]
        if row["kind"] == "pipeline-job" and "none_pipeline_default_compute_invalid" not in row["path"]:
            assert check_submittable(load_job(path.read_text(), base_dir=path.parent)) == [], row["path"]


def test_it_orders_the_steps_of_corpus_pipelines():
    path = CORPUS / "azureml-examples/cli/jobs/pipelines-with-components/nyc_taxi_data_regression/pipeline.yml"
    spec = load_job(path.read_text(), base_dir=path.parent)
    assert spec.steps_in_order() == ["prep_job", "transform_job", "train_job", "predict_job", "score_job"]
    assert spec.dependencies["score_job"] == ("train_job", "predict_job")
