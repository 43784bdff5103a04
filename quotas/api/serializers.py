"""Input and output shapes of the quota, usage, catalogue and compute API. No business logic here."""

from rest_framework import serializers


class QuotaSetInputSerializer(serializers.Serializer):
    family = serializers.CharField(help_text="A quota family id, e.g. standardDSv3Family, or `cores`")
    limit = serializers.IntegerField(min_value=0, help_text="vCPUs")
    workspace = serializers.CharField(required=False, help_text="Set a workspace cap instead of the subscription's")


class SpotQuotaSetInputSerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=0, help_text="vCPUs of the subscription's Spot pool")


class QuotaFamilyOutputSerializer(serializers.Serializer):
    family = serializers.CharField()
    display_name = serializers.CharField()
    subscription_limit = serializers.IntegerField()
    workspace_limit = serializers.IntegerField(allow_null=True)
    subscription_in_use = serializers.IntegerField()
    workspace_in_use = serializers.IntegerField()
    queued_vcpus = serializers.IntegerField(help_text="vCPUs of this family that jobs queued in the subscription wait for")
    queued_jobs = serializers.IntegerField(help_text="How many queued jobs wait for them")


class SpotOutputSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    in_use = serializers.IntegerField()
    queued_vcpus = serializers.IntegerField(help_text="Spot vCPUs that queued jobs wait for")
    queued_jobs = serializers.IntegerField()


class QuotaListOutputSerializer(serializers.Serializer):
    subscription = serializers.CharField()
    workspace = serializers.CharField()
    families = QuotaFamilyOutputSerializer(many=True)
    spot = SpotOutputSerializer()


class UsageOutputSerializer(serializers.Serializer):
    compute = serializers.CharField()
    kind = serializers.CharField()
    vm_size = serializers.CharField(allow_null=True)
    allocated_nodes = serializers.IntegerField(allow_null=True)
    max_nodes = serializers.IntegerField(allow_null=True)
    nodes_in_use = serializers.IntegerField()
    vcpus_in_use = serializers.DictField(child=serializers.IntegerField())
    running_jobs = serializers.IntegerField()
    vcpu_hours = serializers.FloatField()
    cost_usd = serializers.FloatField()


class VmSizeOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    family = serializers.CharField(source="family_id")
    vcpus = serializers.IntegerField()
    memory_gib = serializers.FloatField()
    gpus = serializers.IntegerField()
    gpu_model = serializers.CharField()
    temp_disk_gib = serializers.FloatField()
    price_dedicated = serializers.FloatField(allow_null=True)
    price_spot = serializers.FloatField(allow_null=True)
    category = serializers.CharField()
    serverless = serializers.CharField()
    quota_available = serializers.IntegerField(help_text="Dedicated vCPUs of the size's family free for the workspace")
    instances_fit = serializers.IntegerField(help_text="Dedicated nodes of this size that fit in them now")


class ComputeCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.CharField(help_text="A VM size from the catalogue, e.g. Standard_DS3_v2")
    min_instances = serializers.IntegerField(min_value=0, default=0)
    max_instances = serializers.IntegerField(min_value=1, default=1)
    idle_time_before_scale_down = serializers.IntegerField(min_value=0, default=120, help_text="seconds")
    workspace = serializers.CharField(required=False)


class ComputeOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField(default="amlcompute")
    size = serializers.CharField(source="size_id")
    min_instances = serializers.IntegerField()
    max_instances = serializers.IntegerField()
    idle_time_before_scale_down = serializers.IntegerField(source="idle_seconds")
    allocated_nodes = serializers.IntegerField(source="allocated")
    busy_nodes = serializers.IntegerField()
    state = serializers.CharField()
    idle_since = serializers.DateTimeField(allow_null=True)
    scaling_down_until = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
