"""``sockit serve``: static files plus /hello, /healthz, /ws/echo over HTTP/1.1, h2c, HTTPS.

Operations flags: ``--workers N`` (pre-forked processes on one port),
``--static PREFIX=DIR`` (more mounts), ``--max-connections``, ``--access-log``,
``--metrics`` (``/metrics``), ``--grace`` (drain time on SIGTERM). See
``docs/operations.md``.
"""

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
from sockit.limits import ServerLimits

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
    parser.add_argument("--workers", type=int, default=0, metavar="N",
                        help="fork N server processes sharing the port (SO_REUSEPORT); "
                             "a supervisor restarts dead ones (default: 0, one process)")
    parser.add_argument("--static", action="append", default=[], metavar="PREFIX=DIR",
                        help="also serve DIR under the URL prefix PREFIX (repeatable)")
    parser.add_argument("--max-connections", type=int, default=None, metavar="N",
                        help="most open client connections per process (default: 1000)")
    parser.add_argument("--access-log", metavar="FILE", default=None,
                        help="write an access log line per request to FILE ('-': stdout); "
                             "SIGHUP reopens it")
    parser.add_argument("--metrics", action="store_true",
                        help="serve the metrics registry as Prometheus text at /metrics")
    parser.add_argument("--grace", type=float, default=5.0, metavar="SECONDS",
                        help="on SIGTERM/SIGINT, let work in flight finish this long (default: 5)")
    parser.add_argument("--drain-notice", type=float, default=0.0, metavar="SECONDS",
                        help="before that, keep accepting this long with /healthz at 503 "
                             "(for load balancers; default: 0)")


def _mounts(specs: list[str]) -> dict[str, str]:
    """``PREFIX=DIR`` arguments as ``{prefix: absolute dir}`` (ValueError when malformed)."""
    out: dict[str, str] = {}
    for spec in specs:
        prefix, sep, directory = spec.partition("=")
        if not sep or not prefix.startswith("/") or not directory:
            raise ValueError(f"--static wants PREFIX=DIR with PREFIX starting with '/': {spec!r}")
        if not os.path.isdir(directory):
            raise ValueError(f"--static {spec!r}: {directory!r} is not a directory")
        out[prefix] = os.path.abspath(directory)
    return out


def _limits(max_connections: int | None) -> ServerLimits | None:
    if max_connections is None:
        return None
    base = ServerLimits()
    per_client = min(base.max_connections_per_client, max_connections)
    return base.replace(max_connections=max_connections, max_connections_per_client=per_client)


def _serve_run(args: argparse.Namespace) -> int:
    from sockit.server import make_app, serve  # noqa: PLC0415 - keep `sockit info` light
    from sockit.server.ops import access_log, open_access_log  # noqa: PLC0415
    from sockit.server.static import Mounts, StaticFiles  # noqa: PLC0415

    root = os.path.abspath(args.directory)
    if not os.path.isdir(root):
        print(f"sockit serve: {args.directory!r} is not a directory", file=sys.stderr)
        return 2
    if args.workers < 0 or args.grace < 0 or args.drain_notice < 0:
        print("sockit serve: --workers, --grace, --drain-notice cannot be negative",
              file=sys.stderr)
        return 2
    if args.workers and args.unix:
        print("sockit serve: --unix cannot be shared by --workers yet", file=sys.stderr)
        return 2
    try:
        mounts = _mounts(args.static)
        limits = _limits(args.max_connections)
    except (ValueError, SockitError) as exc:
        print(f"sockit serve: {exc}", file=sys.stderr)
        return 2
    fallback = None
    if mounts:
        table = {prefix: StaticFiles(directory) for prefix, directory in mounts.items()}
        table.setdefault("/", StaticFiles(root))
        fallback = Mounts(table)
    app = make_app(root, metrics=args.metrics, fallback=fallback)
    if args.access_log:
        try:
            app = access_log(app, open_access_log(args.access_log))
        except OSError as exc:
            print(f"sockit serve: --access-log: {exc}", file=sys.stderr)
            return 2

    def ready(server: HTTPServer) -> None:
        where = server.url + (f" and unix:{args.unix}" if args.unix else "")
        who = f" (pid {os.getpid()})" if args.workers else ""
        # one write per line: worker processes share the stdout pipe
        sys.stdout.write(f"sockit {__version__} serving {root} on {where}{who} (Ctrl-C to stop)\n")
        sys.stdout.flush()

    if args.tls_key and not args.tls_cert:
        print("sockit serve: --tls-key needs --tls-cert", file=sys.stderr)
        return 2
    try:
        tls = None
        if args.tls_cert:
            from sockit.server import server_tls_context  # noqa: PLC0415

            tls = server_tls_context(args.tls_cert, args.tls_key, allow_tls12=args.tls12)
        return serve(app, args.host, args.port, unix_path=args.unix, on_ready=ready, tls=tls,
                     limits=limits, grace=args.grace, processes=args.workers,
                     drain_notice=args.drain_notice)
    except SockitError as exc:
        print(f"sockit serve: {exc}", file=sys.stderr)
        return 1


COMMAND = Command(
    "serve",
    "serve static files from DIRECTORY plus /hello and /healthz (HTTP/1.1 and h2c)",
    _serve_configure,
    _serve_run,
)
