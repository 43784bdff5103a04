"""The job-submission wizard's pages. Thin: forms read the POST, jobs.wizard.steps apply the
rules and build the spec dict, jobs.services submits. Every step is a plain POST + redirect;
htmx only refreshes the "Will it fit?" panels and filters the VM table (and, on the Code step,
adds table rows and re-checks the fields: jobs.wizard.code_views)."""

from __future__ import annotations

from contextlib import ExitStack

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jobs import selectors as job_selectors
from jobs import services
from jobs.models import Job
from jobs.specs import SpecError
from jobs.wizard import code_views, flow, rules, runs
from jobs.wizard.fit import Fit, fit_of
from jobs.wizard.forms import BasicsForm, ComputeForm, EnvironmentForm
from jobs.wizard.pages import page, problems_heading, saved, serverless_allowed, step_url, wizard_run
from jobs.wizard.steps import basics, code, compute, environment
from quotas import roles
from quotas import selectors as quota_selectors
from studio.context import current_workspace
from studio.errors import ApplicationError, Forbidden, NotFound


# Runs ------------------------------------------------------------------------------------------

@login_required
@require_GET
def start(request):
    """A new wizard run (prefilled from `?clone=<job>`), then its first step."""
    workspace = current_workspace(request)
    if workspace is None:
        return render(request, "wizard/unavailable.html", {"section": "jobs"})
    clone = (request.GET.get("clone") or "").strip()
    if clone:
        try:
            job = job_selectors.job_get_for_user(user=request.user, name=clone)
        except NotFound as exc:
            messages.error(request, exc.message)
            return redirect("wizard:start")
        if job.type != "command":
            messages.error(request, f"job '{job.name}' is a {job.type} job; the wizard builds command jobs only")
            return redirect("wizard:start")
        state = flow.from_job(job.spec, job_name=job.name, serverless_allowed=serverless_allowed(request))
    else:
        state = flow.new_state()
    run = runs.run_start(request, state)
    return redirect("wizard:step", run=run, step="basics")


def _heading(form) -> dict:
    return {"heading": problems_heading(len(form.errors))} if form.is_bound and form.errors else {}


def _add_problems(form, problems) -> None:
    for problem in problems:
        form.add_error(problem.field if problem.field in form.fields else None, problem.message)


@login_required
@require_http_methods(["GET", "POST"])
@wizard_run
def step(request, run: str, state: dict, step: str):
    if step not in flow.EDIT_STEPS:
        raise Http404("no such step")
    if not flow.reachable(state, step):
        return redirect(step_url(run, flow.first_open_step(state)))
    workspace = current_workspace(request)
    if workspace is None:
        return render(request, "wizard/unavailable.html", {"section": "jobs"})
    return _HANDLERS[step](request, run, state, workspace)


# Basics ----------------------------------------------------------------------------------------

def _basics(request, run, state, workspace):
    if request.method == "POST":
        form = BasicsForm(request.POST)
        form.is_valid()
        taken = Job.objects.filter(workspace=workspace)  # names are unique per workspace
        new, problems = basics.apply(state, form.cleaned_data, name_taken=lambda name: taken.filter(name=name).exists())
        if not problems:
            return saved(request, run, new, "basics")
        _add_problems(form, problems)
    else:
        form = BasicsForm(initial=basics.initial(state))
    return page(request, run, state, "basics", "wizard/basics.html", {"form": form, **_heading(form)})


# Compute ---------------------------------------------------------------------------------------

def _compute_context(request, workspace) -> compute.ComputeContext:
    free = {size.family_id: size.quota_available for size in quota_selectors.vm_size_list(workspace=workspace)}
    spot = quota_selectors.quota_list(workspace=workspace)["spot"]
    clusters = {
        cluster.name: compute.ClusterOption(
            name=cluster.name, instance_type=cluster.size_id, max_instances=cluster.max_instances,
            min_instances=cluster.min_instances, state=cluster.state, busy_nodes=cluster.busy_nodes)
        for cluster in quota_selectors.cluster_list(workspace=workspace)
    }
    return compute.ComputeContext(serverless_allowed=serverless_allowed(request),
                                  catalogue=quota_selectors.catalogue(), quota_free=free, clusters=clusters,
                                  spot_available=max(0, spot["limit"] - spot["in_use"]))


