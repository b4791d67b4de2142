"""The Happy Eyeballs v2 (RFC 8305) decision maker: no sockets, no clock, no threads.

The planner is told what happened (answers per family, attempts that failed or
connected, all stamped with ``now``) and asked what to do next; the drivers in
:mod:`sockit.net.happy` carry the actions out. Keeping the timing rules here,
free of I/O, is what lets the tests replay scripted networks on a fake clock.

The rules, with the RFC section:

* **Resolution delay (§3).** The preferred family (IPv6 unless told otherwise)
  is used as soon as it answers. If the other family answers first, wait up to
  ``resolution_delay`` for the preferred one, then start without it.
* **Interleaving (§4).** Attempts alternate between families, starting with
  the preferred one ("first address family count" 1); within a family the
  resolver's order is kept. Addresses that arrive late join the queue.
* **Attempt delay (§5).** The next attempt starts ``connection_attempt_delay``
  after the previous one, or at once when an attempt fails (whichever is
  first). Earlier attempts keep running: the first to connect wins.
* **Timeouts.** Each attempt gets ``attempt_timeout`` (then it is cancelled,
  counted as failed, and the next may start); everything gets
  ``total_timeout``. When every address has failed and both families are
  answered, the plan fails with every attempt's error.
"""

from __future__ import annotations

import dataclasses
import socket
from collections import deque
from collections.abc import Iterable
from typing import Literal

from sockit.errors import Phase, Timeout
from sockit.limits import HappyEyeballsDefaults
from sockit.net._dns_types import ResolvedAddress
from sockit.net._oserror import timed_out

__all__ = [
    "Action",
    "AttemptError",
    "CancelAttempt",
    "Done",
    "Failed",
    "HappyEyeballsPlanner",
    "StartAttempt",
    "Wait",
]

_V6, _V4 = socket.AF_INET6, socket.AF_INET


@dataclasses.dataclass(frozen=True, slots=True)
class AttemptError:
    """Why one address (or one family's lookup, ``address=None``) did not work out."""

    family: socket.AddressFamily
    address: ResolvedAddress | None
    error: BaseException

    def __str__(self) -> str:
        where = str(self.address) if self.address else f"{self.family.name} lookup"
        return f"{where}: {self.error}"


@dataclasses.dataclass(frozen=True, slots=True)
class StartAttempt:
    """Open a socket and start a non-blocking connect to ``address``."""

    address: ResolvedAddress


@dataclasses.dataclass(frozen=True, slots=True)
class CancelAttempt:
    """The attempt to ``address`` ran out of ``attempt_timeout``: close its socket."""

    address: ResolvedAddress
    error: Timeout


@dataclasses.dataclass(frozen=True, slots=True)
class Wait:
    """Nothing to do before ``until`` (or before the next report)."""

    until: float


@dataclasses.dataclass(frozen=True, slots=True)
class Done:
    """``winner`` connected; close the attempts in ``losers`` that are still connecting."""

    winner: ResolvedAddress
    losers: tuple[ResolvedAddress, ...]
    attempts: int


@dataclasses.dataclass(frozen=True, slots=True)
class Failed:
    """No connection: ``reason`` says why; close ``losers``; ``errors`` has every reason."""

    reason: Literal["exhausted", "timeout", "cancelled"]
    errors: tuple[AttemptError, ...]
    losers: tuple[ResolvedAddress, ...]
    attempts: int


Action = StartAttempt | CancelAttempt | Wait | Done | Failed


