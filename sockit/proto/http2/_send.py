"""The send half of the HTTP/2 connection: events from the application to frames.

Every check here is about *our* use of the API, so every refusal is a
:class:`~sockit.errors.LocalProtocolError` raised before anything is queued.
"""

from __future__ import annotations

from collections.abc import Callable

from sockit.errors import LocalProtocolError
from sockit.proto.events import Event
from sockit.proto.http.headers import Headers
from sockit.proto.http2._core import DATA, END_STREAM, HEADER, Core
from sockit.proto.http2.events import (
    Data,
    InformationalResponse,
    PushPromise,
    Request,
    ResetStream,
    Response,
    Trailers,
)
from sockit.proto.http2.flow import SendBufferFull
from sockit.proto.http2.state import (
    STREAM_TRANSITIONS,
    ConnectionState,
    StreamInput,
    StreamState,
)
from sockit.proto.http2.stream import Stream
from sockit.proto.http2.validate import (
    check_known_fields,
    check_trailer_fields,
    parse_request_fields,
    parse_response_fields,
)

__all__ = ["Sender"]

S = StreamState
_pack_header = HEADER.pack
_OPEN = ConnectionState.OPEN
_CLOSED = ConnectionState.CLOSED
_SEND_HEADERS = StreamInput.SEND_HEADERS
_SEND_END = StreamInput.SEND_END_STREAM
# Where a request we send leaves its new stream (derived from the table).
_SENT_HEAD = STREAM_TRANSITIONS[S.IDLE, _SEND_HEADERS]
_SENT_HEAD_ENDED = STREAM_TRANSITIONS[_SENT_HEAD, _SEND_END]
_DATA_STATES = frozenset({S.OPEN, S.HALF_CLOSED_REMOTE})
_SMALL = 1024
_STATUS = {code: b"%d" % code for code in range(100, 1000)}
_PUSH_METHODS = frozenset({b"GET", b"HEAD"})

Fields = list[tuple[bytes, bytes]]


