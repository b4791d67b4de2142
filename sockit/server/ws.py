"""WebSocket on a server connection: the session on the loop, the handle for the app.

An application accepts an upgrade request with
:meth:`ServerRequest.accept_websocket`, which answers ``101 Switching
Protocols`` (subprotocol and permessage-deflate negotiated) and returns a
:class:`WebSocket`. From then on the connection's channel drives the
WebSocket machine (:class:`sockit.proto.ws.Connection`) on the server's loop
thread — ping/pong and the close handshake are answered there — while the
application, on any other thread, receives and sends whole messages::

    def app(request):
        if request.path == "/ws/echo" and request.is_websocket:
            ws = request.accept_websocket()
            threading.Thread(target=lambda: [ws.send(m) for m in ws]).start()
            return None
        ...

Nothing calls back into the application: received messages wait in a
bounded queue (reading stops while it holds more than ``max_queue_bytes``,
so a slow consumer slows its peer), and :meth:`WebSocket.recv` takes them.
:meth:`WebSocket.send` hands the message to the loop and waits while the
connection's output is above its high-water mark.
"""

from __future__ import annotations

import errno
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Final

from sockit.errors import ConnectionClosed, LocalProtocolError, Phase, Timeout
from sockit.observe import get_logger
from sockit.proto.events import Event
from sockit.proto.ws import (
    BytesMessage,
    CloseConnection,
    ConnectionFailed,
    Ping,
    TextMessage,
)
from sockit.proto.ws import Connection as WSConnection
from sockit.server.session import SwitchedSession

if TYPE_CHECKING:
    from sockit.server.connection import HTTPConnection

__all__ = ["WSSession", "WebSocket"]

log = get_logger("server")

#: Received bytes a WebSocket may hold for its application before reading pauses.
MAX_QUEUE_BYTES: Final = 4 * 1024 * 1024


class WebSocket:
    """An accepted server-side WebSocket; thread-safe (see the module docstring).

    ``subprotocol`` is the one agreed in the handshake (``None`` if none);
    ``compressed`` whether permessage-deflate is in force; ``request`` the
    upgrade request. Iterating yields messages until the peer closes.
    """

    def __init__(self, session: WSSession, subprotocol: str | None, compressed: bool) -> None:
        self._session = session
        self.subprotocol = subprotocol
        self.compressed = compressed
        self._cond = threading.Condition()
        self._messages: deque[str | bytes] = deque()
        self._queued = 0
        self._closed: tuple[int, str] | None = None

    # -- receiving (application threads) ----------------------------------------------

    def recv(self, timeout: float | None = None) -> str | bytes:
        """The next message (``str`` for text, ``bytes`` for binary).

        Raises :class:`~sockit.errors.ConnectionClosed` once the connection is
        closed and every message before the close was taken, and
        :class:`~sockit.errors.Timeout` (phase ``read``) after ``timeout`` s.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._messages:
                if self._closed is not None:
                    code, reason = self._closed
                    raise ConnectionClosed(errno.ECONNRESET, f"WebSocket closed ({code} {reason})")
                if deadline is None:
                    self._cond.wait()
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise Timeout("no WebSocket message in time", phase=Phase.READ)
                    self._cond.wait(left)
            message = self._messages.popleft()
            before = self._queued
            self._queued -= len(message)
            resume = before > MAX_QUEUE_BYTES >= self._queued
        if resume:
            self._session.post(self._session.resume_reading)
        return message

    def __iter__(self) -> Iterator[str | bytes]:
        """Messages until the connection closes."""
        while True:
            try:
                yield self.recv()
            except ConnectionClosed:
                return

    @property
    def close_code(self) -> int | None:
        """The close code once closed (``1006`` if the connection just ended)."""
        closed = self._closed
        return None if closed is None else closed[0]

    # -- sending (any thread) -------------------------------------------------------------

    def send(self, message: str | bytes | bytearray | memoryview) -> None:
        """Send one message (``str``: text, bytes-like: binary); waits while output is high."""
        if isinstance(message, str):
            event: Event = TextMessage(message)
        elif isinstance(message, (bytes, bytearray, memoryview)):
            event = BytesMessage(bytes(message))
        else:
            raise TypeError(f"a WebSocket message is str or bytes, not {type(message).__name__}")
        self._session.send_from_app(event)

    def ping(self, payload: bytes = b"") -> None:
        """Send a ping (the pong is handled by the connection)."""
        self._session.send_from_app(Ping(payload))

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the close handshake; messages already received can still be taken.

        ``code`` must be one an endpoint may send (1000-1003, 1007-1014, 3000-4999).
        """
        if not (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999):
            raise LocalProtocolError(f"{code} is not a close code an endpoint may send")
        if len(reason.encode()) > 123:
            raise LocalProtocolError("a close reason is at most 123 bytes of UTF-8")
        self._session.send_from_app(CloseConnection(code, reason))

    # -- from the loop --------------------------------------------------------------------

    def _deliver(self, message: str | bytes) -> bool:
        """Queue a message; ``False`` once the queue is over its bound (pause reading)."""
        with self._cond:
            self._messages.append(message)
            self._queued += len(message)
            self._cond.notify()
            return self._queued <= MAX_QUEUE_BYTES

    def _mark_closed(self, code: int, reason: str) -> None:
        with self._cond:
            if self._closed is None:
                self._closed = (code, reason)
            self._cond.notify_all()


