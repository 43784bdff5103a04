from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import get_template
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated

from jobs.runtime import sandbox
from previews.registry import SERVERLESS
from previews.selectors import preview_enabled
from studio.api_errors import INTERNAL, error_response, suspicious
from studio.humanize import duration


def health(request):
    """Liveness for load balancers, and whether this machine's nodes run sandboxed (and if not, why
    not and how to fix it)."""
    return JsonResponse({"status": "ok", "sandbox": sandbox.availability().as_dict(settings.STUDIO_SANDBOX)})


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema: for signed-in users (a token or a session), for everyone with STUDIO_PUBLIC_SCHEMA."""

    def get_permissions(self):
        return [AllowAny() if settings.STUDIO_PUBLIC_SCHEMA else IsAuthenticated()]


def locked_out(request, response, credentials):
    """django-axes' answer to a locked-out sign-in: the sign-in page saying why and for how long (429)."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    minutes = settings.STUDIO_LOGIN_LOCKOUT_MINUTES
    return render(request, "registration/locked_out.html", {
        "username": username, "failure_limit": settings.STUDIO_LOGIN_FAILURE_LIMIT,
        "cooloff": duration(minutes * 60) if minutes else "",
    }, status=429)


@login_required
def designer(request):
    """The drag-and-drop designer arrives with pipeline jobs; until then this page says so."""
    return render(request, "designer.html", {
        "section": "designer",
        "serverless": preview_enabled(user=request.user, key=SERVERLESS),
    })


# Django's own error answers (a request it refused to read, an uncaught exception): the API's JSON
# error format under /api/, a page of the studio's look elsewhere. Both are logged by Django's
# request logger (see LOGGING), a 500 with its traceback.

def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def error_page(status: int, title: str, message: str):
    """Rendered without the request's context processors: they may be what failed."""
    return HttpResponse(get_template("error.html").render({"title": title, "message": message}), status=status)


def bad_request(request, exception=None):
    if isinstance(exception, SuspiciousOperation):
        status, message = suspicious(exception)
    else:
        status, message = 400, "the request could not be read; check what was sent"
    if _is_api(request):
        return error_response(status, message, {"field": "body"})
    title = "Too large" if status == 413 else "Bad request"
    return error_page(status, title, message.removeprefix("body: ").capitalize())


def server_error(request):
    if _is_api(request):
        return error_response(500, INTERNAL)
    return error_page(500, "Something went wrong", INTERNAL.capitalize())
