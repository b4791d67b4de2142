"""The HTTP/2 connection (RFC 9113): a sans-I/O machine for either role.

::

    conn = Connection(Role.SERVER, H2Config())
    sock.sendall(conn.data_to_send())              # our SETTINGS
    for event in conn.receive_data(chunk, now=clock()):
        if isinstance(event, Request):
            conn.send(Response(event.stream_id, 200, Headers([("content-type", "text/plain")])))
            conn.send(Data(event.stream_id, b"hello", end_stream=True))
    sock.sendall(conn.data_to_send())

The receive half lives in ``_receive``, the send half in ``_send``, what
they share in ``_core``; this module adds the public API. Choices worth
knowing (``docs/http2.md`` has the full story):

* **Remote errors never raise.** A connection error queues GOAWAY, emits
  :class:`~sockit.proto.http2.events.ConnectionFailed` and moves to CLOSED;
  a stream error queues RST_STREAM and emits
  :class:`~sockit.proto.http2.events.StreamReset` (``remote=False``). Events
  completed before the error come first. Only misuse of the API raises
  (:class:`~sockit.errors.LocalProtocolError`).
* **Our SETTINGS take effect when acknowledged** (decoder table size,
  frame size limit, stream receive windows); the peer's at once. Our
  MAX_CONCURRENT_STREAMS is enforced from the start (excess streams get
  REFUSED_STREAM, which clients retry).
* **Flow control** is automatic unless ``H2Config.auto_window_update`` is
  off; then :meth:`Connection.acknowledge_received_data` returns credit.
* **Time** is an argument: ``receive_data(data, now=...)``,
  ``handle_timeout(now)``, ``ping(now=...)``; otherwise the last time given
  is used.
* **h2c upgrade**: :meth:`Connection.upgraded` returns a server connection
  whose first :meth:`receive_data` call (``b""`` is fine) returns the
  upgraded request as a Request on stream 1 followed by StreamEnded.
"""

from __future__ import annotations

from collections.abc import Mapping

from sockit.errors import LocalProtocolError
from sockit.proto.events import Event, Role
from sockit.proto.http1.events import Request as HTTP1Request
from sockit.proto.http2._core import HEADER
from sockit.proto.http2._h2c import decode_settings_header, settings_header, upgraded_request
from sockit.proto.http2._receive import Receiver
from sockit.proto.http2._send import Sender
from sockit.proto.http2.config import H2Config, advertised_settings
from sockit.proto.http2.errors import ErrorCode, H2ConnectionError
from sockit.proto.http2.events import (
    ConnectionClosed,
    StreamReset,
    make_stream_ended,
)
from sockit.proto.http2.frames import PREFACE, GoAwayFrame, serialize
from sockit.proto.http2.settings import SettingCode, Settings, validate_setting
from sockit.proto.http2.state import (
    ConnectionInput,
    ConnectionState,
    StreamInput,
    StreamState,
    next_connection_state,
)

__all__ = ["Connection", "settings_header"]

_CLOSED = ConnectionState.CLOSED
_MAX_PINGS = 64


