"""Tracking tokens are random and stored hashed (``TrackingToken``), no longer derived from a per-job
secret and the server's SECRET_KEY: ``Job.tracking_secret`` goes. Tokens handed out before this
migration stop working (a node started afterwards gets a new one)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('jobs', '0005_lifecycle_events_and_waiting'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='job',
            name='tracking_secret',
        ),
        migrations.CreateModel(
            name='TrackingToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('digest', models.CharField(help_text="sha256 of the token's secret part, hex", max_length=64)),
                ('issued_at', models.DateTimeField(auto_now_add=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('job', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tracking_tokens', to='jobs.job')),
                ('node', models.ForeignKey(blank=True, help_text='The node it was issued to (empty: issued to the job as a whole)', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='tracking_tokens', to='jobs.node')),
            ],
        ),
    ]
