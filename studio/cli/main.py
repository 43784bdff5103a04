"""``studio``: submit and follow Azure ML CLI v2 jobs on a Serverless Studio, like ``az ml job``.

A thin client of the REST API; no Django here, so it starts fast and runs on a laptop.
``jobs.specs`` (pure Python) is imported only by the commands that read job files.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Callable, TextIO

from studio.cli import output
from studio.cli.errors import CliError
from studio.humanize import human_size
from studio.cli.profile import load_profile, profile_path

TERMINAL = ("Completed", "Failed", "Canceled")
POLL_SECONDS = 0.5  # the steady log polling interval; the first polls are quicker

EXAMPLES = {
    "studio": """examples:
  studio job create --file job.yml --stream
  studio job list --status Running
  studio validate --file job.yml
  studio job show --name happy_cat_1 --output json
  studio quota list
  studio usage list --since 7d
  studio compute create --name cpu-cluster --size Standard_DS3_v2 --max-instances 4

configuration: --url/STUDIO_URL and --token/STUDIO_TOKEN, else the profile saved by
`manage.py studio_setup` ($STUDIO_CONFIG or ~/.config/serverless-studio/profile.json).""",
    "create": """examples:
  studio job create --file job.yml
  studio job create -f job.yml --set inputs.epochs=20 --set experiment_name=tuning --stream
  studio job create -f job.yml --name my_run_1 --output json

The file is checked locally first; a local `code` folder and local file/folder inputs are
uploaded with the job (code skips .git, __pycache__, .venv and what .amlignore/.gitignore list;
the limit is STUDIO_CODE_MAX_BYTES, 100 MiB by default).""",
    "stream": """examples:
  studio job stream --name happy_cat_1

Exits 0 if the job completed, with the job's exit code if it failed, 1 otherwise;
Ctrl-C stops following (the job keeps running).""",
    "show": "examples:\n  studio job show --name happy_cat_1\n  studio job show -n happy_cat_1 -o json",
    "list": """examples:
  studio job list
  studio job list --status Failed --max-results 10
  studio job list --experiment tuning --search resnet -o json""",
    "cancel": "examples:\n  studio job cancel --name happy_cat_1",
    "download": """examples:
  studio job download --name happy_cat_1                  # everything, into ./happy_cat_1
  studio job download -n happy_cat_1 --path outputs/model.pkl --output-path ./models
  studio job download -n happy_cat_1 --path named-outputs/model_dir""",
    "explain": """examples:
  studio job explain --file job.yml --set resources.instance_count=4

Exits 0 if the job would be admitted or wait in the queue, 1 if it would be rejected.""",
    "evict": """examples:
  studio job evict --name happy_cat_1

Admins only, and only Spot jobs: the job goes back to the queue (it is not failed).""",
    "quota list": """examples:
  studio quota list
  studio quota list --workspace ws-2 --all
  studio quota list -o json

FREE is what the workspace can still start: the subscription's free vCPUs, capped by what is
left of the workspace's own cap. Spot jobs of every family share the Spot pool.""",
    "quota set": """examples:
  studio quota set --family standardDSv2Family --limit 24                  # the subscription's limit
  studio quota set --family standardNCASv3_T4Family --limit 8 --workspace ws-2   # a workspace's cap
  studio quota set --spot --limit 16                                       # the shared Spot pool

Limits are in vCPUs; 0 allows nothing. A workspace cap cannot raise the subscription's limit.
`studio quota list --all` shows every family's id.""",
    "usage list": """examples:
  studio usage list
  studio usage list --since 7d
  studio usage list --workspace ws-2 --since 2026-11-01 -o json

--since takes a date (local midnight), a date and time, or an age like 30m, 24h, 7d or 2w.
Serverless is listed as one compute beside the named clusters.""",
    "compute create": """examples:
  studio compute create --name cpu-cluster --size Standard_DS3_v2
  studio compute create -n gpu-cluster --size Standard_NC4as_T4_v3 --min-instances 0 --max-instances 2 \\
      --idle-time-before-scale-down 600

Defaults: --min-instances 0, --max-instances 1, --idle-time-before-scale-down 120 (seconds).""",
    "compute list": "examples:\n  studio compute list\n  studio compute list --workspace ws-2 -o json",
    "compute show": "examples:\n  studio compute show --name cpu-cluster\n  studio compute show -n cpu-cluster -o json",
    "compute delete": """examples:
  studio compute delete --name cpu-cluster          # asks first
  studio compute delete --name cpu-cluster --yes    # in scripts: no question

Without --yes the CLI asks on a terminal, and refuses when its input is not a terminal.""",
    "vm-size list": """examples:
  studio vm-size list
  studio vm-size list --gpu
  studio vm-size list --max-price 0.5 -o json

PRICE and SPOT are USD per node-hour (dedicated and Spot); QUOTA FREE is the vCPUs of the size's
family your workspace can still start. The same list: studio compute list-sizes.""",
    "validate": """examples:
  studio validate --file job.yml
  studio validate -f a.yml -f b.yml --output json

Offline: no studio needed. Exits 0 if every file is valid, 1 otherwise.""",
}


