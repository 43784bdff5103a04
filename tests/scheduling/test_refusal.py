"""Whether a job can never run as asked depends on quotas, sizes and clusters — not on the queue —
so a submission can check it in the request however long the queue is."""

from __future__ import annotations

from datetime import timedelta

from jobs.scheduling.core import Cluster, PendingJob, Reason, RunningJob, Snapshot, decide, refusal
from tests.scheduling.catalogue import CATALOGUE, NOW, quotas


def job(job_id, size="Standard_D2s_v3", count=1, compute="serverless"):
    return PendingJob(job_id, f"job{job_id}", NOW - timedelta(seconds=job_id), "w1", count, size, compute=compute)


LONG_QUEUE = tuple(job(i) for i in range(1, 2001))  # all waiting for the same family
BUSY = (RunningJob(900_000, "w1", "Standard_D4s_v3", 2, started_at=NOW),)  # all 8 vCPUs of DSv3 in use


def test_it_refuses_what_the_whole_cycle_would_refuse_whatever_the_queue():
    for asked, code in [(job(0, "Standard_D2s_v3", count=5), Reason.EXCEEDS_QUOTA),
                        (job(0, "Standard_NC4as_T4_v3"), Reason.NO_QUOTA_FOR_SIZE),
                        (job(0, "Standard_D2s_v9"), Reason.UNKNOWN_VM_SIZE),
                        (job(0, compute="no-such-cluster"), Reason.UNKNOWN_COMPUTE)]:
        long = Snapshot(NOW, CATALOGUE, quotas(), running=BUSY, pending=LONG_QUEUE)
        refused = refusal(asked, long)
        assert refused is not None and refused.code == code
        whole_cycle = next(d for d in decide(Snapshot(NOW, CATALOGUE, quotas(), running=BUSY,
                                                      pending=(*LONG_QUEUE, asked))) if d.job_id == 0)
        assert refused == whole_cycle  # the same code, sentence and recommendations


def test_it_does_not_refuse_a_job_that_only_has_to_wait():
    long = Snapshot(NOW, CATALOGUE, quotas(), running=BUSY, pending=LONG_QUEUE)
    assert refusal(job(0), long) is None
    assert refusal(job(0, compute="gpu"), Snapshot(NOW, CATALOGUE, quotas(), clusters=(
        Cluster("w1", "gpu", "Standard_D2s_v3", max_instances=1, allocated=1),))) is None
