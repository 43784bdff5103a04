"""Bubblewrap around a node's processes. Knows nothing of Django.

A sandboxed node sees:

- its own folder (``work/<job>/node-<k>``: the working directory with the code snapshot,
  ``outputs/``, ``user_logs/``, its named outputs), read-write, at the same path as outside, and
  its materialised inputs inside it read-only;
- the system read-only: ``/usr``, ``/etc``, the ``/bin``, ``/sbin``, ``/lib*`` links or folders,
  and the Python the worker runs with (its prefix and the base installation it links to, even
  when they live in the studio's checkout or a home folder: only those folders, nothing beside);
- a private ``/tmp`` and ``/dev/shm``, a ``/proc`` of its own processes (a PID namespace), a
  minimal ``/dev``, its own System V IPC, and the network (MLflow tracking, downloads).

Nothing else: not the checkout (code, ``var/secret-key``, ``var/studio.db``), not the rest of
STUDIO_DATA_DIR (other jobs' snapshots, outputs and folders, datastores), not the studio's
processes or the database's socket. It runs in a new session (no terminal to inject into), dies
with the worker thread that started it (``--die-with-parent``: a worker killed with SIGKILL takes
its nodes with it) and the whole sandbox ends when the command ends (its PID namespace goes).

Who runs inside: started by an ordinary user, bubblewrap makes an unprivileged user namespace,
keeps the user's uid, drops every capability and forbids further user namespaces. Started by
root, bubblewrap sets up the mounts as root and the command then runs as ``nobody`` (setpriv:
uid and gid 65534, no supplementary groups, no capabilities, an empty bounding set, and
bubblewrap's no_new_privs), so it reads only what any unprivileged user of the machine could
read (``/etc/shadow``, private keys and ``pg_hba.conf`` stay closed); the node's folder is handed
to that user before the command starts.

Whether bubblewrap works is tested once per process (``availability``) with the same invocation a
node gets; where it does not, nodes run unsandboxed and everything that reports on nodes says so.
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

FIX = ("install bubblewrap where nodes run (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install "
       "bubblewrap); in a container, allow it to create namespaces")
SYSTEM_TREES = ("/usr", "/etc")
TOP_LEVEL = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SANDBOX_USER = "nobody"
PROBE_SECONDS = 20.0


@dataclass(frozen=True)
class Availability:
    """Whether nodes can be sandboxed on this machine, and if not, why not."""

    available: bool
    reason: str = ""
    version: str = ""
    path: str = ""  # the bwrap to run

    def as_dict(self, mode: str) -> dict:
        sandboxed = self.available and mode != "off"
        return {"mode": mode, "available": self.available, "sandboxed": sandboxed,
                "reason": self.reason if not sandboxed else "", "fix": "" if sandboxed else FIX,
                "bubblewrap": self.version}


@dataclass(frozen=True)
class Layout:
    """What one node is given: its folder (read-write) and, inside it, folders it may only read."""

    root: Path
    workdir: Path
    read_only: tuple[Path, ...] = ()


def _sandbox_ids() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(SANDBOX_USER)
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return 65534, 65534


def _as_root() -> bool:
    return os.geteuid() == 0


def python_trees() -> list[str]:
    """The folders the worker's interpreter needs: its prefix (a virtualenv) and the base it links to."""
    trees: list[str] = []
    for prefix in (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix):
        for path in dict.fromkeys((prefix, os.path.realpath(prefix))):
            if not any(path == t or path.startswith(t + "/") for t in (*SYSTEM_TREES, *trees)):
                trees.append(path)
    return trees


def _resolver_file() -> list[str]:
    """/etc/resolv.conf is often a link into /run (systemd-resolved): the target is needed for DNS."""
    target = os.path.realpath("/etc/resolv.conf")
    if os.path.exists(target) and not any(target.startswith(t + "/") for t in SYSTEM_TREES):
        return [target]
    return []


def _parents(path: str, made: set[str]) -> list[str]:
    """bubblewrap creates missing parents of a mount point 0700; a node must be able to walk through."""
    args: list[str] = []
    parts = Path(path).parts[1:-1]
    for depth in range(1, len(parts) + 1):
        parent = "/" + "/".join(parts[:depth])
        if parent not in made and parent not in ("/tmp",):
            made.add(parent)
            args += ["--perms", "0755", "--dir", parent]
    return args


