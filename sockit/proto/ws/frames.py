"""WebSocket frames (RFC 6455 §5): opcodes, masking, headers, close payloads.

The connection (:class:`sockit.proto.ws.Connection`) reads frames with its
own inlined fast path; this module holds the pieces it shares with
everything else that handles frames:

* :func:`read_header` decodes a frame header at an offset of a buffer and
  enforces the rules that need no connection state (minimal length
  encoding, the 64-bit length's top bit); :func:`check_header` enforces the
  per-frame rules that depend only on configuration (RSV bits, opcodes,
  control frame shape, masking direction, frame size).
* :func:`serialize_frame` builds a frame, masking it when given a key.
* :class:`FrameParser` turns a byte stream into whole :class:`Frame` objects
  (no message reassembly): for tests, tools and the fuzz harness.
* :func:`parse_close` / :func:`close_payload` and :func:`is_valid_close_code`
  cover the close frame body (§5.5.1, §7.4).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Final

from sockit.errors import LocalProtocolError
from sockit.proto.ws._mask import mask_bytes, mask_rotated
from sockit.proto.ws.errors import CloseCode, WebSocketError, WebSocketLimitExceeded
from sockit.utf8 import InvalidUTF8, decode_utf8

__all__ = [
    "Frame",
    "FrameParser",
    "Opcode",
    "check_header",
    "close_payload",
    "is_valid_close_code",
    "mask_bytes",
    "mask_rotated",
    "parse_close",
    "read_header",
    "serialize_frame",
]


class Opcode(enum.IntEnum):
    """Frame opcodes (RFC 6455 §5.2); 3-7 and 0xB-0xF are reserved."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


FIN: Final = 0x80
RSV1: Final = 0x40
RSV_ALL: Final = 0x70
MASK_BIT: Final = 0x80
#: Opcodes a frame may carry (the others are reserved: close with 1002).
KNOWN_OPCODES: Final = frozenset(int(op) for op in Opcode)
#: The largest control frame payload (§5.5).
MAX_CONTROL_PAYLOAD: Final = 125

_pack_short: Final = struct.Struct("!BBH").pack
_pack_long: Final = struct.Struct("!BBQ").pack
_unpack_short: Final = struct.Struct("!H").unpack_from
_unpack_long: Final = struct.Struct("!Q").unpack_from


def serialize_frame(
    opcode: int,
    payload: bytes | bytearray | memoryview,
    *,
    fin: bool = True,
    rsv1: bool = False,
    mask_key: bytes | None = None,
) -> bytes:
    """One frame on the wire; masked with ``mask_key`` (4 bytes) when given.

    Nothing is validated here beyond what the encoding needs: the
    connection checks what it sends, and tests use this to build bad frames.
    """
    b0 = opcode | (FIN if fin else 0) | (RSV1 if rsv1 else 0)
    n = len(payload)
    m = 0 if mask_key is None else MASK_BIT
    if n < 126:
        head = bytes((b0, m | n))
    elif n < 0x10000:
        head = _pack_short(b0, m | 126, n)
    else:
        head = _pack_long(b0, m | 127, n)
    if mask_key is None:
        return head + payload
    if len(mask_key) != 4:
        raise LocalProtocolError("a masking key is exactly 4 bytes")
    return head + mask_key + mask_bytes(payload, mask_key)


def read_header(
    buf: bytes | bytearray | memoryview, pos: int = 0
) -> tuple[int, int, int, bytes | None] | None:
    """Decode the frame header at ``buf[pos:]``.

    Returns ``(first_byte, payload_length, header_length, mask_key)``
    (``mask_key`` is ``None`` for an unmasked frame), or ``None`` when the
    header is not complete yet. Raises :class:`WebSocketError` (1002) for a
    length not in its minimal encoding or with the 64-bit form's top bit set.
    """
    avail = len(buf) - pos
    if avail < 2:
        return None
    b0 = buf[pos]
    b1 = buf[pos + 1]
    length = b1 & 0x7F
    hlen = 2
    if length >= 126:
        if length == 126:
            hlen = 4
            if avail < 4:
                return None
            length = (buf[pos + 2] << 8) | buf[pos + 3]
            if length < 126:
                raise WebSocketError("frame length not in its minimal encoding")
        else:
            hlen = 10
            if avail < 10:
                return None
            length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
            if length >> 63:
                raise WebSocketError("frame length has its most significant bit set")
            if length < 0x10000:
                raise WebSocketError("frame length not in its minimal encoding")
    if b1 & MASK_BIT:
        if avail < hlen + 4:
            return None
        key = bytes(buf[pos + hlen : pos + hlen + 4])
        return b0, length, hlen + 4, key
    return b0, length, hlen, None


