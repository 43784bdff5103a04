"""Executors: carry "run node k of job J" to a worker, and wire the node agent to the services.

Both executors run the same ``node_execute``: claim the node row, build its
assignment, run the node agent with a reporter that calls the services, record the
exit. ``local`` runs nodes in threads of the studio's own worker process (each node
is a child process in its own process group); ``celery`` runs them in Celery
worker processes on any machine that shares the database and STUDIO_DATA_DIR.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone

from jobs import services, storage, transitions
from jobs.lifecycle import TERMINAL, FailureKind, Outcome, Status
from jobs.models import Node
from jobs.runtime.agent import NodeAssignment, leftovers_kill, run_node
from jobs.scheduling.service import schedule_cycle
from jobs.tracking.services import job_tracking_env, tracking_tokens_revoke
from jobs.wake import SCHEDULER, Doorbell, ring, wait_any

log = logging.getLogger(__name__)


class DatabaseReporter:
    """What the node agent tells us, written through the services."""

    def __init__(self, node_id: int, stopping: threading.Event | None = None):
        self.node_id = node_id
        self.stopping = stopping
        self.last_heartbeat = 0.0

    def phase(self, status: str) -> None:
        services.node_phase(node_id=self.node_id, status=status)

    def started(self, pid: int) -> None:
        """``pid`` leads the node's process group: ``Node.pid`` is what ``node_remains_clear`` kills."""
        services.node_started(node_id=self.node_id, pid=pid)

    def log(self, text: str) -> None:
        services.node_log_append(node_id=self.node_id, text=text)

    def system(self, message: str) -> None:
        services.node_system_log(node_id=self.node_id, message=message)

    def poll(self) -> bool:
        if self.stopping is not None and self.stopping.is_set():
            return True
        now = time.monotonic()
        if now - self.last_heartbeat >= settings.STUDIO_HEARTBEAT_SECONDS:
            self.last_heartbeat = now
            return services.node_heartbeat(node_id=self.node_id)
        return services.node_should_stop(node_id=self.node_id)


def assignment_for(node: Node) -> NodeAssignment:
    job = node.job
    root = job
    while root.parent_id:
        root = root.parent
    return NodeAssignment(
        job_name=job.name,
        root_job_name=root.name,
        experiment_name=job.experiment_name,
        workspace_name=job.workspace.name,
        spec=job.spec,
        node_index=node.index,
        node_count=job.instance_count,
        code_dir=storage.code_dir(job.files),
        uploads_dir=storage.uploads_dir(job.files),
        datastores_dir=storage.datastores_dir(),
        work_root=storage.work_root(),
        work_name=job.files,
        artifacts_dir=storage.artifacts_dir(job.files),
        timeout_seconds=job.timeout_seconds,
        master_port=29500 + (job.id % 1000),
        # MLFLOW_TRACKING_URI, MLFLOW_RUN_ID, and MLFLOW_TRACKING_TOKEN: a token of this node's own
        extra_env=job_tracking_env(job=job, node=node),
        sandbox=settings.STUDIO_SANDBOX,
    )


def node_execute(node_id: int, worker: str, stopping: threading.Event | None = None) -> bool:
    """Run one node if this worker can claim it. Returns False when it was not ours to run.

    ``stopping`` is set when the worker itself shuts down: the node is stopped and its job goes
    back to the queue (interrupted), neither a user's cancel nor a failure. However the node ends, its
    tracking token is revoked, and folders that ended nodes left on this machine are removed.
    A worker that is already stopping claims nothing (the node is sent again to another)."""
    if stopping is not None and stopping.is_set():
        return False
    if not services.node_claim(node_id=node_id, worker=worker):
        return False
    try:
        node = Node.objects.select_related("job", "job__workspace").get(id=node_id)
        outcome = run_node(assignment_for(node), DatabaseReporter(node_id, stopping))
    except Exception as exc:  # the studio never fails because of a job; record it instead
        log.exception("node %s failed in the worker", node_id)
        outcome = Outcome(Status.FAILED, None, FailureKind.INFRASTRUCTURE, f"the worker failed to run the node: {exc}")
    tracking_tokens_revoke(node_id=node_id)  # its processes are gone: nothing may use its token any more
    try:
        services.node_exited(node_id=node_id, outcome=outcome,
                             worker_stopping=stopping is not None and stopping.is_set())
    except Node.DoesNotExist:  # its job was deleted while it ran: there is nobody left to tell
        log.warning("node %s ended (%s) after its job was deleted; its report is dropped", node_id, outcome.status)
    try:
        work_folders_sweep()
    except Exception:  # tidying up never fails a node; the next sweep retries
        log.exception("sweeping the work folders failed")
    return True


