"""Fetch over HTTP/2: many threads, one connection, concurrent streams.

    python examples/h2_client.py http://127.0.0.1:8080/hello   # an h2c server
    SOCKIT_EXAMPLE_SELFTEST=1 python examples/h2_client.py      # serves itself

``HTTPClient(http2_prior_knowledge=True)`` speaks HTTP/2 to ``http://``
origins from the first byte. The client is shared by eight threads; their
requests travel as streams of one connection to the origin. With
``SOCKIT_EXAMPLE_SELFTEST=1`` the example starts sockit's own server (which
accepts HTTP/2 on the same port as HTTP/1.1) and prints

    h2 ok: 40 responses over 1 connection(s), HTTP/2

exiting 0 when every response was a 200.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from sockit import HTTPClient, SockitError
from sockit.server import HTTPServer, Response, ServerRequest, run


def app(request: ServerRequest) -> Response:
    """Say which stream-carried request this was."""
    text = f"{request.method} {request.path} over HTTP/{request.http_version}\n"
    return Response(200, [("Content-Type", "text/plain")], text.encode())


def fetch_many(url: str, count: int = 40) -> int:
    with HTTPClient(http2_prior_knowledge=True) as client:
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(lambda i: client.get(f"{url}?n={i}", timeout=30),
                                      range(count)))
        versions = {r.http_version for r in responses}
        ok = all(r.status_code == 200 for r in responses)
        print(responses[0].text.rstrip())
        print(f"h2 ok: {len(responses)} responses over {client.http2_connections} connection(s), "
              f"{', '.join(sorted(versions))}")
        return 0 if ok else 1


def main() -> int:
    if os.environ.get("SOCKIT_EXAMPLE_SELFTEST") == "1":
        server = HTTPServer("127.0.0.1", 0)
        thread = threading.Thread(target=run, args=(server, app))
        thread.start()
        try:
            return fetch_many(f"{server.url}/hello")
        finally:
            server.stop()
            thread.join(10)
            server.close()
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    try:
        return fetch_many(sys.argv[1])
    except SockitError as exc:
        print(f"h2 fetch failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
