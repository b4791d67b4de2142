"""Flood defences for HTTP/2: token buckets over what the peer makes us do.

HTTP/2 lets a peer ask for work with frames that cost it almost nothing: a
stream opened and reset at once (CVE-2023-44487, "rapid reset"), PINGs and
SETTINGS we must acknowledge (CVE-2019-9512, -9515), RST_STREAMs
(CVE-2019-9514), empty frames (CVE-2019-9518), streams stalled on a closed
window that pin our send buffers (CVE-2019-9517). Each has a
:class:`TokenBucket`; when one runs dry the connection sends GOAWAY
ENHANCE_YOUR_CALM (:class:`H2FloodError`).

Time is an argument: every check takes ``now`` (seconds, any epoch), so the
same frames at the same times give the same decision however they were
split. Buckets take O(1) memory (a per-minute cap is a bucket refilling at
``cap / 60`` per second with a burst of ``cap``).

Bursts are chosen so normal traffic passes: a browser that opens 100
streams at once, or cancels them all on navigation, stays within
``max_concurrent_streams``. Hence:

* **rapid reset** counts streams the peer resets *before we answered* them,
  and streams we refuse (beyond MAX_CONCURRENT_STREAMS, or after GOAWAY):
  ``stream_open_rate`` per second with a burst of
  ``max(stream_open_burst, max_concurrent_streams)``, and at most
  ``stream_opens_per_minute`` per minute. Raw stream opens are counted for
  metrics but not limited: MAX_CONCURRENT_STREAMS already bounds the work in
  flight.
* **RST_STREAM** received, and stream errors we answer with RST_STREAM:
  ``rst_stream_rate`` per second, burst ``max(rst_stream_rate,
  max_concurrent_streams)``.
* **PING** (not ACKs): ``ping_rate`` per second, burst ``ping_rate``.
* **SETTINGS** (not ACKs): ``settings_per_window`` per ``settings_window``
  seconds, that many in a burst.
* **empty frames** (DATA with no data and no END_STREAM, HEADERS or
  CONTINUATION with an empty fragment): ``H2Config.empty_frame_rate`` per
  second, burst ``H2Config.empty_frame_burst``.
"""

from __future__ import annotations

import math

from sockit.errors import LimitExceeded, RemoteProtocolError
from sockit.limits import HTTP2Limits
from sockit.proto.http2.errors import ErrorCode, H2ConnectionError

__all__ = ["FLOOD_STATS", "FloodGuard", "H2FloodError", "TokenBucket"]


