"""A wizard run as a whole, in pure Python (no Django): its state, its steps in order, moving
between them, and what the run adds up to (review, the spec it submits, a run cloned from a job).

A run is a plain, JSON-serialisable dict kept in the session:

    {"spec": {...},          # the job so far, in Azure ML YAML shape (what `job.yml` would say)
     "done": ["basics"],     # steps that validated
     "code": {...} | None,   # the uploaded code (uploads.Upload.to_dict()), if any
     "data": {name: {...}},  # uploaded data of file inputs
     "cloned_from": "job-name" | None,
     "notes": ["..."]}       # what the user should know (e.g. code is not cloned)

Each step (jobs.wizard.steps) turns its form values into the spec dict and validates the result
with the same spec layer that reads YAML files (`CommandJobSpec.from_dict`), keeping the issues
whose field path belongs to the step (`spec_problems`) and naming the form field each one is about.

    state = new_state()
    state, problems = basics.apply(state, {"name": "my-job", "tags": "team=vision"})
    ...
    spec = build_spec(state)   # a CommandJobSpec, exactly what is submitted
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from jobs.specs import CommandJobSpec, SpecError, is_remote, parts
from jobs.specs.common import dump_yaml
from jobs.wizard import rules

SCHEMA = "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json"
DEFAULT_IMAGE = "python:3.11-slim"
LITERAL_TYPES = tuple(parts.LITERAL_TYPES)


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    paths: tuple[str, ...]  # the top-level spec fields this step edits (its issues are shown there)


STEPS = (
    Step("basics", "Basics", ("name", "display_name", "experiment_name", "description", "tags", "properties")),
    Step("compute", "Compute", ("compute", "resources", "queue_settings", "identity", "services", "is_local")),
    Step("environment", "Environment", ("environment",)),
    Step("code", "Code, command and inputs", ("code", "command", "inputs", "outputs", "environment_variables",
                                              "limits", "distribution")),
    Step("review", "Review", ()),
)
STEP_KEYS = tuple(step.key for step in STEPS)
EDIT_STEPS = STEP_KEYS[:-1]
_BY_KEY = {step.key: step for step in STEPS}


@dataclass(frozen=True)
class Problem:
    """Something to fix before a step can be saved.

    `field` names the form field it is about ("" for the step as a whole); rows of the code
    step's tables are `<table>.<row>.<field>` (`literals.0.value`, `env.1.name` ...). `path` is
    the spec field path when the spec layer found it.
    """

    field: str
    message: str
    path: str = ""


def new_state(spec: Mapping | None = None) -> dict:
    return {
        "spec": copy.deepcopy(dict(spec)) if spec is not None else {"$schema": SCHEMA},
        "done": [],
        "code": None,
        "data": {},
        "cloned_from": None,
        "notes": [],
    }


# Moving between steps ------------------------------------------------------------------------

def step(key: str) -> Step:
    return _BY_KEY[key]


def next_step(key: str) -> str:
    return STEP_KEYS[STEP_KEYS.index(key) + 1]


def previous_step(key: str) -> str | None:
    index = STEP_KEYS.index(key)
    return STEP_KEYS[index - 1] if index else None


def reachable(state: Mapping, key: str) -> bool:
    """A step can be opened when every step before it is done."""
    done = set(state.get("done", ()))
    return all(earlier in done for earlier in STEP_KEYS[: STEP_KEYS.index(key)])


def first_open_step(state: Mapping) -> str:
    """The first step that is not done yet (review when all are)."""
    done = set(state.get("done", ()))
    return next((key for key in EDIT_STEPS if key not in done), "review")


def top(path: str) -> str:
    """The top-level field of a spec path: `inputs.x.value` -> `inputs`."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def step_of_path(path: str) -> str:
    """Which step edits the spec field at `path` (`inputs.x.value` -> code); review for the rest."""
    return next((s.key for s in STEPS if top(path) in s.paths), "review")


# What every step does with its values ----------------------------------------------------------

def spec_issues(spec: Mapping) -> list:
    """Every problem the spec layer finds in the job so far (SpecIssue objects)."""
    try:
        CommandJobSpec.from_dict(spec)
    except SpecError as exc:
        return list(exc.issues)
    return []


def spec_problems(spec: Mapping, key: str, field_of: Callable[[str], str]) -> list[Problem]:
    """The spec layer's problems that belong to step `key`, each on its form field."""
    return [Problem(field_of(issue.path), issue.message, issue.path)
            for issue in spec_issues(spec) if step_of_path(issue.path) == key]


def finish(state: Mapping, spec: dict, key: str, problems: list[Problem], **changes) -> tuple[dict, list[Problem]]:
    """The run after step `key` applied its values (marked done when there is no problem)."""
    new = copy.deepcopy(dict(state))
    new["spec"] = spec
    new.update(changes)
    if not problems and key not in new["done"]:
        new["done"] = [k for k in STEP_KEYS if k in set(new["done"]) | {key}]
    return new, problems


