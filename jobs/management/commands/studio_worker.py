"""The local executor and the scheduling service's safety-net loop, in the foreground."""

import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from jobs.executors import LocalExecutor


class Command(BaseCommand):
    help = "Run the local executor (nodes as child processes) and the periodic scheduling cycle."

    def add_arguments(self, parser):
        parser.add_argument("--max-nodes", type=int, default=settings.STUDIO_LOCAL_MAX_NODES)
        parser.add_argument("--no-executor", action="store_true",
                            help="only run the scheduling loop (nodes run on Celery workers)")

    def handle(self, *args, max_nodes, no_executor, **options):
        executor = LocalExecutor(max_nodes=0 if no_executor else max_nodes,
                                 interval=settings.STUDIO_SCHEDULER_INTERVAL_SECONDS)

        def stop(signum, frame):
            executor.stop.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        mode = "scheduling loop only" if no_executor else f"local executor, up to {max_nodes} nodes"
        self.stdout.write(f"studio worker running ({mode}); Ctrl-C to stop")
        executor.run()
        executor.shutdown()
        self.stdout.write("studio worker stopped")
