"""``sockit socks``: a SOCKS5 (and SOCKS4/4a) proxy."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import TYPE_CHECKING

from sockit._version import __version__
from sockit.cli._common import (
    Command,
)
from sockit.errors import SockitError

if TYPE_CHECKING:
    pass

__all__ = ["COMMAND"]


def _socks_configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=1080, help="port (default: 1080; 0 picks one)")
    parser.add_argument("--user", default=None, help="require RFC 1929 auth as USER")
    parser.add_argument("--password", default=None, help="the password for --user")
    parser.add_argument("--no-udp", action="store_true", help="refuse UDP ASSOCIATE")


def _socks_run(args: argparse.Namespace) -> int:
    from sockit.server.socks import SOCKSProxyServer  # noqa: PLC0415 - keep `sockit info` light

    if (args.user is None) != (args.password is None):
        print("sockit socks: --user and --password go together", file=sys.stderr)
        return 2
    users = {args.user: args.password} if args.user is not None else None
    try:
        with SOCKSProxyServer(args.host, args.port, users=users,
                              allow_udp=not args.no_udp) as server:
            host, port = server.address
            print(f"sockit {__version__} SOCKS proxy on {host}:{port} (Ctrl-C to stop)",
                  flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                server.serve_forever()
    except SockitError as exc:
        print(f"sockit socks: {exc}", file=sys.stderr)
        return 1
    return 0


COMMAND = Command(
    "socks",
    "run a SOCKS5 (and SOCKS4/4a) proxy; --user/--password require RFC 1929 auth",
    _socks_configure,
    _socks_run,
)
