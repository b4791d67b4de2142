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
must not block. ``processes=N`` forks ``N`` server processes sharing the
port (see :mod:`sockit.server.workers`).

SIGTERM and SIGINT drain the server (see :meth:`HTTPServer.drain`): work in
flight finishes within ``grace`` seconds. SIGHUP reopens log files.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeAlias

from sockit.errors import LocalProtocolError, SockitError
from sockit.limits import ServerLimits, WSLimits
from sockit.observe import get_logger
from sockit.proto.http1 import HTTP1Config
from sockit.proto.http2 import H2Config
from sockit.proto.tls import TLSContext
from sockit.server.connection import ErrorPages
from sockit.server.core import HTTPServer
from sockit.server.ops import health_app, metrics_app, ops_metrics, reopen_log_files
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


#: How often a worker process checks that its supervisor is still there (seconds).
_PARENT_CHECK: Final = 1.0


def handle(app: App, request: ServerRequest) -> None:
    """Run ``app`` for ``request`` and answer it; a failure becomes a 500 and a log record.

    The time from here until the answer is handed to the server goes into
    ``sockit_server_request_duration_seconds``.
    """
    server_metrics = request._conn.server.metrics
    start = time.perf_counter()
    try:
        _answer(app, request, server_metrics.handler_errors.inc)
    finally:
        ops_metrics().latency.observe(time.perf_counter() - start)


def _answer(app: App, request: ServerRequest, count_error: Callable[[], None]) -> None:
    try:
        result = app(request)
    except Exception:
        count_error()
        log.exception("handler failed for %s %s", request.method, request.target)
        if not request.responded:
            request.respond_response(text_response("500 Internal Server Error\n", 500))
        return
    if result is None:
        if not request.responded:
            count_error()
            log.error("handler returned no response for %s %s", request.method, request.target)
            request.respond_response(text_response("500 Internal Server Error\n", 500))
        return
    if request.responded:
        log.error("handler answered %s %s twice", request.method, request.target)
        return
    try:
        request.respond_response(result)
    except Exception as exc:  # a header the writer refused, a str body...: connection closed
        count_error()
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
    processes: int = 0,
    reuse_port: bool = False,
    drain_notice: float = 0.0,
    error_pages: ErrorPages | None = None,
) -> int:
    """Listen, serve ``app`` until stopped, then close with ``grace`` seconds to finish.

    ``tls`` (see :func:`~sockit.server.server_tls_context`) serves HTTPS.
    ``workers`` is the size of a thread pool running ``app`` (0: the loop
    thread runs it). ``processes`` (> 0) forks that many server processes
    on one ``SO_REUSEPORT`` port under a :class:`~sockit.server.workers.Supervisor`
    that restarts dead ones (main thread only; ``on_ready`` then runs in
    each process). Returns the exit status (non-zero: the supervisor gave up).

    SIGINT and SIGTERM drain the server when ``handle_signals`` is true (the
    default on the main thread), after ``drain_notice`` seconds of still
    accepting with ``/healthz`` at 503; a second one cuts the drain short; SIGHUP
    reopens log files (see :func:`~sockit.server.ops.reopen_log_files`).
    ``on_ready(server)`` runs once listening (to learn the port, or keep the
    server to :meth:`~HTTPServer.drain` or :meth:`~HTTPServer.stop` it from
    another thread). ``error_pages`` renders the server's own errors (see
    :class:`HTTPServer`; ``ErrorHandlers(...).page`` shares the app's pages).
    """
    if processes > 0:
        if host is None or unix_path is not None:
            raise LocalProtocolError("worker processes share one TCP port (no Unix socket yet)")

        def one(port: int) -> HTTPServer:
            return HTTPServer(host, port, limits=limits, http1=http1, http2=http2, tls=tls,
                              reuse_port=True, grace=grace, drain_notice=drain_notice,
                              error_pages=error_pages)

        return _serve_processes(app, one, host=host, port=port, processes=processes, grace=grace,
                                drain_notice=drain_notice, workers=workers, on_ready=on_ready)
    server = HTTPServer(
        host, port, unix_path=unix_path, limits=limits, http1=http1, http2=http2, tls=tls,
        reuse_port=reuse_port, grace=grace, drain_notice=drain_notice, error_pages=error_pages,
    )
    try:
        if handle_signals is None:
            handle_signals = threading.current_thread() is threading.main_thread()
        if handle_signals:
            server.watch_signals()
            server.on_reopen(reopen_log_files)
        if on_ready is not None:
            on_ready(server)
        run(server, app, workers=workers)
    finally:
        server.close(grace=grace)
    return 0


def _serve_processes(
    app: App,
    make: Callable[[int], HTTPServer],
    *,
    host: str,
    port: int,
    processes: int,
    grace: float,
    drain_notice: float,
    workers: int,
    on_ready: Callable[[HTTPServer], None] | None,
) -> int:
    """``serve`` in ``processes`` forked workers, each ``make(port)`` (see ``workers.py``)."""
    from sockit.server.workers import Supervisor, reserve_port  # noqa: PLC0415 - fork users only

    held, actual = reserve_port(host, port)
    parent = os.getpid()

    def worker(index: int) -> int:
        held.close()
        server = make(actual)

        def orphaned() -> None:
            if os.getppid() != parent and not server.draining:
                server.drain()

        try:
            server.watch_signals((signal.SIGTERM,))
            server.on_reopen(reopen_log_files)
            server.every(_PARENT_CHECK, orphaned)
            if on_ready is not None:
                on_ready(server)
            run(server, app, workers=workers)
        finally:
            server.close(grace=grace)
        return 0

    try:
        # the supervisor's patience covers each worker's notice and grace
        return Supervisor(worker, processes, grace=grace + drain_notice,
                          on_reopen=reopen_log_files).run()
    finally:
        held.close()


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


def make_app(root: str | None = None, *, metrics: bool = False, fallback: App | None = None) -> App:
    """The app of ``python -m sockit serve``: ``/hello``, ``/healthz``, ``/ws/echo``, files.

    ``/hello`` answers ``hello world\\n`` and ``/healthz`` answers ``ok\\n``
    (``503 draining`` while the server drains; both text/plain); ``/ws/echo``
    is a WebSocket echo (see :func:`ws_echo`); ``metrics`` adds ``/metrics``
    (Prometheus text). Other paths go to ``fallback``, else to
    :class:`StaticFiles` of ``root`` (404 without a root).
    """
    if fallback is None and root is not None:
        fallback = StaticFiles(root)
    routes: dict[str, App] = {"/hello": _hello, "/healthz": health_app(), "/ws/echo": ws_echo}
    if metrics:
        routes["/metrics"] = metrics_app()
    return Routes(routes, fallback)
