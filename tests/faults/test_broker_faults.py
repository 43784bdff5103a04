"""The broker and its workers fail; no job is lost, stuck or run twice (PostgreSQL + Celery leg).

A Redis of the test's own is killed and started again (without persistence: every queued and
unacknowledged message is gone) twice during a burst of 100 jobs, with jobs submitted while it is
down; a worker holding prefetched messages is killed with SIGKILL; a worker is stopped with SIGTERM
while a node runs. The database is the queue: what no worker claimed is sent again, a claim is a
compare-and-swap, a node whose worker died is reaped by its heartbeat.
"""

from __future__ import annotations

import signal
import time

from jobs.lifecycle import TERMINAL, Cause, Status
from jobs.models import Job, JobEvent, Node
from tests.faults.conftest import none_left, outputs_per_node, submit, wait_until

BURST = 100


def statuses() -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in Job.objects.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


def stuck() -> str:
    """What the jobs not ended yet are doing: for a failure message."""
    lines = []
    for job in Job.objects.exclude(status__in=TERMINAL).order_by("id")[:12]:
        nodes = [(n.index, n.status, n.worker or "-", n.sent_at and n.sent_at.isoformat(timespec="seconds"))
                 for n in job.nodes.filter(attempt=job.attempt)]
        events = [(e.at.isoformat(timespec="seconds"), e.code) for e in job.events.order_by("-id")[:3]]
        lines.append(f"{job.name} {job.status} {job.pending_code} nodes={nodes} last events={events}")
    return "\n".join(lines)


def ended() -> int:
    return Job.objects.filter(status__in=TERMINAL).count()


def test_a_burst_survives_two_broker_restarts(api, celery_studio, redis_server, processes, marker, set_quota):
    set_quota("standardDSv3Family", 40)  # 20 two-vCPU nodes at once: quota is held while a node waits
    workers = [processes.worker(f"w{k}", redis_server.url, "-c", "3") for k in range(2)]
    names = [submit(api, "echo hi", marker) for _ in range(40)]
    wait_until(lambda: ended() >= 10, 60, lambda: f"10 jobs ending before the first restart ({statuses()})\n{stuck()}\n{processes.logs()}")

    during_outage: list[float] = []
    outage_names: list[str] = []

    def submit_while_down():
        for _ in range(5):
            started = time.monotonic()
            outage_names.append(submit(api, "echo hi", marker))  # 201: the database holds it, the resend sends it
            during_outage.append(time.monotonic() - started)
        names.extend(outage_names[-5:])

    redis_server.restart(down_for=submit_while_down)
    names += [submit(api, "echo hi", marker) for _ in range(30)]
    wait_until(lambda: ended() >= 50, 60, lambda: f"50 jobs ending before the second restart ({statuses()})\n{stuck()}\n{processes.logs()}")
    redis_server.restart(down_for=submit_while_down)
    names += [submit(api, "echo hi", marker) for _ in range(BURST - len(names))]

    wait_until(lambda: ended() == BURST, 120, lambda: f"every job ending ({statuses()})\n{stuck()}\n{processes.logs()}",
               interval=0.2)
    jobs = Job.objects.filter(name__in=names)
    assert {job.status for job in jobs} == {Status.COMPLETED}, [(j.name, j.status, j.error) for j in jobs
                                                                if j.status != Status.COMPLETED]
    outputs = outputs_per_node()
    assert len(outputs) == BURST and set(outputs.values()) == {"hi\n"}, \
        {node: text for node, text in outputs.items() if text != "hi\n"}  # none ran twice, none lost its log
    assert max(during_outage) < 5, during_outage  # the submit never waits for the broker
    # a job whose node could not be sent (admitted while the broker was down: the scheduling loop
    # admits as quota frees, whichever jobs those are) says so in its system log
    assert JobEvent.objects.filter(job__name__in=names, code=Cause.WAITING_FOR_WORKER).exists()
    assert all(worker.poll() is None for worker in workers), processes.logs()  # no worker crashed
    processes.stop_all()
    none_left(marker)


