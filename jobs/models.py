"""Jobs, their nodes, their logs and their system events. The row is the source of truth."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from jobs.lifecycle import TERMINAL, FailureKind, Status
from quotas.models import Workspace


STATUS_CHOICES = [(status.value, status.value) for status in Status]
FAILURE_CHOICES = [(kind.value, kind.label) for kind in FailureKind]


def new_tracking_secret() -> str:
    """What migration 0002 gave each job (``Job.tracking_secret``, removed by 0006); tokens are
    ``TrackingToken`` rows now."""
    return secrets.token_urlsafe(32)


class Job(models.Model):
    name = models.CharField(max_length=255, help_text="Unique in its workspace (as on Azure ML)")
    folder = models.CharField(max_length=300, blank=True,
                              help_text="Its files' folder name under STUDIO_DATA_DIR (snapshots/, artifacts/, "
                                        "work/); empty: the job's name (jobs from before names were per workspace)")
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="jobs")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    type = models.CharField(max_length=32, default="command")
    display_name = models.CharField(max_length=255, blank=True)
    experiment_name = models.CharField(max_length=255, default="Default")
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    spec = models.JSONField(help_text="The validated spec, in Azure ML YAML shape")
    spec_yaml = models.TextField(blank=True, help_text="The YAML as submitted")

    status = models.CharField(max_length=32, choices=STATUS_CHOICES, default=Status.NOT_STARTED)
    compute = models.CharField(max_length=255, default="serverless")
    tier = models.CharField(max_length=16, default="Standard")
    priority = models.IntegerField(default=0)
    requested_instance_type = models.CharField(max_length=64, blank=True,
                                               help_text="resources.instance_type as submitted; empty: automatic")
    instance_type = models.CharField(max_length=64, blank=True, help_text="The VM size the scheduler chose")
    instance_type_reason = models.TextField(blank=True)
    instance_count = models.PositiveIntegerField(default=1)
    timeout_seconds = models.PositiveIntegerField(null=True, blank=True)

    # Why a waiting job waits (the scheduling core's reason code and sentence), where it stands, and
    # when it should start: a range from what is known, and how that range was made (or why none).
    pending_code = models.CharField(max_length=64, blank=True)
    pending_reason = models.TextField(blank=True)
    queue_position = models.PositiveIntegerField(null=True, blank=True)
    estimated_start_earliest = models.DateTimeField(null=True, blank=True)
    estimated_start_latest = models.DateTimeField(null=True, blank=True)
    estimate_basis = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    admitted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    exit_code = models.IntegerField(null=True, blank=True)
    failure_kind = models.CharField(max_length=32, choices=FAILURE_CHOICES, blank=True,
                                    help_text="Why it ended other than Completed; while CancelRequested, why it "
                                              "is being stopped")
    error = models.TextField(blank=True)

    attempt = models.PositiveIntegerField(default=0, help_text="Admissions so far; a Spot eviction adds one")
    evictions = models.PositiveIntegerField(default=0)
    evicting = models.BooleanField(default=False, help_text="An eviction is in flight")
    children_complete = models.BooleanField(
        default=True, help_text="A parent's driver will create no more children (False while trials or steps "
                                "are still to come)")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="one_job_name_per_workspace")]
        indexes = [
            models.Index(fields=["name"], name="job_name"),  # runs and artifacts are looked up by name alone
            models.Index(fields=["status", "priority", "created_at"], name="job_queue_order"),
            models.Index(fields=["workspace", "-created_at"], name="job_workspace_recent"),
            # the jobs page's filter choices: DISTINCT over an index, not over every job
            models.Index(fields=["workspace", "experiment_name"], name="job_workspace_experiment"),
            models.Index(fields=["workspace", "compute"], name="job_workspace_compute"),
            models.Index(fields=["workspace", "type"], name="job_workspace_type"),
            models.Index(fields=["workspace", "submitted_by"], name="job_workspace_submitter"),
            models.Index(fields=["workspace", "pending_code"], name="job_workspace_pending_code"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def files(self) -> str:
        """The folder name of its snapshot, artifacts and work folders (``jobs.storage``)."""
        return self.folder or self.name

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


class Node(models.Model):
    """One node of an admitted job: a real process on a worker."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="nodes")
    attempt = models.PositiveIntegerField(default=1)
    index = models.PositiveIntegerField()
    pool = models.CharField(max_length=64, default="serverless", help_text="Worker queue that runs it")
    status = models.CharField(max_length=32, choices=STATUS_CHOICES, default=Status.PROVISIONING)
    worker = models.CharField(max_length=255, blank=True, help_text="Worker that claimed it")
    cancel_requested = models.BooleanField(default=False)
    evict_requested = models.BooleanField(default=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True,
                                   help_text="When its message last went to the broker (Celery); resent if unclaimed")
    pid = models.IntegerField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    failure_kind = models.CharField(max_length=32, choices=FAILURE_CHOICES, blank=True)
    error = models.TextField(blank=True)
    log_size = models.BigIntegerField(default=0, help_text="Characters of user log received so far")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "attempt", "index"], name="one_node_per_index")]
        indexes = [models.Index(fields=["status", "worker"], name="node_claim")]

    def __str__(self) -> str:
        return f"{self.job.name}/node-{self.index}"


