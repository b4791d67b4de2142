"""``python -m sockit`` and the ``sockit`` console script.

Subcommands register themselves in :data:`COMMANDS`; each gets an
``argparse`` sub-parser and a handler returning the process exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import TYPE_CHECKING

from sockit import limits
from sockit._version import __version__
from sockit.errors import SockitError

if TYPE_CHECKING:
    from sockit.server import HTTPServer

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


def _get_configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="http:// or https:// URL to fetch")
    parser.add_argument("-X", "--request", dest="method", default=None, help="method (GET)")
    parser.add_argument(
        "-H", "--header", dest="headers", action="append", default=[], metavar="'K: V'",
        help="extra request header (repeatable)",
    )
    parser.add_argument(
        "-d", "--data", default=None, help="request body; @FILE reads it from FILE (POST)"
    )
    parser.add_argument("-o", "--output", default=None, metavar="FILE", help="write body to FILE")
    parser.add_argument("--cacert", metavar="FILE", default=None,
                        help="trust the CA certificates in FILE for https:// (not the system's)")
    parser.add_argument("-k", "--insecure", action="store_true",
                        help="do not verify the server's certificate (like curl -k)")
    parser.add_argument("--http2", action="store_true",
                        help="offer HTTP/2 by ALPN to https:// servers")
    parser.add_argument(
        "-x", "--proxy", default=None, metavar="URL",
        help="tunnel through a proxy: socks4/socks4a/socks5/socks5h/http:// URL "
        "(default: the *_PROXY environment variables)",
    )
    parser.add_argument("-i", "--include", action="store_true", help="print response headers")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the exchange on stderr")
    parser.add_argument("--fail", action="store_true", help="exit 22 on HTTP status >= 400")
    parser.add_argument("--timeout", type=float, default=None, help="whole-request timeout (s)")
    parser.add_argument(
        "--http2-prior-knowledge", action="store_true",
        help="speak HTTP/2 from the first byte (cleartext, no Upgrade)",
    )


#: curl's exit codes, so scripts can treat ``sockit get`` like ``curl``
EXIT_CONNECT, EXIT_HTTP_ERROR, EXIT_TIMEOUT, EXIT_OTHER = 7, 22, 28, 1
#: curl's codes: 35 for a failed TLS handshake, 60 for a certificate that did not verify
EXIT_TLS, EXIT_TLS_CERT = 35, 60


def _request_headers(raw: list[str]) -> list[tuple[str, str]]:
    headers = []
    for item in raw:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"bad header {item!r}: want 'Name: value'")
        headers.append((name.strip(), value.strip()))
    return headers


def _get_run(args: argparse.Namespace) -> int:
    from sockit.client import HTTPClient  # noqa: PLC0415 - keep `sockit info` light
    from sockit.errors import ConnectError, Timeout, TLSError  # noqa: PLC0415
    from sockit.proto.http2 import H2Config  # noqa: PLC0415
    from sockit.proto.tls import CertificateError  # noqa: PLC0415

    try:
        headers = _request_headers(args.headers)
        body: bytes | None = None
        if args.data is not None:
            if args.data.startswith("@"):
                with open(args.data[1:], "rb") as fh:
                    body = fh.read()
            else:
                body = args.data.encode()
    except (ValueError, OSError) as exc:
        print(f"sockit get: {exc}", file=sys.stderr)
        return 2
    method = args.method or ("POST" if body is not None else "GET")
    err = sys.stderr
    try:
        verify: bool | str = False if args.insecure else (args.cacert or True)
        with HTTPClient(
            http2_prior_knowledge=args.http2_prior_knowledge, proxy=args.proxy, verify=verify,
            http2=H2Config() if args.http2 else None,
        ) as client, client.request(
            method, args.url, headers=headers, body=body, timeout=args.timeout, stream=True
        ) as response:
            head = f"{response.http_version} {response.status_code} {response.reason}"
            if args.verbose:
                print(f"> {method} {args.url}", file=err)
                print(f"< {head}", file=err)
                for name, value in response.headers.items():
                    print(f"< {name}: {value}", file=err)
            out = open(args.output, "wb") if args.output else sys.stdout.buffer  # noqa: SIM115
            try:
                if args.include:
                    lines = [head, *(f"{n}: {v}" for n, v in response.headers.items()), "", ""]
                    out.write("\r\n".join(lines).encode("latin-1"))
                for chunk in response.iter_bytes():
                    out.write(chunk)
                out.flush()
            finally:
                if args.output:
                    out.close()
            if args.fail and response.status_code >= 400:
                print(f"sockit get: HTTP {response.status_code}", file=err)
                return EXIT_HTTP_ERROR
    except ConnectError as exc:
        print(f"sockit get: cannot connect: {exc}", file=err)
        return EXIT_CONNECT
    except TLSError as exc:
        print(f"sockit get: TLS: {exc}", file=err)
        return EXIT_TLS_CERT if isinstance(exc, CertificateError) else EXIT_TLS
    except Timeout as exc:
        print(f"sockit get: timed out ({exc.phase.value}): {exc}", file=err)
        return EXIT_TIMEOUT
    except (SockitError, OSError) as exc:
        print(f"sockit get: {exc}", file=err)
        return EXIT_OTHER
    return 0


def _ws_configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="ws:// or wss:// URL to connect to")
    parser.add_argument("--subprotocol", action="append", default=[], help="offer (repeatable)")
    parser.add_argument("--no-compression", action="store_true", help="offer no permessage-deflate")
    parser.add_argument("--timeout", type=float, default=10.0, help="handshake timeout (s)")
    parser.add_argument("-1", "--one", action="store_true",
                        help="after stdin ends, wait for one reply per line sent, then close")
    parser.add_argument("--cacert", metavar="FILE", default=None,
                        help="trust the CA certificates in FILE for wss:// (not the system's)")
    parser.add_argument("-k", "--insecure", action="store_true",
                        help="do not verify the server's certificate")


def _ws_run(args: argparse.Namespace) -> int:
    import threading  # noqa: PLC0415 - keep `sockit info` light

    from sockit.client import websocket_connect  # noqa: PLC0415
    from sockit.errors import ConnectError, Timeout  # noqa: PLC0415

    err = sys.stderr
    try:
        verify: bool | str = False if args.insecure else (args.cacert or True)
        ws = websocket_connect(args.url, subprotocols=args.subprotocol,
                               compression=not args.no_compression, timeout=args.timeout,
                               verify=verify)
    except ConnectError as exc:
        print(f"sockit ws: cannot connect: {exc}", file=err)
        return EXIT_CONNECT
    except Timeout as exc:
        print(f"sockit ws: timed out ({exc.phase.value}): {exc}", file=err)
        return EXIT_TIMEOUT
    except (SockitError, OSError) as exc:
        print(f"sockit ws: {exc}", file=err)
        return EXIT_OTHER
    ws.timeout = None
    received = threading.Semaphore(0)
    out = sys.stdout

    def printer() -> None:
        for message in ws:
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            out.write(text + "\n")
            out.flush()
            received.release()

    reader = threading.Thread(target=printer, name="sockit-ws-reader", daemon=True)
    reader.start()
    sent = 0
    try:
        for line in sys.stdin:
            ws.send(line.rstrip("\n"))
            sent += 1
        if args.one:
            for _ in range(sent):
                if not received.acquire(timeout=args.timeout):
                    print("sockit ws: no reply in time", file=err)
                    return EXIT_TIMEOUT
    except (SockitError, OSError) as exc:
        print(f"sockit ws: {exc}", file=err)
        return EXIT_OTHER
    finally:
        ws.close()
        reader.join(args.timeout)
    return 0


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


COMMANDS: dict[str, Command] = {
    "info": Command(
        "info",
        "show the version, dependencies and (with --limits) every default bound",
        _info_configure,
        _info_run,
    ),
    "serve": Command(
        "serve",
        "serve static files from DIRECTORY plus /hello and /healthz (HTTP/1.1 and h2c)",
        _serve_configure,
        _serve_run,
    ),
    "get": Command(
        "get",
        "fetch a URL like a small curl: body to stdout, -i headers, --fail exit codes",
        _get_configure,
        _get_run,
    ),
    "ws": Command(
        "ws",
        "talk to a WebSocket: stdin lines go out as messages, messages come to stdout",
        _ws_configure,
        _ws_run,
    ),
    "socks": Command(
        "socks",
        "run a SOCKS5 (and SOCKS4/4a) proxy; --user/--password require RFC 1929 auth",
        _socks_configure,
        _socks_run,
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
