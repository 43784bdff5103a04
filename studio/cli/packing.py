"""Pack a job's local code folder and input data into .tar.gz files for upload, and unpack
downloaded outputs safely (with the standard library's ``data`` filter, as the studio unpacks uploads).

Archives are written to anonymous temporary files, never held in memory. Members are named
relative to the packed folder (a single file is packed under its own name), which is how the
studio unpacks ``code`` and ``inputs.<name>``.
"""

from __future__ import annotations

import fnmatch
import os
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from studio.cli.errors import CliError
from studio.humanize import human_size

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_MAX_FILES = 10_000
SKIPPED_DIRS = frozenset({".git", "__pycache__", ".venv"})
IGNORE_FILES = (".amlignore", ".gitignore")  # the first one present is used, like Azure ML


def max_bytes_from_env() -> int:
    return _limit_from_env("STUDIO_CODE_MAX_BYTES", DEFAULT_MAX_BYTES, "bytes")


def max_files_from_env() -> int:
    """The studio refuses uploads of more files and folders than this (its STUDIO_CODE_MAX_FILES)."""
    return _limit_from_env("STUDIO_CODE_MAX_FILES", DEFAULT_MAX_FILES, "files")


def _limit_from_env(name: str, default: int, unit: str) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise CliError(f"{name} must be a whole number of {unit}, got '{raw}'") from None
    if value < 1:
        raise CliError(f"{name} must be at least 1")
    return value




@dataclass
class Archive:
    """A packed .tar.gz in an open temporary file (deleted when closed)."""

    file: BinaryIO
    field: str
    source: Path
    files: int
    size: int  # bytes before compression

    @property
    def compressed_size(self) -> int:
        return os.fstat(self.file.fileno()).st_size

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class IgnoreRules:
    """A small subset of .gitignore: globs, ``dir/`` for folders only, ``/anchored``, ``!negation``."""

    rules: list[tuple[str, bool, bool, bool]] = field(default_factory=list)  # pattern, negate, dir_only, anchored

    @classmethod
    def from_file(cls, path: Path) -> IgnoreRules:
        rules = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            line = line[1:] if negate else line
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            if line.startswith("**/"):
                line = line[3:]
            anchored = "/" in line
            if line:
                rules.append((line.lstrip("/"), negate, dir_only, anchored))
        return cls(rules)

    def ignored(self, relpath: str, is_dir: bool) -> bool:
        result = False
        name = relpath.rsplit("/", 1)[-1]
        for pattern, negate, dir_only, anchored in self.rules:
            if dir_only and not is_dir:
                continue
            if fnmatch.fnmatchcase(relpath if anchored else name, pattern):
                result = not negate
        return result


def _ignore_rules(folder: Path) -> IgnoreRules:
    for name in IGNORE_FILES:
        if (folder / name).is_file():
            return IgnoreRules.from_file(folder / name)
    return IgnoreRules()


def _collect(root: Path, field_name: str, *, code: bool) -> list[tuple[Path, str]]:
    """Every entry to pack as (path, member name), refusing symlinks that leave ``root``."""
    real_root = root.resolve()
    rules = _ignore_rules(root) if code else IgnoreRules()
    entries: list[tuple[Path, str]] = []

    def check_link(path: Path, rel: str) -> None:
        target = Path(os.path.realpath(path))
        if target != real_root and real_root not in target.parents:
            raise CliError(
                f"{field_name}: '{rel}' is a symbolic link to {os.readlink(path)}, outside {root}; "
                "copy the file into the folder or remove the link"
            )

    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        rel_dir = here.relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        kept_dirs = []
        for name in sorted(dirnames):
            path, rel = here / name, prefix + name
            if code and (name in SKIPPED_DIRS or rules.ignored(rel, True)):
                continue
            if path.is_symlink():  # os.walk does not descend into it; pack it as a link
                check_link(path, rel)
            else:
                kept_dirs.append(name)
            entries.append((path, rel))
        dirnames[:] = kept_dirs
        for name in sorted(filenames):
            path, rel = here / name, prefix + name
            if code and rules.ignored(rel, False):
                continue
            if path.is_symlink():
                check_link(path, rel)
            elif not path.is_file():
                raise CliError(f"{field_name}: '{rel}' is not a regular file or folder (a socket, pipe or device)")
            entries.append((path, rel))
    return entries


