"""What the commands share: building their parsers, argument types, the connection to the studio,
and how results and errors reach stdout (one JSON document with ``--output json``) and stderr.

Imported at every start, so it imports nothing heavy: the HTTP client is loaded by ``make_client``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable, Sequence

from studio.cli import output
from studio.cli.errors import CliError
from studio.cli.profile import load_profile, profile_path


# -- parsers --------------------------------------------------------------------------------

class UsageError(SystemExit):
    """argparse's refusal of the command line (exit code 2), with its message kept for JSON."""

    def __init__(self, message: str):
        super().__init__(2)
        self.message = message


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors say the same on stderr but can also be reported
    as a JSON error document (``main`` does that when ``--output json`` was asked for)."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise UsageError(message)


def add_group(commands, name: str, help: str, metavar: str, parents: Sequence[argparse.ArgumentParser]):
    """A noun (``studio quota``): its parser shows its commands when none is given; returns its sub-parsers."""
    parser = commands.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".", parents=parents)
    parser.set_defaults(handler=lambda args: show_help(parser, args, metavar))
    return parser.add_subparsers(dest=f"{name}_command", metavar=metavar)


def add_command(group, name: str, help: str, parents: Sequence[argparse.ArgumentParser],
                examples: str) -> argparse.ArgumentParser:
    """A verb of a noun (``studio quota list``), with its examples under the options."""
    return group.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".", parents=parents,
                            epilog=examples, formatter_class=argparse.RawDescriptionHelpFormatter)


def show_help(parser: argparse.ArgumentParser, args, commands: str) -> int:
    """No command given: the help on stderr (and an error document with ``--output json``)."""
    parser.print_help(sys.stderr)
    if json_mode(args):
        emit_error(CliError(f"choose a command: {parser.prog} {commands}"))
    return 2


def set_item(value: str) -> str:
    if "=" not in value or value.startswith("="):
        raise argparse.ArgumentTypeError(f"expected path=value (like inputs.epochs=20), got '{value}'")
    return value


def at_least(minimum: int) -> Callable[[str], int]:
    """An argument type: a whole number, ``minimum`` or more."""

    def whole_number(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got '{value}'") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, got {number}")
        return number

    return whole_number


positive, non_negative = at_least(1), at_least(0)


# -- stdout and stderr ----------------------------------------------------------------------

def json_mode(args) -> bool:
    return getattr(args, "output", "table") == "json"


def wants_json(argv: Sequence[str]) -> bool:
    """Whether a command line that argparse refused asked for ``--output json`` (in any spelling
    argparse accepts: ``-o json``, ``-ojson``, ``--output=json``, an abbreviation like ``--out json``)."""
    for i, item in enumerate(argv):
        option, _, value = item.partition("=") if item.startswith("--") else (item, "", "")
        if item.startswith("-o") and not item.startswith("--") and len(item) > 2:
            option, value = "-o", item[2:]
        if option == "-o" or (len(option) > 2 and "--output".startswith(option)):
            if (value or (argv[i + 1] if i + 1 < len(argv) else "")) == "json":
                return True
    return False


def emit_json(data: Any) -> None:
    sys.stdout.write(output.to_json(data) + "\n")


def show(args, data: Any, text: Callable[[Any], str]) -> int:
    """A command's result: one JSON document with ``--output json``, else ``text(data)`` for a terminal."""
    if json_mode(args):
        emit_json(data)
    else:
        print(text(data))
    return 0


def emit_error(error: CliError) -> None:
    """The one JSON document of a command that failed: ``{"error": {"message", "code", ...}}``."""
    emit_json({"error": error.to_dict()})


def note(message: str) -> None:
    print(message, file=sys.stderr)


# -- the studio -----------------------------------------------------------------------------

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
