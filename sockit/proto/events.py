"""Event base classes shared by every sans-I/O protocol.

Each protocol defines its own events in its own ``events.py``; the ones that
mean the same thing everywhere (application data arrived, the peer ended its
stream, the connection is over) inherit from the bases here, so one driver
loop can serve any protocol::

    for event in conn.receive_data(chunk):
        if isinstance(event, DataReceived):
            sink.write(event.data)
        elif isinstance(event, ConnectionTerminated):
            break

Events are frozen dataclasses with ``__slots__``: cheap to create, and
their fields cannot be reassigned once a protocol has handed them out (a
field that holds a container, such as ``Headers``, is the receiver's to
copy before changing).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["ConnectionTerminated", "DataReceived", "EndOfStream", "Event", "Role"]


class Role(enum.Enum):
    """Which end of a connection a protocol machine plays."""

    CLIENT = "client"
    SERVER = "server"

    @property
    def peer(self) -> Role:
        """The opposite role."""
        return Role.SERVER if self is Role.CLIENT else Role.CLIENT


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every protocol event."""


@dataclass(frozen=True, slots=True)
class DataReceived(Event):
    """Application payload bytes arrived (a body chunk, a stream's DATA)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class EndOfStream(Event):
    """The peer finished the current message or stream cleanly."""


@dataclass(frozen=True, slots=True)
class ConnectionTerminated(Event):
    """The connection is over; nothing more will be received on it.

    ``error_code`` is the protocol's own code (HTTP/2 GOAWAY code, WebSocket
    close code) when the peer gave one; ``reason`` is its text, if any.
    """

    error_code: int | None = None
    reason: str = ""
