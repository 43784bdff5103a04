"""Input and output shapes of the quota, usage and catalogue API. No business logic here."""

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


class SpotOutputSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    in_use = serializers.IntegerField()


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
    quota_available = serializers.IntegerField()
