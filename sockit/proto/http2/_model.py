"""The HTTP/2 frame types as frozen dataclasses (RFC 9113 §4, §6).

One class per frame type, holding the payload's meaning rather than its
bytes: flags become booleans, padding becomes ``pad_length`` (its content is
zeros on the wire we write and ignored on the wire we read), the reserved bit
of every stream identifier is gone. Frames of a type this module does not know
become :class:`UnknownFrame`, which a connection must ignore (RFC 9113 §4.1).

Import these names from :mod:`sockit.proto.http2.frames`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "ContinuationFrame",
    "DataFrame",
    "Flag",
    "Frame",
    "FrameType",
    "GoAwayFrame",
    "HeadersFrame",
    "PREFACE",
    "PingFrame",
    "Priority",
    "PriorityFrame",
    "PushPromiseFrame",
    "RstStreamFrame",
    "SettingsFrame",
    "UnknownFrame",
    "WindowUpdateFrame",
]

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
"""The client connection preface (RFC 9113 §3.4), sent before its first SETTINGS."""


class FrameType(enum.IntEnum):
    """The frame types RFC 9113 §6 defines; other values are extension frames."""

    DATA = 0x0
    HEADERS = 0x1
    PRIORITY = 0x2
    RST_STREAM = 0x3
    SETTINGS = 0x4
    PUSH_PROMISE = 0x5
    PING = 0x6
    GOAWAY = 0x7
    WINDOW_UPDATE = 0x8
    CONTINUATION = 0x9


class Flag(enum.IntFlag):
    """Frame header flag bits; their meaning depends on the frame type.

    ``ACK`` (SETTINGS, PING) shares its bit with ``END_STREAM`` (DATA, HEADERS).
    """

    END_STREAM = 0x1
    ACK = 0x1
    END_HEADERS = 0x4
    PADDED = 0x8
    PRIORITY = 0x20


@dataclass(frozen=True, slots=True)
class Priority:
    """An RFC 7540 priority signal, as carried by PRIORITY and HEADERS frames.

    RFC 9113 deprecates this scheme but frames still carry it and a stream
    may not depend on itself. ``weight`` is the effective weight 1..256 (the
    wire holds ``weight - 1``).
    """

    depends_on: int
    weight: int = 16
    exclusive: bool = False


class Frame:
    """Base of every frame class; each subclass is a frozen, slotted dataclass.

    ``stream_id`` is 0 for frames about the connection as a whole.
    """

    __slots__ = ()
    stream_id: int


@dataclass(frozen=True, slots=True)
class DataFrame(Frame):
    """DATA (RFC 9113 §6.1): a piece of a stream's content."""

    stream_id: int
    data: bytes
    end_stream: bool = False
    pad_length: int | None = None

    @property
    def flow_controlled_length(self) -> int:
        """What the frame costs in flow control: the whole payload (RFC 9113 §6.9.1).

        That is the data plus, when padded, the pad-length octet and the padding.
        """
        pad = self.pad_length
        return len(self.data) if pad is None else len(self.data) + pad + 1


@dataclass(frozen=True, slots=True)
class HeadersFrame(Frame):
    """HEADERS (RFC 9113 §6.2): opens a stream or carries its trailers.

    ``block`` is one fragment of an HPACK field block; when ``end_headers``
    is false, CONTINUATION frames carry the rest.
    """

    stream_id: int
    block: bytes
    end_stream: bool = False
    end_headers: bool = True
    pad_length: int | None = None
    priority: Priority | None = None


@dataclass(frozen=True, slots=True)
class PriorityFrame(Frame):
    """PRIORITY (RFC 9113 §6.3): a deprecated priority signal for a stream."""

    stream_id: int
    priority: Priority


@dataclass(frozen=True, slots=True)
class RstStreamFrame(Frame):
    """RST_STREAM (RFC 9113 §6.4): ends a stream at once with an error code."""

    stream_id: int
    error_code: int


@dataclass(frozen=True, slots=True)
class SettingsFrame(Frame):
    """SETTINGS (RFC 9113 §6.5): parameters in (code, value) order, or an ACK.

    Pairs keep the peer's order and duplicates (the last one wins when
    applied) and include codes nobody knows; an ACK has no pairs.
    """

    settings: tuple[tuple[int, int], ...] = ()
    ack: bool = False
    stream_id: int = 0


@dataclass(frozen=True, slots=True)
class PushPromiseFrame(Frame):
    """PUSH_PROMISE (RFC 9113 §6.6): the server reserves ``promised_stream_id``."""

    stream_id: int
    promised_stream_id: int
    block: bytes
    end_headers: bool = True
    pad_length: int | None = None


@dataclass(frozen=True, slots=True)
class PingFrame(Frame):
    """PING (RFC 9113 §6.7): eight opaque octets, echoed back with ``ack`` set."""

    opaque: bytes = bytes(8)
    ack: bool = False
    stream_id: int = 0


@dataclass(frozen=True, slots=True)
class GoAwayFrame(Frame):
    """GOAWAY (RFC 9113 §6.8): no streams above ``last_stream_id`` will be processed."""

    last_stream_id: int
    error_code: int
    debug_data: bytes = b""
    stream_id: int = 0


@dataclass(frozen=True, slots=True)
class WindowUpdateFrame(Frame):
    """WINDOW_UPDATE (RFC 9113 §6.9): grows a flow-control window (stream 0: connection)."""

    stream_id: int
    increment: int


@dataclass(frozen=True, slots=True)
class ContinuationFrame(Frame):
    """CONTINUATION (RFC 9113 §6.10): the next fragment of a field block."""

    stream_id: int
    block: bytes
    end_headers: bool = False


@dataclass(frozen=True, slots=True)
class UnknownFrame(Frame):
    """A frame of a type RFC 9113 does not define; connections ignore it (§4.1, §5.5)."""

    stream_id: int
    type: int
    flags: int
    payload: bytes