# -- arguments ------------------------------------------------------------------------------

class _Version(argparse.Action):
    """Prints the installed package version (looked up only when asked, to keep start-up fast)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show the CLI version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib import metadata

        try:
            version = metadata.version("serverless-studio")
        except metadata.PackageNotFoundError:
            version = "unknown"
        print(f"studio {version}")
        parser.exit()


def _set_item(value: str) -> str:
    if "=" not in value or value.startswith("="):
        raise argparse.ArgumentTypeError(f"expected path=value (like inputs.epochs=20), got '{value}'")
    return value


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{value}'") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def _non_negative(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{value}'") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def _vcpu_limit(value: str) -> int:
    try:
        return _non_negative(value)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (a number of vCPUs; 0 allows nothing)") from None


def _price(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a price in USD per hour, like 0.5, got '{value}'") from None
    if not number >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return number


_AGE_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _since(value: str, now: datetime | None = None) -> str:
    """``7d``/``24h``/``30m``/``2w`` ago, a date (local midnight) or a date-time (local unless it
    says otherwise), as an ISO 8601 UTC timestamp for the server."""
    text = value.strip()
    found = re.fullmatch(r"(\d+)\s*([mhdw])", text.lower())
    if found:
        amount = int(found.group(1))
        if amount < 1:
            raise argparse.ArgumentTypeError(f"an age must be 1 or more, got '{value}'")
        moment = (now or datetime.now(timezone.utc)) - timedelta(seconds=amount * _AGE_UNITS[found.group(2)])
    else:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a date like 2026-11-01, a date and time like 2026-11-01T08:00, "
                f"or an age like 24h or 7d, got '{value}'") from None
        if moment.tzinfo is None:
            moment = moment.astimezone()  # local time
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_parser() -> argparse.ArgumentParser:
    # Shared options are accepted before or after the command; SUPPRESS keeps a later
    # (sub-command) parser from overwriting a value given earlier with its default.
    fmt = argparse.ArgumentParser(add_help=False)
    fmt.add_argument("-o", "--output", choices=("table", "json"), default=argparse.SUPPRESS,
                     help="table (default) or json: exactly one JSON document on stdout")
    conn = argparse.ArgumentParser(add_help=False)
    conn.add_argument("--url", default=argparse.SUPPRESS, help="the studio's address (or STUDIO_URL)")
    conn.add_argument("--token", default=argparse.SUPPRESS, help="your API token (or STUDIO_TOKEN)")

    def sub(group, name: str, help: str, parents, example: str) -> argparse.ArgumentParser:
        return group.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                                parents=parents, epilog=EXAMPLES[example],
                                formatter_class=argparse.RawDescriptionHelpFormatter)

    parser = argparse.ArgumentParser(
        prog="studio", parents=[fmt, conn], epilog=EXAMPLES["studio"],
        description="Run Azure ML CLI v2 jobs on a Serverless Studio.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", metavar="{job,validate,quota,usage,compute,vm-size}")

    job = commands.add_parser("job", help="create, follow and manage jobs",
                              description="Create, follow and manage jobs.", parents=[fmt, conn])
    job_commands = job.add_subparsers(dest="job_command",
                                      metavar="{create,stream,show,list,cancel,download,explain,evict}")
    job.set_defaults(handler=lambda args: _help(job))

    both = [fmt, conn]
    p = sub(job_commands, "create", "submit a job from a YAML file", both, "create")
    p.add_argument("-f", "--file", required=True, help="the job's YAML file")
    p.add_argument("--set", dest="sets", action="append", default=[], type=_set_item, metavar="PATH=VALUE",
                   help="override a field of the file, like az ml's --set (repeatable)")
    p.add_argument("-n", "--name", help="the job's name (default: from the file, else generated)")
    p.add_argument("-w", "--workspace", help="the workspace (default: the profile's)")
    p.add_argument("-s", "--stream", action="store_true", help="then follow its logs until it ends")
    p.set_defaults(handler=cmd_create)

    p = sub(job_commands, "stream", "follow a job's logs until it ends", both, "stream")
    p.add_argument("-n", "--name", required=True, help="the job's name")
    p.set_defaults(handler=cmd_stream)

    p = sub(job_commands, "show", "show a job: its fields, nodes, system log and outputs", both, "show")
    p.add_argument("-n", "--name", required=True, help="the job's name")
    p.set_defaults(handler=cmd_show)

    p = sub(job_commands, "list", "list jobs, newest first", both, "list")
    p.add_argument("--status", help="only jobs in this status (Queued, Running, Completed, Failed, ...)")
    p.add_argument("--type", help="only jobs of this type (command, sweep, pipeline, ...)")
    p.add_argument("--experiment", help="only jobs of this experiment")
    p.add_argument("--compute", help="only jobs on this compute (serverless or a cluster's name)")
    p.add_argument("--search", help="only jobs whose name or display name contains this")
    p.add_argument("--max-results", type=_positive, default=50, help="at most this many jobs (default 50)")
    p.set_defaults(handler=cmd_list)

    p = sub(job_commands, "cancel", "cancel a job", both, "cancel")
    p.add_argument("-n", "--name", required=True, help="the job's name")
    p.set_defaults(handler=cmd_cancel)

    p = sub(job_commands, "download", "download a job's outputs and logs", both, "download")
    p.add_argument("-n", "--name", required=True, help="the job's name")
    p.add_argument("-p", "--output-path", help="the folder to write into (default: ./<name>)")
    p.add_argument("--path", help="one file or folder, like outputs/model.pkl (default: everything)")
    p.set_defaults(handler=cmd_download)

    p = sub(job_commands, "explain", "ask whether a job would run now, wait or be refused", both, "explain")
    p.add_argument("-f", "--file", required=True, help="the job's YAML file")
    p.add_argument("--set", dest="sets", action="append", default=[], type=_set_item, metavar="PATH=VALUE",
                   help="override a field of the file (repeatable)")
    p.set_defaults(handler=cmd_explain)

    p = sub(job_commands, "evict", "evict a Spot job: it goes back to the queue (admins only)", both, "evict")
    p.add_argument("-n", "--name", required=True, help="the job's name")
    p.set_defaults(handler=cmd_evict)

    p = sub(commands, "validate", "check job files offline", [fmt], "validate")
    p.add_argument("-f", "--file", dest="files", action="append", required=True, metavar="FILE",
                   help="a YAML file to check (repeatable)")
    p.set_defaults(handler=cmd_validate)

    def group(name: str, help: str, metavar: str):
        parser_ = commands.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                                      parents=both)
        parser_.set_defaults(handler=lambda args: _help(parser_))
        return parser_.add_subparsers(dest=f"{name}_command", metavar=metavar)

    quota = group("quota", "see and set vCPU quotas per VM family (setting: admins only)", "{list,set}")
    p = sub(quota, "list", "list vCPU quotas and their use per VM family, and the Spot pool", both, "quota list")
    p.add_argument("-w", "--workspace", help="the workspace (default: the profile's)")
    p.add_argument("--all", dest="everything", action="store_true",
                   help="also families with no quota and no use")
    p.set_defaults(handler=cmd_quota_list)

    p = sub(quota, "set", "set a family's vCPU limit (subscription, or a workspace's cap) or the Spot pool's",
            both, "quota set")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--family", help="the quota family's id, like standardDSv2Family (see quota list --all)")
    which.add_argument("--spot", action="store_true", help="the Spot pool shared by every family")
    p.add_argument("--limit", required=True, type=_vcpu_limit, help="the limit in vCPUs (0 or more)")
    p.add_argument("-w", "--workspace",
                   help="cap this workspace instead of setting the subscription's limit (not with --spot)")
    p.set_defaults(handler=cmd_quota_set)

    usage = group("usage", "see what each compute uses and costs", "{list}")
    p = sub(usage, "list", "list vCPUs, nodes, jobs and cost per compute, Serverless included", both, "usage list")
    p.add_argument("-w", "--workspace", help="the workspace (default: the profile's)")
    p.add_argument("--since", type=_since, metavar="WHEN",
                   help="count vCPU-hours and cost from then: 2026-11-01, 2026-11-01T08:00, 24h, 7d")
    p.set_defaults(handler=cmd_usage_list)

    compute = group("compute", "create and manage named compute clusters", "{create,list,show,delete,list-sizes}")
    p = sub(compute, "create", "create a compute cluster of one VM size that scales between min and max nodes",
            both, "compute create")
    p.add_argument("-n", "--name", required=True, help="the cluster's name")
    p.add_argument("--size", required=True, help="its VM size, like Standard_DS3_v2 (see studio vm-size list)")
    p.add_argument("--min-instances", type=_non_negative, default=0, help="nodes kept even when idle (default 0)")
    p.add_argument("--max-instances", type=_positive, default=1, help="most nodes at once (default 1)")
    p.add_argument("--idle-time-before-scale-down", type=_non_negative, default=120, metavar="SECONDS",
                   help="seconds a node stays idle before it is released (default 120)")
    p.add_argument("-w", "--workspace", help="the workspace (default: the profile's)")
    p.set_defaults(handler=cmd_compute_create)

    p = sub(compute, "list", "list compute clusters", both, "compute list")
    p.add_argument("-w", "--workspace", help="the workspace (default: the profile's)")
    p.set_defaults(handler=cmd_compute_list)

    p = sub(compute, "show", "show a compute cluster, its nodes and state", both, "compute show")
    p.add_argument("-n", "--name", required=True, help="the cluster's name")
    p.set_defaults(handler=cmd_compute_show)

    p = sub(compute, "delete", "delete a compute cluster", both, "compute delete")
    p.add_argument("-n", "--name", required=True, help="the cluster's name")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=cmd_compute_delete)

    vm_size = group("vm-size", "the VM sizes of the catalogue", "{list}")
    for group_, name in ((vm_size, "list"), (compute, "list-sizes")):
        p = sub(group_, name, "list VM sizes with their prices and free quota", both, "vm-size list")
        p.add_argument("--gpu", action="store_true", help="only sizes with GPUs")
        p.add_argument("--max-price", type=_price, metavar="USD",
                       help="only sizes costing at most this per hour (dedicated)")
        p.set_defaults(handler=cmd_vm_size_list)

    parser.set_defaults(handler=lambda args: _help(parser))
    return parser


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


# -- plumbing -------------------------------------------------------------------------------

def _json_mode(args) -> bool:
    return getattr(args, "output", "table") == "json"


def _emit_json(data) -> None:
    sys.stdout.write(output.to_json(data) + "\n")


def _note(message: str) -> None:
    print(message, file=sys.stderr)


def connection(args) -> tuple[str, str, str | None]:
    """(url, token, workspace) from options, environment, then the saved profile."""
    from studio.cli.client import normalise_url

    try:
        profile = load_profile()
    except ValueError as exc:
        raise CliError(str(exc)) from None
    url = getattr(args, "url", None) or os.environ.get("STUDIO_URL") or profile.get("url")
    if not url:
        raise CliError(
            "no studio configured: pass --url and --token (or set STUDIO_URL and STUDIO_TOKEN), "
            f"or run `manage.py studio_setup` on the studio to save a profile at {profile_path()}")
    # The saved token and workspace belong to the saved URL; never send them anywhere else.
    same = bool(profile.get("url")) and normalise_url(profile["url"]) == normalise_url(url)
    token = getattr(args, "token", None) or os.environ.get("STUDIO_TOKEN") or (profile.get("token") if same else None)
    if not token:
        raise CliError(f"no API token for {url}: pass --token or set STUDIO_TOKEN "
                       "(`manage.py studio_setup` prints one and saves it in the profile)")
    return url, token, profile.get("workspace") if same else None


def make_client(args):
    from studio.cli.client import StudioClient

    url, token, workspace = connection(args)
    return StudioClient(url, token, workspace=workspace)


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
        raise CliError("\n".join(output.format_issue(issue, path_text) for issue in issues), plain=True) from None
    return text, spec, path


# -- commands -------------------------------------------------------------------------------

def cmd_create(args) -> int:
    from jobs.specs.overrides import with_name  # job files need the spec layer anyway

    local_sets = with_name(args.sets, args.name)  # as the studio applies --name
    text, spec, path = load_job_file(args.file, local_sets)
    client = make_client(args)
    with contextlib.ExitStack() as stack:
        code, inputs = pack_uploads(spec, path.resolve().parent, stack)
        job = client.create_job(
            text, sets=args.sets, name=args.name, workspace=args.workspace,
            code=code.file if code else None, inputs={k: a.file for k, a in inputs.items()})
    _report_created(job, out=(sys.stderr if args.stream else None) if _json_mode(args) else sys.stdout,
                    hint=not args.stream)
    if args.stream:
        return follow_job(client, job["name"], json_mode=_json_mode(args), known_status=job.get("status"))
    if _json_mode(args):
        _emit_json(job)
    return 0


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
        _note(f"Uploading {archive.field}: {archive.files} file{'s' if archive.files != 1 else ''}, "
              f"{human_size(archive.size)} ({human_size(archive.compressed_size)} compressed)")
    return code, inputs


def _report_created(job: dict, *, out: TextIO | None, hint: bool) -> None:
    """Name, status and compute to ``out`` (None: JSON follows instead); a queued job's reason to stderr."""
    name, status = job.get("name"), job.get("status")
    if out is not None:
        print(f"Job {name} created: {status}", file=out)
        if job.get("instance_type"):
            count = job.get("instance_count") or 1
            print(f"Compute: {job.get('compute') or 'serverless'}, {count} x {job['instance_type']}"
                  + (f" ({job['tier']})" if job.get("tier") else ""), file=out)
    if status == "Queued" and job.get("pending_reason"):
        detail = []  # only what the scheduler's reason does not say already
        if "position" not in job["pending_reason"] and job.get("queue_position") is not None:
            detail.append(f"position {job['queue_position']} in the queue")
        if job.get("estimated_start_at") and "estimated start" not in job["pending_reason"]:
            detail.append(f"estimated start {output.format_eta(job['estimated_start_at'])}")
        _note(f"warning: {job['pending_reason']}" + (f" ({', '.join(detail)})" if detail else ""))
    if out is not None and hint and status not in TERMINAL:
        print(f"Follow it with: studio job stream --name {name}", file=out)


