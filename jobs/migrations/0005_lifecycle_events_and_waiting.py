"""Job state on the lifecycle core: transitions as events (from, to, code, actor), a waiting job's
reason code and a start estimate as a range with its basis, and parents that know whether more
children are coming."""

from django.db import migrations, models


STATUSES = [('NotStarted', 'NotStarted'), ('Queued', 'Queued'), ('Provisioning', 'Provisioning'), ('Preparing', 'Preparing'), ('Running', 'Running'), ('Finalizing', 'Finalizing'), ('CancelRequested', 'CancelRequested'), ('NotResponding', 'NotResponding'), ('Completed', 'Completed'), ('Failed', 'Failed'), ('Canceled', 'Canceled')]
FAILURE_KINDS = [('user', 'User error'), ('infrastructure', 'Infrastructure error'), ('timeout', 'Timed out'), ('canceled', 'Canceled'), ('evicted', 'Evicted'), ('rejected', 'Rejected')]


class Migration(migrations.Migration):
    dependencies = [("jobs", "0004_job_filter_indexes")]

    operations = [
        migrations.RenameField("job", "estimated_start_at", "estimated_start_earliest"),
        migrations.AddField("job", "estimated_start_latest", models.DateTimeField(blank=True, null=True)),
        migrations.AddField("job", "estimate_basis", models.TextField(blank=True)),
        migrations.AddField("job", "pending_code", models.CharField(blank=True, max_length=64)),
        migrations.AddField("job", "children_complete", models.BooleanField(
            default=True, help_text="A parent's driver will create no more children (False while trials or steps "
                                    "are still to come)")),
        migrations.AddField("jobevent", "from_status", models.CharField(blank=True, max_length=32)),
        migrations.AddField("jobevent", "to_status", models.CharField(blank=True, max_length=32)),
        migrations.AddField("jobevent", "code", models.CharField(blank=True, max_length=64)),
        migrations.AddField("jobevent", "actor", models.CharField(
            blank=True, help_text="Who caused it: a user, a worker, the scheduler", max_length=150)),
        migrations.AlterField("job", "status", models.CharField(
            choices=STATUSES, default="NotStarted", max_length=32)),
        migrations.AlterField("node", "status", models.CharField(
            choices=STATUSES, default="Provisioning", max_length=32)),
        migrations.AlterField("job", "failure_kind", models.CharField(
            blank=True, choices=FAILURE_KINDS, max_length=32,
            help_text="Why it ended other than Completed; while CancelRequested, why it is being stopped")),
        migrations.AlterField("node", "failure_kind", models.CharField(
            blank=True, choices=FAILURE_KINDS, max_length=32)),
        migrations.AddIndex("job", models.Index(fields=["workspace", "pending_code"],
                                                name="job_workspace_pending_code")),
    ]
