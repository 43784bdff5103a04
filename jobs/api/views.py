"""One API view per operation; each parses input, calls a service or selector, shapes output."""

from __future__ import annotations

import io
import tarfile

import yaml
from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import parsers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import selectors, services
from jobs.api.serializers import (
    ExplainOutputSerializer,
    JobDetailOutputSerializer,
    JobOutputSerializer,
    JobSubmitInputSerializer,
    LogOutputSerializer,
    OutputFileSerializer,
)
from jobs.lifecycle import TERMINAL
from jobs.models import Job
from jobs.scheduling import core
from jobs.specs import SpecError, load_command_job
from jobs.specs.overrides import with_name
from jobs.specs.yaml_loader import check_data
from jobs.tracking import selectors as tracking_selectors
from studio import parsers as studio_parsers
from studio.errors import ApplicationError


class YAMLParser(parsers.BaseParser):
    """A raw YAML body is the job file itself."""

    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = studio_parsers.read_capped(stream, (parser_context or {}).get("request"))
        return {"spec": raw.decode("utf-8", errors="replace")}


class TextYAMLParser(YAMLParser):
    media_type = "text/yaml"


def _spec_text(raw) -> str:
    limit = settings.STUDIO_SPEC_MAX_BYTES
    if isinstance(raw, dict):
        try:  # before yaml.safe_dump, which recurses: deep nesting, NULs, huge numbers are refused here
            check_data(raw, max_bytes=limit)
        except SpecError as exc:
            raise _spec_error(exc, prefix="spec") from None
        return yaml.safe_dump(raw, sort_keys=False)
    if hasattr(raw, "read"):
        if (getattr(raw, "size", 0) or 0) > limit:
            raise studio_parsers.too_large(raw.size, limit, "STUDIO_SPEC_MAX_BYTES", "the job file")
        raw = raw.read(limit + 1)
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ApplicationError("spec: the job file is not UTF-8 text; save it as UTF-8", {"field": "spec"}) from None
    if not isinstance(raw, str):
        raise ApplicationError("spec: expected the job file as YAML text or a JSON object", {"field": "spec"})
    return raw


def _object_body(request):
    """The body's fields; a JSON body must be an object."""
    if not hasattr(request.data, "get"):
        raise ApplicationError("body: expected a JSON object such as {\"spec\": \"command: ...\"}",
                               {"field": "body"})
    return request.data


def _spec_error(exc: SpecError, *, prefix: str = "") -> ApplicationError:
    """The spec layer's problems as one readable message plus every issue with its position
    (`prefix`: the body field the spec came in, for data checked before it was read as YAML)."""
    issues = [issue.to_dict() for issue in exc.issues]
    if not exc.issues:
        return ApplicationError(str(exc), {"errors": []})
    first = exc.issues[0]
    path = ".".join(part for part in (prefix, first.path) if part)
    message = f"{path}: {first.message}" if path else first.message
    if first.line is not None:
        message += f" (line {first.line}, column {first.column})"
    if len(issues) > 1:
        message += f"; and {len(issues) - 1} more problem{'s' if len(issues) > 2 else ''}"
    return ApplicationError(message, {"errors": issues})


class JobListCreateApi(APIView):
    parser_classes = [studio_parsers.JSONParser, studio_parsers.MultiPartParser, YAMLParser, TextYAMLParser]

    class Pagination(PageNumberPagination):
        page_size = 50
        page_size_query_param = "page_size"
        max_page_size = 500

    @extend_schema(
        parameters=[OpenApiParameter(p, str) for p in
                    ("status", "type", "experiment", "compute", "workspace", "submitted_by", "parent", "search")],
        responses=JobOutputSerializer(many=True),
    )
    def get(self, request):
        jobs = selectors.job_list_for_user(user=request.user, filters=request.query_params)
        paginator = self.Pagination()
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response(JobOutputSerializer(page, many=True).data)

    @extend_schema(request=JobSubmitInputSerializer, responses={201: JobDetailOutputSerializer})
    def post(self, request):
        data = _object_body(request)
        body = {
            "spec": data.get("spec"),
            "set": data.getlist("set") if hasattr(data, "getlist") else data.get("set", []),
            **{k: data.get(k) for k in ("name", "workspace") if data.get(k)},
        }
        if body["spec"] is None and "spec" in request.FILES:
            body["spec"] = request.FILES["spec"]
        if body["spec"] is None:
            raise ApplicationError("spec: required; send the job file as YAML", {"field": "spec"})
        if hasattr(body["spec"], "read"):
            body["spec"] = _spec_text(body["spec"])
        serializer = JobSubmitInputSerializer(data=body)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        overrides = with_name(values.get("set") or [], values.get("name"))
        text = _spec_text(values["spec"])
        try:
            spec = load_command_job(text, source="spec", overrides=overrides,
                                    max_bytes=settings.STUDIO_SPEC_MAX_BYTES)
        except SpecError as exc:
            raise _spec_error(exc) from None
        workspace = selectors.workspace_for_submit(user=request.user, name=values.get("workspace"))
        inputs = {key.split(".", 1)[1]: f for key, f in request.FILES.items() if key.startswith("inputs.")}
        job = services.job_submit(user=request.user, workspace=workspace, spec=spec, spec_yaml=text,
                                  code=request.FILES.get("code"), inputs=inputs)
        job = Job.objects.select_related("workspace", "submitted_by", "parent").get(id=job.id)
        return Response(JobDetailOutputSerializer(job).data, status=status.HTTP_201_CREATED)