def pack(source: Path, *, field_name: str, max_bytes: int | None = None, code: bool = False) -> Archive:
    """Pack a folder's contents (or one file) into a temporary .tar.gz.

    ``code=True`` skips .git, __pycache__ and .venv folders and honours .amlignore/.gitignore.
    Refuses symlinks that point outside the folder and totals over ``max_bytes``.
    """
    if max_bytes is None:
        max_bytes = max_bytes_from_env()
    if not source.exists():
        raise CliError(f"{field_name}: {source} does not exist")
    if source.is_dir():
        entries = _collect(source, field_name, code=code)
    elif source.is_file():
        entries = [(source, source.name)]
    else:
        raise CliError(f"{field_name}: {source} is not a regular file or folder")
    max_files = max_files_from_env()
    if len(entries) > max_files:
        raise CliError(
            f"{field_name}: {source} holds {len(entries):,} files and folders, more than the limit of {max_files:,}; "
            "leave generated files and data out of the code folder (use an input, or a .amlignore file) "
            "or raise STUDIO_CODE_MAX_FILES"
        )
    total = sum(path.lstat().st_size for path, _ in entries if not path.is_symlink() and path.is_file())
    if total > max_bytes:
        raise CliError(
            f"{field_name}: {source} holds {human_size(total)} ({total} bytes), more than the limit of "
            f"{human_size(max_bytes)} ({max_bytes} bytes); leave large data out of the code folder "
            "(use an input, or a .amlignore file) or raise STUDIO_CODE_MAX_BYTES"
        )
    handle = tempfile.TemporaryFile(prefix="studio-", suffix=".tar.gz")
    try:
        with tarfile.open(fileobj=handle, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
            for path, name in entries:
                archive.add(path, arcname=name, recursive=False, filter=_normalise)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    files = sum(1 for path, _ in entries if path.is_file() and not path.is_symlink())
    return Archive(file=handle, field=field_name, source=source, files=files, size=total)


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Leave the packer's user names and ids out of the archive."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def safe_extract(fileobj: BinaryIO, dest: Path, *, strip: str | None = None) -> list[str]:
    """Extract a tar(.gz) into ``dest`` with the standard library's ``data`` filter (as the studio
    unpacks uploads), refusing before anything is written: absolute paths, members that would land
    outside ``dest`` (``..``, or through a link already there), links pointing out, devices and
    pipes. ``strip`` drops that leading folder from member names. Returns the files written."""
    try:
        archive = tarfile.open(fileobj=fileobj, mode="r:*")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise CliError(f"the download is not a tar archive ({exc})") from None
    with archive:
        members = archive.getmembers()
        keep = _member_filter(dest, strip)
        root = os.path.realpath(dest)
        planned = [kept for kept in (keep(member, root) for member in members) if kept is not None]
        dest.mkdir(parents=True, exist_ok=True)
        archive.extractall(dest, members=members, filter=keep)
    return [member.name for member in planned if member.isfile() or member.islnk()]


_REFUSALS = {
    tarfile.AbsoluteLinkError: "it links to '{link}', outside {dest}",
    tarfile.LinkOutsideDestinationError: "it links to '{link}', outside {dest}",
    tarfile.SpecialFileError: "not a regular file, folder or link",
}


def _member_filter(dest: Path, strip: str | None):
    """``tarfile``'s data filter, after dropping ``strip`` from names; its refusals as ``CliError``s.
    (The data filter would write an absolute name inside the folder: that is refused here too.)"""

    def keep(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
        if member.name.startswith("/"):
            raise CliError(f"refusing to extract '{member.name}': it would be written outside {dest}")
        renamed = member
        if strip:
            parts = PurePosixPath(member.name).parts
            if parts[:1] == (strip,):
                if len(parts) == 1:
                    return None  # the leading folder itself
                linkname = member.linkname
                if member.islnk() and PurePosixPath(linkname).parts[:1] == (strip,):  # names another member
                    linkname = PurePosixPath(*PurePosixPath(linkname).parts[1:]).as_posix()
                renamed = member.replace(name=PurePosixPath(*parts[1:]).as_posix(), linkname=linkname, deep=False)
        try:
            return tarfile.data_filter(renamed, path)
        except tarfile.FilterError as exc:
            reason = next((text for kind, text in _REFUSALS.items() if isinstance(exc, kind)),
                          "it would be written outside {dest}")
            raise CliError(f"refusing to extract '{member.name}': "
                           + reason.format(link=member.linkname, dest=dest)) from None

    return keep