def cmd_stream(args) -> int:
    return follow_job(make_client(args), args.name, json_mode=_json_mode(args))


def follow_job(client, name: str, *, json_mode: bool = False, known_status: str | None = None,
               sleep: Callable[[float], None] = time.sleep) -> int:
    """Print the job's log as it arrives, then a summary; the exit code follows the job's fate."""
    out: TextIO = sys.stderr if json_mode else sys.stdout
    try:
        last_char = follow_logs(client, name, out, sleep=sleep, status=known_status,
                                first_delay=0.1 if known_status else 0.25)
        job = client.get_job(name)
    except KeyboardInterrupt:
        _note(f"\nStopped following job {name}; it keeps running. To cancel it: studio job cancel --name {name}")
        return 130
    if last_char not in ("", "\n"):
        out.write("\n")
    print(summary_line(job), file=out)
    if json_mode:
        _emit_json(job)
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
                _note(f"[{name}: {status}]")
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
    name, status = job.get("name"), job.get("status")
    if status == "Completed":
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
    if job.get("status") == "Completed":
        return 0
    code = job.get("exit_code")
    if job.get("status") == "Failed" and isinstance(code, int) and code != 0:
        return min(max(code, 1), 255)
    return 1


def cmd_show(args) -> int:
    client = make_client(args)
    job = client.get_job(args.name)
    if _json_mode(args):
        _emit_json(job)
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
                                 experiment=args.experiment, compute=args.compute, search=args.search))
    if _json_mode(args):
        _emit_json(jobs)
    else:
        print(output.job_list_table(jobs))
    return 0


