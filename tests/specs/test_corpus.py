"""Real Azure ML files written by other people must get the reference implementation's verdict."""

import csv
from pathlib import Path

import pytest

from jobs.specs import CommandJobSpec, load_command_job, validate_file

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


def rows() -> list[dict]:
    if not EXPECTED.exists():
        return []
    with EXPECTED.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def expected_kind(row: dict) -> str:
    return "component" if row["kind"].endswith("-component") else KINDS[row["kind"]]


pytestmark = pytest.mark.skipif(not EXPECTED.exists(), reason=f"the Azure ML corpus is not at {CORPUS}")


def test_it_has_the_command_jobs():
    assert len([row for row in rows() if row["kind"] == "command-job"]) == 45


@pytest.mark.parametrize("row", [row for row in rows() if row["kind"] == "command-job"], ids=lambda row: row["path"])
def test_it_agrees_on_every_command_job(row):
    result = validate_file(CORPUS / row["path"])
    assert result.kind == "command"
    assert result.valid == (row["reference_verdict"] == "ok"), result.errors


@pytest.mark.parametrize("row", rows(), ids=lambda row: row["path"])
def test_it_detects_the_kind_of_every_file(row):
    assert validate_file(CORPUS / row["path"]).kind == expected_kind(row)


@pytest.mark.parametrize("row", [row for row in rows() if row["kind"] == "command-job"], ids=lambda row: row["path"])
def test_it_writes_every_command_job_back_unchanged(row):
    spec = load_command_job((CORPUS / row["path"]).read_text())
    assert load_command_job(spec.to_yaml()) == spec
    assert CommandJobSpec.from_dict(spec.to_dict()) == spec
