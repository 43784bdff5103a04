"""The job-submission wizard's rules, in pure Python (no Django).

A wizard run is a plain, JSON-serialisable dict kept in the session:

    {"spec": {...},          # the job so far, in Azure ML YAML shape (what `job.yml` would say)
     "done": ["basics"],     # steps that validated
     "code": {...} | None,   # the uploaded code (uploads.Upload.to_dict()), if any
     "data": {name: {...}},  # uploaded data of file inputs
     "cloned_from": "job-name" | None,
     "notes": ["..."]}       # what the user should know (e.g. code is not cloned)

Each step turns its form values into the spec dict (`apply_<step>`) and validates the result
with the same spec layer that reads YAML files (`CommandJobSpec.from_dict`), keeping the
issues whose field path belongs to the step and naming the form field each one is about.
`<step>_initial` goes back: the values that prefill a step's form from the spec dict.

    state = new_state()
    state, problems = apply_basics(state, {"name": "my-job", "tags": "team=vision"})
    ...
    spec = build_spec(state)   # a CommandJobSpec, exactly what is submitted
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from jobs.scheduling import core
from jobs.specs import CommandJobSpec, SpecError, is_remote

SCHEMA = "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json"
CODE_FOLDER = "./src"  # what `code:` says for the uploaded code (the YAML's folder for it)

SERVERLESS = "serverless"
CLUSTER = "cluster"
STANDARD = "Standard"
SPOT = "Spot"
TIERS = (STANDARD, SPOT)

REFERENCE = "reference"
IMAGE = "image"
OTHER = "other"

LITERAL_TYPES = ("string", "integer", "number", "boolean")


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    paths: tuple[str, ...]  # the top-level spec fields this step edits (its issues are shown there)


STEPS = (
    Step("basics", "Basics", ("name", "display_name", "experiment_name", "description", "tags", "properties")),
    Step("compute", "Compute", ("compute", "resources", "queue_settings", "distribution", "limits", "identity",
                                "services", "is_local")),
    Step("environment", "Environment", ("environment", "environment_variables")),
    Step("code", "Code, command and inputs", ("code", "command", "inputs", "outputs")),
    Step("review", "Review", ()),
)
STEP_KEYS = tuple(step.key for step in STEPS)
EDIT_STEPS = STEP_KEYS[:-1]
_BY_KEY = {step.key: step for step in STEPS}


@dataclass(frozen=True)
class Curated:
    reference: str
    title: str
    detail: str


CURATED_ENVIRONMENTS = (
    Curated("azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest", "Scikit-learn 1.0",
            "Ubuntu 20.04, Python 3.8, CPU"),
    Curated("azureml:AzureML-sklearn-1.5@latest", "Scikit-learn 1.5", "Ubuntu 22.04, Python 3.10, CPU"),
    Curated("azureml:AzureML-lightgbm-3.3@latest", "LightGBM 3.3", "Ubuntu 20.04, Python 3.8, CPU"),
    Curated("azureml:AzureML-tensorflow-2.16-cuda12@latest", "TensorFlow 2.16", "CUDA 12, GPU"),
    Curated("azureml:AzureML-acpt-pytorch-2.8-cuda12.6@latest", "PyTorch 2.8 (ACPT)", "CUDA 12.6, GPU"),
)
DEFAULT_ENVIRONMENT = CURATED_ENVIRONMENTS[0].reference
DEFAULT_IMAGE = "python:3.11-slim"


@dataclass(frozen=True)
class Problem:
    """Something to fix before a step can be saved.

    `field` names the form field it is about ("" for the step as a whole); rows of the code
    step's input tables are `literals.<row>.<field>` and `data.<row>.<field>`. `path` is the
    spec field path when the spec layer found it.
    """

    field: str
    message: str
    path: str = ""


# The run ---------------------------------------------------------------------------------------

def new_state(spec: Mapping | None = None) -> dict:
    return {
        "spec": copy.deepcopy(dict(spec)) if spec is not None else {"$schema": SCHEMA},
        "done": [],
        "code": None,
        "data": {},
        "cloned_from": None,
        "notes": [],
    }


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


def step_of_path(path: str) -> str:
    """Which step edits the spec field at `path` (`inputs.x.value` -> code); review for the rest."""
    top = re.split(r"[.\[]", path, maxsplit=1)[0]
    return next((s.key for s in STEPS if top in s.paths), "review")


def _finish(state: Mapping, spec: dict, key: str, problems: list[Problem], **changes) -> tuple[dict, list[Problem]]:
    new = copy.deepcopy(dict(state))
    new["spec"] = spec
    new.update(changes)
    if not problems and key not in new["done"]:
        new["done"] = [k for k in STEP_KEYS if k in set(new["done"]) | {key}]
    return new, problems


def _set(spec: dict, key: str, value) -> None:
    if value is None or value == "" or value == {} or value == []:
        spec.pop(key, None)
    else:
        spec[key] = value


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


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


def _top(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


# Basics ----------------------------------------------------------------------------------------

BASICS_FIELDS = ("name", "display_name", "experiment_name", "description")


def basics_initial(state: Mapping) -> dict:
    spec = state["spec"]
    values = {key: str(spec.get(key) or "") for key in BASICS_FIELDS}
    values["tags"] = tags_text(spec.get("tags"))
    return values


def tags_text(tags: Mapping | None) -> str:
    return "\n".join(f"{key}={'' if value is None else value}" for key, value in (tags or {}).items())


def parse_tags(text: str) -> tuple[dict, list[Problem]]:
    """`key=value` lines (blank lines ignored) -> tags."""
    tags: dict[str, str] = {}
    problems = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(Problem("tags", f"line {number}: write key=value, got '{line.strip()}'", "tags"))
        elif key in tags:
            problems.append(Problem("tags", f"line {number}: tag '{key}' is given twice", "tags"))
        else:
            tags[key] = value.strip()
    return tags, problems


def apply_basics(
    state: Mapping, values: Mapping, *, name_taken: Callable[[str], bool] | None = None
) -> tuple[dict, list[Problem]]:
    spec = copy.deepcopy(dict(state["spec"]))
    for key in BASICS_FIELDS:
        value = values.get(key)
        _set(spec, key, value.rstrip() if key == "description" and isinstance(value, str) else _text(value))
    tags, problems = parse_tags(values.get("tags") or "")
    if not problems:
        _set(spec, "tags", tags)
    problems += spec_problems(spec, "basics", lambda path: _top(path) if _top(path) in BASICS_FIELDS + ("tags",)
                              else "")
    name = spec.get("name")
    if name and name_taken and not any(p.field == "name" for p in problems) and name_taken(name):
        problems.append(Problem("name", f"a job named '{name}' already exists; choose another name, "
                                        "or leave it empty for a generated one", "name"))
    return _finish(state, spec, "basics", problems)


# Compute ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SizeOption:
    """A VM size as the Compute step shows it; `quota_available` is the free dedicated vCPUs of
    its family for this workspace."""

    name: str
    family: str
    vcpus: int
    memory_gib: float
    gpus: int = 0
    gpu_model: str = ""
    category: str = "cpu-general"
    price_dedicated: float | None = None
    price_spot: float | None = None
    serverless: str = "yes"
    quota_available: int = 0

    def price(self, tier: str) -> float | None:
        return self.price_spot if tier == SPOT else self.price_dedicated

    def refusal(self, tier: str) -> str | None:
        """Why serverless compute cannot run this size at `tier` (None: it can)."""
        if self.serverless == "no":
            return f"{self.name} is not offered on serverless compute (retired or unsupported)"
        if tier == SPOT and self.price_spot is None:
            return f"{self.name} is not available as Spot (low priority)"
        return None


@dataclass(frozen=True)
class ClusterOption:
    name: str
    instance_type: str
    max_instances: int = 1
    min_instances: int = 0
    state: str = "steady"
    busy_nodes: int = 0


@dataclass(frozen=True)
class ComputeContext:
    """What the Compute step offers: the preview, the catalogue with free quota, the clusters."""

    serverless_allowed: bool
    sizes: Mapping[str, SizeOption] = field(default_factory=dict)
    clusters: Mapping[str, ClusterOption] = field(default_factory=dict)
    spot_available: int = 0  # free vCPUs of the subscription's Spot pool


def is_serverless(spec: Mapping) -> bool:
    compute = spec.get("compute")
    return compute is None or str(compute).strip().lower() in ("serverless", "azureml:serverless")


def cluster_name(compute: str | None) -> str:
    if not compute:
        return ""
    name = str(compute).strip().removeprefix("azureml:")
    return name.rsplit("/computes/", 1)[-1]


def compute_initial(state: Mapping, ctx: ComputeContext) -> dict:
    spec = state["spec"]
    resources = spec.get("resources") or {}
    queue = spec.get("queue_settings") or {}
    serverless = is_serverless(spec) and ctx.serverless_allowed
    cluster = "" if is_serverless(spec) else cluster_name(spec.get("compute"))
    if not serverless and not cluster and len(ctx.clusters) == 1:
        cluster = next(iter(ctx.clusters))
    return {
        "compute_type": SERVERLESS if serverless else CLUSTER,
        "tier": SPOT if str(queue.get("job_tier") or "").lower() == "spot" else STANDARD,
        "instance_type": str(resources.get("instance_type") or "") if is_serverless(spec) else "",
        "instance_count": str(resources.get("instance_count") or 1),
        "cluster": cluster,
    }


def _integer(text) -> int | str | None:
    """Form text -> an int when it is one; other text is kept so the spec layer can say what is wrong."""
    text = _text(text) if not isinstance(text, int) else text
    if isinstance(text, int):
        return text
    if not text:
        return None
    return int(text) if re.fullmatch(r"[+-]?\d{1,18}", text) else text


def find_size(sizes: Mapping[str, SizeOption], name: str) -> SizeOption | None:
    return sizes.get(name) or next((s for s in sizes.values() if s.name.lower() == name.lower()), None)


def _compute_field(path: str) -> str:
    if path.startswith("resources.instance_count"):
        return "instance_count"
    if path.startswith("resources.instance_type"):
        return "instance_type"
    if path.startswith("queue_settings"):
        return "tier"
    if path.startswith("compute"):
        return "cluster"
    return ""


def apply_compute(state: Mapping, values: Mapping, ctx: ComputeContext) -> tuple[dict, list[Problem]]:
    spec = copy.deepcopy(dict(state["spec"]))
    problems: list[Problem] = []
    choice = _text(values.get("compute_type")) or (SERVERLESS if ctx.serverless_allowed else CLUSTER)
    resources = dict(spec.get("resources") or {})
    queue = dict(spec.get("queue_settings") or {})
    count = _integer(values.get("instance_count"))
    resources["instance_count"] = 1 if count is None else count

    if choice == SERVERLESS:
        if not ctx.serverless_allowed:
            problems.append(Problem("compute_type", "Serverless compute is a preview: turn it on under Manage "
                                                    "previews, or choose a compute cluster"))
        spec.pop("compute", None)
        tier = _text(values.get("tier")) or STANDARD
        tier = next((t for t in TIERS if t.lower() == tier.lower()), tier)
        if tier not in TIERS:
            problems.append(Problem("tier", f"unknown tier '{tier}'; choose Standard (dedicated) or Spot (low "
                                            "priority)"))
        queue["job_tier"] = tier
        wanted = _text(values.get("instance_type"))
        if wanted:
            size = find_size(ctx.sizes, wanted)
            if size is None:
                close = difflib.get_close_matches(wanted, list(ctx.sizes), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else "; choose one from the table"
                problems.append(Problem("instance_type", f"unknown VM size '{wanted}'{hint}",
                                        "resources.instance_type"))
            else:
                refusal = size.refusal(tier)
                if refusal:
                    fix = "choose Standard or another size" if tier == SPOT and size.serverless != "no" else \
                        "choose another size, or Automatic"
                    problems.append(Problem("instance_type", f"{refusal}; {fix}", "resources.instance_type"))
                wanted = size.name
            resources["instance_type"] = wanted
        else:
            resources.pop("instance_type", None)
    elif choice == CLUSTER:
        name = _text(values.get("cluster"))
        if not ctx.clusters:
            other = "choose Serverless" if ctx.serverless_allowed else "turn on Serverless compute under Manage previews"
            problems.append(Problem("cluster", f"this workspace has no compute cluster; create one under Compute, "
                                               f"or {other}"))
        elif not name:
            problems.append(Problem("cluster", "choose a cluster"))
        elif name not in ctx.clusters:
            problems.append(Problem("cluster", f"compute '{name}' does not exist in this workspace; choose one of "
                                               f"{', '.join(sorted(ctx.clusters))}", "compute"))
        _set(spec, "compute", f"azureml:{name}" if name else None)
        resources.pop("instance_type", None)  # a cluster has its own VM size
        queue.pop("job_tier", None)  # and dedicated nodes
    else:
        problems.append(Problem("compute_type", "choose Serverless or Compute cluster"))

    _set(spec, "resources", resources)
    _set(spec, "queue_settings", queue)
    problems += spec_problems(spec, "compute", _compute_field)
    return _finish(state, spec, "compute", problems)


VM_KINDS = (("", "All sizes"), ("cpu", "CPU"), ("gpu", "GPU"), ("quota", "With free quota"))


@dataclass(frozen=True)
class SizeRow:
    size: SizeOption
    price: float | None
    quota_available: int  # free vCPUs of the quota this size would use at the tier
    fits: int  # nodes that fit in them
    refusal: str | None
    selected: bool


def size_rows(ctx: ComputeContext, *, tier: str, query: str = "", kind: str = "", selected: str = "") -> list[SizeRow]:
    """The VM table of the Compute step: sizes serverless compute offers, filtered, GPUs last,
    cheapest first; the selected size is always listed."""
    tier = SPOT if tier == SPOT else STANDARD
    query = query.strip().lower()
    rows = []
    for size in ctx.sizes.values():
        chosen = size.name.lower() == selected.lower()
        free = ctx.spot_available if tier == SPOT else size.quota_available
        row = SizeRow(size, size.price(tier), free, free // size.vcpus if size.vcpus else 0, size.refusal(tier),
                      chosen)
        if not chosen:
            if size.serverless == "no":
                continue
            if query and query not in f"{size.name} {size.family} {size.gpu_model} {size.category}".lower():
                continue
            if kind == "cpu" and size.gpus or kind == "gpu" and not size.gpus or kind == "quota" and row.fits < 1:
                continue
        rows.append(row)
    return sorted(rows, key=lambda r: (r.size.gpus > 0, r.price if r.price is not None else math.inf, r.size.name))


# Environment -----------------------------------------------------------------------------------

def environment_initial(state: Mapping) -> dict:
    env = state["spec"].get("environment")
    curated = {c.reference for c in CURATED_ENVIRONMENTS}
    if isinstance(env, Mapping):
        return {"env_kind": IMAGE, "curated": DEFAULT_ENVIRONMENT, "reference": "", "image": str(env.get("image") or "")}
    if isinstance(env, str) and env:
        if env in curated:
            return {"env_kind": REFERENCE, "curated": env, "reference": "", "image": DEFAULT_IMAGE}
        return {"env_kind": REFERENCE, "curated": OTHER, "reference": env, "image": DEFAULT_IMAGE}
    return {"env_kind": REFERENCE, "curated": DEFAULT_ENVIRONMENT, "reference": "", "image": DEFAULT_IMAGE}


def apply_environment(state: Mapping, values: Mapping) -> tuple[dict, list[Problem]]:
    spec = copy.deepcopy(dict(state["spec"]))
    kind = _text(values.get("env_kind")) or REFERENCE
    problems: list[Problem] = []
    if kind == REFERENCE:
        curated = _text(values.get("curated")) or OTHER
        if curated == OTHER:
            target = "reference"
            _set(spec, "environment", _text(values.get("reference")))
            if "environment" not in spec:
                problems.append(Problem("reference", "type an environment, for example "
                                                      "azureml:<name>@latest or azureml:<name>:<version>"))
        elif curated in {c.reference for c in CURATED_ENVIRONMENTS}:
            target = "curated"
            spec["environment"] = curated
        else:
            target = "curated"
            problems.append(Problem("curated", f"'{curated}' is not one of the curated environments; choose "
                                               "Other to type it"))
    elif kind == IMAGE:
        target = "image"
        old = spec.get("environment")
        env = dict(old) if isinstance(old, Mapping) else {}
        image = _text(values.get("image"))
        if image:
            env["image"] = image
            env.pop("build", None)
        else:
            env.pop("image", None)
        spec["environment"] = env
    else:
        target = "env_kind"
        problems.append(Problem("env_kind", "choose an environment or a Docker image"))
    if not any(p.field == target for p in problems):
        problems += spec_problems(spec, "environment",
                                  lambda path: target if path.startswith("environment") and "variables" not in path
                                  else "")
    return _finish(state, spec, "environment", problems)


# Code, command and inputs ----------------------------------------------------------------------

def is_literal_input(value) -> bool:
    if isinstance(value, Mapping):
        return str(value.get("type") or "") in LITERAL_TYPES or (
            "path" not in value and ("value" in value or "default" in value))
    return value is not None


def literal_type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _literal_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def is_local_data(value) -> bool:
    return isinstance(value, Mapping) and not is_literal_input(value) and bool(value.get("path")) \
        and not is_remote(str(value["path"]))


def code_initial(state: Mapping) -> dict:
    """The command, the literal input rows and the data input rows (with what was uploaded)."""
    spec = state["spec"]
    literals, data = [], []
    for name, value in (spec.get("inputs") or {}).items():
        if is_literal_input(value):
            if isinstance(value, Mapping):
                type_ = str(value.get("type") or literal_type(value.get("value", value.get("default"))))
                shown = value.get("value", value.get("default"))
            else:
                type_, shown = literal_type(value), value
            literals.append({"name": name, "type": type_, "value": _literal_text(shown)})
        else:
            upload = (state.get("data") or {}).get(name)
            data.append({"name": name, "original": name, "type": str(value.get("type") or "uri_folder"),
                         "path": str(value.get("path") or ""), "upload": upload,
                         "remote": not is_local_data(value)})
    return {"command": str(spec.get("command") or ""), "literals": literals, "data": data,
            "code": state.get("code")}


def _literal_value(text: str, type_: str):
    """Form text -> the typed value; text that is not of the type is kept for the spec layer to refuse."""
    text = text.strip()
    if not text:
        return None
    if type_ == "integer" and re.fullmatch(r"[+-]?\d{1,18}", text):
        return int(text)
    if type_ == "number":
        if re.fullmatch(r"[+-]?\d{1,18}", text):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return text
        return number if math.isfinite(number) else text
    if type_ == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def data_input(upload: Mapping) -> dict:
    """The spec entry of an uploaded file (uri_file) or folder (uri_folder)."""
    kind = "uri_file" if upload.get("kind") == "file" else "uri_folder"
    return {"type": kind, "path": f"./{upload['path']}"}


def apply_code(state: Mapping, values: Mapping) -> tuple[dict, list[Problem]]:
    """`values`: command; code (a new upload's dict) or remove_code; literals (rows of name, type,
    value); data (rows of name, original (the input the row shows, "" for a new row), upload (a new
    upload's dict), remove)."""
    spec = copy.deepcopy(dict(state["spec"]))
    problems: list[Problem] = []
    command = values.get("command") or ""
    _set(spec, "command", command.strip())

    code = state.get("code")
    if values.get("code"):
        code = dict(values["code"])
    elif values.get("remove_code"):
        code = None
    _set(spec, "code", CODE_FOLDER if code else None)

    inputs: dict = {}
    rows: dict[str, str] = {}  # input name -> "literals.<i>" / "data.<i>"
    uploads = dict(state.get("data") or {})

    def declare(name: str, entry, row: str) -> None:
        if name in inputs:
            problems.append(Problem(f"{row}.name", f"'{name}' is declared twice; give each input its own name",
                                    f"inputs.{name}"))
            return
        inputs[name] = entry
        rows[name] = row

    for index, row in enumerate(values.get("literals") or []):
        name, text = _text(row.get("name")), row.get("value") or ""
        type_ = _text(row.get("type")) or "string"
        if not name and not text.strip():
            continue
        if not name:
            problems.append(Problem(f"literals.{index}.name", "give this input a name"))
            continue
        if type_ not in LITERAL_TYPES:
            problems.append(Problem(f"literals.{index}.type", f"choose one of {', '.join(LITERAL_TYPES)}"))
            continue
        entry = {"type": type_}
        value = _literal_value(text, type_) if type_ != "string" else (text if text.strip() else None)
        if value is not None:
            entry["value"] = value
        declare(name, entry, f"literals.{index}")

    data_rows = list(values.get("data") or [])
    originals = {_text(row.get("original")): (index, row) for index, row in enumerate(data_rows)
                 if _text(row.get("original"))}
    for name, entry in (spec.get("inputs") or {}).items():
        if is_literal_input(entry):
            continue  # literal inputs are what the literal rows say
        index, row = originals.get(name, (None, {}))
        where = f"data.{index}" if index is not None else "data"
        if row.get("remove"):
            uploads.pop(name, None)
            continue
        if row.get("upload"):
            entry = data_input(row["upload"])
            uploads[name] = dict(row["upload"])
        declare(name, entry, where)
    for index, row in enumerate(data_rows):
        if _text(row.get("original")):
            continue
        name, upload = _text(row.get("name")), row.get("upload")
        if not name and not upload:
            continue
        if not name:
            problems.append(Problem(f"data.{index}.name", "give this input a name"))
            continue
        if not upload:
            problems.append(Problem(f"data.{index}.file", "choose the file (or a .zip / .tar.gz of a folder) for "
                                                          "this input"))
            continue
        before = len(inputs)
        declare(name, data_input(upload), f"data.{index}")
        if len(inputs) > before:
            uploads[name] = dict(upload)

    uploads = {name: upload for name, upload in uploads.items() if is_local_data(inputs.get(name))}
    for name, entry in inputs.items():
        if is_local_data(entry) and name not in uploads:
            problems.append(Problem(f"{rows[name]}.file", f"the data of input '{name}' ({entry['path']}) was not "
                                                          "cloned: choose the file again, or remove the input",
                                    f"inputs.{name}"))
    _set(spec, "inputs", inputs)

    def field_of(path: str) -> str:
        if path in ("command", "code"):
            return path
        if path.startswith("inputs."):
            rest = path[len("inputs."):]
            name = max((n for n in rows if rest == n or rest.startswith(n + ".")), key=len, default=None)
            if name is None:
                return ""
            row = rows[name]
            sub = rest[len(name) + 1:]
            if row.startswith("literals."):
                return f"{row}.{'value' if sub.startswith(('value', 'default')) else 'type' if sub == 'type' else 'name'}"
            return f"{row}.{'name' if not sub else 'file'}"
        return ""

    problems += spec_problems(spec, "code", field_of)
    return _finish(state, spec, "code", problems, code=code, data=uploads)


def input_references(state: Mapping) -> list[str]:
    """`${{inputs.<name>}}` for every declared input, for the command's help text."""
    return ["${{inputs." + name + "}}" for name in (state["spec"].get("inputs") or {})]


# Review ----------------------------------------------------------------------------------------

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
    for name, entry in (spec.get("inputs") or {}).items():
        if is_local_data(entry) and name not in (state.get("data") or {}):
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


# Cloning ---------------------------------------------------------------------------------------

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
                     "“Code, command and inputs” step.")
    local = [name for name, entry in (spec.get("inputs") or {}).items() if is_local_data(entry)]
    if local:
        dropped = True
        notes.append(f"Uploaded data is not cloned: choose the files of {', '.join(local)} again on the "
                     "“Code, command and inputs” step.")
    if not is_serverless(spec) and not spec.get("compute"):
        spec.pop("compute", None)
    if is_serverless(spec) and not serverless_allowed:
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
        if key == "compute" and is_serverless(spec) and not serverless_allowed:
            break
        done.append(key)
    state["done"] = done
    return state


# Will it fit? ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fit:
    """The scheduling service's answer, as the "Will it fit?" panel says it."""

    verdict: str  # starts | waits | rejected
    title: str
    detail: str
    instance_type: str | None = None
    nodes: int | None = None
    position: int | None = None
    recommendations: tuple[str, ...] = ()


def fit_of(decision: core.Decision, *, now: datetime) -> Fit:
    if isinstance(decision, core.Admit):
        return Fit("starts", "Starts now", decision.reason, decision.instance_type, decision.nodes)
    if isinstance(decision, core.Wait):
        return Fit("waits", f"Waits in the queue (position {decision.position})",
                   core.describe_wait(decision.reason, decision.position, decision.estimated_start, now),
                   decision.instance_type, None, decision.position)
    if isinstance(decision, core.Reject):
        return Fit("rejected", "Will not run as asked", decision.reason, recommendations=tuple(decision.recommendations))
    raise TypeError(f"not a decision about a waiting job: {decision!r}")


def problems_by_field(problems: Sequence[Problem]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in problems:
        found.setdefault(problem.field, []).append(problem.message)
    return found
