"""One HTTP/2 connection shared by every thread of an :class:`~sockit.HTTPClient`.

Requests from many threads travel as concurrent streams over one socket.
There is no background thread: whichever thread needs input and finds
nobody reading becomes the reader — it reads, feeds the HTTP/2 machine,
sorts the events into each stream's queue and wakes the others — and the
rest wait on a condition variable. Writes go out under a write lock, in the
order the machine produced them.

Flow control is manual and tied to consumption: a stream's DATA is
acknowledged (WINDOW_UPDATE) when its reader takes it, so a slow consumer
slows its sender instead of filling memory. Request bodies larger than the
windows are handed to the machine as it has room (``max_stream_send_buffer``)
and the sending thread reads meanwhile, which is how WINDOW_UPDATEs arrive.

For :class:`~sockit.client.response.BodyStream` and the client, a stream
looks like an HTTP/1.1 connection: :class:`H2Stream` has ``next_event``
returning the HTTP/1.1 machine's ``Response``/``Data``/``EndOfMessage``
events (``http_version`` ``b"2"``), and it is its own "pool" (release and
discard end the stream).
"""

from __future__ import annotations

import contextlib
import errno
import math
import select
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Final

from sockit.client.timeouts import Deadlines
from sockit.client.tlsio import Transport
from sockit.errors import (
    ConnectionClosed,
    LocalProtocolError,
    Phase,
    RemoteProtocolError,
    SockitError,
    Timeout,
)
from sockit.proto.events import Event, Role
from sockit.proto.http import Headers
from sockit.proto.http.url import Origin
from sockit.proto.http1 import Data as H1Data
from sockit.proto.http1 import EndOfMessage, InformationalResponse
from sockit.proto.http1 import Request as H1Request
from sockit.proto.http1 import Response as H1Response
from sockit.proto.http2 import (
    Connection,
    ConnectionFailed,
    Data,
    ErrorCode,
    GoAwayReceived,
    H2Config,
    Request,
    ResetStream,
    Response,
    StreamEnded,
    StreamReset,
    Trailers,
)
from sockit.proto.http2 import InformationalResponse as H2Informational
from sockit.proto.http2.events import ConnectionClosed as H2Closed

__all__ = ["H2ClientConnection", "H2Stream"]

_monotonic: Final = time.monotonic
_RECV_SIZE: Final = 256 * 1024
_POLLIN: Final = select.POLLIN | select.POLLPRI
_POLLOUT: Final = select.POLLOUT
#: Request-body bytes a sender lets the machine hold before it waits for credit.
_SEND_AHEAD: Final = 256 * 1024
#: Fields HTTP/2 forbids (RFC 9113 §8.2.2); an HTTP/1.1-minded caller's are dropped.
_HOP_FIELDS: Final = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade", b"host"}
)


class _StreamState:
    __slots__ = ("closed", "events", "received", "trailers")

    def __init__(self) -> None:
        self.events: deque[Event] = deque()
        self.closed = False
        self.received = 0
        self.trailers: Headers | None = None


