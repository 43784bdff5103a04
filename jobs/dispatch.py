"""Sending "node N may be claimed" to the Celery workers, without ever failing or holding up the caller.

The database is the queue: a message only tells a worker that a node is there to claim, and a
claim is a compare-and-swap (``services.node_claim``). So a message that cannot be sent (the
broker is down) or that is lost (Redis restarted without persistence, a worker killed with
messages prefetched) costs a delay, never a job: ``services.nodes_resend`` sends again every node
still unclaimed after STUDIO_NODE_CLAIM_TIMEOUT_SECONDS. Each send stamps ``Node.sent_at``; a send
that fails says so once in the job's system log.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from jobs import transitions
from jobs.lifecycle import Cause
from jobs.models import JobEvent, Node

log = logging.getLogger(__name__)


def queued_messages(pool: str) -> int | None:
    """How many messages wait in a pool's queue on the broker (None when it cannot be asked)."""
    from studio.celery import app

    try:
        with app.connection_for_write() as conn:
            return conn.default_channel.queue_declare(queue=pool, passive=True).message_count
    except Exception:  # a queue never declared, or the broker is down
        return None


def nodes_send(nodes: list[tuple[int, str]]) -> int:
    """Send one message per ``(node_id, pool)`` to the pool's queue. Returns how many went out."""
    if not nodes:
        return 0
    from studio.celery import app

    sent: list[int] = []
    failed: dict[int, str] = {}
    for node_id, pool in nodes:
        if failed:  # the broker refused the last one: the rest would wait for the same timeout
            failed[node_id] = next(iter(failed.values()))
            continue
        try:
            app.send_task("jobs.run_node", args=[node_id], queue=pool)
            sent.append(node_id)
        except Exception as exc:  # the broker is down or unreachable: the resend will try again
            failed[node_id] = f"{type(exc).__name__}: {exc}"
    now = timezone.now()
    Node.objects.filter(id__in=sent + list(failed)).update(sent_at=now)
    if failed:
        log.warning("could not send %d node(s) to the Celery workers (%s); they are sent again every "
                    "STUDIO_NODE_CLAIM_TIMEOUT_SECONDS until a worker claims them", len(failed),
                    next(iter(failed.values())))
        _note_waiting(failed, lambda node_id: (
            f"waiting for a worker: node {{index}} could not be sent to the workers, the broker is unreachable "
            f"({failed[node_id]}); it stays admitted and is sent again until a worker claims it"))
    return len(sent)


def _note_waiting(node_ids, message) -> None:
    """Say once per job attempt, in its system log, that a node waits for a worker."""
    rows = Node.objects.filter(id__in=list(node_ids)).values_list("id", "index", "job_id", "job__admitted_at")
    for node_id, index, job_id, admitted_at in rows:
        said = JobEvent.objects.filter(job_id=job_id, code=Cause.WAITING_FOR_WORKER)
        if admitted_at is not None:
            said = said.filter(at__gte=admitted_at)
        if not said.exists():
            transitions.note(job_id=job_id, code=Cause.WAITING_FOR_WORKER, actor="scheduler",
                             message=message(node_id).format(index=index))


def note_resend(node_ids: list[int], waited_seconds: float) -> None:
    _note_waiting(node_ids, lambda node_id: (
        f"waiting for a worker: no worker claimed node {{index}} within {waited_seconds:g} s "
        "(STUDIO_NODE_CLAIM_TIMEOUT_SECONDS); it was sent again. If this lasts, start a worker: "
        "python3 dev.py worker"))

