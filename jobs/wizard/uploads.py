"""What the wizard does with uploaded files: every upload becomes the .tar.gz that
`jobs.services.job_submit` takes (for `code` and for each `inputs.<name>`).

- a single file (`train.py`, `iris.csv`) is packed under its own name;
- a .zip, .tar.gz, .tgz or .tar of a folder is re-packed; when everything in it sits in one
  top-level folder (what "Compress folder" makes), that folder's contents are the root.

Refused, with a message that says why: members with absolute paths or `..`, links, devices,
encrypted zip members, archives with no files, and contents over `max_bytes` (counted while
copying, so a zip that lies about its sizes is caught too). Plain Python, no Django.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tarfile
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterator

from studio.humanize import human_size

MAX_FILES = 10_000  # the default of STUDIO_CODE_MAX_FILES
_JUNK_DIRS = {"__MACOSX"}
_JUNK_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}
_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")


class UploadError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Upload:
    """An upload, converted. `path` is the name it has in the job: the file's name for a single
    file, the folder's (or the archive's, without its suffix) for an archive."""

    filename: str
    kind: str  # file | folder
    path: str
    files: int
    bytes: int

    def to_dict(self) -> dict:
        return asdict(self)




def _base_name(filename: str) -> str:
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    if name in ("", ".", ".."):
        raise UploadError("the file has no usable name; rename it and upload it again")
    return name


def _stem(name: str) -> str:
    lower = name.lower()
    for suffix in (*_TAR_SUFFIXES, ".zip"):
        if lower.endswith(suffix):
            return name[: -len(suffix)] or "data"
    return name


def _member_path(name: str) -> PurePosixPath | None:
    """A member's path inside the folder, or None for the folder itself; refuses escapes."""
    raw = name.replace("\\", "/")
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        raise UploadError(f"'{name}' is an absolute path; an archive may only hold paths inside its folder, "
                          "so it was refused")
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UploadError(f"'{name}' points outside the folder ('..'); the archive was refused")
    return PurePosixPath(*parts) if parts else None


def _junk(path: PurePosixPath) -> bool:
    return path.parts[0] in _JUNK_DIRS or path.name in _JUNK_FILES


@dataclass
class _Entry:
    path: PurePosixPath
    is_dir: bool
    size: int
    mode: int
    mtime: float
    open: object = None  # () -> a binary stream of the file's data


def _zip_entries(fileobj: BinaryIO, filename: str) -> Iterator[_Entry]:
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UploadError(f"{filename} is not a zip archive ({exc})") from None
    for info in archive.infolist():
        path = _member_path(info.filename)
        unix_mode = info.external_attr >> 16
        if stat.S_ISLNK(unix_mode):
            raise UploadError(f"'{info.filename}' is a link; upload regular files and folders only")
        if info.flag_bits & 0x1:
            raise UploadError(f"'{info.filename}' is encrypted; upload an archive without a password")
        if path is None:
            continue
        mode = 0o755 if unix_mode & 0o111 else 0o644
        mtime = _zip_time(info)
        if info.is_dir():
            yield _Entry(path, True, 0, 0o755, mtime)
        else:
            yield _Entry(path, False, info.file_size, mode, mtime, lambda info=info: archive.open(info))


def _zip_time(info: zipfile.ZipInfo) -> float:
    try:
        return time.mktime((*info.date_time, 0, 0, -1))
    except (OverflowError, ValueError):
        return 0.0


def _tar_entries(fileobj: BinaryIO, filename: str) -> Iterator[_Entry]:
    try:
        archive = tarfile.open(fileobj=fileobj, mode="r:*")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise UploadError(f"{filename} is not a tar or tar.gz archive ({exc})") from None
    try:
        for member in archive:
            path = _member_path(member.name)
            if member.issym() or member.islnk():
                raise UploadError(f"'{member.name}' is a link; upload regular files and folders only")
            if not (member.isfile() or member.isdir()):
                raise UploadError(f"'{member.name}' is not a regular file or folder (a device or pipe); "
                                  "the archive was refused")
            if path is None:
                continue
            mode = 0o755 if member.mode & 0o111 else 0o644
            if member.isdir():
                yield _Entry(path, True, 0, 0o755, member.mtime)
            else:
                yield _Entry(path, False, member.size, mode, member.mtime,
                             lambda member=member: archive.extractfile(member))
    except (tarfile.TarError, EOFError, OSError, zipfile.BadZipFile) as exc:
        raise UploadError(f"{filename} could not be read ({exc})") from None


