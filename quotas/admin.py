"""Admins edit the VM catalogue and quota families in Django's admin (quotas themselves through
the quota page, the API or `studio quota set`, which validate caps against the subscription)."""

from django.contrib import admin

from quotas.models import Cluster, QuotaFamily, Subscription, VmSize, Workspace, WorkspaceMember


@admin.register(VmSize)
class VmSizeAdmin(admin.ModelAdmin):
    list_display = ["name", "family", "vcpus", "memory_gib", "gpus", "temp_disk_gib", "price_dedicated",
                    "price_spot", "category", "serverless"]
    list_filter = ["category", "serverless", "family"]
    search_fields = ["name", "family__family_id"]


@admin.register(QuotaFamily)
class QuotaFamilyAdmin(admin.ModelAdmin):
    list_display = ["family_id", "display_name", "default_limit"]
    search_fields = ["family_id", "display_name"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["name", "spot_vcpu_limit", "created_at"]
    filter_horizontal = ["admins"]


class WorkspaceMemberInline(admin.TabularInline):
    """Who is in the workspace, as owner, contributor or reader (``quotas.roles`` says what each may do)."""

    model = WorkspaceMember
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "subscription", "region", "created_at"]
    inlines = [WorkspaceMemberInline]


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "size", "min_instances", "max_instances", "allocated", "scaling_down_until"]
    readonly_fields = ["allocated", "idle_since", "scaling_down_until"]