def cmd_cancel(args) -> int:
    job = make_client(args).cancel_job(args.name)
    if _json_mode(args):
        _emit_json(job)
    else:
        print(f"Job {job.get('name', args.name)}: {job.get('status')}")
    return 0


def cmd_download(args) -> int:
    from studio.cli import packing

    client = make_client(args)
    dest = Path(args.output_path or args.name)
    wanted = (args.path or "").strip().strip("/")
    relative = PurePosixPath(wanted)
    if wanted and (relative.is_absolute() or ".." in relative.parts):
        raise CliError(f"--path: '{args.path}' must be a path inside the job's outputs, like outputs/model.pkl")
    listing = client.job_outputs(args.name)
    if wanted and any(item.get("path") == wanted for item in listing):  # one file: its bytes
        target = dest / wanted
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        with open(partial, "wb") as handle:
            client.download(args.name, handle, wanted)
        os.replace(partial, target)
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
    if _json_mode(args):
        _emit_json({"name": args.name, "path": str(dest.resolve()), "files": written})
    else:
        print(f"Downloaded {len(written)} file{'s' if len(written) != 1 else ''} of job {args.name} to {dest}")
    return 0


def cmd_explain(args) -> int:
    text, _spec, _path = load_job_file(args.file, args.sets)
    answer = make_client(args).explain(text, sets=args.sets)
    if _json_mode(args):
        _emit_json(answer)
    else:
        lines = [f"{answer.get('decision', '?')}: {answer.get('reason', '')}"]
        if answer.get("position") is not None:
            lines.append(f"position in the queue: {answer['position']}")
        if answer.get("estimated_start"):
            lines.append(f"estimated start: {output.format_time(answer['estimated_start'])}")
        lines.extend(f"  - {item}" for item in answer.get("recommendations") or [])
        print("\n".join(lines))
    return 1 if answer.get("decision") == "reject" else 0


def cmd_evict(args) -> int:
    job = make_client(args).evict_job(args.name)
    if _json_mode(args):
        _emit_json(job)
    else:
        evictions = job.get("evictions")
        print(f"Job {job.get('name', args.name)} evicted: {job.get('status')}"
              + (f" (evictions so far: {evictions})" if evictions else ""))
    return 0


def cmd_quota_list(args) -> int:
    quotas = make_client(args).quotas(workspace=args.workspace)
    if _json_mode(args):
        _emit_json(quotas)
        return 0
    rows = output.quota_rows(quotas, everything=args.everything)
    print(output.quota_table(quotas, rows))
    hidden = len(quotas.get("families") or []) - (len(rows) - 1)
    if hidden:
        _note(f"{hidden} famil{'ies' if hidden != 1 else 'y'} with no quota and no use not shown; --all shows them")
    return 0


def cmd_quota_set(args) -> int:
    family = None if args.spot else args.family.strip()
    if args.spot and args.workspace:
        raise CliError("--spot: the Spot pool is shared by the whole subscription and has no workspace cap; "
                       "leave out --workspace")
    if family == "":
        raise CliError("--family: give a quota family's id, like standardDSv2Family (see studio quota list --all)")
    client = make_client(args)
    if family is None:
        quotas = client.set_spot_quota(args.limit)
    else:
        quotas = client.set_quota(family, args.limit, workspace=args.workspace)
    if _json_mode(args):
        _emit_json(quotas)
        return 0
    if family is None:
        rows = [output.spot_row(quotas)]
    else:
        rows = [r for r in quotas.get("families") or [] if r.get("family") == family]
        if not rows:  # the server calls it something else: show everything rather than nothing
            rows = output.quota_rows(quotas, everything=True)
    print(output.quota_table(quotas, rows))
    return 0