def _job(request, name: str) -> Job:
    """The caller's job ``name`` (``?workspace=`` says which, when two of their workspaces have one)."""
    return selectors.job_get_for_user(user=request.user, name=name, workspace=request.query_params.get("workspace"))


class JobDetailApi(APIView):
    @extend_schema(responses=JobDetailOutputSerializer)
    def get(self, request, name: str):
        job = _job(request, name)
        return Response(JobDetailOutputSerializer(job).data)


class JobCancelApi(APIView):
    @extend_schema(request=None, responses=JobDetailOutputSerializer)
    def post(self, request, name: str):
        job = _job(request, name)
        job = services.job_cancel(job=job, user=request.user)
        return Response(JobDetailOutputSerializer(job).data)


class JobLogsApi(APIView):
    @extend_schema(parameters=[OpenApiParameter("offset", int), OpenApiParameter("node", int)],
                   responses=LogOutputSerializer)
    def get(self, request, name: str):
        job = _job(request, name)
        offset = _int_param(request, "offset", 0)
        node = _int_param(request, "node", 0)
        # Read the status before the log, so "finished" never hides a last piece of text.
        job_status = Job.objects.values_list("status", flat=True).get(id=job.id)
        result = selectors.job_log_read(job=job, node_index=node, offset=offset)
        finished = job_status in TERMINAL
        return Response(LogOutputSerializer({**result, "status": job_status, "finished": finished}).data)


class JobMetricsApi(APIView):
    """What the job's script logged with MLflow: each metric's history, its params and its tags."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, name: str):
        job = _job(request, name)
        return Response(tracking_selectors.job_metrics(job=job))


def _int_param(request, key: str, default: int) -> int:
    raw = request.query_params.get(key)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApplicationError(f"{key}: expected a whole number, got '{raw}'", {"field": key}) from None
    if value < 0:
        raise ApplicationError(f"{key}: must be 0 or more", {"field": key})
    return value


class JobOutputsApi(APIView):
    @extend_schema(responses=OutputFileSerializer(many=True))
    def get(self, request, name: str):
        job = _job(request, name)
        return Response(OutputFileSerializer(selectors.job_outputs(job=job), many=True).data)


class JobOutputDownloadApi(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, name: str, path: str = ""):
        job = _job(request, name)
        target = selectors.job_output_path(job=job, path=path)
        if target.is_file():
            return FileResponse(open(target, "rb"), as_attachment=True, filename=target.name)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            archive.add(target, arcname=target.name if path else job.name)
        response = HttpResponse(buffer.getvalue(), content_type="application/gzip")
        response["Content-Disposition"] = f'attachment; filename="{target.name if path else job.name}.tar.gz"'
        return response


def explanation(decision: core.Decision, *, now=None) -> dict:
    """A decision about a job not yet submitted, in the API's words (the CLI and wizard show it)."""
    body = {"decision": type(decision).__name__.lower(), "code": getattr(decision, "code", None),
            "reason": decision.reason, "message": decision.reason, "position": None, "estimated_start": None,
            "basis": "", "recommendations": []}
    if isinstance(decision, core.Wait):
        estimate = decision.estimate
        body.update(position=decision.position, basis=decision.basis,
                    message=core.describe_wait(reason=decision.reason, position=decision.position, estimate=estimate,
                                               basis=decision.basis, now=now or timezone.now()),
                    estimated_start=None if estimate is None else {"earliest": estimate.earliest,
                                                                   "latest": estimate.latest})
    if isinstance(decision, core.Reject):
        body["recommendations"] = list(decision.recommendations)
    if body["code"] is not None:
        body["code"] = str(body["code"])
    return body


class ExplainApi(APIView):
    """Will this job fit? The scheduling service's answer, without submitting anything."""

    parser_classes = [studio_parsers.JSONParser, YAMLParser, TextYAMLParser]

    @extend_schema(request=JobSubmitInputSerializer, responses=ExplainOutputSerializer)
    def post(self, request):
        data = _object_body(request)
        serializer = JobSubmitInputSerializer(data={key: data[key] for key in ("spec", "set", "workspace")
                                                    if data.get(key) is not None})
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        try:
            spec = load_command_job(_spec_text(values["spec"]), source="spec", overrides=values.get("set") or [],
                                    max_bytes=settings.STUDIO_SPEC_MAX_BYTES)
        except SpecError as exc:
            raise _spec_error(exc) from None
        workspace = selectors.workspace_for_submit(user=request.user, name=values.get("workspace"))
        decision = services.job_explain(spec=spec, workspace=workspace)
        return Response(ExplainOutputSerializer(explanation(decision)).data)


class JobEvictApi(APIView):
    """Admins evict a running Spot job; it goes back to the queue."""

    @extend_schema(request=None, responses=JobDetailOutputSerializer)
    def post(self, request, name: str):
        job = _job(request, name)
        job = services.job_evict(job=job, user=request.user)
        return Response(JobDetailOutputSerializer(job).data)
