"""Gate a page behind a preview feature: ``@preview_required(SERVERLESS)``."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from previews.registry import REGISTRY
from previews.selectors import preview_enabled


def preview_required(key: str):
    """Run the view only for users who turned preview ``key`` on; send others to the Manage
    previews panel with a message (and ``?next=`` back here). Anonymous users go to sign in."""
    if key not in REGISTRY:
        raise ImproperlyConfigured(f"preview_required: unknown preview '{key}'; previews.registry lists them")
    preview = REGISTRY[key]

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if preview_enabled(user=request.user, key=key):
                return view(request, *args, **kwargs)
            messages.info(request, f"{preview.name} is a preview feature. Turn it on below to use that page.")
            url = f"{reverse('previews:manage')}?{urlencode({'next': request.get_full_path()})}"
            if getattr(request, "htmx", False):
                return HttpResponseClientRedirect(url)
            return redirect(url)

        return wrapped

    return decorator
