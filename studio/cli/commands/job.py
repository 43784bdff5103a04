"""``studio job``: create, stream, show, list, cancel, download, explain and evict jobs.

Job statuses come from ``jobs.lifecycle`` (pure, no Django), imported by the commands that read
them rather than at start-up: it costs more than the rest of the CLI's start together."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import Callable, TextIO

from studio.cli import output
from studio.cli.common import (
    add_command,
    add_group,
    emit_error,
    emit_json,
    json_mode,
    make_client,
    note,
    positive,
    set_item,
    show,
)
from studio.cli.errors import CliError
from studio.humanize import human_size, plural

POLL_SECONDS = 0.5  # the steady log polling interval; the first polls are quicker

EXAMPLES = {
    "create": """examples:
  studio job create --file job.yml
  studio job create -f job.yml --set inputs.epochs=20 --set experiment_name=tuning --stream
  studio job create -f job.yml --name my_run_1 --output json

The file is checked locally first; a local `code` folder and local file/folder inputs are
uploaded with the job (code skips .git, __pycache__, .venv and what .amlignore/.gitignore list;
the limits are STUDIO_CODE_MAX_BYTES, 100 MiB, and STUDIO_CODE_MAX_FILES, 10,000 files, by default).""",
    "stream": """examples:
  studio job stream --name happy_cat_1

Exits 0 if the job completed, with the job's exit code if it failed, 1 otherwise;
Ctrl-C stops following (the job keeps running).""",
    "show": "examples:\n  studio job show --name happy_cat_1\n  studio job show -n happy_cat_1 -o json",
    "list": """examples:
  studio job list
  studio job list --status Failed --max-results 10
  studio job list --waiting-reason QuotaBusy
  studio job list --experiment tuning --search resnet -o json""",
    "cancel": "examples:\n  studio job cancel --name happy_cat_1",
    "download": """examples:
  studio job download --name happy_cat_1                  # everything, into ./happy_cat_1
  studio job download -n happy_cat_1 --path outputs/model.pkl --output-path ./models
  studio job download -n happy_cat_1 --path named-outputs/model_dir
  studio job download -n happy_cat_1 --output-name model_dir --download-path ./out   # as az ml job download""",
    "explain": """examples:
  studio job explain --file job.yml --set resources.instance_count=4

Exits 0 if the job would be admitted or wait in the queue, 1 if it would be rejected.""",
    "evict": """examples:
  studio job evict --name happy_cat_1

Admins only, and only Spot jobs: the job goes back to the queue (it is not failed).""",
}


def register(commands, parents) -> None:
    job_commands = add_group(commands, "job", "create, follow and manage jobs",
                             "{create,stream,show,list,cancel,download,explain,evict}", parents)

    p = add_command(job_commands, "create", "submit a job from a YAML file", parents, EXAMPLES["create"])
    p.add_argument("-f", "--file", required=True, help="the job's YAML file")
    p.add_argument("--set", dest="sets", action="append", default=[], type=set_item, metavar="PATH=VALUE",
                   help="override a field of the file, like az ml's --set (repeatable)")
    p.add_argument("-n", "--name", help="the job's name (default: from the file, else generated)")
    p.add_argument("-w", "--workspace", help="the workspace (default: the profile's)")
    p.add_argument("-s", "--stream", action="store_true", help="then follow its logs until it ends")
    p.set_defaults(handler=cmd_create)

    p = add_command(job_commands, "stream", "follow a job's logs until it ends", parents, EXAMPLES["stream"])
    p.add_argument("-n", "--name", required=True, help="the job's name")
    p.set_defaults(handler=cmd_stream)

    p = add_command(job_commands, "show", "show a job: its fields, nodes, system log and outputs", parents,
                    EXAMPLES["show"])
    p.add_argument("-n", "--name", required=True, help="the job's name")
    p.set_defaults(handler=cmd_show)

    p = add_command(job_commands, "list", "list jobs, newest first", parents, EXAMPLES["list"])
    p.add_argument("--status", help="only jobs in this status (Queued, Running, Completed, Failed, ...)")
    p.add_argument("--type", help="only jobs of this type (command, sweep, pipeline, ...)")
    p.add_argument("--experiment", help="only jobs of this experiment")
    p.add_argument("--compute", help="only jobs on this compute (serverless or a cluster's name)")
    p.add_argument("--search", help="only jobs whose name or display name contains this")
    p.add_argument("--waiting-reason", metavar="CODE",
                   help="only jobs waiting for this reason, a code like QuotaBusy (studio job show names it)")
    p.add_argument("--max-results", type=positive, default=50, help="at most this many jobs (default 50)")
    p.set_defaults(handler=cmd_list)

    p = add_command(job_commands, "cancel", "cancel a job", parents, EXAMPLES["cancel"])
    p.add_argument("-n", "--name", required=True, help="the job's name")
    p.set_defaults(handler=cmd_cancel)

    p = add_command(job_commands, "download", "download a job's outputs and logs", parents, EXAMPLES["download"])
    p.add_argument("-n", "--name", required=True, help="the job's name")
    p.add_argument("-p", "--download-path", "--output-path", dest="output_path",
                   help="the folder to write into (default: ./<name>); --output-path is an alias")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--path", help="one file or folder, like outputs/model.pkl (default: everything)")
    which.add_argument("--output-name", help="one named output, like model (the folder named-outputs/model)")
    which.add_argument("--all", action="store_true",
                       help="everything: logs, outputs and every named output (as az ml; also the default)")
    p.set_defaults(handler=cmd_download)

    p = add_command(job_commands, "explain", "ask whether a job would run now, wait or be refused", parents,
                    EXAMPLES["explain"])
    p.add_argument("-f", "--file", required=True, help="the job's YAML file")
    p.add_argument("--set", dest="sets", action="append", default=[], type=set_item, metavar="PATH=VALUE",
                   help="override a field of the file (repeatable)")
    p.set_defaults(handler=cmd_explain)

    p = add_command(job_commands, "evict", "evict a Spot job: it goes back to the queue (admins only)", parents,
                    EXAMPLES["evict"])
    p.add_argument("-n", "--name", required=True, help="the job's name")
    p.set_defaults(handler=cmd_evict)


