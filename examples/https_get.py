"""Fetch an https:// URL with sockit's TLS socket and its HTTP/1.1 machine.

    python examples/https_get.py https://127.0.0.1:8443/ --cacert ca.pem
    SOCKIT_EXAMPLE_SELFTEST=1 python examples/https_get.py   # serves and fetches itself

The TLS part is :func:`sockit.net.tls.connect_tls` (TLS 1.3, the server's
certificate verified against ``--cacert`` or the system CAs, its host name
checked); the HTTP part is the sans-I/O :class:`sockit.proto.http1.Connection`.
With ``SOCKIT_EXAMPLE_SELFTEST=1`` it makes a throwaway CA with ``trustme``
(a test dependency), serves one HTTPS response from a thread with
:func:`sockit.net.tls.wrap_server`, fetches it and prints

    https ok: 200, 13 bytes, TLSv1.3, alpn=http/1.1

Exit status: 0 for a status below 400, 1 otherwise, 2 on an error.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

from sockit.errors import SockitError
from sockit.net.tcp import listen_tcp
from sockit.net.tls import connect_tls, wrap_server
from sockit.proto.events import Role
from sockit.proto.http import Headers
from sockit.proto.http1 import Connection, Data, EndOfMessage, Request, Response
from sockit.proto.tls import TLSContext

BODY = b"hello, world\n"


def https_get(url: str, cacert: str | None) -> int:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        print(f"not an https URL: {url}", file=sys.stderr)
        return 2
    host, port = parts.hostname, parts.port or 443
    ctx = TLSContext.client(cafile=cacert, alpn=["http/1.1"])
    with connect_tls(host, port, ctx, timeout=10) as tls:
        http = Connection(Role.CLIENT)
        authority = host if parts.port is None else f"{host}:{port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = Headers([("Host", authority), ("Connection", "close")])
        http.send(Request(b"GET", target.encode(), headers))
        http.send(EndOfMessage())
        tls.sendall(http.data_to_send(), timeout=10)
        status, body = 0, b""
        while True:
            chunk = tls.recv(65536, timeout=10)
            events = http.receive_data(chunk) if chunk else http.receive_eof()
            for event in events:
                if isinstance(event, Response):
                    status = event.status_code
                    print(f"HTTP/{event.http_version.decode()} {status} {event.reason.decode()}")
                elif isinstance(event, Data):
                    body += event.data
            if any(isinstance(e, EndOfMessage) for e in events) or not chunk:
                break
        print(body[:200].decode("utf-8", "replace").rstrip())
        print(f"https ok: {status}, {len(body)} bytes, {tls.version}, alpn={tls.alpn_protocol}")
    return 0 if 0 < status < 400 else 1


def serve_once(ctx: TLSContext) -> tuple[int, threading.Thread]:
    listener = listen_tcp("127.0.0.1", 0)
    port = listener.getsockname()[1]

    def run() -> None:
        with listener:
            sock = listener.accept(timeout=10)
            with wrap_server(sock, ctx, timeout=10) as tls:
                http = Connection(Role.SERVER)
                while not any(isinstance(e, EndOfMessage)
                              for e in http.receive_data(tls.recv(65536, timeout=10))):
                    pass
                head = Headers([("Content-Type", "text/plain"),
                                ("Content-Length", str(len(BODY)))])
                http.send(Response(200, head, reason=b"OK"))
                http.send(Data(BODY))
                http.send(EndOfMessage())
                tls.sendall(http.data_to_send(), timeout=10)

    thread = threading.Thread(target=run)
    thread.start()
    return port, thread


def selftest() -> int:
    import trustme  # noqa: PLC0415 - test dependency: a throwaway CA for this run only

    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    with tempfile.TemporaryDirectory() as tmp:
        cafile, pem = Path(tmp, "ca.pem"), Path(tmp, "server.pem")
        ca.cert_pem.write_to_path(str(cafile))
        leaf.private_key_and_cert_chain_pem.write_to_path(str(pem))
        port, thread = serve_once(TLSContext.server(pem, alpn=["h2", "http/1.1"]))
        try:
            return https_get(f"https://127.0.0.1:{port}/hello", str(cafile))
        finally:
            thread.join(10)


def main() -> int:
    if os.environ.get("SOCKIT_EXAMPLE_SELFTEST") == "1":
        return selftest()
    parser = argparse.ArgumentParser(description="GET an https:// URL")
    parser.add_argument("url")
    parser.add_argument("--cacert", help="CA bundle (PEM) to verify the server with")
    args = parser.parse_args()
    try:
        return https_get(args.url, args.cacert)
    except SockitError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
