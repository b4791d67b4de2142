"""One client connection of :class:`~sockit.server.HTTPServer`: HTTP/1.1 over a Channel.

The connection moves through phases, each with its own deadline:

========== ============================================= ==========================
phase      what happens                                  deadline (ServerLimits)
========== ============================================= ==========================
READING    a request's head and body arrive              ``request_read_timeout``:
                                                         408, then close (silent if
                                                         nothing arrived at all)
WAITING    the complete request is with the application  none (the app's business)
RESPONDING the response is produced and written          ``response_write_timeout``
                                                         without progress: reset
IDLE       keep-alive, between requests                  ``keepalive_idle_timeout``:
                                                         close silently
CLOSING    last answer sent, write side shut, draining   the channel's linger
========== ============================================= ==========================

``connection_lifetime`` ends keep-alive: an idle connection is closed, a busy
one answers its current request with ``Connection: close``.

Input is read only while a request is being read; during WAITING and
RESPONDING at most one read is done (so a client's EOF is seen), and the
HTTP/1.1 machine holds pipelined bytes until the response is complete and
``start_next_cycle`` runs — responses therefore go out in request order. The
next pipelined request is parsed only once our queued output is below the
channel's high-water mark, so a client that pipelines without reading cannot
make the server buffer answers without bound.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Final, TypeAlias

from sockit.errors import (
    LimitExceeded,
    LocalProtocolError,
    NetworkError,
    RemoteProtocolError,
    SockitError,
    TLSError,
)
from sockit.limits import WSLimits
from sockit.net import Socket
from sockit.net.channel import Channel
from sockit.observe import get_logger
from sockit.proto.events import Event, Role
from sockit.proto.http import Headers, HeadersInput, reason_phrase
from sockit.proto.http1 import (
    Connection,
    ConnectionClosed,
    ConnectionState,
    Data,
    EndOfMessage,
    InformationalResponse,
    Request,
    Response,
)
from sockit.proto.ws import DeflateConfig
from sockit.server.errors import MAX_PAGE_SIZE
from sockit.server.h2 import H2Session
from sockit.server.h2switch import sniff, try_h2c_upgrade
from sockit.server.request import Address, ResponseBody, ServerRequest, body_kind
from sockit.server.response import (
    discard_body,
    error_fields,
    header_pairs,
    reason_bytes,
)
from sockit.server.ws import WebSocket, WSSession
from sockit.server.wsswitch import accept_websocket, is_websocket_request

if TYPE_CHECKING:
    from sockit.server.core import HTTPServer

__all__ = ["ConnPhase", "ErrorPages", "HTTPConnection"]

#: ``error_pages(status) -> (header pairs, body)``: the server's own error answers
#: (:meth:`sockit.server.ErrorHandlers.page` is one).
ErrorPages: TypeAlias = Callable[[int], tuple[list[tuple[bytes, bytes]], bytes]]

log = get_logger("server")


class ConnPhase(enum.Enum):
    """Where a server connection is; see the module docstring."""

    READING = "reading"
    WAITING = "waiting"
    RESPONDING = "responding"
    IDLE = "idle"
    CLOSING = "closing"
    #: Switched to HTTP/2: the connection's :class:`~sockit.server.h2.H2Session` runs it.
    HTTP2 = "http2"
    #: Switched to WebSocket: the connection's :class:`~sockit.server.ws.WSSession` runs it.
    WEBSOCKET = "websocket"


READING = ConnPhase.READING
WAITING = ConnPhase.WAITING
RESPONDING = ConnPhase.RESPONDING
IDLE = ConnPhase.IDLE
CLOSING = ConnPhase.CLOSING
HTTP2 = ConnPhase.HTTP2
WEBSOCKET = ConnPhase.WEBSOCKET

_ERROR = ConnectionState.ERROR
_DONE = ConnectionState.DONE
_CAN_ANSWER = frozenset({ConnectionState.IDLE, ConnectionState.SEND_RESPONSE})
_CONTINUE = InformationalResponse(100, reason=b"Continue")
_END = EndOfMessage()
_NO_BODY_STATUSES = frozenset({204, 304})
#: Fields of an error page that only the server may set (see ``HTTPConnection.error_page``).
_FRAMING_FIELDS: Final = frozenset(
    {b"content-length", b"connection", b"transfer-encoding", b"date", b"keep-alive", b"upgrade"}
)
#: Most bytes of a streamed body pulled per connection per loop turn (fairness).
_STREAM_TURN_BYTES: Final = 256 * 1024


class HTTPConnection:
    """The server side of one connection (internal to the server; see the module docstring)."""

    __slots__ = (
        "_body",
        "_bytes_seen",
        "_current",
        "_dirty",
        "_paused",
        "_request",
        "_response_done",
        "_served",
        "_sniffed",
        "_sniffing",
        "_stream",
        "_wakeable",
        "channel",
        "client",
        "client_key",
        "close_after",
        "closed",
        "counted",
        "h2",
        "machine",
        "peer_closed",
        "phase",
        "server",
        "ws",
    )

    def __init__(
        self,
        server: HTTPServer,
        sock: Socket,
        client: Address,
        client_key: str | None,
        *,
        counted: bool = True,
    ) -> None:
        self.server = server
        limits = server.limits
        self.machine = Connection(Role.SERVER, server.http1_config)
        self.channel: Channel[Connection] = Channel(
            sock,
            self.machine,
            data=self,
            buffer=server.receive_buffer,
            write_timeout=limits.response_write_timeout,
            linger_timeout=server.linger_timeout,
            feed=server.feed,
        )
        self.client = client
        self.client_key = client_key
        self.counted = counted
        self.phase = READING
        self.closed = False
        self.close_after = False
        self.peer_closed = False
        self._bytes_seen = False
        self._dirty = False
        self._served = 0
        self._request: Request | None = None
        self._body: list[bytes] = []
        self._current: ServerRequest | None = None
        self._stream: Iterator[bytes] | None = None
        #: The streamed body has a waker: an empty chunk pauses it until ``wake()``.
        self._wakeable = False
        self._paused = False
        self._response_done = False
        #: The HTTP/2 session once the connection switched (prior knowledge or h2c).
        self.h2: H2Session | None = None
        #: The WebSocket session once a request was accepted as one.
        self.ws: WSSession | None = None
        self._sniffing = server.http2 is not None  # the first bytes may be the HTTP/2 preface
        self._sniffed = b""
        now = server.now
        self.channel.set_deadline("read", now + limits.request_read_timeout)
        self.channel.set_deadline("lifetime", now + limits.connection_lifetime)

    def __repr__(self) -> str:
        return f"<HTTPConnection {self.client!r} {self.phase.value} served={self._served}>"

    @property
    def keep_alive(self) -> bool:
        """Whether another request may follow the current one."""
        return self.machine.keep_alive and not self.close_after

    @property
    def bytes_seen(self) -> bool:
        """Whether any byte of the request being read has arrived."""
        return self._bytes_seen

    # -- events from the loop ---------------------------------------------------------

    def on_io(self, readable: bool, writable: bool) -> None:
        """The socket is ready."""
        if self.closed:
            return
        if self.h2 is not None:
            self.h2.on_io(readable, writable)
            return
        if self.ws is not None:
            self.ws.on_io(readable, writable)
            return
        try:
            if writable:
                self._progress()
            if readable and not self.closed:
                self._on_readable()
        except Exception as exc:
            self._fail(exc)
            return
        if not self._dirty:
            self._settle()

    def on_timer(self) -> None:
        """The channel's timer fired: act on what is due."""
        if self.closed:
            return
        if self.h2 is not None:
            self.h2.on_timer()
            return
        if self.ws is not None:
            self.ws.on_timer()
            return
        try:
            events, due = self.channel.expire(self.server.now)
            if events:
                self._feed(lambda: events)
            for name in due:
                self._on_due(name)
        except Exception as exc:
            self._fail(exc)
            return
        if not self._dirty:
            self._settle()

    def _on_due(self, name: str) -> None:
        """Act on the deadline ``name`` (see the module docstring)."""
        if self.closed:
            return
        metrics = self.server.metrics
        phase = self.phase
        if name == "read" and phase is READING:
            metrics.timeout("read")
            if self._bytes_seen and self.machine.our_state in _CAN_ANSWER:
                self._refuse_with(408, "request_read_timeout")
            else:
                self.close()
        elif name == "idle" and phase is IDLE:
            if self.channel.pending:  # still writing the last answer: wait for it
                limits = self.server.limits
                self.channel.set_deadline("idle", self.server.now + limits.keepalive_idle_timeout)
            else:
                metrics.timeout("idle")
                self.close()
        elif name == "write":
            metrics.timeout("write")
            self.close(reset=True)
        elif name == "linger":
            self.close()
        elif name == "lifetime":
            metrics.timeout("lifetime")
            self.close_after = True
            if phase is IDLE or (phase is READING and not self._bytes_seen):
                self.close()

    def advance(self) -> None:
        """End of a loop turn: pull streamed bodies, flush, start the next exchange."""
        self._dirty = False
        if self.closed:
            return
        if self.h2 is not None:
            self.h2.advance()
            return
        if self.ws is not None:
            self.ws.advance()
            return
        try:
            self._progress()
        except Exception as exc:
            self._fail(exc)
            return
        if not self._dirty:
            self._settle()

    def _fail(self, exc: Exception) -> None:
        """This connection cannot go on: a network error, or an answer the writer refused."""
        if isinstance(exc, TLSError):  # a failed handshake or bad records: the alert, then close
            self.server.metrics.tls_failure(str(getattr(exc, "reason", "tls-error")))
            log.debug("TLS with %r failed: %s", self.client, exc)
            with contextlib.suppress(SockitError, OSError):
                tls = self.channel.tls
                if tls is not None:
                    alert = tls.output()
                    if alert:
                        self.channel.sock.try_send(alert)
            self.close()
            return
        if not isinstance(exc, NetworkError):  # a streamed body off its Content-Length...
            self.server.metrics.handler_errors.inc()
            log.error("connection to %r aborted: %s", self.client, exc, exc_info=exc)
        self.close(reset=True)

    def _settle(self) -> None:
        if self.closed:
            return
        channel = self.channel
        if channel.finished:
            self.close()
            return
        channel.update()

    def _mark_dirty(self) -> None:
        if not self._dirty:
            self._dirty = True
            self.server.mark_dirty(self)

    # -- reading --------------------------------------------------------------------

    def _on_readable(self) -> None:
        if self._sniffing:
            sniff(self)
            return
        channel = self.channel
        phase = self.phase
        if phase is CLOSING:
            channel.receive()  # discarded: draining towards the peer's EOF
            return
        if phase is WAITING or phase is RESPONDING:
            channel.reading = False  # one read to see EOF; the rest waits for the next cycle
            self._feed(channel.receive)
            return
        stats = channel.sock.stats
        before = stats.bytes_received
        self._feed(channel.receive)
        if self.phase is phase and stats.bytes_received != before and not self.closed:
            if phase is IDLE:  # the start of the next request, not yet a whole head
                self._begin_reading()
            self._bytes_seen = True

    def _begin_reading(self) -> None:
        self.phase = READING
        channel = self.channel
        channel.set_deadline("idle", None)
        channel.set_deadline("read", self.server.now + self.server.limits.request_read_timeout)

    def _feed(self, source: Callable[[], Sequence[Event]]) -> None:
        """Handle the events ``source()`` gives, surfacing a deferred machine error."""
        try:
            events = source()
            if events:
                self._handle(events)
            if self.machine.their_state is _ERROR and not self.closed:
                self.channel.receive_buffered()  # raises the error the machine holds
        except RemoteProtocolError as exc:
            self._refuse(exc)

    def _handle(self, events: Sequence[Event]) -> None:
        for event in events:
            kind = type(event)
            if kind is Request:
                assert isinstance(event, Request)
                self._start_request(event)
            elif kind is Data:
                assert isinstance(event, Data)
                self._body.append(event.data)
            elif kind is EndOfMessage:
                assert isinstance(event, EndOfMessage)
                self._complete_request(event)
            elif kind is ConnectionClosed:
                self.peer_closed = True
        if self.peer_closed and (self.phase is IDLE or self.phase is READING or self._paused):
            self.close()  # (a paused body would otherwise hold the connection until its wake)
        elif self._request is not None and self.machine.they_are_waiting_for_100_continue:
            # a head with Expect: 100-continue and no body byte yet: we will read it, say so
            self.channel.send(_CONTINUE)
            self._mark_dirty()

    def _start_request(self, event: Request) -> None:
        if self.phase is not READING:
            self._begin_reading()
        self._bytes_seen = True
        self._request = event

    def _complete_request(self, end: EndOfMessage) -> None:
        request = self._request
        assert request is not None
        parts = self._body
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        self._body = []
        self._request = None
        server = self.server
        if server.http2 is not None and request.headers.lookup_raw(b"upgrade") is not None:
            self._bytes_seen = False
            if try_h2c_upgrade(self, request, body):
                return
        req = ServerRequest(self, request, body, end, self.client)
        self._current = req
        self._served += 1
        self._bytes_seen = False
        self.phase = WAITING
        self.channel.set_deadline("read", None)
        server.metrics.request(request.method)
        if self._served >= server.limits.max_requests_per_connection:
            self.close_after = True
        server.deliver(req)

    # -- answering --------------------------------------------------------------------

    def respond(
        self,
        req: ServerRequest,
        status: int,
        headers: HeadersInput | None,
        body: ResponseBody,
        reason: str | None,
    ) -> None:
        """Start the response to ``req`` (see :meth:`ServerRequest.respond`)."""
        if self.closed or req is not self._current:
            discard_body(body)  # the client is gone: release what the app handed over
            return
        self._current = None
        try:
            self._start_response(req, status, headers, body, reason)
        except (LocalProtocolError, TypeError, ValueError):
            discard_body(body)
            self.close(reset=True)
            raise
        self._mark_dirty()

    def send_informational(self, req: ServerRequest, status: int, headers: Headers) -> None:
        """Queue a 1xx head for ``req`` (see :meth:`ServerRequest.send_informational`)."""
        if self.closed or req is not self._current or self.phase is not WAITING:
            return  # answered, refused or gone: an interim head no longer means anything
        phrase = reason_bytes(status)
        with contextlib.suppress(LocalProtocolError):  # the machine says too late: drop it
            self.channel.send(InformationalResponse(status, headers, reason=phrase))
            self._mark_dirty()

    def _start_response(
        self,
        req: ServerRequest,
        status: int,
        headers: HeadersInput | None,
        body: ResponseBody,
        reason: str | None,
    ) -> None:
        if type(body) is bytes:  # the usual answer: one step on the machine
            phrase = reason_bytes(status) if reason is None else reason.encode("latin-1")
            server = self.server
            self.machine.send_response(
                status,
                header_pairs(headers),
                body,
                reason=phrase,
                close=self.close_after or server.closing,
                date=server.date_header(),
            )
            server.metrics.response(status)
            self.phase = RESPONDING
            self._response_done = True
            return
        kind, value = body_kind(body)
        pairs = header_pairs(headers)
        names = {name.lower() for name, _ in pairs} if pairs else set()
        allows_body = status >= 200 and status not in _NO_BODY_STATUSES
        head_only = req.event.method == b"HEAD" or not allows_body
        file_size = 0
        if kind == "bytes":
            if allows_body and b"content-length" not in names:
                pairs.append((b"Content-Length", b"%d" % len(value)))
        elif kind == "file":
            file_size = value[2]
            if b"content-length" in names:
                raise LocalProtocolError("a file body's Content-Length is set by the server")
            if allows_body:
                pairs.append((b"Content-Length", b"%d" % file_size))
        if (self.close_after or self.server.closing) and not any(
            name.lower() == b"connection" and b"close" in value.lower() for name, value in pairs
        ):
            pairs.append((b"Connection", b"close"))  # this is the connection's last answer
        if b"date" not in names:
            pairs.append((b"Date", self.server.date_header()))
        phrase = reason_bytes(status) if reason is None else reason.encode("latin-1")
        machine = self.machine
        machine.send(Response(status, Headers.from_raw(pairs), reason=phrase))
        self.server.metrics.response(status)
        self.phase = RESPONDING
        if kind == "bytes":
            if value:
                machine.send(Data(value))
            machine.send(_END)
            self._response_done = True
        elif kind == "file":
            if head_only:
                discard_body(value[0])
                machine.send(_END)
            else:
                self._send_file(value[0], value[1], file_size)
            self._response_done = True
        elif head_only:
            discard_body(value)
            machine.send(_END)
            self._response_done = True
        else:
            self._stream = value
            self._response_done = False
            self._attach_waker(body, value)

    def _attach_waker(self, body: object, stream: Iterator[bytes]) -> None:
        """Give a body with ``attach_waker`` a thread-safe way to resume after a pause."""
        self._wakeable = self._paused = False
        attach = getattr(body, "attach_waker", None)
        if attach is None:
            return
        server = self.server

        def resume() -> None:
            if self._stream is stream and self._paused and not self.closed:
                self._paused = False
                self._mark_dirty()

        attach(lambda: server.call_soon(resume))
        self._wakeable = True

    def _send_file(self, file: IO[bytes], offset: int, size: int) -> None:
        """Queue the file for ``sendfile`` after the head; the machine counts it unseen."""
        self.channel.collect()  # the head, before the body is accounted for
        self.machine.account_body(size)
        self.machine.send(_END)  # a Content-Length end: no bytes, just the state
        self.channel.send_file(file, offset, size, close=True)

    def _pull(self, budget: int) -> int:
        """Pull streamed chunks while the channel takes them; the bytes left of ``budget``."""
        stream = self._stream
        assert stream is not None
        channel = self.channel
        machine = self.machine
        while channel.writable and budget > 0:
            try:
                chunk: object = next(stream)
                if type(chunk) is not bytes:
                    if not isinstance(chunk, (bytearray, memoryview)):
                        raise TypeError(f"a streamed body yielded {type(chunk).__name__}")
                    chunk = bytes(chunk)
            except StopIteration:
                self._stream = None
                self._wakeable = self._paused = False
                machine.send(_END)
                self._response_done = True
                return budget
            except Exception:
                self._stream = None
                self.server.metrics.handler_errors.inc()
                log.exception("streamed response body failed; connection aborted")
                self.close(reset=True)
                return budget
            if chunk:
                machine.send(Data(chunk))
                channel.collect()
                budget -= len(chunk)
            elif self._wakeable:  # nothing now: wait for the body's wake()
                if self.peer_closed:  # the client left: nobody to wait for
                    self.close()
                    return budget
                self._paused = True
                return budget
        return budget

    def _progress(self) -> None:
        channel = self.channel
        budget = _STREAM_TURN_BYTES
        while True:
            if self._stream is not None and channel.writable and not self._paused:
                budget = self._pull(budget)
                if self.closed:
                    return
            channel.flush()
            if self._stream is None or not channel.writable or self._paused:
                break
            if budget <= 0:
                self._mark_dirty()  # more next turn, after the other connections
                break
        if self._response_done:
            self._finish_response()

    def _finish_response(self) -> None:
        machine = self.machine
        channel = self.channel
        server = self.server
        if (
            machine.our_state is _DONE
            and machine.their_state is _DONE
            and not self.close_after
            and not self.peer_closed
            and not server.closing
        ):
            if not channel.writable:
                return  # parse the next request once our answers drain
            self._response_done = False
            machine.start_next_cycle()
            self.phase = IDLE
            channel.reading = True
            channel.set_deadline("idle", server.now + server.limits.keepalive_idle_timeout)
            if machine.buffered_input:
                self._feed(channel.receive_buffered)  # a pipelined request is held
            return
        self._response_done = False
        self.phase = CLOSING
        channel.close_after_flush()

    # -- refusing ---------------------------------------------------------------------

    def _refuse(self, exc: RemoteProtocolError) -> None:
        """The peer sent bytes we refuse: answer the error's status, then close."""
        status = exc.http_status or 400
        reason = exc.limit if isinstance(exc, LimitExceeded) and exc.limit else f"http_{status}"
        if self.channel.eof_received:  # cut off mid-message: nobody is left to answer
            self.server.metrics.refusal("incomplete")
            self.close()
            return
        phase = self.phase
        if phase is WAITING or phase is RESPONDING:
            # held pipelined input went bad: finish this exchange, then close
            self.server.metrics.refusal(reason)
            self.close_after = True
            self.channel.reading = False
            return
        if self.machine.our_state in _CAN_ANSWER:
            self._refuse_with(status, reason)
        else:
            self.server.metrics.refusal(reason)
            self.close(reset=True)

    def _refuse_with(self, status: int, reason: str) -> None:
        """Answer ``status`` with ``Connection: close`` and close cleanly."""
        server = self.server
        server.metrics.refusal(reason)
        self.send_error(status)

    def is_websocket(self, req: ServerRequest) -> bool:
        """Whether ``req`` asks for ``Upgrade: websocket``."""
        return is_websocket_request(req)

    def accept_websocket(
        self,
        req: ServerRequest,
        subprotocol: str | None,
        compression: bool | DeflateConfig,
        limits: WSLimits | None = None,
    ) -> WebSocket:
        """Switch to WebSocket for ``req`` (see :meth:`ServerRequest.accept_websocket`)."""
        return accept_websocket(self, req, subprotocol, compression, limits)

    def send_error(self, status: int) -> None:
        """Send the error page (custom or a short text) with ``Connection: close``, then close."""
        server = self.server
        page = self.error_page(status)
        if page is None:
            body = f"{status} {reason_phrase(status)}\n".encode()
            fields = error_fields(status, len(body), server.date_header())
        else:
            pairs, body = page
            pairs.append((b"Content-Length", b"%d" % len(body)))
            pairs.append((b"Connection", b"close"))
            pairs.append((b"Date", server.date_header()))
            fields = Headers.from_raw(pairs)
        machine = self.machine
        machine.send(Response(status, fields, reason=reason_bytes(status)))
        machine.send(Data(body))
        machine.send(_END)
        self._closing_answer(status)

    def error_page(self, status: int) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
        """The server's ``error_pages`` answer for ``status``, checked; ``None``: the plain one.

        Called on the loop's thread for the server's own errors (no request to
        hand to the application). Fields are validated here, and a page that
        fails, is not ``bytes`` or is over ``MAX_PAGE_SIZE`` is logged and
        replaced by the plain text, so a broken page cannot break the refusal.
        Framing fields (``Content-Length``, ``Connection``, ``Transfer-Encoding``,
        ``Date``) are the server's and are dropped from the page.
        """
        pages = self.server.error_pages
        if pages is None:
            return None
        try:
            fields, body = pages(status)
            if not isinstance(body, (bytes, bytearray)) or len(body) > MAX_PAGE_SIZE:
                raise TypeError(f"an error page body must be bytes up to {MAX_PAGE_SIZE} bytes")
            pairs = Headers(fields).raw_items()
        except Exception:
            log.exception("error page for %d failed; sending the plain one", status)
            return None
        return [item for item in pairs if item[0].lower() not in _FRAMING_FIELDS], bytes(body)

    def send_refusal(self, status: int, fields: list[tuple[bytes, bytes]], body: bytes) -> None:
        """Send a whole refusal with these fields and ``Connection: close``, then close."""
        self.machine.send_response(
            status, fields, body, reason=reason_bytes(status), close=True,
            date=self.server.date_header(),
        )
        self._closing_answer(status)

    def _closing_answer(self, status: int) -> None:
        server = self.server
        server.metrics.response(status)
        self._current = None
        self.phase = CLOSING
        channel = self.channel
        channel.set_deadline("read", None)
        channel.set_deadline("idle", None)
        channel.close_after_flush()
        self._mark_dirty()

    # -- closing ----------------------------------------------------------------------

    def close(self, *, reset: bool = False) -> None:
        """Close now (``reset``: with a RST) and let the server forget this connection."""
        if self.closed:
            return
        if self.h2 is not None:
            self.h2.release()
        if self.ws is not None:
            self.ws.release()
        self.closed = True
        self._current = None
        stream = self._stream
        self._stream = None
        if stream is not None:
            discard_body(stream)
        self.channel.close(reset=reset)
        self.server.forget(self)
