from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from previews.registry import SERVERLESS
from previews.selectors import preview_enabled


@login_required
def designer(request):
    """The drag-and-drop designer arrives with pipeline jobs; until then this page says so."""
    return render(request, "designer.html", {
        "section": "designer",
        "serverless": preview_enabled(user=request.user, key=SERVERLESS),
    })
