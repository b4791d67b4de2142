"""``serve(app)``: the application layer over the callback-free :class:`HTTPServer`.

An *app* is any callable ``app(request) -> Response | None``. ``None`` means
the app answered with ``request.respond(...)`` itself. :func:`serve` builds a
server and runs :func:`run`; :func:`run` drives an existing one::

    def app(request: ServerRequest) -> Response:
        return Response(200, [("Content-Type", "text/plain")], b"hi\\n")

    serve(app, "127.0.0.1", 8080)          # Ctrl-C / SIGTERM stop it

A handler that raises gets a ``500`` answer and a log record on the
``sockit.server`` logger; the server keeps serving. With ``workers=N`` the
app runs on a thread pool and answers travel back to the loop thread
(``respond`` is thread-safe); without, it runs on the loop thread and
must not block.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TypeAlias

from sockit.errors import SockitError
from sockit.limits import ServerLimits, WSLimits
from sockit.observe import get_logger
from sockit.proto.http1 import HTTP1Config
from sockit.proto.http2 import H2Config
from sockit.proto.tls import TLSContext
from sockit.server.core import HTTPServer
from sockit.server.request import Response, ServerRequest
from sockit.server.static import StaticFiles

__all__ = ["App", "Routes", "handle", "make_app", "run", "serve", "text_response", "ws_echo"]

log = get_logger("server")

#: An application: answers a request, or returns ``None`` after calling ``respond`` itself.
App: TypeAlias = Callable[[ServerRequest], "Response | None"]

_PLAIN = "text/plain; charset=utf-8"


def text_response(text: str, status: int = 200) -> Response:
    """A ``text/plain; charset=utf-8`` answer."""
    return Response(status, [("Content-Type", _PLAIN)], text.encode())


def handle(app: App, request: ServerRequest) -> None:
    """Run ``app`` for ``request`` and answer it; a failure becomes a 500 and a log record."""
    server_metrics = request._conn.server.metrics
    try:
        result = app(request)
    except Exception:
        server_metrics.handler_errors.inc()
        log.exception("handler failed for %s %s", request.method, request.target)
        if not request.responded:
            request.respond_response(text_response("500 Internal Server Error\n", 500))
        return
    if result is None:
        if not request.responded:
            server_metrics.handler_errors.inc()
            log.error("handler returned no response for %s %s", request.method, request.target)
            request.respond_response(text_response("500 Internal Server Error\n", 500))
        return
    if request.responded:
        log.error("handler answered %s %s twice", request.method, request.target)
        return
    try:
        request.respond_response(result)
    except Exception as exc:  # a header the writer refused, a str body...: connection closed
        server_metrics.handler_errors.inc()
        log.error("bad response for %s %s: %s", request.method, request.target, exc)


def run(server: HTTPServer, app: App, *, workers: int = 0) -> None:
    """Serve requests from ``server`` with ``app`` until the server is stopped."""
    if workers <= 0:
        for request in server:
            handle(app, request)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="sockit-server") as pool:
        try:
            for request in server:
                pool.submit(handle, app, request)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def serve(
    app: App,
    host: str | None = "127.0.0.1",
    port: int = 8000,
    *,
    unix_path: str | None = None,
    limits: ServerLimits | None = None,
    http1: HTTP1Config | None = None,
    http2: H2Config | bool = True,
    workers: int = 0,
    grace: float = 5.0,
    handle_signals: bool | None = None,
    on_ready: Callable[[HTTPServer], None] | None = None,
    tls: TLSContext | None = None,
) -> None:
    """Listen, serve ``app`` until stopped, then close with ``grace`` seconds to finish.

    ``tls`` (see :func:`~sockit.server.server_tls_context`) serves HTTPS.

    SIGINT and SIGTERM stop the server when ``handle_signals`` is true (the
    default on the main thread). ``on_ready(server)`` runs once listening
    (to learn the port, or keep the server to :meth:`~HTTPServer.stop` it
    from another thread).
    """
    server = HTTPServer(
        host, port, unix_path=unix_path, limits=limits, http1=http1, http2=http2, tls=tls
    )
    try:
        if handle_signals is None:
            handle_signals = threading.current_thread() is threading.main_thread()
        if handle_signals:
            server.watch_signals()
        if on_ready is not None:
            on_ready(server)
        run(server, app, workers=workers)
    finally:
        server.close(grace=grace)


class Routes:
    """Exact-path dispatch: ``Routes({"/hello": hello}, fallback=StaticFiles(root))``.

    Paths are compared with :attr:`ServerRequest.path`; unmatched paths go to
    ``fallback``, or get a ``404``.
    """

    def __init__(self, routes: Mapping[str, App], fallback: App | None = None) -> None:
        self.routes = dict(routes)
        self.fallback = fallback

    def __call__(self, request: ServerRequest) -> Response | None:
        """Dispatch ``request`` to its route."""
        handler = self.routes.get(request.path)
        if handler is None:
            if self.fallback is None:
                return text_response("404 Not Found\n", 404)
            handler = self.fallback
        return handler(request)


def _hello(request: ServerRequest) -> Response:
    return Response(200, [("Content-Type", _PLAIN)], b"hello world\n")


#: The echo route's bounds: the defaults, but a message may come in up to 65,536
#: fragments (the Autobahn cases 9.3/9.4 send 4 MiB in 64-byte frames). Memory is
#: still bounded by ``max_message_size``; only the per-frame work grows.
ECHO_LIMITS = WSLimits(max_fragments=65_536)


def ws_echo(request: ServerRequest) -> Response | None:
    """``/ws/echo``: accept the WebSocket (compression offered) and echo every message.

    The echo runs on a thread of its own per connection, so it never blocks
    the server loop; a plain GET gets ``426 Upgrade Required``. Its limits are
    :data:`ECHO_LIMITS`.
    """
    if not request.is_websocket:
        return Response(426, [("Upgrade", "websocket"), ("Content-Type", _PLAIN)],
                        b"426 Upgrade Required: this is a WebSocket echo\n")
    ws = request.accept_websocket(compression=True, limits=ECHO_LIMITS)

    def echo() -> None:
        try:
            for message in ws:
                ws.send(message)
        except SockitError:
            pass  # the peer went away mid-echo

    threading.Thread(target=echo, name="sockit-ws-echo", daemon=True).start()
    return None


def _healthz(request: ServerRequest) -> Response:
    return Response(200, [("Content-Type", _PLAIN)], b"ok\n")


def make_app(root: str | None = None) -> App:
    """The app of ``python -m sockit serve``: ``/hello``, ``/healthz``, ``/ws/echo``, files.

    ``/hello`` answers ``hello world\\n`` and ``/healthz`` answers ``ok\\n``
    (both text/plain); ``/ws/echo`` is a WebSocket echo (see :func:`ws_echo`);
    other paths are :class:`StaticFiles` of ``root`` (404 without a root).
    """
    fallback = StaticFiles(root) if root is not None else None
    return Routes({"/hello": _hello, "/healthz": _healthz, "/ws/echo": ws_echo}, fallback)
