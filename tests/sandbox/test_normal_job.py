"""An ordinary training job runs unchanged in the sandbox: the studio's Python, its inputs, child
processes, a private /tmp, ./outputs and MLflow metrics through the studio."""

from __future__ import annotations

import sys

import pytest

from jobs import storage
from jobs.models import JobEvent, MetricPoint
from tests.jobs.helpers import tar_gz
from tests.tracking.conftest import run_job

pytestmark = pytest.mark.django_db(transaction=True)

TRAIN = r'''
import multiprocessing, os, subprocess, sys, tempfile
import mlflow


def square(x):
    return x * x


if __name__ == "__main__":
    data = os.environ["AZURE_ML_INPUT_data"]
    rows = open(os.path.join(data, "rows.csv")).read().split()
    try:
        open(os.path.join(data, "rows.csv"), "a").write("changed")
        print("input writable")
    except OSError as exc:
        print("input read-only:", type(exc).__name__)
    with multiprocessing.get_context("fork").Pool(3) as pool:
        squares = pool.map(square, range(4))
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid() != 1)"], capture_output=True,
                           text=True, check=True).stdout.strip()
    with tempfile.NamedTemporaryFile("w", delete=False) as scratch:
        scratch.write("scratch")
    os.makedirs("outputs", exist_ok=True)
    with open("outputs/result.txt", "w") as out:
        out.write(f"{len(rows)} rows, squares {squares}, child {child}, tmp {os.path.dirname(scratch.name)}")
    mlflow.log_metric("rows", len(rows))
    print("python", sys.executable)
'''


def test_it_runs_a_training_script_sandboxed(api, studio, bwrap):
    spec = ("code: src\ncommand: python train.py\ninputs:\n  data:\n    type: uri_folder\n    path: ./data\n")
    job, log = run_job(api, spec, code=tar_gz({"train.py": TRAIN}),
                       **{"inputs.data": tar_gz({"rows.csv": "1\n2\n3\n"})})
    result = (storage.artifacts_dir(job.files) / "outputs" / "result.txt").read_text()
    assert result == "3 rows, squares [0, 1, 4, 9], child True, tmp /tmp", log
    assert "input read-only: OSError" in log
    assert f"python {sys.executable}\n" in log  # the studio's own interpreter, read-only inside
    assert [p.value for p in MetricPoint.objects.filter(job=job, key="rows")] == [3.0]
    notes = list(JobEvent.objects.filter(job=job).values_list("message", flat=True))
    assert any("node 0 is sandboxed" in note for note in notes), notes
    assert not (storage.work_root() / job.files).exists()
