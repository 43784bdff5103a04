"""``studio compute``: named compute clusters (create, list, show, delete) and ``list-sizes``."""

from __future__ import annotations

import sys

from studio.cli import output
from studio.cli.commands import vm_size
from studio.cli.common import add_command, add_group, make_client, non_negative, positive, show
from studio.cli.errors import CliError

EXAMPLES = {
    "create": """examples:
  studio compute create --name cpu-cluster --size Standard_DS3_v2
  studio compute create -n gpu-cluster --size Standard_NC4as_T4_v3 --min-instances 0 --max-instances 2 \\
      --idle-time-before-scale-down 600

Defaults: --min-instances 0, --max-instances 1, --idle-time-before-scale-down 120 (seconds).""",
    "list": "examples:\n  studio compute list\n  studio compute list --workspace ws-2 -o json",
    "show": "examples:\n  studio compute show --name cpu-cluster\n  studio compute show -n cpu-cluster -o json",
    "delete": """examples:
  studio compute delete --name cpu-cluster          # asks first
  studio compute delete --name cpu-cluster --yes    # in scripts: no question

Without --yes the CLI asks on a terminal, and refuses when its input is not a terminal.""",
}


DEFAULT_SIZE = "Standard_DS3_v2"  # what `az ml compute create --type amlcompute` makes without --size


def register(commands, parents) -> None:
    compute = add_group(commands, "compute", "create and manage named compute clusters",
                        "{create,list,show,delete,list-sizes}", parents)
    p = add_command(compute, "create", "create a compute cluster of one VM size that scales between min and max nodes",
                    parents, EXAMPLES["create"])
    p.add_argument("-n", "--name", required=True, help="the cluster's name")
    p.add_argument("--type", default="amlcompute", choices=["amlcompute"], type=str.lower,
                   help="amlcompute, a cluster that scales between min and max nodes (the only kind here)")
    p.add_argument("--size", default=DEFAULT_SIZE,
                   help=f"its VM size, like Standard_DS3_v2 (see studio vm-size list; default {DEFAULT_SIZE}, as Azure's)")
    p.add_argument("--min-instances", type=non_negative, default=0, help="nodes kept even when idle (default 0)")
    p.add_argument("--max-instances", type=positive, default=1, help="most nodes at once (default 1)")
    p.add_argument("--idle-time-before-scale-down", type=non_negative, default=120, metavar="SECONDS",
                   help="seconds a node stays idle before it is released (default 120)")
    p.add_argument("-w", "--workspace", help="the workspace (default: the profile's)")
    p.set_defaults(handler=cmd_compute_create)

    p = add_command(compute, "list", "list compute clusters", parents, EXAMPLES["list"])
    p.add_argument("-w", "--workspace", help="the workspace (default: the profile's)")
    p.set_defaults(handler=cmd_compute_list)

    p = add_command(compute, "show", "show a compute cluster, its nodes and state", parents, EXAMPLES["show"])
    p.add_argument("-n", "--name", required=True, help="the cluster's name")
    p.set_defaults(handler=cmd_compute_show)

    p = add_command(compute, "delete", "delete a compute cluster", parents, EXAMPLES["delete"])
    p.add_argument("-n", "--name", required=True, help="the cluster's name")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=cmd_compute_delete)

    vm_size.add_list(compute, "list-sizes", parents)


def cmd_compute_create(args) -> int:
    if args.min_instances > args.max_instances:
        raise CliError(f"--min-instances ({args.min_instances}) cannot be more than "
                       f"--max-instances ({args.max_instances})")
    compute = make_client(args).create_compute(
        args.name, size=args.size, min_instances=args.min_instances, max_instances=args.max_instances,
        idle_time_before_scale_down=args.idle_time_before_scale_down, workspace=args.workspace)
    return show(args, compute, lambda c: f"Compute {c.get('name', args.name)} created\n" + output.compute_detail(c))


def cmd_compute_list(args) -> int:
    return show(args, make_client(args).list_computes(workspace=args.workspace), output.compute_list_table)


def cmd_compute_show(args) -> int:
    return show(args, make_client(args).get_compute(args.name), output.compute_detail)


def cmd_compute_delete(args) -> int:
    client = make_client(args)
    if not args.yes and not confirm(f"delete compute {args.name}", "Its nodes are released."):
        raise CliError(f"compute {args.name} was not deleted")
    client.delete_compute(args.name)
    return show(args, {"name": args.name, "deleted": True}, lambda _: f"Compute {args.name} deleted")


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
