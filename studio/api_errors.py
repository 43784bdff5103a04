"""The API's error body ``{"message": ..., "extra": {...}}`` for every error: the services' typed
errors (``studio.errors``) and DRF's own (authentication, validation, 404), in one shape."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
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


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response({"message": exc.message, "extra": exc.extra}, status=exc.http_status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first = errors[0] if errors else {"path": "", "message": "invalid input"}
        message = f"{first['path']}: {first['message']}" if first["path"] else first["message"]
        response.data = {"message": message, "extra": {"errors": errors}}
    else:
        detail = getattr(exc, "detail", str(exc))
        response.data = {"message": str(detail), "extra": {}}
    return response
