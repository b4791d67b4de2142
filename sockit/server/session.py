"""What the HTTP/2 and WebSocket sessions share: a channel taken over from HTTP/1.1.

After a protocol switch the :class:`~sockit.server.connection.HTTPConnection`
stays the object the reactor reports, and hands every event to its session.
:class:`SwitchedSession` is the loop half both kinds of session have: read
into the new machine (or drain while closing), act on the channel's
deadlines, flush at the end of the turn, close once the machine is done.
Subclasses say what the machine's events mean (``_handle``), what to do
before flushing (``_before_flush``), and which deadlines of their own they
keep (``_on_due``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sockit.errors import NetworkError, ProtocolError, TLSError
from sockit.observe import get_logger
from sockit.proto.events import Event

if TYPE_CHECKING:
    from sockit.net.channel import Channel
    from sockit.server.connection import HTTPConnection
    from sockit.server.core import HTTPServer

__all__ = ["SwitchedSession"]

log = get_logger("server")


class SwitchedSession:
    """The loop side of a connection that left HTTP/1.1 (internal to the server)."""

    __slots__ = ("channel", "closed", "machine", "owner", "server")

    #: What the logs call the protocol.
    protocol = "switched"

    def __init__(self, owner: HTTPConnection, machine: Any) -> None:
        self.owner = owner
        self.server: HTTPServer = owner.server
        self.machine = machine
        self.channel: Channel[Any] = owner.channel.switch(machine)
        self.channel.reading = True
        self.channel.set_deadline("read", None)
        self.closed = False

    # -- what subclasses fill in ------------------------------------------------------

    def _handle(self, events: Sequence[Event]) -> None:
        raise NotImplementedError

    def _on_eof(self) -> None:
        """The peer closed its side (after the machine saw it)."""

    def _on_due(self, name: str) -> None:
        """A deadline of the subclass's own is due."""

    def _before_flush(self) -> None:
        """Produce output for this turn (streamed bodies)."""

    def _after_update(self) -> None:
        """The channel was flushed and is still open."""

    def release(self) -> None:
        """Let go of everything (the connection is closing); idempotent."""
        self.closed = True

    # -- the loop ---------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Bytes that arrived before the switch, for the new machine."""
        if data:
            self._handle(self.machine.receive_data(data, now=self.server.now))

    def on_io(self, readable: bool, writable: bool) -> None:
        """The socket is ready."""
        if self.closed:
            return
        try:
            if readable:
                channel = self.channel
                if channel.state.value != "open":
                    channel.receive()  # draining towards the peer's EOF
                else:
                    data = channel.receive_raw()
                    if data == b"":
                        self._handle(self.machine.receive_eof())
                        self._on_eof()
                    elif data is not None:
                        self._handle(self.machine.receive_data(data, now=self.server.now))
            self.advance()
        except Exception as exc:
            self._fail(exc)

    def on_timer(self) -> None:
        """The channel's timer fired: the machine's deadlines and the channel's."""
        if self.closed:
            return
        try:
            events, due = self.channel.expire(self.server.now)
            if events:
                self._handle(events)
            for name in due:
                if name == "write":
                    self.server.metrics.timeout("write")
                    self.close(reset=True)
                    return
                if name == "linger":
                    self.close()
                    return
                self._on_due(name)
            self.advance()
        except Exception as exc:
            self._fail(exc)

    def advance(self) -> None:
        """End of a turn: produce, flush, and close once the machine is done."""
        if self.closed:
            return
        try:
            self._before_flush()
            channel = self.channel
            channel.flush()
            if channel.state.value == "open" and self.machine.state.name == "CLOSED":
                channel.close_after_flush()
            if channel.finished:
                self.close()
                return
            channel.update()
            self._after_update()
        except Exception as exc:
            self._fail(exc)

    # -- closing ----------------------------------------------------------------------

    def _fail(self, exc: Exception) -> None:
        if isinstance(exc, TLSError):
            self.server.metrics.tls_failure(str(getattr(exc, "reason", "tls-error")))
        elif not isinstance(exc, (NetworkError, ProtocolError)):
            self.server.metrics.handler_errors.inc()
            log.error("%s connection to %r aborted: %s", self.protocol, self.owner.client, exc,
                      exc_info=exc)
        self.close(reset=True)

    def close(self, *, reset: bool = False) -> None:
        """Close the connection now."""
        if self.closed:
            return
        self.release()
        self.owner.close(reset=reset)
