"""Wire bytes to frame objects, incrementally (RFC 9113 §4, §5.4, §6).

:class:`FrameParser` keeps one ``bytearray`` and a read offset. Headers are
read in place with ``struct.unpack_from``; consumed bytes are dropped at most
once per :meth:`~FrameParser.feed`, so a buffer holding thousands of small
frames is walked in linear time, and a frame's payload is copied out of the
buffer exactly once.

Every framing rule of RFC 9113 §4.2 and §6 is checked here, with the error
kind and code the RFC gives: :class:`H2ConnectionError` for connection
errors (the parser stops at the offending frame and raises again if asked
for more), :class:`H2StreamError` for stream errors (the frame is consumed
and parsing can go on). Rules that need stream state (CONTINUATION sequencing,
idle streams, flow control) belong to the connection.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator

from sockit.errors import LocalProtocolError
from sockit.proto.http2._model import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    Priority,
    PriorityFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    UnknownFrame,
    WindowUpdateFrame,
)
from sockit.proto.http2.errors import ErrorCode, H2ConnectionError, H2StreamError

__all__ = ["FrameParser"]

_HEADER = struct.Struct(">LBL")  # (length << 8 | type), flags, R + stream id
_U32 = struct.Struct(">L")
_GOAWAY = struct.Struct(">LL")
_PRIORITY = struct.Struct(">LB")
_SETTING = struct.Struct(">HL")

_ID_MASK = 0x7FFFFFFF
_MIN_MAX_FRAME_SIZE = 1 << 14
_MAX_MAX_FRAME_SIZE = (1 << 24) - 1
_SMALL = 512  # payloads up to this size are sliced directly; larger through a memoryview

_PROTOCOL = ErrorCode.PROTOCOL_ERROR
_FRAME_SIZE = ErrorCode.FRAME_SIZE_ERROR

_Buf = bytearray
_Parse = Callable[[_Buf, int, int, int, int], Frame]


def _take(buf: _Buf, start: int, end: int) -> bytes:
    """``bytes(buf[start:end])`` with a single copy for large payloads."""
    if end - start <= _SMALL:
        return bytes(buf[start:end])
    with memoryview(buf) as view:
        return view[start:end].tobytes()


def _on_stream(sid: int, name: str) -> None:
    if sid == 0:
        raise H2ConnectionError(f"{name} frame on stream 0", _PROTOCOL)


def _on_connection(sid: int, name: str) -> None:
    if sid != 0:
        raise H2ConnectionError(f"{name} frame on stream {sid}, must be stream 0", _PROTOCOL)


def _strip_padding(
    buf: _Buf, start: int, end: int, flags: int, *, fixed: int, name: str
) -> tuple[int, int, int | None]:
    """Drop the pad-length octet and padding; ``fixed`` counts mandatory octets after it."""
    if not flags & 0x8:
        if end - start < fixed:
            raise H2ConnectionError(f"{name} frame too short ({end - start} bytes)", _FRAME_SIZE)
        return start, end, None
    if end - start < 1 + fixed:
        raise H2ConnectionError(f"padded {name} frame too short ({end - start} bytes)", _FRAME_SIZE)
    pad = buf[start]
    start += 1
    if pad > end - start - fixed:
        raise H2ConnectionError(
            f"{name} padding of {pad} bytes does not fit a {end - start + 1}-byte payload",
            _PROTOCOL,
        )
    return start, end - pad, pad


def _data(buf: _Buf, start: int, end: int, flags: int, sid: int) -> Frame:
    if sid == 0:
        raise H2ConnectionError("DATA frame on stream 0", _PROTOCOL)
    if flags & 0x8:
        start, end, pad = _strip_padding(buf, start, end, flags, fixed=0, name="DATA")
        return DataFrame(sid, _take(buf, start, end), bool(flags & 0x1), pad)
    return DataFrame(sid, _take(buf, start, end), bool(flags & 0x1))


def _priority_at(buf: _Buf, at: int) -> Priority:
    dep, weight = _PRIORITY.unpack_from(buf, at)
    return Priority(dep & _ID_MASK, weight + 1, dep > _ID_MASK)


def _headers(buf: _Buf, start: int, end: int, flags: int, sid: int) -> Frame:
    if sid == 0:
        raise H2ConnectionError("HEADERS frame on stream 0", _PROTOCOL)
    if not flags & 0x28:  # neither PADDED nor PRIORITY: the common case
        return HeadersFrame(sid, bytes(buf[start:end]), bool(flags & 0x1), bool(flags & 0x4))
    prio_len = 5 if flags & 0x20 else 0
    start, end, pad = _strip_padding(buf, start, end, flags, fixed=prio_len, name="HEADERS")
    priority = None
    if prio_len:
        priority = _priority_at(buf, start)
        start += 5
    frame = HeadersFrame(
        sid, _take(buf, start, end), bool(flags & 0x1), bool(flags & 0x4), pad, priority
    )
    if priority is not None and priority.depends_on == sid:
        raise H2StreamError(f"stream {sid} depends on itself", sid, _PROTOCOL, frame=frame)
    return frame


def _priority(buf: _Buf, start: int, end: int, flags: int, sid: int) -> Frame:
    _on_stream(sid, "PRIORITY")
    if end - start != 5:
        raise H2StreamError(f"PRIORITY frame of {end - start} bytes, not 5", sid, _FRAME_SIZE)
    priority = _priority_at(buf, start)
    if priority.depends_on == sid:
        raise H2StreamError(f"stream {sid} depends on itself", sid, _PROTOCOL)
    return PriorityFrame(sid, priority)


def _rst_stream(buf: _Buf, start: int, end: int, flags: int, sid: int) -> Frame:
    _on_stream(sid, "RST_STREAM")
    if end - start != 4:
        raise H2ConnectionError(f"RST_STREAM frame of {end - start} bytes, not 4", _FRAME_SIZE)
    return RstStreamFrame(sid, _U32.unpack_from(buf, start)[0])


def _settings(buf: _Buf, start: int, end: int, flags: int, sid: int) -> Frame:
    _on_connection(sid, "SETTINGS")
    length = end - start
    if flags & 0x1:
        if length:
            raise H2ConnectionError(f"SETTINGS ACK with {length} payload bytes", _FRAME_SIZE)
        return SettingsFrame((), True)
    if length % 6:
        raise H2ConnectionError(f"SETTINGS of {length} bytes, not a multiple of 6", _FRAME_SIZE)
    return SettingsFrame(tuple(_SETTING.iter_unpack(buf[start:end])))


def _push_promise(buf: _Buf, start: int, end: int, flags: int, sid: int) -> Frame:
    _on_stream(sid, "PUSH_PROMISE")
    start, end, pad = _strip_padding(buf, start, end, flags, fixed=4, name="PUSH_PROMISE")
    promised = _U32.unpack_from(buf, start)[0] & _ID_MASK
    if promised == 0 or promised & 1:
        raise H2ConnectionError(f"PUSH_PROMISE promises stream {promised}", _PROTOCOL)
    return PushPromiseFrame(sid, promised, _take(buf, start + 4, end), bool(flags & 0x4), pad)


def _ping(buf: _Buf, start: int, end: int, flags: int, sid: int) -> Frame:
    _on_connection(sid, "PING")
    if end - start != 8:
        raise H2ConnectionError(f"PING frame of {end - start} bytes, not 8", _FRAME_SIZE)
    return PingFrame(bytes(buf[start:end]), bool(flags & 0x1))


def _goaway(buf: _Buf, start: int, end: int, flags: int, sid: int) -> Frame:
    _on_connection(sid, "GOAWAY")
    if end - start < 8:
        raise H2ConnectionError(f"GOAWAY frame of {end - start} bytes, under 8", _FRAME_SIZE)
    last, code = _GOAWAY.unpack_from(buf, start)
    return GoAwayFrame(last & _ID_MASK, code, _take(buf, start + 8, end))


def _window_update(buf: _Buf, start: int, end: int, flags: int, sid: int) -> Frame:
    if end - start != 4:
        raise H2ConnectionError(f"WINDOW_UPDATE frame of {end - start} bytes, not 4", _FRAME_SIZE)
    increment = _U32.unpack_from(buf, start)[0] & _ID_MASK
    if increment == 0:
        if sid == 0:
            raise H2ConnectionError("WINDOW_UPDATE of 0 on the connection", _PROTOCOL)
        raise H2StreamError(f"WINDOW_UPDATE of 0 on stream {sid}", sid, _PROTOCOL)
    return WindowUpdateFrame(sid, increment)


def _continuation(buf: _Buf, start: int, end: int, flags: int, sid: int) -> Frame:
    _on_stream(sid, "CONTINUATION")
    return ContinuationFrame(sid, _take(buf, start, end), bool(flags & 0x4))


_PARSERS: tuple[_Parse, ...] = (
    _data,
    _headers,
    _priority,
    _rst_stream,
    _settings,
    _push_promise,
    _ping,
    _goaway,
    _window_update,
    _continuation,
)


class FrameParser:
    """Incremental HTTP/2 frame parser: :meth:`feed` bytes, take frames out.

    Bytes may be cut anywhere; the same bytes give the same frames and the
    same errors however they were cut. ``max_frame_size`` is the
    SETTINGS_MAX_FRAME_SIZE this side advertised (and the peer acknowledged);
    a longer frame is a FRAME_SIZE_ERROR connection error as soon as its
    header arrives, before its payload is buffered.
    """

    __slots__ = ("_buf", "_max", "_pos")

    def __init__(self, max_frame_size: int = _MIN_MAX_FRAME_SIZE) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._max = _MIN_MAX_FRAME_SIZE
        self.max_frame_size = max_frame_size

    @property
    def max_frame_size(self) -> int:
        """The largest payload accepted, 2**14 .. 2**24 - 1 (RFC 9113 §6.5.2)."""
        return self._max

    @max_frame_size.setter
    def max_frame_size(self, value: int) -> None:
        if not _MIN_MAX_FRAME_SIZE <= value <= _MAX_MAX_FRAME_SIZE:
            raise LocalProtocolError(f"max_frame_size {value} is outside 16384..16777215")
        self._max = value

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as frames."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes; call :meth:`next_frame` to take frames out."""
        pos = self._pos
        if pos:
            # dropping the consumed front of a bytearray is cheap in CPython
            del self._buf[:pos]
            self._pos = 0
        self._buf += data

    def next_frame(self) -> Frame | None:
        """The next complete frame, or ``None`` until more bytes are fed.

        Raises :class:`H2ConnectionError` or :class:`H2StreamError` for frames
        that break RFC 9113's framing rules.
        """
        buf = self._buf
        pos = self._pos
        avail = len(buf) - pos
        if avail < 9:
            return None
        word, flags, sid = _HEADER.unpack_from(buf, pos)
        length = word >> 8
        if length > self._max:
            raise H2ConnectionError(
                f"frame of {length} bytes exceeds max frame size {self._max}", _FRAME_SIZE
            )
        if avail < 9 + length:
            return None
        start = pos + 9
        end = start + length
        ftype = word & 0xFF
        sid &= _ID_MASK
        if ftype > 9:
            self._pos = end
            return UnknownFrame(sid, ftype, flags, bytes(buf[start:end]))
        try:
            frame: Frame = _PARSERS[ftype](buf, start, end, flags, sid)
        except H2StreamError:
            self._pos = end  # a stream error consumes the frame; parsing goes on
            raise
        self._pos = end
        return frame

    def __iter__(self) -> Iterator[Frame]:
        """Yield frames until the buffered bytes hold no complete frame."""
        next_frame = self.next_frame
        while (frame := next_frame()) is not None:
            yield frame
