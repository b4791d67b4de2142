"""HTTP/2 on a server connection: many requests at once over one socket.

A connection becomes HTTP/2 in one of two ways (both cleartext; with TLS,
ALPN will choose): the client's first bytes are the HTTP/2 connection
preface (*prior knowledge*), or an HTTP/1.1 request asks for
``Upgrade: h2c`` with an ``HTTP2-Settings`` field, is answered
``101 Switching Protocols`` and becomes stream 1. Either way
:class:`H2Session` takes over the connection's :class:`~sockit.net.channel.Channel`
and the HTTP/2 machine (:class:`sockit.proto.http2.Connection`) does the
protocol: flow control, multiplexing, SETTINGS, PING, flood defences.

Requests reach the application exactly as HTTP/1.1 ones do —
:class:`~sockit.server.ServerRequest` with ``http_version == "2"``, a
``Host`` field made from ``:authority`` and ``Cookie`` fields joined — and
are answered the same way. Bodies up to ``ServerLimits.max_body_size`` are
read whole (more is answered ``413`` and the stream reset); responses from
``bytes``, iterables and files are sent in DATA frames as the windows allow,
every stream with data getting its turn (the machine flushes round-robin).
Connection-specific fields an application sets for HTTP/1.1 (``Connection``,
``Keep-Alive``, ``Transfer-Encoding``, ``Upgrade``) are left out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Final

from sockit.errors import LocalProtocolError, NetworkError
from sockit.observe import get_logger
from sockit.proto.events import Event
from sockit.proto.http import Headers, HeadersInput
from sockit.proto.http1 import EndOfMessage
from sockit.proto.http1 import Request as H1Request
from sockit.proto.http2 import (
    PREFACE,
    ConnectionFailed,
    Data,
    ErrorCode,
    GoAwayReceived,
    InformationalResponse,
    ResetStream,
    Response,
    StreamEnded,
    StreamReset,
    Trailers,
)
from sockit.proto.http2 import (
    Connection as H2Connection,
)
from sockit.proto.http2 import (
    Request as H2Request,
)
from sockit.server.h2ws import H2WebSocket, accept_on_stream
from sockit.server.request import Address, ResponseBody, ServerRequest, body_kind
from sockit.server.response import discard_body, header_pairs
from sockit.server.session import SwitchedSession
from sockit.server.wsswitch import run_on_loop

if TYPE_CHECKING:
    from sockit.limits import WSLimits
    from sockit.proto.ws import DeflateConfig
    from sockit.server.connection import HTTPConnection
    from sockit.server.core import HTTPServer
    from sockit.server.ws import WebSocket

__all__ = ["PREFACE", "H2Exchange", "H2Session", "h2c_settings"]

log = get_logger("server")

#: Fields that mean something only to one HTTP/1.1 hop; never sent over HTTP/2.
_HOP_FIELDS: Final = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"}
)
#: Bytes a streamed body may have waiting in the machine before we stop pulling it.
_STREAM_LOW_WATER: Final = 64 * 1024
#: Most bytes pulled from all streamed bodies of one connection per loop turn.
_TURN_BYTES: Final = 256 * 1024
_FILE_CHUNK: Final = 64 * 1024
#: WebSocket frames a client may send on an extended CONNECT before it is answered.
_EARLY_WS_BYTES: Final = 64 * 1024


class H2Exchange:
    """One stream's request/response, as the :class:`ServerRequest` sees its connection."""

    __slots__ = (
        "body",
        "close_after",
        "delivered",
        "end",
        "opened",
        "owed",
        "preloaded",
        "request",
        "session",
        "size",
        "stream_id",
        "websocket",
        "ws",
    )

    def __init__(self, session: H2Session, stream_id: int) -> None:
        self.session = session
        self.stream_id = stream_id
        #: When the stream opened (the server's clock): ``request_read_timeout`` counts from here.
        self.opened = session.server.now
        self.request: ServerRequest | None = None
        self.body: list[bytes] = []
        self.size = 0
        self.end: EndOfMessage | None = None
        #: Set by the server while closing (the answer then is ``503``).
        self.close_after = False
        #: The whole request reached the application.
        self.delivered = False
        #: Body bytes whose stream credit is held back (see ``H2Session._may_credit``).
        self.owed = 0
        #: Body bytes read before the switch (``Upgrade: h2c``), never counted as buffered.
        self.preloaded = 0
        #: An extended CONNECT for ``:protocol websocket`` (RFC 8441).
        self.websocket = False
        #: The WebSocket on this stream once accepted.
        self.ws: H2WebSocket | None = None

    @property
    def server(self) -> HTTPServer:
        """The server this exchange belongs to."""
        return self.session.server

    @property
    def keep_alive(self) -> bool:
        """HTTP/2 connections carry further requests until one side sends GOAWAY."""
        return not self.session.closed and not self.session.draining

    @property
    def closed(self) -> bool:
        """Whether the stream can no longer be answered."""
        return self.session.closed or self.stream_id not in self.session.exchanges

    def respond(
        self,
        req: ServerRequest,
        status: int,
        headers: HeadersInput | None,
        body: ResponseBody,
        reason: str | None,
    ) -> None:
        """Answer on this stream (see :meth:`ServerRequest.respond`); ``reason`` is unused."""
        self.session.respond(self, status, headers, body)

    def send_informational(self, req: ServerRequest, status: int, headers: Headers) -> None:
        """A 1xx HEADERS frame on this stream (see :meth:`ServerRequest.send_informational`)."""
        self.session.send_informational(self, status, headers)

    def is_websocket(self, req: ServerRequest) -> bool:
        """Whether the stream is an extended CONNECT for ``websocket`` (RFC 8441)."""
        return self.websocket

    def accept_websocket(
        self,
        req: ServerRequest,
        subprotocol: str | None,
        compression: bool | DeflateConfig,
        limits: WSLimits | None,
    ) -> WebSocket:
        """Answer 200 on the stream and carry a WebSocket on it (see :mod:`.h2ws`)."""
        return run_on_loop(
            self.session.server,
            lambda: accept_on_stream(self, req, subprotocol, compression, limits),
        )

    def send_error(self, status: int) -> None:
        """The error page (custom, or a short text) for the server's refusals (``413``, ``503``)."""
        page = self.session.owner.error_page(status)
        if page is None:
            self.session.respond(self, status, [(b"content-type", b"text/plain")], b"%d\n" % status)
        else:
            self.session.respond(self, status, page[0], page[1])


