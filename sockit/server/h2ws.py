"""WebSocket over one HTTP/2 stream (RFC 8441, extended CONNECT).

The server advertises ``SETTINGS_ENABLE_CONNECT_PROTOCOL``; a client opens a
stream with ``:method CONNECT`` and ``:protocol websocket``. The application
sees a :class:`~sockit.server.ServerRequest` for which ``is_websocket`` is
true and accepts it as on HTTP/1.1; the answer is ``200`` on the stream (no
``101``, no key and accept), with the agreed subprotocol and
permessage-deflate parameters. From then on the stream's DATA carries
WebSocket frames: :class:`H2WebSocket` feeds them to a WebSocket machine and
sends its output back as DATA, all on the server's loop thread; the
application gets the same thread-safe :class:`~sockit.server.ws.WebSocket`
handle. The stream's flow-control credit is returned as frames arrive; the
handle's receive queue is bounded as on HTTP/1.1.
"""

from __future__ import annotations

import errno
import threading
from typing import TYPE_CHECKING

from sockit.errors import ConnectionClosed, LocalProtocolError
from sockit.observe import get_logger
from sockit.proto.events import Event, Role
from sockit.proto.http import Headers
from sockit.proto.http2 import Data, Response
from sockit.proto.ws import (
    BytesMessage,
    CloseConnection,
    ConnectionFailed,
    DeflateConfig,
    TextMessage,
    negotiate_deflate,
)
from sockit.proto.ws import Connection as WSConnection
from sockit.server.ws import WebSocket

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sockit.limits import WSLimits
    from sockit.server.h2 import H2Exchange, H2Session
    from sockit.server.request import ServerRequest

__all__ = ["H2WebSocket", "accept_on_stream"]

log = get_logger("server")


class H2WebSocket:
    """One WebSocket carried by one HTTP/2 stream (internal to the server)."""

    __slots__ = ("closed", "ended", "machine", "session", "socket", "stream_id")

    def __init__(
        self, session: H2Session, stream_id: int, machine: WSConnection,
        subprotocol: str | None, compressed: bool,
    ) -> None:
        self.session = session
        self.stream_id = stream_id
        self.machine = machine
        self.closed = False
        self.ended = False  # our side of the stream is finished
        self.socket = WebSocket(self, subprotocol, compressed)  # type: ignore[arg-type]

    # -- from the HTTP/2 session (loop thread) ---------------------------------------

    def receive(self, data: bytes) -> None:
        """DATA for this stream: WebSocket frames."""
        self._handle(self.machine.receive_data(data, now=self.session.server.now))
        self.flush()

    def receive_end(self) -> None:
        """The peer ended (or reset) its side of the stream."""
        if not self.closed:
            self._handle(self.machine.receive_eof())
        self.socket._mark_closed(1006, "stream ended")
        self.flush()
        self._finish()

    def _handle(self, events: Sequence[Event]) -> None:
        socket = self.socket
        for event in events:
            if isinstance(event, (TextMessage, BytesMessage)):
                socket._deliver(event.data)
            elif isinstance(event, (CloseConnection, ConnectionFailed)):
                code = event.error_code if event.error_code is not None else 1005
                socket._mark_closed(code, event.reason)

    def flush(self) -> None:
        """The machine's output as DATA; the stream ends once the close handshake is over."""
        if self.ended:
            return
        out = self.machine.data_to_send()
        h2 = self.session.machine
        if out:
            h2.send(Data(self.stream_id, out))
        if self.machine.state.name == "CLOSED":
            self.ended = True
            h2.send(Data(self.stream_id, b"", end_stream=True))
            self._finish()
        self.session.server.mark_dirty(self.session.owner)

    def _finish(self) -> None:
        if not self.closed:
            self.closed = True
            self.socket._mark_closed(1006, "stream closed")
            self.session.ws_done(self.stream_id)

    # -- the handle's side ------------------------------------------------------------

    def send_from_app(self, event: Event) -> None:
        """A message, ping or close from the application (any thread)."""
        if self.closed:
            raise ConnectionClosed(errno.EPIPE, "the WebSocket is closed")
        server = self.session.server
        if server.loop_thread == threading.get_ident():
            self._send_now(event)
        else:
            server.call_soon(lambda: self._send_posted(event))

    def _send_posted(self, event: Event) -> None:
        try:
            self._send_now(event)
        except ConnectionClosed:
            pass
        except LocalProtocolError as exc:
            log.error("WebSocket send refused: %s", exc)

    def _send_now(self, event: Event) -> None:
        if self.closed or self.machine.state.name == "CLOSED":
            raise ConnectionClosed(errno.EPIPE, "the WebSocket is closed")
        self.machine.send(event)
        self.flush()

    def post(self, call: Callable[[], None]) -> None:
        """Run ``call`` on the loop thread."""
        self.session.server.call_soon(call)

    def resume_reading(self) -> None:
        """Credit is returned as frames arrive: nothing is paused."""


def accept_on_stream(
    exchange: H2Exchange,
    request: ServerRequest,
    subprotocol: str | None,
    compression: bool | DeflateConfig,
    limits: WSLimits | None,
) -> WebSocket:
    """Answer an extended CONNECT with 200 and run a WebSocket on its stream (loop thread)."""
    session = exchange.session
    if not exchange.websocket or request.responded:
        raise LocalProtocolError("not an extended CONNECT for a WebSocket, or already answered")
    offered = request.websocket_subprotocols
    if subprotocol is not None and subprotocol not in offered:
        raise LocalProtocolError(f"the client did not offer the subprotocol {subprotocol!r}")
    config = DeflateConfig() if compression is True else (compression or None)
    pairs: list[tuple[bytes, bytes]] = []
    params = None
    if config is not None:
        values = request.event.headers.get_all_raw("sec-websocket-extensions")
        agreed = negotiate_deflate(values, config) if values else None
        if agreed is not None:
            params, value = agreed
            pairs.append((b"sec-websocket-extensions", value))
    if subprotocol is not None:
        pairs.append((b"sec-websocket-protocol", subprotocol.encode("ascii")))
    request._responded = True
    server = session.server
    session.machine.send(Response(exchange.stream_id, 200, Headers.from_raw(pairs)))
    server.metrics.response(200)
    machine = WSConnection(Role.SERVER, limits=server.ws_limits if limits is None else limits,
                           deflate=params, deflate_config=config)
    ws = H2WebSocket(session, exchange.stream_id, machine, subprotocol, params is not None)
    exchange.ws = ws
    early = b"".join(exchange.body)
    exchange.body = []
    if early:
        ws.receive(early)
    server.mark_dirty(session.owner)
    return ws.socket
