"""Process plumbing for ``runstudio``: a child that dies with its parent, and who holds a port.

Pure standard library (Linux ``prctl`` and ``/proc``); elsewhere both degrade to doing nothing
and "another process".
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import sys
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """For ``preexec_fn``: the kernel sends ``sig`` to this child when its parent dies, even by
    SIGKILL (Linux). Then, if the parent already died before this ran, exit at once."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    if os.getppid() != parent:  # orphaned between fork and prctl
        os._exit(1)


def port_free(host: str, port: int) -> bool:
    """True when ``host:port`` can be listened on now (as a server that sets SO_REUSEADDR would)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    """Wait (polling) until the port is free: a server that is shutting down lets it go in a moment."""
    deadline = time.monotonic() + timeout
    while not port_free(host, port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])  # 0A: LISTEN
    return inodes


def port_holder(port: int) -> str:
    """Who listens on ``port``: ``pid 123 (python -m gunicorn ...)``, or ``another process`` when
    that cannot be seen (another user's process, or not Linux)."""
    inodes = _listening_inodes(port)
    if inodes:
        targets = {f"socket:[{inode}]" for inode in inodes}
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if not any(os.readlink(fd) in targets for fd in (proc / "fd").iterdir()):
                    continue
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue
            parent = _parent_of(proc)
            orphan = " — left behind by a studio that crashed" if parent == 1 and "gunicorn" in command else ""
            return f"pid {proc.name} ({command[:120]}){orphan}"
    return "another process"


def _parent_of(proc: Path) -> int | None:
    try:
        stat = (proc / "stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None