class WSSession(SwitchedSession):
    """The WebSocket half of an :class:`~sockit.server.connection.HTTPConnection` (internal)."""

    __slots__ = ("_send_cond", "socket")

    protocol = "WebSocket"
    machine: WSConnection

    def __init__(
        self,
        owner: HTTPConnection,
        machine: WSConnection,
        subprotocol: str | None,
        compressed: bool,
    ) -> None:
        super().__init__(owner, machine)
        self.channel.set_deadline("lifetime", None)
        self.socket = WebSocket(self, subprotocol, compressed)
        self._send_cond = threading.Condition()

    # -- the loop ---------------------------------------------------------------------

    def _on_eof(self) -> None:
        self.socket._mark_closed(1006, "connection lost")

    def _handle(self, events: Sequence[Event]) -> None:
        socket = self.socket
        for event in events:
            kind = type(event)
            if kind is TextMessage or kind is BytesMessage:
                assert isinstance(event, (TextMessage, BytesMessage))
                if not socket._deliver(event.data):
                    self.channel.reading = False  # the app is behind: stop reading
            elif kind is CloseConnection or kind is ConnectionFailed:
                assert isinstance(event, (CloseConnection, ConnectionFailed))
                code = event.error_code if event.error_code is not None else 1005
                socket._mark_closed(code, event.reason)
                if kind is ConnectionFailed:
                    self.server.metrics.refusal("ws_protocol")

    def _after_update(self) -> None:
        if self.channel.writable:
            with self._send_cond:
                self._send_cond.notify_all()

    def resume_reading(self) -> None:
        """The application took messages: read again."""
        if not self.closed and self.channel.state.value == "open":
            self.channel.reading = True
            self.channel.update()

    def post(self, call: object) -> None:
        """Run ``call`` on the loop thread."""
        self.server.call_soon(call)  # type: ignore[arg-type]

    # -- sending from the application ------------------------------------------------

    def send_from_app(self, event: Event) -> None:
        """Hand ``event`` to the loop; wait while the channel's output is over its mark.

        From the loop thread the event is sent at once (errors raise); from any
        other thread it is posted to the loop in order and not waited for.
        """
        if self.closed:
            raise ConnectionClosed(errno.EPIPE, "the WebSocket is closed")
        on_loop = self.server.loop_thread == threading.get_ident()
        if on_loop:
            self._send_now(event)
            return
        with self._send_cond:
            while not self.closed and not self.channel.writable:
                self._send_cond.wait(1.0)
        if self.closed:
            raise ConnectionClosed(errno.EPIPE, "the WebSocket is closed")
        self.server.call_soon(lambda: self._send_posted(event))  # in order, not waited for

    def _send_posted(self, event: Event) -> None:
        try:
            self._send_now(event)
        except ConnectionClosed:
            pass  # closed meanwhile: the sender learns on its next call
        except LocalProtocolError as exc:
            log.error("WebSocket send refused: %s", exc)

    def _send_now(self, event: Event) -> None:
        if self.closed or self.machine.state.name == "CLOSED":
            raise ConnectionClosed(errno.EPIPE, "the WebSocket is closed")
        try:
            self.machine.send(event)
        except LocalProtocolError:
            if self.machine.state.name != "OPEN":  # closing: the message cannot go out
                raise ConnectionClosed(errno.EPIPE, "the WebSocket is closing") from None
            raise
        self.server.mark_dirty(self.owner)

    # -- closing ----------------------------------------------------------------------

    def shutdown(self) -> None:
        """The server is closing: start the close handshake with 1001 (going away)."""
        if self.closed or self.machine.state.name != "OPEN":
            return
        try:
            self.machine.send(CloseConnection(1001, "server shutting down"))
        except LocalProtocolError:
            return
        self.server.mark_dirty(self.owner)

    def release(self) -> None:
        """The connection is closing: wake every waiting thread."""
        if self.closed:
            return
        super().release()
        self.socket._mark_closed(1006, "connection closed")
        with self._send_cond:
            self._send_cond.notify_all()

    @property
    def busy(self) -> bool:
        """Whether the close handshake or queued output is still under way."""
        return self.machine.state.name != "CLOSED" or bool(self.channel.pending)
