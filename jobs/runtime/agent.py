"""The node agent: runs one node of a job as a real process. Knows nothing of Django.

It prepares a fresh working directory (code snapshot, inputs, output folders,
environment), runs the command in its own process group, streams its output to
``user_logs/std_log.txt`` and to a reporter, enforces the timeout, reacts to
cancel within a second, keeps the outputs and classifies the exit.

The executor wires the reporter to the studio's services; tests can wire it to
anything that records what it is told.
"""

from __future__ import annotations

import codecs
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from jobs.lifecycle import FailureKind, Outcome, Status
from jobs.specs import CommandJobSpec, is_remote, resolve_command

LOG_FLUSH_SECONDS = 0.2
POLL_SECONDS = 0.5
KILL_GRACE_SECONDS = 3.0
LITERAL_TYPES = {"string", "integer", "number", "boolean"}


class Reporter(Protocol):
    def phase(self, status: str) -> None: ...
    def started(self, pid: int) -> None: ...
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
    artifacts_dir: Path = Path("/tmp")
    timeout_seconds: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    master_addr: str = "127.0.0.1"
    master_port: int = 29500


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

    def take(self) -> str:
        with self.lock:
            text, self.buffer = "".join(self.buffer), []
        return text


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=KILL_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _keep(src: Path, dest: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dest, symlinks=True, dirs_exist_ok=True)
    elif src.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)


def run_node(a: NodeAssignment, reporter: Reporter) -> Outcome:
    """Run one node to its end. Never raises for anything the job does."""
    spec = CommandJobSpec.from_dict(a.spec)
    node_dir = a.work_root / a.job_name / f"node-{a.node_index}"
    reporter.phase(Status.PREPARING)
    try:
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
        environment = spec.environment
        reporter.system(
            f"environment {_describe_environment(environment)}: environments are not built yet; "
            f"node {a.node_index} runs in the worker's default Python ({sys.executable}, "
            f"Python {sys.version.split()[0]})"
        )
    except PreparationError as exc:
        return Outcome(Status.FAILED, None, FailureKind.INFRASTRUCTURE, str(exc))
    except OSError as exc:
        return Outcome(Status.FAILED, None, FailureKind.INFRASTRUCTURE, f"could not prepare the node: {exc}")

    log_name = "std_log.txt" if a.node_count == 1 else f"std_log_node_{a.node_index}.txt"
    log_path = wd / "user_logs" / log_name
    with open(log_path, "w", encoding="utf-8") as log_file:
        try:
            proc = subprocess.Popen(
                [shutil.which("bash") or "/bin/sh", "-c", command],
                cwd=wd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return Outcome(Status.FAILED, None, FailureKind.INFRASTRUCTURE, f"could not start the command: {exc}")
        reporter.started(proc.pid)
        reporter.phase(Status.RUNNING)
        pump = _Pump(proc.stdout, log_file)
        pump.start()
        outcome = _supervise(proc, pump, a, reporter)
        pump.join()
        proc.stdout.close()
        tail = pump.take()
        if tail:
            reporter.log(tail)

    reporter.phase(Status.FINALIZING)
    try:
        artifacts = a.artifacts_dir
        _keep(wd / "outputs", artifacts / "outputs")
        _keep(log_path, artifacts / "user_logs" / log_name)
        for name in outputs:
            _keep(node_dir / "named-outputs" / name, artifacts / "named-outputs" / name)
    except OSError as exc:
        if outcome.status == Status.COMPLETED:
            return Outcome(Status.FAILED, outcome.exit_code, FailureKind.INFRASTRUCTURE, f"could not keep the outputs: {exc}")
    finally:
        shutil.rmtree(node_dir, ignore_errors=True)
        try:
            node_dir.parent.rmdir()  # the job's folder, once its last node is gone
        except OSError:
            pass
    return outcome


def _supervise(proc: subprocess.Popen, pump: _Pump, a: NodeAssignment, reporter: Reporter) -> Outcome:
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
            _kill_group(proc)
            return Outcome(
                Status.FAILED, None, FailureKind.TIMEOUT,
                f"the job ran longer than limits.timeout ({a.timeout_seconds} s) and was stopped; "
                "raise limits.timeout or make the command faster",
            )
        if now >= next_poll:
            next_poll = now + POLL_SECONDS
            if reporter.poll():
                _kill_group(proc)
                return Outcome(Status.CANCELED, None, FailureKind.CANCELED, "canceled by request")


def _classify(code: int) -> Outcome:
    if code == 0:
        return Outcome(Status.COMPLETED, 0)
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return Outcome(Status.FAILED, code, FailureKind.USER, f"the command was killed by signal {name}")
    return Outcome(Status.FAILED, code, FailureKind.USER, f"the command exited with code {code}")


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