def arguments(layout: Layout) -> list[str]:
    """The bubblewrap options for one node (without the program and the command)."""
    args = [
        "--unshare-pid", "--unshare-ipc", "--unshare-cgroup-try",
        "--die-with-parent", "--new-session",
    ]
    if not _as_root():  # as root, the mounts are made as root and setpriv drops every capability
        args += ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    for tree in SYSTEM_TREES:
        args += ["--ro-bind", tree, tree]
    for top in TOP_LEVEL:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm",  # multiprocessing's locks
             "--perms", "1777", "--tmpfs", "/tmp"]
    made: set[str] = set()
    for path in (*_resolver_file(), *python_trees()):
        args += _parents(path, made) + ["--ro-bind", path, path]
    root = str(layout.root)
    args += _parents(root, made) + ["--bind", root, root]
    for folder in layout.read_only:
        if folder.exists():
            args += ["--ro-bind", str(folder), str(folder)]
    args += ["--chdir", str(layout.workdir)]
    return args


def command(argv: list[str], layout: Layout, *, bwrap: str) -> list[str]:
    """``argv`` wrapped in bubblewrap (and, when the studio runs as root, dropped to nobody)."""
    inner = list(argv)
    if _as_root():
        uid, gid = _sandbox_ids()
        inner = [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={gid}",
                 "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--", *inner]
    return [bwrap, *arguments(layout), "--", *inner]


def hand_over(layout: Layout) -> None:
    """Give the node's folder to the user the command runs as (only needed when that is not us)."""
    if not _as_root():
        return
    uid, gid = _sandbox_ids()
    os.lchown(layout.root, uid, gid)
    for top, dirs, files in os.walk(layout.root):
        for name in dirs + files:
            os.lchown(os.path.join(top, name), uid, gid)


def find_bwrap() -> str | None:
    return shutil.which("bwrap")


@functools.cache
def _probe(bwrap: str | None) -> Availability:
    if bwrap is None:
        return Availability(False, "bubblewrap (bwrap) is not installed on this machine")
    if _as_root() and not (shutil.which("setpriv") or os.path.exists("/usr/bin/setpriv")):
        return Availability(False, "the studio runs as root and setpriv (util-linux), which drops a sandboxed "
                                   "node to user nobody, is missing")
    try:
        version = subprocess.run([bwrap, "--version"], capture_output=True, text=True,
                                 timeout=PROBE_SECONDS).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return Availability(False, f"{bwrap} cannot be run: {exc}")
    scratch = Path(tempfile.mkdtemp(prefix="studio-sandbox-probe-"))
    try:
        layout = Layout(root=scratch, workdir=scratch)
        hand_over(layout)
        probe = "test -w . && test -w /tmp"
        result = subprocess.run(command(["/bin/sh", "-c", probe], layout, bwrap=bwrap), capture_output=True,
                                text=True, env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL,
                                timeout=PROBE_SECONDS)
    except (OSError, subprocess.SubprocessError) as exc:
        return Availability(False, f"{bwrap} could not start a sandbox: {exc}", version)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if result.returncode != 0:
        said = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]
        return Availability(False, f"{bwrap} cannot create a sandbox here ({said})", version)
    return Availability(True, "", version, bwrap)


def availability() -> Availability:
    """Tested once per process (and per bwrap found on PATH); the answer is cached."""
    return _probe(find_bwrap())


def describe(mode: str, *, node: int | None = None) -> str:
    """One sentence for the studio's startup line (``node=None``) and a node's system log."""
    who, are = ("nodes", "are") if node is None else (f"node {node}", "is")
    if mode == "off":
        return f"{who} {are} NOT sandboxed: STUDIO_SANDBOX=off, so a job can read the studio's files and " \
               "secrets; to sandbox nodes, set STUDIO_SANDBOX=auto (or require)"
    found = availability()
    if found.available:
        return f"{who} {are} sandboxed ({found.version or 'bubblewrap'}): a node sees only its own folder, " \
               "the system read-only and the network"
    if mode == "require":
        return f"{who} {are} NOT started: STUDIO_SANDBOX=require and {found.reason}; {FIX}"
    return f"{who} {are} NOT sandboxed: {found.reason}, so a job can read the studio's files and secrets; " \
           f"to fix it, {FIX} (STUDIO_SANDBOX=require refuses to run nodes unsandboxed)"