def cmd_usage_list(args) -> int:
    rows = make_client(args).usage(workspace=args.workspace, since=args.since)
    if _json_mode(args):
        _emit_json(rows)
    else:
        print(output.usage_table(rows))
    return 0


def cmd_compute_create(args) -> int:
    if args.min_instances > args.max_instances:
        raise CliError(f"--min-instances ({args.min_instances}) cannot be more than "
                       f"--max-instances ({args.max_instances})")
    compute = make_client(args).create_compute(
        args.name, size=args.size, min_instances=args.min_instances, max_instances=args.max_instances,
        idle_time_before_scale_down=args.idle_time_before_scale_down, workspace=args.workspace)
    if _json_mode(args):
        _emit_json(compute)
    else:
        print(f"Compute {compute.get('name', args.name)} created\n" + output.compute_detail(compute))
    return 0


def cmd_compute_list(args) -> int:
    computes = make_client(args).list_computes(workspace=args.workspace)
    if _json_mode(args):
        _emit_json(computes)
    else:
        print(output.compute_list_table(computes))
    return 0


def cmd_compute_show(args) -> int:
    compute = make_client(args).get_compute(args.name)
    if _json_mode(args):
        _emit_json(compute)
    else:
        print(output.compute_detail(compute))
    return 0


def cmd_compute_delete(args) -> int:
    client = make_client(args)
    if not args.yes and not confirm(f"delete compute {args.name}", "Its nodes are released."):
        raise CliError(f"compute {args.name} was not deleted")
    client.delete_compute(args.name)
    if _json_mode(args):
        _emit_json({"name": args.name, "deleted": True})
    else:
        print(f"Compute {args.name} deleted")
    return 0


