"""The job-submission wizard's pages. Thin: forms read the POST, jobs.wizard.state applies the
rules and builds the spec dict, jobs.services submits. Every step is a plain POST + redirect;
htmx only refreshes the "Will it fit?" panels and filters the VM table."""

from __future__ import annotations

import functools
import shutil
import uuid
from contextlib import ExitStack

from django.conf import settings
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
from jobs.specs.common import dump_yaml
from jobs.wizard import runs, uploads
from jobs.wizard import state as wizard
from jobs.wizard.forms import (
    BasicsForm,
    CodeForm,
    ComputeForm,
    DataInputFormSet,
    EnvironmentForm,
    LiteralInputFormSet,
)
from previews.registry import SERVERLESS
from previews.selectors import preview_enabled
from quotas import selectors as quota_selectors
from studio.context import current_workspace
from studio.errors import ApplicationError, NotFound


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
        state = wizard.from_job(job.spec, job_name=job.name, serverless_allowed=_serverless(request))
    else:
        state = wizard.new_state()
    run = runs.run_start(request, state)
    return redirect("wizard:step", run=run, step="basics")


def _wizard_run(view):
    """Loads the run's state and passes it on; a run that has ended starts a new one."""
    @functools.wraps(view)
    def with_run(request, run: str, *args, **kwargs):
        state = runs.run_load(request, run)
        if state is None:
            return _ended(request)
        return view(request, run, state, *args, **kwargs)
    return with_run


def _ended(request):
    messages.warning(request, "That wizard run has ended (its job was submitted, or it expired). "
                              "Here is a new one.")
    return redirect("wizard:start")


def _serverless(request) -> bool:
    return preview_enabled(user=request.user, key=SERVERLESS)


def _steps(run: str, state: dict, current: str) -> list[dict]:
    bar = []
    for step in wizard.STEPS:
        done = step.key in state["done"]
        if step.key == current:
            css = "current"
        else:
            css = "done" if done else ""
        link = step.key != current and (done or (step.key == "review" and wizard.reachable(state, "review")))
        bar.append({"key": step.key, "title": step.title, "css": css, "url": _step_url(run, step.key) if link else "",
                    "current": step.key == current})
    return bar


def _step_url(run: str, key: str) -> str:
    if key == "review":
        return reverse("wizard:review", kwargs={"run": run})
    return reverse("wizard:step", kwargs={"run": run, "step": key})


def _page(request, run: str, state: dict, key: str, template: str, context: dict, status: int = 200):
    previous = wizard.previous_step(key)
    return render(request, template, {
        "section": "jobs",
        "run": run,
        "state": state,
        "step": wizard.step(key),
        "steps": _steps(run, state, key),
        "back_url": _step_url(run, previous) if previous else "",
        "notes": (state.get("notes") or []) if key in ("basics", "code", "review") else [],
        **context,
    }, status=status)


def _add_problems(form, problems) -> None:
    for problem in problems:
        form.add_error(problem.field if problem.field in form.fields else None, problem.message)


@login_required
@require_http_methods(["GET", "POST"])
@_wizard_run
def step(request, run: str, state: dict, step: str):
    if step not in wizard.EDIT_STEPS:
        raise Http404("no such step")
    if not wizard.reachable(state, step):
        return redirect(_step_url(run, wizard.first_open_step(state)))
    workspace = current_workspace(request)
    if workspace is None:
        return render(request, "wizard/unavailable.html", {"section": "jobs"})
    return _HANDLERS[step](request, run, state, workspace)


def _saved(request, run: str, state: dict, key: str):
    runs.run_store(request, run, state)
    return redirect(_step_url(run, wizard.next_step(key)))


# Basics ----------------------------------------------------------------------------------------

def _basics(request, run, state, workspace):
    if request.method == "POST":
        form = BasicsForm(request.POST)
        form.is_valid()
        new, problems = wizard.apply_basics(state, form.cleaned_data,
                                            name_taken=lambda name: Job.objects.filter(name=name).exists())
        if not problems:
            return _saved(request, run, new, "basics")
        _add_problems(form, problems)
    else:
        form = BasicsForm(initial=wizard.basics_initial(state))
    return _page(request, run, state, "basics", "wizard/basics.html", {"form": form})