# -- job files ------------------------------------------------------------------------------

def load_job_file(path_text: str, sets: list[str]):
    """Parse a job file locally, so bad files fail before anything is sent: (text, spec, path)."""
    path = Path(path_text)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"--file: {path_text} does not exist") from None
    except IsADirectoryError:
        raise CliError(f"--file: {path_text} is a folder; give the job's YAML file") from None
    except UnicodeDecodeError:
        raise CliError(f"--file: {path_text} is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise CliError(f"--file: cannot read {path_text}: {exc.strerror or exc}") from None
    from jobs.specs import SpecError, load_command_job

    try:
        spec = load_command_job(text, source=path_text, base_dir=path.resolve().parent, overrides=list(sets))
    except SpecError as exc:
        issues = [issue.to_dict() for issue in exc.issues] or [{"message": str(exc)}]
        raise CliError("\n".join(output.format_issue(issue, path_text) for issue in issues), plain=True,
                       errors=issues) from None
    return text, spec, path


def pack_uploads(spec, base_dir: Path, stack: contextlib.ExitStack):
    """Archives of the spec's local ``code`` folder and local file/folder inputs:
    (code archive or None, {input name: archive}); closed (and deleted) with ``stack``."""
    from jobs.specs import local_path

    from studio.cli import packing

    max_bytes = packing.max_bytes_from_env()
    code = None
    folder = local_path(base_dir, spec.code) if spec.code else None
    if folder is not None:
        if not folder.exists():
            raise CliError(f"code: the folder {folder} does not exist (the file says code: {spec.code})")
        code = stack.enter_context(packing.pack(folder, field_name="code", max_bytes=max_bytes, code=True))
    inputs = {}
    for name, spec_input in (spec.inputs or {}).items():
        value = getattr(spec_input, "path", None)
        source = local_path(base_dir, value) if isinstance(value, str) and value else None
        if source is None:  # a literal, or remote data the studio fetches itself
            continue
        field_name, kind = f"inputs.{name}", getattr(spec_input, "type", None)
        if not source.exists():
            raise CliError(f"{field_name}: {source} does not exist (the file says path: {value})")
        if kind == "uri_file" and source.is_dir():
            raise CliError(f"{field_name}: {source} is a folder but the input's type is uri_file; use uri_folder")
        if kind == "uri_folder" and source.is_file():
            raise CliError(f"{field_name}: {source} is a file but the input's type is uri_folder; use uri_file")
        inputs[name] = stack.enter_context(packing.pack(source, field_name=field_name, max_bytes=max_bytes))
    for archive in [a for a in (code, *inputs.values()) if a is not None]:
        note(f"Uploading {archive.field}: {plural(archive.files, 'file')}, "
             f"{human_size(archive.size)} ({human_size(archive.compressed_size)} compressed)")
    return code, inputs


# -- commands -------------------------------------------------------------------------------

def cmd_create(args) -> int:
    from jobs.specs.overrides import with_name  # job files need the spec layer anyway

    local_sets = with_name(args.sets, args.name)  # as the studio applies --name
    text, spec, path = load_job_file(args.file, local_sets)
    client = make_client(args)
    cluster_check(client, spec, workspace=args.workspace)
    with contextlib.ExitStack() as stack:
        code, inputs = pack_uploads(spec, path.resolve().parent, stack)
        job = client.create_job(
            text, sets=args.sets, name=args.name, workspace=args.workspace,
            code=code.file if code else None, inputs={k: a.file for k, a in inputs.items()})
    job = scheduler_verdict(client, job)
    report_created(job, out=(sys.stderr if args.stream else None) if json_mode(args) else sys.stdout,
                   hint=not args.stream)
    if args.stream:
        return follow_job(client, job["name"], json_mode=json_mode(args), known_status=job.get("status"))
    if json_mode(args):
        emit_json(job)
    return 0


def cluster_check(client, spec, *, workspace: str | None) -> None:
    """A job naming a cluster that does not exist is refused before anything is uploaded."""
    name = getattr(spec, "compute_name", None)
    if not name:
        return
    try:
        client.get_compute(name, workspace=workspace)
    except CliError as exc:
        if exc.status != 404:
            raise
        raise CliError(f"compute: there is no compute cluster '{name}' in the workspace; create it with "
                       f"`studio compute create --name {name} --type amlcompute --min-instances 0 --max-instances 4`, "
                       "or leave compute out to run on serverless") from exc


VERDICT_WAIT_SECONDS = 5.0


def scheduler_verdict(client, job: dict, *, sleep: Callable[[float], None] = time.sleep) -> dict:
    """The job once the scheduling service has looked at it (admitted, waiting and why, or
    refused), for at most VERDICT_WAIT_SECONDS: the studio answers a submission at once and leaves
    the queue to its scheduling cycle, which usually decides within a moment."""
    from jobs.lifecycle import Status

    deadline = time.monotonic() + VERDICT_WAIT_SECONDS
    delay = 0.05
    while job.get("status") == Status.NOT_STARTED and time.monotonic() < deadline:
        sleep(delay)
        delay = min(delay * 2, 0.5)
        job = client.get_job(job["name"])
    return job


def report_created(job: dict, *, out: TextIO | None, hint: bool) -> None:
    """Name, status and compute to ``out`` (None: JSON follows instead); why a job waits to stderr."""
    from jobs.lifecycle import TERMINAL

    name, status = job.get("name"), job.get("status")
    if out is not None:
        print(f"Job {name} created: {status}", file=out)
        if job.get("instance_type"):
            count = job.get("instance_count") or 1
            print(f"Compute: {job.get('compute') or 'serverless'}, {count} x {job['instance_type']}"
                  + (f" ({job['tier']})" if job.get("tier") else ""), file=out)
    warning = output.waiting_text(job.get("waiting"))
    if warning:
        note(f"warning: {warning}")
    if out is not None and hint and status not in TERMINAL:
        print(f"Follow it with: studio job stream --name {name}", file=out)


def cmd_stream(args) -> int:
    return follow_job(make_client(args), args.name, json_mode=json_mode(args))


def follow_job(client, name: str, *, json_mode: bool = False, known_status: str | None = None,
               sleep: Callable[[float], None] = time.sleep) -> int:
    """Print the job's log as it arrives, then a summary; the exit code follows the job's fate."""
    out: TextIO = sys.stderr if json_mode else sys.stdout
    try:
        last_char = follow_logs(client, name, out, sleep=sleep, status=known_status,
                                first_delay=0.1 if known_status else 0.25)
        job = client.get_job(name)
    except KeyboardInterrupt:
        stopped = f"Stopped following job {name}; it keeps running. To cancel it: studio job cancel --name {name}"
        note(f"\n{stopped}")
        if json_mode:
            emit_error(CliError(stopped))
        return 130
    if last_char not in ("", "\n"):
        out.write("\n")
    print(summary_line(job), file=out)
    if json_mode:
        emit_json(job)
    return exit_code_for(job)


def follow_logs(client, name: str, out: TextIO, *, sleep: Callable[[float], None] = time.sleep,
                status: str | None = None, first_delay: float = 0.25) -> str:
    """Poll node 0's log from offset 0 until the job is finished and the log fully read, noting
    status changes on stderr. Returns the last character printed (to end the log with a newline)."""
    offset, delay, last = 0, min(first_delay, POLL_SECONDS), ""
    while True:
        chunk = client.job_logs(name, offset=offset)
        text = chunk.get("text") or ""
        if chunk.get("status") != status:
            status = chunk.get("status")
            if status and not chunk.get("finished"):
                if last not in ("", "\n"):
                    out.write("\n")
                    last = "\n"
                note(f"[{name}: {status}]")
        if text:
            out.write(text)
            out.flush()
            last = text[-1]
        next_offset = int(chunk.get("next_offset", offset))
        if chunk.get("finished") and next_offset == offset:
            return last
        offset = next_offset
        if not chunk.get("finished"):
            sleep(delay)
            delay = min(POLL_SECONDS, delay * 2)


def summary_line(job: dict) -> str:
    from jobs.lifecycle import Status

    name, status = job.get("name"), job.get("status")
    if status == Status.COMPLETED:
        start = output.parse_time(job.get("started_at")) or output.parse_time(job.get("created_at"))
        end = output.parse_time(job.get("ended_at"))
        took = f" in {output.format_duration((end - start).total_seconds())}" if start and end else ""
        return f"Job {name} Completed{took}"
    error = (job.get("error") or "").strip()
    line = f"Job {name} {status}"
    if error:
        line += f": {error}"
    if job.get("exit_code") is not None:
        line += f" (exit code {job['exit_code']})"
    return line


def exit_code_for(job: dict) -> int:
    from jobs.lifecycle import Status

    if job.get("status") == Status.COMPLETED:
        return 0
    code = job.get("exit_code")
    if job.get("status") == Status.FAILED and isinstance(code, int) and code != 0:
        return min(max(code, 1), 255)
    return 1


def cmd_show(args) -> int:
    client = make_client(args)
    job = client.get_job(args.name)
    if json_mode(args):
        emit_json(job)
        return 0
    try:
        outputs = client.job_outputs(args.name)
    except CliError:
        outputs = None
    print(output.job_detail(job, outputs))
    return 0


def cmd_list(args) -> int:
    client = make_client(args)
    jobs = list(client.iter_jobs(max_results=args.max_results, status=args.status, type=args.type,
                                 experiment=args.experiment, compute=args.compute, search=args.search,
                                 waiting=args.waiting_reason))
    return show(args, jobs, output.job_list_table)


def cmd_cancel(args) -> int:
    return show(args, make_client(args).cancel_job(args.name),
                lambda job: f"Job {job.get('name', args.name)}: {job.get('status')}")


def cmd_download(args) -> int:
    from studio.cli import packing

    client = make_client(args)
    dest = Path(args.output_path or args.name)
    if args.output_name is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+", args.output_name):
        raise CliError(f"--output-name: '{args.output_name}' is not an output name; `studio job show` lists them")
    wanted = (f"named-outputs/{args.output_name}" if args.output_name else args.path or "").strip().strip("/")
    relative = PurePosixPath(wanted)
    if wanted and (relative.is_absolute() or ".." in relative.parts):
        raise CliError(f"--path: '{args.path}' must be a path inside the job's outputs, like outputs/model.pkl")
    listing = client.job_outputs(args.name)
    if wanted and any(item.get("path") == wanted for item in listing):  # one file: its bytes
        target = dest / wanted
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        try:
            with open(partial, "wb") as handle:
                client.download(args.name, handle, wanted)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)  # a download that broke off leaves nothing behind
        written = [wanted]
    else:  # a folder, or everything: a .tar.gz
        with tempfile.TemporaryFile(prefix="studio-", suffix=".tar.gz") as handle:
            client.download(args.name, handle, wanted or None)
            handle.seek(0)
            # A folder comes as <its name>/...; everything as <job name>/...: keep the outputs' layout.
            into = dest / relative.parent if wanted else dest
            written = packing.safe_extract(handle, into, strip=None if wanted else args.name)
            if wanted:
                written = [str(PurePosixPath(relative.parent) / f) if str(relative.parent) != "." else f
                           for f in written]
    return show(args, {"name": args.name, "path": str(dest.resolve()), "files": written},
                lambda _: f"Downloaded {plural(len(written), 'file')} of job {args.name} to {dest}")


def cmd_explain(args) -> int:
    text, _spec, _path = load_job_file(args.file, args.sets)
    answer = make_client(args).explain(text, sets=args.sets)
    show(args, answer, output.explanation_text)
    return 1 if answer.get("decision") == "reject" else 0


def cmd_evict(args) -> int:
    return show(args, make_client(args).evict_job(args.name),
                lambda job: f"Job {job.get('name', args.name)} evicted: {job.get('status')}"
                + (f" (evictions so far: {job['evictions']})" if job.get("evictions") else ""))
