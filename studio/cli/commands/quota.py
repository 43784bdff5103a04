"""``studio quota``: list vCPU quotas per VM family and the Spot pool; admins set them."""

from __future__ import annotations

import argparse

from studio.cli import output
from studio.cli.common import add_command, add_group, emit_json, json_mode, make_client, non_negative, note
from studio.cli.errors import CliError
from studio.humanize import plural

EXAMPLES = {
    "list": """examples:
  studio quota list
  studio quota list --workspace ws-2 --all
  studio quota list -o json

FREE is what the workspace can still start: the subscription's free vCPUs, capped by what is
left of the workspace's own cap. QUEUED is what waiting jobs need (and how many jobs wait).
Spot jobs of every family share the Spot pool.""",
    "set": """examples:
  studio quota set --family standardDSv2Family --limit 24                  # the subscription's limit
  studio quota set --family standardNCASv3_T4Family --limit 8 --workspace ws-2   # a workspace's cap
  studio quota set --spot --limit 16                                       # the shared Spot pool

Limits are in vCPUs; 0 allows nothing. A workspace cap cannot raise the subscription's limit.
`studio quota list --all` shows every family's id.""",
}


def vcpu_limit(value: str) -> int:
    try:
        return non_negative(value)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (a number of vCPUs; 0 allows nothing)") from None


def register(commands, parents) -> None:
    quota = add_group(commands, "quota", "see and set vCPU quotas per VM family (setting: admins only)",
                      "{list,set}", parents)
    p = add_command(quota, "list", "list vCPU quotas and their use per VM family, and the Spot pool", parents,
                    EXAMPLES["list"])
    p.add_argument("-w", "--workspace", help="the workspace (default: the profile's)")
    p.add_argument("--all", dest="everything", action="store_true",
                   help="also families with no quota and no use")
    p.set_defaults(handler=cmd_quota_list)

    p = add_command(quota, "set", "set a family's vCPU limit (subscription, or a workspace's cap) or the Spot pool's",
                    parents, EXAMPLES["set"])
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--family", help="the quota family's id, like standardDSv2Family (see quota list --all)")
    which.add_argument("--spot", action="store_true", help="the Spot pool shared by every family")
    p.add_argument("--limit", required=True, type=vcpu_limit, help="the limit in vCPUs (0 or more)")
    p.add_argument("-w", "--workspace",
                   help="cap this workspace instead of setting the subscription's limit (not with --spot)")
    p.set_defaults(handler=cmd_quota_set)


def cmd_quota_list(args) -> int:
    quotas = make_client(args).quotas(workspace=args.workspace)
    if json_mode(args):
        emit_json(quotas)
        return 0
    rows = output.quota_rows(quotas, everything=args.everything)
    print(output.quota_table(quotas, rows))
    hidden = len(quotas.get("families") or []) - (len(rows) - 1)
    if hidden:
        note(f"{plural(hidden, 'family', 'families')} with no quota and no use not shown; --all shows them")
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
    if json_mode(args):
        emit_json(quotas)
        return 0
    if family is None:
        rows = [output.spot_row(quotas)]
    else:
        rows = [r for r in quotas.get("families") or [] if r.get("family") == family]
        if not rows:  # the server calls it something else: show everything rather than nothing
            rows = output.quota_rows(quotas, everything=True)
    print(output.quota_table(quotas, rows))
    return 0