class H2Session(SwitchedSession):
    """The HTTP/2 half of an :class:`~sockit.server.connection.HTTPConnection` (internal)."""

    __slots__ = (
        "_buffered", "_upgrade_body", "client", "draining", "exchanges", "paused", "streaming",
        "wakeable",
    )

    protocol = "HTTP/2"
    machine: H2Connection

    def __init__(self, owner: HTTPConnection, machine: H2Connection) -> None:
        super().__init__(owner, machine)
        self.client: Address = owner.client
        self.exchanges: dict[int, H2Exchange] = {}
        self.streaming: dict[int, Iterator[bytes]] = {}
        #: Streams whose body has a waker (an empty chunk pauses them), and those paused.
        self.wakeable: set[int] = set()
        self.paused: set[int] = set()
        self.draining = False
        self._upgrade_body = b""
        #: Body bytes of requests still being read, on this connection.
        self._buffered = 0
        self._idle()

    def __repr__(self) -> str:
        return f"<H2Session {self.client!r} streams={len(self.exchanges)}>"

    def _on_due(self, name: str) -> None:
        if name in {"idle", "lifetime"}:
            self.server.metrics.timeout(name)
            self.shutdown()  # GOAWAY: streams in flight finish
        elif name == "read":
            self._cut_slow_requests()

    def _reading(self) -> list[H2Exchange]:
        """Streams whose request (head and body) has not fully arrived yet."""
        return [x for x in self.exchanges.values() if not x.delivered and not x.websocket]

    def _arm_read(self) -> None:
        """One channel deadline at the earliest ``opened + request_read_timeout`` still reading.

        The HTTP/2 twin of HTTP/1.1's read timeout: a client that opens a
        stream and never finishes its request (silent, or a byte now and then)
        cannot hold the stream, and so the connection, forever.
        """
        reading = self._reading()
        when = None
        if reading:
            when = min(x.opened for x in reading) + self.server.limits.request_read_timeout
        self.channel.set_deadline("read", when)

    def _cut_slow_requests(self) -> None:
        now = self.server.now
        timeout = self.server.limits.request_read_timeout
        for exchange in self._reading():
            if exchange.opened + timeout > now:
                continue
            self.server.metrics.timeout("read")
            sid = exchange.stream_id
            with contextlib.suppress(LocalProtocolError):  # the stream ended meanwhile
                self.machine.send(ResetStream(sid, ErrorCode.CANCEL))
            self._drop(sid)
        self._arm_read()
        self._idle()
        self.server.mark_dirty(self.owner)

    def _handle(self, events: Sequence[Event]) -> None:
        for event in events:
            kind = type(event)
            if kind is Data:
                assert isinstance(event, Data)
                self._on_data(event)
            elif kind is H2Request:
                assert isinstance(event, H2Request)
                self._on_request(event)
            elif kind is StreamEnded:
                assert isinstance(event, StreamEnded)
                self._on_end(event.stream_id)
            elif kind is StreamReset:
                assert isinstance(event, StreamReset)
                self._drop(event.stream_id)
            elif kind is Trailers:
                assert isinstance(event, Trailers)
                exchange = self.exchanges.get(event.stream_id)
                if exchange is not None:
                    exchange.end = EndOfMessage(trailers=event.headers)
            elif kind is ConnectionFailed or kind is GoAwayReceived:
                if kind is ConnectionFailed:
                    code = getattr(event, "error_code", None)
                    name = "h2_flood" if code == ErrorCode.ENHANCE_YOUR_CALM else "h2_protocol"
                    self.server.metrics.refusal(name)
                self.draining = True

    def _on_request(self, event: H2Request) -> None:
        exchange = H2Exchange(self, event.stream_id)
        if event.stream_id == 1 and self._upgrade_body:
            exchange.body.append(self._upgrade_body)
            exchange.size = exchange.preloaded = len(self._upgrade_body)
            self._upgrade_body = b""
        self.exchanges[event.stream_id] = exchange
        request = exchange.request = ServerRequest(
            exchange,
            _as_h1_request(event),
            b"",
            None,
            self.client,
        )
        self._idle()
        if event.method == b"CONNECT" and event.protocol == b"websocket":
            # RFC 8441: the stream stays open for frames; the app decides now
            exchange.websocket = True
            exchange.delivered = True
            self.server.metrics.request(b"CONNECT")
            self.server.deliver(request)

    def _on_data(self, event: Data) -> None:
        stream_id = event.stream_id
        n = len(event.data)
        machine = self.machine
        machine.acknowledge_received_data(0, n)  # connection credit: always, at once
        exchange = self.exchanges.get(stream_id)
        if exchange is not None and exchange.websocket:
            machine.acknowledge_received_data(stream_id, n, connection=False)
            if exchange.ws is not None:
                exchange.ws.receive(event.data)
            elif exchange.size + n <= _EARLY_WS_BYTES:  # frames sent before the answer
                exchange.body.append(event.data)
                exchange.size += n
            else:
                machine.send(ResetStream(stream_id, ErrorCode.REFUSED_STREAM))
                self._finish(stream_id)
            return
        if exchange is None or exchange.request is None or exchange.delivered:
            machine.acknowledge_received_data(stream_id, n, connection=False)
            return
        exchange.size += n
        if exchange.size > self.server.limits.max_body_size:
            self.server.metrics.refusal("max_body_size")
            self._buffered -= exchange.size - n - exchange.preloaded
            exchange.body = []
            exchange.request = None
            exchange.send_error(413)
            self._release_owed()
            return
        exchange.body.append(event.data)
        self._buffered += n
        if self._may_credit(stream_id):
            machine.acknowledge_received_data(stream_id, n, connection=False)
        else:
            exchange.owed += n

    def _may_credit(self, stream_id: int) -> bool:
        """Whether a stream may get more of its body now.

        Bodies being read on one connection are held to ``max_body_size`` in
        total, except that the oldest unfinished one always gets credit: it
        can finish (one body is never over the limit), which frees room for
        the others, so held-back streams cannot wait on each other. Memory per
        connection stays under twice ``max_body_size`` plus the initial stream
        windows the client holds (``INITIAL_WINDOW_SIZE`` per open stream).
        """
        if self._buffered <= self.server.limits.max_body_size:
            return True
        for sid, exchange in self.exchanges.items():  # in arrival order: the oldest first
            if exchange.request is not None and not exchange.delivered:
                return sid == stream_id
        return True

    def _release_owed(self) -> None:
        """Room was made: return held-back stream credit, oldest stream first."""
        machine = self.machine
        for sid, exchange in self.exchanges.items():
            if exchange.owed and self._may_credit(sid):
                owed, exchange.owed = exchange.owed, 0
                machine.acknowledge_received_data(sid, owed, connection=False)

    def _on_end(self, stream_id: int) -> None:
        exchange = self.exchanges.get(stream_id)
        if exchange is not None and exchange.ws is not None:
            exchange.ws.receive_end()
            return
        if exchange is None or exchange.request is None or exchange.delivered:
            return
        request = exchange.request
        parts = exchange.body
        request.body = parts[0] if len(parts) == 1 else b"".join(parts)
        request._end = exchange.end
        exchange.body = []
        exchange.delivered = True
        self._arm_read()
        self._buffered -= exchange.size - exchange.preloaded
        exchange.owed = 0  # the stream's input is over: nothing more to credit
        self._release_owed()
        server = self.server
        server.metrics.request(request.event.method)
        server.deliver(request)

    def take_upgrade(self, body: bytes) -> None:
        """After ``Upgrade: h2c``: the machine hands out the request as stream 1; its body
        was read over HTTP/1.1 and is attached here."""
        self._upgrade_body = body
        self._handle(self.machine.receive_data(b"", now=self.server.now))

    def ws_done(self, stream_id: int) -> None:
        """A WebSocket stream finished its close handshake (or ended)."""
        self._finish(stream_id)

    def _drop(self, stream_id: int) -> None:
        exchange = self.exchanges.pop(stream_id, None)
        if exchange is not None and exchange.ws is not None:
            exchange.ws.closed = True
            exchange.ws.socket._mark_closed(1006, "stream reset")
        if exchange is not None and not exchange.delivered and exchange.request is not None:
            self._buffered -= exchange.size - exchange.preloaded
            self._release_owed()
        stream = self.streaming.pop(stream_id, None)
        self.wakeable.discard(stream_id)
        self.paused.discard(stream_id)
        if stream is not None:
            discard_body(stream)
        self._idle()

    # -- answering --------------------------------------------------------------------

    def respond(
        self, exchange: H2Exchange, status: int, headers: HeadersInput | None, body: ResponseBody
    ) -> None:
        """Start the response on ``exchange``'s stream."""
        stream_id = exchange.stream_id
        if self.closed or self.exchanges.get(stream_id) is not exchange:
            discard_body(body)
            return
        try:
            self._start_response(exchange, status, headers, body)
        except (LocalProtocolError, TypeError, ValueError):
            discard_body(body)
            self.machine.send(ResetStream(stream_id, ErrorCode.INTERNAL_ERROR))
            self._finish(stream_id)
            self.server.mark_dirty(self.owner)
            raise
        self.server.mark_dirty(self.owner)

    def send_informational(self, exchange: H2Exchange, status: int, headers: Headers) -> None:
        """Send a 1xx head on ``exchange``'s stream unless its final response has started."""
        stream_id = exchange.stream_id
        if (
            self.closed
            or self.exchanges.get(stream_id) is not exchange
            or stream_id in self.streaming
            or exchange.ws is not None
        ):
            return
        pairs = [
            (name.lower(), value)
            for name, value in headers.raw_items()
            if name.lower() not in _HOP_FIELDS
        ]
        with contextlib.suppress(LocalProtocolError):  # the machine says too late: drop it
            self.machine.send(InformationalResponse(stream_id, status, Headers.from_raw(pairs)))
            self.server.mark_dirty(self.owner)

    def _start_response(
        self, exchange: H2Exchange, status: int, headers: HeadersInput | None, body: ResponseBody
    ) -> None:
        if type(status) is not int or not 200 <= status <= 599:
            raise LocalProtocolError("a response needs a final status from 200 to 599")
        stream_id = exchange.stream_id
        request = exchange.request
        head_only = request is not None and request.event.method == b"HEAD"
        head_only = head_only or status in (204, 304)
        pairs = [
            (name.lower(), value)
            for name, value in header_pairs(headers)
            if name.lower() not in _HOP_FIELDS
        ]
        names = {name for name, _ in pairs}
        kind, value = body_kind(body)
        if kind == "bytes":
            if b"content-length" not in names and status not in (204, 304):
                pairs.append((b"content-length", b"%d" % len(value)))
            if len(value) > _STREAM_LOW_WATER and not head_only:
                kind, value = "iter", _slices(value)  # fed to the machine as windows open
        elif kind == "file":
            file, offset, size = value
            if b"content-length" not in names and status not in (204, 304):
                pairs.append((b"content-length", b"%d" % size))
            kind, value = "iter", _file_chunks(file, offset, size)
        if b"date" not in names:
            pairs.append((b"date", self.server.date_header()))
        machine = self.machine
        self.server.metrics.response(status)
        fields = Headers.from_raw(pairs)
        if kind == "bytes" or head_only:
            if kind != "bytes":
                discard_body(value)
                value = b""
            if head_only or not value:
                machine.send(Response(stream_id, status, fields, end_stream=True))
            else:
                machine.send(Response(stream_id, status, fields))
                machine.send(Data(stream_id, value, end_stream=True))
            self._finish(stream_id)
            return
        machine.send(Response(stream_id, status, fields))
        self.streaming[stream_id] = value
        self._attach_waker(stream_id, body, value)

    def _attach_waker(self, stream_id: int, body: object, stream: Iterator[bytes]) -> None:
        """Give a body with ``attach_waker`` a thread-safe way to resume after a pause."""
        attach = getattr(body, "attach_waker", None)
        if attach is None:
            return
        server = self.server

        def resume() -> None:
            if self.streaming.get(stream_id) is stream and stream_id in self.paused:
                self.paused.discard(stream_id)
                server.mark_dirty(self.owner)

        attach(lambda: server.call_soon(resume))
        self.wakeable.add(stream_id)

    def _finish(self, stream_id: int) -> None:
        self.exchanges.pop(stream_id, None)
        self.wakeable.discard(stream_id)
        self.paused.discard(stream_id)
        self._idle()

    def _pull(self) -> None:
        """Pull streamed bodies while the machine's buffers are low, round-robin."""
        machine = self.machine
        channel = self.channel
        budget = _TURN_BYTES
        while self.streaming and budget > 0 and channel.writable:
            progressed = False
            for stream_id, stream in list(self.streaming.items()):
                if (stream_id in self.paused
                        or machine.outbound_buffered(stream_id) >= _STREAM_LOW_WATER):
                    continue
                try:
                    chunk: object = next(stream)
                    if type(chunk) is not bytes:
                        if not isinstance(chunk, (bytearray, memoryview)):
                            raise TypeError(f"a streamed body yielded {type(chunk).__name__}")
                        chunk = bytes(chunk)
                except StopIteration:
                    del self.streaming[stream_id]
                    machine.send(Data(stream_id, b"", end_stream=True))
                    self._finish(stream_id)
                    progressed = True
                    continue
                except Exception:
                    del self.streaming[stream_id]
                    self.server.metrics.handler_errors.inc()
                    log.exception("streamed response body failed; stream reset")
                    machine.send(ResetStream(stream_id, ErrorCode.INTERNAL_ERROR))
                    self._finish(stream_id)
                    continue
                if chunk:
                    machine.send(Data(stream_id, chunk))
                    budget -= len(chunk)
                    progressed = True
                elif stream_id in self.wakeable:  # nothing now: wait for the body's wake()
                    self.paused.add(stream_id)
            if not progressed:
                break
        if self.streaming and budget <= 0:
            self.server.mark_dirty(self.owner)

    # -- the turn's end ---------------------------------------------------------------

    def _before_flush(self) -> None:
        if self.streaming:
            self._pull()

    def _idle(self) -> None:
        """Arm the keep-alive deadline while no stream is open, clear it otherwise."""
        self._arm_read()
        channel = self.channel
        if self.exchanges or self.streaming:
            channel.set_deadline("idle", None)
        else:
            limits = self.server.limits
            channel.set_deadline("idle", self.server.now + limits.keepalive_idle_timeout)

    def shutdown(self) -> None:
        """Graceful close: GOAWAY; open streams finish, new ones are refused."""
        if self.closed or self.draining:
            return
        self.draining = True
        if self.channel.state.value == "open":
            self.machine.close()
            if not self.exchanges and not self.streaming:
                self.channel.close_after_flush()
        self.server.mark_dirty(self.owner)

    def release(self) -> None:
        """Let go of every stream (the connection is closing); idempotent."""
        if self.closed:
            return
        super().release()
        for stream in self.streaming.values():
            discard_body(stream)
        self.streaming.clear()
        self.wakeable.clear()
        self.paused.clear()
        for exchange in self.exchanges.values():
            if exchange.ws is not None:
                exchange.ws.closed = True
                exchange.ws.socket._mark_closed(1006, "connection closed")
        self.exchanges.clear()  # a late respond() finds no stream and discards its body

    @property
    def busy(self) -> bool:
        """Whether streams are open or output is queued."""
        return bool(self.exchanges or self.streaming or self.channel.pending)


