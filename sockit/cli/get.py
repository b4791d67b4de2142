"""``sockit get``: a small curl over :class:`sockit.HTTPClient`."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from sockit.cli._common import (
    EXIT_CONNECT,
    EXIT_HTTP_ERROR,
    EXIT_OTHER,
    EXIT_TIMEOUT,
    EXIT_TLS,
    EXIT_TLS_CERT,
    EXIT_TOO_MANY_REDIRECTS,
    Command,
)
from sockit.errors import SockitError

if TYPE_CHECKING:
    from sockit.client import HTTPClient
    pass

__all__ = ["COMMAND"]


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
    parser.add_argument("-u", "--user", default=None, metavar="USER:PASSWORD",
                        help="credentials for the server (Basic unless --digest)")
    parser.add_argument("--digest", action="store_true", help="use Digest authentication")
    parser.add_argument("--basic", action="store_true", help="use Basic authentication (default)")
    parser.add_argument("-L", "--location", action="store_true", help="follow redirects")
    parser.add_argument("--max-redirs", type=int, default=None, metavar="N",
                        help="at most N redirects with -L (default: 10)")
    parser.add_argument("--retry", type=int, default=0, metavar="N",
                        help="retry transient failures (connect errors, 502/503/504) N times")
    parser.add_argument("--compressed", action="store_true",
                        help="ask for a compressed response and decompress it (the default)")
    parser.add_argument("--raw", action="store_true",
                        help="do not decode Content-Encoding: write the body as sent")
    parser.add_argument("-b", "--cookie", default=None, metavar="FILE|NAME=VALUE",
                        help="send cookies from a cookies.txt FILE, or 'NAME=VALUE' pairs")
    parser.add_argument("-c", "--cookie-jar", default=None, metavar="FILE",
                        help="write every cookie to FILE (cookies.txt, as curl does) at the end")


def _request_headers(raw: list[str]) -> list[tuple[str, str]]:
    headers = []
    for item in raw:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"bad header {item!r}: want 'Name: value'")
        headers.append((name.strip(), value.strip()))
    return headers


def _client(args: argparse.Namespace) -> HTTPClient:
    """The client the options describe (``ValueError`` for contradictory ones)."""
    from sockit.client import CookieJar, HTTPClient, auth_from_userinfo  # noqa: PLC0415
    from sockit.limits import ClientLimits, RetryDefaults  # noqa: PLC0415
    from sockit.net.retry import Retry  # noqa: PLC0415
    from sockit.proto.http2 import H2Config  # noqa: PLC0415

    if args.digest and args.basic:
        raise ValueError("--digest and --basic exclude each other")
    auth = None
    if args.user is not None:
        user, sep, password = args.user.partition(":")
        if not sep:
            raise ValueError("-u wants USER:PASSWORD")
        auth = auth_from_userinfo(user, password, "digest" if args.digest else "basic")
    limits = ClientLimits()
    if args.max_redirs is not None:
        limits = ClientLimits(max_redirects=args.max_redirs)
    retry = None
    if args.retry:
        retry = Retry(RetryDefaults(max_attempts=args.retry + 1))
    verify: bool | str = False if args.insecure else (args.cacert or True)
    jar = CookieJar()
    if args.cookie is not None and "=" not in args.cookie:
        jar.load_into(args.cookie, missing_ok=True)
    return HTTPClient(
        cookies=jar,
        limits=limits,
        http2_prior_knowledge=args.http2_prior_knowledge,
        http2=H2Config() if args.http2 else None,
        proxy=args.proxy,
        verify=verify,
        auth=auth,
        follow_redirects=args.location,
        retry=retry,
        decode_content=not args.raw,
    )


def _get_run(args: argparse.Namespace) -> int:
    from sockit.client import CookieJar  # noqa: PLC0415 - keep `sockit info` light

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
    if args.cookie is not None and "=" in args.cookie:
        headers.append(("Cookie", args.cookie))
    err = sys.stderr
    try:
        client = _client(args)
    except (SockitError, ValueError, OSError) as exc:
        print(f"sockit get: {exc}", file=err)
        return 2
    try:
        return _fetch(client, args, method, headers, body)
    finally:
        if args.cookie_jar and isinstance(client.cookies, CookieJar):
            try:
                client.cookies.save(args.cookie_jar, include_session=True)
            except OSError as exc:
                print(f"sockit get: cannot write the cookie jar: {exc}", file=err)


def _fetch(
    client: HTTPClient,
    args: argparse.Namespace,
    method: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
) -> int:
    from sockit.client import TooManyRedirects  # noqa: PLC0415 - keep `sockit info` light
    from sockit.errors import ConnectError, Timeout, TLSError  # noqa: PLC0415
    from sockit.proto.tls import CertificateError  # noqa: PLC0415

    err = sys.stderr
    try:
        with client, client.request(
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
    except TooManyRedirects as exc:
        print(f"sockit get: {exc}", file=err)
        return EXIT_TOO_MANY_REDIRECTS
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


COMMAND = Command(
    "get",
    "fetch a URL like a small curl: body to stdout, -i headers, --fail exit codes",
    _get_configure,
    _get_run,
)
