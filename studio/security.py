"""The Content-Security-Policy header on every response (``settings.CONTENT_SECURITY_POLICY``).

Django 5.2 has none built in; the policy is one fixed string, so a middleware of a few lines does
what a library would. A view that sets its own header keeps it.
"""

from __future__ import annotations

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
