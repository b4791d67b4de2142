"""State and helpers shared by the receive and send halves of the connection.

:class:`Core` holds every attribute of
:class:`~sockit.proto.http2.connection.Connection` and the operations both
directions need: writing frames, moving stream states (with the concurrency
counts), closing streams, answering errors, returning flow-control credit,
and draining the send buffers fairly.
"""

from __future__ import annotations

import struct
from collections import deque

from sockit.errors import LocalProtocolError
from sockit.proto.events import Event, Role
from sockit.proto.hpack import Decoder, Encoder
from sockit.proto.http.headers import Headers
from sockit.proto.http2.config import H2Config
from sockit.proto.http2.events import ConnectionFailed, StreamReset
from sockit.proto.http2.floods import FloodGuard
from sockit.proto.http2.flow import ReceiveWindow, RoundRobin
from sockit.proto.http2.frames import PREFACE, FrameParser, GoAwayFrame, SettingsFrame, serialize
from sockit.proto.http2.settings import Settings
from sockit.proto.http2.state import (
    STREAM_TRANSITIONS,
    ConnectionInput,
    ConnectionState,
    StreamInput,
    StreamState,
    next_connection_state,
)
from sockit.proto.http2.stream import Block, Stream

__all__ = ["Core"]

HEADER = struct.Struct(">LBL")  # (length << 8 | type), flags, stream id
_pack_header = HEADER.pack
_U32 = struct.Struct(">L").pack

DATA = 0x0
HEADERS = 0x1
RST_STREAM = 0x3
PUSH_PROMISE = 0x5
WINDOW_UPDATE = 0x8
CONTINUATION = 0x9
END_STREAM = 0x1
END_HEADERS = 0x4

# How a stream we no longer track was closed (RFC 9113 §5.1 "closed").
ENDED = 0  # both END_STREAMs: more DATA/HEADERS is a connection error
RESET_SENT = 1  # we reset it: frames in flight are ignored
RESET_RECEIVED = 2  # the peer reset it: more frames are a stream error

_OPEN = ConnectionState.OPEN
_CLOSING = ConnectionState.CLOSING
_CLOSED = ConnectionState.CLOSED
S = StreamState
_ACTIVE = frozenset({S.OPEN, S.HALF_CLOSED_LOCAL, S.HALF_CLOSED_REMOTE})
_S_CLOSED = S.CLOSED
_SEND_END_STREAM = StreamInput.SEND_END_STREAM
_SEND_HEADERS = StreamInput.SEND_HEADERS
_SEND_RST = StreamInput.SEND_RST_STREAM
_MAX_DEBUG = 256
_RESERVED_REMOTE = S.RESERVED_REMOTE

#: STREAM_TRANSITIONS with what each row means for the connection: (new
#: state, change in the active-stream count, whether the stream closes).
_STEPS: dict[tuple[StreamState, StreamInput], tuple[StreamState, int, bool]] = {
    (old, event): (new, (new in _ACTIVE) - (old in _ACTIVE), new is _S_CLOSED and old is not new)
    for (old, event), new in STREAM_TRANSITIONS.items()
}


