"""Shared helpers of the WebSocket framing tests: frame builders and split feeding."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sockit.limits import WSLimits
from sockit.proto.events import Event, Role
from sockit.proto.ws import Connection, ConnectionState, FrameParser, serialize_frame
from sockit.proto.ws.frames import Frame
from tests.support.feeding import splits

KEY = b"\x37\xfa\x21\x3d"


def masks() -> Callable[[], bytes]:
    """A deterministic mask source: 00000001, 00000002, ..."""
    counter = itertools.count(1)
    return lambda: next(counter).to_bytes(4, "big")


def cframe(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv1: bool = False,
           key: bytes = KEY) -> bytes:
    """A frame as a client sends it (masked): input for a server."""
    return serialize_frame(opcode, payload, fin=fin, rsv1=rsv1, mask_key=key)


def sframe(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv1: bool = False) -> bytes:
    """A frame as a server sends it (unmasked): input for a client."""
    return serialize_frame(opcode, payload, fin=fin, rsv1=rsv1)


def close_body(code: int, reason: bytes = b"") -> bytes:
    """A close frame's payload."""
    return code.to_bytes(2, "big") + reason


def server(**kwargs: Any) -> Connection:
    """A server-side connection."""
    return Connection(Role.SERVER, **kwargs)


def client(**kwargs: Any) -> Connection:
    """A client-side connection with deterministic masking keys."""
    kwargs.setdefault("mask_source", masks())
    return Connection(Role.CLIENT, **kwargs)


def sent_frames(conn: Connection) -> list[Frame]:
    """Decode everything ``conn`` queued (masked iff it is a client)."""
    parser = FrameParser(expect_masked=conn.role is Role.CLIENT, allow_rsv1=True)
    frames = parser.feed(conn.data_to_send())
    assert parser.buffered == 0
    return frames


@dataclass(frozen=True)
class Outcome:
    """What feeding some bytes did: events, bytes queued, final state."""

    events: tuple[Event, ...]
    output: bytes
    state: ConnectionState


def feed_chunks(conn: Connection, chunks: list[bytes], *, eof: bool = False) -> Outcome:
    """Feed ``chunks`` one call each; collect events and output."""
    events: list[Event] = []
    out = []
    for chunk in chunks:
        events.extend(conn.receive_data(chunk))
        out.append(conn.data_to_send())
    if eof:
        events.extend(conn.receive_eof())
    out.append(conn.data_to_send())
    return Outcome(tuple(events), b"".join(out), conn.state)


def all_splits(make: Callable[[], Connection], data: bytes, *, eof: bool = False,
               seed: int = 0) -> Outcome:
    """Feed ``data`` whole, byte by byte and in random cuts; assert one outcome."""
    outcomes = [feed_chunks(make(), chunks, eof=eof) for chunks in splits(data, seed=seed)]
    first = outcomes[0]
    for i, other in enumerate(outcomes[1:], 1):
        assert other == first, f"split #{i} differs:\n{other}\n!=\n{first}"
    return first


def limits(**changes: Any) -> WSLimits:
    """WSLimits with some fields changed."""
    return WSLimits().replace(**changes)
