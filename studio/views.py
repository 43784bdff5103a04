from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated

from jobs.runtime import sandbox
from previews.registry import SERVERLESS
from previews.selectors import preview_enabled
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
