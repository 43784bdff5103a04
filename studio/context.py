"""What every page's layout needs: the current workspace and the navigation."""

from __future__ import annotations

from django.http import HttpRequest

from quotas.models import Workspace


def current_workspace(request: HttpRequest) -> Workspace | None:
    """The workspace chosen in this session (``?workspace=`` switches), else the user's first."""
    user = request.user
    if not user.is_authenticated:
        return None
    cached = getattr(request, "_studio_workspace", None)
    if cached is not None:
        return cached
    workspaces = Workspace.objects.filter(members=user).select_related("subscription").order_by("name")
    wanted = request.GET.get("workspace") or request.session.get("workspace")
    workspace = (workspaces.filter(name=wanted).first() if wanted else None) or workspaces.first()
    if workspace is not None and request.session.get("workspace") != workspace.name:
        request.session["workspace"] = workspace.name
    request._studio_workspace = workspace
    return workspace


NAVIGATION = [
    ("jobs", "Jobs", "jobs:list"),
    ("designer", "Designer", "designer"),
    ("compute", "Compute", "compute:list"),
    ("quota", "Quota & usage", "quotas:usage"),
    ("previews", "Manage previews", "previews:manage"),
]


def studio(request: HttpRequest) -> dict:
    if not request.user.is_authenticated:
        return {}
    workspace = current_workspace(request)
    return {
        "current_workspace": workspace,
        "workspaces": list(Workspace.objects.filter(members=request.user).order_by("name").values_list("name", flat=True)),
        "navigation": NAVIGATION,
    }
