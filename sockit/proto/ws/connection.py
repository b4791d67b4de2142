"""The WebSocket connection (RFC 6455, RFC 7692) after the opening handshake.

A sans-I/O machine for either role, following ``docs/architecture.md`` §2::

    conn = Connection(Role.SERVER, deflate=params)      # params from the handshake
    for event in conn.receive_data(chunk, now=clock()):
        if isinstance(event, TextMessage):
            conn.send(TextMessage(event.data))           # echo
        elif isinstance(event, (CloseConnection, ConnectionFailed)):
            ...                                          # flush, then close the socket
    sock.sendall(conn.data_to_send())

Behaviour worth knowing (``docs/websocket.md`` has the rest):

* **Receiving never raises for peer input.** A broken rule fails the
  connection (RFC 6455 §7.1.7): the close frame with the right code is queued
  (1002 protocol error, 1007 invalid UTF-8 or compressed data, 1009 a
  :class:`~sockit.limits.WSLimits` bound), the state becomes CLOSED and
  ``ConnectionFailed`` ends the event list, after every event completed
  before the error. Flush and close the transport then: a failing endpoint
  does not wait for the peer's close.
* **The close handshake answers itself.** A peer's close is answered with
  the same code (an empty close with an empty one) and the state is CLOSED
  once both closes are exchanged. A server then closes the transport; a
  client should wait (briefly) for the server to do so (§7.1.1).
* **Pings are answered** with a pong carrying the same payload while OPEN
  (``auto_pong``); the :class:`Ping` event is still reported.
* **Time is an argument.** ``receive_data(data, now)``, ``ping(payload,
  now)`` and ``handle_timeout(now)`` tell the machine the time; with
  ``ping_interval`` it pings on its own, and a ping (ours or the
  application's) unanswered for ``ping_timeout`` seconds (default
  ``limits.ping_timeout``) fails the connection with 1011. A pong answers the
  ping with its payload and every earlier one.
* A client masks every frame with a fresh key from ``mask_source`` (default:
  ``secrets.token_bytes(4)``); a server refuses unmasked frames and a client
  masked ones (1002).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sockit.errors import LocalProtocolError
from sockit.limits import WSLimits
from sockit.proto.events import Event, Role
from sockit.proto.ws._core import ConnectionState
from sockit.proto.ws._send import _Sender
from sockit.proto.ws.deflate import PerMessageDeflate
from sockit.proto.ws.errors import CloseCode
from sockit.proto.ws.events import Ping
from sockit.proto.ws.extensions import DeflateConfig, DeflateParams

__all__ = ["Connection", "ConnectionState"]

_DEFAULT_LIMITS = WSLimits()


def _random_key() -> bytes:
    return secrets.token_bytes(4)


def _positive(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise LocalProtocolError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


class Connection(_Sender):
    """One WebSocket connection's framing, for ``role`` (see the module docstring).

    ``deflate`` is the permessage-deflate agreement from the handshake
    (``None``: not in force) and ``deflate_config`` supplies the compression
    level and ``min_size`` (default: ``limits.deflate_level``, 0).
    ``stream_messages`` reports every data frame as a
    :class:`~sockit.proto.ws.events.MessageFragment` instead of whole
    messages. ``mask_source`` returns the 4-byte masking keys of a client
    (for deterministic tests); ``now`` is the time at creation.
    """

    __slots__ = ()

    def __init__(
        self,
        role: Role,
        *,
        limits: WSLimits = _DEFAULT_LIMITS,
        deflate: DeflateParams | None = None,
        deflate_config: DeflateConfig | None = None,
        stream_messages: bool = False,
        auto_pong: bool = True,
        ping_interval: float | None = None,
        ping_timeout: float | None = None,
        mask_source: Callable[[], bytes] | None = None,
        now: float | None = None,
    ) -> None:
        self.role = role
        self._state = ConnectionState.OPEN
        self._out = []
        self._mask_flag = 0x80 if role is Role.SERVER else 0
        self._mask_source = (mask_source or _random_key) if role is Role.CLIENT else None
        self._stream = bool(stream_messages)
        self._auto_pong = bool(auto_pong)
        self._max_frame = limits.max_frame_size
        self._max_message = limits.max_message_size
        self._max_fragments = limits.max_fragments
        self._max_control = limits.max_control_payload
        self._max_reason = limits.max_close_reason
        self._fast_max = min(self._max_frame, self._max_message)
        if deflate is not None:
            level = limits.deflate_level if deflate_config is None else deflate_config.level
            self._deflate: PerMessageDeflate | None = PerMessageDeflate(
                deflate, role, level=level, max_message_size=limits.max_message_size
            )
            self._min_size = 0 if deflate_config is None else deflate_config.min_size
        else:
            self._deflate = None
            self._min_size = 0
        self._ping_interval = _positive("ping_interval", ping_interval)
        timeout = _positive("ping_timeout", ping_timeout)
        self._ping_timeout = limits.ping_timeout if timeout is None else timeout
        self._pings = {}
        self._next_ping = None
        self._ping_seq = 0
        self._now = None
        self._init_receiver()
        self._init_sender()
        if now is not None:
            self._clock(now)

    @property
    def state(self) -> ConnectionState:
        """Where the close handshake stands (OPEN, LOCAL_CLOSING, CLOSED)."""
        return self._state

    @property
    def trailing_data(self) -> bytes:
        """Always ``b""``: nothing runs on top of a WebSocket connection."""
        return b""

    @property
    def compressed(self) -> bool:
        """Whether permessage-deflate is in force."""
        return self._deflate is not None

    def ping(self, payload: bytes = b"", now: float | None = None) -> None:
        """Send a ping (at most 125 bytes); its pong is due within ``ping_timeout``."""
        if now is not None:
            self._clock(now)
        self.send(Ping(payload))

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` must run: the next auto-ping or pong deadline."""
        if self._state is not ConnectionState.OPEN:
            return None
        best = self._next_ping
        if self._pings:
            due = next(iter(self._pings.values())) + self._ping_timeout
            if best is None or due < best:
                best = due
        return best

    def handle_timeout(self, now: float) -> list[Event]:
        """Fire what is due at ``now``: fail on a missing pong (1011), send the auto-ping."""
        self._clock(now)
        events: list[Event] = []
        if self._state is not ConnectionState.OPEN:
            return events
        if self._pings and now >= next(iter(self._pings.values())) + self._ping_timeout:
            self._fail(int(CloseCode.INTERNAL_ERROR), "ping timeout", events)
            return events
        interval = self._ping_interval
        if interval is not None and self._next_ping is not None and now >= self._next_ping:
            payload = self._ping_seq.to_bytes(4, "big")
            self._ping_seq = (self._ping_seq + 1) & 0xFFFFFFFF
            self._emit(0x9, payload)
            self._track_ping(payload)
            self._next_ping = now + interval
        return events
