"""ada's workspace full of things an outsider must never see, and what to ask for them.

``ada_world`` fills ada's workspace (ws-1, the shared ``workspace`` fixture) with one of everything
that a URL can name — a running Spot job with a node, a log, an event, an output file, metrics,
params, an MLflow experiment and a nested run; a second job; a cluster; a usage record; a quota;
a wizard draft — each carrying a marker (``ada-secret-...``) that must never reach bob, the
``outsider`` (admin of his own sub-2 / ws-2), in any answer.
"""

from __future__ import annotations

import io
import re
import tarfile
from dataclasses import dataclass, field

import pytest
from django.test import Client
from django.utils.http import urlencode
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from tests.conftest import api_client_for

# --- the URLconf ---------------------------------------------------------------------------------


def url_patterns() -> list[str]:
    """Every route of the studio as written in the URLconf (``jobs/<str:name>/cancel/``), read from
    Django's resolver, so that a URL added later shows up here without anyone listing it."""

    def walk(patterns, prefix: str):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern)

    return list(dict.fromkeys(walk(get_resolver().url_patterns, "")))


PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def url_for(route: str, params: dict[str, str]) -> str:
    """The URL of ``route`` with each of its parameters filled from ``params`` (all of them)."""
    if route.startswith("^"):  # a regular expression: the probe names the whole path itself
        return "/" + params["path_"]

    def fill(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        assert name in params, f"{route}: no value for its parameter '{name}'"
        return params[name]

    url = "/" + PARAMETER.sub(fill, route)
    assert "<" not in url, url
    return url


# --- what an answer must not contain ------------------------------------------------------------


@dataclass
class World:
    """ada's things (the values a URL can name) and the markers that must never leak."""

    values: dict[str, str]
    markers: list[str] = field(default_factory=list)

    def fill(self, value):
        if isinstance(value, str):
            return value.format(**self.values)
        if isinstance(value, dict):
            return {key: self.fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.fill(item) for item in value]
        return value

    def leaks(self, text: str, asked: str) -> list[str]:
        """The markers found in ``text`` that the request did not itself name (echoing the name a
        caller typed, as in "job 'x' was not found", tells them nothing)."""
        return [marker for marker in self.markers
                if marker not in asked and re.search(rf"(?<![\w-]){re.escape(marker)}(?![\w-])", text)]


def text_of(response) -> str:
    """The body as text; for a .tar.gz, the names and contents of its files (not where its links
    point: a link's target is what the job that made it wrote)."""
    raw = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    if response.get("Content-Type") == "application/gzip":
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as archive:
            parts = []
            for member in archive.getmembers():
                parts.append(member.name)
                if member.isfile():
                    parts.append(archive.extractfile(member).read().decode("utf-8", errors="replace"))
            return "\n".join(parts)
    return raw.decode("utf-8", errors="replace")


# --- ada's workspace ------------------------------------------------------------------------------

JOB = "ada-secret-job"
OTHER_JOB = "ada-secret-sibling"
CLUSTER = "ada-secret-cluster"
EXPERIMENT = "ada-secret-experiment"
OUTPUT = "outputs/ada-secret-output.txt"
FAMILY = "standardDSv3Family"
QUOTA = 4913  # ada's subscription's quota for FAMILY; no default is this number
DRAFT = "ada-secret-draft"


@pytest.fixture
def ada_world(user, workspace, set_quota, data_dir, outsider) -> World:
    from jobs import storage
    from jobs.lifecycle import Status
    from jobs.models import Job, JobEvent, LogChunk, Node
    from jobs.tracking import services as tracking
    from quotas.models import UsageRecord
    from quotas.services import cluster_create

    set_quota(FAMILY, QUOTA)
    spec = {"command": "python ada-secret-command.py", "experiment_name": EXPERIMENT}
    job = Job.objects.create(
        name=JOB, workspace=workspace, submitted_by=user, status=Status.RUNNING, tier="Spot",
        experiment_name=EXPERIMENT, display_name="ada-secret-display", description="ada-secret-description",
        spec=spec, spec_yaml="command: python ada-secret-command.py\n", instance_type="Standard_DS3_v2",
        started_at=timezone.now(), admitted_at=timezone.now(),
    )
    node = Node.objects.create(job=job, index=0, status=Status.RUNNING, worker="w", log_size=20)
    LogChunk.objects.create(node=node, offset=0, text="ada-secret-log-line\n")
    JobEvent.objects.create(job=job, at=timezone.now(), message="ada-secret-event")
    output = storage.artifacts_dir(JOB) / OUTPUT
    output.parent.mkdir(parents=True)
    output.write_text("ada-secret-output-content")
    experiment = tracking.experiment_ensure(workspace=workspace, name=EXPERIMENT)
    tracking.metric_log_batch(job=job, metrics=[{"key": "ada_secret_metric", "value": 0.25, "timestamp": 1, "step": 0}],
                              params=[{"key": "ada_secret_param", "value": "ada-secret-param-value"}],
                              tags=[{"key": "ada_secret_tag", "value": "ada-secret-tag-value"}])
    nested = tracking.run_create(job=job, experiment=experiment, run_name="ada-secret-run")
    Job.objects.create(name=OTHER_JOB, workspace=workspace, submitted_by=user, status=Status.RUNNING,
                       experiment_name=EXPERIMENT, spec=spec)
    cluster_create(user=user, workspace=workspace, name=CLUSTER, size="Standard_DS3_v2", max_instances=2)
    UsageRecord.objects.create(workspace=workspace, user=user, job_name=JOB, node_id=node.id, compute=CLUSTER,
                               vm_size="Standard_DS3_v2", family=FAMILY, tier="Standard", vcpus=4,
                               started_at=timezone.now())
    values = {
        "job": JOB, "sibling": OTHER_JOB, "output": OUTPUT, "cluster": CLUSTER, "experiment": EXPERIMENT,
        "experiment_id": str(experiment.id), "run_id": nested.run_id, "node": "0", "family": FAMILY,
        "workspace": workspace.name, "workspace_id": str(workspace.id), "subscription": workspace.subscription.name,
        "draft": _wizard_draft(user),
    }
    markers = [JOB, OTHER_JOB, CLUSTER, EXPERIMENT, nested.run_id, "ada-secret-run", "ada-secret-display",
               "ada-secret-description", "ada-secret-command.py", "ada-secret-log-line", "ada-secret-event",
               "ada-secret-output.txt", "ada-secret-output-content", "ada_secret_metric", "ada_secret_param",
               "ada-secret-param-value", "ada_secret_tag", "ada-secret-tag-value", DRAFT, str(QUOTA),
               workspace.name, workspace.subscription.name, values["draft"]]
    return World(values=values, markers=markers)


def _wizard_draft(user) -> str:
    """ada starts the submission wizard and fills in its first step: the run id of her draft."""
    client = Client()
    client.force_login(user)
    run = client.get("/submit/")["Location"].split("/")[2]
    saved = client.post(f"/submit/{run}/basics/", {"name": "", "display_name": DRAFT, "experiment_name": DRAFT,
                                                   "description": DRAFT, "tags": ""})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    return run


def world_state(world: World) -> dict:
    """Everything of ada's that an outsider's request could change, to compare before and after."""
    from jobs.models import Job, LatestMetric, RunParam, RunTag, TrackingExperiment, TrackingRun
    from jobs import storage
    from quotas.models import Cluster, Subscription, SubscriptionQuota, Workspace, WorkspaceQuota

    workspace = Workspace.objects.get(name=world.values["workspace"])
    jobs = Job.objects.filter(workspace=workspace)
    artifacts = storage.artifacts_dir(JOB)
    return {
        "jobs": sorted(jobs.values_list("name", "status", "evicting", "display_name", "tier")),
        "clusters": sorted(Cluster.objects.filter(workspace=workspace).values_list("name", "max_instances")),
        "quotas": sorted(SubscriptionQuota.objects.filter(subscription=workspace.subscription_id)
                         .values_list("family_id", "limit")),
        "caps": sorted(WorkspaceQuota.objects.filter(workspace=workspace).values_list("family_id", "limit")),
        "spot": Subscription.objects.get(id=workspace.subscription_id).spot_vcpu_limit,
        "metrics": sorted(LatestMetric.objects.filter(job__in=jobs).values_list("key", "value")),
        "params": sorted(RunParam.objects.filter(job__in=jobs).values_list("key", "value")),
        "tags": sorted(RunTag.objects.filter(job__in=jobs).values_list("key", "value")),
        "runs": sorted(TrackingRun.objects.filter(job__in=jobs).values_list("run_id", "status", "name")),
        "experiments": sorted(TrackingExperiment.objects.filter(workspace=workspace).values_list("name", flat=True)),
        "artifacts": sorted(p.relative_to(artifacts).as_posix() for p in artifacts.rglob("*")),
    }


# --- asking -------------------------------------------------------------------------------------


OWN = (200,)  # bob's own things: shown, with nothing of ada's


@dataclass(frozen=True)
class Probe:
    """One request to a route: ``params`` fill the route's parameters, ``query`` and ``data`` are
    sent as given; ``{job}`` and the like are ada's values. ``expect``: the statuses that count
    as the right answer. ``who``: the caller (see ``callers``)."""

    method: str = "get"
    params: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    data: dict | None = None
    expect: tuple[int, ...] = (404,)
    who: str = "outsider"
    htmx: str = ""  # an htmx request, for this HX-Target
    why: str = ""


def ask(client, world: World, route: str, probe: Probe):
    """Send ``probe`` with ``client``; check the status, that nothing of ada's leaked (also after a
    redirect) and that nothing of hers changed. Returns the response."""
    url = url_for(route, world.fill(probe.params))
    query, data = world.fill(probe.query), world.fill(probe.data)
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": probe.htmx} if probe.htmx else {}
    before = world_state(world)
    send = getattr(client, probe.method)
    if probe.method == "get":
        response = send(url, query, **headers)
    else:
        if query:
            url += "?" + urlencode(query)
        kwargs = {"format": "json"} if hasattr(client, "credentials") and data is not None else {}
        response = send(url, data or {}, **kwargs, **headers)
    asked = f"{url} {query} {data} {getattr(client, 'identity', '')}"  # a job's token carries its name
    label = f"{probe.who}: {probe.method.upper()} {url} {query or ''} {data or ''}".rstrip()
    body = text_of(response)
    assert response.status_code in probe.expect, \
        f"{label} → {response.status_code}, expected {probe.expect}: {body[:600]}"
    if probe.who.startswith("member"):  # charlie is in ada's workspace: hers are his to see
        assert world_state(world) == before, f"{label} changed ada's workspace"
        return response
    assert not world.leaks(body, asked), f"{label} leaks {world.leaks(body, asked)}: {body[:600]}"
    location = response.get("Location", "")
    if 300 <= response.status_code < 400 and location.startswith("/"):
        landed = client.get(location, follow=True)  # where the redirect (and any after it) lands
        assert landed.status_code < 500, f"{label} → {location} → {landed.status_code}"
        text = text_of(landed)
        assert not world.leaks(text, asked), f"{label} → {location} leaks {world.leaks(text, asked)}"
    assert world_state(world) == before, f"{label} changed ada's workspace"
    return response


@pytest.fixture
def callers(ada_world, outsider, outsider_workspace, member, client):
    """The clients a probe can be sent with, by name."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from jobs import storage
    from jobs.lifecycle import Status
    from jobs.models import Job
    from jobs.tracking.auth import job_tracking_token

    def bearer(token: str) -> APIClient:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        api.identity = token
        return api

    bob_job = Job.objects.create(name="bob-job", workspace=outsider_workspace, submitted_by=outsider,
                                 status=Status.RUNNING, experiment_name="bob-experiment", spec={"command": "x"})
    # what bob's script could leave in its ./outputs: links to ada's files
    outputs = storage.artifacts_dir(bob_job.name) / "outputs"
    outputs.mkdir(parents=True)
    (outputs / "bob.txt").write_text("bob's own output")
    (outputs / "peek.txt").symlink_to(storage.artifacts_dir(JOB) / OUTPUT)
    (outputs / "peek").symlink_to(storage.artifacts_dir(JOB), target_is_directory=True)
    ada_world.values["bob_job"] = bob_job.name
    page = client
    page.force_login(outsider)
    member_page = Client()
    member_page.force_login(member)
    return {
        "outsider": api_client_for(outsider),  # bob's API token, as the CLI sends it
        "outsider-bearer": bearer(Token.objects.get(user=outsider).key),  # the same token, as mlflow sends it
        "outsider-job": bearer(job_tracking_token(job=bob_job)),  # bob's job's MLFLOW_TRACKING_TOKEN
        "sibling-job": bearer(job_tracking_token(job=Job.objects.get(name=OTHER_JOB))),  # ada's other job
        "outsider-page": page,  # bob signed in to the pages
        "member": api_client_for(member),  # charlie: in ws-1, admin of nothing
        "member-page": member_page,
    }


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Users here only need to exist; hashing their passwords properly costs ~0.3 s each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
