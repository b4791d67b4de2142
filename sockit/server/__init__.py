"""sockit.server: a reactor-driven HTTP/1.1, HTTP/2 and WebSocket server, callback-free at its core.

::

    from sockit.server import HTTPServer

    with HTTPServer("127.0.0.1", 8080) as server:
        for request in server:
            request.respond(200, [("Content-Type", "text/plain")], b"hello\\n")

or, with an application callable, ``serve(app, "127.0.0.1", 8080)``. Static
files: ``serve(StaticFiles("public"))``. WebSocket: ``request.accept_websocket()``
returns a :class:`WebSocket`. See ``docs/server.md``.
"""

from sockit.server.app import (
    App,
    Routes,
    handle,
    make_app,
    run,
    serve,
    text_response,
    ws_echo,
)
from sockit.server.core import HTTPServer
from sockit.server.drain import DrainStatus
from sockit.server.errors import ErrorHandlers, HTTPError
from sockit.server.metrics import ServerMetrics
from sockit.server.middleware import Pipeline
from sockit.server.ops import access_log, health_app, metrics_app, reopen_log_files
from sockit.server.request import Address, Response, ResponseBody, ServerRequest
from sockit.server.routing import Router
from sockit.server.sse import EventStream, ServerSentEvent
from sockit.server.static import Mounts, StaticFiles
from sockit.server.tls import server_tls_context
from sockit.server.workers import Supervisor
from sockit.server.ws import WebSocket

__all__ = [
    "Address",
    "App",
    "DrainStatus",
    "ErrorHandlers",
    "EventStream",
    "HTTPError",
    "HTTPServer",
    "Mounts",
    "Pipeline",
    "Response",
    "ResponseBody",
    "Router",
    "Routes",
    "ServerMetrics",
    "ServerRequest",
    "ServerSentEvent",
    "StaticFiles",
    "Supervisor",
    "WebSocket",
    "access_log",
    "handle",
    "health_app",
    "make_app",
    "metrics_app",
    "reopen_log_files",
    "run",
    "serve",
    "server_tls_context",
    "text_response",
    "ws_echo",
]
