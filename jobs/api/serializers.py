"""Input and output shapes of the jobs API. No business logic here."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs.models import Job, JobEvent, Node
from jobs.selectors import job_waiting
from jobs.tracking.selectors import job_latest_metrics


class JobSubmitInputSerializer(serializers.Serializer):
    spec = serializers.JSONField(help_text="The job as YAML text, or as a JSON object in the same shape")
    set = serializers.ListField(child=serializers.CharField(), required=False, default=list,
                                help_text="Overrides like `az ml job create --set`: path=value")
    name = serializers.CharField(required=False, allow_blank=False, help_text="Overrides the job's name")
    workspace = serializers.CharField(required=False, help_text="Needed when you belong to several workspaces")


class NodeOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Node
        fields = ["attempt", "index", "status", "worker", "pool", "started_at", "ended_at", "heartbeat_at",
                  "exit_code", "failure_kind", "error", "log_size"]


class JobEventOutputSerializer(serializers.ModelSerializer):
    """A transition (``to`` set: the timeline) or a note (``to`` empty)."""

    class Meta:
        model = JobEvent
        fields = ["at", "code", "message", "actor"]

    def get_fields(self):
        fields = super().get_fields()
        return {"at": fields.pop("at"),  # "from" is a Python keyword: declared here, not as attributes
                "from": serializers.CharField(source="from_status", help_text="The status before; empty for a note"),
                "to": serializers.CharField(source="to_status", help_text="The status after; empty for a note"),
                **fields}

class EstimateOutputSerializer(serializers.Serializer):
    earliest = serializers.DateTimeField()
    latest = serializers.DateTimeField(allow_null=True, help_text="null: no upper bound is known")


class WaitingOutputSerializer(serializers.Serializer):
    """Why a job waits, in words and as a code; where it stands; when it should start."""

    code = serializers.CharField(help_text="The scheduling core's reason code, e.g. QuotaBusy")
    reason = serializers.CharField(help_text="Why it waits, in one sentence")
    message = serializers.CharField(help_text="The whole sentence: why, position, estimated start (or why none)")
    position = serializers.IntegerField(allow_null=True)
    estimated_start = EstimateOutputSerializer(allow_null=True)
    basis = serializers.CharField(help_text="How the estimate was made, or why there is none")


LIST_TEXT = 500  # characters of a long text field (description, error, ...) a job list shows
LIST_TAGS = 20  # tags a job list shows, each value cut to LIST_TEXT


def summary(text: str | None, limit: int = LIST_TEXT) -> str | None:
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


class SummaryField(serializers.CharField):
    """Long text cut to LIST_TEXT characters (with '…'): a job list stays small whatever jobs hold."""

    def to_representation(self, value):
        return summary(super().to_representation(value))


class TagSummaryField(serializers.JSONField):
    """The first LIST_TAGS tags, values cut to LIST_TEXT characters; the job's page has all."""

    def to_representation(self, value):
        items = list((value or {}).items())[:LIST_TAGS]
        return {key: summary(item) if isinstance(item, str) else item for key, item in items}


class JobOutputSerializer(serializers.ModelSerializer):
    """A job in a list: bounded (long text and many tags are summarised, see the detail for all)."""

    description = SummaryField(allow_blank=True)
    tags = TagSummaryField()
    error = SummaryField(allow_blank=True)
    instance_type_reason = SummaryField(allow_blank=True)
    workspace = serializers.CharField(source="workspace.name")
    submitted_by = serializers.CharField(source="submitted_by.username")
    parent = serializers.CharField(source="parent.name", default=None)
    waiting = serializers.SerializerMethodField(help_text="Why the job waits; null when it is not waiting")

    class Meta:
        model = Job
        fields = ["name", "display_name", "type", "status", "experiment_name", "description", "tags",
                  "workspace", "submitted_by", "parent", "compute", "tier", "priority", "requested_instance_type",
                  "instance_type", "instance_type_reason", "instance_count", "evictions", "timeout_seconds",
                  "waiting", "created_at", "admitted_at", "started_at", "ended_at", "exit_code", "failure_kind",
                  "error"]

    @extend_schema_field(WaitingOutputSerializer(allow_null=True))
    def get_waiting(self, job) -> dict | None:
        waiting = job_waiting(job=job)
        return None if waiting is None else WaitingOutputSerializer(waiting).data


class JobDetailOutputSerializer(JobOutputSerializer):
    description = serializers.CharField(allow_blank=True)
    tags = serializers.JSONField()
    error = serializers.CharField(allow_blank=True)
    instance_type_reason = serializers.CharField(allow_blank=True)
    nodes = serializers.SerializerMethodField(help_text="The nodes of the job's latest attempt")
    events = JobEventOutputSerializer(many=True)
    metrics = serializers.SerializerMethodField(help_text="Each MLflow metric's latest value (NaN and "
                                                "infinities as the strings 'NaN', 'Infinity', '-Infinity')")

    class Meta(JobOutputSerializer.Meta):
        fields = JobOutputSerializer.Meta.fields + ["spec", "spec_yaml", "nodes", "events", "metrics"]

    def get_nodes(self, job) -> list:
        return NodeOutputSerializer(job.nodes.filter(attempt=job.attempt).order_by("index"), many=True).data

    def get_metrics(self, job) -> dict:
        return job_latest_metrics(job=job)


class ExplainOutputSerializer(serializers.Serializer):
    """What the scheduling service would do with a job, without submitting it."""

    decision = serializers.ChoiceField(["admit", "wait", "reject"])
    code = serializers.CharField(allow_null=True, help_text="The reason code of a wait or a rejection")
    reason = serializers.CharField()
    message = serializers.CharField(help_text="The whole sentence a user reads")
    position = serializers.IntegerField(allow_null=True)
    estimated_start = EstimateOutputSerializer(allow_null=True)
    basis = serializers.CharField(allow_blank=True)
    recommendations = serializers.ListField(child=serializers.CharField())


class LogOutputSerializer(serializers.Serializer):
    node = serializers.IntegerField()
    offset = serializers.IntegerField()
    next_offset = serializers.IntegerField()
    text = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    finished = serializers.BooleanField()


class OutputFileSerializer(serializers.Serializer):
    path = serializers.CharField()
    size = serializers.IntegerField()