def convert_upload(fileobj: BinaryIO, filename: str, dest: Path, *, max_bytes: int,
                   max_files: int = MAX_FILES) -> Upload:
    """Write the upload as a .tar.gz at `dest` and describe it; raises UploadError (and leaves
    nothing at `dest`). An archive may hold at most `max_files` files and folders."""
    name = _base_name(filename)
    lower = name.lower()
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, part = tempfile.mkstemp(prefix=".upload-", suffix=".tar.gz", dir=dest.parent)
    os.close(handle)
    try:
        if lower.endswith(".zip"):
            upload = _repack(_zip_entries(fileobj, name), name, Path(part), max_bytes, max_files)
        elif lower.endswith(_TAR_SUFFIXES):
            upload = _repack(_tar_entries(fileobj, name), name, Path(part), max_bytes, max_files)
        else:
            upload = _pack_file(fileobj, name, Path(part), max_bytes)
        os.replace(part, dest)
        return upload
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise


def _too_big(max_bytes: int) -> UploadError:
    return UploadError(f"the upload holds more than {human_size(max_bytes)}; leave large data out of the code "
                       "(upload it as an input), or raise STUDIO_CODE_MAX_BYTES")


def _copy(source: BinaryIO, target: BinaryIO, budget: int, max_bytes: int) -> int:
    """Copy and count; refuses as soon as `budget` bytes are exceeded."""
    copied = 0
    while True:
        chunk = source.read(1024 * 1024)
        if not chunk:
            return copied
        copied += len(chunk)
        if copied > budget:
            raise _too_big(max_bytes)
        target.write(chunk)


def _pack_file(fileobj: BinaryIO, name: str, dest: Path, max_bytes: int) -> Upload:
    with tempfile.TemporaryFile() as spool:
        size = _copy(fileobj, spool, max_bytes, max_bytes)
        spool.seek(0)
        with tarfile.open(dest, "w:gz", format=tarfile.PAX_FORMAT) as out:
            info = tarfile.TarInfo(name)
            info.size, info.mode = size, 0o644
            out.addfile(info, spool)
    return Upload(filename=name, kind="file", path=name, files=1, bytes=size)


def _repack(entries: Iterator[_Entry], name: str, dest: Path, max_bytes: int, max_files: int) -> Upload:
    kept = []
    declared = 0
    for entry in entries:
        if _junk(entry.path):
            continue
        kept.append(entry)
        declared += entry.size
        if declared > max_bytes:
            raise _too_big(max_bytes)
        if len(kept) > max_files:
            raise UploadError(f"the archive holds more than {max_files:,} files and folders; pack less, or "
                              "upload large data as an input")
    files = [entry for entry in kept if not entry.is_dir]
    if not files:
        raise UploadError(f"{name} holds no files")
    tops = {entry.path.parts[0] for entry in kept}
    strip = None
    if len(tops) == 1:
        top = next(iter(tops))
        if all(len(entry.path.parts) > 1 or entry.is_dir for entry in kept):
            strip = top
    seen: set[str] = set()
    total = 0
    with tarfile.open(dest, "w:gz", format=tarfile.PAX_FORMAT) as out:
        for entry in kept:
            parts = entry.path.parts[1:] if strip else entry.path.parts
            if not parts:
                continue
            member = "/".join(parts)
            if member in seen:
                if entry.is_dir:
                    continue
                raise UploadError(f"'{member}' appears twice in the archive; the archive was refused")
            seen.add(member)
            info = tarfile.TarInfo(member)
            info.mode, info.mtime = entry.mode, max(0, int(entry.mtime or 0))
            if entry.is_dir:
                info.type = tarfile.DIRTYPE
                out.addfile(info)
                continue
            with tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024) as spool:
                source = entry.open()
                if source is None:
                    raise UploadError(f"'{member}' could not be read from the archive")
                try:
                    with source:
                        size = _copy(source, spool, max_bytes - total, max_bytes)
                except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
                    raise UploadError(f"'{member}' could not be read from the archive ({exc})") from None
                total += size
                spool.seek(0)
                info.size = size
                out.addfile(info, spool)
    return Upload(filename=name, kind="folder", path=strip or _stem(name), files=len(files), bytes=total)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
