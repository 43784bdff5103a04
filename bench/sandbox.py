#!/usr/bin/env python
"""What the sandbox costs per node start: N starts of ``true`` bare and inside the node's bubblewrap.

    .venv/bin/python bench/sandbox.py [--starts 200]

The sandboxed start is the exact command line a node gets (``jobs.runtime.sandbox.command``:
the same binds, namespaces and, as root, the drop to nobody) on a fresh node folder (made and
handed to the sandbox user before the clock starts). Baseline in the same run: the same program
started bare with ``subprocess``. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobs.runtime import sandbox  # noqa: E402  (pure: no Django)
from latency import percentiles  # noqa: E402  (bench/ is on the path of a bench script)


def timed(starts: int, argv_for) -> dict:
    times = []
    for i in range(starts):
        argv = argv_for(i)
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"},
                       check=True)
        times.append(time.perf_counter() - start)
    return percentiles(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=200)
    args = parser.parse_args()
    found = sandbox.availability()
    true, bash = shutil.which("true") or "/bin/true", shutil.which("bash") or "/bin/sh"
    result = {"machine": platform.platform(), "python": sys.version.split()[0], "starts": args.starts,
              "sandbox": found.as_dict("auto"), "baseline bare true": timed(args.starts, lambda i: [true]),
              "baseline bare bash -c true": timed(args.starts, lambda i: [bash, "-c", "true"])}
    if found.available:
        scratch = Path(tempfile.mkdtemp(prefix="studio-bench-sandbox-"))
        try:
            def sandboxed(program):
                def argv_for(i):
                    node = scratch / f"node-{i}"
                    (node / "wd").mkdir(parents=True)
                    layout = sandbox.Layout(root=node, workdir=node / "wd")
                    sandbox.hand_over(layout)
                    return sandbox.command(program, layout, bwrap=found.path)
                return argv_for

            result["sandboxed true"] = timed(args.starts, sandboxed([true]))
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir()
            result["sandboxed bash -c true"] = timed(args.starts, sandboxed([bash, "-c", "true"]))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        result["cost per node start p50_ms"] = round(
            result["sandboxed bash -c true"]["p50_ms"] - result["baseline bare bash -c true"]["p50_ms"], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
