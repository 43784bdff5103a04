"""Many submissions from several processes at once never take more than the quota."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from django.db import connection
from django.db.models import Sum

from jobs import services
from jobs.lifecycle import HOLDING_QUOTA, Outcome
from jobs.models import Job, Node
from quotas.models import UsageRecord
from tests.jobs.helpers import ENVIRONMENT
from tests.jobs.test_execution import _database_url_for_subprocess

pytestmark = pytest.mark.django_db(transaction=True)

PROCESSES, JOBS_EACH, QUOTA = 4, 15, 6

SUBMITTER = f"""
import django
django.setup()
from django.contrib.auth import get_user_model
from jobs import services
from jobs.specs import load_command_job
from quotas.models import Workspace
user = get_user_model().objects.get(username="ada")
workspace = Workspace.objects.get(name="ws-1")
spec = load_command_job({ENVIRONMENT + "command: hostname" + chr(10) + "resources:" + chr(10) +
                         "  instance_type: Standard_D2s_v3" + chr(10)!r})
for _ in range({JOBS_EACH}):
    services.job_submit(user=user, workspace=workspace, spec=spec)
"""


def test_it_never_exceeds_quota_under_concurrent_submissions(postgres, user, workspace, data_dir, set_quota):
    set_quota("standardDSv3Family", QUOTA)
    env = {**os.environ, "DATABASE_URL": _database_url_for_subprocess(), "STUDIO_DATA_DIR": str(data_dir),
           "DJANGO_SETTINGS_MODULE": "studio.settings"}
    procs = [subprocess.Popen([sys.executable, "-c", SUBMITTER], env=env, stderr=subprocess.PIPE, text=True)
             for _ in range(PROCESSES)]
    samples, peak = 0, 0
    stop = threading.Event()

    def finisher():
        """Churn: finish admitted jobs so that quota frees and cycles keep admitting."""
        try:
            while not stop.is_set():
                for node in Node.objects.filter(worker="", status="Provisioning")[:3]:
                    if services.node_claim(node_id=node.id, worker="w"):
                        services.node_exited(node_id=node.id, outcome=Outcome("Completed", 0))
        finally:
            connection.close()

    churn = threading.Thread(target=finisher)
    churn.start()
    try:
        while any(p.poll() is None for p in procs):
            in_use = sum(2 * j.instance_count for j in Job.objects.filter(status__in=HOLDING_QUOTA))
            ledger = UsageRecord.objects.filter(ended_at__isnull=True).aggregate(v=Sum("vcpus"))["v"] or 0
            assert in_use <= QUOTA and ledger <= QUOTA, (in_use, ledger)
            peak = max(peak, in_use)
            samples += 1
    finally:
        stop.set()
        churn.join()
    for p in procs:
        assert p.wait() == 0, p.stderr.read()
    assert Job.objects.count() == PROCESSES * JOBS_EACH
    assert samples > 10 and peak > 0
