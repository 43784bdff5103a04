"""Job names are unique per workspace, as on Azure ML, not across the studio (a global name told a user
of another workspace that a job of that name existed). New jobs keep their files under
``<name>.<workspace id>`` (``Job.folder``); the jobs already there keep theirs under their name."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('jobs', '0007_node_sent_at_and_interrupted'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='job',
            name='folder',
            field=models.CharField(blank=True, help_text="Its files' folder name under STUDIO_DATA_DIR (snapshots/, artifacts/, work/); empty: the job's name (jobs from before names were per workspace)", max_length=300),
        ),
        migrations.AlterField(
            model_name='job',
            name='name',
            field=models.CharField(help_text='Unique in its workspace (as on Azure ML)', max_length=255),
        ),
        migrations.AddIndex(
            model_name='job',
            index=models.Index(fields=['name'], name='job_name'),
        ),
        migrations.AddConstraint(
            model_name='job',
            constraint=models.UniqueConstraint(fields=('workspace', 'name'), name='one_job_name_per_workspace'),
        ),
    ]
