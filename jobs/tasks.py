"""Celery tasks (thin: take ids, call one function) and the worker's hooks: sweeping at start, taking from
the database what its broker did not deliver."""

import logging
import threading

from celery import shared_task
from celery.signals import worker_ready, worker_shutting_down

from django.conf import settings

from jobs import services
from jobs.executors import node_execute, work_folders_sweep, worker_name

log = logging.getLogger(__name__)
_stopping = threading.Event()
"""Set when this worker shuts down gracefully (SIGTERM, SIGINT): its running nodes stop and their
jobs go back to the queue; it claims nothing more. Nodes run in the worker's own process
(``CELERY_WORKER_POOL = "threads"``), so every node thread sees it."""


@worker_shutting_down.connect
def _worker_shutting_down(**kwargs) -> None:
    _stopping.set()


class _Slots:
    """How many nodes this worker runs now, of how many it may."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.busy = 0
        self.size = 1

    def take(self) -> None:
        with self.lock:
            self.busy += 1

    def give(self) -> None:
        with self.lock:
            self.busy -= 1

    def free(self) -> int:
        with self.lock:
            return max(0, self.size - self.busy)


_slots = _Slots()


def _from_the_database(pools: set[str]) -> None:
    """The database is the queue, the broker only a doorbell. A worker's consumer can go quiet
    after a broker restart without noticing (a thread-pool worker that never reconnects: the
    process lives, nothing is consumed), and then every resend lands on a broker nobody reads.
    So a worker with free slots also takes, from the database, the nodes of its pools that stayed
    unclaimed for twice STUDIO_NODE_CLAIM_TIMEOUT_SECONDS (a healthy broker delivers in
    milliseconds). A claim is a compare-and-swap: a message that arrives too runs nothing twice."""
    from datetime import timedelta

    from django.db import close_old_connections
    from django.utils import timezone

    timeout = settings.STUDIO_NODE_CLAIM_TIMEOUT_SECONDS
    while not _stopping.wait(timeout):
        try:
            close_old_connections()
            free = _slots.free()
            if not free:
                continue
            cutoff = timezone.now() - timedelta(seconds=2 * timeout)
            node_ids = services.nodes_unclaimed_for(pools=pools, admitted_before=cutoff, limit=free)
            if node_ids:
                log.warning("%d node(s) of this worker's pools unclaimed for %g s although the broker was "
                            "sent them: taking them from the database", len(node_ids), 2 * timeout)
            for node_id in node_ids:
                threading.Thread(target=_run_counted, args=(node_id,), name=f"node-{node_id}", daemon=True).start()
        except Exception:  # the broker path goes on; the next round retries
            log.exception("taking unclaimed nodes from the database failed")


def _run_counted(node_id: int) -> None:
    from django.db import connection

    _slots.take()
    try:
        node_execute(node_id, worker_name("celery"), _stopping)
    finally:
        _slots.give()
        connection.close()


@worker_ready.connect
def _worker_ready(sender=None, **kwargs) -> None:
    """What nodes of a worker killed on this machine left behind (folders, processes) goes first;
    then the worker also watches the database for nodes its broker did not deliver."""
    try:
        work_folders_sweep()
    except Exception:  # a worker starts anyway; the studio's housekeeping sweeps again
        log.exception("could not sweep the work folders left on this machine")
    try:
        _slots.size = int(sender.controller.concurrency)
        pools = {queue.name for queue in sender.task_consumer.queues}
    except AttributeError:  # not a consumer we know: the broker path alone
        return
    threading.Thread(target=_from_the_database, args=(pools,), name="unclaimed-nodes", daemon=True).start()


@shared_task(name="jobs.run_node", ignore_result=True)
def run_node(node_id: int) -> None:
    """Run node ``node_id`` if it is still there to claim; a duplicate delivery does nothing.
    Acknowledged late (``CELERY_TASK_ACKS_LATE``): the claim, not the message, is what counts."""
    _slots.take()
    try:
        node_execute(node_id, worker_name("celery"), _stopping)
    finally:
        _slots.give()


@shared_task(name="jobs.noop")
def noop() -> str:
    """A no-op round trip, the baseline of bench/latency.py."""
    return "ok"