class Connection(Receiver, Sender):
    """An HTTP/2 connection, client or server (see the module docstring)."""

    def __init__(self, role: Role, config: H2Config | None = None) -> None:
        super().__init__(role, config)
        if self._client:
            self._write(PREFACE)
        self._send_settings(advertised_settings(role, self.config))
        self._open_connection_window()

    def _open_connection_window(self) -> None:
        recv = self._recv
        owed = recv.target - recv.window
        if owed > 0:
            recv.window += owed
            self._write_window_update(0, owed)

    # -- h2c ---------------------------------------------------------------------

    @classmethod
    def upgraded(
        cls,
        settings_header: bytes | str,
        request: HTTP1Request,
        config: H2Config | None = None,
        *,
        role: Role = Role.SERVER,
    ) -> Connection:
        """A server connection taking over after ``101 Switching Protocols`` to h2c.

        ``settings_header`` is the request's ``HTTP2-Settings`` value (the
        client's SETTINGS, base64url); ``request`` the HTTP/1.1 request that
        asked for the upgrade (its content, if any, was read by HTTP/1.1).
        The request becomes stream 1, half-closed (remote), and comes out of
        the first :meth:`receive_data` call (``b""`` will do) as a
        :class:`Request` (scheme ``http``, ``Host`` as ``:authority``,
        hop-by-hop fields removed) followed by ``StreamEnded(1)``; the
        client's preface is still expected. A bad ``settings_header`` raises
        :class:`H2ConnectionError` (answer the HTTP/1.1 request with 400).
        """
        if role is not Role.SERVER:
            raise LocalProtocolError("only a server takes over an upgraded connection")
        pairs = decode_settings_header(settings_header)
        conn = cls(Role.SERVER, config)
        old_window = conn._remote_settings.initial_window_size
        changed = conn._remote_settings.apply(pairs)
        conn._apply_remote_settings(changed, old_window)
        stream = conn._new_stream(1)
        conn._highest_remote = 1
        conn._guard.stream_opened()
        conn._move(stream, StreamInput.RECV_HEADERS)
        stream.head_received = True
        stream.remote_ended = True
        conn._move(stream, StreamInput.RECV_END_STREAM)
        conn._pending_events = [upgraded_request(request), make_stream_ended(1)]
        return conn

    # -- state -------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """OPEN, CLOSING (a GOAWAY went either way) or CLOSED."""
        return self._state

    @property
    def trailing_data(self) -> bytes:
        """Always ``b""``: nothing follows HTTP/2 on a connection."""
        return b""

    @property
    def local_settings(self) -> Settings:
        """Our SETTINGS the peer has acknowledged (the values binding the peer)."""
        return self._local_settings

    @property
    def remote_settings(self) -> Settings:
        """The peer's SETTINGS (the values binding what we send)."""
        return self._remote_settings

    @property
    def open_streams(self) -> int:
        """Streams open or half-closed, both directions."""
        return self._inbound + self._outbound

    @property
    def open_inbound_streams(self) -> int:
        """Open or half-closed streams the peer started."""
        return self._inbound

    @property
    def open_outbound_streams(self) -> int:
        """Open or half-closed streams we started (bounded by the peer's MAX_CONCURRENT_STREAMS)."""
        return self._outbound

    @property
    def flood_stats(self) -> dict[str, int]:
        """A copy of the flood counters (names in ``floods.FLOOD_STATS``), for metrics."""
        return dict(self._guard.stats)

    @property
    def flood_tripped(self) -> str | None:
        """Which flood defence ended the connection, if one did."""
        return self._guard.tripped

    @property
    def last_stream_id(self) -> int:
        """The highest stream id the peer opened (what our GOAWAY would name)."""
        return self._highest_remote

    def stream_state(self, stream_id: int) -> StreamState:
        """The RFC 9113 state of ``stream_id`` (closed streams need not be tracked)."""
        stream = self._streams.get(stream_id)
        if stream is not None:
            return stream.state
        if stream_id in self._closed or not self._is_idle_id(stream_id):
            return StreamState.CLOSED
        return StreamState.IDLE

    def next_stream_id(self) -> int:
        """The next stream id we may open (client: odd; server: even, for push)."""
        nxt = self._highest_local + 2 if self._highest_local else (1 if self._client else 2)
        if nxt >= 1 << 31:
            raise LocalProtocolError("stream ids are exhausted; open a new connection")
        return nxt

    # -- flow control ---------------------------------------------------------------

    def outbound_buffered(self, stream_id: int | None = None) -> int:
        """Bytes waiting: for ``stream_id``, its data held back by flow control;
        for ``None``, all streams' held data plus bytes not yet taken by
        :meth:`data_to_send`. Drivers stop reading from the application above
        a bound of their own."""
        if stream_id is None:
            return self._buffered + self._out_len
        stream = self._streams.get(stream_id)
        return 0 if stream is None else stream.buffered

    def local_window(self, stream_id: int = 0) -> int:
        """How much more the peer may send us on ``stream_id`` (0: the connection)."""
        if not stream_id:
            return self._recv.window
        stream = self._streams.get(stream_id)
        return 0 if stream is None else stream.recv.window

    def remote_window(self, stream_id: int = 0) -> int:
        """How much more we may send on ``stream_id`` now (0: the connection window;
        a stream's own window is further capped by the connection's)."""
        if not stream_id:
            return self._send_window
        stream = self._streams.get(stream_id)
        if stream is None:
            return 0
        return max(0, min(stream.send_window, self._send_window))

    def acknowledge_received_data(self, stream_id: int, n: int, *, connection: bool = True) -> None:
        """Manual flow control: the application consumed ``n`` bytes of ``stream_id``.

        Returns the credit (WINDOW_UPDATE) once half a window is owed. Passing
        ``len(event.data)`` of each Data event is right (padding is returned
        by the connection). Without effect in automatic mode.

        The two levels can be returned apart: ``stream_id=0`` returns only the
        connection's credit, ``connection=False`` only the stream's. A server
        that buffers bodies returns the connection's credit at once (so one
        stalled stream never blocks the others) and a stream's as it can hold
        more of that stream.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise LocalProtocolError(f"acknowledged size must be a non-negative int, not {n!r}")
        if self._auto or not n or self._state is _CLOSED:
            return
        stream = self._streams.get(stream_id) if stream_id else None
        if stream is not None:
            released = stream.recv.release(n)
            self._stream_credit(stream)
            if not connection:
                return
            n = released
        elif not connection:
            return
        self._recv.release(n)
        self._connection_credit()

    # -- output and timers ---------------------------------------------------------

    def data_to_send(self, max_bytes: int | None = None) -> bytes:
        """Take up to ``max_bytes`` (all by default) of the bytes queued for the wire."""
        chunks = self._chunks
        if not chunks:
            return b""
        out = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if not isinstance(out, bytes):
            out = bytes(out)
        if max_bytes is not None and max_bytes < len(out):
            if max_bytes < 0:
                raise LocalProtocolError("max_bytes must not be negative")
            rest = out[max_bytes:]
            self._chunks = [rest]
            self._out_len = len(rest)
            return out[:max_bytes]
        self._chunks = []
        self._out_len = 0
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` must run next: SETTINGS ACK, stalled streams."""
        if self._state is _CLOSED or not self._clock:
            return None
        deadline = self._settings_deadline
        if self._buffering:
            timeout = self.config.stalled_stream_timeout
            streams = self._streams
            for sid in self._buffering:
                since = streams[sid].stalled_since
                if since is not None and (deadline is None or since + timeout < deadline):
                    deadline = since + timeout
        return deadline

    def handle_timeout(self, now: float) -> list[Event]:
        """Fire what is due at ``now``: SETTINGS_TIMEOUT, resets of stalled streams."""
        self._tick(now)
        events: list[Event] = []
        if self._state is _CLOSED:
            return events
        if self._settings_deadline is not None and now >= self._settings_deadline:
            self._connection_error(
                ErrorCode.SETTINGS_TIMEOUT, "the peer did not acknowledge our SETTINGS", events
            )
            return events
        timeout = self.config.stalled_stream_timeout
        for sid in sorted(self._buffering):
            stream = self._streams[sid]
            since = stream.stalled_since
            if since is not None and now - since >= timeout:
                self._guard.stalled_reset()
                self._stream_error(sid, ErrorCode.CANCEL, events)
        return events

    def receive_eof(self) -> list[Event]:
        """The peer closed the transport: unfinished streams are reset, then CLOSED."""
        if self._state is _CLOSED:
            return []
        events: list[Event] = []
        for sid in sorted(self._streams):
            stream = self._streams[sid]
            if stream.state is not StreamState.CLOSED:
                events.append(StreamReset(sid, ErrorCode.CANCEL, True))
        self._streams.clear()
        self._drop_buffers()
        self._state = next_connection_state(self._state, ConnectionInput.EOF)
        events.append(ConnectionClosed(None, "the peer closed the connection"))
        return events

    # -- connection-level actions ----------------------------------------------------

    def ping(self, opaque: bytes | None = None, now: float | None = None) -> bytes:
        """Send a PING; returns its opaque data. Its ACK becomes PingAcknowledged
        with ``rtt`` (seconds) when the clock is known."""
        if now is not None:
            self._tick(now)
        if self._state is _CLOSED:
            raise LocalProtocolError("the connection is closed")
        if opaque is None:
            self._ping_count += 1
            opaque = self._ping_count.to_bytes(8, "big")
        elif not isinstance(opaque, bytes) or len(opaque) != 8:
            raise LocalProtocolError("PING opaque data must be 8 bytes")
        pings = self._pings
        pings.pop(opaque, None)
        pings[opaque] = self._now if self._clock else None
        if len(pings) > _MAX_PINGS:
            del pings[next(iter(pings))]
        self._write(HEADER.pack(8 << 8 | 0x6, 0, 0) + opaque)
        return opaque

    def close(self, error_code: int = ErrorCode.NO_ERROR, debug_data: bytes = b"") -> None:
        """Send GOAWAY naming the last stream the peer opened.

        NO_ERROR drains gracefully: streams already open finish, new ones are
        refused, and the state goes CLOSING then CLOSED when the last stream
        ends. Any other code closes at once.
        """
        if self._state is _CLOSED:
            return
        if isinstance(error_code, bool) or not isinstance(error_code, int):
            raise LocalProtocolError("error_code must be an int")
        last = self._highest_remote
        self._write(serialize(GoAwayFrame(last, int(error_code), bytes(debug_data))))
        self._goaway_sent = last
        if error_code != ErrorCode.NO_ERROR:
            self._state = next_connection_state(self._state, ConnectionInput.ERROR)
            self._drop_buffers()
            return
        self._state = next_connection_state(self._state, ConnectionInput.SEND_GOAWAY)
        if not self._streams:
            self._state = next_connection_state(self._state, ConnectionInput.LAST_STREAM_DONE)

    def update_settings(self, values: Mapping[int, int]) -> None:
        """Advertise new SETTINGS; they bind the peer once it acknowledges them."""
        if self._state is _CLOSED:
            raise LocalProtocolError("the connection is closed")
        checked: dict[int, int] = {}
        for code, value in values.items():
            try:
                validate_setting(int(code), int(value))
            except H2ConnectionError as exc:
                raise LocalProtocolError(exc.message) from None
            if code == SettingCode.ENABLE_PUSH and not self._client and value:
                raise LocalProtocolError("a server cannot enable push")
            checked[int(code)] = int(value)
        if SettingCode.MAX_CONCURRENT_STREAMS in checked:
            self._max_inbound = checked[SettingCode.MAX_CONCURRENT_STREAMS]
        self._send_settings(checked)
