"""Who owns compute and how much of it: subscriptions, workspaces, the VM catalogue,
quotas per VM family, clusters, and the usage ledger."""

from django.conf import settings
from django.db import models


class Subscription(models.Model):
    name = models.CharField(max_length=64, unique=True)
    display_name = models.CharField(max_length=200, blank=True)
    admins = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="administered_subscriptions", blank=True)
    spot_vcpu_limit = models.PositiveIntegerField(default=20, help_text="The one Spot (low-priority) vCPU pool")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Workspace(models.Model):
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="workspaces")
    name = models.CharField(max_length=64, unique=True)
    display_name = models.CharField(max_length=200, blank=True)
    region = models.CharField(max_length=64, default="eastus")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="WorkspaceMember", related_name="workspaces")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class WorkspaceMember(models.Model):
    """A user's role in a workspace (what each may do: ``quotas.roles``)."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"  # everything: anyone's jobs, clusters, the workspace's quota caps
        CONTRIBUTOR = "contributor", "Contributor"  # submits jobs and cancels their own
        READER = "reader", "Reader"  # sees jobs, logs, outputs, metrics, quotas; changes nothing

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CONTRIBUTOR)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")]


class QuotaFamily(models.Model):
    """A quota bucket: a VM family (``standardDSv3Family``) or the regional total (``cores``)."""

    family_id = models.CharField(max_length=64, unique=True)
    display_name = models.CharField(max_length=200)
    default_limit = models.PositiveIntegerField(null=True, blank=True,
                                                help_text="vCPUs a new subscription gets")

    class Meta:
        verbose_name_plural = "quota families"
        ordering = ["family_id"]

    def __str__(self) -> str:
        return self.family_id


class VmSize(models.Model):
    class Serverless(models.TextChoices):
        YES = "yes"
        NO = "no"
        UNKNOWN = "unknown"

    name = models.CharField(max_length=64, unique=True)
    family = models.ForeignKey(QuotaFamily, on_delete=models.PROTECT, to_field="family_id", related_name="sizes")
    vcpus = models.PositiveIntegerField()
    memory_gib = models.FloatField()
    gpus = models.PositiveIntegerField(default=0)
    gpu_model = models.CharField(max_length=100, blank=True)
    temp_disk_gib = models.FloatField(default=0)
    price_dedicated = models.FloatField(null=True, blank=True, help_text="USD per hour")
    price_spot = models.FloatField(null=True, blank=True, help_text="USD per hour; empty: not offered as Spot")
    category = models.CharField(max_length=32)
    serverless = models.CharField(max_length=8, choices=Serverless.choices, default=Serverless.YES)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SubscriptionQuota(models.Model):
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="quotas")
    family = models.ForeignKey(QuotaFamily, on_delete=models.PROTECT, to_field="family_id")
    limit = models.PositiveIntegerField(help_text="vCPUs")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subscription", "family"], name="one_quota_per_family")]


class WorkspaceQuota(models.Model):
    """A workspace's cap for one family; it never exceeds the subscription's quota."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="quotas")
    family = models.ForeignKey(QuotaFamily, on_delete=models.PROTECT, to_field="family_id")
    limit = models.PositiveIntegerField(help_text="vCPUs")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "family"], name="one_cap_per_family")]


class Cluster(models.Model):
    """A named compute cluster: fixed VM size, min/max nodes, idle scale-down."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="clusters")
    name = models.CharField(max_length=32)
    size = models.ForeignKey(VmSize, on_delete=models.PROTECT, to_field="name")
    min_instances = models.PositiveIntegerField(default=0)
    max_instances = models.PositiveIntegerField(default=1)
    idle_seconds = models.PositiveIntegerField(default=120)
    allocated = models.PositiveIntegerField(default=0, help_text="Nodes the cluster holds now")
    idle_since = models.DateTimeField(null=True, blank=True)
    scaling_down_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="one_cluster_per_name")]

    def __str__(self) -> str:
        return self.name


class UsageRecord(models.Model):
    """One node's use of compute, from start to end: vCPU-seconds and cost."""

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="usage")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    job_name = models.CharField(max_length=255)
    node_id = models.BigIntegerField(unique=True)
    compute = models.CharField(max_length=64, help_text="'Serverless' or a cluster's name")
    vm_size = models.CharField(max_length=64)
    family = models.CharField(max_length=64)
    tier = models.CharField(max_length=16)
    vcpus = models.PositiveIntegerField()
    price_per_hour = models.FloatField(default=0)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "started_at"], name="usage_by_time"),
                   models.Index(fields=["ended_at"], name="usage_open")]


class QueuedDemand(models.Model):
    """What waiting jobs wait for, per quota key, as the last scheduling cycle saw it: vCPUs (nodes
    for a cluster) and how many jobs. Written only by ``queued_demand_replace``; a key nobody waits
    for has no row.

    ``kind`` and ``name`` spell the key of ``quotas.core``: ``family`` (name: the family id,
    subscription-wide), ``cores`` and ``spot`` (no name), ``ws`` (a workspace's cap for the family
    in ``name``) and ``cluster`` (a workspace's cluster ``name``)."""

    class Kind(models.TextChoices):
        FAMILY = "family"
        CORES = "cores"
        WORKSPACE = "ws"
        SPOT = "spot"
        CLUSTER = "cluster"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", null=True, blank=True,
                                  help_text="For workspace caps and clusters; empty for subscription-wide keys")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=64, blank=True, help_text="The family id or the cluster's name")
    amount = models.PositiveIntegerField(help_text="vCPUs; nodes for a cluster")
    jobs = models.PositiveIntegerField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "queued demand"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "kind", "name"], condition=models.Q(workspace=None),
                                    name="one_demand_per_subscription_key"),
            models.UniqueConstraint(fields=["workspace", "kind", "name"],
                                    condition=models.Q(workspace__isnull=False), name="one_demand_per_workspace_key"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}: {self.amount} ({self.jobs} jobs)"