class H2ClientConnection:
    """A socket and a client HTTP/2 machine, safe to share between threads."""

    def __init__(self, sock: Transport, origin: Origin, config: H2Config | None = None) -> None:
        base = H2Config() if config is None else config
        if base.auto_window_update:
            # credit follows consumption (see the module docstring)
            import dataclasses  # noqa: PLC0415 - once per connection

            base = dataclasses.replace(base, auto_window_update=False)
        self.sock = sock
        self.origin = origin
        self._machine = Connection(Role.CLIENT, base)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._write_lock = threading.Lock()
        self._streams: dict[int, _StreamState] = {}
        self._reading = False
        self._error: SockitError | None = None
        self._goaway = False
        self._retiring = False
        fd = sock.fileno()
        self._pin = select.poll()
        self._pin.register(fd, _POLLIN)
        self._pout = select.poll()
        self._pout.register(fd, _POLLOUT)
        #: Streams opened on this connection.
        self.streams_opened = 0
        self._flush(None)  # the preface and our SETTINGS

    # -- state ------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        """Whether new streams may be opened (no error, no GOAWAY, socket open)."""
        return self._error is None and not self._goaway and not self.sock.closed

    @property
    def active_streams(self) -> int:
        """Streams in flight."""
        return len(self._streams)

    def _capacity(self) -> int:
        limit = self._machine.remote_settings.max_concurrent_streams
        return 100 if limit is None else limit

    def close(self) -> None:
        """Say GOAWAY and close the socket; streams in flight fail with ConnectionClosed."""
        with self._cond:
            polite = self._error is None and not self.sock.closed
            if polite:
                try:
                    self._machine.close()
                except SockitError:
                    polite = False
            if self._error is None:
                self._error = ConnectionClosed(errno.ECONNABORTED, "the client closed")
            self._cond.notify_all()
        if polite:
            with contextlib.suppress(SockitError):
                self._flush(None, wait=False)
        self.sock.close()

    def close_when_idle(self) -> None:
        """Close once no stream is in flight (now, if none is)."""
        with self._cond:
            self._retiring = True
            idle = not self._streams
        if idle:
            self.close()

    # -- opening a stream -------------------------------------------------------

    def open_stream(
        self,
        request: H1Request,
        scheme: str,
        chunks: Iterator[bytes] | None,
        dl: Deadlines,
        trailers: Headers | None = None,
    ) -> H2Stream:
        """Send ``request`` (an HTTP/1.1 request event) as a new stream, its body, ``trailers``."""
        authority = request.headers.get_raw("host") or self.origin[1].encode("idna")
        pairs = [
            (name.lower(), value)
            for name, value in request.headers.raw_items()
            if name.lower() not in _HOP_FIELDS
        ]
        with self._cond:
            self._wait_locked(
                lambda: self._error is not None
                or self._goaway
                or len(self._streams) < self._capacity(),
                dl.total,
                Phase.POOL,
            )
            self._raise_if_failed()
            if self._goaway:
                raise ConnectionClosed(errno.ECONNRESET, "the server is closing the connection")
            stream_id = self._machine.next_stream_id()
            self._machine.send(
                Request(
                    stream_id,
                    request.method,
                    request.target,
                    scheme=scheme.encode("ascii"),
                    authority=authority,
                    headers=Headers.from_raw(pairs),
                    end_stream=chunks is None,
                )
            )
            self._streams[stream_id] = _StreamState()
            self.streams_opened += 1
        stream = H2Stream(self, stream_id)
        try:
            self._flush(dl)
            if chunks is not None:
                self._send_body(stream_id, chunks, dl, trailers)
        except BaseException:
            stream.discard(stream)
            raise
        return stream

    def _send_body(
        self,
        stream_id: int,
        chunks: Iterator[bytes],
        dl: Deadlines,
        trailers: Headers | None = None,
    ) -> None:
        machine = self._machine
        for chunk in chunks:
            if not chunk:
                continue
            with self._cond:
                deadline, phase = dl.until(dl.write, Phase.WRITE)
                self._wait_locked(
                    lambda: self._error is not None
                    or stream_id not in self._streams
                    or machine.outbound_buffered(stream_id) < _SEND_AHEAD,
                    deadline,
                    phase,
                )
                self._raise_if_failed()
                if stream_id not in self._streams or self._streams[stream_id].closed:
                    return  # the server answered (or reset) early: the rest is not wanted
                machine.send(Data(stream_id, bytes(chunk)))
            self._flush(dl)
        with self._cond:
            self._raise_if_failed()
            if stream_id in self._streams and not self._streams[stream_id].closed:
                if trailers:  # a HEADERS frame ends the stream (RFC 9113 section 8.1)
                    lowered = [(n.lower(), v) for n, v in trailers.raw_items()]
                    machine.send(Trailers(stream_id, Headers.from_raw(lowered)))
                else:
                    machine.send(Data(stream_id, b"", end_stream=True))
        self._flush(dl)

    # -- the reader ---------------------------------------------------------------

    def _wait_locked(
        self, ready: Callable[[], object], deadline: float | None, which: Phase
    ) -> None:
        """With the lock held: wait until ``ready()`` (or a failure), reading when nobody is.

        ``deadline`` is absolute (``time.monotonic``); passing it raises
        :class:`Timeout` in phase ``which``.
        """
        while not ready():
            if self._error is not None:
                return
            if not self._reading:
                self._reading = True
                self._cond.release()
                try:
                    self._read_once(deadline, which)
                finally:
                    self._cond.acquire()
                    self._reading = False
                    self._cond.notify_all()
                continue
            if deadline is None:
                self._cond.wait()
            else:
                left = deadline - _monotonic()
                if left <= 0:
                    raise Timeout(
                        f"waiting on {self.origin} timed out (phase {which.value})", phase=which
                    )
                self._cond.wait(left)

    def _read_once(self, deadline: float | None, phase: Phase) -> None:
        """Without the lock: wait for input, read it, and sort its events."""
        ms = -1 if deadline is None else math.ceil(max(0.0, deadline - _monotonic()) * 1000)
        if not self._pin.poll(ms):
            if deadline is not None and _monotonic() >= deadline:
                raise Timeout(
                    f"waiting on {self.origin} timed out (phase {phase.value})", phase=phase
                )
            return
        try:
            data = self.sock.try_recv(_RECV_SIZE)
        except SockitError as exc:
            with self._cond:
                self._fail(exc)
            return
        if data is None:
            return
        with self._cond:
            machine = self._machine
            events = machine.receive_data(data, now=_monotonic()) if data else machine.receive_eof()
            self._sort(events)
            if not data and self._error is None:
                self._fail(ConnectionClosed(errno.ECONNRESET, "the server closed the connection"))
        self._flush(None)

    def _sort(self, events: list[Event]) -> None:
        streams = self._streams
        for event in events:
            stream_id = getattr(event, "stream_id", None)
            if stream_id is not None:
                state = streams.get(stream_id)
                if state is not None:
                    state.events.append(event)
                    if type(event) is StreamReset:
                        state.closed = True
                continue
            if type(event) is GoAwayReceived:
                self._goaway = True
            elif type(event) is ConnectionFailed or type(event) is H2Closed:
                code = getattr(event, "error_code", None)
                self._fail(RemoteProtocolError(f"HTTP/2 connection failed (error {code})"))

    def _fail(self, exc: SockitError) -> None:
        if self._error is None:
            self._error = exc
        self._cond.notify_all()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error.with_traceback(None)

    def _flush(self, dl: Deadlines | None, *, wait: bool = True) -> None:
        """Send what the machine queued; the write lock keeps frames in order.

        ``wait=False`` sends what the kernel takes now and drops the rest (closing).
        """
        with self._write_lock:
            with self._lock:
                out = self._machine.data_to_send()
            if not out:
                return
            view = memoryview(out)
            sent = 0
            while sent < len(view):
                n = self.sock.try_send(view[sent:]).sent
                if n:
                    sent += n
                    continue
                if not wait:
                    return
                deadline = None if dl is None else dl.until(dl.write, Phase.WRITE)[0]
                ms = -1 if deadline is None else math.ceil(max(0.0, deadline - _monotonic()) * 1000)
                if not self._pout.poll(ms):
                    raise Timeout(f"sending to {self.origin} timed out", phase=Phase.WRITE)

    # -- per stream ---------------------------------------------------------------

    def next_event(
        self, stream_id: int, dl: Deadlines, phase: Phase, timeout: float | None
    ) -> Event:
        """The stream's next event as an HTTP/1.1 machine event."""
        while True:
            with self._cond:
                state = self._streams.get(stream_id)
                if state is None:
                    raise LocalProtocolError("the stream is over")
                if not state.events:
                    deadline, which = dl.until(timeout, phase)
                    self._wait_locked(state.events.__len__, deadline, which)
                    if not state.events:
                        self._raise_if_failed()
                event = state.events.popleft()
                converted = self._convert(stream_id, state, event)
            if converted is not None:
                self._flush(None)  # the WINDOW_UPDATE the consumption earned
                return converted

    def _convert(self, stream_id: int, state: _StreamState, event: Event) -> Event | None:
        kind = type(event)
        if kind is Data:
            assert isinstance(event, Data)
            self._machine.acknowledge_received_data(stream_id, len(event.data))
            state.received += len(event.data)
            return H1Data(event.data)
        if kind is Response:
            assert isinstance(event, Response)
            return H1Response(event.status_code, event.headers, b"", b"2")
        if kind is H2Informational:
            assert isinstance(event, H2Informational)
            return InformationalResponse(event.status_code, event.headers, b"", b"2")
        if kind is Trailers:
            assert isinstance(event, Trailers)
            state.trailers = event.headers
            return None
        if kind is StreamEnded:
            state.closed = True
            return EndOfMessage() if state.trailers is None else EndOfMessage(state.trailers)
        if kind is StreamReset:
            assert isinstance(event, StreamReset)
            state.closed = True
            if event.error_code == ErrorCode.REFUSED_STREAM:
                raise ConnectionClosed(errno.ECONNRESET, "the server refused the stream")
            raise RemoteProtocolError(f"the server reset the stream (error {event.error_code})")
        return None

    def end_stream(self, stream_id: int, *, cancel: bool) -> None:
        """Forget the stream; ``cancel`` resets it if it is still open."""
        with self._cond:
            state = self._streams.pop(stream_id, None)
            if state is not None and cancel and not state.closed and self._error is None:
                with contextlib.suppress(LocalProtocolError):
                    self._machine.send(ResetStream(stream_id, ErrorCode.CANCEL))
            self._cond.notify_all()
            retire = self._retiring and not self._streams
        if cancel:
            with contextlib.suppress(SockitError):
                self._flush(None)
        if retire:
            self.close()


