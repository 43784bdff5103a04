"""Workspace roles owner / contributor / reader replace admin / member (which nothing read):
an admin becomes an owner, a member a contributor (what a member could do before, less what only
owners may do now)."""

from django.db import migrations, models

FORWARD = {"admin": "owner", "member": "contributor"}
BACKWARD = {"owner": "admin", "contributor": "member", "reader": "member"}


def _rename(mapping):
    def run(apps, schema_editor):
        member = apps.get_model("quotas", "WorkspaceMember")
        for old, new in mapping.items():
            member.objects.filter(role=old).update(role=new)
    return run


class Migration(migrations.Migration):
    dependencies = [("quotas", "0004_queued_demand")]

    operations = [
        migrations.AlterField(
            model_name="workspacemember",
            name="role",
            field=models.CharField(choices=[("owner", "Owner"), ("contributor", "Contributor"), ("reader", "Reader")],
                                   default="contributor", max_length=16),
        ),
        migrations.RunPython(_rename(FORWARD), _rename(BACKWARD)),
    ]
