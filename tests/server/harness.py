"""Helpers for the server tests: an app with test routes, a server on a loop thread."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sockit.server import HTTPServer, Response, ServerRequest, run

TEXT = [("Content-Type", "text/plain")]


def demo_app(request: ServerRequest) -> Response | None:
    """Routes the server tests use."""
    path = request.path
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/stream":
        return Response(200, TEXT, (b"part %d\n" % i for i in range(5)))
    if path == "/empty-stream":
        return Response(200, TEXT, iter([b"", b"x", b""]))
    if path == "/fixed":
        return Response(200, TEXT, b"the same for GET and HEAD")
    if path == "/nocontent":
        return Response(204)
    if path == "/echo":
        return Response(200, TEXT, request.body)
    if path == "/info":
        info = (
            f"{request.method} {request.path} q={request.query} v={request.http_version} "
            f"len={len(request.body)} client={request.client!r}"
        )
        return Response(200, TEXT, info.encode())
    body = f"{request.method} {request.target}".encode()
    return Response(200, [*TEXT, ("X-Path", request.target)], body)


@contextmanager
def running(
    app: Callable[[ServerRequest], Response | None] = demo_app,
    *,
    workers: int = 0,
    **server_args: Any,
) -> Iterator[HTTPServer]:
    """``HTTPServer(**server_args)`` serving ``app`` on a background thread."""
    server_args.setdefault("host", "127.0.0.1")
    server = HTTPServer(**server_args)
    thread = threading.Thread(target=run, args=(server, app), kwargs={"workers": workers})
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(10)
        assert not thread.is_alive()
        server.close()


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))
