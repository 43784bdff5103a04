#!/usr/bin/env python
"""Wall time of one `studio validate` over the whole Azure ML corpus, against a baseline in the same run.

    .venv/bin/python bench/validate.py [--repeat 3] [--corpus ../shared/corpus/azureml]

Runs `python -m studio.cli.main validate --output json --file ...` for every file listed in the
corpus's EXPECTED.tsv as one subprocess (the way a user runs it: interpreter start, imports,
parsing, validation, component files loaded by pipelines, JSON out), best of `--repeat`.
Baseline, measured the same way in the same run: the same interpreter started once with
`yaml.safe_load` of every file. Also reports how many verdicts agree with EXPECTED.tsv. Prints JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "azureml"
BASELINE = "import sys, yaml\nfor name in sys.argv[1:]:\n    with open(name, 'rb') as f:\n        yaml.safe_load(f)\n"


def best_of(command: list[str], repeat: int) -> tuple[float, list[float], subprocess.CompletedProcess]:
    env = {**os.environ, "STUDIO_URL": "http://127.0.0.1:9"}  # offline: validate never connects
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
    return min(times), [round(t, 3) for t in times], result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    with (args.corpus / "EXPECTED.tsv").open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    files = [str(args.corpus / row["path"]) for row in rows]

    validate = [PY, "-m", "studio.cli.main", "validate", "--output", "json", *sum((["--file", f] for f in files), [])]
    validate_s, validate_runs, result = best_of(validate, args.repeat)
    reports = json.loads(result.stdout)
    agree = sum(
        (row["reference_verdict"] == "ok" and report["valid"])
        or (row["reference_verdict"] == "invalid" and not report["valid"])
        or (row["reference_verdict"] == "skip" and report["kind"] in ("environment", "data", "unknown"))
        for row, report in zip(rows, reports)
    )
    baseline_s, baseline_runs, _ = best_of([PY, "-c", BASELINE, *files], args.repeat)

    print(json.dumps({
        "benchmark": "studio validate over the Azure ML corpus (one process, best of runs)",
        "files": len(files),
        "agree_with_reference": agree,
        "validate_s": round(validate_s, 3),
        "validate_runs_s": validate_runs,
        "baseline_yaml_safe_load_s": round(baseline_s, 3),
        "baseline_runs_s": baseline_runs,
        "overhead_vs_baseline": round(validate_s / baseline_s, 2),
        "ms_per_file": round(validate_s / len(files) * 1000, 2),
        "under_5_s": validate_s < 5,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "bytecode_cache": not os.environ.get("PYTHONDONTWRITEBYTECODE"),
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
