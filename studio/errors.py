"""Typed application errors. Services raise ``ApplicationError`` (or a subclass) with a message
that names the field and the fix; ``studio.api_errors`` maps them to the API's JSON body
``{"message": ..., "extra": {...}}`` with the right HTTP status, pages show the message, and the
CLI prints it. No web framework here: a service can raise these from anywhere.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class ApplicationError(Exception):
    http_status = HTTPStatus.BAD_REQUEST

    def __init__(self, message: str, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotFound(ApplicationError):
    http_status = HTTPStatus.NOT_FOUND


class Conflict(ApplicationError):
    http_status = HTTPStatus.CONFLICT


class Forbidden(ApplicationError):
    http_status = HTTPStatus.FORBIDDEN


class PayloadTooLarge(ApplicationError):
    http_status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
