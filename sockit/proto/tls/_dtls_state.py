"""The DTLS connection's states and the table of their transitions.

::

    HANDSHAKING --done--> OPEN --close()--> CLOSING --peer close_notify--> CLOSED
        |                   \\--peer close_notify--> PEER_CLOSED --close()--> CLOSED
        \\--close()--> CLOSED
    any state --failure--> FAILED

It differs from TLS's table in one place: a datagram transport has no end of
stream that could mean truncation, so the driver's ``receive_eof`` (it stopped
listening) closes an open connection instead of failing it.
"""

from __future__ import annotations

import enum
from typing import Final

from sockit.proto.tls.errors import TLSUsageError

__all__ = ["DTLSState", "DTLSTrigger", "next_dtls_state"]


class DTLSState(enum.Enum):
    """Where a DTLS connection stands."""

    HANDSHAKING = "handshaking"
    OPEN = "open"
    CLOSING = "closing"          # we sent close_notify, the peer has not yet
    PEER_CLOSED = "peer-closed"  # the peer sent close_notify, we have not yet
    CLOSED = "closed"            # both sides closed, or the driver stopped
    FAILED = "failed"            # a TLSError or a timeout ended it


class DTLSTrigger(enum.Enum):
    """What moves the state."""

    HANDSHAKE_DONE = "handshake-done"
    LOCAL_CLOSE = "local-close"
    PEER_CLOSE = "peer-close"
    EOF = "eof"
    FAIL = "fail"


S, T = DTLSState, DTLSTrigger
_TABLE: Final[dict[tuple[DTLSState, DTLSTrigger], DTLSState]] = {
    (S.HANDSHAKING, T.HANDSHAKE_DONE): S.OPEN,
    (S.HANDSHAKING, T.LOCAL_CLOSE): S.CLOSED,
    (S.OPEN, T.LOCAL_CLOSE): S.CLOSING,
    (S.OPEN, T.PEER_CLOSE): S.PEER_CLOSED,
    (S.OPEN, T.EOF): S.CLOSED,
    (S.CLOSING, T.PEER_CLOSE): S.CLOSED,
    (S.CLOSING, T.EOF): S.CLOSED,
    (S.CLOSING, T.LOCAL_CLOSE): S.CLOSING,
    (S.PEER_CLOSED, T.LOCAL_CLOSE): S.CLOSED,
    (S.PEER_CLOSED, T.EOF): S.CLOSED,
    (S.CLOSED, T.EOF): S.CLOSED,
    (S.CLOSED, T.LOCAL_CLOSE): S.CLOSED,
    **{(state, T.FAIL): S.FAILED for state in S},
}


def next_dtls_state(state: DTLSState, trigger: DTLSTrigger) -> DTLSState:
    """The state after ``trigger`` in ``state`` (TLSUsageError if not allowed)."""
    try:
        return _TABLE[state, trigger]
    except KeyError:
        raise TLSUsageError(f"{trigger.value} is not possible in state {state.value}") from None
