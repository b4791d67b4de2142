"""Frame objects to wire bytes (RFC 9113 §4.1, §6).

``serialize`` writes exactly one frame: the 9-octet header and the payload.
Flags without meaning for the type are left unset, the reserved bits are
zero, and padding is zeros. It checks only what the wire format itself cannot
carry (lengths over 2**24 - 1, identifiers over 2**31 - 1, pad lengths over
255, ...) and raises :class:`~sockit.errors.LocalProtocolError` for those;
whether a frame is *allowed* right now (its size against the peer's
SETTINGS_MAX_FRAME_SIZE, its stream's state) is the connection's business.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

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

__all__ = ["serialize", "serialize_data", "serialize_headers"]

_HEADER = struct.Struct(">LBL")  # (length << 8 | type), flags, R + stream id
_U32 = struct.Struct(">L")
_PRIORITY = struct.Struct(">LB")
_SETTING = struct.Struct(">HL")
_GOAWAY = struct.Struct(">LL")

_MAX_LENGTH = (1 << 24) - 1
_MAX_ID = (1 << 31) - 1
_MAX_U32 = (1 << 32) - 1

_END_STREAM = 0x1
_ACK = 0x1
_END_HEADERS = 0x4
_PADDED = 0x8
_PRIORITY_FLAG = 0x20


def _check_id(value: int, what: str) -> None:
    if not 0 <= value <= _MAX_ID:
        raise LocalProtocolError(f"{what} {value} is not a 31-bit value")


def _check_u32(value: int, what: str) -> None:
    if not 0 <= value <= _MAX_U32:
        raise LocalProtocolError(f"{what} {value} is not a 32-bit value")


def _frame(ftype: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    length = len(payload)
    if length > _MAX_LENGTH:
        raise LocalProtocolError(f"frame payload of {length} bytes exceeds 2**24 - 1")
    _check_id(stream_id, "stream id")
    return _HEADER.pack(length << 8 | ftype, flags, stream_id) + payload


def _pad(body: bytes, pad_length: int | None, flags: int) -> tuple[bytes, int]:
    """Wrap ``body`` in the pad-length octet and zero padding when asked."""
    if pad_length is None:
        return body, flags
    if not 0 <= pad_length <= 255:
        raise LocalProtocolError(f"pad length {pad_length} is outside 0..255")
    return bytes((pad_length,)) + body + bytes(pad_length), flags | _PADDED


def _priority(p: Priority) -> bytes:
    _check_id(p.depends_on, "stream dependency")
    if not 1 <= p.weight <= 256:
        raise LocalProtocolError(f"priority weight {p.weight} is outside 1..256")
    return _PRIORITY.pack(p.depends_on | (0x80000000 if p.exclusive else 0), p.weight - 1)


def serialize_data(stream_id: int, data: bytes, end_stream: bool = False) -> bytes:
    """One unpadded DATA frame; the fast path for sending content."""
    length = len(data)
    if length > _MAX_LENGTH or not 0 <= stream_id <= _MAX_ID:
        return _frame(0x0, 0, stream_id, data)  # raises with the precise message
    return _HEADER.pack(length << 8, _END_STREAM if end_stream else 0, stream_id) + data


def serialize_headers(
    stream_id: int, block: bytes, end_stream: bool = False, end_headers: bool = True
) -> bytes:
    """One unpadded HEADERS frame without priority; the fast path for field blocks."""
    flags = (_END_STREAM if end_stream else 0) | (_END_HEADERS if end_headers else 0)
    length = len(block)
    if length > _MAX_LENGTH or not 0 <= stream_id <= _MAX_ID:
        return _frame(0x1, flags, stream_id, block)
    return _HEADER.pack(length << 8 | 0x1, flags, stream_id) + block


def _data(f: DataFrame) -> bytes:
    if f.pad_length is None:
        return serialize_data(f.stream_id, f.data, f.end_stream)
    payload, flags = _pad(f.data, f.pad_length, _END_STREAM if f.end_stream else 0)
    return _frame(0x0, flags, f.stream_id, payload)


def _headers(f: HeadersFrame) -> bytes:
    flags = (_END_STREAM if f.end_stream else 0) | (_END_HEADERS if f.end_headers else 0)
    body = f.block
    if f.priority is not None:
        body = _priority(f.priority) + body
        flags |= _PRIORITY_FLAG
    payload, flags = _pad(body, f.pad_length, flags)
    return _frame(0x1, flags, f.stream_id, payload)


def _priority_frame(f: PriorityFrame) -> bytes:
    return _frame(0x2, 0, f.stream_id, _priority(f.priority))


def _rst_stream(f: RstStreamFrame) -> bytes:
    _check_u32(f.error_code, "error code")
    return _frame(0x3, 0, f.stream_id, _U32.pack(f.error_code))


def _settings(f: SettingsFrame) -> bytes:
    parts = []
    for code, value in f.settings:
        if not 0 <= code <= 0xFFFF:
            raise LocalProtocolError(f"setting code {code} is not a 16-bit value")
        _check_u32(value, "setting value")
        parts.append(_SETTING.pack(code, value))
    return _frame(0x4, _ACK if f.ack else 0, f.stream_id, b"".join(parts))


def _push_promise(f: PushPromiseFrame) -> bytes:
    _check_id(f.promised_stream_id, "promised stream id")
    body = _U32.pack(f.promised_stream_id) + f.block
    payload, flags = _pad(body, f.pad_length, _END_HEADERS if f.end_headers else 0)
    return _frame(0x5, flags, f.stream_id, payload)


def _ping(f: PingFrame) -> bytes:
    if len(f.opaque) != 8:
        raise LocalProtocolError(f"PING payload must be 8 bytes, not {len(f.opaque)}")
    return _frame(0x6, _ACK if f.ack else 0, f.stream_id, bytes(f.opaque))


def _goaway(f: GoAwayFrame) -> bytes:
    _check_id(f.last_stream_id, "last stream id")
    _check_u32(f.error_code, "error code")
    return _frame(0x7, 0, f.stream_id, _GOAWAY.pack(f.last_stream_id, f.error_code) + f.debug_data)


def _window_update(f: WindowUpdateFrame) -> bytes:
    _check_id(f.increment, "window increment")
    return _frame(0x8, 0, f.stream_id, _U32.pack(f.increment))


def _continuation(f: ContinuationFrame) -> bytes:
    return _frame(0x9, _END_HEADERS if f.end_headers else 0, f.stream_id, f.block)


def _unknown(f: UnknownFrame) -> bytes:
    if not 0 <= f.type <= 0xFF or not 0 <= f.flags <= 0xFF:
        raise LocalProtocolError(f"frame type {f.type} or flags {f.flags} not an octet")
    return _frame(f.type, f.flags, f.stream_id, f.payload)


_WRITERS: dict[type[Frame], Callable[[Frame], bytes]] = {
    DataFrame: _data,  # type: ignore[dict-item]
    HeadersFrame: _headers,  # type: ignore[dict-item]
    PriorityFrame: _priority_frame,  # type: ignore[dict-item]
    RstStreamFrame: _rst_stream,  # type: ignore[dict-item]
    SettingsFrame: _settings,  # type: ignore[dict-item]
    PushPromiseFrame: _push_promise,  # type: ignore[dict-item]
    PingFrame: _ping,  # type: ignore[dict-item]
    GoAwayFrame: _goaway,  # type: ignore[dict-item]
    WindowUpdateFrame: _window_update,  # type: ignore[dict-item]
    ContinuationFrame: _continuation,  # type: ignore[dict-item]
    UnknownFrame: _unknown,  # type: ignore[dict-item]
}


def serialize(frame: Frame) -> bytes:
    """The exact wire bytes of ``frame``: the 9-octet header and the payload.

    Raises :class:`~sockit.errors.LocalProtocolError` for values the wire
    format cannot hold.
    """
    writer = _WRITERS.get(type(frame))
    if writer is None:
        raise LocalProtocolError(f"cannot serialize {type(frame).__name__}")
    return writer(frame)
