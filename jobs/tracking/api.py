"""The MLflow tracking REST API (the part the ``mlflow`` client uses). Thin: parse, call, shape.

Errors are MLflow's: ``{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "..."}`` with the HTTP
status MLflow gives that code, so the client raises the exception a script expects.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.http import FileResponse, Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.tracking import selectors, services
from jobs.tracking.auth import BearerAuthentication, TrackingAccess, TrackingPrincipal
from jobs.tracking.services import TrackingError, invalid
from studio.errors import ApplicationError
from studio.parsers import JSONParser  # read under a cap; NULs and numbers beyond 64 bits refused

_STATUS_CODES = {400: "INVALID_PARAMETER_VALUE", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 404: "RESOURCE_DOES_NOT_EXIST", 409: "RESOURCE_ALREADY_EXISTS"}


def mlflow_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, TrackingError):
        return Response({"error_code": exc.error_code, "message": exc.message}, status=exc.http_status)
    if isinstance(exc, ApplicationError):
        code = _STATUS_CODES.get(exc.http_status, "BAD_REQUEST")
        return Response({"error_code": code, "message": exc.message}, status=exc.http_status)
    if isinstance(exc, Http404):
        return Response({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": str(exc) or "not found"}, status=404)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response = Response({"error_code": "UNAUTHENTICATED", "message": str(exc.detail)}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="mlflow"'
        return response
    if isinstance(exc, exceptions.PermissionDenied):
        return Response({"error_code": "PERMISSION_DENIED", "message": str(exc.detail)}, status=403)
    if isinstance(exc, exceptions.ParseError):
        return Response({"error_code": "MALFORMED_REQUEST", "message": str(exc.detail)}, status=400)
    if isinstance(exc, exceptions.APIException):
        return Response({"error_code": "BAD_REQUEST", "message": str(exc.detail)}, status=exc.status_code)
    return None


class MlflowApi(APIView):
    """Job tokens (``Bearer``) for everything; a user's API token (``Bearer`` or ``Token``) for reads."""

    authentication_classes = [BearerAuthentication, TokenAuthentication]
    permission_classes = [TrackingAccess]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    schema = None  # MLflow's API, documented by MLflow; not part of the studio's OpenAPI schema
    writes = False

    def get_exception_handler(self):
        return mlflow_exception_handler

    def body(self, request) -> Mapping:
        data = request.query_params if request.method == "GET" else request.data
        if not isinstance(data, Mapping):
            raise invalid("the request body must be a JSON object")
        return data

    def principal(self, request) -> TrackingPrincipal:
        return TrackingPrincipal.from_request(request)

    def run(self, request, data: Mapping) -> selectors.RunRef:
        # Older clients send run_uuid, newer ones run_id (and often both).
        return selectors.run_get(principal=self.principal(request),
                                 run_id=data.get("run_id") or data.get("run_uuid") or "")


# --- experiments ----------------------------------------------------------------------------------


class ExperimentGetByNameApi(MlflowApi):
    def get(self, request):
        experiment = selectors.experiment_get_by_name(principal=self.principal(request),
                                                      name=self.body(request).get("experiment_name", ""))
        return Response({"experiment": selectors.experiment_to_dict(experiment)})


class ExperimentGetApi(MlflowApi):
    def get(self, request):
        experiment = selectors.experiment_get(principal=self.principal(request),
                                              experiment_id=self.body(request).get("experiment_id"))
        return Response({"experiment": selectors.experiment_to_dict(experiment)})


class ExperimentCreateApi(MlflowApi):
    writes = True

    def post(self, request):
        job = self.principal(request).job
        experiment = services.experiment_create(workspace=job.workspace, name=self.body(request).get("name", ""))
        return Response({"experiment_id": str(experiment.id)})


class ExperimentSearchApi(MlflowApi):
    def get(self, request):
        return self.post(request)

    def post(self, request):
        data = self.body(request)
        experiments, token = selectors.experiments_search(
            principal=self.principal(request), filter_string=data.get("filter", ""),
            max_results=data.get("max_results"), page_token=data.get("page_token", ""))
        body = {"experiments": [selectors.experiment_to_dict(e) for e in experiments]}
        if token:
            body["next_page_token"] = token
        return Response(body)


# --- runs -----------------------------------------------------------------------------------------


class RunCreateApi(MlflowApi):
    writes = True

    def post(self, request):
        data = self.body(request)
        principal = self.principal(request)
        experiment_id = data.get("experiment_id")
        if experiment_id in (None, ""):
            experiment = selectors.experiment_get_by_name(principal=principal, name=principal.job.experiment_name)
        else:
            experiment = selectors.experiment_get(principal=principal, experiment_id=experiment_id)
        tags = data.get("tags") or []
        if not isinstance(tags, list):
            raise invalid("Invalid value for parameter 'tags': expected a list")
        run = services.run_create(job=principal.job, experiment=experiment, run_name=data.get("run_name") or "",
                                  start_time=data.get("start_time"), user_id=data.get("user_id") or "", tags=tags)
        ref = selectors.run_get(principal=principal, run_id=run.run_id)
        return Response({"run": selectors.runs_to_dicts([ref])[0]})


class RunGetApi(MlflowApi):
    def get(self, request):
        ref = self.run(request, self.body(request))
        return Response({"run": selectors.runs_to_dicts([ref])[0]})


