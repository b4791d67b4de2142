"""The receive half of the WebSocket machine: frames in, events out.

One pass over the input, no re-parsing. A whole unfragmented, uncompressed
data frame already in the buffer (the common case) takes a fast path:
header decoded inline, payload unmasked in one call, the event built without
the dataclass ``__init__``. Everything else goes through three steps that the
fast path skips:

* :meth:`_begin_frame` judges a header as soon as it is complete, before its
  payload arrives: RSV bits, opcode, control frame shape, masking direction,
  message sequencing, and the frame, message and fragment limits (an
  uncompressed message's size is known from its headers, so it is refused
  before its payload is read).
* :meth:`_data_chunk` takes each piece of a data frame's payload *as it
  arrives* (a frame split across reads is not held until complete): it is
  unmasked with the key rotated to its offset, inflated (checking the
  inflated size while inflating) and, for text, fed to the incremental UTF-8
  decoder, so invalid UTF-8 fails the connection at the first bad byte even
  in the middle of a frame (Autobahn 6.4.3/6.4.4).
* :meth:`_end_data_frame` finishes the frame: the message or, when
  streaming, a :class:`MessageFragment`.

Only a partial header (at most 13 bytes) is carried between calls, so the
same bytes split any way give the same events. Any refusal raises inside and
becomes ``ConnectionFailed`` (with the close frame queued) in
:meth:`receive_data`; events completed before it are kept.
"""

from __future__ import annotations

from typing import Final

from sockit.errors import RemoteProtocolError
from sockit.proto.contract import Buffer
from sockit.proto.events import Event
from sockit.proto.ws._core import ConnectionState, Step, _Core
from sockit.proto.ws._mask import mask_bytes, mask_rotated
from sockit.proto.ws.errors import CloseCode, WebSocketError, WebSocketLimitExceeded
from sockit.proto.ws.events import (
    BytesMessage,
    CloseConnection,
    ConnectionFailed,
    MessageFragment,
    Ping,
    Pong,
    TextMessage,
    _set_data,
    _set_text,
    make_bytes,
    make_text,
)
from sockit.proto.ws.frames import parse_close
from sockit.utf8 import InvalidUTF8, UTF8Decoder

__all__: list[str] = []

_OPEN: Final = ConnectionState.OPEN
_CLOSED: Final = ConnectionState.CLOSED
_INVALID_DATA: Final = int(CloseCode.INVALID_FRAME_PAYLOAD_DATA)
_PROTOCOL_ERROR: Final = int(CloseCode.PROTOCOL_ERROR)
_BAD_TEXT: Final = "invalid UTF-8 in a text message"
_new: Final = object.__new__
_BytesMessage: Final = BytesMessage
_TextMessage: Final = TextMessage


def _too_big(what: str, size: int, limit: str, value: int) -> WebSocketLimitExceeded:
    return WebSocketLimitExceeded(
        f"{what} of {size} bytes exceeds {limit} {value}", limit=limit, value=value
    )


