"""The node agent: runs one node of a job as a real process. Knows nothing of Django.

It prepares a fresh working directory (code snapshot, inputs, output folders,
environment), runs the command in its own process group inside the sandbox
(``jobs.runtime.sandbox``; unsandboxed, and saying so, where bubblewrap cannot run), streams
its output to ``user_logs/std_log.txt`` and to a reporter, enforces the timeout, reacts to
cancel within a second, keeps the outputs and classifies the exit. Whatever happens, the
node's processes end with it and its folder is removed.

The executor wires the reporter to the studio's services; tests can wire it to
anything that records what it is told.
"""

from __future__ import annotations

import codecs
import ctypes
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from jobs.lifecycle import FailureKind, Outcome, Status
from jobs.runtime import sandbox
from jobs.specs import CommandJobSpec, is_remote, resolve_command

LOG_FLUSH_SECONDS = 0.2
POLL_SECONDS = 0.5
KILL_GRACE_SECONDS = 3.0
LITERAL_TYPES = {"string", "integer", "number", "boolean"}
PR_SET_PDEATHSIG = 1


class Reporter(Protocol):
    def phase(self, status: str) -> None: ...
    def started(self, pid: int) -> None:
        """The command started; ``pid`` is also its process group id (``leftovers_kill``)."""
        ...
    def log(self, text: str) -> None: ...
    def system(self, message: str) -> None: ...
    def poll(self) -> bool:
        """Heartbeat; returns True when the node has been asked to stop."""
        ...


@dataclass(frozen=True)
class NodeAssignment:
    job_name: str
    root_job_name: str
    experiment_name: str
    workspace_name: str
    spec: dict
    node_index: int = 0
    node_count: int = 1
    code_dir: Path | None = None
    uploads_dir: Path | None = None
    datastores_dir: Path | None = None
    work_root: Path = Path("/tmp")
    work_name: str = ""  # the job's folder under work_root; empty: job_name
    artifacts_dir: Path = Path("/tmp")
    timeout_seconds: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    master_addr: str = "127.0.0.1"
    master_port: int = 29500
    sandbox: str = "auto"  # STUDIO_SANDBOX: auto | require | off (see jobs.runtime.sandbox)


class PreparationError(Exception):
    """The node could not be prepared; the message tells the user what to change."""


def _materialise_input(name: str, spec_input, a: NodeAssignment, dest_root: Path) -> str:
    """Make one file/folder input available on the node; returns the local path."""
    path = spec_input.path or ""
    dest = dest_root / name
    if path.startswith("azureml://datastores/"):
        rest = path[len("azureml://datastores/"):]
        store, _, sub = rest.partition("/paths/")
        if not store or not a.datastores_dir:
            raise PreparationError(f"inputs.{name}: cannot read {path!r}; write azureml://datastores/<name>/paths/<path>")
        source = (a.datastores_dir / store / sub).resolve()
        if a.datastores_dir.resolve() not in source.parents:
            raise PreparationError(f"inputs.{name}: {path!r} points outside the datastore")
        if not source.exists():
            raise PreparationError(
                f"inputs.{name}: {path!r} does not exist in datastore '{store}' "
                f"(the studio keeps datastore '{store}' in {a.datastores_dir / store}); upload the data there "
                "or give a local path in the job file"
            )
    elif path.startswith(("http://", "https://")):
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / (Path(path.split("?")[0]).name or "download")
        try:
            with urllib.request.urlopen(path, timeout=60) as response, open(target, "wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as exc:
            raise PreparationError(f"inputs.{name}: could not download {path}: {exc}") from None
        return str(target)
    elif is_remote(path):
        raise PreparationError(
            f"inputs.{name}: {path!r} is a registered asset or remote store that this studio cannot read yet; "
            "give a local path (the CLI uploads it) or azureml://datastores/<name>/paths/<path>"
        )
    else:
        source = (a.uploads_dir / name) if a.uploads_dir else None
        if source is None or not source.exists():
            raise PreparationError(f"inputs.{name}: the local data for {path!r} was not uploaded with the job")
        entries = list(source.iterdir())
        if spec_input.type == "uri_file" and len(entries) == 1 and entries[0].is_file():
            source = entries[0]
    if source.is_dir():
        shutil.copytree(source, dest, symlinks=True)
        return str(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, dest / source.name)
    return str(dest / source.name)


def _distribution_env(spec: CommandJobSpec, a: NodeAssignment) -> dict[str, str]:
    dist = spec.distribution
    if dist is None:
        return {}
    per_node = dist.process_count_per_instance or 1
    world = a.node_count * per_node
    if dist.type == "pytorch":
        return {
            "MASTER_ADDR": a.master_addr,
            "MASTER_PORT": str(a.master_port),
            "WORLD_SIZE": str(world),
            "NODE_RANK": str(a.node_index),
            "RANK": str(a.node_index * per_node),
            "LOCAL_RANK": "0",
        }
    if dist.type == "mpi":
        return {
            "OMPI_COMM_WORLD_SIZE": str(world),
            "OMPI_COMM_WORLD_RANK": str(a.node_index * per_node),
            "OMPI_COMM_WORLD_LOCAL_RANK": "0",
            "OMPI_COMM_WORLD_LOCAL_SIZE": str(per_node),
            "OMPI_COMM_WORLD_NODE_RANK": str(a.node_index),
        }
    if dist.type == "tensorflow":
        import json

        workers = [f"{a.master_addr}:{a.master_port + i}" for i in range(a.node_count)]
        return {"TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": a.node_index}})}
    return {}


