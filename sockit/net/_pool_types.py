"""The values a :class:`~sockit.net.pool.ConnectionPool` hands out.

States and reasons are enums, events and refusals are frozen dataclasses:
the pool never calls user code, it returns these. Imported through
:mod:`sockit.net.pool`, which is where they are documented for users.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Protocol, TypeAlias

from sockit.errors import LocalProtocolError
from sockit.net.tcp import Socket

__all__ = [
    "Admission",
    "CloseReason",
    "ConnectionIdle",
    "DrainDeadline",
    "DrainProgress",
    "Health",
    "PoolDrained",
    "PoolEvent",
    "PoolState",
    "PoolStats",
    "PooledConnection",
    "RefusalReason",
    "Refused",
]


class PoolState(enum.Enum):
    """Where the pool is in its life: RUNNING -> DRAINING -> STOPPED, never back."""

    RUNNING = "running"
    DRAINING = "draining"
    STOPPED = "stopped"


class Health(enum.Enum):
    """What a load balancer's health check should be told.

    DEGRADED: still admitting, but at least 90% full or refusing by rate or
    capacity recently; a balancer should prefer other backends.
    """

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DRAINING = "draining"
    STOPPED = "stopped"


class RefusalReason(enum.Enum):
    """Why a connection was not admitted; the value is the metrics label."""

    DRAINING = "draining"
    PROTECTION = "protection"
    FULL = "full"
    PER_IP = "per_ip"
    RATE = "rate"


class CloseReason(enum.Enum):
    """Why the pool closed a connection; the value is the metrics label."""

    IDLE = "idle"  # silent for limits.idle_timeout
    DRAIN = "drain"  # removed by the caller while the pool drained
    FORCED = "forced"  # force_close() or the drain deadline
    REMOVED = "removed"  # removed by the caller while running


class Admission(Protocol):
    """A gatekeeper asked about every connection before the pool admits it.

    ``admit`` returns ``None`` to let the client in, or a short reason text
    to refuse it (reported as ``RefusalReason.PROTECTION`` with that detail).
    The SYN protector implements it; anything with the method will do.
    """

    def admit(self, ip: str) -> str | None:
        """None to admit ``ip``; otherwise why not."""
        ...


class _BufferFreeList:
    """Fixed-size bytearrays handed out and taken back, so churn does not allocate.

    Not locked: acquire/release run on the pool's thread under the pool lock.
    A returned buffer is zeroed, so no connection sees another one's bytes.
    """

    __slots__ = ("_free", "_zeros", "hits", "max_free", "misses", "size")

    def __init__(self, size: int, max_free: int) -> None:
        self.size = size
        self.max_free = max_free
        self._free: list[bytearray] = []
        self._zeros = bytes(size)
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._free)

    def acquire(self) -> bytearray:
        if self._free:
            self.hits += 1
            return self._free.pop()
        self.misses += 1
        return bytearray(self.size)

    def release(self, buf: bytearray) -> None:
        if len(self._free) < self.max_free and len(buf) == self.size:
            buf[:] = self._zeros
            self._free.append(buf)

    def prewarm(self, n: int) -> None:
        room = min(n, self.max_free) - len(self._free)
        self._free.extend(bytearray(self.size) for _ in range(max(0, room)))

    def trim(self, keep: int) -> int:
        drop = max(0, len(self._free) - keep)
        del self._free[len(self._free) - drop :]
        return drop


@dataclasses.dataclass(slots=True, eq=False)
class PooledConnection:
    """One socket held by the pool, with its buffers, user data and activity.

    ``data`` is the caller's (a protocol machine, a session object).
    ``recv_buffer`` and ``send_buffer`` are fixed-size scratch bytearrays of
    ``PoolLimits.buffer_size`` bytes, taken from the pool's free list on first
    use and returned when the connection leaves the pool: use the counts
    ``recv_into``/``send`` return, never the length of the buffer.
    Compared by identity: two connections are never equal.
    """

    sock: Socket
    fd: int
    peer: object
    ip: str | None
    created: float
    last_activity: float
    data: object = None
    bytes_in: int = 0
    bytes_out: int = 0
    _clock: Callable[[], float] | None = dataclasses.field(default=None, repr=False)
    _buffers: _BufferFreeList | None = dataclasses.field(default=None, repr=False)
    _recv: bytearray | None = dataclasses.field(default=None, repr=False)
    _send: bytearray | None = dataclasses.field(default=None, repr=False)

    @property
    def recv_buffer(self) -> bytearray:
        """The receive scratch buffer (allocated, or reused, on first access)."""
        if self._recv is None:
            self._recv = self._take()
        return self._recv

    @property
    def send_buffer(self) -> bytearray:
        """The send scratch buffer (allocated, or reused, on first access)."""
        if self._send is None:
            self._send = self._take()
        return self._send

    def _take(self) -> bytearray:
        if self._buffers is None:
            raise LocalProtocolError("this connection has left the pool; its buffers are gone")
        return self._buffers.acquire()

    def _give_back(self) -> None:
        buffers, self._buffers = self._buffers, None
        if buffers is not None:
            for buf in (self._recv, self._send):
                if buf is not None:
                    buffers.release(buf)
        self._recv = self._send = None

    def touch(self, now: float | None = None) -> None:
        """Mark activity now (keeps the connection from being closed as idle)."""
        if now is None:
            now = self._clock() if self._clock is not None else self.last_activity
        self.last_activity = now

    def record_received(self, nbytes: int, now: float | None = None) -> None:
        """Count ``nbytes`` read from the peer and mark activity."""
        self.bytes_in += nbytes
        self.touch(now)

    def record_sent(self, nbytes: int, now: float | None = None) -> None:
        """Count ``nbytes`` written to the peer and mark activity."""
        self.bytes_out += nbytes
        self.touch(now)

    def idle_for(self, now: float) -> float:
        """Seconds since the last activity."""
        return now - self.last_activity

    def age(self, now: float) -> float:
        """Seconds since the connection joined the pool."""
        return now - self.created


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionIdle:
    """``conn`` was silent for the idle timeout; the pool closed and removed it."""

    conn: PooledConnection


@dataclasses.dataclass(frozen=True, slots=True)
class DrainDeadline:
    """The drain deadline passed; ``forced`` connections were closed by force."""

    forced: int


@dataclasses.dataclass(frozen=True, slots=True)
class PoolDrained:
    """The pool is empty after a drain and now STOPPED; ``duration`` seconds since drain()."""

    duration: float


PoolEvent: TypeAlias = "ConnectionIdle | DrainDeadline | PoolDrained"


@dataclasses.dataclass(frozen=True, slots=True)
class Refused:
    """A connection the pool did not admit, and why.

    ``detail`` is the admission gate's text for PROTECTION refusals.
    ``ip`` is ``None`` for sockets without an IP peer (Unix sockets).
    """

    ip: str | None
    reason: RefusalReason
    peer: object = None
    detail: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class DrainProgress:
    """How a drain is going: ``remaining`` connections, ``closed_since_drain`` so far.

    ``started`` and ``deadline`` are readings of the pool's clock (``None``
    before drain() is called).
    """

    state: PoolState
    remaining: int
    closed_since_drain: int
    started: float | None
    deadline: float | None


@dataclasses.dataclass(frozen=True, slots=True)
class PoolStats:
    """A snapshot of a pool's counters (since creation or ``reset_stats()``).

    ``idle``: connections silent for at least ``limits.cleanup_interval``.
    ``buffer_reuse_rate``: share of buffer requests served from the free list.
    ``churn_per_second``: (admitted + closed) per second of the stats window.
    ``average_age``: mean seconds the current connections have been pooled.
    """

    state: PoolState
    active: int
    idle: int
    available: int
    peak: int
    created: int
    closed: int
    refused: dict[str, int]
    closed_by: dict[str, int]
    free_buffers: int
    buffer_reuse_rate: float
    churn_per_second: float
    average_age: float