def h2c_settings(request: H1Request) -> bytes | None:
    """The ``HTTP2-Settings`` value if ``request`` asks for ``Upgrade: h2c``, else ``None``.

    The request must name ``h2c`` among its Upgrade protocols, carry exactly
    one HTTP2-Settings field, and list both ``Upgrade`` and ``HTTP2-Settings``
    in Connection (RFC 7540 §3.2).
    """
    headers = request.headers
    upgrade = headers.lookup_raw(b"upgrade") or []
    if not any(token.strip().lower() == b"h2c" for value in upgrade for token in value.split(b",")):
        return None
    settings = headers.lookup_raw(b"http2-settings") or []
    if len(settings) != 1:
        return None
    options = {
        token.strip().lower()
        for value in headers.lookup_raw(b"connection") or []
        for token in value.split(b",")
    }
    if not {b"upgrade", b"http2-settings"} <= options:
        return None
    return settings[0]


def _as_h1_request(event: H2Request) -> H1Request:
    """The HTTP/2 request as the server's request event (``Host`` from ``:authority``)."""
    pairs = event.headers.raw_items()
    cookies = [value for name, value in pairs if name == b"cookie"]
    if len(cookies) > 1:  # RFC 9113 §8.2.3: crumbs are joined for HTTP/1.1-minded code
        pairs = [item for item in pairs if item[0] != b"cookie"]
        pairs.append((b"cookie", b"; ".join(cookies)))
    if event.authority and not any(name == b"host" for name, _ in pairs):
        pairs = [(b"host", event.authority), *pairs]
    target = event.authority if event.method == b"CONNECT" and not event.protocol else event.path
    return H1Request(event.method, target, Headers.from_raw(pairs), b"2")


def _slices(body: bytes) -> Iterator[bytes]:
    """A large bytes body in 64 KiB pieces (memory views would pin nothing more)."""
    view = memoryview(body)
    for start in range(0, len(view), _FILE_CHUNK):
        yield bytes(view[start : start + _FILE_CHUNK])


def _file_chunks(file: IO[bytes], offset: int, size: int) -> Iterator[bytes]:
    """``size`` bytes of ``file`` from ``offset`` in chunks; the file is closed at the end."""
    try:
        file.seek(offset)
        left = size
        while left > 0:
            chunk = file.read(min(left, _FILE_CHUNK))
            if not chunk:
                raise NetworkError(0, "the file ended before its promised length")
            left -= len(chunk)
            yield chunk
    finally:
        file.close()
