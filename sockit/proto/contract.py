"""The shape every sans-I/O protocol machine in :mod:`sockit.proto` has.

This is a structural type: protocol classes do not inherit from it, they
simply provide these members, and drivers in :mod:`sockit.net` are typed
against it. See ``docs/architecture.md`` for the rules behind each member.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Protocol

from sockit.proto.events import Event

__all__ = ["Buffer", "SansIOConnection"]

#: What ``receive_data`` accepts.
Buffer = bytes | bytearray | memoryview


class SansIOConnection(Protocol):
    """A protocol state machine fed bytes and asked for bytes.

    Time is an argument, never read; no member blocks or touches a socket.
    """

    @property
    def state(self) -> enum.Enum:
        """The machine's state; transitions live in an explicit table."""
        ...

    @property
    def trailing_data(self) -> bytes:
        """Bytes received after a protocol switch that belong to the next layer."""
        ...

    def receive_data(self, data: Buffer) -> Sequence[Event]:
        """Feed bytes from the peer; ``b""`` asks for events already buffered."""
        ...

    def receive_eof(self) -> Sequence[Event]:
        """The peer closed its sending side."""
        ...

    def send(self, event: Event) -> None:
        """Queue an outgoing event; raises LocalProtocolError if illegal now."""
        ...

    def data_to_send(self) -> bytes:
        """Take the bytes queued for the wire (``b""`` if none)."""
        ...

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` must next be called, or ``None``."""
        ...

    def handle_timeout(self, now: float) -> Sequence[Event]:
        """Let timers due at ``now`` fire (pings, retransmits, timeouts)."""
        ...
