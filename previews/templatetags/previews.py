"""``{% load previews %}{% preview_on "serverless-compute" as serverless %}``: is a preview on for
the signed-in user? Answered once per request and preview."""

from __future__ import annotations

from django import template

from previews.registry import REGISTRY
from previews.selectors import preview_enabled

register = template.Library()


@register.simple_tag(takes_context=True)
def preview_on(context, key: str) -> bool:
    if key not in REGISTRY:
        raise template.TemplateSyntaxError(f"preview_on: unknown preview '{key}'; previews.registry lists them")
    request = context.get("request")
    user = context.get("user") or getattr(request, "user", None)
    if user is None:
        return REGISTRY[key].default
    cache = getattr(request, "_previews_on", None) if request is not None else None
    if cache is None:
        cache = {}
        if request is not None:
            request._previews_on = cache
    if key not in cache:
        cache[key] = preview_enabled(user=user, key=key)
    return cache[key]
