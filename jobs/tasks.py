"""Celery tasks: thin, take ids, call one function."""

from celery import shared_task

from jobs.executors import node_execute, worker_name


@shared_task(name="jobs.run_node", acks_late=False, ignore_result=True)
def run_node(node_id: int) -> None:
    node_execute(node_id, worker_name("celery"))


@shared_task(name="jobs.noop")
def noop() -> str:
    """A no-op round trip, the baseline of bench/latency.py."""
    return "ok"
