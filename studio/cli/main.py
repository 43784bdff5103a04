"""``studio``: submit and follow Azure ML CLI v2 jobs on a Serverless Studio, like ``az ml job``.

A thin client of the REST API; no Django here, so it starts fast and runs on a laptop.
This module builds the top-level parser and dispatches; each noun's commands live in
``studio.cli.commands.<noun>`` and what they share in ``studio.cli.common``. ``jobs.specs``
(pure Python) is imported only by the commands that read job files.
"""

from __future__ import annotations

import argparse
import os
import sys

from studio.cli.commands import compute, job, quota, usage, validate, vm_size
from studio.cli.common import Parser, UsageError, emit_error, json_mode, show_help, wants_json
from studio.cli.errors import CliError

COMMANDS = "{job,validate,quota,usage,compute,vm-size}"
EXAMPLES = """examples:
  studio job create --file job.yml --stream
  studio job list --status Running
  studio validate --file job.yml
  studio job show --name happy_cat_1 --output json
  studio quota list
  studio usage list --since 7d
  studio compute create --name cpu-cluster --size Standard_DS3_v2 --max-instances 4

configuration: --url/STUDIO_URL and --token/STUDIO_TOKEN, else the profile saved by
`manage.py studio_setup` ($STUDIO_CONFIG or ~/.config/serverless-studio/profile.json)."""


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


def build_parser() -> argparse.ArgumentParser:
    # Shared options are accepted before or after the command; SUPPRESS keeps a later
    # (sub-command) parser from overwriting a value given earlier with its default.
    fmt = argparse.ArgumentParser(add_help=False)
    fmt.add_argument("-o", "--output", choices=("table", "json"), default=argparse.SUPPRESS,
                     help="table (default) or json: exactly one JSON document on stdout")
    conn = argparse.ArgumentParser(add_help=False)
    conn.add_argument("--url", default=argparse.SUPPRESS, help="the studio's address (or STUDIO_URL)")
    conn.add_argument("--token", default=argparse.SUPPRESS, help="your API token (or STUDIO_TOKEN)")
    both = [fmt, conn]

    parser = Parser(
        prog="studio", parents=both, epilog=EXAMPLES,
        description="Run Azure ML CLI v2 jobs on a Serverless Studio.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", metavar=COMMANDS)
    job.register(commands, both)
    validate.register(commands, [fmt])
    quota.register(commands, both)
    usage.register(commands, both)
    compute.register(commands, both)
    vm_size.register(commands, both)
    parser.set_defaults(handler=lambda args: show_help(parser, args, COMMANDS))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:  # argparse has said why on stderr; a script asked for JSON gets it too
        if wants_json(sys.argv[1:] if argv is None else argv):
            emit_error(CliError(exc.message, exit_code=2))
        raise
    try:
        return args.handler(args)
    except CliError as exc:
        print(exc.message if exc.plain else f"error: {exc.message}", file=sys.stderr)
        if json_mode(args):
            emit_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        if json_mode(args):
            emit_error(CliError("interrupted"))
        return 130
    except BrokenPipeError:  # e.g. `studio job list | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
