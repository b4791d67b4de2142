"""``python -m sockit`` and the ``sockit`` console script.

Subcommands register themselves in :data:`COMMANDS`; each gets an
``argparse`` sub-parser and a handler returning the process exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sockit._version import __version__
from sockit.cli import get, info, serve, socks, ws
from sockit.cli._common import Command

__all__ = ["COMMANDS", "Command", "build_parser", "main"]

COMMANDS: dict[str, Command] = {
    module.COMMAND.name: module.COMMAND for module in (info, serve, get, ws, socks)
}

def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per registered command."""
    parser = argparse.ArgumentParser(
        prog="sockit", description="sockit: a pure-Python, typed networking toolkit"
    )
    parser.add_argument("--version", action="version", version=f"sockit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS.values():
        command.configure(sub.add_parser(command.name, help=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (2 for usage errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return COMMANDS[args.command].run(args)
