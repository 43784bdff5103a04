"""The Celery app. Used only when CELERY_BROKER_URL is set; tasks are thin (jobs/tasks.py).

Nodes go to one queue per VM size (``vm-standard_d2s_v3``): a worker stands for a machine
of some size. A worker started without ``-Q`` takes every size in the shipped catalogue;
``-Q vm-standard_nc4as_t4_v3`` makes a worker that only runs that size.
"""

import os

from celery import Celery
from kombu import Queue

from quotas.catalogue import default_sizes
from quotas.core import queue_name

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

app = Celery("studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue("studio")] + [Queue(queue_name(size.name)) for size in default_sizes()]
app.conf.task_default_queue = "studio"
app.autodiscover_tasks(["jobs"])