def _host_of(worker: str) -> str:
    """The machine in a worker's name (``worker_name``: ``<kind>:<host>:<pid>``)."""
    parts = worker.split(":")
    return parts[1] if len(parts) >= 3 else ""


def node_remains_clear(*, node: Node) -> None:
    """What a node that ended without its agent (declared lost) left on this machine: kill its
    processes (the group ``Node.pid`` leads, checked against the node's own environment) and
    remove its working folder. Nodes of other machines are left to their own machine's sweep.

    Unsandboxed, a worker killed with SIGKILL leaves its nodes' children running (only the command
    itself dies with it): the heartbeat reaper calls this once it declares such a node lost."""
    if _host_of(node.worker) != socket.gethostname():
        return
    if node.pid:
        killed = leftovers_kill(pgid=node.pid, run_id=node.job.name, node_index=node.index)
        if killed:
            log.warning("node %s: killed %d process(es) left after its worker died", node, len(killed))
    shutil.rmtree(storage.work_root() / node.job.files / f"node-{node.index}", ignore_errors=True)


def work_folders_sweep() -> int:
    """Remove what ended nodes left under ``work/`` on this machine, however they ended (a node
    declared lost, a worker killed mid-run, a crash during preparation); returns folders removed.

    A folder is kept while any attempt of its node is still live, or when the node last ran on
    another machine (that machine's sweep owns its processes and folder)."""
    root = storage.work_root()
    try:
        folders = [(job.name, node) for job in root.iterdir() if job.is_dir() for node in job.iterdir()]
    except OSError:
        return 0
    if not folders:
        return 0
    latest: dict[tuple[str, str], Node] = {}
    names = {job for job, _ in folders}
    for node in Node.objects.select_related("job").filter(
            Q(job__folder__in=names) | Q(job__folder="", job__name__in=names)).order_by("attempt", "id"):
        key = (node.job.files, f"node-{node.index}")
        if key in latest and latest[key].status not in TERMINAL:
            continue  # a live attempt decides
        latest[key] = node
    removed = 0
    for job_name, folder in folders:
        node = latest.get((job_name, folder.name))
        if node is not None and (node.status not in TERMINAL or _host_of(node.worker) != socket.gethostname()):
            continue
        if node is not None:
            node_remains_clear(node=node)
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
        try:
            folder.parent.rmdir()
        except OSError:
            pass
    return removed


def worker_name(kind: str) -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


class CeleryWorkerNodes:
    """The nodes a Celery worker runs, by message or — when its broker went quiet — from the database.

    The database is the queue, the broker only a doorbell. A worker's consumer can go quiet after a
    broker restart without noticing (a thread-pool worker that never reconnects: the process lives,
    nothing is consumed), and then every resend lands on a broker nobody reads. So a worker with
    free slots also takes, from the database, the nodes of its pools that stayed unclaimed for twice
    STUDIO_NODE_CLAIM_TIMEOUT_SECONDS (a healthy broker delivers in milliseconds). A claim is a
    compare-and-swap: a message that arrives too runs nothing twice."""

    def __init__(self, stopping: threading.Event) -> None:
        self.stopping = stopping
        self.lock = threading.Lock()
        self.busy = 0
        self.slots = 1

    def run(self, node_id: int) -> None:
        """Run one node here (a message's, or one taken from the database), counted in the slots."""
        with self.lock:
            self.busy += 1
        try:
            node_execute(node_id, worker_name("celery"), self.stopping)
        finally:
            with self.lock:
                self.busy -= 1

    def watch(self, *, pools: set[str], slots: int) -> None:
        """Start taking ``pools``' unclaimed nodes from the database, in a thread of its own."""
        self.slots = slots
        threading.Thread(target=self._watch, args=(pools,), name="unclaimed-nodes", daemon=True).start()

    def _watch(self, pools: set[str]) -> None:
        timeout = settings.STUDIO_NODE_CLAIM_TIMEOUT_SECONDS
        while not self.stopping.wait(timeout):
            try:
                close_old_connections()
                with self.lock:
                    free = max(0, self.slots - self.busy)
                if not free:
                    continue
                cutoff = timezone.now() - timedelta(seconds=2 * timeout)
                node_ids = services.nodes_unclaimed_for(pools=pools, admitted_before=cutoff, limit=free)
                if node_ids:
                    log.warning("%d node(s) of this worker's pools unclaimed for %g s although the broker was "
                                "sent them: taking them from the database", len(node_ids), 2 * timeout)
                for node_id in node_ids:
                    threading.Thread(target=self._run_in_thread, args=(node_id,), name=f"node-{node_id}",
                                     daemon=True).start()
            except Exception:  # the broker path goes on; the next round retries
                log.exception("taking unclaimed nodes from the database failed")

    def _run_in_thread(self, node_id: int) -> None:
        try:
            self.run(node_id)
        finally:
            connection.close()


