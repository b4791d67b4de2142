"""What both SOCKS machines share: input buffering, the parsing generator, sticky errors.

A machine's parsing is one generator (``_steps``) that appends events to
``_events`` and ``yield``\\ s when it needs more bytes or waits for the
application's decision. An error it raises is kept: the machine is FAILED and
every later call raises the same error again. Events completed in the same
call before the error are returned first and the error comes from the next
call (``receive_data(b"")`` or ``receive_eof`` will do), so no event is lost
and every split of the bytes gives the same events and the same error.
"""

from __future__ import annotations

from collections.abc import Generator

from sockit.errors import LocalProtocolError
from sockit.proto.contract import Buffer
from sockit.proto.events import Event
from sockit.proto.socks.codec import Reader
from sockit.proto.socks.errors import SOCKSError
from sockit.proto.socks.events import SOCKSEvent

__all__ = ["Machine"]


class Machine:
    """The driving half of a SOCKS machine; subclasses supply ``_steps`` and the states."""

    __slots__ = ("_error", "_events", "_out", "_reader", "_steps")

    def __init__(self) -> None:
        self._reader = Reader()
        self._out: list[bytes] = []
        self._events: list[SOCKSEvent] = []
        self._error: SOCKSError | None = None
        self._steps: Generator[None, None, None] | None = None

    # -- the contract's members that do the same in both roles ------------------------

    def data_to_send(self) -> bytes:
        """Take the bytes queued for the wire (``b""`` if none)."""
        out = self._out
        if not out:
            return b""
        data = b"".join(out)
        out.clear()
        return data

    def send(self, event: Event) -> None:
        """Nothing is sent as events: the machine queues its own messages."""
        raise LocalProtocolError(f"cannot send {type(event).__name__} on a SOCKS machine")

    def next_deadline(self) -> float | None:
        """No timers: ``ProxyLimits.handshake_timeout`` is the driver's. Always ``None``."""
        return None

    def handle_timeout(self, now: float) -> list[Event]:
        """Nothing is ever due (see :meth:`next_deadline`)."""
        return []

    @property
    def trailing_data(self) -> bytes:
        """In TUNNEL: the bytes received after the handshake (they belong to the next layer)."""
        if self._tunnel():
            return bytes(self._reader.buf)
        return b""

    # -- driving ----------------------------------------------------------------

    def _tunnel(self) -> bool:
        raise NotImplementedError

    def _failed(self, exc: SOCKSError) -> None:
        raise NotImplementedError

    def _feed(self, data: Buffer) -> list[SOCKSEvent]:
        if self._error is not None:
            raise self._error.with_traceback(None)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise LocalProtocolError("receive_data takes bytes, bytearray or memoryview")
        self._reader.feed(data)
        return self._run()

    def _run(self) -> list[SOCKSEvent]:
        steps = self._steps
        events: list[SOCKSEvent] = []
        self._events = events
        if steps is None:
            return events
        try:
            next(steps)
        except StopIteration:
            self._steps = None
        except SOCKSError as exc:
            self._steps = None
            self._error = exc
            self._failed(exc)
            if events:
                return events
            raise
        return events
