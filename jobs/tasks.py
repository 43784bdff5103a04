"""Celery tasks: thin, take ids, call one function."""

import logging
import threading

from celery import shared_task
from celery.signals import worker_ready, worker_shutting_down

from jobs.executors import node_execute, work_folders_sweep, worker_name

log = logging.getLogger(__name__)
_stopping = threading.Event()
"""Set when this worker shuts down gracefully (SIGTERM, SIGINT): its running nodes stop and their
jobs go back to the queue; it claims nothing more. Nodes run in the worker's own process
(``CELERY_WORKER_POOL = "threads"``), so every node thread sees it."""


@worker_shutting_down.connect
def _worker_shutting_down(**kwargs) -> None:
    _stopping.set()


@worker_ready.connect
def _worker_ready(**kwargs) -> None:
    """What nodes of a worker killed on this machine left behind (folders, processes) goes first."""
    try:
        work_folders_sweep()
    except Exception:  # a worker starts anyway; the studio's housekeeping sweeps again
        log.exception("could not sweep the work folders left on this machine")


@shared_task(name="jobs.run_node", ignore_result=True)
def run_node(node_id: int) -> None:
    """Run node ``node_id`` if it is still there to claim; a duplicate delivery does nothing.
    Acknowledged late (``CELERY_TASK_ACKS_LATE``): the claim, not the message, is what counts."""
    node_execute(node_id, worker_name("celery"), _stopping)


@shared_task(name="jobs.noop")
def noop() -> str:
    """A no-op round trip, the baseline of bench/latency.py."""
    return "ok"
