"""The only code that writes MLflow tracking data: ``<entity>_<action>(*, ...)``, transactional.

Every write names the job it belongs to and, for a run other than the job's own, that run
(``run=None`` is the job's own run, whose run id is the job's name). Input is checked the way
an MLflow tracking server checks it, and refused with MLflow's error codes.
"""

from __future__ import annotations

import math
import os
import posixpath
import re
import secrets
import shutil
import tempfile
import time
import uuid
from typing import BinaryIO, Iterable, Mapping

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs import storage
from jobs.models import (Job, LatestMetric, MetricPoint, Node, RunParam, RunTag, TrackingExperiment, TrackingRun,
                         TrackingToken)
from jobs.tracking.auth import token_digest
from quotas.models import Workspace
from studio.errors import ApplicationError

# MLflow's own limits (mlflow/utils/validation.py).
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
_KEY_RE = re.compile(r"^[/\w.\- :]*$")
# Folders of a job's artifacts that the studio itself writes; a script's artifacts go elsewhere.
RESERVED_ARTIFACT_FOLDERS = ("user_logs", "named-outputs")
CHILD_RUNS_FOLDER = "mlflow-runs"

ERROR_STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "NOT_IMPLEMENTED": 501,
}


class TrackingError(ApplicationError):
    """An error in MLflow's terms: ``error_code`` is one of MLflow's, with its HTTP status."""

    def __init__(self, error_code: str, message: str):
        super().__init__(message, {"error_code": error_code})
        self.error_code = error_code
        self.http_status = ERROR_STATUS[error_code]


def invalid(message: str) -> TrackingError:
    return TrackingError("INVALID_PARAMETER_VALUE", message)


def now_ms() -> int:
    return int(time.time() * 1000)


# --- what a node is told --------------------------------------------------------------------------


def job_tracking_env(*, job: Job, node: Node | None = None) -> dict[str, str]:
    """The MLflow variables a node of ``job`` gets (MLFLOW_EXPERIMENT_NAME is set by the agent),
    with a tracking token issued to that node.

    Also makes sure the job's experiment exists, so that its id is stable from the first call.
    """
    experiment_ensure(workspace=job.workspace, name=job.experiment_name)
    return {
        "MLFLOW_TRACKING_URI": settings.STUDIO_PUBLIC_URL.rstrip("/"),
        "MLFLOW_RUN_ID": job.name,
        "MLFLOW_TRACKING_TOKEN": tracking_token_issue(job=job, node=node),
        # A self-hosted studio's jobs do not report usage to MLflow's servers (a script may set it back).
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }


def tracking_token_issue(*, job: Job, node: Node | None = None) -> str:
    """A new random token for ``job`` (given to ``node``); only its hash is kept (jobs.tracking.auth)."""
    secret = secrets.token_urlsafe(32)
    row = TrackingToken.objects.create(job=job, node=node, digest=token_digest(secret))
    return f"{row.id}.{secret}"


def tracking_tokens_revoke(*, job_id: int | None = None, node_id: int | None = None) -> int:
    """Revoke every token of a job (when it ends, whatever its end) or of one node (when the node's
    processes are gone). Returns how many were still valid."""
    if job_id is None and node_id is None:
        raise ValueError("tracking_tokens_revoke: name the job or the node")
    tokens = TrackingToken.objects.filter(revoked_at__isnull=True)
    if job_id is not None:
        tokens = tokens.filter(job_id=job_id)
    if node_id is not None:
        tokens = tokens.filter(node_id=node_id)
    return tokens.update(revoked_at=timezone.now())


# --- experiments ----------------------------------------------------------------------------------


def experiment_ensure(*, workspace: Workspace, name: str) -> TrackingExperiment:
    """The workspace's experiment called ``name``, created on first use (jobs name experiments freely)."""
    found = TrackingExperiment.objects.filter(workspace=workspace, name=name).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return TrackingExperiment.objects.create(workspace=workspace, name=name)
    except IntegrityError:  # another request created it first
        return TrackingExperiment.objects.get(workspace=workspace, name=name)


def experiment_create(*, workspace: Workspace, name: str) -> TrackingExperiment:
    name = (name or "").strip()
    if not name:
        raise invalid("Invalid value '' for parameter 'name': an experiment needs a name")
    if len(name) > 255:
        raise invalid("Experiment name is longer than 255 characters")
    if TrackingExperiment.objects.filter(workspace=workspace, name=name).exists() or \
            Job.objects.filter(workspace=workspace, experiment_name=name).exists():
        raise TrackingError("RESOURCE_ALREADY_EXISTS", f"Experiment '{name}' already exists.")
    try:
        with transaction.atomic():
            return TrackingExperiment.objects.create(workspace=workspace, name=name)
    except IntegrityError:
        raise TrackingError("RESOURCE_ALREADY_EXISTS", f"Experiment '{name}' already exists.") from None


