"""Waking workers and the scheduler after a commit, without either side importing the other.

Local executor: a datagram "doorbell" on a Linux abstract socket named after the
data folder; the worker loop waits on it (and polls as a safety net).
Celery executor: one message per node, sent by task *name* to the node's pool queue.
Scheduler: the state applier (``jobs.transitions``) asks for a cycle when quota frees or the
queue changes; ``jobs.apps`` wires that request to ``schedule_cycle`` at start-up, so the
applier never imports the scheduling service that itself applies through it.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import sys

from typing import Callable

from django.conf import settings
from django.db import connection, transaction

log = logging.getLogger(__name__)


def _address() -> str:
    digest = hashlib.sha1(str(settings.STUDIO_DATA_DIR).encode()).hexdigest()[:16]
    return f"\0serverless-studio-{digest}"


def ring() -> None:
    """Tell the local worker (if one listens) that there is work. Never fails."""
    if not sys.platform.startswith("linux"):
        return  # other systems rely on the worker's polling
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.sendto(b"!", _address())
    except OSError:
        pass  # nobody listening, or the doorbell is full: the worker will poll


def wake_workers(nodes: list[tuple[int, str]]) -> None:
    if settings.STUDIO_EXECUTOR == "celery":
        from jobs.dispatch import nodes_send

        nodes_send(nodes)  # never raises: what cannot be sent now is sent again (services.nodes_resend)
    else:
        ring()


_scheduler: Callable[[], object] | None = None


def set_scheduler(run_cycle: Callable[[], object]) -> None:
    """Called once at start-up (``jobs.apps``) with the scheduling service's cycle."""
    global _scheduler
    _scheduler = run_cycle


def _run_cycle() -> None:
    if _scheduler is not None:
        _scheduler()


def request_cycle() -> None:
    """Run one scheduling cycle after the current transaction commits (once, however often it is
    asked in that transaction). A cycle that fails is logged; the periodic cycle catches up."""
    if any(callback is _run_cycle for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(_run_cycle, robust=True)


class Doorbell:
    """The listening side, used by the local worker loop."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        if sys.platform.startswith("linux"):
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sock.bind(_address())
                sock.setblocking(False)
                self.sock = sock
            except OSError as exc:
                log.warning("no doorbell (%s); the worker falls back to polling", exc)

    def wait(self, timeout: float) -> bool:
        """Wait until rung or ``timeout`` seconds pass; True when rung."""
        import select

        if self.sock is None:
            select.select([], [], [], timeout)
            return False
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if ready:
            while True:
                try:
                    self.sock.recv(64)
                except BlockingIOError:
                    break
            return True
        return False

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
