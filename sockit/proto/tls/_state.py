"""The TLS connection's states and the table of their transitions.

::

    HANDSHAKING --done--> OPEN --close()--> CLOSING --peer close_notify--> CLOSED
                            \\--peer close_notify--> PEER_CLOSED --close()--> CLOSED
    any state --failure--> FAILED

Everything the engine does to its state goes through :func:`next_state`, so
an impossible move is a bug caught at once rather than a silent mix-up.
"""

from __future__ import annotations

import enum
from typing import Final

from sockit.proto.tls.errors import TLSUsageError

__all__ = ["TLSState", "Trigger", "next_state"]


class TLSState(enum.Enum):
    """Where a TLS connection stands."""

    HANDSHAKING = "handshaking"
    OPEN = "open"
    CLOSING = "closing"          # we sent close_notify, the peer has not yet
    PEER_CLOSED = "peer-closed"  # the peer sent close_notify, we have not yet
    CLOSED = "closed"            # both sides closed (or the transport ended)
    FAILED = "failed"            # a TLSError or timeout ended it


class Trigger(enum.Enum):
    """What moves the state."""

    HANDSHAKE_DONE = "handshake-done"
    LOCAL_CLOSE = "local-close"
    PEER_CLOSE = "peer-close"
    EOF = "eof"
    FAIL = "fail"


S, T = TLSState, Trigger
_TABLE: Final[dict[tuple[TLSState, Trigger], TLSState]] = {
    (S.HANDSHAKING, T.HANDSHAKE_DONE): S.OPEN,
    (S.HANDSHAKING, T.LOCAL_CLOSE): S.CLOSED,
    (S.OPEN, T.LOCAL_CLOSE): S.CLOSING,
    (S.OPEN, T.PEER_CLOSE): S.PEER_CLOSED,
    (S.CLOSING, T.PEER_CLOSE): S.CLOSED,
    (S.CLOSING, T.EOF): S.CLOSED,
    (S.PEER_CLOSED, T.LOCAL_CLOSE): S.CLOSED,
    (S.PEER_CLOSED, T.EOF): S.PEER_CLOSED,
    (S.CLOSED, T.EOF): S.CLOSED,
    **{(state, T.FAIL): S.FAILED for state in S},
}


def next_state(state: TLSState, trigger: Trigger) -> TLSState:
    """The state after ``trigger`` in ``state`` (TLSUsageError if not allowed)."""
    try:
        return _TABLE[state, trigger]
    except KeyError:
        raise TLSUsageError(
            f"{trigger.value} is not possible in state {state.value}"
        ) from None
