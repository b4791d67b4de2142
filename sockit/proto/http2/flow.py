"""Flow-control arithmetic and send fairness for HTTP/2 (RFC 9113 §5.2, §6.9).

Two windows exist per direction: the connection's and each stream's.

*Receiving* (:class:`ReceiveWindow`): the peer may send ``window`` more
bytes. Data received is *consumed* at once and *held* until the application
acknowledges it (automatic mode acknowledges immediately). Credit goes back
in one WINDOW_UPDATE once at least half the target size is owed, so a busy
stream costs one WINDOW_UPDATE per half window rather than one per frame.

*Sending*: windows are plain integers on the connection and its streams (a
SETTINGS_INITIAL_WINDOW_SIZE decrease can make them negative). Data beyond
them waits in the stream's buffer; :class:`RoundRobin` hands the connection
window to waiting streams one frame at a time, in turn. The buffers are
bounded: :class:`SendBufferFull` when a send would pass them, and
``Connection.outbound_buffered()`` tells a driver when to stop reading from
its application.
"""

from __future__ import annotations

from collections import deque

from sockit.errors import LocalProtocolError

__all__ = ["MAX_WINDOW", "ReceiveWindow", "RoundRobin", "SendBufferFull"]

#: The largest flow-control window (RFC 9113 §6.9.1).
MAX_WINDOW = (1 << 31) - 1


class SendBufferFull(LocalProtocolError):
    """Sending this would buffer more than the configured bound.

    ``limit`` names the bound (``"max_stream_send_buffer"`` or
    ``"max_connection_send_buffer"``), ``value`` is its size, ``stream_id``
    the stream. Nothing was queued: wait until the peer's WINDOW_UPDATEs
    drain the buffer (``outbound_buffered()`` shrinks) and send again.
    """

    def __init__(self, message: str, *, stream_id: int, limit: str, value: int) -> None:
        super().__init__(message)
        self.stream_id = stream_id
        self.limit = limit
        self.value = value


class ReceiveWindow:
    """One receive window: what the peer may still send, and credit owed back.

    ``target`` is the size we advertised (the stream's initial window or
    the connection window we asked for); ``window`` what the peer may send
    now; ``held`` the bytes received that the application has not
    acknowledged yet. The credit owed is ``target - window - held``.
    """

    __slots__ = ("held", "target", "threshold", "window")

    def __init__(self, window: int, target: int) -> None:
        self.window = window
        self.target = target
        self.held = 0
        self.threshold = max(1, target >> 1)

    def consume(self, n: int, hold: int) -> bool:
        """Account ``n`` received bytes; ``False`` if they exceed the window.

        ``hold`` of them stay held until :meth:`release` (manual mode: the
        data the application will acknowledge; padding is never held).
        """
        if n > self.window:
            return False
        self.window -= n
        self.held += hold
        return True

    def release(self, n: int) -> int:
        """The application acknowledged ``n`` bytes; returns how many were held."""
        n = min(n, self.held)
        self.held -= n
        return n

    def due(self) -> int:
        """The WINDOW_UPDATE increment to send now (0: none yet); applied at once."""
        owed = self.target - self.window - self.held
        if owed < self.threshold:
            return 0
        if self.window + owed > MAX_WINDOW:
            owed = MAX_WINDOW - self.window
            if owed <= 0:
                return 0
        self.window += owed
        return owed

    def retarget(self, target: int) -> None:
        """A new advertised size took effect: the window moves by the difference."""
        self.window += target - self.target
        self.target = target
        self.threshold = max(1, target >> 1)


class RoundRobin:
    """Stream ids waiting to send, served in turn (each id at most once)."""

    __slots__ = ("_members", "_queue")

    def __init__(self) -> None:
        self._queue: deque[int] = deque()
        self._members: set[int] = set()

    def add(self, stream_id: int) -> None:
        """Put ``stream_id`` at the back unless it is already waiting."""
        if stream_id not in self._members:
            self._members.add(stream_id)
            self._queue.append(stream_id)

    def discard(self, stream_id: int) -> None:
        """Take ``stream_id`` out (lazily: its queue entry is skipped later)."""
        self._members.discard(stream_id)

    def pop(self) -> int | None:
        """The next waiting stream id, removed from the ring; ``None`` if none."""
        queue = self._queue
        members = self._members
        while queue:
            stream_id = queue.popleft()
            if stream_id in members:
                members.discard(stream_id)
                return stream_id
        return None

    def __contains__(self, stream_id: object) -> bool:
        return stream_id in self._members

    def __len__(self) -> int:
        return len(self._members)

    def __bool__(self) -> bool:
        return bool(self._members)
