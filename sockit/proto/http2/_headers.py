"""Field blocks on the receive side: HEADERS, PUSH_PROMISE and CONTINUATION.

A block is gathered from its first frame and its CONTINUATIONs (bounded in
count and in bytes *before* HPACK sees it), decoded (a decoding failure is a
connection error: the compression context is lost), then judged: a request
opening a stream (server), a response or informational response (client),
trailers, or a promised request (client with push enabled). Malformed
blocks are stream errors (RST_STREAM PROTOCOL_ERROR); a header list over
our bounds gets a ``431`` from a server, a reset on a client.

Also here: the stream bookkeeping every receive handler shares (``_refuse``,
``_gone``, ``_remote_end``).
"""

from __future__ import annotations

from sockit.proto.events import Event
from sockit.proto.hpack.errors import HeaderListTooLarge
from sockit.proto.http.headers import Headers
from sockit.proto.http2._core import ENDED, RESET_RECEIVED, RESET_SENT, Core
from sockit.proto.http2.errors import ErrorCode, H2ConnectionError
from sockit.proto.http2.events import (
    InformationalResponse,
    PushPromise,
    Trailers,
    make_request,
    make_response,
    make_stream_ended,
)
from sockit.proto.http2.floods import H2FloodError
from sockit.proto.http2.frames import ContinuationFrame, HeadersFrame, PushPromiseFrame
from sockit.proto.http2.state import STREAM_TRANSITIONS, StreamInput, StreamState
from sockit.proto.http2.stream import Block, Stream
from sockit.proto.http2.validate import (
    MalformedHeaders,
    check_trailer_fields,
    parse_request_fields,
    parse_response_fields,
)

__all__ = ["HeaderReceiver"]

S = StreamState
_DATA_OK = frozenset({S.OPEN, S.HALF_CLOSED_LOCAL})
_HEADERS_OK = frozenset({S.OPEN, S.HALF_CLOSED_LOCAL, S.RESERVED_REMOTE})
_RECV_HEADERS = StreamInput.RECV_HEADERS
_RECV_END = StreamInput.RECV_END_STREAM
_PROTOCOL = ErrorCode.PROTOCOL_ERROR
_STREAM_CLOSED = ErrorCode.STREAM_CLOSED
_SAFE_PUSH_METHODS = frozenset({b"GET", b"HEAD"})
# Where a request opening a stream leaves it (derived from the table).
_OPENED = STREAM_TRANSITIONS[S.IDLE, _RECV_HEADERS]
_OPENED_ENDED = STREAM_TRANSITIONS[_OPENED, _RECV_END]
_ListTooLarge = HeaderListTooLarge


