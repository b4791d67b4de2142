"""A hello-world HTTP server with sockit.server.

Run: ``python examples/hello_server.py --port 8080`` and try
``curl http://127.0.0.1:8080/`` or ``curl -d 'sockit' http://127.0.0.1:8080/echo``.
Ctrl-C (SIGINT) or SIGTERM stop it: ``serve()`` watches them as reactor events.

The application is a plain function from a request to a response; the
server reads and bounds the whole request before calling it, and a handler
that raises gets a 500 while the server keeps serving.

``SOCKIT_EXAMPLE_SELFTEST=1`` (the test suite) starts the server on a free
port in a thread, makes a few requests with ``http.client`` over one
keep-alive connection, checks the answers and exits.
"""

from __future__ import annotations

import argparse
import http.client
import os
import threading

from sockit.server import HTTPServer, Response, ServerRequest, serve

TEXT = [("Content-Type", "text/plain; charset=utf-8")]


def app(request: ServerRequest) -> Response:
    """Say hello, echo a body back, or say what is not here."""
    if request.path == "/":
        return Response(200, TEXT, b"hello world\n")
    if request.path == "/echo" and request.method == "POST":
        return Response(200, TEXT, request.body)
    if request.path == "/stream":
        return Response(200, TEXT, (f"line {i}\n".encode() for i in range(3)))
    return Response(404, TEXT, b"not found\n")


def self_test() -> None:
    ready = threading.Event()
    holder: list[HTTPServer] = []

    def on_ready(server: HTTPServer) -> None:
        holder.append(server)
        ready.set()

    thread = threading.Thread(
        target=serve, args=(app, "127.0.0.1", 0), kwargs={"on_ready": on_ready, "grace": 1.0}
    )
    thread.start()
    if not ready.wait(10):
        raise SystemExit("server did not start")
    server = holder[0]
    checks: list[bool] = []
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/")
        resp = conn.getresponse()
        checks.append(resp.status == 200 and resp.read() == b"hello world\n")
        conn.request("POST", "/echo", body=b"sockit")
        resp = conn.getresponse()
        checks.append(resp.status == 200 and resp.read() == b"sockit")
        conn.request("GET", "/stream")
        resp = conn.getresponse()
        checks.append(resp.read() == b"line 0\nline 1\nline 2\n")
        conn.close()
    finally:
        server.stop()
        thread.join(10)
    ok = len(checks) == 3 and all(checks)
    print(f"hello server {'ok' if ok else 'FAILED'}: {len(checks)} requests")
    if not ok:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description="sockit hello-world HTTP server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()

    def announce(server: HTTPServer) -> None:
        print(f"serving on {server.url}", flush=True)

    serve(app, args.host, args.port, on_ready=announce)


if __name__ == "__main__":
    if os.environ.get("SOCKIT_EXAMPLE_SELFTEST") == "1":
        self_test()
    else:
        main()
