"""Celery tasks and the worker's hooks: thin, take ids, call one function (``jobs.executors``)."""

import logging
import threading

from celery import shared_task
from celery.signals import worker_ready, worker_shutting_down

from jobs.executors import CeleryWorkerNodes, work_folders_sweep

log = logging.getLogger(__name__)
_stopping = threading.Event()
"""Set when this worker shuts down gracefully (SIGTERM, SIGINT): its running nodes stop and their
jobs go back to the queue; it claims nothing more. Nodes run in the worker's own process
(``CELERY_WORKER_POOL = "threads"``), so every node thread sees it."""
_nodes = CeleryWorkerNodes(_stopping)


@worker_shutting_down.connect
def _worker_shutting_down(**kwargs) -> None:
    _stopping.set()


@worker_ready.connect
def _worker_ready(sender=None, **kwargs) -> None:
    """What nodes of a worker killed on this machine left behind (folders, processes) goes first;
    then the worker also watches the database for nodes its broker did not deliver."""
    try:
        work_folders_sweep()
    except Exception:  # a worker starts anyway; the studio's housekeeping sweeps again
        log.exception("could not sweep the work folders left on this machine")
    try:
        slots = int(sender.controller.concurrency)
        pools = {queue.name for queue in sender.task_consumer.queues}
    except AttributeError:  # not a consumer we know: the broker path alone
        return
    _nodes.watch(pools=pools, slots=slots)


@shared_task(name="jobs.run_node", ignore_result=True)
def run_node(node_id: int) -> None:
    """Run node ``node_id`` if it is still there to claim; a duplicate delivery does nothing.
    Acknowledged late (``CELERY_TASK_ACKS_LATE``): the claim, not the message, is what counts."""
    _nodes.run(node_id)


@shared_task(name="jobs.noop")
def noop() -> str:
    """A no-op round trip, the baseline of bench/latency.py."""
    return "ok"
