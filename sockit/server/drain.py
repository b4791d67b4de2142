"""What a graceful drain does to each connection, and how far it got (:class:`DrainStatus`).

:meth:`~sockit.server.HTTPServer.drain` stops accepting and then winds
every connection down the way its protocol allows without losing work:

============= ======================================================================
connection    on drain
============= ======================================================================
HTTP/1.1 idle closed at once (keep-alive: the client retries on a new connection)
HTTP/1.1 busy the request being read or answered finishes; its answer says
              ``Connection: close``
HTTP/2        GOAWAY naming the last stream opened: those streams finish, later
              ones are refused (the client knows it may retry them)
WebSocket     close 1001 (going away), then the close handshake
============= ======================================================================

A connection is *busy* while it has work in flight; the drain ends when none
is, or at its deadline, when what is left is closed by force.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sockit.server.connection import CLOSING, IDLE, READING, RESPONDING, WAITING

if TYPE_CHECKING:
    from sockit.server.connection import HTTPConnection

__all__ = ["DrainStatus", "in_flight", "is_busy", "wind_down"]


@dataclass(frozen=True, slots=True)
class DrainStatus:
    """Where a drain stands (see :meth:`HTTPServer.drain_status`): for logs and health pages."""

    #: Whether a drain began, and whether it ended (nothing busy, or cut at the deadline).
    draining: bool
    done: bool
    #: Seconds since it began, and seconds left before what is busy is cut.
    elapsed: float
    remaining: float
    #: Connections still open, and those with work in flight (a request, a stream, a close).
    connections: int
    busy: int
    #: Requests handed out or being read and not yet answered (HTTP/1.1, HTTP/2 streams).
    in_flight: int
    #: Open connections by protocol.
    http1: int
    http2: int
    websocket: int
    #: Connections closed by force at a deadline.
    forced: int


def is_busy(conn: HTTPConnection) -> bool:
    """Whether ``conn`` still has work a drain should wait for."""
    if conn.h2 is not None:
        return conn.h2.busy
    if conn.ws is not None:
        return conn.ws.busy
    return conn.phase is not CLOSING or conn.channel.pending > 0


def in_flight(conn: HTTPConnection) -> int:
    """Requests on ``conn`` being read or answered."""
    if conn.h2 is not None:
        return len(conn.h2.exchanges)
    if conn.ws is not None:
        return 0
    phase = conn.phase
    if phase is WAITING or phase is RESPONDING or (phase is READING and conn.bytes_seen):
        return 1
    return 0


def wind_down(conn: HTTPConnection) -> None:
    """Start ``conn``'s graceful end (see the module docstring)."""
    if conn.closed:
        return
    if conn.h2 is not None:
        conn.h2.shutdown()  # GOAWAY: open streams finish, new ones are refused
    elif conn.ws is not None:
        conn.ws.shutdown()  # close 1001: the close handshake, then the socket
    elif conn.phase is IDLE or (conn.phase is READING and not conn.bytes_seen):
        conn.close()
    else:
        conn.close_after = True  # the answer in flight is this connection's last