def build_environment(spec: CommandJobSpec, a: NodeAssignment, inputs: dict[str, str], outputs: dict[str, str],
                      home: Path) -> dict[str, str]:
    """Everything the process sees, and nothing of the server's own environment."""
    python_bin = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "AZUREML_RUN_ID": a.job_name,
        "AZUREML_ROOT_RUN_ID": a.root_job_name,
        "AZUREML_ARM_WORKSPACE_NAME": a.workspace_name,
        "AZUREML_NODE_RANK": str(a.node_index),
        "MLFLOW_EXPERIMENT_NAME": a.experiment_name,
    }
    env.update({f"AZURE_ML_INPUT_{k}": v for k, v in inputs.items()})
    env.update({f"AZURE_ML_OUTPUT_{k}": v for k, v in outputs.items()})
    env.update(_distribution_env(spec, a))
    env.update(a.extra_env)
    env.update({k: str(v) for k, v in (spec.environment_variables or {}).items()})
    return env


class _Pump(threading.Thread):
    """Copies the process's output to the log file and to a buffer the agent flushes."""

    def __init__(self, stream, log_file):
        super().__init__(daemon=True)
        self.stream, self.log_file = stream, log_file
        self.lock = threading.Lock()
        self.buffer: list[str] = []
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def run(self) -> None:
        fd = self.stream.fileno()
        try:
            while True:
                data = os.read(fd, 65536)
                text = self.decoder.decode(data, final=not data)
                if text:
                    self.log_file.write(text)
                    self.log_file.flush()
                    with self.lock:
                        self.buffer.append(text)
                if not data:
                    return
        except (OSError, ValueError):
            return  # the node has ended and its log is closed: what still writes here escaped its group
        finally:
            self.stream.close()

    def take(self) -> str:
        with self.lock:
            text, self.buffer = "".join(self.buffer), []
        return text


