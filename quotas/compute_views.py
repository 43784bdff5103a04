"""Compute pages: "Serverless" first (nothing to create), then the workspace's named clusters,
with create and delete. Thin views: reads from the selectors, writes through the services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from quotas import roles
from quotas import selectors as quota_selectors
from quotas import services as quota_services
from studio.context import current_workspace
from studio.errors import ApplicationError, Forbidden, NotFound
from studio.humanize import duration, plural

SECTION = "compute"
DEFAULT_SIZE = "Standard_DS3_v2"
FORM_DEFAULTS = {"name": "", "size": DEFAULT_SIZE, "min_instances": "0", "max_instances": "2", "idle_seconds": "120"}
# The service names fields as the API does; the form's names for them.
FIELD_FOR = {"name": "name", "size": "size", "min_instances": "min_instances", "max_instances": "max_instances",
             "idle_time_before_scale_down": "idle_seconds"}
CATEGORY_LABELS = {"cpu-general": "General purpose CPU", "cpu-compute": "Compute optimised CPU",
                   "cpu-memory": "Memory optimised CPU", "hpc": "High-performance computing",
                   "gpu-training": "GPU for training", "gpu-inference": "GPU for inference"}
CATEGORY_ORDER = ["cpu-general", "cpu-compute", "cpu-memory", "hpc", "gpu-training", "gpu-inference"]


@login_required
def compute_list(request: HttpRequest) -> HttpResponse:
    workspace = current_workspace(request)
    if workspace is None:
        return render(request, "compute/list.html", {"section": SECTION, "workspace": None})
    return render(request, "compute/list.html", {**_context(workspace, FORM_DEFAULTS),
                                                 "manage_refusal": _manage_refusal(request, workspace)})


@login_required
@require_http_methods(["GET", "POST"])
def compute_create(request: HttpRequest) -> HttpResponse:
    workspace = _workspace_or_404(request)
    if request.method == "GET":
        return redirect(reverse("compute:list") + "#create-cluster")
    values = {key: request.POST.get(key, default).strip() for key, default in FORM_DEFAULTS.items()}
    try:
        cluster = quota_services.cluster_create(
            user=request.user, workspace=workspace, name=values["name"], size=values["size"],
            min_instances=_whole(values["min_instances"], 0), max_instances=_whole(values["max_instances"], 1),
            idle_seconds=_whole(values["idle_seconds"], 120))
    except ApplicationError as error:
        field = FIELD_FOR.get(error.extra.get("field"), "")
        context = _context(workspace, values)
        context["form_errors"] = {field or "form": error.message}
        if isinstance(error, Forbidden):
            context["manage_refusal"] = error.message[0].upper() + error.message[1:] + "."
        return render(request, "compute/list.html", context, status=error.http_status)
    messages.success(request, f"Created compute cluster '{cluster.name}' ({cluster.size_id}, "
                              f"{cluster.min_instances}–{cluster.max_instances} nodes).")
    return redirect(reverse("compute:list") + f"#cluster-{cluster.name}")


@login_required
@require_http_methods(["GET", "POST"])
def compute_delete(request: HttpRequest, name: str) -> HttpResponse:
    """GET asks for confirmation; POST deletes, or says why it cannot (jobs still use the cluster)."""
    workspace = _workspace_or_404(request)
    try:
        cluster = quota_selectors.cluster_get(workspace=workspace, name=name)
    except NotFound as error:
        raise Http404(error.message) from None
    in_use = [plural(cluster.busy_nodes, "node") + " busy"] if cluster.busy_nodes else []
    if cluster.queued_jobs:
        in_use.append(f"{plural(cluster.queued_jobs, 'job')} waiting for it")
    context = {"section": SECTION, "workspace": workspace, "cluster": cluster, "in_use": " and ".join(in_use),
               "manage_refusal": _manage_refusal(request, workspace, "delete clusters")}
    if request.method == "GET":
        return render(request, "compute/delete.html", context)
    try:
        quota_services.cluster_delete(user=request.user, workspace=workspace, name=cluster.name)
    except ApplicationError as error:
        context["error"] = error.message
        context["manage_refusal"] = ""  # the service's own sentence says it (the same one)
        return render(request, "compute/delete.html", context, status=error.http_status)
    messages.success(request, f"Deleted compute cluster '{cluster.name}'.")
    return redirect("compute:list")


# ------------------------------------------------------------------------------------- helpers

def _workspace_or_404(request):
    workspace = current_workspace(request)
    if workspace is None:
        raise Http404("You are not a member of any workspace.")
    return workspace


def _manage_refusal(request, workspace, action: str = "create or delete clusters") -> str:
    """Why the user cannot create or delete clusters here ("" when they can): shown instead of the controls."""
    role = roles.effective_role(user=request.user, workspace=workspace)
    return roles.refusal(role=role, workspace=workspace, needed=roles.OWNER, action=action)


def _whole(raw: str, default: int):
    """A whole number from a form field; empty means the default; anything else goes to the service
    as typed, which refuses it with the message the API gives."""
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return raw


def _context(workspace, values: dict) -> dict:
    now = timezone.now()
    usage = {row["compute"]: row for row in quota_selectors.usage_list(workspace=workspace, since=now, now=now)}
    serverless = usage[quota_selectors.SERVERLESS_COMPUTE]
    serverless = {**serverless, "vcpus_total": sum(serverless["vcpus_in_use"].values()),
                  "families_in_use": sorted(serverless["vcpus_in_use"].items())}
    sizes = quota_selectors.vm_size_list(workspace=workspace)
    by_name = {size.name: size for size in sizes}
    clusters = []
    for cluster in quota_selectors.cluster_list(workspace=workspace):
        size = by_name.get(cluster.size_id)
        scaling_until = cluster.scaling_down_until if cluster.state == "scaling down" else None
        idle_for = None
        if cluster.idle_since and not cluster.busy_nodes and cluster.allocated:
            idle_for = duration(int((now - cluster.idle_since).total_seconds()))
        clusters.append({
            "name": cluster.name, "size": cluster.size_id, "vcpus": size.vcpus if size else None,
            "price": size.price_dedicated if size else None, "min": cluster.min_instances,
            "max": cluster.max_instances, "allocated": cluster.allocated, "busy": cluster.busy_nodes,
            "state": cluster.state, "scaling_down_until": scaling_until, "idle_for": idle_for,
            "idle_seconds": cluster.idle_seconds, "idle_label": duration(cluster.idle_seconds),
            "in_use": usage.get(cluster.name, {}).get("nodes_in_use", 0),
            "queued": (f"{plural(cluster.queued_jobs, 'job')} waiting for {plural(cluster.queued_nodes, 'node')}"
                       if cluster.queued_jobs else ""),
        })
    return {
        "section": SECTION, "workspace": workspace, "serverless": serverless, "clusters": clusters,
        "size_groups": _size_groups(sizes), "values": values, "form_errors": {},
    }


def fit_label(size) -> str:
    """How many dedicated nodes of ``size`` the workspace's free quota holds now: "quota fits 5 nodes",
    or why none: "does not fit (needs 32 vCPUs, 20 free)"."""
    if size.instances_fit:
        return f"quota fits {plural(size.instances_fit, 'node')}"
    return f"does not fit (needs {plural(size.vcpus, 'vCPU')}, {size.quota_available} free)"


def _size_groups(sizes) -> list[dict]:
    groups: dict[str, list] = {}
    for size in sorted(sizes, key=lambda s: (s.gpus > 0, s.vcpus, s.name)):
        parts = [plural(size.vcpus, "vCPU"), f"{size.memory_gib:g} GiB"]
        if size.gpus:
            parts.append(f"{size.gpus}× {size.gpu_model or 'GPU'}")
        if size.price_dedicated is not None:
            parts.append(f"${size.price_dedicated:.3f}/h")
        parts.append(fit_label(size))
        detail = " · ".join(parts)
        groups.setdefault(size.category, []).append({"name": size.name, "label": f"{size.name} · {detail}"})
    return [{"label": CATEGORY_LABELS.get(category, category), "sizes": items}
            for category, items in sorted(groups.items(), key=lambda kv: (
                CATEGORY_ORDER.index(kv[0]) if kv[0] in CATEGORY_ORDER else len(CATEGORY_ORDER), kv[0]))]


