"""``sockit serve``: static files plus /hello, /healthz, /ws/echo over HTTP/1.1, h2c, HTTPS."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from sockit._version import __version__
from sockit.cli._common import (
    Command,
)
from sockit.errors import SockitError

if TYPE_CHECKING:
    from sockit.server import HTTPServer

__all__ = ["COMMAND"]


def _serve_configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", nargs="?", default=".", help="static files root (default: .)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default: 8080; 0 picks one)")
    parser.add_argument("--unix", metavar="PATH", default=None, help="also listen on a Unix socket")
    parser.add_argument("--tls-cert", metavar="FILE", default=None,
                        help="serve HTTPS with this PEM certificate (chain)")
    parser.add_argument("--tls-key", metavar="FILE", default=None,
                        help="the PEM private key (default: the key inside --tls-cert)")
    parser.add_argument("--tls12", action="store_true",
                        help="also accept TLS 1.2 (ECDHE with AEAD suites only)")


def _serve_run(args: argparse.Namespace) -> int:
    from sockit.server import make_app, serve  # noqa: PLC0415 - keep `sockit info` light

    root = os.path.abspath(args.directory)
    if not os.path.isdir(root):
        print(f"sockit serve: {args.directory!r} is not a directory", file=sys.stderr)
        return 2

    def ready(server: HTTPServer) -> None:
        where = server.url + (f" and unix:{args.unix}" if args.unix else "")
        print(f"sockit {__version__} serving {root} on {where} (Ctrl-C to stop)", flush=True)

    if args.tls_key and not args.tls_cert:
        print("sockit serve: --tls-key needs --tls-cert", file=sys.stderr)
        return 2
    try:
        tls = None
        if args.tls_cert:
            from sockit.server import server_tls_context  # noqa: PLC0415

            tls = server_tls_context(args.tls_cert, args.tls_key, allow_tls12=args.tls12)
        serve(make_app(root), args.host, args.port, unix_path=args.unix, on_ready=ready,
              tls=tls)
    except SockitError as exc:
        print(f"sockit serve: {exc}", file=sys.stderr)
        return 1
    return 0


COMMAND = Command(
    "serve",
    "serve static files from DIRECTORY plus /hello and /healthz (HTTP/1.1 and h2c)",
    _serve_configure,
    _serve_run,
)
