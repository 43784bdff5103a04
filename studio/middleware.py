"""Refuse, before any view runs, query parameters and form fields that no database can store.

PostgreSQL refuses text with NUL characters (an unlogged 500 wherever such a value reached a
query: a job list's `?search=%00`, a form field read straight from ``request.POST``). Query strings
everywhere and form bodies of pages are checked here; API bodies are checked by their parsers
(``studio.parsers``), which read them under a cap.
"""

from __future__ import annotations

import logging

from django.http import JsonResponse

from jobs.specs.fields import UNSTORABLE, storable_text
from studio.api_errors import error_response
from studio.views import error_page

log = logging.getLogger("studio.requests")


def _first_unstorable(data) -> str | None:
    for key, values in data.lists():
        if not storable_text(key) or not all(storable_text(value) for value in values):
            return key if storable_text(key) else repr(key)[:40]
    return None


class UnstorableInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = request.path.startswith("/api/")
        field = _first_unstorable(request.GET)
        if field is None and not api and request.method == "POST" and request.content_type in (
                "application/x-www-form-urlencoded", "multipart/form-data"):
            field = _first_unstorable(request.POST)  # Django's CSRF check reads it anyway
        if field is None:
            return self.get_response(request)
        message = f"{field}: {UNSTORABLE}; remove it"
        log.info("refused %s %s (400): %s", request.method, request.path, message)
        if request.path.startswith("/api/2.0/"):  # MLflow's API answers in MLflow's error format
            return JsonResponse({"error_code": "INVALID_PARAMETER_VALUE", "message": message}, status=400)
        if api:
            return error_response(400, message, {"field": field})
        return error_page(400, "Bad request", message)
