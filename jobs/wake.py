"""Waking workers and the scheduler after a commit, without either side importing the other.

Local executor: a datagram "doorbell" on a Linux abstract socket named after the
data folder; the worker loop waits on it (and polls as a safety net).
Celery executor: one message per node, sent by task *name* to the node's pool queue.
Scheduler: the state applier (``jobs.transitions``) asks for a cycle when quota frees or the
queue changes; ``jobs.apps`` wires that request to ``schedule_cycle`` at start-up, so the
applier never imports the scheduling service that itself applies through it. Where a scheduling
loop listens on this machine (``runstudio``), the request rings its own doorbell and returns: the
loop runs one cycle for all the requests that arrived meanwhile, so a web request never pays for
a cycle over a long queue. With no loop listening (a script, a test, a remote Celery worker) the
cycle runs right after the commit, as before.
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


WORK = "work"  # the local executor: nodes to claim
SCHEDULER = "scheduler"  # the scheduling loop: a cycle to run


def _address(kind: str = WORK) -> str:
    digest = hashlib.sha1(str(settings.STUDIO_DATA_DIR).encode()).hexdigest()[:16]
    return f"\0serverless-studio-{digest}" + ("" if kind == WORK else f"-{kind}")


def _send(kind: str) -> bool:
    """Ring the doorbell of ``kind``; True when a listener is there to hear it."""
    if not sys.platform.startswith("linux"):
        return False  # other systems rely on the loop's polling
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.sendto(b"!", _address(kind))
    except BlockingIOError:
        return True  # it listens, with rings not yet read: it will wake anyway
    except OSError:
        return False  # nobody listening
    return True


def ring() -> None:
    """Tell the local worker (if one listens) that there is work. Never fails."""
    _send(WORK)


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
    if _scheduler is None or _send(SCHEDULER):
        return  # the scheduling loop on this machine runs it
    _scheduler()


def request_cycle() -> None:
    """Run one scheduling cycle after the current transaction commits (once, however often it is
    asked in that transaction). A cycle that fails is logged; the periodic cycle catches up."""
    if any(callback is _run_cycle for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(_run_cycle, robust=True)


class Doorbell:
    """The listening side, used by the local worker loop (``kind`` WORK) and the scheduling loop
    (SCHEDULER). Only a loop that really runs cycles may listen as SCHEDULER."""

    def __init__(self, kind: str = WORK) -> None:
        self.sock: socket.socket | None = None
        if sys.platform.startswith("linux"):
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sock.bind(_address(kind))
                sock.setblocking(False)
                self.sock = sock
            except OSError as exc:
                log.warning("no doorbell (%s); the worker falls back to polling", exc)

    def drain(self) -> None:
        while self.sock is not None:
            try:
                self.sock.recv(64)
            except BlockingIOError:
                break

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


def wait_any(bells: list[Doorbell], timeout: float) -> list[Doorbell]:
    """Wait until one of ``bells`` rings or ``timeout`` seconds pass; the bells that rang (read)."""
    import select

    socks = [bell.sock for bell in bells if bell.sock is not None]
    if not socks:
        select.select([], [], [], timeout)
        return []
    ready, _, _ = select.select(socks, [], [], timeout)
    rung = [bell for bell in bells if bell.sock in ready]
    for bell in rung:
        bell.drain()
    return rung