def set_field(spec: dict, key: str, value) -> None:
    """Set `key`, or leave it out when the value is empty."""
    if value is None or value == "" or value == {} or value == []:
        spec.pop(key, None)
    else:
        spec[key] = value


def text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def integer(value) -> int | str | None:
    """Form text -> an int when it is one; other text is kept so the spec layer can say what is wrong."""
    if isinstance(value, int):
        return value
    value = text(value)
    if not value:
        return None
    return int(value) if re.fullmatch(r"[+-]?\d{1,18}", value) else value


def problems_by_field(problems: Sequence[Problem]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in problems:
        found.setdefault(problem.field, []).append(problem.message)
    return found


# The run's inputs ------------------------------------------------------------------------------

def is_literal_input(value) -> bool:
    if isinstance(value, Mapping):
        return str(value.get("type") or "") in LITERAL_TYPES or (
            "path" not in value and ("value" in value or "default" in value))
    return value is not None


def is_local_data(value) -> bool:
    """A data input whose path is a file the user uploaded (not a datastore or URL)."""
    return isinstance(value, Mapping) and not is_literal_input(value) and bool(value.get("path")) \
        and not is_remote(str(value["path"]))


def local_inputs(spec: Mapping) -> list[str]:
    return [name for name, entry in (spec.get("inputs") or {}).items() if is_local_data(entry)]


# The whole run ---------------------------------------------------------------------------------

def review_problems(state: Mapping) -> list[tuple[str, str]]:
    """(step, message) for everything that stops the job from being submitted as it is."""
    found = []
    done = set(state.get("done", ()))
    for key in EDIT_STEPS:
        if key not in done:
            found.append((key, f"{step(key).title}: not completed yet"))
    for issue in spec_issues(state["spec"]):
        found.append((step_of_path(issue.path), str(issue)))
    spec = state["spec"]
    if spec.get("code") and not state.get("code"):
        found.append(("code", "code: no code was uploaded for it; upload it on the Code step"))
    for name in local_inputs(spec):
        if name not in (state.get("data") or {}):
            found.append(("code", f"inputs.{name}: its data was not uploaded; choose the file on the Code step"))
    return found


def build_spec(state: Mapping) -> CommandJobSpec:
    """The job to submit; raises SpecError."""
    return CommandJobSpec.from_dict(state["spec"])


def placement_spec(spec: Mapping) -> CommandJobSpec:
    """Only where and how big the job runs (all the scheduler needs to say whether it fits), so
    that the answer is available before the other steps are complete."""
    probe = {key: copy.deepcopy(spec[key]) for key in ("compute", "resources", "queue_settings") if key in spec}
    return CommandJobSpec.from_dict({"command": "true", "environment": {"image": DEFAULT_IMAGE}, **probe})


def from_job(job_spec: Mapping, *, job_name: str, serverless_allowed: bool) -> dict:
    """A run prefilled from an existing job's spec. Its code and uploaded data are not cloned."""
    spec = copy.deepcopy(dict(job_spec))
    spec.pop("name", None)
    spec.setdefault("$schema", SCHEMA)
    notes = [f"Prefilled from job {job_name}. Its name is left empty: a new job needs a new name."]
    dropped = False
    if spec.get("code"):
        code = spec.pop("code")
        dropped = True
        notes.append(f"Code is not cloned: the job ran with code from '{code}'. Upload it again on the "
                     f"“{step('code').title}” step.")
    local = local_inputs(spec)
    if local:
        dropped = True
        notes.append(f"Uploaded data is not cloned: choose the files of {', '.join(local)} again on the "
                     f"“{step('code').title}” step.")
    serverless = rules.runs_on_serverless(spec)
    if not serverless and not spec.get("compute"):
        spec.pop("compute", None)
    if serverless and not serverless_allowed:
        notes.append("The job ran on serverless compute, which is a preview that is off for you: choose a compute "
                     "cluster, or turn Serverless compute on under Manage previews.")
    state = new_state(spec)
    state["cloned_from"] = job_name
    state["notes"] = notes
    issues_by_step = {step_of_path(issue.path) for issue in spec_issues(spec)}
    done = []
    for key in EDIT_STEPS:
        if key in issues_by_step or (key == "code" and dropped):
            break
        if key == "compute" and serverless and not serverless_allowed:
            break
        done.append(key)
    state["done"] = done
    return state


def job_yaml(state: Mapping) -> str:
    """The job as YAML: the validated spec, or (while it has problems) the spec dict as it is."""
    try:
        return build_spec(state).to_yaml()
    except SpecError:
        return dump_yaml(state["spec"])
