"""Per-phase timeouts of one request, and the deadlines they turn into.

A request has a *total* deadline (``ClientLimits.request_timeout`` unless
given) that bounds everything up to the last byte the client waits for, plus
optional per-phase bounds:

* ``connect`` bounds opening a connection (name resolution included;
  resolution alone is also bounded by ``ClientLimits.dns_timeout``);
* ``write`` bounds each wait for the socket to accept more request bytes;
* ``read`` bounds each wait for more response bytes (while waiting for the
  head the phase is ``read``, while reading the body it is ``body``).

``read`` and ``write`` are inactivity bounds, reset whenever bytes move, so a
large transfer that keeps moving is not cut off by them; the total deadline
is what bounds a peer that trickles. When a wait runs out, the
:class:`~sockit.errors.Timeout` names the phase whose bound was the nearer
one: ``connect``, ``write``, ``read``, ``body``, or ``total`` when the total
deadline came first. Waiting for a free pool slot is phase ``pool``.
"""

from __future__ import annotations

import dataclasses
import math
import time

from sockit.errors import LocalProtocolError, Phase, Timeout
from sockit.limits import ClientLimits

__all__ = ["Deadlines", "Timeouts", "TimeoutSpec", "resolve_timeouts"]


def _seconds(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LocalProtocolError(f"Timeouts.{name} must be seconds or None, not {value!r}")
    value = float(value)
    if math.isnan(value) or value < 0:
        raise LocalProtocolError(f"Timeouts.{name} must be >= 0 seconds, not {value!r}")
    return value


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Timeouts:
    """Timeouts of one request, in seconds; ``None`` leaves a phase to the defaults.

``math.inf`` means "no bound" for that phase (for ``total`` too).

    Defaults: ``connect`` is ``ClientLimits.connect_timeout``, ``total`` is
    ``ClientLimits.request_timeout``, ``read`` and ``write`` are bounded only
    by the total deadline.
    """

    connect: float | None = None
    read: float | None = None
    write: float | None = None
    total: float | None = None

    def __post_init__(self) -> None:
        for name in ("connect", "read", "write", "total"):
            object.__setattr__(self, name, _seconds(getattr(self, name), name))


#: What ``timeout=`` accepts: ``None`` (the client's defaults), seconds for
#: every phase (connect, read, write; the total stays the default), or Timeouts.
TimeoutSpec = Timeouts | float | None


@dataclasses.dataclass(slots=True)
class Deadlines:
    """The bounds of one request in flight.

    ``total`` is an absolute ``time.monotonic()`` instant; ``connect``,
    ``read``, ``write`` and ``dns`` are durations (``None``: unbounded).
    """

    total: float | None
    connect: float | None
    read: float | None
    write: float | None
    dns: float

    def until(self, phase_timeout: float | None, phase: Phase) -> tuple[float | None, Phase]:
        """The nearer of "``phase_timeout`` from now" and the total deadline, with its phase."""
        total = self.total
        if phase_timeout is None:
            return total, Phase.TOTAL
        end = time.monotonic() + phase_timeout
        if total is not None and total <= end:
            return total, Phase.TOTAL
        return end, phase

    def left(self) -> float | None:
        """Seconds until the total deadline (``None``: unbounded), never negative."""
        if self.total is None:
            return None
        return max(0.0, self.total - time.monotonic())

    def check(self) -> None:
        """Raise ``Timeout(phase=total)`` if the total deadline has passed."""
        if self.total is not None and time.monotonic() >= self.total:
            raise Timeout("the request did not finish in time", phase=Phase.TOTAL)


def resolve_timeouts(spec: TimeoutSpec, limits: ClientLimits, start: float) -> Deadlines:
    """Turn ``timeout=`` into :class:`Deadlines` for a request started at ``start``."""
    if spec is None:
        return Deadlines(
            total=None if math.isinf(limits.request_timeout) else start + limits.request_timeout,
            connect=limits.connect_timeout,
            read=None,
            write=None,
            dns=limits.dns_timeout,
        )
    if isinstance(spec, Timeouts):
        t = spec
    else:
        value = _seconds(spec, "timeout")
        t = Timeouts(connect=value, read=value, write=value)
    total = limits.request_timeout if t.total is None else t.total
    connect = limits.connect_timeout if t.connect is None else t.connect
    return Deadlines(
        total=None if math.isinf(total) else start + total,
        connect=_finite(connect),
        read=_finite(t.read),
        write=_finite(t.write),
        dns=limits.dns_timeout,
    )


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isinf(value) else value
