"""Who owns compute: subscriptions and their workspaces (quotas per VM family arrive next)."""

from django.conf import settings
from django.db import models


class Subscription(models.Model):
    name = models.CharField(max_length=64, unique=True)
    display_name = models.CharField(max_length=200, blank=True)
    admins = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="administered_subscriptions", blank=True)
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
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")]