class _Receiver(_Core):
    """Frame parsing and message reassembly (see the module docstring)."""

    __slots__ = (
        "_auto_pong",
        "_chunks",
        "_f_b0",
        "_f_ctrl",
        "_f_key",
        "_f_left",
        "_f_off",
        "_fast_max",
        "_head",
        "_m_comp",
        "_m_frames",
        "_m_op",
        "_m_size",
        "_mask_flag",
        "_max_control",
        "_max_fragments",
        "_max_frame",
        "_max_message",
        "_max_reason",
        "_stream",
        "_texts",
        "_utf8",
    )

    # configuration (set by Connection.__init__)
    _mask_flag: int  # 0x80 on a server (client frames are masked), 0 on a client
    _stream: bool
    _auto_pong: bool
    _max_frame: int
    _max_message: int
    _max_fragments: int
    _max_control: int
    _max_reason: int
    _fast_max: int  # min(max_frame, max_message): bound of the fast path

    def _init_receiver(self) -> None:
        self._head = b""
        # the frame whose payload is still arriving
        self._f_b0 = 0
        self._f_key: bytes | None = None
        self._f_left = 0
        self._f_off = 0
        self._f_ctrl: list[bytes] = []
        # the message being reassembled: opcode (0: none), compressed, size, frames
        self._m_op = 0
        self._m_comp = False
        self._m_size = 0
        self._m_frames = 0
        self._texts: list[str] = []
        self._chunks: list[bytes] = []
        self._utf8 = UTF8Decoder()

    # -- the contract -------------------------------------------------------------------

    def receive_data(self, data: Buffer, now: float | None = None) -> list[Event]:
        """Feed bytes from the peer; return the events they complete, in order.

        Never raises for peer input: a broken rule or limit queues the close
        frame and ends the list with :class:`ConnectionFailed`. ``now`` (a
        monotonic time) drives the ping deadlines. Input after the close
        handshake or a failure is ignored.
        """
        if now is not None:
            self._clock(now)
        events: list[Event] = []
        state = self._state  # a local: narrowing self._state would hide later changes
        if state is _CLOSED or not data:
            return events
        # The parsing loop is inlined here: it is the hot path (one call less a frame).
        if type(data) is not bytes:
            data = bytes(data)
        if self._head:
            data = self._head + data
            self._head = b""
        n = len(data)
        pos = 0
        try:
            if self._f_left:
                pos = min(self._f_left, n)
                self._frame_chunk(data[:pos] if pos < n else data, events)
                if self._state is _CLOSED:
                    return events
            mask_flag = self._mask_flag
            fast_max = self._fast_max
            fast = not self._stream
            append = events.append
            while True:
                avail = n - pos
                if avail < 2:
                    if avail:
                        self._head = data[pos:]
                    return events
                b0 = data[pos]
                b1 = data[pos + 1]
                length = b1 & 0x7F
                hlen = 2
                if length > 125:
                    if length == 126:
                        if avail < 4:
                            self._head = data[pos:]
                            return events
                        length = (data[pos + 2] << 8) | data[pos + 3]
                        if length < 126:
                            raise WebSocketError("frame length not in its minimal encoding")
                        hlen = 4
                    else:
                        if avail < 10:
                            self._head = data[pos:]
                            return events
                        length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                        if length >> 63:
                            raise WebSocketError("frame length has its most significant bit set")
                        if length < 0x10000:
                            raise WebSocketError("frame length not in its minimal encoding")
                        hlen = 10
                masked = b1 & 0x80
                key: bytes | None = None
                if masked:
                    if avail < hlen + 4:
                        self._head = data[pos:]
                        return events
                    key = data[pos + hlen : pos + hlen + 4]
                    hlen += 4
                start = pos + hlen
                end = start + length
                if (
                    0x81 <= b0 <= 0x82
                    and masked == mask_flag
                    and end <= n
                    and length <= fast_max
                    and fast
                    and not self._m_op
                ):
                    # fast path: a whole single-frame message
                    if key is None:
                        payload = data[start:end]
                    elif length < 16384:
                        payload = mask_bytes(data[start:end], key)
                    else:  # a memoryview saves copying a large payload before unmasking
                        payload = mask_bytes(memoryview(data)[start:end], key)
                    # the events are built as make_bytes/make_text do, inlined
                    event: Event
                    if b0 == 0x82:
                        event = _new(_BytesMessage)
                        _set_data(event, payload)
                    else:
                        try:
                            text = str(payload, "utf-8")
                        except UnicodeDecodeError:
                            raise WebSocketError(_BAD_TEXT, error_code=_INVALID_DATA) from None
                        event = _new(_TextMessage)
                        _set_text(event, text)
                    append(event)
                    pos = end
                    continue
                self._begin_frame(b0, length, masked)
                if end > n:
                    self._f_b0 = b0
                    self._f_key = key
                    self._f_left = length
                    self._f_off = 0
                    if start < n:
                        self._frame_chunk(data[start:], events)
                    return events
                payload = data[start:end]
                if key is not None:
                    payload = mask_bytes(payload, key)
                if b0 & 0x08:
                    self._control(b0 & 0x0F, payload, events)
                    if self._state is _CLOSED:
                        return events
                else:
                    self._data_chunk(payload)
                    self._end_data_frame(b0 & 0x80, events)
                pos = end
        except RemoteProtocolError as exc:
            self._refuse(exc, events)
        return events

    def _refuse(self, exc: RemoteProtocolError, events: list[Event]) -> None:
        reason = exc.message
        if isinstance(exc, WebSocketError) and exc.error_code is not None:
            code = exc.error_code
        elif isinstance(exc, InvalidUTF8):
            # the same reason whichever way the bytes were split
            code, reason = _INVALID_DATA, _BAD_TEXT
        else:  # pragma: no cover - every refusal below is a WebSocketError
            code = _PROTOCOL_ERROR
        self._fail(int(code), reason, events)

    def receive_eof(self) -> list[Event]:
        """The transport ended: ``CloseConnection(1006)`` unless already CLOSED."""
        if self._state is _CLOSED:
            return []
        self._abandon()
        self._move(Step.EOF)
        reason = "the connection ended without a close frame"
        return [CloseConnection(int(CloseCode.ABNORMAL_CLOSURE), reason)]

    # -- parsing --------------------------------------------------------------------------

    def _begin_frame(self, b0: int, length: int, masked: int) -> None:
        """Judge a complete header against the rules and limits (module docstring)."""
        op = b0 & 0x0F
        rsv = b0 & 0x70
        if op >= 8:
            if op > 10:
                raise WebSocketError(f"reserved control opcode {op:#x}")
            if rsv:
                raise WebSocketError("reserved bits set on a control frame")
            if not b0 & 0x80:
                raise WebSocketError("fragmented control frame")
            if length > 125:
                raise WebSocketError("control frame payload longer than 125 bytes")
            if masked != self._mask_flag:
                raise self._mask_error()
            if length > self._max_control:
                raise _too_big("control frame", length, "max_control_payload", self._max_control)
            return
        if op > 2:
            raise WebSocketError(f"reserved data opcode {op:#x}")
        if masked != self._mask_flag:
            raise self._mask_error()
        if op == 0:
            if not self._m_op:
                raise WebSocketError("continuation frame without a message to continue")
            if rsv:
                raise WebSocketError("reserved bits set on a continuation frame")
            frames = self._m_frames + 1
            if frames > self._max_fragments:
                raise WebSocketLimitExceeded(
                    f"message of more than {self._max_fragments} fragments",
                    limit="max_fragments",
                    value=self._max_fragments,
                )
            self._m_frames = frames
        else:
            if self._m_op:
                raise WebSocketError("new message before the fragmented one ended")
            if rsv and (rsv != 0x40 or self._deflate is None):
                raise WebSocketError(f"reserved bits {rsv >> 4:#05b} set without an extension")
            self._m_op = op
            self._m_comp = bool(rsv)
            self._m_frames = 1
            self._m_size = 0
            if op == 1:
                self._utf8.reset()
        if length > self._max_frame:
            raise _too_big("frame", length, "max_frame_size", self._max_frame)
        if not self._m_comp:
            size = self._m_size + length
            if size > self._max_message:
                raise _too_big("message", size, "max_message_size", self._max_message)
            self._m_size = size

    def _mask_error(self) -> WebSocketError:
        if self._mask_flag:
            return WebSocketError("unmasked frame from a client")
        return WebSocketError("masked frame from a server")

    def _frame_chunk(self, piece: bytes, events: list[Event]) -> None:
        """The next piece of the payload of the frame whose header came earlier."""
        key = self._f_key
        if key is not None:
            piece = mask_rotated(piece, key, self._f_off)
            self._f_off += len(piece)
        self._f_left -= len(piece)
        b0 = self._f_b0
        if b0 & 0x08:
            self._f_ctrl.append(piece)
            if not self._f_left:
                payload = b"".join(self._f_ctrl)
                self._f_ctrl = []
                self._control(b0 & 0x0F, payload, events)
        else:
            self._data_chunk(piece)
            if not self._f_left:
                self._end_data_frame(b0 & 0x80, events)

    def _data_chunk(self, piece: bytes) -> None:
        if self._m_comp:
            deflate = self._deflate
            assert deflate is not None  # RSV1 is refused without it
            piece = deflate.decompress(piece, False)
        if self._m_op == 1:
            text = self._utf8.decode(piece)
            if text:
                self._texts.append(text)
        elif piece:
            self._chunks.append(piece)

    def _end_data_frame(self, fin: int, events: list[Event]) -> None:
        text = self._m_op == 1
        if fin:
            if self._m_comp:
                deflate = self._deflate
                assert deflate is not None
                tail = deflate.decompress(b"", True)
                if text:
                    tail_text = self._utf8.decode(tail, True)
                    if tail_text:
                        self._texts.append(tail_text)
                elif tail:
                    self._chunks.append(tail)
            elif text:
                self._utf8.decode(b"", True)  # a sequence cut off at the end fails here
            self._m_op = 0
        if self._stream:
            if text:
                events.append(MessageFragment("".join(self._texts), True, bool(fin)))
                self._texts = []
            else:
                events.append(MessageFragment(b"".join(self._chunks), False, bool(fin)))
                self._chunks = []
        elif fin:
            if text:
                events.append(make_text("".join(self._texts)))
                self._texts = []
            else:
                events.append(make_bytes(b"".join(self._chunks)))
                self._chunks = []

    def _control(self, op: int, payload: bytes, events: list[Event]) -> None:
        if op == 0x9:
            events.append(Ping(payload))
            if self._auto_pong and self._state is _OPEN:
                self._emit(0xA, payload)
        elif op == 0xA:
            events.append(Pong(payload))
            self._pong_received(payload)
        else:
            code, reason = parse_close(payload)
            if len(payload) - 2 > self._max_reason:
                raise _too_big("close reason", len(payload) - 2, "max_close_reason",
                               self._max_reason)
            events.append(CloseConnection(code, reason))
            if self._state is _OPEN:
                self._emit_close(code)
            self._abandon()
            self._move(Step.RECEIVE_CLOSE)

    def _abandon(self) -> None:
        """Drop partial input: nothing after a close frame or a failure is read."""
        self._head = b""
        self._f_left = 0
        self._f_ctrl = []
        self._m_op = 0
        self._texts = []
        self._chunks = []

    def _fail(self, code: int, reason: str, events: list[Event]) -> None:
        """Fail the connection (RFC 6455 §7.1.7): our close frame unless one went, CLOSED."""
        if self._state is _CLOSED:
            return
        self._abandon()
        if self._state is _OPEN:
            self._emit_close(code, reason)
        self._move(Step.FAIL)
        events.append(ConnectionFailed(code, reason))