class LocalExecutor:
    """Runs up to ``max_nodes`` nodes at once as children of this process.

    Nodes beyond that stay Provisioning until a slot frees up. The loop also runs the
    scheduling service's safety-net cycle and the heartbeat reaper every ``interval``.
    """

    def __init__(self, *, max_nodes: int, interval: float, run_scheduler: bool = True):
        self.max_nodes = max_nodes
        self.interval = interval
        self.run_scheduler = run_scheduler
        self.name = worker_name("local")
        self.stop = threading.Event()
        self.threads: dict[int, threading.Thread] = {}
        self.doorbell = Doorbell()
        # Only a loop that runs cycles listens for them: a submit then rings instead of cycling itself.
        self.scheduler_bell = Doorbell(SCHEDULER) if run_scheduler else None
        self.loop_ended = threading.Event()  # set when run() has returned (or never started)
        self.loop_ended.set()

    def _run_in_thread(self, node_id: int) -> None:
        try:
            node_execute(node_id, self.name, self.stop)
        finally:
            connection.close()
            ring()  # a slot is free: wake the loop to claim the next node

    def _claimable(self, limit: int) -> list[int]:
        return list(
            Node.objects.filter(status=Status.PROVISIONING, worker="", cancel_requested=False)
            .order_by("job__priority", "id").values_list("id", flat=True)[:limit]
        )

    def tick(self) -> None:
        close_old_connections()
        self.threads = {k: t for k, t in self.threads.items() if t.is_alive()}
        free = self.max_nodes - len(self.threads)
        if free > 0:
            for node_id in self._claimable(free):
                if self.stop.is_set():
                    break  # shutting down: a node not started here stays Provisioning for another worker
                thread = threading.Thread(target=self._run_in_thread, args=(node_id,), name=f"node-{node_id}",
                                          daemon=True)
                self.threads[node_id] = thread
                thread.start()

    def housekeeping(self) -> None:
        services.node_reap()
        work_folders_sweep()  # what nodes declared lost (or killed with their worker) left on this machine
        transitions.jobs_settle_leftovers()
        transitions.parents_reconcile()
        if settings.STUDIO_EXECUTOR == "celery":
            services.nodes_resend()  # the database is the queue: what no worker claimed goes out again
        if self.run_scheduler:
            services.spot_random_evictions(elapsed_seconds=self.interval)
            schedule_cycle()

    def _cycle_requested(self) -> None:
        """One cycle for every request that rang since the last one (submits, cancels, node ends)."""
        try:
            schedule_cycle()
        except Exception:
            log.exception("scheduling cycle failed; the periodic cycle retries")

    def run(self) -> None:
        log.info("local executor %s: up to %d nodes at once", self.name, self.max_nodes)
        next_housekeeping = 0.0
        self.loop_ended.clear()
        try:
            while not self.stop.is_set():
                try:
                    if time.monotonic() >= next_housekeeping:
                        next_housekeeping = time.monotonic() + self.interval
                        self.housekeeping()
                    self.tick()
                except Exception:  # keep serving; the next tick retries
                    log.exception("local executor tick failed")
                bells = [self.doorbell] + ([self.scheduler_bell] if self.scheduler_bell else [])
                if self.scheduler_bell in wait_any(bells, min(self.interval, 1.0)):
                    self._cycle_requested()
        finally:
            self.doorbell.close()
            if self.scheduler_bell:
                self.scheduler_bell.close()
            connection.close()
            self.loop_ended.set()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop taking work; the nodes still running here stop and their jobs go back to the queue.

        The loop is waited for first: a tick in progress may still start a node thread, and
        every thread it started is then joined (none may outlive the executor)."""
        self.stop.set()
        ring()
        deadline = time.monotonic() + timeout
        self.loop_ended.wait(timeout)
        for thread in list(self.threads.values()):
            thread.join(max(0.0, deadline - time.monotonic()))
