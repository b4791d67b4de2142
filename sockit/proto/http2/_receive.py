"""The receive half of the HTTP/2 connection: one handler per frame type.

Every rule the peer can break becomes a connection error (GOAWAY, via an
:class:`~sockit.proto.http2.errors.H2ConnectionError` raised here and caught
in :meth:`Receiver.receive_data`) or a stream error (RST_STREAM, answered on
the spot with ``_refuse``). Nothing the peer sends makes ``receive_data``
raise.
"""

from __future__ import annotations

from collections.abc import Callable

from sockit.errors import RemoteProtocolError
from sockit.proto.contract import Buffer
from sockit.proto.events import Event
from sockit.proto.http2._core import HEADER, RESET_RECEIVED, RESET_SENT
from sockit.proto.http2._headers import HeaderReceiver
from sockit.proto.http2.errors import ErrorCode, H2ConnectionError, H2StreamError
from sockit.proto.http2.events import (
    GoAwayReceived,
    PingAcknowledged,
    PingReceived,
    SettingsAcknowledged,
    SettingsReceived,
    StreamReset,
    WindowUpdated,
    make_data,
)
from sockit.proto.http2.flow import MAX_WINDOW
from sockit.proto.http2.frames import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    UnknownFrame,
    WindowUpdateFrame,
)
from sockit.proto.http2.settings import SettingCode
from sockit.proto.http2.state import (
    ConnectionInput,
    ConnectionState,
    StreamInput,
    StreamState,
    next_connection_state,
)

__all__ = ["Receiver"]

S = StreamState
_CLOSED = ConnectionState.CLOSED
_DATA_OK = frozenset({S.OPEN, S.HALF_CLOSED_LOCAL})
_RECV_RST = StreamInput.RECV_RST_STREAM
_PROTOCOL = ErrorCode.PROTOCOL_ERROR
_STREAM_CLOSED = ErrorCode.STREAM_CLOSED
_FLOW = ErrorCode.FLOW_CONTROL_ERROR
_SETTINGS_ACK = HEADER.pack(0 << 8 | 0x4, 0x1, 0)
_PING_ACK = HEADER.pack(8 << 8 | 0x6, 0x1, 0)
_MISSING = object()