class HeaderReceiver(Core):
    """Stream bookkeeping shared by the receive handlers, and field blocks."""

    def _refuse(
        self, stream_id: int, error_code: int, events: list[Event], report: bool = True
    ) -> None:
        """A stream error the peer caused: RST_STREAM, counted by the flood guard."""
        self._guard.stream_error(self._now)
        stream = self._streams.get(stream_id)
        if stream is None and self._is_idle(stream_id):
            self._write_rst(stream_id, error_code)  # nothing to remember on an idle stream
            return
        self._stream_error(stream_id, error_code, events, report and stream is not None)

    def _is_idle(self, stream_id: int) -> bool:
        if self._local_initiated(stream_id):
            return stream_id > self._highest_local
        return stream_id > self._highest_remote

    def _gone(self, stream_id: int, events: list[Event], what: str) -> None:
        """DATA or HEADERS for a stream we do not track (RFC 9113 §5.1)."""
        closed = self._closed.get(stream_id)
        if closed == RESET_SENT:
            return  # in flight when we reset it: ignore
        if closed == ENDED:
            raise H2ConnectionError(f"{what} on closed stream {stream_id}", _STREAM_CLOSED)
        if closed == RESET_RECEIVED:
            self._refuse(stream_id, _STREAM_CLOSED, events, report=False)
            return
        if self._is_idle(stream_id):
            raise H2ConnectionError(f"{what} on idle stream {stream_id}")
        if what == "HEADERS":
            raise H2ConnectionError(f"HEADERS on stream {stream_id}, lower than one already used")
        self._refuse(stream_id, _STREAM_CLOSED, events, report=False)

    def _remote_end(self, stream: Stream, events: list[Event]) -> None:
        stream.remote_ended = True
        events.append(make_stream_ended(stream.id))
        self._move(stream, _RECV_END)

    # -- HEADERS, PUSH_PROMISE, CONTINUATION ---------------------------------------

    def _on_headers(self, frame: HeadersFrame, events: list[Event]) -> None:
        block = frame.block
        if not block and not frame.end_stream:
            self._guard.empty_frame(self._now)
        if not frame.end_headers:
            self._start_block(frame.stream_id, block, frame.end_stream, 0, False)
            return
        # the usual case, a whole block in one frame: no assembly
        self._check_block_size(len(block))
        fields: list[tuple[bytes, bytes]] | None
        try:
            fields = self._decoder.decode(block)
        except _ListTooLarge:
            fields = None
        self._headers_block(frame.stream_id, frame.end_stream, False, fields, events)

    def _on_push_promise(self, frame: PushPromiseFrame, events: list[Event]) -> None:
        if not self._client:
            raise H2ConnectionError("a client sent PUSH_PROMISE")
        if not self.config.enable_push:
            raise H2ConnectionError("PUSH_PROMISE although we sent SETTINGS_ENABLE_PUSH 0")
        promised = frame.promised_stream_id
        if promised <= self._highest_remote:
            raise H2ConnectionError(f"promised stream {promised} is not a new stream id")
        self._highest_remote = promised
        self._start_block(frame.stream_id, frame.block, False, promised, False)
        if frame.end_headers:
            self._end_block(events)

    def _on_continuation(self, frame: ContinuationFrame, events: list[Event]) -> None:
        block = self._block
        if block is None:
            raise H2ConnectionError("CONTINUATION without HEADERS or PUSH_PROMISE before it")
        block.continuations += 1
        limit = self.config.limits.max_continuation_frames
        if block.continuations > limit:
            raise H2FloodError(
                f"more than {limit} CONTINUATION frames in one field block",
                limit="max_continuation_frames",
                value=limit,
            )
        if not frame.block and not frame.end_headers:
            self._guard.empty_frame(self._now)
        block.parts.append(frame.block)
        block.size += len(frame.block)
        self._check_block_size(block.size)
        if frame.end_headers:
            self._end_block(events)

    def _start_block(
        self, stream_id: int, first: bytes, end_stream: bool, promised: int, poisoned: bool
    ) -> None:
        self._check_block_size(len(first))
        self._block = Block(stream_id, first, end_stream, promised, poisoned)

    def _check_block_size(self, size: int) -> None:
        if size > self._block_cap:
            raise H2FloodError(
                f"field block of more than {self._block_cap} bytes",
                limit="max_header_list_size",
                value=self.config.limits.max_header_list_size,
            )

    def _end_block(self, events: list[Event]) -> None:
        block = self._block
        assert block is not None
        self._block = None
        parts = block.parts
        raw = parts[0] if len(parts) == 1 else b"".join(parts)
        fields: list[tuple[bytes, bytes]] | None
        try:
            fields = self._decoder.decode(raw)
        except _ListTooLarge:
            fields = None  # decoded to the end: only this stream is refused
        if block.promised:
            self._push_block(block, fields, events)
        else:
            self._headers_block(block.stream_id, block.end_stream, block.poisoned, fields, events)

    def _headers_block(
        self,
        sid: int,
        end_stream: bool,
        poisoned: bool,
        fields: list[tuple[bytes, bytes]] | None,
        events: list[Event],
    ) -> None:
        stream = self._streams.get(sid)
        if stream is None:
            if not self._client and sid & 1 and sid > self._highest_remote:
                self._open_remote(sid, end_stream, poisoned, fields, events)
            else:
                self._gone(sid, events, "HEADERS")
            return
        state = stream.state
        if state not in _HEADERS_OK:
            if state is S.HALF_CLOSED_REMOTE:
                self._refuse(sid, _STREAM_CLOSED, events)
                return
            raise H2ConnectionError(f"HEADERS on stream {sid} in state {state.value}")
        if poisoned or fields is None:
            self._refuse(sid, _PROTOCOL, events)
            return
        try:
            if self._client:
                self._response_head(stream, fields, end_stream, events)
            else:
                self._trailers(stream, fields, end_stream, events)
        except MalformedHeaders:
            self._refuse(sid, _PROTOCOL, events)

    def _open_remote(
        self,
        sid: int,
        end: bool,
        poisoned: bool,
        fields: list[tuple[bytes, bytes]] | None,
        events: list[Event],
    ) -> None:
        """A client opens a stream (server role)."""
        self._highest_remote = sid
        guard = self._guard
        guard.stats["streams_opened"] += 1
        if poisoned:
            guard.stream_error(self._now)
            self._stream_error(sid, _PROTOCOL, events)
            return
        if self._goaway_sent is not None or self._inbound >= self._max_inbound:
            guard.refused(self._now)
            self._reset(sid, ErrorCode.REFUSED_STREAM)
            return
        if fields is None:
            guard.stream_error(self._now)
            self._answer_431(sid, end)
            return
        try:
            method, scheme, authority, path, protocol, regular, length, priority = (
                parse_request_fields(fields, extended_connect=self.config.enable_connect_protocol)
            )
            if end and length:
                raise MalformedHeaders("content-length without content")
        except MalformedHeaders:
            guard.stream_error(self._now)
            self._stream_error(sid, _PROTOCOL, events)
            return
        stream = self._new_stream(sid)
        self._inbound += 1
        stream.state = _OPENED_ENDED if end else _OPENED
        stream.head_received = True
        stream.remote_ended = end
        stream.expected_length = length
        events.append(
            make_request(
                sid,
                method,
                path,
                scheme,
                authority,
                Headers.from_raw(regular),
                end,
                protocol,
                priority,
            )
        )
        if end:
            events.append(make_stream_ended(sid))

    def _answer_431(self, sid: int, end_stream: bool) -> None:
        """A request head over our header list bounds: answer 431 ourselves."""
        stream = self._new_stream(sid)
        self._move(stream, _RECV_HEADERS)
        stream.head_received = True
        if end_stream:
            stream.remote_ended = True
            self._move(stream, _RECV_END)
        block = self._encode([(b":status", b"431"), (b"content-length", b"0")])
        self._write_block(sid, block, True)
        stream.head_sent = stream.answered = stream.local_ended = True
        self._move(stream, StreamInput.SEND_HEADERS)
        self._move(stream, StreamInput.SEND_END_STREAM)
        if stream.state is not S.CLOSED:
            self._reset(sid, ErrorCode.NO_ERROR)

    def _response_head(
        self, stream: Stream, fields: list[tuple[bytes, bytes]], end: bool, events: list[Event]
    ) -> None:
        sid = stream.id
        if stream.head_received:
            self._trailers(stream, fields, end, events)
            return
        status, regular, length = parse_response_fields(fields)
        headers = Headers.from_raw(regular)
        if status < 200:
            if end:
                raise MalformedHeaders("an informational response ends the stream")
            self._move(stream, _RECV_HEADERS)
            events.append(InformationalResponse(sid, status, headers))
            return
        if stream.no_body or status == 304:
            length = None
        if end and length:
            raise MalformedHeaders("content-length without content")
        stream.head_received = True
        stream.expected_length = length
        self._move(stream, _RECV_HEADERS)
        events.append(make_response(sid, status, headers, end))
        if end:
            self._remote_end(stream, events)

    def _trailers(
        self, stream: Stream, fields: list[tuple[bytes, bytes]], end: bool, events: list[Event]
    ) -> None:
        if not end:
            raise MalformedHeaders("trailers without END_STREAM")
        check_trailer_fields(fields)
        expected = stream.expected_length
        if expected is not None and stream.received_length != expected:
            raise MalformedHeaders("content-length does not match the data received")
        self._move(stream, _RECV_HEADERS)
        events.append(Trailers(stream.id, Headers.from_raw(fields)))
        self._remote_end(stream, events)

    def _push_block(
        self, block: Block, fields: list[tuple[bytes, bytes]] | None, events: list[Event]
    ) -> None:
        sid = block.stream_id
        promised = block.promised
        assoc = self._streams.get(sid)
        if assoc is None:
            if self._closed.get(sid) == RESET_SENT:
                self._reset(promised, ErrorCode.CANCEL)  # we reset its stream already
                return
            raise H2ConnectionError(f"PUSH_PROMISE on stream {sid}, which is not open")
        if assoc.state not in _DATA_OK or not self._local_initiated(sid):
            raise H2ConnectionError(f"PUSH_PROMISE on stream {sid} in state {assoc.state.value}")
        if fields is None:
            self._refuse(promised, _PROTOCOL, events, report=False)
            self._remember_closed(promised, RESET_SENT)
            return
        try:
            method, scheme, authority, path, _, regular, _, priority = parse_request_fields(fields)
            if method not in _SAFE_PUSH_METHODS:
                raise MalformedHeaders(f"pushed request with method {method!r}")
        except MalformedHeaders:
            self._guard.stream_error(self._now)
            self._reset(promised, _PROTOCOL)
            return
        if self._reserved_remote >= self._max_inbound:
            self._reset(promised, ErrorCode.REFUSED_STREAM)
            return
        stream = self._new_stream(promised)
        self._move(stream, StreamInput.RECV_PUSH_PROMISE)
        self._reserved_remote += 1
        stream.head_sent = stream.local_ended = True
        stream.no_body = method == b"HEAD"
        request = make_request(
            promised,
            method,
            path,
            scheme,
            authority,
            Headers.from_raw(regular),
            True,
            None,
            priority,
        )
        events.append(PushPromise(sid, promised, request))
