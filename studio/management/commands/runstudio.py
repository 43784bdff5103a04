"""The whole studio in the foreground: web server, scheduling service and the local executor."""

import os
import signal
import subprocess
import sys
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jobs.executors import LocalExecutor
from jobs.runtime import sandbox
from studio import processes

PORT_WAIT_SECONDS = 10  # a web server left by a studio that just died lets the port go within this


class Command(BaseCommand):
    help = "Serve the studio on $PORT and run the scheduling service and local executor; Ctrl-C stops all."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--workers", type=int, default=2, help="web server processes")
        parser.add_argument("--port-wait", type=float, default=PORT_WAIT_SECONDS,
                            help="seconds to wait for a busy port to be let go before giving up")

    def handle(self, *args, port, workers, port_wait, **options):
        host = os.environ.get("STUDIO_BIND", "127.0.0.1")
        bind = f"{host}:{port}"
        if not processes.wait_for_port(host, port, timeout=port_wait):
            raise CommandError(f"port {port} on {host} is in use by {processes.port_holder(port)}; stop it, "
                               "or start the studio on another port (PORT=8001 or --port 8001)")
        # The web server dies with this process, however it ends (kill -9 too): the kernel signals it
        # when its parent goes (PR_SET_PDEATHSIG), so it never keeps the port serving a dead studio.
        # (preexec_fn runs before any thread of ours is started: the executor starts after this.)
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "studio.wsgi:application", "--bind", bind,
             "--workers", str(workers), "--threads", "4", "--log-level", "warning", "--graceful-timeout", "5",
             "--access-logfile", settings.STUDIO_ACCESS_LOG],
            cwd=settings.BASE_DIR, preexec_fn=processes.die_with_parent,
        )
        celery = settings.STUDIO_EXECUTOR == "celery"
        executor = LocalExecutor(max_nodes=0 if celery else settings.STUDIO_LOCAL_MAX_NODES,
                                 interval=settings.STUDIO_SCHEDULER_INTERVAL_SECONDS)
        stopping = threading.Event()

        def stop(signum, frame):
            stopping.set()
            executor.stop.set()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        where = "Celery workers (start them with: python3 dev.py worker)" if celery else \
            f"the local executor (up to {settings.STUDIO_LOCAL_MAX_NODES} nodes at once)"
        self.stdout.write(f"Serverless Studio on http://{bind}/ — nodes run on {where}. Ctrl-C stops everything.")
        self.stdout.write(f"Sandbox: {sandbox.describe(settings.STUDIO_SANDBOX)}.")
        where_log = "this output" if settings.STUDIO_ACCESS_LOG == "-" else settings.STUDIO_ACCESS_LOG
        self.stdout.write(f"Access log: {where_log} (STUDIO_ACCESS_LOG).")
        watcher = threading.Thread(target=lambda: (web.wait(), executor.stop.set()), daemon=True)
        watcher.start()
        try:
            executor.run()
        finally:
            executor.shutdown()
            if web.poll() is None:
                web.terminate()
                try:
                    web.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    web.kill()
        if not stopping.is_set():
            self.stderr.write(f"the web server stopped (exit code {web.returncode}); the studio stopped with it")
            sys.exit(1)
        self.stdout.write("Serverless Studio stopped.")