class Core:
    """Attributes and shared operations of an HTTP/2 connection."""

    def __init__(self, role: Role, config: H2Config | None = None) -> None:
        cfg = H2Config() if config is None else config
        if not isinstance(cfg, H2Config):
            raise LocalProtocolError("config must be an H2Config")
        if not isinstance(role, Role):
            raise LocalProtocolError("role must be a Role")
        limits = cfg.limits
        self.role = role
        self.config = cfg
        self._client = role is Role.CLIENT
        self._auto = cfg.auto_window_update
        self._state = _OPEN
        self._chunks: list[bytes | memoryview] = []
        self._out_len = 0
        self._parser = FrameParser()
        self._decoder = Decoder(
            cfg.hpack, max_table_size=min(4096, cfg.hpack.max_header_table_size)
        )
        self._encoder = Encoder(4096, table_size_limit=cfg.hpack.header_table_size)
        self._streams: dict[int, Stream] = {}
        self._closed: dict[int, int] = {}
        self._closed_cap = cfg.closed_streams_kept
        #: Highest stream id the peer opened (or tried to) / we opened or promised.
        self._highest_remote = 0
        self._highest_local = 0
        self._local_settings = Settings()
        self._remote_settings = Settings()
        self._pending_settings: deque[dict[int, int]] = deque()
        self._settings_deadline: float | None = None
        self._send_window = 65535
        self._recv = ReceiveWindow(65535, limits.connection_window_size)
        #: Newest MAX_CONCURRENT_STREAMS we advertised (enforced at once).
        self._max_inbound = limits.max_concurrent_streams
        self._inbound = 0
        self._outbound = 0
        self._reserved_remote = 0
        self._ready = RoundRobin()
        self._buffered = 0
        self._buffering: set[int] = set()
        self._guard = FloodGuard(
            limits, empty_frame_rate=cfg.empty_frame_rate, empty_frame_burst=cfg.empty_frame_burst
        )
        self._now = 0.0
        self._clock = False
        #: Server: the part of the client preface still to come.
        self._preface = b"" if self._client else PREFACE
        self._expect_settings = True
        self._block: Block | None = None
        self._goaway_sent: int | None = None
        self._goaway_received: int | None = None
        self._pings: dict[bytes, float | None] = {}
        self._ping_count = 0
        self._pending_events: list[Event] = []
        self._block_cap = 2 * max(limits.max_header_list_size, cfg.hpack.max_header_list_size)
        self._encoder_cap = cfg.hpack.header_table_size
        self._remote_max_frame = 16384

    # -- time ----------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        """Record the caller's clock; the first reading arms pending timers."""
        if not self._clock:
            self._clock = True
            if self._pending_settings and self._settings_deadline is None:
                self._settings_deadline = now + self.config.settings_ack_timeout
            for sid in self._buffering:
                self._streams[sid].stalled_since = now
        self._now = now

    # -- output ------------------------------------------------------------------

    def _write(self, data: bytes | memoryview) -> None:
        self._chunks.append(data)
        self._out_len += len(data)

    def _write_block(self, stream_id: int, block: bytes, end_stream: bool, push: int = 0) -> None:
        """HEADERS (or PUSH_PROMISE for ``push``) plus CONTINUATIONs for ``block``."""
        limit = self._remote_max_frame
        first_type = HEADERS
        flags = END_STREAM if end_stream else 0
        if push:
            first_type = PUSH_PROMISE
            block = _U32(push) + block
            flags = 0
        size = len(block)
        if size <= limit:
            self._write(
                _pack_header(size << 8 | first_type, flags | END_HEADERS, stream_id) + block
            )
            return
        view = memoryview(block)
        self._write(_pack_header(limit << 8 | first_type, flags, stream_id) + view[:limit])
        pos = limit
        while pos < size:
            piece = view[pos : pos + limit]
            pos += len(piece)
            last = END_HEADERS if pos >= size else 0
            self._write(_pack_header(len(piece) << 8 | CONTINUATION, last, stream_id) + piece)

    def _write_rst(self, stream_id: int, error_code: int) -> None:
        self._write(_pack_header(4 << 8 | RST_STREAM, 0, stream_id) + _U32(error_code))

    def _write_window_update(self, stream_id: int, increment: int) -> None:
        self._write(_pack_header(4 << 8 | WINDOW_UPDATE, 0, stream_id) + _U32(increment))

    def _send_settings(self, values: dict[int, int]) -> None:
        self._write(serialize(SettingsFrame(tuple(values.items()))))
        self._pending_settings.append(values)
        if self._settings_deadline is None and self._clock:
            self._settings_deadline = self._now + self.config.settings_ack_timeout

    def _encode(self, fields: list[tuple[bytes, bytes]]) -> bytes:
        return self._encoder.encode(fields)

    # -- streams -----------------------------------------------------------------

    def _local_initiated(self, stream_id: int) -> bool:
        return (stream_id & 1) == self._client

    def _new_stream(self, stream_id: int) -> Stream:
        recv = ReceiveWindow(
            self._local_settings.initial_window_size, self._local_settings.initial_window_size
        )
        stream = Stream(stream_id, S.IDLE, self._remote_settings.initial_window_size, recv)
        self._streams[stream_id] = stream
        return stream

    def _move(self, stream: Stream, event: StreamInput, reason: int = ENDED) -> None:
        """Apply ``event`` to ``stream`` (LocalProtocolError if the table has no row)."""
        old = stream.state
        step = _STEPS.get((old, event))
        if step is None:
            raise LocalProtocolError(
                f"{event.value} is not allowed on stream {stream.id} in state {old.value}"
            )
        new, active, closes = step
        if new is old:
            return
        stream.state = new
        if active:
            if (stream.id & 1) == self._client:
                self._outbound += active
            else:
                self._inbound += active
        if old is _RESERVED_REMOTE:
            self._reserved_remote -= 1
        if closes:
            self._forget(stream, reason)

    def _forget(self, stream: Stream, reason: int) -> None:
        sid = stream.id
        self._streams.pop(sid, None)
        self._remember_closed(sid, reason)
        if stream.buffered:
            self._buffered -= stream.buffered
            stream.buffer.clear()
            stream.buffered = 0
        self._buffering.discard(sid)
        self._ready.discard(sid)
        held = stream.recv.held
        if held and reason != ENDED:
            # a reset stream's unacknowledged data will never be acknowledged
            self._recv.release(held)
            stream.recv.held = 0
            self._connection_credit()
        if self._state is _CLOSING and not self._streams:
            self._state = next_connection_state(self._state, ConnectionInput.LAST_STREAM_DONE)

    def _remember_closed(self, stream_id: int, reason: int) -> None:
        closed = self._closed
        closed[stream_id] = reason
        if len(closed) > self._closed_cap:
            del closed[next(iter(closed))]

    def _reset(self, stream_id: int, error_code: int, reason: int = RESET_SENT) -> None:
        """Send RST_STREAM on ``stream_id`` and close it."""
        self._write_rst(stream_id, error_code)
        stream = self._streams.get(stream_id)
        if stream is not None:
            self._move(stream, _SEND_RST, reason)
        else:
            self._remember_closed(stream_id, reason)

    def _stream_error(
        self, stream_id: int, error_code: int, events: list[Event], report: bool = True
    ) -> None:
        """Answer a stream error with RST_STREAM (and a StreamReset event)."""
        self._reset(stream_id, error_code)
        if report:
            events.append(StreamReset(stream_id, error_code, False))

    def _connection_error(self, error_code: int, message: str, events: list[Event]) -> None:
        """Answer a connection error with GOAWAY; the connection is CLOSED."""
        if self._state is _CLOSED:
            return
        last = self._highest_remote
        debug = message.encode("ascii", "replace")[:_MAX_DEBUG]
        self._write(serialize(GoAwayFrame(last, int(error_code), debug)))
        self._goaway_sent = last
        self._state = next_connection_state(self._state, ConnectionInput.ERROR)
        self._drop_buffers()
        events.append(ConnectionFailed(int(error_code), message))

    def _drop_buffers(self) -> None:
        for stream in self._streams.values():
            stream.buffer.clear()
            stream.buffered = 0
        self._buffered = 0
        self._buffering.clear()
        self._ready = RoundRobin()

    # -- flow control --------------------------------------------------------------

    def _connection_credit(self) -> None:
        increment = self._recv.due()
        if increment:
            self._write_window_update(0, increment)

    def _stream_credit(self, stream: Stream) -> None:
        if not stream.remote_ended:
            increment = stream.recv.due()
            if increment:
                self._write_window_update(stream.id, increment)

    def _flush(self) -> None:
        """Hand open windows to streams with buffered data, a frame each in turn."""
        ready = self._ready
        streams = self._streams
        while ready and self._send_window > 0:
            sid = ready.pop()
            if sid is None:
                break
            stream = streams.get(sid)
            if stream is None or (not stream.buffered and not stream.end_queued):
                continue
            self._send_buffered(stream)
            if (stream.buffered or stream.end_queued) and stream.send_window > 0:
                ready.add(sid)

    def _send_buffered(self, stream: Stream) -> None:
        """Write one DATA frame from ``stream``'s buffer, as the windows allow."""
        n = stream.buffered
        n = min(n, stream.send_window)
        n = min(n, self._send_window)
        n = min(n, self._remote_max_frame)
        if n <= 0 and stream.buffered:
            return
        buf = stream.buffer
        piece: bytes | memoryview
        if not n:
            piece = b""
        else:
            first = buf[0]
            if len(first) > n:
                piece = first[:n]
                buf[0] = first[n:]
            elif len(first) == n or len(buf) == 1:
                piece = buf.popleft()
                n = len(piece)
            else:
                parts = []
                left = n
                while left and buf:
                    part = buf[0]
                    if len(part) > left:
                        parts.append(part[:left])
                        buf[0] = part[left:]
                        left = 0
                    else:
                        parts.append(buf.popleft())
                        left -= len(part)
                piece = b"".join(parts)
        stream.buffered -= n
        self._buffered -= n
        stream.send_window -= n
        self._send_window -= n
        if stream.buffered:
            stream.stalled_since = self._now
            self._write(_pack_header(n << 8, 0, stream.id))
            self._write(piece)
            return
        self._buffering.discard(stream.id)
        stream.stalled_since = None
        trailers = stream.trailers_queued
        end = stream.end_queued and trailers is None
        self._write(_pack_header(n << 8, END_STREAM if end else 0, stream.id))
        if n:
            self._write(piece)
        stream.end_queued = False
        if trailers is not None:
            stream.trailers_queued = None
            self._write_trailers(stream, trailers)
        elif end:
            self._move(stream, _SEND_END_STREAM)

    def _write_trailers(self, stream: Stream, headers: Headers) -> None:
        fields = [(name.lower(), value) for name, value in headers.raw_items()]
        self._write_block(stream.id, self._encode(fields), True)
        self._move(stream, _SEND_HEADERS)
        self._move(stream, _SEND_END_STREAM)
