"""The resolver's answer cache: LRU-bounded, with a TTL, and short negative entries.

``getaddrinfo`` does not report the records' TTL, so one configured TTL
(:attr:`~sockit.limits.DNSDefaults.cache_ttl`) applies to every answer.
Failures that say "this name does not exist" are remembered too, but only for
``min(NEGATIVE_TTL, ttl)``: long enough to absorb a burst of retries, short
enough that a name created a moment later is found. Temporary failures
(``EAI_AGAIN``, timeouts) are never cached.

Not thread-safe on its own: :class:`~sockit.net.dns.Resolver` calls it under
its lock. Time is passed in, so tests drive expiry with a fake clock.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Final, Generic, TypeVar

__all__ = ["NEGATIVE_TTL", "AnswerCache", "CacheKey"]

NEGATIVE_TTL: Final = 5.0

CacheKey = tuple[str, int, int]
"""(canonical host, port, family) — one cache entry per query shape."""

_V = TypeVar("_V")


@dataclasses.dataclass(slots=True)
class _Entry(Generic[_V]):
    expires: float
    value: _V | None
    error: BaseException | None


class AnswerCache(Generic[_V]):
    """Answers (or negative answers) keyed by :data:`CacheKey`, oldest-used evicted first."""

    def __init__(self, size: int, ttl: float) -> None:
        self.size = size
        self.ttl = ttl
        self._entries: OrderedDict[CacheKey, _Entry[_V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def enabled(self) -> bool:
        """False when the configuration turned caching off (size or TTL zero)."""
        return self.size > 0 and self.ttl > 0

    def get(self, key: CacheKey, now: float) -> tuple[_V | None, BaseException | None] | None:
        """``(value, None)``, ``(None, error)`` or ``None`` for a miss (expired counts)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if now >= entry.expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.value, entry.error

    def put(self, key: CacheKey, value: _V, now: float) -> None:
        """Remember a positive answer for the configured TTL."""
        self._store(key, _Entry(now + self.ttl, value, None))

    def put_negative(self, key: CacheKey, error: BaseException, now: float) -> None:
        """Remember a definitive failure for ``min(NEGATIVE_TTL, ttl)``."""
        self._store(key, _Entry(now + min(NEGATIVE_TTL, self.ttl), None, error))

    def _store(self, key: CacheKey, entry: _Entry[_V]) -> None:
        if not self.enabled:
            return
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def invalidate(self, host: str) -> int:
        """Drop every entry for ``host`` (any port and family); how many were dropped."""
        keys = [key for key in self._entries if key[0] == host]
        for key in keys:
            del self._entries[key]
        return len(keys)

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