def _headers(value: object) -> Headers:
    if isinstance(value, Headers):
        return value
    try:
        return Headers(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise LocalProtocolError(f"headers must be Headers or (name, value) pairs: {exc}") from None


def _regular_fields(headers: Headers, fields: Fields) -> Fields:
    """Append ``headers`` with lowercase names (HTTP/2 requires them)."""
    fields += [(name.lower(), value) for name, value in headers.raw_items()]
    return fields


def _check_stream_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 1 << 31:
        raise LocalProtocolError(f"invalid stream id {value!r}")
    return value


class Sender(Core):
    """:meth:`send` and the per-event senders."""

    def send(self, event: Event) -> None:
        """Queue ``event`` for the peer; LocalProtocolError if it is not allowed now.

        Requests (client), responses, informational responses and pushes
        (server), data, trailers and stream resets. Data beyond the
        flow-control windows is buffered (:class:`SendBufferFull` past the
        bounds) and goes out as the peer grants credit.
        """
        if self._state is _CLOSED:
            raise LocalProtocolError("the connection is closed")
        sender = _SENDERS.get(event.__class__)
        if sender is None:
            raise LocalProtocolError(f"cannot send {type(event).__name__} on HTTP/2")
        sender(self, event)

    # -- heads -------------------------------------------------------------------

    def _send_request(self, event: Request) -> None:
        if not self._client:
            raise LocalProtocolError("a server cannot send a Request")
        if self._state is not _OPEN:
            raise LocalProtocolError("no new streams after GOAWAY")
        sid = _check_stream_id(event.stream_id)
        if not sid & 1 or sid <= self._highest_local:
            raise LocalProtocolError(
                f"stream id {sid} must be odd and above {self._highest_local} (next_stream_id())"
            )
        limit = self._remote_settings.max_concurrent_streams
        if limit is not None and self._outbound >= limit:
            raise LocalProtocolError(f"the peer allows {limit} concurrent streams")
        if event.protocol is not None and not self._remote_settings.enable_connect_protocol:
            raise LocalProtocolError("the server did not enable extended CONNECT")
        headers = _headers(event.headers)
        fields = self._request_fields(event, headers, self._remote_settings.enable_connect_protocol)
        block = self._encode(fields)
        self._highest_local = sid
        stream = self._new_stream(sid)
        end = event.end_stream
        self._write_block(sid, block, end)
        self._outbound += 1
        stream.state = _SENT_HEAD_ENDED if end else _SENT_HEAD
        stream.head_sent = True
        stream.no_body = event.method == b"HEAD"
        stream.local_ended = end

    def _request_fields(self, event: Request, headers: Headers, extended: bool) -> Fields:
        """The request's fields, checked when ``validate_outbound_headers`` is on."""
        method = event.method
        fields: Fields
        if method == b"CONNECT" and event.protocol is None:
            fields = [(b":method", method), (b":authority", event.authority)]
        else:
            fields = [(b":method", method), (b":scheme", event.scheme)]
            if event.authority:
                fields.append((b":authority", event.authority))
            fields.append((b":path", event.path))
            if event.protocol is not None:
                fields.append((b":protocol", event.protocol))
        pseudo = len(fields)
        fields += [(name.lower(), value) for name, value in headers.raw_items()]
        priority = event.priority
        if priority is not None and headers.lookup_raw(b"priority") is None:
            fields.append((b"priority", priority))
        if self.config.validate_outbound_headers:
            if headers.validated and priority is None:
                # well-formed fields: the pseudo-headers in full, the rest by meaning
                parse_request_fields(fields[:pseudo], extended_connect=extended, outbound=True)
                check_known_fields(fields, pseudo, event.authority)
            else:
                parse_request_fields(fields, extended_connect=extended, outbound=True)
        return fields

    def _send_response(self, event: Response) -> None:
        self._send_head(event.stream_id, event.status_code, event.headers, event.end_stream, True)

    def _send_informational(self, event: InformationalResponse) -> None:
        self._send_head(event.stream_id, event.status_code, event.headers, False, False)

    def _send_head(self, sid: int, status: int, headers: object, end: bool, final: bool) -> None:
        if self._client:
            raise LocalProtocolError("a client cannot send a response")
        stream = self._sendable(sid)
        if stream.head_sent:
            raise LocalProtocolError(f"stream {sid} already has its final response")
        if isinstance(status, bool) or not isinstance(status, int):
            raise LocalProtocolError(f"status code must be an int, not {status!r}")
        if final and not 200 <= status <= 999:
            raise LocalProtocolError(f"final status {status} is not 200-999")
        if not final and not (100 <= status <= 199 and status != 101):
            raise LocalProtocolError(f"informational status {status} is not 1xx (nor 101)")
        if (stream.state, _SEND_HEADERS) not in STREAM_TRANSITIONS:
            raise LocalProtocolError(f"cannot send HEADERS in state {stream.state.value}")
        if stream.state is S.RESERVED_LOCAL:
            limit = self._remote_settings.max_concurrent_streams
            if limit is not None and self._outbound >= limit:
                raise LocalProtocolError(f"the peer allows {limit} concurrent streams")
        regular = _headers(headers)
        fields: Fields = [(b":status", _STATUS[status])]
        _regular_fields(regular, fields)
        if self.config.validate_outbound_headers:
            if regular.validated:
                check_known_fields(fields, 1)
            else:
                parse_response_fields(fields, outbound=True)
        self._write_block(sid, self._encode(fields), end)
        stream.answered = True
        self._move(stream, _SEND_HEADERS)
        if final:
            stream.head_sent = True
            if end:
                stream.local_ended = True
                self._move(stream, _SEND_END)

    def _sendable(self, sid: int) -> Stream:
        stream = self._streams.get(sid)
        if stream is None:
            if sid in self._closed or not self._is_idle_id(sid):
                raise LocalProtocolError(f"stream {sid} is closed")
            raise LocalProtocolError(f"stream {sid} is not open")
        if stream.local_ended:
            raise LocalProtocolError(f"stream {sid} was already ended by us")
        return stream

    def _is_idle_id(self, sid: int) -> bool:
        if self._local_initiated(sid):
            return sid > self._highest_local
        return sid > self._highest_remote

    # -- content -----------------------------------------------------------------

    def _send_data(self, event: Data) -> None:
        sid = event.stream_id
        stream = self._sendable(sid)
        if not stream.head_sent:
            raise LocalProtocolError(f"send the head of stream {sid} before its data")
        if stream.state not in _DATA_STATES:
            raise LocalProtocolError(f"cannot send DATA in state {stream.state.value}")
        data = event.data
        if data.__class__ is not bytes:
            data = bytes(data)
        end = event.end_stream
        size = len(data)
        if stream.buffered:
            self._check_buffer(stream, size)
            if size:
                stream.buffer.append(memoryview(data))
                stream.buffered += size
                self._buffered += size
            if end:
                stream.end_queued = True
                stream.local_ended = True
            return
        window = stream.send_window
        window = min(window, self._send_window)
        first = size if size <= window else max(window, 0)
        rest = size - first
        if rest:
            self._check_buffer(stream, rest)
        if first:
            self._write_data(sid, data, first, end and not rest)
            stream.send_window -= first
            self._send_window -= first
        elif end and not rest:
            self._write(_pack_header(DATA << 8, END_STREAM, sid))
        if rest:
            stream.buffer.append(memoryview(data)[first:])
            stream.buffered = rest
            self._buffered += rest
            self._buffering.add(sid)
            stream.stalled_since = self._now
            if end:
                stream.end_queued = True
            if stream.send_window > 0:
                self._ready.add(sid)
        if end:
            stream.local_ended = True
            if not rest:
                self._move(stream, _SEND_END)

    def _write_data(self, sid: int, data: bytes, n: int, end: bool) -> None:
        """DATA frames for ``data[:n]``, split by the peer's frame size."""
        limit = self._remote_max_frame
        write = self._write
        if n <= limit:
            header = _pack_header(n << 8, END_STREAM if end else 0, sid)
            if n <= _SMALL:
                write(header + data[:n] if n < len(data) else header + data)
            else:
                write(header)
                write(data if n == len(data) else memoryview(data)[:n])
            return
        view = memoryview(data)
        pos = 0
        while pos < n:
            size = min(limit, n - pos)
            last = pos + size >= n
            write(_pack_header(size << 8, END_STREAM if end and last else 0, sid))
            write(view[pos : pos + size])
            pos += size

    def _check_buffer(self, stream: Stream, size: int) -> None:
        cfg = self.config
        if stream.buffered + size > cfg.max_stream_send_buffer:
            raise SendBufferFull(
                f"stream {stream.id} would buffer {stream.buffered + size} bytes",
                stream_id=stream.id,
                limit="max_stream_send_buffer",
                value=cfg.max_stream_send_buffer,
            )
        if self._buffered + size > cfg.max_connection_send_buffer:
            raise SendBufferFull(
                f"the connection would buffer {self._buffered + size} bytes",
                stream_id=stream.id,
                limit="max_connection_send_buffer",
                value=cfg.max_connection_send_buffer,
            )

    def _send_trailers(self, event: Trailers) -> None:
        sid = event.stream_id
        stream = self._sendable(sid)
        if not stream.head_sent:
            raise LocalProtocolError(f"send the head of stream {sid} before its trailers")
        if stream.state not in _DATA_STATES:
            raise LocalProtocolError(f"cannot send trailers in state {stream.state.value}")
        headers = _headers(event.headers)
        if self.config.validate_outbound_headers:
            fields = _regular_fields(headers, [])
            if headers.validated:
                check_known_fields(fields)
            else:
                check_trailer_fields(fields, outbound=True)
        stream.local_ended = True
        if stream.buffered:
            stream.trailers_queued = headers
        else:
            self._write_trailers(stream, headers)

    def _send_reset(self, event: ResetStream) -> None:
        sid = _check_stream_id(event.stream_id)
        code = event.error_code
        if isinstance(code, bool) or not isinstance(code, int) or not 0 <= code <= 0xFFFFFFFF:
            raise LocalProtocolError(f"invalid error code {code!r}")
        if sid not in self._streams:
            if self._is_idle_id(sid):
                raise LocalProtocolError(f"stream {sid} is idle")
            return  # already closed: nothing to reset
        self._reset(sid, code)

    def _send_push(self, event: PushPromise) -> None:
        if self._client:
            raise LocalProtocolError("a client cannot push")
        if not self._remote_settings.enable_push or not self.config.limits.enable_push:
            raise LocalProtocolError("push is disabled")
        if self._state is not _OPEN:
            raise LocalProtocolError("no new streams after GOAWAY")
        sid = event.stream_id
        assoc = self._streams.get(sid)
        if assoc is None or assoc.state not in _DATA_STATES or self._local_initiated(sid):
            raise LocalProtocolError(f"cannot push on stream {sid}")
        promised = _check_stream_id(event.promised_stream_id)
        if promised & 1 or promised <= self._highest_local:
            raise LocalProtocolError(
                f"promised stream id {promised} must be even and above {self._highest_local}"
            )
        request = event.request
        if request.method not in _PUSH_METHODS:
            raise LocalProtocolError("only GET and HEAD requests can be pushed")
        fields = self._request_fields(request, _headers(request.headers), False)
        block = self._encode(fields)
        self._highest_local = promised
        self._write_block(sid, block, False, push=promised)
        stream = self._new_stream(promised)
        self._move(stream, StreamInput.SEND_PUSH_PROMISE)
        stream.head_received = stream.remote_ended = True


_SENDERS: dict[type[Event], Callable[[Sender, Event], None]] = {
    Request: Sender._send_request,  # type: ignore[dict-item]
    Response: Sender._send_response,  # type: ignore[dict-item]
    InformationalResponse: Sender._send_informational,  # type: ignore[dict-item]
    Data: Sender._send_data,  # type: ignore[dict-item]
    Trailers: Sender._send_trailers,  # type: ignore[dict-item]
    ResetStream: Sender._send_reset,  # type: ignore[dict-item]
    PushPromise: Sender._send_push,  # type: ignore[dict-item]
}
