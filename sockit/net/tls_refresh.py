"""Keeping TLS revocation data fresh: CRL reloads and a self-renewing OCSP staple.

::

    crls = CRLSet(issuers=[ca_der]); crls.load("/etc/pki/ca.crl")
    refresher = CRLRefresher(crls, interval=3600)
    refresher.schedule(reactor)          # TimerEvent.data is the refresher
    ...
    if isinstance(ev, TimerEvent) and ev.data is refresher:
        refresher.refresh()

    staple = OCSPStaple(lambda now: build_ocsp_response(leaf, issuer, key, wall_time=now),
                        validity=3600)
    ctx = TLSContext.server(cert, key, ocsp_response=staple)   # called per handshake

Both are callback-free: a reactor timer (or your own thread) says when; the
objects only do the work and remember the outcome. A failed CRL reload keeps
the previous lists (``CRLSet.reload`` is all or nothing) and is logged; a
refresh never runs more often than ``TLSDefaults().min_crl_refresh`` (60 s).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final

from sockit.errors import SockitError
from sockit.limits import TLSDefaults
from sockit.net.reactor import Reactor
from sockit.net.timers import Timer
from sockit.observe import get_logger, log_event
from sockit.proto.tls import CRLSet

__all__ = ["CRLRefresher", "OCSPStaple"]

log = get_logger("net.tls")

#: Never reload CRLs more often than this, whatever a CRL's nextUpdate says.
_MIN_REFRESH: Final = TLSDefaults().min_crl_refresh


class CRLRefresher:
    """Reloads a :class:`CRLSet` from its sources every ``interval`` seconds.

    ``interval`` is raised to ``TLSDefaults().min_crl_refresh`` if lower; when
    a loaded CRL announces its ``nextUpdate`` earlier than the interval, the
    next refresh moves up to it (but not below the minimum).
    """

    def __init__(
        self,
        crls: CRLSet,
        *,
        interval: float = 3600.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.crls = crls
        self.interval = max(float(interval), _MIN_REFRESH)
        self._wall = wall_clock
        self._timer: Timer | None = None
        #: Successful and failed reloads so far.
        self.reloads = 0
        self.failures = 0
        #: The error of the last failed reload (``None`` after a success).
        self.last_error: SockitError | None = None

    def next_delay(self) -> float:
        """Seconds until the next refresh is due."""
        delay = self.interval
        next_update = self.crls.next_update
        if next_update is not None:
            delay = min(delay, next_update - self._wall())
        return max(delay, _MIN_REFRESH)

    def refresh(self) -> bool:
        """Reload now; ``True`` on success. The timer (if scheduled) is re-armed."""
        now = self._wall()
        try:
            count = self.crls.reload(wall_time=now)
        except SockitError as exc:
            self.failures += 1
            self.last_error = exc
            log_event(log, logging.WARNING, "CRL reload failed; keeping the previous lists",
                      error=str(exc))
            ok = False
        else:
            self.reloads += 1
            self.last_error = None
            stale = self.crls.stale(now)
            level = logging.WARNING if stale else logging.INFO
            log_event(log, level, "CRLs reloaded", count=count, stale=len(stale))
            ok = True
        if self._timer is not None and not self._timer.cancelled:
            self._timer.reschedule(self.next_delay())
        return ok

    def schedule(self, reactor: Reactor) -> Timer:
        """Arm a reactor timer for the next refresh; its ``TimerEvent.data`` is ``self``."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = reactor.add_timer(self.next_delay(), data=self)
        return self._timer

    def cancel(self) -> None:
        """Stop the scheduled refreshes."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class OCSPStaple:
    """A stapled OCSP response made by ``make(wall_time)``, renewed before it runs out.

    Pass it as ``TLSContext.server(..., ocsp_response=staple)``: each
    handshake calls it and gets the cached DER. It is renewed once
    ``renew_after`` (default: half of ``validity``) has passed; if renewing
    fails, the old response is served until ``validity`` ends, then nothing
    (a client without must-staple then goes on without it). Thread-safe.
    """

    def __init__(
        self,
        make: Callable[[float], bytes],
        *,
        validity: float,
        renew_after: float | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if validity <= 0:
            raise ValueError("validity must be positive")
        self._make = make
        self.validity = float(validity)
        self.renew_after = self.validity / 2 if renew_after is None else float(renew_after)
        self._wall = wall_clock
        self._lock = threading.Lock()
        self._der: bytes | None = None
        self._made_at = float("-inf")
        #: Responses made so far, and failed attempts.
        self.made = 0
        self.failures = 0

    def __call__(self) -> bytes | None:
        """The current staple (renewed first if due), or ``None`` if there is none."""
        now = self._wall()
        with self._lock:
            if now - self._made_at >= self.renew_after:
                try:
                    self._der = self._make(now)
                except SockitError as exc:
                    self.failures += 1
                    log_event(log, logging.WARNING, "OCSP staple renewal failed", error=str(exc))
                else:
                    self._made_at = now
                    self.made += 1
            if self._der is None or now - self._made_at >= self.validity:
                return None
            return self._der
