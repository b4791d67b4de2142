"""The states, transition table, events and counters of :mod:`sockit.net.reconnect`.

Kept apart from the driver so the table can be read (and tested) on its own:
``TRANSITIONS[state][trigger]`` is the next state, and a trigger missing from
a state's row is illegal there. Import these names from
:mod:`sockit.net.reconnect`.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Final

from sockit.errors import ConnectionClosed
from sockit.net.tcp import Socket

__all__ = [
    "TRANSITIONS",
    "CircuitOpened",
    "ConnectFailed",
    "Connected",
    "ConnectionLost",
    "GaveUp",
    "HealthCheckFailed",
    "ReconnectEvent",
    "ReconnectState",
    "ReconnectStats",
    "SendInterrupted",
    "StateChanged",
    "Trigger",
]


class ReconnectState(enum.Enum):
    """Where a :class:`Reconnector` is; see the module docs for the table."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKING_OFF = "backing_off"
    CIRCUIT_OPEN = "circuit_open"
    HALF_OPEN = "half_open"
    CLOSED = "closed"


class Trigger(enum.Enum):
    """What moved the machine; the ``reason`` of a :class:`StateChanged`."""

    START = "start"
    CONNECT_OK = "connect_ok"
    CONNECT_FAILED = "connect_failed"
    CIRCUIT_TRIPPED = "circuit_tripped"
    GAVE_UP = "gave_up"
    ABORTED = "aborted"
    RETRY_DUE = "retry_due"
    PROBE_DUE = "probe_due"
    LOST = "lost"
    HEALTH_CHECK_FAILED = "health_check_failed"
    CLOSE = "close"


_S = ReconnectState
_T = Trigger
TRANSITIONS: Final[dict[ReconnectState, dict[Trigger, ReconnectState]]] = {
    _S.DISCONNECTED: {_T.START: _S.CONNECTING, _T.CIRCUIT_TRIPPED: _S.CIRCUIT_OPEN},
    _S.CONNECTING: {
        _T.CONNECT_OK: _S.CONNECTED,
        _T.CONNECT_FAILED: _S.BACKING_OFF,
        _T.CIRCUIT_TRIPPED: _S.CIRCUIT_OPEN,
        _T.GAVE_UP: _S.DISCONNECTED,
        _T.ABORTED: _S.DISCONNECTED,
    },
    _S.CONNECTED: {_T.LOST: _S.BACKING_OFF, _T.HEALTH_CHECK_FAILED: _S.BACKING_OFF},
    _S.BACKING_OFF: {_T.RETRY_DUE: _S.CONNECTING, _T.CIRCUIT_TRIPPED: _S.CIRCUIT_OPEN},
    _S.CIRCUIT_OPEN: {_T.PROBE_DUE: _S.HALF_OPEN},
    _S.HALF_OPEN: {
        _T.CONNECT_OK: _S.CONNECTED,
        _T.CONNECT_FAILED: _S.BACKING_OFF,
        _T.CIRCUIT_TRIPPED: _S.CIRCUIT_OPEN,
        _T.GAVE_UP: _S.DISCONNECTED,
        _T.ABORTED: _S.DISCONNECTED,
    },
    _S.CLOSED: {},
}
for _state in _S:
    if _state is not _S.CLOSED:
        TRANSITIONS[_state][_T.CLOSE] = _S.CLOSED


@dataclasses.dataclass(frozen=True, slots=True)
class ReconnectEvent:
    """Base of everything the driving calls of a :class:`Reconnector` return."""


@dataclasses.dataclass(frozen=True, slots=True)
class StateChanged(ReconnectEvent):
    """The machine moved from ``old`` to ``new`` because of ``reason``."""

    old: ReconnectState
    new: ReconnectState
    reason: Trigger


@dataclasses.dataclass(frozen=True, slots=True)
class Connected(ReconnectEvent):
    """``sock`` is up; ``attempt`` is the 1-based attempt of this round that worked."""

    sock: Socket
    attempt: int


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectFailed(ReconnectEvent):
    """Attempt ``attempt`` failed with ``exc``; ``next_delay`` None means no retry is armed."""

    exc: BaseException
    attempt: int
    next_delay: float | None


@dataclasses.dataclass(frozen=True, slots=True)
class CircuitOpened(ReconnectEvent):
    """The breaker opened; no attempt before ``until`` (clock time)."""

    until: float


@dataclasses.dataclass(frozen=True, slots=True)
class GaveUp(ReconnectEvent):
    """``max_attempts`` failures in a row; ``last_error`` was the final one."""

    attempts: int
    last_error: BaseException


@dataclasses.dataclass(frozen=True, slots=True)
class HealthCheckFailed(ReconnectEvent):
    """The health check said no (``exc`` None) or raised ``exc``."""

    exc: BaseException | None


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionLost(ReconnectEvent):
    """The connection went away (``exc`` None: clean EOF or a failed health check)."""

    exc: BaseException | None


@dataclasses.dataclass(slots=True)
class ReconnectStats:
    """Counters of a :class:`Reconnector`; a snapshot copy is handed out."""

    connects: int = 0  # successful connects, first one included
    failures: int = 0  # failed connect attempts
    reconnects: int = 0  # successful connects after the first
    losses: int = 0  # connections lost (health check failures included)
    circuit_opens: int = 0
    health_checks: int = 0  # health checks that passed
    health_check_failures: int = 0
    total_downtime: float = 0.0  # seconds from each loss to the following reconnect


class SendInterrupted(ConnectionClosed):
    """The connection died after ``sent`` of ``total`` bytes went out; nothing was resent."""

    def __init__(self, message: str, *, sent: int, total: int) -> None:
        super().__init__(message)
        self.sent = sent
        self.total = total