def _fit(spec: dict, workspace) -> Fit | None:
    """What the scheduling service says about the job's placement now (None if it is not valid)."""
    try:
        placement = flow.placement_spec(spec)
    except SpecError:
        return None
    return fit_of(services.job_explain(spec=placement, workspace=workspace), now=timezone.now())


def _compute_values(data, state, ctx) -> dict:
    values = compute.initial(state, ctx)
    if data is not None:
        values.update({key: data.get(key, "") for key in compute.FIELDS if key in data})
    return values


def _compute_fit(values, state, ctx, workspace) -> tuple[Fit | None, list]:
    new, problems = compute.apply(state, values, ctx)
    if problems:
        return None, problems
    return _fit(new["spec"], workspace), []


def _compute(request, run, state, workspace):
    ctx = _compute_context(request, workspace)
    checked = False
    if request.method == "POST":
        form = ComputeForm(request.POST)
        form.is_valid()
        values = _compute_values(form.cleaned_data, state, ctx)
        new, problems = compute.apply(state, values, ctx)
        if request.POST.get("action") == "check":
            checked = True
            fit = _fit(new["spec"], workspace) if not problems else None
        elif not problems:
            return saved(request, run, new, "compute")
        else:
            fit = None
        _add_problems(form, problems)
    else:
        values = _compute_values(None, state, ctx)
        form = ComputeForm(initial=values)
        fit, _ = _compute_fit(values, state, ctx, workspace)
    return page(request, run, state, "compute", "wizard/compute.html", {
        "form": form, "values": values, "ctx": ctx, "fit": fit, "checked": checked, **_heading(form),
        **_vm_table(ctx, values, request.GET),
    })


def _vm_table(ctx, values, query) -> dict:
    q, kind = (query.get("q") or "").strip(), query.get("kind") or ""
    return {
        "q": q, "kind": kind, "vm_kinds": compute.VM_KINDS,
        "size_rows": compute.size_rows(ctx, tier=values.get("tier") or compute.STANDARD, query=q, kind=kind,
                                      selected=values.get("instance_type") or ""),
        "spot": (values.get("tier") == compute.SPOT),
    }


@login_required
@require_GET
@wizard_run
def compute_fit(request, run: str, state: dict):
    """The Compute step's "Will it fit?" panel for the values being edited (htmx)."""
    workspace = current_workspace(request)
    if not request.htmx or workspace is None:
        return redirect("wizard:step", run=run, step="compute")
    ctx = _compute_context(request, workspace)
    values = _compute_values(request.GET, state, ctx)
    fit, problems = _compute_fit(values, state, ctx, workspace)
    return render(request, "wizard/compute.html#compute-fit", {"run": run, "fit": fit, "fit_problems": problems})


@login_required
@require_GET
@wizard_run
def vm_sizes(request, run: str, state: dict):
    """The Compute step's VM table, filtered, for the tier being edited (htmx)."""
    workspace = current_workspace(request)
    if not request.htmx or workspace is None:
        return redirect(reverse("wizard:step", kwargs={"run": run, "step": "compute"}) +
                        (f"?{request.GET.urlencode()}" if request.GET else ""))
    ctx = _compute_context(request, workspace)
    values = _compute_values(request.GET, state, ctx)
    return render(request, "wizard/compute.html#vm-sizes", {"run": run, "values": values,
                                                            **_vm_table(ctx, values, request.GET)})


# Environment -----------------------------------------------------------------------------------

def _environment(request, run, state, workspace):
    if request.method == "POST":
        form = EnvironmentForm(request.POST)
        form.is_valid()
        values = {**environment.initial(state), **form.cleaned_data}
        new, problems = environment.apply(state, values)
        if not problems:
            return saved(request, run, new, "environment")
        _add_problems(form, problems)
    else:
        values = environment.initial(state)
        form = EnvironmentForm(initial=values)
    return page(request, run, state, "environment", "wizard/environment.html", {
        "form": form, "values": values, "curated": environment.CURATED_ENVIRONMENTS, "other": environment.OTHER,
        **_heading(form),
    })


# Review and submit -----------------------------------------------------------------------------

