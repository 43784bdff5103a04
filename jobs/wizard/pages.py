"""What every wizard page shares: loading the run, the steps bar, rendering a step and saving it."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse

from jobs.wizard import flow, runs
from previews.registry import SERVERLESS
from previews.selectors import preview_enabled
from studio.humanize import plural


def wizard_run(view):
    """Loads the run's state and passes it on; a run that has ended starts a new one."""
    @functools.wraps(view)
    def with_run(request, run: str, *args, **kwargs):
        state = runs.run_load(request, run)
        if state is None:
            messages.warning(request, "That wizard run has ended (its job was submitted, or it expired). "
                                      "Here is a new one.")
            return redirect("wizard:start")
        return view(request, run, state, *args, **kwargs)
    return with_run


def serverless_allowed(request) -> bool:
    return preview_enabled(user=request.user, key=SERVERLESS)


def step_url(run: str, key: str) -> str:
    if key == "review":
        return reverse("wizard:review", kwargs={"run": run})
    return reverse("wizard:step", kwargs={"run": run, "step": key})


def _steps(run: str, state: dict, current: str) -> list[dict]:
    bar = []
    for step in flow.STEPS:
        done = step.key in state["done"]
        css = "current" if step.key == current else "done" if done else ""
        link = step.key != current and (done or (step.key == "review" and flow.reachable(state, "review")))
        bar.append({"key": step.key, "title": step.title, "css": css, "url": step_url(run, step.key) if link else "",
                    "current": step.key == current})
    return bar


def page(request, run: str, state: dict, key: str, template: str, context: dict, status: int = 200):
    """A step's page (or the review's) inside the wizard's layout."""
    previous = flow.previous_step(key)
    return render(request, template, {
        "section": "jobs",
        "run": run,
        "state": state,
        "step": flow.step(key),
        "steps": _steps(run, state, key),
        "back_url": step_url(run, previous) if previous else "",
        "notes": (state.get("notes") or []) if key in ("basics", "code", "review") else [],
        **context,
    }, status=status)


def problems_heading(count: int) -> str:
    """The banner of a step that did not save."""
    return f"This step has {plural(count, 'problem')}; nothing was saved."


def saved(request, run: str, state: dict, key: str):
    """Keep the run after step `key` validated, and go on to the next step."""
    runs.run_store(request, run, state)
    return redirect(step_url(run, flow.next_step(key)))
