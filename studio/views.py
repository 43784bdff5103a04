from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render

from jobs.runtime import sandbox
from previews.registry import SERVERLESS
from previews.selectors import preview_enabled


def health(request):
    """Liveness for load balancers, and whether this machine's nodes run sandboxed (and if not, why
    not and how to fix it)."""
    return JsonResponse({"status": "ok", "sandbox": sandbox.availability().as_dict(settings.STUDIO_SANDBOX)})


@login_required
def designer(request):
    """The drag-and-drop designer arrives with pipeline jobs; until then this page says so."""
    return render(request, "designer.html", {
        "section": "designer",
        "serverless": preview_enabled(user=request.user, key=SERVERLESS),
    })
