"""Request bodies read with a cap, and checked before anything walks them.

A body's declared length is compared with the limit before a byte is read, and the body is read in
bounded chunks (a client may send more than it declared): a 400 MB job file costs nothing. JSON
nested 100,000 deep, text with NULs or unpaired surrogates and integers beyond 64 bits are refused
with the field's path. Every refusal is an ``ApplicationError``, so the API answers it in its JSON
error format (``studio.api_errors``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import exceptions, parsers
from rest_framework.utils import json

from jobs.specs import SpecError
from jobs.specs.yaml_loader import check_data
from studio.errors import ApplicationError, PayloadTooLarge

CHUNK = 64 * 1024
MAX_DEPTH = 64  # a job spec inside a body may nest 50 levels (the spec layer's limit)


def content_length(request: Any) -> int:
    try:
        return max(int(getattr(request, "META", {}).get("CONTENT_LENGTH") or 0), 0)
    except (TypeError, ValueError):
        return 0


def body_limit() -> int:
    """The largest JSON, YAML or form body: a job file and some room for the fields around it."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # None would mean "no limit": not for these bodies
    return limit if limit is not None else settings.STUDIO_SPEC_MAX_BYTES + 64 * 1024


def too_large(size: int, limit: int, setting: str, what: str = "the request body") -> PayloadTooLarge:
    return PayloadTooLarge(
        f"body: {what} is {size:,} bytes, more than the limit of {limit:,} ({setting}); send a smaller job file, "
        "and large data as an input upload",
        {"field": "body", "limit": limit, "size": size},
    )


def read_capped(stream: Any, request: Any, *, limit: int | None = None, setting: str = "STUDIO_SPEC_MAX_BYTES") -> bytes:
    """The body, read in chunks; refused (413) when its declared or actual length passes `limit`."""
    limit = body_limit() if limit is None else limit
    declared = content_length(request)
    if declared > limit:
        raise too_large(declared, limit, setting)
    if stream is None:
        return b""
    chunks, total = [], 0
    while chunk := stream.read(CHUNK):
        total += len(chunk)
        if total > limit:  # more than it declared: stop reading here
            raise too_large(total, limit, setting, "the request body (so far)")
        chunks.append(chunk)
    return b"".join(chunks)


def guard(data: Any) -> Any:
    """Refuse parsed data no database can store, or nested too deep to walk, naming the field."""
    try:
        check_data(data, max_bytes=body_limit() * 8, max_depth=MAX_DEPTH)
    except SpecError as exc:
        issue = exc.issues[0]
        field = issue.path or "body"
        raise ApplicationError(f"{field}: {issue.message}", {"field": field}) from None
    return data


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the body read under a cap, deep nesting and unstorable text refused."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context.get("request")
        raw = read_capped(stream, request)
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        constant = json.strict_constant if self.strict else None
        try:
            data = json.loads(raw.decode(encoding), parse_constant=constant)
        except RecursionError:
            raise exceptions.ParseError("body: the JSON is nested too deeply to read; bodies are much flatter") from None
        except ValueError as exc:  # also UnicodeDecodeError
            raise exceptions.ParseError(f"body: not valid JSON ({exc}); send a JSON object") from None
        return guard(data)


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        raw = read_capped(stream, parser_context.get("request"))
        return super().parse(_Bytes(raw), media_type, parser_context)


class MultiPartParser(parsers.MultiPartParser):
    """Multipart bodies (code and data uploads) are refused before reading when declared larger
    than STUDIO_UPLOAD_MAX_BYTES; Django's own limits bound their fields and file count."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        declared = content_length(request)
        if declared > settings.STUDIO_UPLOAD_MAX_BYTES:
            raise too_large(declared, settings.STUDIO_UPLOAD_MAX_BYTES, "STUDIO_UPLOAD_MAX_BYTES", "the upload")
        return super().parse(stream, media_type, parser_context)


class _Bytes:
    def __init__(self, raw: bytes):
        self.raw = raw

    def read(self, *_args) -> bytes:
        raw, self.raw = self.raw, b""
        return raw

