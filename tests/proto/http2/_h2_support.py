"""Helpers for the HTTP/2 connection tests: raw peers, pumps, frame readers.

A *raw peer* writes frames by hand (``serialize`` and an HPACK ``Encoder``)
so a test can send exactly the bytes a rule is about; ``frames_out`` parses
what our connection wrote back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sockit.proto.events import Event, Role
from sockit.proto.hpack import Decoder, Encoder
from sockit.proto.http2 import (
    PREFACE,
    Connection,
    FrameParser,
    GoAwayFrame,
    H2Config,
    HeadersFrame,
    RstStreamFrame,
    SettingsFrame,
    serialize,
)
from sockit.proto.http2.frames import ContinuationFrame, Frame, PushPromiseFrame

REQUEST = [
    (b":method", b"GET"),
    (b":scheme", b"https"),
    (b":authority", b"example.com"),
    (b":path", b"/"),
]
RESPONSE = [(b":status", b"200")]


def frames_out(data: bytes) -> list[Frame]:
    """Every frame in ``data`` (our output), with generous size limits."""
    parser = FrameParser(max_frame_size=(1 << 24) - 1)
    parser.feed(data)
    return list(parser)


class RawPeer:
    """The other end, written by hand: frames in, frames and events out."""

    def __init__(self, role: Role, config: H2Config | None = None, *, handshake: bool = True):
        self.conn = Connection(role, config)
        self.encoder = Encoder()
        self.decoder = Decoder()
        self.received: list[Frame] = []
        self.now = 0.0
        self._parser = FrameParser(max_frame_size=(1 << 24) - 1)
        if role is Role.CLIENT:
            out = self.conn.data_to_send()
            assert out.startswith(PREFACE)
            self._parser.feed(out[len(PREFACE) :])
        if handshake:
            first = PREFACE if role is Role.SERVER else b""
            self.feed(first + serialize(SettingsFrame()) + serialize(SettingsFrame(ack=True)))

    def feed(self, data: bytes, now: float | None = None) -> list[Event]:
        """Give ``data`` to our connection; collect what it writes back."""
        events = self.conn.receive_data(data, now=self.now if now is None else now)
        self.collect()
        return events

    def send(self, *frames: Frame, now: float | None = None) -> list[Event]:
        """Serialize ``frames`` and feed them in one piece."""
        return self.feed(b"".join(serialize(f) for f in frames), now=now)

    def collect(self) -> list[Frame]:
        """Frames our connection wrote since the last call."""
        self._parser.feed(self.conn.data_to_send())
        new = list(self._parser)
        self.received.extend(new)
        return new

    def block(self, fields: Iterable[tuple[bytes, bytes]]) -> bytes:
        """An HPACK block from this peer's encoder."""
        return self.encoder.encode(list(fields))

    def headers(
        self,
        stream_id: int,
        fields: Sequence[tuple[bytes, bytes]] = REQUEST,
        *,
        end_stream: bool = True,
        end_headers: bool = True,
    ) -> HeadersFrame:
        """A HEADERS frame carrying ``fields``."""
        return HeadersFrame(stream_id, self.block(fields), end_stream, end_headers)

    def push_promise(
        self, stream_id: int, promised: int, fields: Sequence[tuple[bytes, bytes]] = REQUEST
    ) -> PushPromiseFrame:
        """A PUSH_PROMISE frame for ``promised`` on ``stream_id``."""
        return PushPromiseFrame(stream_id, promised, self.block(fields))

    def continuation(self, stream_id: int, block: bytes, end: bool = True) -> ContinuationFrame:
        """A CONTINUATION frame."""
        return ContinuationFrame(stream_id, block, end)

    def of(self, kind: type[Any]) -> list[Any]:
        """Received frames of one type."""
        self.collect()
        return [f for f in self.received if isinstance(f, kind)]

    def goaway(self) -> GoAwayFrame | None:
        """The GOAWAY our connection sent, if any."""
        frames = self.of(GoAwayFrame)
        return frames[-1] if frames else None

    def resets(self) -> dict[int, int]:
        """stream id -> error code of every RST_STREAM our connection sent."""
        return {f.stream_id: f.error_code for f in self.of(RstStreamFrame)}


def pump(a: Connection, b: Connection, now: float = 0.0) -> tuple[list[Event], list[Event]]:
    """Exchange bytes until both are quiet; the events each side saw."""
    ea: list[Event] = []
    eb: list[Event] = []
    for _ in range(10_000):
        out_a = a.data_to_send()
        if out_a:
            eb.extend(b.receive_data(out_a, now=now))
        out_b = b.data_to_send()
        if out_b:
            ea.extend(a.receive_data(out_b, now=now))
        if not out_a and not out_b:
            return ea, eb
    raise AssertionError("the connections never went quiet")


def pair(
    client_config: H2Config | None = None, server_config: H2Config | None = None
) -> tuple[Connection, Connection]:
    """A client and a server that finished the SETTINGS exchange."""
    client = Connection(Role.CLIENT, client_config)
    server = Connection(Role.SERVER, server_config)
    pump(client, server)
    return client, server


def of_type(events: Iterable[Event], kind: type[Any]) -> list[Any]:
    """The events of one type."""
    return [e for e in events if isinstance(e, kind)]
