"""The DTLS handshake retransmission schedule, on a caller-supplied clock.

RFC 6347 section 4.2.4: after sending a flight, wait; if the peer's next
flight does not come, send ours again and double the wait, up to a ceiling.
:class:`RetransmitSchedule` only does the arithmetic: when the next
retransmission is due, how many have happened, and when to give up. The
engine decides what to resend. Values come from ``DTLSDefaults``
(``retransmit_initial`` doubling to ``retransmit_max``, at most
``max_retransmits`` times per flight).
"""

from __future__ import annotations

from sockit.limits import DTLSDefaults

__all__ = ["RetransmitSchedule"]


class RetransmitSchedule:
    """The timer of the current flight: armed, backed off, exhausted or stopped."""

    __slots__ = ("_deadline", "_interval", "attempts", "defaults")

    def __init__(self, defaults: DTLSDefaults) -> None:
        self.defaults = defaults
        self._deadline: float | None = None
        self._interval = defaults.retransmit_initial
        #: Retransmissions of the current flight so far.
        self.attempts = 0

    @property
    def deadline(self) -> float | None:
        """When the current flight must be resent, or ``None`` when no timer runs."""
        return self._deadline

    @property
    def interval(self) -> float:
        """The wait that the current deadline was armed with."""
        return self._interval

    def start(self, now: float) -> None:
        """A new flight went out at ``now``: the wait starts over at its initial value."""
        self._interval = self.defaults.retransmit_initial
        self.attempts = 0
        self._deadline = now + self._interval

    def stop(self) -> None:
        """The peer answered (or the handshake is over): no timer."""
        self._deadline = None

    def due(self, now: float) -> bool:
        """Whether the flight must be resent at ``now``."""
        return self._deadline is not None and now >= self._deadline

    @property
    def exhausted(self) -> bool:
        """Whether ``max_retransmits`` resends already went unanswered."""
        return self.attempts >= self.defaults.max_retransmits

    def backoff(self, now: float) -> None:
        """Count one resend at ``now`` and double the wait (up to ``retransmit_max``)."""
        self.attempts += 1
        self._interval = min(self._interval * 2, self.defaults.retransmit_max)
        self._deadline = now + self._interval
