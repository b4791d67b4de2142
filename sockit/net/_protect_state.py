"""Value types, per-address state, the rate meter, metrics and logs of ``SYNProtector``.

Kept apart from the decision logic in :mod:`sockit.net.protect` (which
re-exports the public names) so each piece stays small. Nothing here locks:
the protector holds its lock around every call into an :class:`Entry` or a
:class:`RateMeter`.
"""

from __future__ import annotations

import enum
import logging
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Final

from sockit.limits import SYNProtectDefaults
from sockit.observe import MetricsRegistry, get_logger, log_event

__all__ = [
    "Action",
    "Entry",
    "Metrics",
    "RateMeter",
    "SYNStats",
    "Verdict",
    "log",
    "log_transition",
]

_EPSILON: Final = 1e-9
_DIGITS: Final = 9  # scores are rounded so that 0.8 - 5 * 0.02 lands on 0.7 exactly


class Action(enum.Enum):
    """What to do with a connection attempt."""

    ALLOW = "allow"
    THROTTLE = "throttle"
    CHALLENGE = "challenge"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A decision with the score it was based on and why it was taken.

    ``reason`` is one of ``"allowlisted"``, ``"denylisted"``, ``"blocked"``,
    ``"rate-window"``, ``"global-rate"``, ``"score"``, ``"ok"``, ``"trusted"``.
    """

    action: Action
    score: float
    reason: str


@dataclass(frozen=True, slots=True)
class SYNStats:
    """Counters since creation (decisions by action) and the current table size and rate."""

    checked: int
    allowed: int
    throttled: int
    challenged: int
    blocked: int
    tracked: int
    evicted: int
    global_rate: float


@dataclass(slots=True, eq=False)
class Entry:
    """What the protector remembers about one client key.

    ``score`` is exact as of ``updated``; :meth:`settle` brings it forward.
    ``attempts`` holds the times of attempts inside the current window (at
    most ``max_attempts_per_window + 1`` of them: the one too many blocks and
    clears it). ``trusted`` has hysteresis: earned at ``score_trusted``, lost
    at ``score_throttle``, so decay towards ``score_initial`` alone never
    takes it away.
    """

    score: float
    updated: float
    attempts: deque[float] = field(default_factory=deque)
    blocked_until: float = -math.inf
    trusted: bool = False
    tokens: float = 0.0
    tokens_at: float = -math.inf
    last_action: str = "allow"

    def settle(self, now: float, cfg: SYNProtectDefaults) -> None:
        """Apply decay towards ``score_initial`` for the time since ``updated``."""
        elapsed = now - self.updated
        if elapsed > 0:
            step = elapsed * cfg.decay_per_second
            initial = cfg.score_initial
            if self.score < initial:
                self.score = round(min(initial, self.score + step), _DIGITS)
            elif self.score > initial:
                self.score = round(max(initial, self.score - step), _DIGITS)
            self.updated = now
        self._retrust(cfg)

    def adjust(self, delta: float, cfg: SYNProtectDefaults) -> None:
        """Add ``delta`` (a reward or a penalty), clamped to ``[0, 1]``."""
        self.score = round(min(1.0, max(0.0, self.score + delta)), _DIGITS)
        self._retrust(cfg)

    def _retrust(self, cfg: SYNProtectDefaults) -> None:
        if self.score >= cfg.score_trusted:
            self.trusted = True
        elif self.score <= cfg.score_throttle:
            self.trusted = False

    def trim(self, now: float, window: float) -> None:
        """Forget attempts older than ``window`` seconds (amortised O(1))."""
        attempts = self.attempts
        horizon = now - window
        while attempts and attempts[0] <= horizon:
            attempts.popleft()

    def blocked(self, now: float) -> bool:
        """Whether a timed block is in force."""
        return now < self.blocked_until

    def idle(self, now: float, cfg: SYNProtectDefaults) -> bool:
        """Whether the entry says nothing a fresh one would not (safe to drop).

        Trusted entries are kept: they carry earned reputation.
        """
        self.trim(now, cfg.window)
        return (
            not self.attempts
            and not self.blocked(now)
            and not self.trusted
            and abs(self.score - cfg.score_initial) < _EPSILON
        )

    def take_token(self, now: float, rate: float, burst: float) -> bool:
        """Spend one of this address's throttle tokens, if it has one."""
        if self.tokens_at == -math.inf:
            self.tokens = burst
        elif now > self.tokens_at:
            self.tokens = min(burst, self.tokens + (now - self.tokens_at) * rate)
        self.tokens_at = max(now, self.tokens_at)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class RateMeter:
    """Events per second over the last ``span`` seconds, in ``slots`` ring buckets.

    O(1) per event; the rate is exact to one bucket width (``span / slots``).
    A clock that goes backwards counts into the newest bucket.
    """

    __slots__ = ("_counts", "_slot", "_span", "_total", "_width")

    def __init__(self, span: float = 1.0, slots: int = 10) -> None:
        self._counts = [0] * slots
        self._slot: int | None = None
        self._total = 0
        self._span = span
        self._width = span / slots

    def _advance(self, now: float) -> int:
        slot = math.floor(now / self._width)
        current = self._slot
        n = len(self._counts)
        if current is None or slot - current >= n:
            self._counts = [0] * n
            self._total = 0
        elif slot > current:
            counts = self._counts
            for s in range(current + 1, slot + 1):
                i = s % n
                self._total -= counts[i]
                counts[i] = 0
        else:
            return current % n
        self._slot = slot
        return slot % n

    def hit(self, now: float) -> None:
        """Count one event at ``now``."""
        i = self._advance(now)
        self._counts[i] += 1
        self._total += 1

    def rate(self, now: float) -> float:
        """Events per second over the last ``span`` seconds."""
        self._advance(now)
        return self._total / self._span


log = get_logger("net.protect")


_LEVEL: Final = {
    "address blocked": logging.WARNING,
    "address unblocked": logging.INFO,
    "address limited": logging.DEBUG,
}


def log_transition(key: str, previous: str, verdict: Verdict) -> None:
    """Log entering a block (WARNING), leaving one (INFO), being limited (DEBUG)."""
    action = verdict.action
    if action is Action.BLOCK:
        event = "address blocked"
    elif previous == Action.BLOCK.value:
        event = "address unblocked"
    elif action is Action.ALLOW:
        return
    else:
        event = "address limited"
    level = _LEVEL[event]
    log_event(
        log,
        level,
        event,
        ip=key,
        action=action.value,
        reason=verdict.reason,
        score=verdict.score,
    )


class Metrics:
    """The protector's metric families, looked up once."""

    def __init__(self, registry: MetricsRegistry) -> None:
        decisions = registry.counter(
            "sockit_syn_decisions_total", "SYN protector decisions, by action", ("action",)
        )
        self.by_action = {a: decisions.labels(a.value) for a in Action}
        self.tracked = registry.gauge("sockit_syn_tracked_ips", "Client keys the protector tracks")
        self.evictions = registry.counter(
            "sockit_syn_evictions_total", "Client keys evicted from a full protector table"
        )
