"""The API's error body ``{"message": ..., "extra": {...}}`` for every error: the services' typed
errors (``studio.errors``), DRF's own (authentication, validation, 404), Django's refusals of a
request (body too large, too many fields) and unexpected exceptions (a 500, logged with its
traceback), in one shape. Refused input is logged too, one line each."""

from __future__ import annotations

import logging
from typing import Any

from django.core import signals
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from studio.errors import ApplicationError


def _flatten(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF validation details as a flat list of {path, message}."""
    if isinstance(detail, dict):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            path = key if key != "non_field_errors" else ""
            out.extend(_flatten(value, f"{prefix}.{path}" if prefix and path else prefix or path))
        return out
    if isinstance(detail, list):
        out = []
        for item in detail:
            out.extend(_flatten(item, prefix))
        return out
    return [{"path": prefix, "message": str(detail)}]


log = logging.getLogger("studio.api")

INTERNAL = ("the studio failed to answer this request (an internal error, logged with its details); "
            "try again, and tell the studio's admins if it persists")


def suspicious(exc: SuspiciousOperation) -> tuple[int, str]:
    """The status and message for a request Django refused to read."""
    if isinstance(exc, RequestDataTooBig):
        return 413, (f"body: the request is larger than the studio accepts ({exc}); send a smaller job file, "
                     "and large data as an input upload")
    return 400, f"body: the request was refused ({exc}); send fewer fields or files"


def error_response(status: int, message: str, extra: dict | None = None) -> JsonResponse:
    """The JSON error body outside DRF (Django's error handlers for /api/ paths)."""
    return JsonResponse({"message": message, "extra": extra or {}}, status=status)


def _where(context: dict) -> str:
    request = context.get("request")
    return f"{request.method} {request.path}" if request is not None else "?"


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ApplicationError):
        log.info("refused %s (%s): %s", _where(context), int(exc.http_status), exc.message[:500])
        return Response({"message": exc.message, "extra": exc.extra}, status=exc.http_status)
    if isinstance(exc, SuspiciousOperation):
        status, message = suspicious(exc)
        log.warning("refused %s (%s): %s", _where(context), status, message)
        return Response({"message": message, "extra": {"field": "body"}}, status=status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return _unexpected(exc, context)
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first = errors[0] if errors else {"path": "", "message": "invalid input"}
        message = f"{first['path']}: {first['message']}" if first["path"] else first["message"]
        response.data = {"message": message, "extra": {"errors": errors}}
    else:
        detail = getattr(exc, "detail", str(exc))
        response.data = {"message": str(detail), "extra": {}}
    return response


def _unexpected(exc: Exception, context: dict) -> Response:
    """A bug: log its traceback, answer the JSON error format (500), and still tell Django's test
    client (which re-raises it, so a test shows the real exception)."""
    log.error("unexpected error in %s", _where(context), exc_info=exc)
    request = context.get("request")
    signals.got_request_exception.send(sender=None, request=getattr(request, "_request", request))
    response = Response({"message": INTERNAL, "extra": {}}, status=500)
    response._has_been_logged = True  # Django's request logger would log it again, without the traceback
    return response
