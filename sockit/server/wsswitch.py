"""Accepting a WebSocket upgrade on an HTTP/1.1 server connection (RFC 6455 §4.2).

:func:`accept_websocket` runs on the server's loop thread: it checks the
request (a refusal is answered with its status, ``400`` or ``426``, and
raised to the caller), answers ``101 Switching Protocols`` with the agreed
subprotocol and permessage-deflate parameters, and hands the connection's
channel to a :class:`~sockit.server.ws.WSSession`; bytes the client sent
after its request (early frames) go to the WebSocket machine.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, TypeVar

from sockit.errors import LocalProtocolError
from sockit.limits import WSLimits
from sockit.proto.events import Role
from sockit.proto.http1 import InformationalResponse
from sockit.proto.ws import Connection as WSConnection
from sockit.proto.ws import (
    DeflateConfig,
    HandshakeError,
    accept_headers,
    reject_response,
    validate_request,
)
from sockit.server.ws import WebSocket, WSSession

T = TypeVar("T")

if TYPE_CHECKING:
    from collections.abc import Callable

    from sockit.server.connection import HTTPConnection
    from sockit.server.core import HTTPServer
    from sockit.server.request import ServerRequest

__all__ = ["accept_websocket", "is_websocket_request", "run_on_loop"]

#: How long a thread other than the loop's waits for the loop to accept.
_ACCEPT_WAIT = 30.0


def is_websocket_request(request: ServerRequest) -> bool:
    """A cheap look: a GET asking for ``Upgrade: websocket`` (full checks on accept)."""
    event = request.event
    if event.method != b"GET":
        return False
    upgrade = event.headers.lookup_raw(b"upgrade")
    if not upgrade:
        return False
    return any(
        token.strip().lower() == b"websocket" for value in upgrade for token in value.split(b",")
    )


def accept_websocket(
    conn: HTTPConnection,
    request: ServerRequest,
    subprotocol: str | None,
    compression: bool | DeflateConfig,
    limits: WSLimits | None = None,
) -> WebSocket:
    """Accept ``request``'s upgrade on ``conn`` (from any thread; runs on the loop)."""
    return run_on_loop(
        conn.server, lambda: _accept_on_loop(conn, request, subprotocol, compression, limits)
    )


def run_on_loop(server: HTTPServer, call: Callable[[], T]) -> T:
    """``call()`` on the server's loop thread (now, if this is it); its result or error."""
    if server.loop_thread is None or server.loop_thread == threading.get_ident():
        return call()
    done = threading.Event()
    outcome: list[T | BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:
            outcome.append(exc)
        finally:
            done.set()

    server.call_soon(run)
    if not done.wait(_ACCEPT_WAIT) or not outcome:
        raise LocalProtocolError("the server loop did not answer in time")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _accept_on_loop(
    conn: HTTPConnection,
    request: ServerRequest,
    subprotocol: str | None,
    compression: bool | DeflateConfig,
    limits: WSLimits | None,
) -> WebSocket:
    if request.responded:
        raise LocalProtocolError("this request was already answered")
    if conn.closed or conn._current is not request:
        raise LocalProtocolError("the connection is gone")
    try:
        ws_request = validate_request(request.event)
    except HandshakeError as exc:
        request._responded = True
        conn.send_refusal(*reject_response(exc))  # a 426 names the version we speak
        raise
    if compression is True:
        config: DeflateConfig | None = DeflateConfig()
    elif compression is False:
        config = None
    else:
        config = compression
    headers, params = accept_headers(ws_request, subprotocol=subprotocol, deflate=config)
    request._responded = True
    conn._current = None
    machine = conn.machine
    machine.send(InformationalResponse(101, headers, reason=b"Switching Protocols"))
    leftover = machine.trailing_data
    server = conn.server
    server.metrics.response(101)
    ws = WSConnection(
        Role.SERVER,
        limits=server.ws_limits if limits is None else limits,
        deflate=params,
        deflate_config=config,
    )
    session = WSSession(conn, ws, subprotocol, params is not None)
    conn.ws = session
    from sockit.server.connection import WEBSOCKET  # noqa: PLC0415 - they import each other

    conn.phase = WEBSOCKET
    session.feed(leftover)
    conn._mark_dirty()
    return session.socket
