"""``sockit info``: version, dependencies and every default bound."""

from __future__ import annotations

import argparse
import json
import platform
from importlib import metadata
from typing import TYPE_CHECKING

from sockit import limits
from sockit._version import __version__
from sockit.cli._common import (
    Command,
)

if TYPE_CHECKING:
    pass

__all__ = ["COMMAND"]


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


COMMAND = Command(
    "info",
    "show the version, dependencies and (with --limits) every default bound",
    _info_configure,
    _info_run,
)