def test_a_worker_killed_with_prefetched_messages_strands_nothing(api, celery_studio, redis_server, processes,
                                                                  marker):
    greedy = processes.worker("greedy", redis_server.url, "-c", "1", "--prefetch-multiplier", "8")
    first = submit(api, "sleep 60", marker)
    wait_until(lambda: Job.objects.get(name=first).status == Status.RUNNING, 30, "the first job running")
    rest = [submit(api, "echo hi", marker) for _ in range(5)]
    # the greedy worker holds their messages (prefetched, unacknowledged) behind its one busy slot
    wait_until(lambda: Node.objects.filter(job__name__in=rest, sent_at__isnull=False).count() == 5, 10,
               "the five nodes sent")
    greedy.send_signal(signal.SIGKILL)
    greedy.wait(10)
    started = time.monotonic()
    processes.worker("spare", redis_server.url, "-c", "2")

    wait_until(lambda: all(j.status in TERMINAL for j in Job.objects.filter(name__in=[first, *rest])), 40,
               f"every job ending ({statuses()})\n{processes.logs()}", interval=0.2)
    took = time.monotonic() - started
    assert {Job.objects.get(name=name).status for name in rest} == {Status.COMPLETED}
    lost = Job.objects.get(name=first)
    assert (lost.status, lost.failure_kind) == (Status.FAILED, "infrastructure") and "stopped responding" in lost.error
    assert took < 30, took  # the resend and the reaper, not Redis's visibility timeout
    assert JobEvent.objects.filter(job__name__in=rest, code=Cause.WAITING_FOR_WORKER).exists()
    assert [text for node, text in outputs_per_node().items() if not node.startswith(first)] == ["hi\n"] * 5
    processes.stop_all()
    none_left(marker)


def test_a_worker_stopped_gracefully_requeues_its_running_job(api, celery_studio, redis_server, processes, marker):
    worker = processes.worker("stopping", redis_server.url, "-c", "2")
    name = submit(api, "sleep 3 && echo done", marker)
    wait_until(lambda: Job.objects.get(name=name).status == Status.RUNNING, 30, "the job running")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0, processes.logs()
    requeued = wait_until(lambda: Job.objects.filter(name=name, status=Status.QUEUED).first()
                          or Job.objects.filter(name=name, attempt__gt=1).first(), 10,
                          f"the job back in the queue ({Job.objects.get(name=name).status})")
    assert requeued.status != Status.FAILED
    processes.worker("next", redis_server.url, "-c", "2")
    job = wait_until(lambda: Job.objects.filter(name=name, status__in=TERMINAL).first(), 40,
                     f"the job ending after the restart\n{processes.logs()}", interval=0.2)
    assert (job.status, job.evictions, job.attempt) == (Status.COMPLETED, 0, 2), job.error
    assert JobEvent.objects.filter(job=job, code=Cause.REQUEUED).count() == 1
    first_attempt = Node.objects.get(job=job, attempt=1)
    assert (first_attempt.status, first_attempt.failure_kind) == (Status.CANCELED, "interrupted")
    processes.stop_all()
    none_left(marker)


def test_with_the_broker_gone_for_good_workers_take_their_nodes_from_the_database(api, celery_studio, redis_server,
                                                                                  processes, marker):
    """The broker is only a doorbell: with it down and never back (or a consumer that went quiet
    after a restart), a worker with free slots takes its pools' unclaimed nodes from the database."""
    worker = processes.worker("w", redis_server.url, "-c", "2")
    first = submit(api, "echo before", marker)
    wait_until(lambda: Job.objects.get(name=first).status == Status.COMPLETED, 30, "a job through the broker")
    redis_server.stop()
    names = [submit(api, "echo hi", marker) for _ in range(3)]  # 201: the database holds them
    wait_until(lambda: Job.objects.filter(name__in=names, status__in=TERMINAL).count() == 3, 40,
               lambda: f"every job ending with no broker\n{stuck()}\n{processes.logs()}", interval=0.2)
    assert set(Job.objects.filter(name__in=names).values_list("status", flat=True)) == {Status.COMPLETED}
    assert "taking them from the database" in processes.logs()
    assert worker.poll() is None
    processes.stop_all()
    none_left(marker)
