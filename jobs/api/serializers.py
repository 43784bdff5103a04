"""Input and output shapes of the jobs API. No business logic here."""

from rest_framework import serializers

from jobs.models import Job, JobEvent, Node
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
    class Meta:
        model = JobEvent
        fields = ["at", "message"]


class JobOutputSerializer(serializers.ModelSerializer):
    workspace = serializers.CharField(source="workspace.name")
    submitted_by = serializers.CharField(source="submitted_by.username")
    parent = serializers.CharField(source="parent.name", default=None)

    class Meta:
        model = Job
        fields = ["name", "display_name", "type", "status", "experiment_name", "description", "tags",
                  "workspace", "submitted_by", "parent", "compute", "tier", "priority", "requested_instance_type",
                  "instance_type", "instance_type_reason", "instance_count", "evictions", "timeout_seconds", "pending_reason",
                  "queue_position", "estimated_start_at", "created_at", "admitted_at", "started_at",
                  "ended_at", "exit_code", "failure_kind", "error"]


class JobDetailOutputSerializer(JobOutputSerializer):
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