# Compute ---------------------------------------------------------------------------------------

def _compute_context(request, workspace) -> wizard.ComputeContext:
    sizes = {
        size.name: wizard.SizeOption(
            name=size.name, family=size.family_id, vcpus=size.vcpus, memory_gib=size.memory_gib, gpus=size.gpus,
            gpu_model=size.gpu_model, category=size.category, price_dedicated=size.price_dedicated,
            price_spot=size.price_spot, serverless=size.serverless, quota_available=size.quota_available)
        for size in quota_selectors.vm_size_list(workspace=workspace)
    }
    spot = quota_selectors.quota_list(workspace=workspace)["spot"]
    clusters = {
        cluster.name: wizard.ClusterOption(
            name=cluster.name, instance_type=cluster.size_id, max_instances=cluster.max_instances,
            min_instances=cluster.min_instances, state=cluster.state, busy_nodes=cluster.busy_nodes)
        for cluster in quota_selectors.cluster_list(workspace=workspace)
    }
    return wizard.ComputeContext(serverless_allowed=_serverless(request), sizes=sizes, clusters=clusters,
                                 spot_available=max(0, spot["limit"] - spot["in_use"]))


def _fit(spec: dict, workspace) -> wizard.Fit | None:
    """What the scheduling service says about the job's placement now (None if it is not valid)."""
    try:
        placement = wizard.placement_spec(spec)
    except SpecError:
        return None
    return wizard.fit_of(services.job_explain(spec=placement, workspace=workspace), now=timezone.now())


def _compute_values(data, state, ctx) -> dict:
    values = wizard.compute_initial(state, ctx)
    if data is not None:
        values.update({key: data.get(key, "") for key in ("compute_type", "tier", "instance_type",
                                                          "instance_count", "cluster") if key in data})
    return values


def _compute_fit(values, state, ctx, workspace) -> tuple[wizard.Fit | None, list]:
    new, problems = wizard.apply_compute(state, values, ctx)
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
        new, problems = wizard.apply_compute(state, values, ctx)
        if request.POST.get("action") == "check":
            checked = True
            fit = _fit(new["spec"], workspace) if not problems else None
        elif not problems:
            return _saved(request, run, new, "compute")
        else:
            fit = None
        _add_problems(form, problems)
    else:
        values = _compute_values(None, state, ctx)
        form = ComputeForm(initial=values)
        fit, _ = _compute_fit(values, state, ctx, workspace)
    return _page(request, run, state, "compute", "wizard/compute.html", {
        "form": form, "values": values, "ctx": ctx, "fit": fit, "checked": checked,
        **_vm_table(ctx, values, request.GET),
    })


def _vm_table(ctx, values, query) -> dict:
    q, kind = (query.get("q") or "").strip(), query.get("kind") or ""
    return {
        "q": q, "kind": kind, "vm_kinds": wizard.VM_KINDS,
        "size_rows": wizard.size_rows(ctx, tier=values.get("tier") or wizard.STANDARD, query=q, kind=kind,
                                      selected=values.get("instance_type") or ""),
        "spot": (values.get("tier") == wizard.SPOT),
    }


@login_required
@require_GET
@_wizard_run
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
@_wizard_run
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
        values = {**wizard.environment_initial(state), **form.cleaned_data}
        new, problems = wizard.apply_environment(state, values)
        if not problems:
            return _saved(request, run, new, "environment")
        _add_problems(form, problems)
    else:
        values = wizard.environment_initial(state)
        form = EnvironmentForm(initial=values)
    return _page(request, run, state, "environment", "wizard/environment.html", {
        "form": form, "values": values, "curated": wizard.CURATED_ENVIRONMENTS, "other": wizard.OTHER,
    })