class RunUpdateApi(MlflowApi):
    writes = True

    def post(self, request):
        data = self.body(request)
        ref = self.run(request, data)
        services.run_update(job=ref.job, run=ref.run, status=data.get("status"), end_time=data.get("end_time"),
                            run_name=data.get("run_name"))
        if ref.run is not None:
            ref.run.refresh_from_db()
        return Response({"run_info": selectors.run_info_to_dict(ref)})


class LogMetricApi(MlflowApi):
    writes = True

    def post(self, request):
        data = self.body(request)
        ref = self.run(request, data)
        metric = {k: data.get(k) for k in ("key", "value", "timestamp", "step")}
        services.metric_log_batch(job=ref.job, run=ref.run, metrics=[metric])
        return Response({})


class LogParamApi(MlflowApi):
    writes = True

    def post(self, request):
        data = self.body(request)
        ref = self.run(request, data)
        services.metric_log_batch(job=ref.job, run=ref.run, params=[{"key": data.get("key"), "value": data.get("value")}])
        return Response({})


class SetTagApi(MlflowApi):
    writes = True

    def post(self, request):
        data = self.body(request)
        ref = self.run(request, data)
        services.metric_log_batch(job=ref.job, run=ref.run, tags=[{"key": data.get("key"), "value": data.get("value")}])
        return Response({})


class DeleteTagApi(MlflowApi):
    writes = True

    def post(self, request):
        data = self.body(request)
        ref = self.run(request, data)
        services.run_tag_delete(job=ref.job, run=ref.run, key=data.get("key") or "")
        return Response({})


class LogBatchApi(MlflowApi):
    writes = True

    def post(self, request):
        data = self.body(request)
        ref = self.run(request, data)
        lists = {}
        for name in ("metrics", "params", "tags"):
            value = data.get(name) or []
            if not isinstance(value, list):
                raise invalid(f"Invalid value for parameter '{name}': expected a list")
            lists[name] = value
        services.metric_log_batch(job=ref.job, run=ref.run, **lists)
        return Response({})


class AcceptedIgnoredApi(MlflowApi):
    """Calls that autologging makes (dataset inputs, model outputs, the log-model history tag).
    The studio keeps nothing of them; answering OK lets the script go on, as on Azure ML."""

    writes = True

    def post(self, request):
        self.run(request, self.body(request))  # still only the job's own runs
        return Response({})


class RunSearchApi(MlflowApi):
    def post(self, request):
        data = self.body(request)
        experiment_ids = data.get("experiment_ids") or []
        if not isinstance(experiment_ids, list):
            raise invalid("Invalid value for parameter 'experiment_ids': expected a list")
        refs, token = selectors.runs_search(
            principal=self.principal(request), experiment_ids=experiment_ids,
            filter_string=data.get("filter", ""), max_results=data.get("max_results"),
            page_token=data.get("page_token", ""))
        body = {"runs": selectors.runs_to_dicts(refs)}
        if token:
            body["next_page_token"] = token
        return Response(body)


class MetricHistoryApi(MlflowApi):
    def get(self, request):
        data = self.body(request)
        ref = self.run(request, data)
        metrics, token = selectors.metric_history(ref=ref, key=data.get("metric_key", ""),
                                                  max_results=data.get("max_results"),
                                                  page_token=data.get("page_token", ""))
        body = {"metrics": metrics}
        if token:
            body["next_page_token"] = token
        return Response(body)


# --- artifacts (the mlflow-artifacts proxy: runs' artifact_uri is mlflow-artifacts:/<job>/...) ----


class ArtifactListApi(MlflowApi):
    def get(self, request):
        files = selectors.artifact_list(principal=self.principal(request), path=request.query_params.get("path", ""))
        return Response({"files": files})


class ArtifactApi(MlflowApi):
    parser_classes: list = []  # the body is the file itself, streamed to disk

    def get(self, request, path: str):
        _, _, target = selectors.artifact_path(principal=self.principal(request), path=path)
        if not target.is_file():
            raise TrackingError("RESOURCE_DOES_NOT_EXIST", f"No artifact at '{path}'")
        return FileResponse(open(target, "rb"), content_type="application/octet-stream")

    def put(self, request, path: str):
        principal = self.principal(request)
        if principal.job is None:
            raise TrackingError("PERMISSION_DENIED", "artifacts are written by their job, with its MLFLOW_TRACKING_TOKEN; "
                                                     "a user's API token can only read")
        job, rest, _ = selectors.artifact_path(principal=principal, path=path)
        services.artifact_write(job=job, path=rest, stream=request._request)
        return Response({})


# --- everything else ------------------------------------------------------------------------------


def logged_models_not_implemented(request, rest: str = ""):
    return JsonResponse({
        "error_code": "NOT_IMPLEMENTED",
        "message": "logged models (mlflow.<flavor>.log_model) are not kept by this studio yet; save the model "
                   "into ./outputs instead, e.g. mlflow.sklearn.save_model(model, 'outputs/model'), "
                   "and it is kept with the job's outputs",
    }, status=501)


def endpoint_not_found(request, rest: str = ""):
    return JsonResponse({"error_code": "ENDPOINT_NOT_FOUND",
                         "message": f"this studio does not serve {request.method} {request.path}"}, status=404)