class H2Stream:
    """One request's stream, shaped like a client HTTP/1.1 connection (and its own pool)."""

    __slots__ = ("conn", "origin", "stream_id")

    def __init__(self, conn: H2ClientConnection, stream_id: int) -> None:
        self.conn = conn
        self.stream_id = stream_id
        self.origin = conn.origin

    @property
    def received(self) -> int:
        """Response bytes received on this stream."""
        state = self.conn._streams.get(self.stream_id)
        return 0 if state is None else state.received

    def next_event(self, dl: Deadlines, phase: Phase, timeout: float | None) -> Event:
        """The stream's next event (HTTP/1.1 machine events)."""
        return self.conn.next_event(self.stream_id, dl, phase, timeout)

    def finish_exchange(self) -> bool:
        """The response is complete: the stream is done (HTTP/2 needs no reset)."""
        return True

    def release(self, stream: object) -> None:
        """As the pool: the body was read to its end."""
        self.conn.end_stream(self.stream_id, cancel=False)

    def discard(self, stream: object) -> None:
        """As the pool: the body was abandoned; reset the stream."""
        self.conn.end_stream(self.stream_id, cancel=True)

    def discard_later(self, stream: object) -> None:
        """From a finalizer: reset the stream."""
        self.conn.end_stream(self.stream_id, cancel=True)
