"""What both halves of the WebSocket machine share: the state table and frame output.

:class:`ConnectionState` moves only through :data:`TRANSITIONS`, keyed by
what happened (:class:`Step`). The receive half (``_receive.py``) and the
send half (``_send.py``) both queue frames through :meth:`_Core._emit`, which
masks them on a client.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from typing import Final

from sockit.errors import LocalProtocolError
from sockit.proto.events import Role
from sockit.proto.ws._mask import mask_bytes
from sockit.proto.ws.deflate import PerMessageDeflate
from sockit.proto.ws.frames import Opcode, close_payload

__all__ = ["TRANSITIONS", "ConnectionState", "Step"]


class ConnectionState(enum.Enum):
    """Where the close handshake stands."""

    #: Messages flow both ways.
    OPEN = "OPEN"
    #: We sent a close frame and wait for the peer's; we still receive.
    LOCAL_CLOSING = "LOCAL_CLOSING"
    #: The peer's close arrived before ours was sent. Not entered by this
    #: machine: it queues its reply at once (RFC 6455 §5.5.1) and goes to CLOSED.
    REMOTE_CLOSING = "REMOTE_CLOSING"
    #: Both close frames were exchanged, the connection failed, or the
    #: transport ended: flush :meth:`data_to_send`, then close the transport.
    CLOSED = "CLOSED"

    __hash__ = object.__hash__  # identity hashing in C (Enum's __hash__ is Python code)


class Step(enum.Enum):
    """What moves the state."""

    SEND_CLOSE = "send-close"
    RECEIVE_CLOSE = "receive-close"
    FAIL = "fail"
    EOF = "eof"

    __hash__ = object.__hash__


S = ConnectionState

#: (state, step) -> new state. A step missing for a state is illegal there.
TRANSITIONS: Final[dict[tuple[ConnectionState, Step], ConnectionState]] = {
    (S.OPEN, Step.SEND_CLOSE): S.LOCAL_CLOSING,
    (S.OPEN, Step.RECEIVE_CLOSE): S.CLOSED,
    (S.OPEN, Step.FAIL): S.CLOSED,
    (S.OPEN, Step.EOF): S.CLOSED,
    (S.LOCAL_CLOSING, Step.RECEIVE_CLOSE): S.CLOSED,
    (S.LOCAL_CLOSING, Step.FAIL): S.CLOSED,
    (S.LOCAL_CLOSING, Step.EOF): S.CLOSED,
    (S.REMOTE_CLOSING, Step.SEND_CLOSE): S.CLOSED,
    (S.REMOTE_CLOSING, Step.FAIL): S.CLOSED,
    (S.REMOTE_CLOSING, Step.EOF): S.CLOSED,
}

_OPEN: Final = S.OPEN
_CLOSED: Final = S.CLOSED
_pack_short: Final = struct.Struct("!BBH").pack
_pack_long: Final = struct.Struct("!BBQ").pack
_CLOSE: Final = int(Opcode.CLOSE)
#: Close reasons we send are cut to this many bytes (125 minus the code).
MAX_REASON: Final = 123


def truncate_reason(reason: str, limit: int = MAX_REASON) -> bytes:
    """``reason`` as UTF-8, cut to at most ``limit`` bytes on a character boundary."""
    raw = reason.encode("utf-8", "replace")
    if len(raw) <= limit:
        return raw
    return raw[:limit].decode("utf-8", "ignore").encode()


class _Core:
    """State, output queue and frame emission shared by the receive and send halves."""

    __slots__ = (
        "_deflate",
        "_mask_source",
        "_next_ping",
        "_now",
        "_out",
        "_ping_interval",
        "_ping_seq",
        "_ping_timeout",
        "_pings",
        "_state",
        "role",
    )

    role: Role
    _state: ConnectionState
    _out: list[bytes]
    _deflate: PerMessageDeflate | None
    _mask_source: Callable[[], bytes] | None
    #: The latest time we were told (``None`` until the first one).
    _now: float | None
    #: Our pings still waiting for their pong: payload -> when sent (oldest first).
    _pings: dict[bytes, float]
    _ping_interval: float | None
    _ping_timeout: float
    _next_ping: float | None
    _ping_seq: int

    def _clock(self, now: float) -> None:
        """Learn the time; the first time starts the automatic ping schedule."""
        if self._now is None and self._ping_interval is not None:
            self._next_ping = now + self._ping_interval
        self._now = now

    def _track_ping(self, payload: bytes) -> None:
        if self._now is not None and payload not in self._pings:
            self._pings[payload] = self._now

    def _pong_received(self, payload: bytes) -> None:
        """A pong answers the ping with its payload and every ping sent before it."""
        pings = self._pings
        if payload in pings:
            for sent in list(pings):
                del pings[sent]
                if sent == payload:
                    break

    def _move(self, step: Step) -> None:
        new = TRANSITIONS.get((self._state, step))
        if new is None:
            raise LocalProtocolError(f"cannot {step.value} in state {self._state.name}")
        self._state = new

    def _emit(self, opcode: int, payload: bytes, fin: bool = True, rsv1: bool = False) -> None:
        """Queue one frame (masked with a fresh key on a client)."""
        b0 = opcode | (0x80 if fin else 0) | (0x40 if rsv1 else 0)
        n = len(payload)
        source = self._mask_source
        m = 0 if source is None else 0x80
        if n < 126:
            head = bytes((b0, m | n))
        elif n < 0x10000:
            head = _pack_short(b0, m | 126, n)
        else:
            head = _pack_long(b0, m | 127, n)
        out = self._out
        if source is not None:
            key = source()
            payload = mask_bytes(payload, key)
            head += key
        if n < 4096:
            out.append(head + payload)
        else:
            out.append(head)
            out.append(payload)

    def _emit_close(self, code: int, reason: str = "") -> None:
        payload = close_payload(code)
        if payload and reason:
            payload += truncate_reason(reason)
        self._emit(_CLOSE, payload)