# Code, command and inputs ----------------------------------------------------------------------

def _stage(run: str, upload, field: str, problems: list):
    """Convert one uploaded file into a staged .tar.gz: (Upload dict, path), or (None, None) with a
    problem on `field`."""
    if not upload:
        return None, None
    path = runs.staging_dir(run) / f"{uuid.uuid4().hex}.tar.gz"
    try:
        converted = uploads.convert_upload(upload, upload.name, path, max_bytes=settings.STUDIO_CODE_MAX_BYTES)
    except uploads.UploadError as exc:
        problems.append(wizard.Problem(field, f"{upload.name}: {exc.message}"))
        return None, None
    return converted.to_dict(), path


def _code_forms(request, state):
    initial = wizard.code_initial(state)
    if request.method == "POST":
        form = CodeForm(request.POST, request.FILES)
        literals = LiteralInputFormSet(request.POST, prefix="literals")
        data = DataInputFormSet(request.POST, request.FILES, prefix="data")
    else:
        form = CodeForm(initial={"command": initial["command"]})
        literals = LiteralInputFormSet(prefix="literals", initial=initial["literals"])
        data = DataInputFormSet(prefix="data", initial=[{"name": row["name"], "original": row["original"]}
                                                        for row in initial["data"]])
    return initial, form, literals, data


def _code(request, run, state, workspace):
    initial, form, literals, data = _code_forms(request, state)
    if request.method == "POST":
        valid = all([form.is_valid(), literals.is_valid(), data.is_valid()])
        problems: list = []
        if valid:
            code, code_path = _stage(run, form.cleaned_data.get("code"), "code", problems)
            staged_inputs = {}
            rows = []
            for index, row_form in enumerate(data.forms):
                cleaned = row_form.cleaned_data
                upload, path = _stage(run, cleaned.get("file"), f"data.{index}.file", problems)
                name = (cleaned.get("original") or cleaned.get("name") or "").strip()
                if path is not None:
                    staged_inputs[name] = path
                rows.append({"name": cleaned.get("name") or "", "original": cleaned.get("original") or "",
                             "upload": upload, "remove": cleaned.get("remove", False),
                             "failed": bool(cleaned.get("file")) and upload is None})
            values = {
                "command": form.cleaned_data.get("command") or "",
                "code": code, "remove_code": form.cleaned_data.get("remove_code", False),
                "literals": [f.cleaned_data for f in literals.forms],
                "data": rows,
            }
            new, found = wizard.apply_code(state, values)
            # a file that could not be converted already has its message; do not also say it is missing
            failed = {f"data.{i}.file" for i, row in enumerate(rows) if row["failed"]}
            problems += [p for p in found if p.field not in failed]
            if not problems:
                runs.sync_files(run, new, code=code_path, inputs=staged_inputs)
                return _saved(request, run, new, "code")
        shutil.rmtree(runs.staging_dir(run), ignore_errors=True)
        if valid:
            _code_problems(problems, form, literals, data)
    return _page(request, run, state, "code", "wizard/code.html", {
        "form": form, "literals": literals, "data": data, "initial": initial,
        "data_rows": list(zip(data.forms, initial["data"] + [None] * len(data.forms))),
        "references": wizard.input_references(state),
        "generic_reference": "${{inputs.<name>}}",
        "code_upload": state.get("code"),
        "human_size": uploads.human_size,
    })


def _code_problems(problems, form, literals, data) -> None:
    for problem in problems:
        head, _, rest = problem.field.partition(".")
        if head in ("literals", "data") and rest:
            index, _, name = rest.partition(".")
            forms = (literals if head == "literals" else data).forms
            if index.isdigit() and int(index) < len(forms):
                row = forms[int(index)]
                row.add_error(name if name in row.fields else None, problem.message)
                continue
        form.add_error(problem.field if problem.field in form.fields else None, problem.message)


# Review and submit -----------------------------------------------------------------------------