# --- runs -----------------------------------------------------------------------------------------


def run_create(
    *,
    job: Job,
    experiment: TrackingExperiment,
    run_name: str = "",
    start_time: int | None = None,
    user_id: str = "",
    tags: Iterable[Mapping] = (),
) -> TrackingRun:
    """A run the job's script started besides the job's own (nested, or after ``end_run``)."""
    if experiment.workspace_id != job.workspace_id:
        raise TrackingError("RESOURCE_DOES_NOT_EXIST", f"No experiment with id={experiment.id} in this workspace")
    clean_tags = _clean_tags(list(tags))
    parent = clean_tags.get("mlflow.parentRunId", "")
    if parent and parent != job.name and not TrackingRun.objects.filter(job=job, run_id=parent).exists():
        raise invalid(f"mlflow.parentRunId: '{parent}' is not a run of job '{job.name}'")
    run_id = uuid.uuid4().hex
    name = run_name or clean_tags.get("mlflow.runName") or f"{job.name}-{run_id[:8]}"
    clean_tags["mlflow.runName"] = name
    with transaction.atomic():
        run = TrackingRun.objects.create(
            run_id=run_id, job=job, experiment=experiment, name=name[:255], parent_run_id=parent,
            user_id=(user_id or "")[:255], start_time=_int(start_time, "start_time", default=now_ms()),
        )
        RunTag.objects.bulk_create([RunTag(job=job, run=run, key=k, value=v) for k, v in clean_tags.items()])
    return run


RUN_STATUSES = {"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"}


def run_update(*, job: Job, run: TrackingRun | None, status: str | None = None, end_time=None,
               run_name: str | None = None) -> None:
    """``mlflow.end_run()`` and friends. The job's own run follows the job: its status and end are
    the studio's to set, so only a new name is taken from the script (it becomes the display name)."""
    if status is not None and status not in RUN_STATUSES:
        raise invalid(f"Invalid value '{status}' for parameter 'status'; expected one of {sorted(RUN_STATUSES)}")
    if run is None:
        if run_name:
            job.display_name = run_name[:255]
            Job.objects.filter(id=job.id).update(display_name=job.display_name)
        return
    updates: dict = {}
    if status:
        updates["status"] = status
    if end_time not in (None, ""):
        updates["end_time"] = _int(end_time, "end_time")
    if run_name:
        updates["name"] = run_name[:255]
    with transaction.atomic():
        if updates:
            TrackingRun.objects.filter(id=run.id).update(**updates)
        if run_name:
            RunTag.objects.update_or_create(job=job, run=run, key="mlflow.runName", defaults={"value": run_name})


# --- metrics, params, tags ------------------------------------------------------------------------


def metric_log_batch(
    *,
    job: Job,
    run: TrackingRun | None = None,
    metrics: Iterable[Mapping] = (),
    params: Iterable[Mapping] = (),
    tags: Iterable[Mapping] = (),
) -> None:
    """Log metrics, params and tags in one transaction, as MLflow's ``runs/log-batch`` does.

    A handful of queries whatever the batch size. A param logged again with the same value is
    fine; with another value it is refused (INVALID_PARAMETER_VALUE) and nothing is written.
    """
    metrics, params, tags = list(metrics), list(params), list(tags)
    if len(metrics) > MAX_METRICS_PER_BATCH:
        raise invalid(f"A batch logging request can contain at most {MAX_METRICS_PER_BATCH} metrics. "
                      f"Got {len(metrics)} metrics.")
    for kind, items in (("params", params), ("tags", tags)):
        if len(items) > MAX_PARAMS_TAGS_PER_BATCH:
            raise invalid(f"A batch logging request can contain at most {MAX_PARAMS_TAGS_PER_BATCH} {kind}. "
                          f"Got {len(items)} {kind}.")
    if len(metrics) + len(params) + len(tags) > MAX_ENTITIES_PER_BATCH:
        raise invalid(f"A batch logging request can contain at most {MAX_ENTITIES_PER_BATCH} metrics, params "
                      "and tags in total.")
    points = [_clean_metric(m, f"metrics[{i}]") for i, m in enumerate(metrics)]
    clean_params = _clean_params(params)
    clean_tags = _clean_tags(tags)
    if not (points or clean_params or clean_tags):
        return
    run_id = run.run_id if run else job.name
    with transaction.atomic():
        # One writer per job at a time: keeps "latest value" and "params never change" exact when
        # several nodes (or threads) of the job log at once.
        list(Job.objects.select_for_update().filter(id=job.id).values_list("id", flat=True))
        if clean_params:
            _write_params(job, run, run_id, clean_params)
        if points:
            _write_metrics(job, run, points)
        if clean_tags:
            _write_tags(job, run, clean_tags)


def _write_params(job: Job, run: TrackingRun | None, run_id: str, params: dict[str, str]) -> None:
    existing = dict(RunParam.objects.filter(job=job, run=run, key__in=list(params)).values_list("key", "value"))
    for key, value in params.items():
        if key in existing and existing[key] != value:
            raise invalid(
                f"Changing param values is not allowed. Param with key='{key}' was already logged with "
                f"value='{existing[key]}' for run ID='{run_id}'. Attempted logging new value '{value}'."
            )
    RunParam.objects.bulk_create(
        [RunParam(job=job, run=run, key=k, value=v) for k, v in params.items() if k not in existing]
    )


def _rank(point: MetricPoint | LatestMetric) -> tuple:
    # MLflow's "latest": highest step, then newest timestamp, then largest value (NaN lowest).
    return point.step, point.timestamp, (not point.is_nan), point.value


def _write_metrics(job: Job, run: TrackingRun | None, points: list[MetricPoint]) -> None:
    for point in points:
        point.job, point.run = job, run
    MetricPoint.objects.bulk_create(points, batch_size=500)
    newest: dict[str, MetricPoint] = {}
    for point in points:
        if point.key not in newest or _rank(point) >= _rank(newest[point.key]):
            newest[point.key] = point
    latest = {m.key: m for m in LatestMetric.objects.filter(job=job, run=run, key__in=list(newest))}
    create, update = [], []
    for key, point in newest.items():
        fields = {"value": point.value, "is_nan": point.is_nan, "step": point.step, "timestamp": point.timestamp}
        current = latest.get(key)
        if current is None:
            create.append(LatestMetric(job=job, run=run, key=key, **fields))
        elif _rank(point) >= _rank(current):
            for name, value in fields.items():
                setattr(current, name, value)
            update.append(current)
    LatestMetric.objects.bulk_create(create)
    LatestMetric.objects.bulk_update(update, ["value", "is_nan", "step", "timestamp"])


def _write_tags(job: Job, run: TrackingRun | None, tags: dict[str, str]) -> None:
    existing = {t.key: t for t in RunTag.objects.filter(job=job, run=run, key__in=list(tags))}
    changed = []
    for key, value in tags.items():
        if key in existing and existing[key].value != value:
            existing[key].value = value
            changed.append(existing[key])
    RunTag.objects.bulk_create([RunTag(job=job, run=run, key=k, value=v) for k, v in tags.items() if k not in existing])
    RunTag.objects.bulk_update(changed, ["value"])
    if run is not None and "mlflow.runName" in tags:
        TrackingRun.objects.filter(id=run.id).update(name=tags["mlflow.runName"][:255])


def run_tag_delete(*, job: Job, run: TrackingRun | None, key: str) -> None:
    deleted, _ = RunTag.objects.filter(job=job, run=run, key=key).delete()
    if not deleted:
        raise TrackingError("RESOURCE_DOES_NOT_EXIST",
                            f"No tag with name: {key} in run with id {run.run_id if run else job.name}")


# --- artifacts ------------------------------------------------------------------------------------


def artifact_write(*, job: Job, path: str, stream: BinaryIO) -> None:
    """``mlflow.log_artifact``: keep a file among the job's artifacts (its ``studio job download``).

    ``path`` is relative to the job's artifact folder; the studio's own folders (user_logs,
    named-outputs) are refused, and so is anything that would leave the folder.
    """
    parts = _artifact_parts(path)
    if parts[0] in RESERVED_ARTIFACT_FOLDERS:
        raise invalid(f"artifact path '{path}': '{parts[0]}/' is kept by the studio itself; "
                      "log the artifact under another folder (for example outputs/)")
    root = storage.artifacts_dir(job.files)
    root.mkdir(parents=True, exist_ok=True)
    target = root.joinpath(*parts)
    _check_inside(root, target.parent, path)  # an existing folder on the way may be a symlink
    if target.is_dir():
        raise invalid(f"artifact path '{path}' is a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    _check_inside(root, target.parent, path)
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            shutil.copyfileobj(stream, out, 1024 * 1024)
        os.chmod(tmp, 0o644)  # like the outputs the node keeps (mkstemp makes it private)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _check_inside(root, folder, path: str) -> None:
    root, folder = root.resolve(), folder.resolve()
    if folder != root and root not in folder.parents:
        raise invalid(f"artifact path '{path}' leaves the run's artifacts")


def _artifact_parts(path: str) -> list[str]:
    norm = posixpath.normpath(path or "")
    parts = [p for p in norm.split("/") if p]
    if not parts or norm.startswith("/") or norm == "." or ".." in norm.split("/") or "\x00" in norm:
        raise invalid(f"artifact path '{path}' is not a relative path inside the run's artifacts")
    return parts


# --- input checks, in MLflow's words --------------------------------------------------------------


def _clean_key(key, path: str) -> str:
    if key is None or key == "":
        raise invalid(f"Missing value for required parameter '{path}.key'")
    if not isinstance(key, str):
        raise invalid(f"Invalid value {key!r} for parameter '{path}.key': expected a string")
    if len(key) > MAX_KEY_LENGTH:
        raise invalid(f"'{path}.key' exceeds the maximum length of {MAX_KEY_LENGTH}")
    if not _KEY_RE.match(key):
        raise invalid(f"Invalid value '{key}' for parameter '{path}.key': Names may only contain alphanumerics, "
                      "underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).")
    norm = posixpath.normpath(key)
    if norm != key or norm == "." or norm.startswith("..") or norm.startswith("/"):
        raise invalid(f"Invalid value '{key}' for parameter '{path}.key': names may be treated as files and must "
                      f"not resolve to other names; this one would resolve to '{norm}'")
    return key


def _int(value, name: str, *, default: int | None = None) -> int:
    if value is None or value == "":
        if default is None:
            raise invalid(f"Missing value for required parameter '{name}'")
        return default
    if isinstance(value, bool):
        raise invalid(f"Invalid value {value!r} for parameter '{name}': expected an integer")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid value {value!r} for parameter '{name}': expected an integer") from None
    if isinstance(value, float) and number != value:
        raise invalid(f"Invalid value {value!r} for parameter '{name}': expected an integer")
    if not -(2**63) <= number < 2**63:
        raise invalid(f"Invalid value {value!r} for parameter '{name}': out of range")
    return number


def _float(value, name: str) -> float:
    if isinstance(value, bool) or value is None or value == "":
        raise invalid(f"Invalid value {value!r} for parameter '{name}': expected a number")
    try:
        return float(value)  # protobuf's JSON also writes "NaN", "Infinity", "-Infinity" and "1.5"
    except (TypeError, ValueError):
        raise invalid(f"Invalid value {value!r} for parameter '{name}': expected a number") from None


def _clean_metric(metric, path: str) -> MetricPoint:
    if not isinstance(metric, Mapping):
        raise invalid(f"Invalid value for parameter '{path}': expected an object with key, value, timestamp, step")
    key = _clean_key(metric.get("key"), path)
    value = _float(metric.get("value"), f"{path}.value")
    nan = math.isnan(value)
    return MetricPoint(
        key=key, value=0.0 if nan else value, is_nan=nan,
        step=_int(metric.get("step"), f"{path}.step", default=0),
        timestamp=_int(metric.get("timestamp"), f"{path}.timestamp", default=now_ms()),
    )


def _scalar(value, name: str, limit: int) -> str:
    if isinstance(value, (dict, list)):
        raise invalid(f"Invalid value for parameter '{name}': expected a string")
    text = "" if value is None else str(value)
    if len(text) > limit:
        raise invalid(f"'{name}' exceeds the maximum length of {limit} characters")
    return text


def _clean_params(params: list) -> dict[str, str]:
    clean: dict[str, str] = {}
    for i, param in enumerate(params):
        if not isinstance(param, Mapping):
            raise invalid(f"Invalid value for parameter 'params[{i}]': expected an object with key and value")
        key = _clean_key(param.get("key"), f"params[{i}]")
        value = _scalar(param.get("value"), f"params[{i}].value", MAX_PARAM_VALUE_LENGTH)
        if key in clean and clean[key] != value:
            raise invalid(f"Duplicate parameter keys have been submitted: '{key}'. Please ensure the request "
                          "contains only one param value per param key.")
        clean[key] = value
    return clean


def _clean_tags(tags: list) -> dict[str, str]:
    clean: dict[str, str] = {}
    for i, tag in enumerate(tags):
        if not isinstance(tag, Mapping):
            raise invalid(f"Invalid value for parameter 'tags[{i}]': expected an object with key and value")
        key = _clean_key(tag.get("key"), f"tags[{i}]")
        clean[key] = _scalar(tag.get("value"), f"tags[{i}].value", MAX_TAG_VALUE_LENGTH)
    return clean
