"""Where a job's files live under STUDIO_DATA_DIR, and safe unpacking of uploads.

    snapshots/<job>/code/           the code snapshot, as uploaded
    snapshots/<job>/inputs/<name>/  local input data uploaded with the job
    artifacts/<job>/                outputs/, user_logs/, named-outputs/<name>/
    work/<job>/node-<k>/            a node's working directory while it runs

``<job>`` is ``Job.files``: ``<name>.<workspace id>`` (names are unique per workspace only, and
never hold a dot), or the bare name for jobs from before.
    datastores/<name>/              azureml://datastores/<name>/paths/... inputs
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from django.conf import settings

from studio.errors import ApplicationError


def job_folder(*, name: str, workspace_id: int) -> str:
    """The folder name of a new job's files: its name and its workspace's id."""
    return f"{name}.{workspace_id}"


def data_dir() -> Path:
    return Path(settings.STUDIO_DATA_DIR)


def snapshot_dir(job_name: str) -> Path:
    return data_dir() / "snapshots" / job_name


def code_dir(job_name: str) -> Path:
    return snapshot_dir(job_name) / "code"


def uploads_dir(job_name: str) -> Path:
    return snapshot_dir(job_name) / "inputs"


def artifacts_dir(job_name: str) -> Path:
    return data_dir() / "artifacts" / job_name


def work_root() -> Path:
    return data_dir() / "work"


def datastores_dir() -> Path:
    return data_dir() / "datastores"


def unpack_archive(fileobj: BinaryIO, dest: Path, *, field: str, max_bytes: int, max_files: int | None = None) -> None:
    """Unpack a tar (optionally gzip) upload into ``dest``, refusing anything unsafe.

    Refused: members that escape ``dest`` (absolute paths, ``..``, links pointing out),
    devices and FIFOs, and archives whose contents add up to more than ``max_bytes`` or hold
    more than ``max_files`` files and folders (STUDIO_CODE_MAX_FILES by default) — refused as
    soon as the count passes, before anything is written.
    ``field`` names the request field in errors. On error nothing is left behind.
    """
    dest.mkdir(parents=True, exist_ok=False)
    try:
        try:
            archive = tarfile.open(fileobj=fileobj, mode="r:*")
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ApplicationError(f"{field}: not a tar or tar.gz archive ({exc})", {"field": field}) from None
        limit = settings.STUDIO_CODE_MAX_FILES if max_files is None else max_files
        with archive:
            total = 0
            members = []
            for member in archive:
                if len(members) >= limit:
                    raise ApplicationError(
                        f"{field}: the upload holds more than {limit:,} files and folders; leave generated files "
                        "and data out of the code folder (use an input), pack them as one archive, or raise "
                        "STUDIO_CODE_MAX_FILES",
                        {"field": field, "limit": limit},
                    )
                name = PurePosixPath(member.name)
                if name.is_absolute() or ".." in name.parts:
                    raise ApplicationError(
                        f"{field}: '{member.name}' escapes the code folder; paths must stay inside it",
                        {"field": field, "member": member.name},
                    )
                if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
                    raise ApplicationError(f"{field}: '{member.name}' is not a regular file or folder", {"field": field})
                total += max(member.size, 0)
                if total > max_bytes:
                    raise ApplicationError(
                        f"{field}: the upload is larger than the limit of {max_bytes} bytes; "
                        "leave large data out of the code folder (use an input) or raise STUDIO_CODE_MAX_BYTES",
                        {"field": field, "limit": max_bytes},
                    )
                members.append(member)
            try:
                archive.extractall(dest, members=members, filter="data")
            except tarfile.FilterError as exc:
                raise ApplicationError(
                    f"{field}: {exc}; links and paths must stay inside the folder", {"field": field}
                ) from None
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