def _review_context(run: str, state: dict, workspace, user) -> dict:
    problems = [{"step": key, "title": flow.step(key).title, "url": step_url(run, key), "message": message}
                for key, message in flow.review_problems(state)]
    spec = state["spec"]
    resources = spec.get("resources") or {}
    return {
        "problems": problems,
        "yaml": flow.job_yaml(state),
        "spec": spec,
        "serverless": rules.runs_on_serverless(spec),
        "cluster": rules.cluster_name(spec.get("compute")),
        "tier": (spec.get("queue_settings") or {}).get("job_tier") or compute.STANDARD,
        "instance_type": resources.get("instance_type") or "",
        "instance_count": resources.get("instance_count") or 1,
        "environment": spec.get("environment"),
        "code_step": code.review(state),
        "fit": _fit(spec, workspace),
        # readers may fill the wizard in (and download its YAML) but not submit: the button says why
        "submit_refusal": roles.refusal(role=roles.effective_role(user=user, workspace=workspace), workspace=workspace,
                                        needed=roles.CONTRIBUTOR, action="submit jobs"),
    }


@login_required
@require_GET
@wizard_run
def review(request, run: str, state: dict):
    if not flow.reachable(state, "review"):
        return redirect(step_url(run, flow.first_open_step(state)))
    workspace = current_workspace(request)
    if workspace is None:
        return render(request, "wizard/unavailable.html", {"section": "jobs"})
    return page(request, run, state, "review", "wizard/review.html",
                _review_context(run, state, workspace, request.user))


@login_required
@require_GET
@wizard_run
def fit_panel(request, run: str, state: dict):
    """The review's "Will it fit?" panel, refreshed (htmx); the page itself already shows it."""
    workspace = current_workspace(request)
    if not request.htmx or workspace is None:
        return redirect("wizard:review", run=run)
    return render(request, "wizard/review.html#fit-panel",
                  {"run": run, "fit": _fit(state["spec"], workspace), "refreshed": True})


@login_required
@require_GET
@wizard_run
def download(request, run: str, state: dict):
    """The job as YAML, for `studio job create --file` or `az ml job create --file`."""
    response = HttpResponse(flow.job_yaml(state), content_type="application/yaml; charset=utf-8")
    name = state["spec"].get("name") or "job"
    response["Content-Disposition"] = f'attachment; filename="{name}.yml"'
    return response


@login_required
@require_POST
@wizard_run
def submit(request, run: str, state: dict):
    workspace = current_workspace(request)
    if workspace is None:
        return render(request, "wizard/unavailable.html", {"section": "jobs"})
    context = _review_context(run, state, workspace, request.user)
    if context["problems"]:
        return page(request, run, state, "review", "wizard/review.html", context, status=400)
    spec = flow.build_spec(state)
    try:
        with ExitStack() as files:
            code = files.enter_context(open(runs.code_archive(run), "rb")) if state.get("code") else None
            inputs = {name: files.enter_context(open(runs.input_archive(run, name), "rb"))
                      for name in state.get("data") or {}}
            job = services.job_submit(user=request.user, workspace=workspace, spec=spec, spec_yaml=spec.to_yaml(),
                                      code=code, inputs=inputs)
    except FileNotFoundError:
        context["submit_error"] = {"message": "an uploaded file of this run is missing; upload it again on the "
                                              "Code step", "recommendations": [], "url": step_url(run, "code")}
        return page(request, run, state, "review", "wizard/review.html", context, status=400)
    except ApplicationError as exc:
        field = str(exc.extra.get("field") or "")
        context["submit_error"] = {
            "message": exc.message,
            "recommendations": list(exc.extra.get("recommendations") or []),
            "url": step_url(run, flow.step_of_path(field)) if field and flow.step_of_path(field) != "review"
            else "",
        }
        return page(request, run, state, "review", "wizard/review.html", context,
                    status=403 if isinstance(exc, Forbidden) else 400)
    runs.run_end(request, run)
    messages.success(request, f"Job {job.name} submitted.")
    return redirect("jobs:detail", name=job.name)


_HANDLERS = {"basics": _basics, "compute": _compute, "environment": _environment, "code": code_views.code_step}