def check_header(
    b0: int,
    length: int,
    masked: bool,
    *,
    expect_masked: bool | None,
    allow_rsv1: bool = False,
    max_frame_size: int | None = None,
) -> None:
    """Refuse a header that breaks a per-frame rule (RFC 6455 §5.2, §5.5).

    ``expect_masked`` is ``True`` on a server (client frames must be
    masked), ``False`` on a client, ``None`` to accept both. ``allow_rsv1``
    is true when permessage-deflate is in force (RSV1 is then still only
    legal on the first frame of a message; the connection checks that).
    Raises :class:`WebSocketError` (1002) or, for ``max_frame_size``,
    :class:`WebSocketLimitExceeded` (1009).
    """
    opcode = b0 & 0x0F
    if opcode not in KNOWN_OPCODES:
        raise WebSocketError(f"reserved opcode {opcode:#x}")
    rsv = b0 & RSV_ALL
    if rsv and (rsv != RSV1 or not allow_rsv1 or opcode >= 8):
        raise WebSocketError(f"reserved bits {rsv >> 4:#05b} set without an extension")
    if opcode >= 8:
        if not b0 & FIN:
            raise WebSocketError("fragmented control frame")
        if length > MAX_CONTROL_PAYLOAD:
            raise WebSocketError("control frame payload longer than 125 bytes")
    if expect_masked is not None and masked != expect_masked:
        raise WebSocketError(
            "unmasked frame from a client" if expect_masked else "masked frame from a server"
        )
    if max_frame_size is not None and length > max_frame_size:
        raise WebSocketLimitExceeded(
            f"frame of {length} bytes exceeds max_frame_size {max_frame_size}",
            limit="max_frame_size",
            value=max_frame_size,
        )


def is_valid_close_code(code: int) -> bool:
    """Whether ``code`` may appear in a close frame (RFC 6455 §7.4, IANA registry).

    1000-1003, 1007-1014 and 3000-4999; 1004-1006 and 1015 are reserved or
    never sent, 1016-2999 are reserved for future standards.
    """
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def parse_close(payload: bytes) -> tuple[int, str]:
    """The ``(code, reason)`` of a close frame's payload.

    An empty payload gives ``(1005, "")``. Raises :class:`WebSocketError`:
    1002 for a one-byte payload or a code that may not be sent, 1007 for a
    reason that is not UTF-8.
    """
    if not payload:
        return int(CloseCode.NO_STATUS_RCVD), ""
    if len(payload) == 1:
        raise WebSocketError("close frame payload of one byte")
    code = (payload[0] << 8) | payload[1]
    if not is_valid_close_code(code):
        raise WebSocketError(f"invalid close code {code}")
    try:
        reason = decode_utf8(payload[2:])
    except InvalidUTF8:
        raise WebSocketError(
            "close reason is not valid UTF-8",
            error_code=CloseCode.INVALID_FRAME_PAYLOAD_DATA,
        ) from None
    return code, reason


def close_payload(code: int, reason: str = "") -> bytes:
    """The payload of a close frame; code 1005 means "no status" (empty payload)."""
    if code == CloseCode.NO_STATUS_RCVD:
        return b""
    return code.to_bytes(2, "big") + reason.encode()


@dataclass(frozen=True, slots=True)
class Frame:
    """One whole frame, unmasked."""

    opcode: int
    payload: bytes
    fin: bool = True
    rsv1: bool = False


class FrameParser:
    """An incremental parser of whole frames (no message reassembly).

    ``feed(data)`` returns the frames ``data`` completes; an incomplete
    frame waits in the buffer. A broken rule raises :class:`WebSocketError`
    (see :func:`check_header`), after which the parser must not be used.
    """

    __slots__ = ("_allow_rsv1", "_buf", "_expect_masked", "_max_frame_size")

    def __init__(
        self,
        *,
        expect_masked: bool | None = None,
        allow_rsv1: bool = False,
        max_frame_size: int | None = None,
    ) -> None:
        self._buf = bytearray()
        self._expect_masked = expect_masked
        self._allow_rsv1 = allow_rsv1
        self._max_frame_size = max_frame_size

    @property
    def buffered(self) -> int:
        """Bytes held for an incomplete frame."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Add bytes; return the frames they complete."""
        buf = self._buf
        buf += data
        frames: list[Frame] = []
        pos = 0
        while True:
            header = read_header(buf, pos)
            if header is None:
                break
            b0, length, hlen, key = header
            check_header(
                b0,
                length,
                key is not None,
                expect_masked=self._expect_masked,
                allow_rsv1=self._allow_rsv1,
                max_frame_size=self._max_frame_size,
            )
            end = pos + hlen + length
            if end > len(buf):
                break
            payload = bytes(buf[pos + hlen : end])
            if key is not None:
                payload = mask_bytes(payload, key)
            frames.append(Frame(b0 & 0x0F, payload, bool(b0 & FIN), bool(b0 & RSV1)))
            pos = end
        del buf[:pos]
        return frames
