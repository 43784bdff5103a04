"""``studio vm-size``: the VM catalogue with prices, and how many instances of each size fit."""

from __future__ import annotations

import argparse

from studio.cli import output
from studio.cli.common import add_command, add_group, make_client, show

EXAMPLES = {
    "list": """examples:
  studio vm-size list
  studio vm-size list --gpu
  studio vm-size list --max-price 0.5 -o json

PRICE and SPOT are USD per node-hour (dedicated and Spot). INSTANCES FIT is how many nodes of the
size your workspace's free quota holds now (0: it does not fit); QUOTA FREE (VCPUS) is the vCPUs of
the size's family it can still start. The same list: studio compute list-sizes.""",
}


def price(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a price in USD per hour, like 0.5, got '{value}'") from None
    if not number >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return number


def register(commands, parents) -> None:
    add_list(add_group(commands, "vm-size", "the VM sizes of the catalogue", "{list}", parents), "list", parents)


def add_list(group, name: str, parents) -> None:
    """``vm-size list``, also offered as ``compute list-sizes`` (as ``az ml compute list-sizes``)."""
    p = add_command(group, name, "list VM sizes with their prices and free quota", parents, EXAMPLES["list"])
    p.add_argument("--gpu", action="store_true", help="only sizes with GPUs")
    p.add_argument("--max-price", type=price, metavar="USD",
                   help="only sizes costing at most this per hour (dedicated)")
    p.set_defaults(handler=cmd_vm_size_list)


def cmd_vm_size_list(args) -> int:
    sizes = make_client(args).vm_sizes()
    if args.gpu:
        sizes = [v for v in sizes if (v.get("gpus") or 0) > 0]
    if args.max_price is not None:
        sizes = [v for v in sizes if v.get("price_dedicated") is not None and v["price_dedicated"] <= args.max_price]
    return show(args, sizes, output.vm_size_table)
