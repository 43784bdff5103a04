"""``studio usage``: what each compute uses and costs, Serverless beside the named clusters."""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta, timezone

from studio.cli import output
from studio.cli.common import add_command, add_group, make_client, show

EXAMPLES = {
    "list": """examples:
  studio usage list
  studio usage list --since 7d
  studio usage list --workspace ws-2 --since 2026-11-01 -o json

--since takes a date (local midnight), a date and time, or an age like 30m, 24h, 7d or 2w.
Serverless is listed as one compute beside the named clusters.""",
}

_AGE_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def since(value: str, now: datetime | None = None) -> str:
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


def register(commands, parents) -> None:
    usage = add_group(commands, "usage", "see what each compute uses and costs", "{list}", parents)
    p = add_command(usage, "list", "list vCPUs, nodes, jobs and cost per compute, Serverless included", parents,
                    EXAMPLES["list"])
    p.add_argument("-w", "--workspace", help="the workspace (default: the profile's)")
    p.add_argument("--since", type=since, metavar="WHEN",
                   help="count vCPU-hours and cost from then: 2026-11-01, 2026-11-01T08:00, 24h, 7d")
    p.set_defaults(handler=cmd_usage_list)


def cmd_usage_list(args) -> int:
    return show(args, make_client(args).usage(workspace=args.workspace, since=args.since), output.usage_table)
