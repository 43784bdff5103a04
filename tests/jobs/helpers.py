from __future__ import annotations

import io
import tarfile
import time

from jobs.lifecycle import TERMINAL
from jobs.models import Job

ENVIRONMENT = "environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest\n"


def with_environment(text: str) -> str:
    """Azure requires an environment on command jobs; tests that are not about it add one."""
    return text if "environment:" in text else ENVIRONMENT + text


def tar_gz(files: dict[str, str | bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    buffer.name = "code.tar.gz"
    return buffer


def wait_for_status(name: str, statuses=TERMINAL, timeout: float = 30.0) -> Job:
    """Wait until the job reaches one of ``statuses`` (a condition, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        job = Job.objects.get(name=name)
        if job.status in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {name} still {job.status} after {timeout} s; events: "
                                 f"{list(job.events.values_list('message', flat=True))}")
        time.sleep(0.05)
