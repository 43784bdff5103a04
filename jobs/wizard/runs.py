"""Where wizard runs live: their state in the session, their uploads on disk.

Each run has its own id (in its URLs), so two tabs are two runs that never clash:

    session["wizard_runs"][<run id>] = {"started": <unix time>, "state": {...}}   # state.py's dict
    STUDIO_DATA_DIR/wizard/<run id>/code.tar.gz, inputs/<name>.tar.gz           # the uploads

A session keeps its newest MAX_RUNS runs; older ones (and their files) are dropped. Files of runs
whose session is gone are removed after SESSION_COOKIE_AGE. A run ends (files removed) when its
job is submitted.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest

SESSION_KEY = "wizard_runs"
MAX_RUNS = 8
RUN_ID = re.compile(r"[0-9a-f]{16}")
INPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def root() -> Path:
    return Path(settings.STUDIO_DATA_DIR) / "wizard"


def run_dir(run_id: str) -> Path:
    if not RUN_ID.fullmatch(run_id):
        raise ValueError(f"not a wizard run id: {run_id!r}")
    return root() / run_id


def code_archive(run_id: str) -> Path:
    return run_dir(run_id) / "code.tar.gz"


def input_archive(run_id: str, name: str) -> Path:
    if not INPUT_NAME.fullmatch(name):
        raise ValueError(f"not an input name: {name!r}")
    return run_dir(run_id) / "inputs" / f"{name}.tar.gz"


def staging_dir(run_id: str) -> Path:
    """Uploads of a POST that has not validated yet; moved into place only when it does."""
    return run_dir(run_id) / "staging"


def _runs(request: HttpRequest) -> dict:
    return request.session.setdefault(SESSION_KEY, {})


def run_start(request: HttpRequest, state: dict) -> str:
    runs = _runs(request)
    run_id = secrets.token_hex(8)
    runs[run_id] = {"started": time.time(), "state": state}
    for old in sorted(runs, key=lambda key: runs[key]["started"])[:-MAX_RUNS]:
        runs.pop(old)
        shutil.rmtree(run_dir(old), ignore_errors=True)
    request.session.modified = True
    _sweep_abandoned(keep=set(runs))
    return run_id


def run_load(request: HttpRequest, run_id: str) -> dict | None:
    if not RUN_ID.fullmatch(run_id or ""):
        return None
    entry = request.session.get(SESSION_KEY, {}).get(run_id)
    return entry["state"] if entry else None


def run_store(request: HttpRequest, run_id: str, state: dict) -> None:
    runs = _runs(request)
    runs[run_id] = {"started": runs.get(run_id, {}).get("started", time.time()), "state": state}
    request.session.modified = True


def run_end(request: HttpRequest, run_id: str) -> None:
    _runs(request).pop(run_id, None)
    request.session.modified = True
    shutil.rmtree(run_dir(run_id), ignore_errors=True)


def sync_files(run_id: str, state: dict, *, code: Path | None = None, inputs: dict[str, Path] | None = None) -> None:
    """After a step validated: move its staged uploads into place (`code`, and `inputs` by input
    name) and remove the files of uploads the run no longer has."""
    if code is not None:
        code.replace(code_archive(run_id))
    elif not state.get("code"):
        code_archive(run_id).unlink(missing_ok=True)
    folder = run_dir(run_id) / "inputs"
    for name, staged in (inputs or {}).items():
        folder.mkdir(parents=True, exist_ok=True)
        staged.replace(input_archive(run_id, name))
    keep = {f"{name}.tar.gz" for name in state.get("data") or {}}
    for path in folder.glob("*.tar.gz") if folder.exists() else []:
        if path.name not in keep:
            path.unlink(missing_ok=True)
    shutil.rmtree(staging_dir(run_id), ignore_errors=True)


def _sweep_abandoned(*, keep: set[str]) -> None:
    folder = root()
    if not folder.is_dir():
        return
    cutoff = time.time() - settings.SESSION_COOKIE_AGE
    for path in folder.iterdir():
        try:
            if path.name not in keep and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue
