"""Reads of tracking data, scoped to the caller, shaped as MLflow's REST API shapes them.

A job (its token) sees its own runs and its workspace's experiments; a user (API token) sees
the runs of every job in their workspaces. A run id is a job's name (the job's own run) or the
id of a ``TrackingRun`` the job's script created.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Q, QuerySet

from jobs import storage
from jobs.lifecycle import PENDING, Status
from jobs.models import (
    Job,
    LatestMetric,
    MetricPoint,
    RunParam,
    RunTag,
    TrackingExperiment,
    TrackingRun,
)
from jobs.tracking import services
from jobs.tracking.auth import TrackingPrincipal
from jobs.tracking.services import CHILD_RUNS_FOLDER, TrackingError, invalid
from quotas.models import Workspace

MAX_RESULTS_DEFAULT = 1000
MAX_RESULTS_LIMIT = 50000


@dataclass(frozen=True)
class RunRef:
    job: Job
    run: TrackingRun | None  # None: the job's own run

    @property
    def run_id(self) -> str:
        return self.run.run_id if self.run else self.job.name


def _jobs_in_scope(principal: TrackingPrincipal) -> QuerySet[Job]:
    if principal.job is not None:
        return Job.objects.filter(id=principal.job.id)
    return Job.objects.filter(workspace__members=principal.user)


def _workspaces_in_scope(principal: TrackingPrincipal) -> QuerySet[Workspace]:
    if principal.job is not None:
        return Workspace.objects.filter(id=principal.job.workspace_id)
    return Workspace.objects.filter(members=principal.user)


def run_get(*, principal: TrackingPrincipal, run_id: str) -> RunRef:
    """The run ``run_id`` if the caller may reach it; a job only reaches its own runs."""
    if not run_id:
        raise invalid("Missing value for required parameter 'run_id'")
    if principal.job is not None and run_id == principal.job.name:
        return RunRef(job=principal.job, run=None)  # the common case: a job logging to its own run
    # Only runs in the caller's scope are looked for: a job's token is refused every other run alike
    # and a user is told "not found" alike, whether another workspace has such a run or not.
    child = (TrackingRun.objects.select_related("job__workspace", "job__submitted_by", "experiment")
             .filter(run_id=run_id, job__in=_jobs_in_scope(principal)).first())
    if child is not None:
        return RunRef(job=child.job, run=child)
    if principal.job is not None:
        raise TrackingError(
            "PERMISSION_DENIED",
            f"this tracking token belongs to another job (the one whose run is MLFLOW_RUN_ID) and cannot "
            f"reach run '{run_id}'",
        )
    job = _jobs_in_scope(principal).select_related("workspace", "submitted_by").filter(name=run_id) \
        .order_by("-created_at", "-id").first()
    if job is None:
        raise TrackingError("RESOURCE_DOES_NOT_EXIST", f"Run '{run_id}' not found")
    return RunRef(job=job, run=None)


# --- shapes ---------------------------------------------------------------------------------------


def metric_value(value: float, is_nan: bool = False) -> float | str:
    """Protobuf's JSON for doubles: NaN and infinities are strings (JSON has no such numbers)."""
    if is_nan or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _ms(moment) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


def run_status(job: Job) -> str:
    """The job's status in MLflow's words (the job's own run follows the job)."""
    if job.status in PENDING:
        return "SCHEDULED"
    ended = {Status.COMPLETED: "FINISHED", Status.FAILED: "FAILED", Status.CANCELED: "KILLED"}
    return ended.get(job.status, "RUNNING")


def artifact_uri(ref: RunRef) -> str:
    base = f"mlflow-artifacts:/{ref.job.name}"
    return f"{base}/{CHILD_RUNS_FOLDER}/{ref.run.run_id}" if ref.run else base


def experiment_to_dict(experiment: TrackingExperiment) -> dict:
    created = _ms(experiment.created_at)
    return {"experiment_id": str(experiment.id), "name": experiment.name, "artifact_location": "",
            "lifecycle_stage": "active", "creation_time": created, "last_update_time": created, "tags": []}


def _experiment_ids(jobs: list[Job]) -> dict[tuple[int, str], int]:
    wanted = {(job.workspace_id, job.experiment_name) for job in jobs}
    found = {
        (e.workspace_id, e.name): e.id
        for e in TrackingExperiment.objects.filter(workspace_id__in={w for w, _ in wanted},
                                                  name__in={n for _, n in wanted})
    }
    for job in jobs:
        key = (job.workspace_id, job.experiment_name)
        if key not in found:
            found[key] = services.experiment_ensure(workspace=job.workspace, name=job.experiment_name).id
    return found


def runs_to_dicts(refs: list[RunRef]) -> list[dict]:
    """MLflow ``Run`` objects for ``refs``, with their latest metrics, params and tags (3 queries)."""
    job_ids = {ref.job.id for ref in refs}
    data: dict[tuple[int, int | None], dict[str, list]] = {}

    def bucket(job_id, run_id):
        return data.setdefault((job_id, run_id), {"metrics": [], "params": [], "tags": []})

    for m in LatestMetric.objects.filter(job_id__in=job_ids).order_by("key"):
        bucket(m.job_id, m.run_id)["metrics"].append(
            {"key": m.key, "value": metric_value(m.value, m.is_nan), "timestamp": m.timestamp, "step": m.step})
    for p in RunParam.objects.filter(job_id__in=job_ids).order_by("key"):
        bucket(p.job_id, p.run_id)["params"].append({"key": p.key, "value": p.value})
    for t in RunTag.objects.filter(job_id__in=job_ids).order_by("key"):
        bucket(t.job_id, t.run_id)["tags"].append({"key": t.key, "value": t.value})
    experiments = _experiment_ids([ref.job for ref in refs if ref.run is None])

    out = []
    for ref in refs:
        job, run = ref.job, ref.run
        run_data = data.get((job.id, run.id if run else None), {"metrics": [], "params": [], "tags": []})
        if run is None:
            logged = {t["key"] for t in run_data["tags"]}
            own = {str(k): str(v) for k, v in (job.tags or {}).items()}
            own.setdefault("mlflow.runName", job.display_name or job.name)
            own.setdefault("mlflow.user", job.submitted_by.get_username())
            if job.parent_id:
                own.setdefault("mlflow.parentRunId", job.parent.name)
            tags = run_data["tags"] + [{"key": k, "value": v} for k, v in own.items() if k not in logged]
            info = {
                "run_id": job.name, "run_uuid": job.name, "run_name": job.display_name or job.name,
                "experiment_id": str(experiments[(job.workspace_id, job.experiment_name)]),
                "user_id": job.submitted_by.get_username(), "status": run_status(job),
                "start_time": _ms(job.started_at or job.created_at), "end_time": _ms(job.ended_at),
                "artifact_uri": artifact_uri(ref), "lifecycle_stage": "active",
            }
        else:
            tags = run_data["tags"]
            info = {
                "run_id": run.run_id, "run_uuid": run.run_id, "run_name": run.name,
                "experiment_id": str(run.experiment_id), "user_id": run.user_id, "status": run.status,
                "start_time": run.start_time, "end_time": run.end_time,
                "artifact_uri": artifact_uri(ref), "lifecycle_stage": "active",
            }
        out.append({"info": {k: v for k, v in info.items() if v is not None},
                    "data": {"metrics": run_data["metrics"], "params": run_data["params"],
                             "tags": sorted(tags, key=lambda t: t["key"])},
                    "inputs": {}})
    return out


def run_info_to_dict(ref: RunRef) -> dict:
    return runs_to_dicts([ref])[0]["info"]


# --- experiments ----------------------------------------------------------------------------------


def experiment_get(*, principal: TrackingPrincipal, experiment_id) -> TrackingExperiment:
    text = str(experiment_id or "")
    found = None
    if text.isdigit():
        found = TrackingExperiment.objects.filter(id=int(text), workspace__in=_workspaces_in_scope(principal)).first()
    if found is None:
        raise TrackingError("RESOURCE_DOES_NOT_EXIST", f"No Experiment with id={text} exists")
    return found


def experiment_get_by_name(*, principal: TrackingPrincipal, name: str) -> TrackingExperiment:
    if not name:
        raise invalid("Missing value for required parameter 'experiment_name'")
    workspaces = _workspaces_in_scope(principal).order_by("name")
    found = TrackingExperiment.objects.filter(name=name, workspace__in=workspaces).order_by("workspace__name").first()
    if found is not None:
        return found
    job = _jobs_in_scope(principal).filter(experiment_name=name).select_related("workspace").first()
    if job is None:
        raise TrackingError("RESOURCE_DOES_NOT_EXIST", f"Could not find experiment with name '{name}'")
    return services.experiment_ensure(workspace=job.workspace, name=name)


_NAME_FILTER = re.compile(r"""^\s*(?:attributes\.)?name\s*=\s*(['"])(?P<name>.*)\1\s*$""")


def experiments_search(*, principal: TrackingPrincipal, filter_string: str = "", max_results=None,
                       page_token: str = "") -> tuple[list[TrackingExperiment], str | None]:
    workspaces = _workspaces_in_scope(principal)
    # Jobs name experiments freely; make sure each has its row (and id) before listing.
    existing = set(TrackingExperiment.objects.filter(workspace__in=workspaces).values_list("workspace_id", "name"))
    missing = set(_jobs_in_scope(principal).values_list("workspace_id", "experiment_name").distinct()) - existing
    if missing:
        by_id = {w.id: w for w in Workspace.objects.filter(id__in={w for w, _ in missing})}
        for workspace_id, name in sorted(missing):
            services.experiment_ensure(workspace=by_id[workspace_id], name=name)
    experiments = TrackingExperiment.objects.filter(workspace__in=workspaces).order_by("id")
    if filter_string and filter_string.strip():
        match = _NAME_FILTER.match(filter_string)
        if not match:
            raise invalid(f"Unsupported filter '{filter_string}': this studio searches experiments by "
                          "\"name = '<name>'\" only")
        experiments = experiments.filter(name=match["name"])
    return _page(experiments, max_results, page_token)


def _limit(max_results) -> int:
    if max_results in (None, ""):
        return MAX_RESULTS_DEFAULT
    try:
        value = int(max_results)
    except (TypeError, ValueError):
        raise invalid(f"Invalid value {max_results!r} for parameter 'max_results': expected an integer") from None
    if not 0 < value <= MAX_RESULTS_LIMIT:
        raise invalid(f"Invalid value {value} for parameter 'max_results': it must be between 1 and "
                      f"{MAX_RESULTS_LIMIT}")
    return value


_MAX_ID = 2 ** 63 - 1  # the database's largest id and offset


def _offset(page_token) -> int:
    if not page_token:
        return 0
    if not str(page_token).isdigit() or int(page_token) > _MAX_ID:
        raise invalid(f"Invalid page token '{page_token}'")
    return int(page_token)


def _page(items, max_results, page_token):
    limit, offset = _limit(max_results), _offset(page_token)
    page = list(items[offset:offset + limit + 1])
    more = len(page) > limit
    return page[:limit], (str(offset + limit) if more else None)


# --- runs -----------------------------------------------------------------------------------------


_PARENT_FILTER = re.compile(r"""^\s*tags\.(?:`mlflow\.parentRunId`|"mlflow\.parentRunId"|mlflow\.parentRunId)"""
                            r"""\s*=\s*(['"])(?P<parent>[^'"]*)\1\s*$""")


def runs_search(*, principal: TrackingPrincipal, experiment_ids: list, filter_string: str = "",
                max_results=None, page_token: str = "") -> tuple[list[RunRef], str | None]:
    """Runs of the given experiments, newest first. Filters: none, or ``tags.mlflow.parentRunId = '<id>'``."""
    limit, offset = _limit(max_results), _offset(page_token)
    ids = [int(i) for i in experiment_ids or [] if str(i).isdigit() and int(i) <= _MAX_ID]  # no such experiment
    experiments = list(TrackingExperiment.objects.filter(id__in=ids, workspace__in=_workspaces_in_scope(principal)))
    if not experiments:
        return [], None
    jobs = _jobs_in_scope(principal).filter(
        _any(Q(workspace_id=e.workspace_id, experiment_name=e.name) for e in experiments))
    children = TrackingRun.objects.filter(experiment__in=experiments, job__in=_jobs_in_scope(principal))
    if filter_string and filter_string.strip():
        match = _PARENT_FILTER.match(filter_string)
        if not match:
            raise invalid(f"Unsupported filter '{filter_string}': this studio searches runs without a filter or "
                          "by \"tags.mlflow.parentRunId = '<run id>'\" only")
        jobs = jobs.filter(parent__name=match["parent"])
        children = children.filter(parent_run_id=match["parent"])
    wanted = offset + limit + 1
    job_rows = list(jobs.select_related("workspace", "submitted_by", "parent").order_by("-created_at", "-id")[:wanted])
    child_rows = list(children.select_related("job__workspace", "job__submitted_by").order_by("-start_time", "-id")[:wanted])
    merged = sorted(
        [(_ms(j.started_at or j.created_at), RunRef(j, None)) for j in job_rows]
        + [(r.start_time, RunRef(r.job, r)) for r in child_rows],
        key=lambda pair: pair[0], reverse=True,
    )
    page = [ref for _, ref in merged[offset:offset + limit + 1]]
    more = len(page) > limit
    return page[:limit], (str(offset + limit) if more else None)


def _any(queries) -> Q:
    combined = Q(pk__in=[])
    for query in queries:
        combined |= query
    return combined


def metric_history(*, ref: RunRef, key: str, max_results=None, page_token: str = "") -> tuple[list[dict], str | None]:
    if not key:
        raise invalid("Missing value for required parameter 'metric_key'")
    points = (MetricPoint.objects.filter(job=ref.job, run=ref.run, key=key).order_by("step", "timestamp", "id")
              .values_list("value", "is_nan", "timestamp", "step"))
    if max_results in (None, "") and not page_token:
        rows, token = list(points), None
    else:
        rows, token = _page(points, max_results, page_token)
    return [{"key": key, "value": metric_value(v, nan), "timestamp": ts, "step": step, "run_id": ref.run_id}
            for v, nan, ts, step in rows], token


# --- what the studio's own API shows --------------------------------------------------------------


def job_metrics(*, job: Job) -> dict:
    """Everything the job's own run logged: each metric's history, the params and the tags."""
    metrics: dict[str, list[dict]] = {}
    for key, value, nan, step, timestamp in (
        MetricPoint.objects.filter(job=job, run=None).order_by("key", "step", "timestamp", "id")
        .values_list("key", "value", "is_nan", "step", "timestamp").iterator()
    ):
        metrics.setdefault(key, []).append({"step": step, "value": metric_value(value, nan), "timestamp": timestamp})
    params = dict(RunParam.objects.filter(job=job, run=None).order_by("key").values_list("key", "value"))
    tags = dict(RunTag.objects.filter(job=job, run=None).order_by("key").values_list("key", "value"))
    return {"metrics": metrics, "params": params, "tags": tags}


def job_latest_metrics(*, job: Job) -> dict[str, float | str]:
    """Each metric's latest value in the job's own run (one query)."""
    return {key: metric_value(value, nan) for key, value, nan in
            LatestMetric.objects.filter(job=job, run=None).order_by("key").values_list("key", "value", "is_nan")}


# --- artifacts ------------------------------------------------------------------------------------


def artifact_path(*, principal: TrackingPrincipal, path: str) -> tuple[Job, str, Path]:
    """``<job>/<path in its artifacts>`` (as ``mlflow-artifacts:/`` URIs name them): the job, the
    relative path, and the file or folder, if the caller may reach that job."""
    path = (path or "").strip("/")
    name, _, rest = path.partition("/")
    if not name:
        raise invalid("artifact path: expected '<run's job>/<path>'")
    job = _jobs_in_scope(principal).filter(name=name).order_by("-created_at", "-id").first()
    if job is None:
        if principal.job is not None:  # refused alike whether another job of that name exists or not
            raise TrackingError("PERMISSION_DENIED", "this tracking token belongs to another job (the one whose run "
                                                     f"is MLFLOW_RUN_ID) and cannot reach the artifacts of '{name}'")
        raise TrackingError("RESOURCE_DOES_NOT_EXIST", f"No artifacts for run '{name}'")
    root = storage.artifacts_dir(job.files).resolve()
    target = (root / rest).resolve() if rest else root
    if target != root and root not in target.parents:
        raise invalid(f"artifact path '{path}' leaves the run's artifacts")
    return job, rest, target


def artifact_list(*, principal: TrackingPrincipal, path: str) -> list[dict]:
    _, _, folder = artifact_path(principal=principal, path=path)
    if not folder.is_dir():
        return []
    files = []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink() or entry.name.startswith(".upload-"):
            continue
        if entry.is_dir():
            files.append({"path": entry.name, "is_dir": True})
        else:
            files.append({"path": entry.name, "is_dir": False, "file_size": entry.stat().st_size})
    return files