def _inner_group(pid: int) -> int | None:
    """The sandbox's own first process (bubblewrap's init, leader of the command's session)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def _signal_group(pgid: int | None, signum: int) -> None:
    if pgid is None:
        return
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_group(proc: subprocess.Popen, *, sandboxed: bool) -> None:
    """SIGTERM the command's processes, give them a grace period, then SIGKILL what is left.

    Unsandboxed, the command leads its own process group. Sandboxed, SIGTERM goes to the command's
    session inside the sandbox (bubblewrap itself would just die, killing them at once); SIGKILL to
    bubblewrap then ends the sandbox's PID namespace and every process in it."""
    _signal_group(_inner_group(proc.pid) if sandboxed else proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=KILL_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(proc.pid, signal.SIGKILL)


def _dies_with_parent():
    """For an unsandboxed command: SIGKILL it when the worker thread that started it dies.

    Only the direct child gets it; its own children stay in its process group, which the worker's
    ``leftovers_kill`` (after the node is declared lost) and the end of the node take care of."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the worker died before prctl: nobody is left to supervise us
            os._exit(1)

    return preexec


def leftovers_kill(*, pgid: int, run_id: str, node_index: int) -> list[int]:
    """SIGKILL what is left of a node on this machine after its worker died; returns the pids killed.

    Only processes of process group ``pgid`` (``Node.pid``) whose environment carries the node's
    ``AZUREML_RUN_ID`` and ``AZUREML_NODE_RANK`` are touched, so a recycled group id is safe."""
    marks = {f"AZUREML_RUN_ID={run_id}".encode(), f"AZUREML_NODE_RANK={node_index}".encode()}
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            if not marks <= set((entry / "environ").read_bytes().split(b"\0")):
                continue
            os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            continue  # it ended while we looked, or is not ours to signal
        killed.append(int(entry.name))
    return killed


def _copy_regular(src, dest) -> None:
    """Keep a regular file; anything else a job leaves (a FIFO, a socket) is not an output."""
    if stat.S_ISREG(os.lstat(src).st_mode):
        shutil.copy2(src, dest)


def _keep(src: Path, dest: Path) -> None:
    """Copy what the node left at ``src``; a link it made is kept as a link, never followed."""
    if src.is_symlink():
        return
    if src.is_dir():
        shutil.copytree(src, dest, symlinks=True, dirs_exist_ok=True, copy_function=_copy_regular)
    elif src.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        _copy_regular(src, dest)


def _remove(node_dir: Path) -> None:
    shutil.rmtree(node_dir, ignore_errors=True)
    try:
        node_dir.parent.rmdir()  # the job's folder, once its last node is gone
    except OSError:
        pass


@dataclass
class _Prepared:
    wd: Path
    command: str
    env: dict[str, str]
    outputs: dict[str, str]


def run_node(a: NodeAssignment, reporter: Reporter) -> Outcome:
    """Run one node to its end. Never raises for anything the job does; its folder never outlives it."""
    node_dir = a.work_root / (a.work_name or a.job_name) / f"node-{a.node_index}"
    try:
        return _run_node(a, reporter, node_dir)
    finally:
        _remove(node_dir)


def _prepare(spec: CommandJobSpec, a: NodeAssignment, node_dir: Path) -> _Prepared:
    if node_dir.exists():
        shutil.rmtree(node_dir)
    wd = node_dir / "wd"
    if spec.code and is_remote(spec.code):
        raise PreparationError(
            f"code: '{spec.code}' is a remote code location that this studio cannot fetch yet; "
            "point `code` at a local folder, which the CLI uploads with the job"
        )
    if a.code_dir and a.code_dir.exists():
        shutil.copytree(a.code_dir, wd, symlinks=True)
    else:
        wd.mkdir(parents=True)
    (wd / "outputs").mkdir(exist_ok=True)
    (wd / "user_logs").mkdir(exist_ok=True)
    inputs: dict[str, str] = {}
    for name, spec_input in (spec.inputs or {}).items():
        if spec_input.type in LITERAL_TYPES or spec_input.path is None:
            if spec_input.value is not None:
                inputs[name] = _literal(spec_input.value)
            continue
        inputs[name] = _materialise_input(name, spec_input, a, node_dir / "inputs")
    outputs: dict[str, str] = {}
    for name, spec_output in (spec.outputs or {}).items():
        out_dir = node_dir / "named-outputs" / name
        out_dir.mkdir(parents=True)
        outputs[name] = str(out_dir / name) if spec_output.type == "uri_file" else str(out_dir)
    command = resolve_command(spec, inputs=inputs, outputs=outputs)
    env = build_environment(spec, a, inputs, outputs, home=node_dir)
    return _Prepared(wd, command, env, outputs)


def _sandbox_for(a: NodeAssignment, reporter: Reporter) -> tuple[str | None, Outcome | None]:
    """The bubblewrap to run this node in (None: unsandboxed, which the job's system log says), or
    the outcome of a node that must not start (STUDIO_SANDBOX=require and no sandbox here)."""
    found = sandbox.availability() if a.sandbox != "off" else None
    said = sandbox.describe(a.sandbox, node=a.node_index)
    if a.sandbox == "require" and not found.available:
        return None, Outcome(Status.FAILED, None, FailureKind.INFRASTRUCTURE, said)
    reporter.system(said)
    return (found.path if found and found.available else None), None


def _run_node(a: NodeAssignment, reporter: Reporter, node_dir: Path) -> Outcome:
    spec = CommandJobSpec.from_dict(a.spec)
    reporter.phase(Status.PREPARING)
    try:
        prepared = _prepare(spec, a, node_dir)
        reporter.system(
            f"environment {_describe_environment(spec.environment)}: environments are not built yet; "
            f"node {a.node_index} runs in the worker's default Python ({sys.executable}, "
            f"Python {sys.version.split()[0]})"
        )
    except PreparationError as exc:
        return Outcome(Status.FAILED, None, FailureKind.INFRASTRUCTURE, str(exc))
    except OSError as exc:
        return Outcome(Status.FAILED, None, FailureKind.INFRASTRUCTURE, f"could not prepare the node: {exc}")
    bwrap, refused = _sandbox_for(a, reporter)
    if refused is not None:
        return refused
    argv = [shutil.which("bash") or "/bin/sh", "-c", prepared.command]
    preexec = None
    if bwrap:
        layout = sandbox.Layout(root=node_dir, workdir=prepared.wd, read_only=(node_dir / "inputs",))
        try:
            sandbox.hand_over(layout)
        except OSError as exc:
            return Outcome(Status.FAILED, None, FailureKind.INFRASTRUCTURE,
                           f"could not give the node's folder to the sandbox: {exc}")
        argv = sandbox.command(argv, layout, bwrap=bwrap)
    else:
        preexec = _dies_with_parent()

    log_name = "std_log.txt" if a.node_count == 1 else f"std_log_node_{a.node_index}.txt"
    log_path = a.artifacts_dir / "user_logs" / log_name  # outside the node's reach, kept as it is written
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = open(log_path, "w", encoding="utf-8")
    except OSError as exc:
        return Outcome(Status.FAILED, None, FailureKind.INFRASTRUCTURE, f"could not open the node's log: {exc}")
    with log_file:
        try:
            proc = subprocess.Popen(
                argv, cwd=prepared.wd, env=prepared.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec,
            )
        except OSError as exc:
            return Outcome(Status.FAILED, None, FailureKind.INFRASTRUCTURE, f"could not start the command: {exc}")
        pump = _Pump(proc.stdout, log_file)
        pump.start()
        try:
            reporter.started(proc.pid)
            reporter.phase(Status.RUNNING)
            outcome = _supervise(proc, pump, a, reporter, sandboxed=bool(bwrap))
        finally:
            # Nothing of the node outlives it: not on a timeout or cancel (done), not after the command
            # ended with children still running, not when reporting failed. (A sandbox ends by itself.)
            if proc.poll() is None:
                _kill_group(proc, sandboxed=bool(bwrap))
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
            # Unsandboxed, a process that left the group (setsid) may still hold the output: not waited for.
            pump.join(KILL_GRACE_SECONDS)
        tail = pump.take()
        if tail:
            reporter.log(tail)

    reporter.phase(Status.FINALIZING)
    try:
        artifacts = a.artifacts_dir
        _keep(prepared.wd / "outputs", artifacts / "outputs")
        for name in prepared.outputs:
            _keep(node_dir / "named-outputs" / name, artifacts / "named-outputs" / name)
    except (OSError, shutil.Error) as exc:
        if outcome.status == Status.COMPLETED:
            return Outcome(Status.FAILED, outcome.exit_code, FailureKind.INFRASTRUCTURE, f"could not keep the outputs: {exc}")
    return outcome


def _supervise(proc: subprocess.Popen, pump: _Pump, a: NodeAssignment, reporter: Reporter, *,
               sandboxed: bool) -> Outcome:
    started = time.monotonic()
    next_poll = started
    while True:
        try:
            code = proc.wait(timeout=LOG_FLUSH_SECONDS)
        except subprocess.TimeoutExpired:
            code = None
        text = pump.take()
        if text:
            reporter.log(text)
        if code is not None:
            return _classify(code)
        now = time.monotonic()
        if a.timeout_seconds and now - started > a.timeout_seconds:
            _kill_group(proc, sandboxed=sandboxed)
            return Outcome(
                Status.FAILED, None, FailureKind.TIMEOUT,
                f"the job ran longer than limits.timeout ({a.timeout_seconds} s) and was stopped; "
                "raise limits.timeout or make the command faster",
            )
        if now >= next_poll:
            next_poll = now + POLL_SECONDS
            if reporter.poll():
                _kill_group(proc, sandboxed=sandboxed)
                return Outcome(Status.CANCELED, None, FailureKind.CANCELED, "canceled by request")


def _signal_name(number: int) -> str:
    return signal.Signals(number).name if number in signal.Signals._value2member_map_ else str(number)


def _classify(code: int) -> Outcome:
    if code == 0:
        return Outcome(Status.COMPLETED, 0)
    if code < 0:
        return Outcome(Status.FAILED, code, FailureKind.USER, f"the command was killed by signal {_signal_name(-code)}")
    message = f"the command exited with code {code}"
    if 128 < code <= 128 + 64 and code - 128 in signal.Signals._value2member_map_:
        # a shell (and bubblewrap) reports a process killed by signal N as 128 + N
        message += f" (128 + {code - 128}: killed by signal {_signal_name(code - 128)}, e.g. out of memory for SIGKILL)"
    return Outcome(Status.FAILED, code, FailureKind.USER, message)


def _literal(value) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _describe_environment(environment) -> str:
    if environment is None:
        return "(none given)"
    for attr in ("reference", "image", "name"):
        value = getattr(environment, attr, None)
        if value:
            return str(value)
    return "(inline)"
