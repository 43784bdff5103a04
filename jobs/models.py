"""Jobs, their nodes, their logs and their system events. The row is the source of truth."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from quotas.models import Workspace


class JobStatus(models.TextChoices):
    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    PROVISIONING = "Provisioning"
    PREPARING = "Preparing"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    CANCEL_REQUESTED = "CancelRequested"
    NOT_RESPONDING = "NotResponding"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED})
PENDING = frozenset({JobStatus.NOT_STARTED, JobStatus.QUEUED})
ADMITTED = frozenset(
    {
        JobStatus.PROVISIONING,
        JobStatus.PREPARING,
        JobStatus.RUNNING,
        JobStatus.FINALIZING,
        JobStatus.CANCEL_REQUESTED,
        JobStatus.NOT_RESPONDING,
    }
)


class FailureKind(models.TextChoices):
    USER = "user", "User error"
    INFRASTRUCTURE = "infrastructure", "Infrastructure error"
    TIMEOUT = "timeout", "Timed out"
    CANCELED = "canceled", "Canceled"
    EVICTED = "evicted", "Evicted"


class Job(models.Model):
    name = models.CharField(max_length=255, unique=True)
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

    status = models.CharField(max_length=32, choices=JobStatus.choices, default=JobStatus.NOT_STARTED)
    compute = models.CharField(max_length=255, default="serverless")
    tier = models.CharField(max_length=16, default="Standard")
    priority = models.IntegerField(default=0)
    instance_type = models.CharField(max_length=64, blank=True)
    instance_type_reason = models.TextField(blank=True)
    instance_count = models.PositiveIntegerField(default=1)
    timeout_seconds = models.PositiveIntegerField(null=True, blank=True)

    pending_reason = models.TextField(blank=True)
    queue_position = models.PositiveIntegerField(null=True, blank=True)
    estimated_start_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    admitted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    exit_code = models.IntegerField(null=True, blank=True)
    failure_kind = models.CharField(max_length=32, choices=FailureKind.choices, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "priority", "created_at"], name="job_queue_order"),
            models.Index(fields=["workspace", "-created_at"], name="job_workspace_recent"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


class Node(models.Model):
    """One node of an admitted job: a real process on a worker."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="nodes")
    index = models.PositiveIntegerField()
    pool = models.CharField(max_length=64, default="serverless", help_text="Worker queue that runs it")
    status = models.CharField(max_length=32, choices=JobStatus.choices, default=JobStatus.PROVISIONING)
    worker = models.CharField(max_length=255, blank=True, help_text="Worker that claimed it")
    cancel_requested = models.BooleanField(default=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    failure_kind = models.CharField(max_length=32, choices=FailureKind.choices, blank=True)
    error = models.TextField(blank=True)
    log_size = models.BigIntegerField(default=0, help_text="Characters of user log received so far")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="one_node_per_index")]
        indexes = [models.Index(fields=["status", "worker"], name="node_claim")]

    def __str__(self) -> str:
        return f"{self.job.name}/node-{self.index}"


class LogChunk(models.Model):
    """A piece of a node's stdout/stderr, in arrival order; ``offset`` counts characters."""

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="log_chunks")
    offset = models.BigIntegerField()
    text = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["node", "offset"], name="log_chunk_order")]


class JobEvent(models.Model):
    """The job's system log: what the studio did and why, in words a user can act on."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    message = models.TextField()

    class Meta:
        ordering = ["at", "id"]
