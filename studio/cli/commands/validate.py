"""``studio validate``: check Azure ML job, component and asset files offline."""

from __future__ import annotations

from studio.cli import output
from studio.cli.common import add_command, show

EXAMPLES = """examples:
  studio validate --file job.yml
  studio validate -f a.yml -f b.yml --output json

Offline: no studio needed. Exits 0 if every file is valid, 1 otherwise."""


def register(commands, parents) -> None:
    p = add_command(commands, "validate", "check job files offline", parents, EXAMPLES)
    p.add_argument("-f", "--file", dest="files", action="append", required=True, metavar="FILE",
                   help="a YAML file to check (repeatable)")
    p.set_defaults(handler=cmd_validate)


def cmd_validate(args) -> int:
    from jobs.specs import validate_file

    results = [validate_file(name).to_dict() for name in args.files]  # never raises
    show(args, results, lambda _: "\n".join(line for r in results for line in output.validation_lines(r)))
    return 0 if all(r.get("valid") for r in results) else 1