class HappyEyeballsPlanner:
    """RFC 8305 connection racing as a pure state machine; see the module docs.

    ``now`` is the start instant on the caller's clock; every later call passes
    the current instant on the same clock. ``total_timeout`` overrides the
    config's.
    """

    def __init__(
        self,
        config: HappyEyeballsDefaults | None = None,
        *,
        now: float,
        prefer_ipv6: bool = True,
        total_timeout: float | None = None,
    ) -> None:
        self.config = config if config is not None else HappyEyeballsDefaults()
        total = self.config.total_timeout if total_timeout is None else total_timeout
        self.deadline = now + total
        self._total = total
        self._first, self._second = (_V6, _V4) if prefer_ipv6 else (_V4, _V6)
        self._answered: set[int] = set()
        self._queues: dict[int, deque[ResolvedAddress]] = {_V6: deque(), _V4: deque()}
        self._seen: set[ResolvedAddress] = set()
        self._second_first_at: float | None = None
        self._active: dict[ResolvedAddress, float] = {}
        self._next_start = now
        self._last_family: int | None = None
        self._errors: list[AttemptError] = []
        self._outcome: Done | Failed | None = None
        self.attempts = 0

    # -- reports ---------------------------------------------------------------------

    def addresses_resolved(
        self, family: int, addresses: Iterable[ResolvedAddress], now: float
    ) -> None:
        """A lookup for ``family`` answered (``AF_UNSPEC``: both families did)."""
        families = (_V6, _V4) if family == socket.AF_UNSPEC else (family,)
        for addr in addresses:
            if addr not in self._seen and addr.family in self._queues:
                self._seen.add(addr)
                self._queues[addr.family].append(addr)
        self._answered.update(families)
        if self._first not in self._answered and self._second_first_at is None:
            self._second_first_at = now

    def resolution_failed(self, family: int, error: BaseException, now: float) -> None:
        """A lookup for ``family`` failed: go on with the other family alone."""
        self._errors.append(AttemptError(socket.AddressFamily(family), None, error))
        self.addresses_resolved(family, (), now)

    def attempt_failed(
        self, address: ResolvedAddress, now: float, error: BaseException | None = None
    ) -> None:
        """The attempt to ``address`` failed: the next one may start at once."""
        if self._active.pop(address, None) is None:
            return
        if error is None:
            error = OSError(f"connect to {address} failed")
        self._errors.append(AttemptError(address.family, address, error))
        self._next_start = min(self._next_start, now)

    def attempt_succeeded(self, address: ResolvedAddress, now: float) -> None:
        """The attempt to ``address`` connected: it wins, the rest lose."""
        if self._outcome is not None or self._active.pop(address, None) is None:
            return
        self._outcome = Done(address, self._take_active(), self.attempts)

    def cancel(self, now: float) -> Failed:
        """Give up (the caller lost interest); the returned plan lists what to close."""
        if not isinstance(self._outcome, Failed):
            self._outcome = self._failed("cancelled")
        return self._outcome

    # -- decisions -------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """True once the plan ended in :class:`Done` or :class:`Failed`."""
        return self._outcome is not None

    @property
    def errors(self) -> tuple[AttemptError, ...]:
        """Every failure so far (lookups and attempts), in order."""
        return tuple(self._errors)

    def next_action(self, now: float) -> Action:
        """What to do at ``now``; call again after each Start/Cancel until Wait/Done/Failed."""
        if self._outcome is not None:
            return self._outcome
        if now >= self.deadline:
            self._errors.append(
                AttemptError(
                    self._first, None, timed_out(Phase.CONNECT, "happy eyeballs", self._total)
                )
            )
            self._outcome = self._failed("timeout")
            return self._outcome
        limit = self.config.attempt_timeout
        for addr, started in self._active.items():
            if now >= started + limit:
                del self._active[addr]
                error = timed_out(Phase.CONNECT, f"connect to {addr}", limit)
                self._errors.append(AttemptError(addr.family, addr, error))
                self._next_start = min(self._next_start, now)
                return CancelAttempt(addr, error)
        queued = bool(self._queues[_V6] or self._queues[_V4])
        may_start = self._may_start(now)
        if queued and may_start and now >= self._next_start:
            addr = self._pick()
            self._active[addr] = now
            self._next_start = now + self.config.connection_attempt_delay
            self._last_family = addr.family
            self.attempts += 1
            return StartAttempt(addr)
        if not queued and not self._active and len(self._answered) == 2:
            self._outcome = self._failed("exhausted")
            return self._outcome
        until = [self.deadline] + [started + limit for started in self._active.values()]
        if queued:
            until.append(self._next_start if may_start else self._resolution_wait_end())
        return Wait(min(until))

    # -- internals -------------------------------------------------------------------

    def _resolution_wait_end(self) -> float:
        if self._second_first_at is None:
            return self.deadline
        return self._second_first_at + self.config.resolution_delay

    def _may_start(self, now: float) -> bool:
        if self._first in self._answered:
            return True
        return self._second in self._answered and now >= self._resolution_wait_end()

    def _pick(self) -> ResolvedAddress:
        order: tuple[int, int]
        if self._last_family is None:
            order = (self._first, self._second)
        else:
            other = _V4 if self._last_family == _V6 else _V6
            order = (other, self._last_family)
        for family in order:
            if self._queues[family]:
                return self._queues[family].popleft()
        raise AssertionError("_pick called with empty queues")  # pragma: no cover

    def _take_active(self) -> tuple[ResolvedAddress, ...]:
        losers = tuple(self._active)
        self._active.clear()
        return losers

    def _failed(self, reason: Literal["exhausted", "timeout", "cancelled"]) -> Failed:
        return Failed(reason, tuple(self._errors), self._take_active(), self.attempts)