class Receiver(HeaderReceiver):
    """Frame handlers and :meth:`receive_data`."""

    def receive_data(self, data: Buffer, now: float | None = None) -> list[Event]:
        """Feed bytes from the peer; returns the events they complete, in order.

        Never raises for anything the peer sent: a connection error queues
        GOAWAY and ends with a ``ConnectionFailed`` event (state CLOSED), a
        stream error queues RST_STREAM. ``now`` (seconds) feeds the flood
        guards and timers; without it the last time given is used. After
        CLOSED this returns ``[]``.
        """
        if now is not None:
            self._tick(now)
        if self._state is _CLOSED:
            return []
        events = self._pending_events
        if events:
            self._pending_events = []
        else:
            events = []
        if self._preface:
            data = self._take_preface(data, events)
            if self._state is _CLOSED:
                return events
        parser = self._parser
        if data:
            parser.feed(data)
        next_frame = parser.next_frame
        handlers = _HANDLERS
        while True:
            try:
                frame = next_frame()
                if frame is None:
                    break
                if self._block is not None or self._expect_settings:
                    self._check_sequence(frame)
                handlers[frame.__class__](self, frame, events)
            except H2StreamError as exc:
                try:
                    self._on_parser_stream_error(exc, events)
                except RemoteProtocolError as inner:
                    self._on_remote_error(inner, events)
            except RemoteProtocolError as exc:
                self._on_remote_error(exc, events)
            if self._state is _CLOSED:
                break
        return events

    # -- sequencing and errors ---------------------------------------------------

    def _take_preface(self, data: Buffer, events: list[Event]) -> Buffer:
        need = self._preface
        n = min(len(need), len(data))
        if bytes(data[:n]) != need[:n]:
            self._connection_error(_PROTOCOL, "invalid connection preface", events)
            return b""
        self._preface = need[n:]
        return data[n:]

    def _check_sequence(self, frame: Frame) -> None:
        if self._expect_settings:
            if not isinstance(frame, SettingsFrame) or frame.ack:
                raise H2ConnectionError("the first frame from the peer must be SETTINGS")
            return
        block = self._block
        assert block is not None
        if frame.__class__ is not ContinuationFrame or frame.stream_id != block.stream_id:
            raise H2ConnectionError(
                f"{type(frame).__name__} on stream {frame.stream_id} while a field block "
                f"on stream {block.stream_id} waits for CONTINUATION"
            )

    def _on_remote_error(self, exc: RemoteProtocolError, events: list[Event]) -> None:
        code = exc.error_code
        if not isinstance(code, int) or not 0 <= code <= 0xFFFFFFFF:
            code = _PROTOCOL
        self._connection_error(code, exc.message, events)

    def _on_parser_stream_error(self, exc: H2StreamError, events: list[Event]) -> None:
        if self._block is not None or self._expect_settings:
            raise H2ConnectionError(f"stream error while a field block is open: {exc.message}")
        frame = exc.frame
        if isinstance(frame, HeadersFrame):
            # a self-dependent HEADERS: its block still goes through HPACK
            self._start_block(frame.stream_id, frame.block, frame.end_stream, 0, True)
            if frame.end_headers:
                self._end_block(events)
            return
        self._refuse(exc.stream_id, exc.error_code, events)

    # -- DATA ------------------------------------------------------------------------

    def _on_data(self, frame: DataFrame, events: list[Event]) -> None:
        sid = frame.stream_id
        data = frame.data
        size = len(data) if frame.pad_length is None else frame.flow_controlled_length
        conn = self._recv
        if size > conn.window:
            raise H2ConnectionError("DATA exceeds the connection flow-control window", _FLOW)
        stream = self._streams.get(sid)
        if stream is None or stream.state not in _DATA_OK or not stream.head_received:
            conn.consume(size, 0)
            self._connection_credit()
            if stream is None:
                self._gone(sid, events, "DATA")
            elif stream.state is S.HALF_CLOSED_REMOTE:
                self._refuse(sid, _STREAM_CLOSED, events)
            elif stream.state in _DATA_OK:
                self._refuse(sid, _PROTOCOL, events)  # DATA before the response head
            else:
                raise H2ConnectionError(f"DATA on stream {sid} in state {stream.state.value}")
            return
        hold = 0 if self._auto else len(data)
        if not stream.recv.consume(size, hold):
            conn.consume(size, 0)
            self._connection_credit()
            self._refuse(sid, _FLOW, events)
            return
        conn.consume(size, hold)
        end = frame.end_stream
        if data:
            total = stream.received_length + len(data)
            stream.received_length = total
            expected = stream.expected_length
            if expected is not None and (total > expected or (end and total != expected)):
                self._refuse(sid, _PROTOCOL, events)
                self._connection_credit()
                return
            events.append(make_data(sid, data, end, size))
        elif not end:
            self._guard.empty_frame(self._now)
        if end:
            expected = stream.expected_length
            if expected is not None and stream.received_length != expected:
                self._refuse(sid, _PROTOCOL, events)
                self._connection_credit()
                return
            self._remote_end(stream, events)
        elif not hold:
            self._stream_credit(stream)
        if not hold:
            self._connection_credit()

    # -- the rest ----------------------------------------------------------------------

    def _on_priority(self, frame: PriorityFrame, events: list[Event]) -> None:
        """PRIORITY is deprecated (RFC 9113 §5.3.2): accepted and ignored."""

    def _on_unknown(self, frame: UnknownFrame, events: list[Event]) -> None:
        """Frames of unknown types are ignored (RFC 9113 §4.1)."""

    def _on_rst_stream(self, frame: RstStreamFrame, events: list[Event]) -> None:
        sid = frame.stream_id
        stream = self._streams.get(sid)
        if stream is None:
            self._guard.rst_stream(self._now)
            if self._is_idle(sid):
                raise H2ConnectionError(f"RST_STREAM on idle stream {sid}")
            return
        if not self._client and not stream.answered and not self._local_initiated(sid):
            self._guard.reset_before_answer(self._now)
        self._guard.rst_stream(self._now)
        stream.remote_ended = True
        self._move(stream, _RECV_RST, RESET_RECEIVED)
        events.append(StreamReset(sid, frame.error_code, True))

    def _on_settings(self, frame: SettingsFrame, events: list[Event]) -> None:
        if frame.ack:
            if not self._pending_settings:
                return
            values = self._pending_settings.popleft()
            self._apply_local_settings(values)
            self._settings_deadline = None
            if self._pending_settings and self._clock:
                self._settings_deadline = self._now + self.config.settings_ack_timeout
            events.append(SettingsAcknowledged(dict(values)))
            return
        self._expect_settings = False
        self._guard.settings(self._now)
        remote = self._remote_settings
        old_window = remote.initial_window_size
        changed = remote.apply(frame.settings)
        if self._client and changed.get(SettingCode.ENABLE_PUSH) == 1:
            raise H2ConnectionError("a server sent SETTINGS_ENABLE_PUSH 1")
        self._apply_remote_settings(changed, old_window)
        self._write(_SETTINGS_ACK)
        events.append(SettingsReceived(changed))
        self._flush()

    def _apply_remote_settings(self, changed: dict[int, int], old_window: int) -> None:
        if SettingCode.INITIAL_WINDOW_SIZE in changed:
            delta = changed[SettingCode.INITIAL_WINDOW_SIZE] - old_window
            if delta:
                for stream in self._streams.values():
                    window = stream.send_window + delta
                    if window > MAX_WINDOW:
                        raise H2ConnectionError(
                            f"SETTINGS_INITIAL_WINDOW_SIZE overflows stream {stream.id}'s window",
                            _FLOW,
                        )
                    stream.send_window = window
                    if stream.buffered and window > 0:
                        self._ready.add(stream.id)
        if SettingCode.HEADER_TABLE_SIZE in changed:
            size = changed[SettingCode.HEADER_TABLE_SIZE]
            self._encoder.set_max_table_size(min(size, self._encoder_cap))
        if SettingCode.MAX_FRAME_SIZE in changed:
            self._remote_max_frame = changed[SettingCode.MAX_FRAME_SIZE]

    def _apply_local_settings(self, values: dict[int, int]) -> None:
        changed = self._local_settings.apply(values.items())
        if SettingCode.HEADER_TABLE_SIZE in changed:
            self._decoder.max_table_size = changed[SettingCode.HEADER_TABLE_SIZE]
        if SettingCode.MAX_FRAME_SIZE in changed:
            self._parser.max_frame_size = changed[SettingCode.MAX_FRAME_SIZE]
        if SettingCode.INITIAL_WINDOW_SIZE in changed:
            size = changed[SettingCode.INITIAL_WINDOW_SIZE]
            for stream in self._streams.values():
                stream.recv.retarget(size)
                self._stream_credit(stream)

    def _on_ping(self, frame: PingFrame, events: list[Event]) -> None:
        opaque = frame.opaque
        if frame.ack:
            sent = self._pings.pop(opaque, _MISSING)
            if sent is _MISSING:
                return  # not ours (or too old): ignore
            rtt = None if sent is None else max(0.0, self._now - sent)  # type: ignore[operator]
            events.append(PingAcknowledged(opaque, rtt))
            return
        self._guard.ping(self._now)
        self._write(_PING_ACK + opaque)
        events.append(PingReceived(opaque))

    def _on_goaway(self, frame: GoAwayFrame, events: list[Event]) -> None:
        last = frame.last_stream_id
        if self._goaway_received is not None:
            last = min(last, self._goaway_received)
        self._goaway_received = last
        events.append(GoAwayReceived(last, frame.error_code, frame.debug_data))
        refused = sorted(sid for sid in self._streams if sid > last and self._local_initiated(sid))
        self._state = next_connection_state(self._state, ConnectionInput.RECV_GOAWAY)
        for sid in refused:
            stream = self._streams[sid]
            self._move(stream, _RECV_RST, RESET_SENT)
            events.append(StreamReset(sid, ErrorCode.REFUSED_STREAM, True))
        if not self._streams:
            self._state = next_connection_state(self._state, ConnectionInput.LAST_STREAM_DONE)

    def _on_window_update(self, frame: WindowUpdateFrame, events: list[Event]) -> None:
        sid = frame.stream_id
        increment = frame.increment
        if not sid:
            window = self._send_window + increment
            if window > MAX_WINDOW:
                raise H2ConnectionError("WINDOW_UPDATE overflows the connection window", _FLOW)
            self._send_window = window
            events.append(WindowUpdated(0, increment))
            self._flush()
            return
        stream = self._streams.get(sid)
        if stream is None:
            if self._is_idle(sid):
                raise H2ConnectionError(f"WINDOW_UPDATE on idle stream {sid}")
            return
        if stream.state is S.RESERVED_REMOTE:
            raise H2ConnectionError(f"WINDOW_UPDATE on reserved stream {sid}")
        window = stream.send_window + increment
        if window > MAX_WINDOW:
            self._refuse(sid, _FLOW, events)
            return
        stream.send_window = window
        events.append(WindowUpdated(sid, increment))
        if stream.buffered and window > 0:
            self._ready.add(sid)
            self._flush()


_HANDLERS: dict[type[Frame], Callable[[Receiver, Frame, list[Event]], None]] = {
    DataFrame: Receiver._on_data,  # type: ignore[dict-item]
    HeadersFrame: Receiver._on_headers,  # type: ignore[dict-item]
    PriorityFrame: Receiver._on_priority,  # type: ignore[dict-item]
    RstStreamFrame: Receiver._on_rst_stream,  # type: ignore[dict-item]
    SettingsFrame: Receiver._on_settings,  # type: ignore[dict-item]
    PushPromiseFrame: Receiver._on_push_promise,  # type: ignore[dict-item]
    PingFrame: Receiver._on_ping,  # type: ignore[dict-item]
    GoAwayFrame: Receiver._on_goaway,  # type: ignore[dict-item]
    WindowUpdateFrame: Receiver._on_window_update,  # type: ignore[dict-item]
    ContinuationFrame: Receiver._on_continuation,  # type: ignore[dict-item]
    UnknownFrame: Receiver._on_unknown,  # type: ignore[dict-item]
}