def _review_context(run: str, state: dict, workspace) -> dict:
    problems = [{"step": key, "title": wizard.step(key).title, "url": _step_url(run, key), "message": message}
                for key, message in wizard.review_problems(state)]
    try:
        text = wizard.build_spec(state).to_yaml()
    except SpecError:
        text = dump_yaml(state["spec"])
    spec = state["spec"]
    resources = spec.get("resources") or {}
    return {
        "problems": problems,
        "yaml": text,
        "spec": spec,
        "serverless": wizard.is_serverless(spec),
        "cluster": wizard.cluster_name(spec.get("compute")),
        "tier": (spec.get("queue_settings") or {}).get("job_tier") or wizard.STANDARD,
        "instance_type": resources.get("instance_type") or "",
        "instance_count": resources.get("instance_count") or 1,
        "environment": spec.get("environment"),
        "inputs": wizard.code_initial(state),
        "code_upload": state.get("code"),
        "human_size": uploads.human_size,
        "fit": _fit(spec, workspace),
    }


@login_required
@require_GET
@_wizard_run
def review(request, run: str, state: dict):
    if not wizard.reachable(state, "review"):
        return redirect(_step_url(run, wizard.first_open_step(state)))
    workspace = current_workspace(request)
    if workspace is None:
        return render(request, "wizard/unavailable.html", {"section": "jobs"})
    return _page(request, run, state, "review", "wizard/review.html", _review_context(run, state, workspace))


@login_required
@require_GET
@_wizard_run
def fit_panel(request, run: str, state: dict):
    """The review's "Will it fit?" panel, refreshed (htmx); the page itself already shows it."""
    workspace = current_workspace(request)
    if not request.htmx or workspace is None:
        return redirect("wizard:review", run=run)
    return render(request, "wizard/review.html#fit-panel",
                  {"run": run, "fit": _fit(state["spec"], workspace), "refreshed": True})


@login_required
@require_GET
@_wizard_run
def download(request, run: str, state: dict):
    """The job as YAML, for `studio job create --file` or `az ml job create --file`."""
    try:
        text = wizard.build_spec(state).to_yaml()
    except SpecError:
        text = dump_yaml(state["spec"])
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    name = state["spec"].get("name") or "job"
    response["Content-Disposition"] = f'attachment; filename="{name}.yml"'
    return response


@login_required
@require_POST
@_wizard_run
def submit(request, run: str, state: dict):
    workspace = current_workspace(request)
    if workspace is None:
        return render(request, "wizard/unavailable.html", {"section": "jobs"})
    context = _review_context(run, state, workspace)
    if context["problems"]:
        return _page(request, run, state, "review", "wizard/review.html", context, status=400)
    spec = wizard.build_spec(state)
    try:
        with ExitStack() as files:
            code = files.enter_context(open(runs.code_archive(run), "rb")) if state.get("code") else None
            inputs = {name: files.enter_context(open(runs.input_archive(run, name), "rb"))
                      for name in state.get("data") or {}}
            job = services.job_submit(user=request.user, workspace=workspace, spec=spec, spec_yaml=spec.to_yaml(),
                                      code=code, inputs=inputs)
    except FileNotFoundError:
        context["submit_error"] = {"message": "an uploaded file of this run is missing; upload it again on the "
                                              "Code step", "recommendations": [], "url": _step_url(run, "code")}
        return _page(request, run, state, "review", "wizard/review.html", context, status=400)
    except ApplicationError as exc:
        field = str(exc.extra.get("field") or "")
        context["submit_error"] = {
            "message": exc.message,
            "recommendations": list(exc.extra.get("recommendations") or []),
            "url": _step_url(run, wizard.step_of_path(field)) if field and wizard.step_of_path(field) != "review"
            else "",
        }
        return _page(request, run, state, "review", "wizard/review.html", context, status=400)
    runs.run_end(request, run)
    messages.success(request, f"Job {job.name} submitted.")
    return redirect("jobs:detail", name=job.name)


_HANDLERS = {"basics": _basics, "compute": _compute, "environment": _environment, "code": _code}
