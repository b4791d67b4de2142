"""SYN-flood reputation scoring: decide, per client address, before admitting a connection.

Each client key (an IPv4 address, or an IPv6 /64 by default) has a score in
``[0, 1]`` that starts at ``score_initial``. Every attempt costs
``penalty_attempt``, a reported failure ``penalty_failure``, a reported
success earns ``reward_success``, and time pulls the score back towards
``score_initial`` at ``decay_per_second`` from either side, so both bad and
good reputation fade. :meth:`SYNProtector.check` records an attempt and
decides, in this order:

1. allow list / deny list (the more specific match wins; a tie goes to deny);
2. a timed block in force → ``BLOCK`` (``"blocked"``);
3. more than ``max_attempts_per_window`` attempts in the sliding ``window``
   → a timed block of ``block_duration`` (``"rate-window"``);
4. score ≤ ``score_block`` → ``BLOCK``, ≤ ``score_challenge`` →
   ``CHALLENGE``, ≤ ``score_throttle`` → ``THROTTLE`` (``"score"``);
5. more than ``max_global_rate`` checks per second over all addresses →
   ``THROTTLE`` (``"global-rate"``) unless the address is trusted, which is
   ``ALLOW`` (``"trusted"``);
6. otherwise ``ALLOW`` (``"ok"``).

Trust is earned when the score reaches ``score_trusted`` and lost when it
falls to ``score_throttle``: decay alone (which stops at ``score_initial``)
never takes it away, so a known-good client that pauses is still let through
during a flood. The tables hold at most ``max_tracked_ips`` keys; the least
recently seen is evicted. Every public method is O(1) (amortised) except
:meth:`SYNProtector.cleanup`, and all are safe to call from any thread.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Final

from sockit.errors import LocalProtocolError
from sockit.limits import SYNProtectDefaults
from sockit.net._protect_kernel import (
    listen_backlog_max,
    reuseport_group,
    set_defer_accept,
    syncookies_enabled,
)
from sockit.net._protect_state import (
    Action,
    Entry,
    Metrics,
    RateMeter,
    SYNStats,
    Verdict,
    log,
    log_transition,
)
from sockit.net.cidr import CIDRList, IPAddress, parse_ip
from sockit.observe import REGISTRY, MetricsRegistry, log_event

__all__ = [
    "Action",
    "SYNProtector",
    "SYNStats",
    "Verdict",
    "listen_backlog_max",
    "reuseport_group",
    "set_defer_accept",
    "syncookies_enabled",
]

THROTTLE_RATE: Final = SYNProtectDefaults().throttle_rate
"""Admissions per second :meth:`SYNProtector.admit` lets through for one throttled address."""
THROTTLE_BURST: Final = SYNProtectDefaults().throttle_burst
"""How many admissions a throttled address may bank."""


class SYNProtector:
    """Per-address reputation, deciding ALLOW / THROTTLE / CHALLENGE / BLOCK.

    ``allow`` and ``deny`` are CIDR strings (see :class:`~sockit.net.cidr.CIDRList`).
    ``ipv6_prefix`` groups IPv6 addresses (one /64 is usually one client);
    ``throttle_rate``/``throttle_burst`` are the per-address admission budget
    :meth:`admit` gives a throttled address. ``config``, ``allowlist`` and
    ``denylist`` are public attributes; change the lists at any time.
    """

    def __init__(
        self,
        config: SYNProtectDefaults | None = None,
        *,
        allow: Iterable[str] = (),
        deny: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
        registry: MetricsRegistry | None = None,
        ipv6_prefix: int = 64,
        throttle_rate: float | None = None,
        throttle_burst: float | None = None,
    ) -> None:
        cfg = config if config is not None else SYNProtectDefaults()
        throttle_rate = cfg.throttle_rate if throttle_rate is None else throttle_rate
        throttle_burst = cfg.throttle_burst if throttle_burst is None else throttle_burst
        if isinstance(ipv6_prefix, bool) or not isinstance(ipv6_prefix, int):
            raise ValueError(f"ipv6_prefix must be an int, not {ipv6_prefix!r}")
        if not 0 <= ipv6_prefix <= 128:
            raise ValueError(f"ipv6_prefix must be in 0..128, not {ipv6_prefix!r}")
        for name, value in (("throttle_rate", throttle_rate), ("throttle_burst", throttle_burst)):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a finite number > 0, not {value!r}")
        if throttle_burst < 1:
            raise ValueError("throttle_burst must be at least 1")
        self.config = cfg
        self.allowlist = CIDRList(allow)
        self.denylist = CIDRList(deny)
        self._clock = clock
        self._v6_prefix = ipv6_prefix
        self._v6_mask = ((1 << 128) - 1) ^ ((1 << (128 - ipv6_prefix)) - 1)
        self._throttle = (float(throttle_rate), float(throttle_burst))
        self._metrics = Metrics(registry if registry is not None else REGISTRY)
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._meter = RateMeter()
        self._now = -math.inf
        self._counts = dict.fromkeys(Action, 0)
        self._evicted = 0

    def __repr__(self) -> str:
        return f"<SYNProtector tracked={len(self._entries)}>"

    # -- keys, time, the table ---------------------------------------------

    def key(self, ip: str) -> str:
        """The table key for ``ip``: the address, or its IPv6 prefix (``"2001:db8::/64"``)."""
        return self._key(parse_ip(ip))

    def _key(self, addr: IPAddress) -> str:
        if addr.version == 4:
            return str(addr)
        masked = ipaddress.IPv6Address(int(addr) & self._v6_mask)  # also drops a scope id
        return str(masked) if self._v6_prefix == 128 else f"{masked}/{self._v6_prefix}"

    def _tick(self) -> float:
        """The clock, never going backwards (lock held)."""
        now = self._clock()
        self._now = max(self._now, now)
        return self._now

    def _listed(self, addr: IPAddress) -> str | None:
        allowed = self.allowlist._match(addr)
        denied = self.denylist._match(addr)
        if denied is not None and (allowed is None or denied >= allowed):
            return "denylisted"
        return None if allowed is None else "allowlisted"

    def _entry(self, key: str, now: float) -> Entry:
        """Get or create the entry for ``key``, marking it most recently seen (lock held)."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            return entry
        evicted = 0
        while len(self._entries) >= self.config.max_tracked_ips:
            self._entries.popitem(last=False)
            evicted += 1
        entry = self._entries[key] = Entry(self.config.score_initial, now)
        self._evicted += evicted
        if evicted:
            self._metrics.evictions.inc(evicted)
            self._metrics.tracked.dec(evicted)
        self._metrics.tracked.inc()
        return entry

    def _expire_block(self, key: str, entry: Entry, now: float) -> None:
        if entry.blocked_until != -math.inf and not entry.blocked(now):
            entry.blocked_until = -math.inf
            entry.last_action = Action.ALLOW.value
            log_event(log, logging.INFO, "address unblocked", ip=key, reason="expired")

    # -- decisions -----------------------------------------------------------

    def check(self, ip: str) -> Verdict:
        """Record an attempt from ``ip`` and decide what to do with it.

        Bad addresses raise :class:`~sockit.errors.AddressError`.
        """
        return self._decide(ip, admit=False)[0]

    def admit(self, ip: str) -> str | None:
        """The pool's admission hook: ``None`` to admit, else why not.

        ``ALLOW`` admits; ``THROTTLE`` admits while the address has throttle
        budget left (``throttle_rate`` per second, ``throttle_burst`` banked)
        and refuses once it is spent; ``CHALLENGE`` and ``BLOCK`` refuse (a
        pool cannot challenge; a server that can should call :meth:`check`).
        The refusal text is ``"<action>:<reason>"``, e.g. ``"block:rate-window"``.
        """
        verdict, admitted = self._decide(ip, admit=True)
        return None if admitted else f"{verdict.action.value}:{verdict.reason}"

    def _decide(self, ip: str, *, admit: bool) -> tuple[Verdict, bool]:
        """Record an attempt and decide; the flag says whether :meth:`admit` admits it."""
        addr = parse_ip(ip)
        key = self._key(addr)
        previous: str | None = None  # listed addresses have no history to log changes of
        with self._lock:
            now = self._tick()
            self._meter.hit(now)
            listed = self._listed(addr)
            if listed is not None:
                admitted = listed == "allowlisted"
                verdict = Verdict(
                    Action.ALLOW if admitted else Action.BLOCK, 1.0 if admitted else 0.0, listed
                )
            else:
                entry = self._entry(key, now)
                entry.settle(now, self.config)
                self._expire_block(key, entry, now)
                verdict = self._score_attempt(entry, now)
                previous, entry.last_action = entry.last_action, verdict.action.value
                admitted = verdict.action is Action.ALLOW or (
                    admit  # only admit() spends throttle budget
                    and verdict.action is Action.THROTTLE
                    and entry.take_token(now, *self._throttle)
                )
            self._counts[verdict.action] += 1
        self._metrics.by_action[verdict.action].inc()
        if previous is not None and previous != verdict.action.value:
            log_transition(key, previous, verdict)
        return verdict, admitted

    def _score_attempt(self, entry: Entry, now: float) -> Verdict:
        """Charge one attempt to ``entry`` and decide (lock held, entry settled)."""
        cfg = self.config
        entry.adjust(-cfg.penalty_attempt, cfg)
        if entry.blocked(now):
            return Verdict(Action.BLOCK, entry.score, "blocked")
        entry.trim(now, cfg.window)
        entry.attempts.append(now)
        if len(entry.attempts) > cfg.max_attempts_per_window:
            entry.blocked_until = now + cfg.block_duration
            entry.attempts.clear()
            return Verdict(Action.BLOCK, entry.score, "rate-window")
        score = entry.score
        if score <= cfg.score_block:
            return Verdict(Action.BLOCK, score, "score")
        if score <= cfg.score_challenge:
            return Verdict(Action.CHALLENGE, score, "score")
        if score <= cfg.score_throttle:
            return Verdict(Action.THROTTLE, score, "score")
        if self._meter.rate(now) > cfg.max_global_rate:
            if entry.trusted:
                return Verdict(Action.ALLOW, score, "trusted")
            return Verdict(Action.THROTTLE, score, "global-rate")
        return Verdict(Action.ALLOW, score, "ok")

    # -- feedback --------------------------------------------------------------

    def record_success(self, ip: str) -> None:
        """Reward ``ip``: its connection did what a real client does (a request, a handshake)."""
        self._feedback(ip, self.config.reward_success)

    def record_failure(self, ip: str) -> None:
        """Penalise ``ip``: its connection failed (no data, a bad handshake, a protocol error)."""
        self._feedback(ip, -self.config.penalty_failure)

    def _feedback(self, ip: str, delta: float) -> None:
        key = self._key(parse_ip(ip))
        with self._lock:
            now = self._tick()
            entry = self._entry(key, now)
            entry.settle(now, self.config)
            entry.adjust(delta, self.config)

    # -- manual control -----------------------------------------------------------

    def block(self, ip: str, duration: float | None = None) -> None:
        """Block ``ip`` for ``duration`` seconds (default ``block_duration``; ``math.inf`` ok)."""
        if duration is None:
            duration = self.config.block_duration
        elif (
            isinstance(duration, bool)
            or not isinstance(duration, (int, float))
            or not (duration >= 0)
        ):
            raise LocalProtocolError(f"block duration must be a number >= 0, not {duration!r}")
        key = self._key(parse_ip(ip))
        with self._lock:
            now = self._tick()
            entry = self._entry(key, now)
            entry.settle(now, self.config)
            entry.blocked_until = now + duration
            entry.attempts.clear()
            entry.last_action = Action.BLOCK.value
        log_event(
            log, logging.WARNING, "address blocked", ip=key, reason="manual", duration=duration
        )

    def unblock(self, ip: str) -> bool:
        """Lift a block and restore the score to at least ``score_initial``; ``False`` if none.

        Lists are not touched: a denylisted address stays denied.
        """
        key = self._key(parse_ip(ip))
        cfg = self.config
        with self._lock:
            now = self._tick()
            entry = self._entries.get(key)
            if entry is None:
                return False
            entry.settle(now, cfg)
            if not entry.blocked(now) and entry.score > cfg.score_block:
                return False
            entry.blocked_until = -math.inf
            entry.attempts.clear()
            entry.score = max(entry.score, cfg.score_initial)
            entry.last_action = Action.ALLOW.value
        log_event(log, logging.INFO, "address unblocked", ip=key, reason="manual")
        return True

    def allow(self, *cidrs: str) -> None:
        """Always allow these networks (remove with ``allowlist.remove``)."""
        for cidr in cidrs:
            self.allowlist.add(cidr)

    def deny(self, *cidrs: str) -> None:
        """Always block these networks (remove with ``denylist.remove``)."""
        for cidr in cidrs:
            self.denylist.add(cidr)

    # -- queries ----------------------------------------------------------------

    def score(self, ip: str) -> float:
        """The current score of ``ip`` (``score_initial`` if it is not tracked)."""
        key = self._key(parse_ip(ip))
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return self.config.score_initial
            entry.settle(self._tick(), self.config)
            return entry.score

    def is_blocked(self, ip: str) -> bool:
        """Whether the next attempt from ``ip`` would be blocked before being counted."""
        addr = parse_ip(ip)
        key = self._key(addr)
        with self._lock:
            listed = self._listed(addr)
            if listed is not None:
                return listed == "denylisted"
            entry = self._entries.get(key)
            if entry is None:
                return False
            now = self._tick()
            entry.settle(now, self.config)
            return entry.blocked(now) or entry.score <= self.config.score_block

    def is_trusted(self, ip: str) -> bool:
        """Whether ``ip`` has earned trust (it passes a global-rate throttle)."""
        key = self._key(parse_ip(ip))
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False
            entry.settle(self._tick(), self.config)
            return entry.trusted

    def __len__(self) -> int:
        """How many client keys are tracked."""
        return len(self._entries)

    def cleanup(self, now: float | None = None) -> int:
        """Drop entries that carry nothing a fresh one would not; return how many.

        Expired blocks are lifted (and logged). An entry goes once its window
        is empty, it is not blocked or trusted, and its score has decayed back
        to ``score_initial``. O(tracked): call it from a periodic timer.
        """
        cfg = self.config
        with self._lock:
            at = self._tick() if now is None else now
            dead: list[str] = []
            for key, entry in self._entries.items():
                entry.settle(at, cfg)
                self._expire_block(key, entry, at)
                if entry.idle(at, cfg):
                    dead.append(key)
            for key in dead:
                del self._entries[key]
        if dead:
            self._metrics.tracked.dec(len(dead))
        return len(dead)

    @property
    def stats(self) -> SYNStats:
        """A consistent snapshot of the counters."""
        with self._lock:
            counts = self._counts
            return SYNStats(
                checked=sum(counts.values()),
                allowed=counts[Action.ALLOW],
                throttled=counts[Action.THROTTLE],
                challenged=counts[Action.CHALLENGE],
                blocked=counts[Action.BLOCK],
                tracked=len(self._entries),
                evicted=self._evicted,
                global_rate=self._meter.rate(self._tick()),
            )
