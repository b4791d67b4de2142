"""Fetch a URL with sockit's HTTP client and report what came back.

    python examples/fetch.py http://127.0.0.1:8080/path
    SOCKIT_EXAMPLE_SELFTEST=1 python examples/fetch.py   # serves and fetches itself

With ``SOCKIT_EXAMPLE_SELFTEST=1`` the example starts a standard-library
HTTP server on a free loopback port in a thread and fetches from it (twice,
to show the pooled connection being reused). It prints the head and a line

    fetch ok: 200, 13 bytes

and exits with status 0 when the status is below 400 (1 otherwise, 2 on an
error such as a refused connection or a timeout).
"""

from __future__ import annotations

import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sockit import HTTPClient, SockitError
from sockit.client import Timeouts

BODY = b"hello, world\n"


class Hello(BaseHTTPRequestHandler):
    """Answers every GET with ``hello, world``, keeping the connection alive."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


def fetch(client: HTTPClient, url: str) -> int:
    response = client.get(url, timeout=Timeouts(connect=5, read=10, total=30))
    print(f"{response.http_version} {response.status_code} {response.reason}")
    for name, value in response.headers:
        print(f"{name}: {value}")
    print()
    print(response.text[:200].rstrip())
    print(f"fetch ok: {response.status_code}, {len(response.content)} bytes")
    return 0 if response.status_code < 400 else 1


def main() -> int:
    if os.environ.get("SOCKIT_EXAMPLE_SELFTEST") == "1":
        server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/hello"
            with HTTPClient() as client:
                status = fetch(client, url)
                status |= fetch(client, url)
                stats = client.pool_stats()
                print(f"pooled connections: {stats.connections} ({stats.idle} idle)")
            return status
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    try:
        with HTTPClient() as client:
            return fetch(client, sys.argv[1])
    except SockitError as exc:
        print(f"fetch failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