def confirm(action: str, consequence: str = "") -> bool:
    """Ask on the terminal (the question on stderr, so stdout stays clean); never guess without one."""
    if not sys.stdin or not sys.stdin.isatty():
        raise CliError(f"refusing to {action} without confirmation: the input is not a terminal; "
                       "pass --yes to go ahead")
    print(f"{action[0].upper()}{action[1:]}? {consequence + ' ' if consequence else ''}[y/N] ",
          end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    if not answer:  # end of input
        print(file=sys.stderr)
    return answer.strip().lower() in ("y", "yes")


def cmd_vm_size_list(args) -> int:
    sizes = make_client(args).vm_sizes()
    if args.gpu:
        sizes = [v for v in sizes if (v.get("gpus") or 0) > 0]
    if args.max_price is not None:
        sizes = [v for v in sizes if v.get("price_dedicated") is not None and v["price_dedicated"] <= args.max_price]
    if _json_mode(args):
        _emit_json(sizes)
    else:
        print(output.vm_size_table(sizes))
    return 0


def cmd_validate(args) -> int:
    from jobs.specs import validate_file

    results = [validate_file(name).to_dict() for name in args.files]  # never raises
    if _json_mode(args):
        _emit_json(results)
    else:
        for result in results:
            print("\n".join(output.validation_lines(result)))
    return 0 if all(r.get("valid") for r in results) else 1


# -- entry point ----------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except CliError as exc:
        print(exc.message if exc.plain else f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `studio job list | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
