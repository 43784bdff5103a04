"""The Manage previews panel: every preview in the registry, with a per-user on/off switch."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods

from previews import selectors, services
from previews.registry import REGISTRY
from studio.errors import ApplicationError


def safe_next(request: HttpRequest, value: str | None) -> str:
    """``next`` if it is a path on this site, else empty."""
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()},
                                                 require_https=request.is_secure()):
        return value
    return ""


@login_required
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _toggle(request)
    return render(request, "previews/manage.html", {
        "section": "previews",
        "rows": selectors.previews_for_user(user=request.user),
        "next": safe_next(request, request.GET.get("next")),
    })


def _toggle(request: HttpRequest) -> HttpResponse:
    key = request.POST.get("key", "")
    enabled = request.POST.get("enabled") == "on"
    next_url = safe_next(request, request.POST.get("next"))
    try:
        services.preview_set(user=request.user, key=key, enabled=enabled)
    except ApplicationError as exc:
        if request.htmx:
            return HttpResponse(exc.message, status=exc.http_status, content_type="text/plain")
        messages.error(request, exc.message)
        return redirect(_manage_url(next_url))
    preview = REGISTRY[key]
    enabled = selectors.preview_enabled(user=request.user, key=key)  # what is stored now
    if request.htmx:
        return render(request, "previews/manage.html#preview-row",
                      {"preview": preview, "enabled": enabled, "next": next_url})
    messages.success(request, f"{preview.name} is now {'on' if enabled else 'off'}.")
    if enabled and next_url:
        return redirect(next_url)
    return redirect(_manage_url(next_url))


def _manage_url(next_url: str) -> str:
    url = reverse("previews:manage")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url