class TrackingToken(models.Model):
    """A node's MLFLOW_TRACKING_TOKEN, as its hash: random, scoped to one job, revoked when it ends.

    The token is ``<id>.<secret>`` and is only ever held by the node it was issued to; the row
    keeps sha256 of the secret (jobs.tracking.auth checks it in constant time)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="tracking_tokens")
    node = models.ForeignKey(Node, null=True, blank=True, on_delete=models.CASCADE, related_name="tracking_tokens",
                             help_text="The node it was issued to (empty: issued to the job as a whole)")
    digest = models.CharField(max_length=64, help_text="sha256 of the token's secret part, hex")
    issued_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"tracking token {self.id} of {self.job_id}"


class LogChunk(models.Model):
    """A piece of a node's stdout/stderr, in arrival order; ``offset`` counts characters."""

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="log_chunks")
    offset = models.BigIntegerField()
    text = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["node", "offset"], name="log_chunk_order")]


class JobEvent(models.Model):
    """The job's system log: what the studio did and why, in words a user can act on.

    An event with ``to_status`` is a transition (the timeline is made of them); one without is a
    note (an admission's reasoning, a node's environment). ``code`` is the machine-readable reason
    beside the message (``jobs.lifecycle.Cause`` or the scheduling core's ``Reason``)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32, blank=True)
    code = models.CharField(max_length=64, blank=True)
    message = models.TextField()
    actor = models.CharField(max_length=150, blank=True, help_text="Who caused it: a user, a worker, the scheduler")

    class Meta:
        ordering = ["at", "id"]


# --- MLflow tracking: what a job's script logs with `mlflow` (see jobs/tracking) -------------------


class TrackingExperiment(models.Model):
    """An MLflow experiment: a workspace's experiment name, with the numeric id MLflow clients use."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tracking_experiments")
    name = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="one_experiment_per_name")]

    def __str__(self) -> str:
        return self.name


class TrackingRun(models.Model):
    """A run that a job's script created besides the job's own (``mlflow.start_run(nested=True)``, or a
    second ``start_run`` after ``end_run``). The job's own run is the job itself (run id == job name)
    and has no row here."""

    run_id = models.CharField(max_length=32, unique=True)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="tracking_runs")
    experiment = models.ForeignKey(TrackingExperiment, on_delete=models.CASCADE, related_name="runs")
    name = models.CharField(max_length=255, blank=True)
    parent_run_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, default="RUNNING")
    user_id = models.CharField(max_length=255, blank=True)
    start_time = models.BigIntegerField(help_text="Milliseconds since the epoch, as MLflow counts")
    end_time = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return self.run_id


def _per_run_unique(model: str) -> list[models.UniqueConstraint]:
    """One value per key in the job's own run (run is null) and in each of its other runs."""
    return [
        models.UniqueConstraint(fields=["job", "key"], condition=Q(run__isnull=True), name=f"{model}_job_key"),
        models.UniqueConstraint(fields=["run", "key"], condition=Q(run__isnull=False), name=f"{model}_run_key"),
    ]


class MetricPoint(models.Model):
    """One logged value of a metric. ``run`` is null for the job's own run."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="metric_points")
    run = models.ForeignKey(TrackingRun, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=250)
    value = models.FloatField(help_text="0 when is_nan (SQLite cannot store NaN)")
    is_nan = models.BooleanField(default=False)
    step = models.BigIntegerField(default=0)
    timestamp = models.BigIntegerField(help_text="Milliseconds since the epoch")

    class Meta:
        indexes = [models.Index(fields=["job", "key", "step"], name="metric_job_key_step")]


class LatestMetric(models.Model):
    """Each metric's latest value (highest step, then timestamp), kept on write so reads are one query."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="latest_metrics")
    run = models.ForeignKey(TrackingRun, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=250)
    value = models.FloatField()
    is_nan = models.BooleanField(default=False)
    step = models.BigIntegerField(default=0)
    timestamp = models.BigIntegerField()

    class Meta:
        constraints = _per_run_unique("latest_metric")


class RunParam(models.Model):
    """A logged parameter; MLflow never lets a parameter change once logged."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="params")
    run = models.ForeignKey(TrackingRun, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=250)
    value = models.TextField()

    class Meta:
        constraints = _per_run_unique("run_param")


class RunTag(models.Model):
    """A tag set with ``mlflow.set_tag``; setting it again replaces the value."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="run_tags")
    run = models.ForeignKey(TrackingRun, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=250)
    value = models.TextField()

    class Meta:
        constraints = _per_run_unique("run_tag")
