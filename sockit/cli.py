"""``python -m sockit`` and the ``sockit`` console script.

Subcommands register themselves in :data:`COMMANDS`; each gets an
``argparse`` sub-parser and a handler returning the process exit code.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
from collections.abc import Callable, Sequence
from importlib import metadata

from sockit import limits
from sockit._version import __version__

__all__ = ["COMMANDS", "Command", "build_parser", "main"]


@dataclasses.dataclass(frozen=True)
class Command:
    """A CLI subcommand: how to declare its arguments and how to run it."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _info_configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument(
        "--limits", action="store_true", help="include every default limit and timeout"
    )


def _dependency_versions() -> dict[str, str]:
    versions = {}
    for dist in ("pyOpenSSL", "service_identity", "cffi", "cryptography"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


def _info_run(args: argparse.Namespace) -> int:
    info: dict[str, object] = {
        "sockit": __version__,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "dependencies": _dependency_versions(),
    }
    if args.limits:
        info["limits"] = {name: cls().as_dict() for name, cls in limits.limit_groups().items()}
    if args.json:
        print(json.dumps(info, indent=2, sort_keys=True))
        return 0
    print(f"sockit {__version__} on {info['implementation']} {info['python']}")
    print(f"platform: {info['platform']}")
    for dist, version in _dependency_versions().items():
        print(f"  {dist}: {version}")
    if args.limits:
        for name, values in info["limits"].items():  # type: ignore[attr-defined]
            print(f"[{name}]")
            for key, value in values.items():
                print(f"  {key} = {value}")
    return 0


COMMANDS: dict[str, Command] = {
    "info": Command(
        "info",
        "show the version, dependencies and (with --limits) every default bound",
        _info_configure,
        _info_run,
    ),
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