class H2FloodError(H2ConnectionError, LimitExceeded):
    """The peer flooded us; answered with GOAWAY ENHANCE_YOUR_CALM.

    Both an :class:`H2ConnectionError` (a connection error with
    ``error_code`` ENHANCE_YOUR_CALM) and a :class:`LimitExceeded`
    (``limit`` names the bound, ``value`` its configured rate or size).
    """

    def __init__(self, message: str, *, limit: str, value: float) -> None:
        RemoteProtocolError.__init__(
            self, message, error_code=ErrorCode.ENHANCE_YOUR_CALM, http_status=None
        )
        self.limit = limit
        self.value = value


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved; starts full."""

    __slots__ = ("burst", "last", "rate", "tokens")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = float(rate)
        self.burst = float(burst)
        self.tokens = float(burst)
        self.last: float | None = None

    def take(self, now: float) -> bool:
        """Spend one token at ``now``; ``False`` when none is left."""
        last = self.last
        if last is not None and now > last:
            tokens = self.tokens + (now - last) * self.rate
            self.tokens = tokens if tokens < self.burst else self.burst
        if last is None or now > last:
            self.last = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


#: The counters in :attr:`FloodGuard.stats`, for metrics.
FLOOD_STATS = (
    "streams_opened",
    "rapid_resets",
    "refused_streams",
    "rst_stream_received",
    "stream_errors",
    "pings",
    "settings",
    "empty_frames",
    "stalled_resets",
    "floods",
)


class FloodGuard:
    """Counters and buckets for one connection; each check raises H2FloodError.

    ``stats`` holds running counts (names in :data:`FLOOD_STATS`) and
    ``tripped`` the name of the defence that ended the connection, if any.
    """

    __slots__ = (
        "_empty",
        "_ping",
        "_reset",
        "_reset_minute",
        "_rst",
        "_settings",
        "_stream_errors",
        "limits",
        "stats",
        "tripped",
    )

    def __init__(
        self, limits: HTTP2Limits, *, empty_frame_rate: float, empty_frame_burst: int
    ) -> None:
        self.limits = limits
        streams = limits.max_concurrent_streams
        self._reset = TokenBucket(
            limits.stream_open_rate, max(limits.stream_open_burst, streams, 1)
        )
        per_minute = limits.stream_opens_per_minute
        self._reset_minute = TokenBucket(per_minute / 60.0, per_minute)
        rst_burst = max(math.ceil(limits.rst_stream_rate), streams, 1)
        self._rst = TokenBucket(limits.rst_stream_rate, rst_burst)
        self._stream_errors = TokenBucket(limits.rst_stream_rate, rst_burst)
        self._ping = TokenBucket(limits.ping_rate, max(1, math.ceil(limits.ping_rate)))
        self._settings = TokenBucket(
            limits.settings_per_window / limits.settings_window, limits.settings_per_window
        )
        self._empty = TokenBucket(empty_frame_rate, empty_frame_burst)
        self.stats: dict[str, int] = dict.fromkeys(FLOOD_STATS, 0)
        self.tripped: str | None = None

    def _flood(self, name: str, message: str, limit: str, value: float) -> H2FloodError:
        self.stats["floods"] += 1
        if self.tripped is None:
            self.tripped = name
        return H2FloodError(message, limit=limit, value=value)

    def stream_opened(self) -> None:
        """Count a stream the peer opened (not limited by itself)."""
        self.stats["streams_opened"] += 1

    def reset_before_answer(self, now: float) -> None:
        """The peer reset a stream we had not answered yet (rapid reset)."""
        self.stats["rapid_resets"] += 1
        self._opens_then_gone(now)

    def refused(self, now: float) -> None:
        """We refused a stream the peer opened (over its limit, or after GOAWAY)."""
        self.stats["refused_streams"] += 1
        self._opens_then_gone(now)

    def _opens_then_gone(self, now: float) -> None:
        limits = self.limits
        if not self._reset.take(now):
            raise self._flood(
                "rapid_reset",
                "too many streams reset or refused before an answer",
                "stream_open_rate",
                limits.stream_open_rate,
            )
        if not self._reset_minute.take(now):
            raise self._flood(
                "rapid_reset",
                "too many streams reset or refused in a minute",
                "stream_opens_per_minute",
                limits.stream_opens_per_minute,
            )

    def rst_stream(self, now: float) -> None:
        """The peer sent RST_STREAM."""
        self.stats["rst_stream_received"] += 1
        if not self._rst.take(now):
            raise self._flood(
                "rst_stream", "RST_STREAM flood", "rst_stream_rate", self.limits.rst_stream_rate
            )

    def stream_error(self, now: float) -> None:
        """The peer broke a stream rule and we answer with RST_STREAM."""
        self.stats["stream_errors"] += 1
        if not self._stream_errors.take(now):
            raise self._flood(
                "stream_errors",
                "too many stream errors",
                "rst_stream_rate",
                self.limits.rst_stream_rate,
            )

    def ping(self, now: float) -> None:
        """The peer sent a PING we must acknowledge."""
        self.stats["pings"] += 1
        if not self._ping.take(now):
            raise self._flood("ping", "PING flood", "ping_rate", self.limits.ping_rate)

    def settings(self, now: float) -> None:
        """The peer sent a SETTINGS frame we must acknowledge."""
        self.stats["settings"] += 1
        if not self._settings.take(now):
            raise self._flood(
                "settings",
                "SETTINGS flood",
                "settings_per_window",
                self.limits.settings_per_window,
            )

    def empty_frame(self, now: float) -> None:
        """The peer sent a frame with nothing in it and no END_STREAM."""
        self.stats["empty_frames"] += 1
        if not self._empty.take(now):
            raise self._flood(
                "empty_frames", "flood of empty frames", "empty_frame_rate", self._empty.rate
            )

    def stalled_reset(self) -> None:
        """Count a stream we reset because its send window stayed closed."""
        self.stats["stalled_resets"] += 1
