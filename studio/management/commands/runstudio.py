"""The whole studio in the foreground: web server, scheduling service and the local executor."""

import os
import signal
import subprocess
import sys
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from jobs.executors import LocalExecutor
from jobs.runtime import sandbox


class Command(BaseCommand):
    help = "Serve the studio on $PORT and run the scheduling service and local executor; Ctrl-C stops all."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--workers", type=int, default=2, help="web server processes")

    def handle(self, *args, port, workers, **options):
        bind = f"{os.environ.get('STUDIO_BIND', '127.0.0.1')}:{port}"
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "studio.wsgi:application", "--bind", bind,
             "--workers", str(workers), "--threads", "4", "--log-level", "warning"],
            cwd=settings.BASE_DIR,
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
