"""The driver: one sans-I/O protocol machine joined to one non-blocking socket.

A :class:`Channel` owns the I/O half of a connection so that the machine
(anything with the shape of :class:`sockit.proto.contract.SansIOConnection`)
never sees a socket and its owner (the server, the client) never sees a
partial ``send``::

    ch = Channel(sock, Connection(Role.SERVER), data=owner, write_timeout=60.0)
    ch.attach(reactor)                    # registered with ch.interest
    for ev in reactor.wait():
        if isinstance(ev, IOEvent) and ev.readable:
            for event in ch.receive():    # one read, fed to the machine
                ...                       # ch.send(response) ...
        ch.flush()                        # everything queued: one send
        ch.update()                       # registration and timer follow the state

Why it is built the way it is:

* **One reusable receive buffer.** Each read lands in the same ``bytearray``
  (``recv_into``). ``feed="bytes"`` (the default) hands the machine a
  ``bytes`` copy of the slice, which the HTTP/1.1 machine keeps without
  copying again; ``feed="view"`` hands it the ``memoryview`` and lets it
  copy. Measured with ``wrk`` against the server, the two are within noise
  (``docs/server.md``); ``bytes`` can never change under a machine.
* **Coalesced output.** The owner sends any number of events, then calls
  :meth:`flush` once per turn: all the machine queued leaves in one ``send``
  (with ``TCP_NODELAY``, set by :func:`~sockit.net.listen_tcp` and inherited
  by accepted sockets, at once — no Nagle stall).
* **Back-pressure.** What the kernel did not take waits in an ordered queue
  that also holds file segments (:meth:`send_file`, ``os.sendfile``). Above
  ``high_water`` queued bytes :attr:`writable` turns false and reading stops;
  at ``low_water`` both resume. The marks bound the queue, not refusals:
  bytes the machine made are in memory already, and producers (streamed
  bodies) check :attr:`writable` before making more.
* **Deadlines as one lazy reactor timer.** Named deadlines and the machine's
  ``next_deadline()`` share one timer, moved only when a deadline becomes
  *earlier* than the armed one; one that fires early finds nothing due and
  is re-armed. Keep-alive deadlines only move later: no heap work per request.
* **Clean close.** :meth:`close_after_flush` takes no more output, shuts the
  write side down (``FIN``) once the queue is sent, then discards input until
  the peer's EOF or ``linger_timeout``: closing with unread input sends a
  ``RST`` that can destroy the last answer in flight (a 413 to a client
  still uploading).

The channel's own deadline names: ``"write"`` (queued output made no
progress for ``write_timeout`` s) and ``"linger"`` (the drain took too
long); :meth:`expire` reports them with the owner's, and the owner decides.

A channel belongs to one thread, like its socket and reactor.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import os
import socket
import struct
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import IO, Final, Generic, Literal, TypeVar

from sockit.errors import ConnectionClosed, LocalProtocolError, NetworkError, Phase, TLSError
from sockit.net._channel_tls import TLSLayer
from sockit.net._oserror import map_oserror
from sockit.net.reactor import READ, WRITE, Reactor
from sockit.net.tcp import Socket
from sockit.net.timers import Timer
from sockit.proto.contract import SansIOConnection
from sockit.proto.events import Event
from sockit.proto.tls import TLSConnection

__all__ = ["Channel", "ChannelState"]

ConnT = TypeVar("ConnT", bound=SansIOConnection)
OtherT = TypeVar("OtherT", bound=SansIOConnection)

KiB: Final = 1024
_NO_EVENTS: Final[list[Event]] = []
_INF: Final = float("inf")
#: Most bytes one ``sendfile`` call is asked for (Linux caps a call near 2 GiB).
_SENDFILE_MAX: Final = 1 << 30
#: Bytes of a file read and encrypted at a time on a TLS channel.
_TLS_FILE_CHUNK: Final = 256 * KiB
#: Queued byte items smaller than this are joined into one send when several wait.
_JOIN_LIMIT: Final = 256 * KiB
_LINGER_RESET: Final = struct.pack("ii", 1, 0)
# plain ints: flag arithmetic on the IntFlag members builds new members, on every turn
_READ: Final = int(READ)
_WRITE: Final = int(WRITE)
_FALLBACK_ERRNOS: Final = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ESPIPE})


class ChannelState(enum.Enum):
    """Where a channel is in its life."""

    #: Reading and writing.
    OPEN = "open"
    #: No more output will be queued: flush it, then shut the write side down.
    CLOSING = "closing"
    #: The write side is shut down; input is discarded until EOF or the linger deadline.
    DRAINING = "draining"
    #: The socket is closed.
    CLOSED = "closed"


_OPEN = ChannelState.OPEN
_CLOSING = ChannelState.CLOSING
_DRAINING = ChannelState.DRAINING
_CLOSED = ChannelState.CLOSED


class _FileSegment:
    """``remaining`` bytes of ``fd`` from ``offset``, queued for ``os.sendfile``."""

    __slots__ = ("close", "fd", "file", "offset", "remaining")

    def __init__(self, file: IO[bytes] | int, offset: int, count: int, close: bool) -> None:
        self.file = file
        self.fd = file if isinstance(file, int) else file.fileno()
        self.offset = offset
        self.remaining = count
        self.close = close

    def release(self) -> None:
        """Close the file if the channel was asked to."""
        if self.close:
            self.close = False
            if isinstance(self.file, int):
                os.close(self.file)
            else:
                self.file.close()


_Item = bytes | memoryview | _FileSegment


class Channel(Generic[ConnT]):
    """One protocol machine (``conn``) driven over one non-blocking socket (``sock``).

    ``data`` is what reactor events for this channel carry (default: the
    channel itself). ``buffer`` is the receive buffer, or the size of a
    private one; channels run by one thread may share one, since each read
    is handed to the machine (which keeps a copy) before the next. The marks
    steer back-pressure (``low_water``: a quarter of ``high_water``).
    ``write_timeout`` (s, ``None``: none) bounds how long queued output may
    make no progress; ``linger_timeout`` and ``max_drain`` bound the drain
    after a half-close. ``clock`` is used until :meth:`attach`.
    """

    def __init__(
        self,
        sock: Socket,
        conn: ConnT,
        *,
        data: object = None,
        buffer: bytearray | int = 64 * KiB,
        high_water: int = 256 * KiB,
        low_water: int | None = None,
        write_timeout: float | None = None,
        linger_timeout: float = 2.0,
        max_drain: int = 1024 * KiB,
        feed: Literal["bytes", "view"] = "bytes",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(buffer, bytearray):
            buffer = bytearray(buffer)
        low = high_water // 4 if low_water is None else low_water
        if not 0 <= low <= high_water:
            raise ValueError("need 0 <= low_water <= high_water")
        if feed not in ("bytes", "view"):
            raise ValueError("feed must be 'bytes' or 'view'")
        self.sock = sock
        self.conn = conn
        self.data = self if data is None else data
        #: Whether the owner wants input now (back-pressure and EOF still apply).
        self.reading = True
        self.write_timeout = write_timeout
        self.linger_timeout = linger_timeout
        self.max_drain = max_drain
        if not buffer:
            raise ValueError("the receive buffer must not be empty")
        self._buf = buffer
        self._view = memoryview(buffer)
        self._feed_view = feed == "view"
        self._high = high_water
        self._low = low
        self._paused = False
        self._queue: deque[_Item] = deque()
        self._pending = 0
        self._state = _OPEN
        self._eof = False
        self._drained = 0
        self._deadlines: dict[str, float] = {}
        self._retry = False  # a bandwidth limit asked us to wait: no WRITE interest
        self._clock = clock
        self._reactor: Reactor | None = None
        self._registered = 0
        self._timer: Timer | None = None
        self._timer_at = _INF
        self._rearm = False  # a deadline became earlier than the armed timer
        #: The TLS layer between the socket and the machine (:meth:`start_tls`), if any.
        self.tls: TLSLayer | None = None

    def __repr__(self) -> str:
        return f"<Channel {self._state.value} fd={self.sock.fileno()} pending={self._pending}>"

    # -- state --------------------------------------------------------------------

    @property
    def state(self) -> ChannelState:
        """Where the channel is in its life."""
        return self._state

    @property
    def eof_received(self) -> bool:
        """Whether the peer closed its sending side."""
        return self._eof

    @property
    def pending(self) -> int:
        """Bytes queued and not yet taken by the kernel (file segments included)."""
        return self._pending

    @property
    def writable(self) -> bool:
        """Whether producers may queue more (below the high-water mark, with hysteresis)."""
        return not self._paused

    @property
    def finished(self) -> bool:
        """Closed, or half-closed with nothing more to wait for: the owner may close."""
        state = self._state
        return state is _CLOSED or (state is _DRAINING and self._eof)

    @property
    def interest(self) -> int:
        """What the reactor should wait for: ``READ``, ``WRITE``, both, or 0."""
        state = self._state
        if state is _CLOSED:
            return 0
        mask = _WRITE if self._queue and not self._retry else 0
        if state is _OPEN:
            if self.reading and not self._eof and not self._paused:
                mask |= _READ
        elif not self._eof and self._drained <= self.max_drain:
            mask |= _READ  # closing or draining: discard input until EOF
        return mask

    # -- the reactor --------------------------------------------------------------

    def attach(self, reactor: Reactor) -> None:
        """Register with ``reactor`` (and use its clock); :meth:`update` keeps it in step."""
        if self._reactor is not None:
            raise LocalProtocolError("the channel is already attached to a reactor")
        self._reactor = reactor
        self._clock = reactor.clock
        self.update()

    def update(self) -> None:
        """Bring the reactor registration and the timer in line with the state.

        Call after each turn that touched the channel. A mask of 0 is an
        unregistration (a level-triggered reactor would otherwise keep
        reporting input nobody reads).
        """
        reactor = self._reactor
        if reactor is None or self._state is _CLOSED:
            return
        mask = self.interest
        if mask != self._registered:
            if self._registered == 0:
                reactor.register(self.sock, mask, self.data)
            elif mask == 0:
                reactor.unregister(self.sock)
            else:
                reactor.modify(self.sock, mask)
            self._registered = mask
        if not self._rearm:
            theirs = self.conn.next_deadline()
            if theirs is None or theirs >= self._timer_at:
                return  # the armed timer fires first (or nothing is due): nothing to move
        self._rearm = False
        deadline = self.next_deadline()
        if deadline is not None and deadline < self._timer_at:
            delay = max(0.0, deadline - self._clock())
            timer = self._timer
            if timer is None:
                self._timer = reactor.add_timer(delay, data=self.data)
            else:
                timer.reschedule(delay)
            self._timer_at = deadline

    # -- deadlines ----------------------------------------------------------------

    def set_deadline(self, name: str, when: float | None) -> None:
        """Set (or with ``None`` clear) the deadline ``name``, on the channel's clock."""
        if when is None:
            self._deadlines.pop(name, None)
        else:
            self._deadlines[name] = when
            if when < self._timer_at:
                self._rearm = True

    def deadline(self, name: str) -> float | None:
        """The deadline called ``name``, or ``None``."""
        return self._deadlines.get(name)

    def next_deadline(self) -> float | None:
        """The earliest of the named deadlines and the machine's own."""
        deadlines = self._deadlines
        best = min(deadlines.values()) if deadlines else None
        theirs = self.conn.next_deadline()
        if theirs is not None and (best is None or theirs < best):
            return theirs
        return best

    def expire(self, now: float | None = None) -> tuple[list[Event], list[str]]:
        """The channel's timer fired: the machine's timeout events, and the due names.

        Due names are removed; call :meth:`update` afterwards to arm the timer
        for what is left.
        """
        self._timer_at = _INF
        self._rearm = True
        if now is None:
            now = self._clock()
        events: list[Event] = []
        theirs = self.conn.next_deadline()
        if theirs is not None and theirs <= now:
            events = list(self.conn.handle_timeout(now))
        deadlines = self._deadlines
        due = [name for name, when in deadlines.items() if when <= now]
        for name in due:
            del deadlines[name]
        if "_retry" in due:
            due.remove("_retry")
            self._retry = False
        return events, due

    # -- TLS ----------------------------------------------------------------------

    def start_tls(self, conn: TLSConnection) -> None:
        """Run ``conn`` between the socket and the machine from now on.

        Reads are decrypted before the machine sees them, and everything queued
        afterwards (machine output, raw writes, file segments) is encrypted.
        A client ``conn``'s hello is queued at once; call :meth:`flush`.
        """
        if self.tls is not None:
            raise LocalProtocolError("TLS is already running on this channel")
        self.collect()  # plaintext queued before the switch goes out as it was
        self.tls = TLSLayer(conn)
        out = conn.data_to_send()
        if out:
            self._push(out, len(out))

    def _decrypt(self, tls: TLSLayer, n: int) -> bytes:
        """Decrypt the ``n`` bytes just read; queue what the engine answered."""
        plain = tls.decrypt(bytes(self._view[:n]))
        out = tls.output()
        if out:
            self._push(out, len(out))
        return plain

    def _receive_tls(self, tls: TLSLayer, n: int) -> Sequence[Event]:
        plain = self._decrypt(tls, n)
        events: Sequence[Event] = self.conn.receive_data(plain) if plain else _NO_EVENTS
        if tls.peer_closed and not self._eof:
            self._eof = True  # close_notify: the end of input for the machine
            events = [*events, *self.conn.receive_eof()]
        return events

    # -- receiving ----------------------------------------------------------------

    def receive(self) -> Sequence[Event]:
        """Read once (never blocks) and feed the machine; the events that follow.

        EOF is fed as ``receive_eof()``. While closing or draining, input is
        read and discarded instead. Errors of the machine
        (:class:`~sockit.errors.RemoteProtocolError`) and of the socket
        (:class:`~sockit.errors.NetworkError`) propagate.
        """
        state = self._state
        if state is _CLOSED:
            return _NO_EVENTS
        n = self.sock.try_recv_into(self._buf)
        if n is None:
            return _NO_EVENTS
        if state is not _OPEN:
            if n == 0:
                self._eof = True
            else:
                self._drained += n
            return _NO_EVENTS
        if n == 0:
            self._eof = True
            if self.tls is not None:
                self.tls.eof()
            return self.conn.receive_eof()
        if self.tls is not None:
            return self._receive_tls(self.tls, n)
        if self._feed_view:
            return self.conn.receive_data(self._view[:n])
        return self.conn.receive_data(bytes(self._view[:n]))

    def receive_raw(self) -> bytes | None:
        """Read once (never blocks) and return the bytes *without* feeding the machine.

        ``b""`` means EOF (also recorded), ``None`` that nothing was there.
        For owners that look at the first bytes before choosing a protocol
        (an HTTP/2 preface), then feed the chosen machine themselves.
        """
        if self._state is not _OPEN:
            return None
        n = self.sock.try_recv_into(self._buf)
        if n is None:
            return None
        if n == 0:
            self._eof = True
            if self.tls is not None:
                self.tls.eof()
            return b""
        tls = self.tls
        if tls is not None:
            plain = self._decrypt(tls, n)
            if tls.peer_closed and not plain:
                self._eof = True
                return b""
            return plain or None
        return bytes(self._view[:n])

    def switch(self, conn: OtherT) -> Channel[OtherT]:
        """Drive ``conn`` from now on (a protocol switch); returns this channel, retyped.

        The socket, the queued output, the deadlines and the registration
        carry over. Bytes the old machine held for the new protocol are the
        caller's to hand over (its ``trailing_data``).
        """
        if self._state is not _OPEN:
            raise LocalProtocolError(f"cannot switch protocols on a {self._state.value} channel")
        self.collect()  # the old machine's last words go first
        switched: Channel[OtherT] = self  # type: ignore[assignment]
        switched.conn = conn
        switched._rearm = True
        return switched

    def receive_buffered(self) -> Sequence[Event]:
        """Events the machine can make from input it already holds (``receive_data(b"")``)."""
        if self._state is not _OPEN:
            return _NO_EVENTS
        return self.conn.receive_data(b"")

    # -- sending ------------------------------------------------------------------

    def send(self, event: Event) -> None:
        """Hand ``event`` to the machine; its bytes go out with the next :meth:`flush`."""
        if self._state is not _OPEN:
            raise LocalProtocolError(f"cannot send on a {self._state.value} channel")
        self.conn.send(event)

    def collect(self) -> int:
        """Move the machine's output onto the queue (keeps order with raw writes and files)."""
        out = self.conn.data_to_send()
        if self.tls is not None:
            out = self.tls.encrypt(out)
        if out:
            self._push(out, len(out))
        return len(out)

    def write(self, data: bytes) -> None:
        """Queue raw bytes after everything the machine produced so far."""
        if self._state is not _OPEN:
            raise LocalProtocolError(f"cannot write on a {self._state.value} channel")
        self.collect()
        if data and self.tls is not None:
            data = self.tls.encrypt(data)
        if data:
            self._push(data, len(data))

    def send_file(
        self, file: IO[bytes] | int, offset: int, count: int, *, close: bool = False
    ) -> None:
        """Queue ``count`` bytes of ``file`` from ``offset``, sent with ``os.sendfile``.

        The bytes follow everything queued before; the file position is not
        used or changed. With ``close=True`` the channel closes the file once
        sent (or when the channel is closed first).
        """
        if self._state is not _OPEN:
            raise LocalProtocolError(f"cannot send a file on a {self._state.value} channel")
        if offset < 0 or count < 0:
            raise ValueError("offset and count must be >= 0")
        self.collect()
        segment = _FileSegment(file, offset, count, close)
        if count:
            self._push(segment, count)
        else:
            segment.release()

    def _push(self, item: _Item, size: int) -> None:
        self._queue.append(item)
        self._pending += size
        if self._pending > self._high:
            self._paused = True

    def flush(self) -> bool:
        """Collect the machine's output and send what the kernel takes now.

        Returns ``True`` when nothing is left queued. A closing channel whose
        queue empties shuts its write side down here.
        """
        state = self._state
        if state is _CLOSED:
            return True
        if state is _OPEN:
            out = self.conn.data_to_send()
            if self.tls is not None:
                out = self.tls.encrypt(out)
            if out:
                if not self._queue and not self._retry:
                    # the usual case: one send takes it all, nothing is queued
                    result = self.sock.try_send(out)
                    sent = result.sent
                    if sent == len(out):
                        return True
                    self._push(memoryview(out)[sent:] if sent else out, len(out) - sent)
                    if result.retry_after:
                        self._wait_retry(result.retry_after)
                    else:
                        self._progress(sent > 0)
                    return False
                self._push(out, len(out))
        if self._queue and not self._retry:
            before = self._pending
            self._send_queue()
            self._progress(self._pending < before)
        if self._queue:
            return False
        if state is _CLOSING:
            self._shutdown_write()
        return True

    def _progress(self, moved: bool) -> None:
        """Keep the write deadline and the back-pressure marks in step with the queue."""
        if not self._queue:
            self._deadlines.pop("write", None)
        elif self.write_timeout is not None and (moved or "write" not in self._deadlines):
            self.set_deadline("write", self._clock() + self.write_timeout)
        if self._paused and self._pending <= self._low:
            self._paused = False

    def _wait_retry(self, delay: float) -> None:
        self._retry = True
        self.set_deadline("_retry", self._clock() + delay)

    def _send_queue(self) -> None:
        queue = self._queue
        sock = self.sock
        while queue:
            item = queue[0]
            if type(item) is _FileSegment:
                if self.tls is not None:
                    self._encrypt_segment(self.tls, item)
                    continue
                if not self._send_segment(item):
                    return
                queue.popleft()
                item.release()
                continue
            assert not isinstance(item, _FileSegment)
            if len(queue) > 1 and len(item) < _JOIN_LIMIT:
                item = self._join_front()
            result = sock.try_send(item)
            sent = result.sent
            self._pending -= sent
            if sent < len(item):
                queue[0] = memoryview(item)[sent:]
                if result.retry_after:
                    self._wait_retry(result.retry_after)
                return
            queue.popleft()

    def _join_front(self) -> bytes:
        """Join the leading byte items (up to about ``_JOIN_LIMIT``) into one."""
        queue = self._queue
        parts: list[bytes | memoryview] = []
        size = 0
        while queue and size < _JOIN_LIMIT and not isinstance(item := queue[0], _FileSegment):
            queue.popleft()
            parts.append(item)
            size += len(item)
        joined = b"".join(parts)
        queue.appendleft(joined)
        return joined

    def _send_segment(self, seg: _FileSegment) -> bool:
        """Send from a file segment; ``True`` once it is complete."""
        sock = self.sock
        if sock.send_limiter is not None:
            return self._copy_segment(seg)
        out_fd = sock.fileno()
        while seg.remaining:
            try:
                n = os.sendfile(out_fd, seg.fd, seg.offset, min(seg.remaining, _SENDFILE_MAX))
            except BlockingIOError:
                return False
            except OSError as exc:
                if exc.errno in _FALLBACK_ERRNOS:  # not a regular file, or no sendfile
                    return self._copy_segment(seg)
                raise map_oserror(exc, phase=Phase.WRITE, context="sendfile") from exc
            if n == 0:
                raise ConnectionClosed(errno.EIO, "the file ended before its promised length")
            seg.offset += n
            seg.remaining -= n
            self._pending -= n
            sock.stats.record_sent(n)
        return True

    def _encrypt_segment(self, tls: TLSLayer, seg: _FileSegment) -> None:
        """Turn the next piece of a file segment into queued TLS records (no sendfile)."""
        chunk = os.pread(seg.fd, min(seg.remaining, _TLS_FILE_CHUNK), seg.offset)
        if not chunk:
            raise ConnectionClosed(errno.EIO, "the file ended before its promised length")
        seg.offset += len(chunk)
        seg.remaining -= len(chunk)
        records = tls.encrypt(chunk)
        queue = self._queue
        if not seg.remaining:
            queue.popleft()
            seg.release()
        queue.appendleft(records)
        self._pending += len(records) - len(chunk)

    def _copy_segment(self, seg: _FileSegment) -> bool:
        """The read/send fallback (non-regular files, bandwidth-limited sockets)."""
        while seg.remaining:
            chunk = os.pread(seg.fd, min(seg.remaining, 64 * KiB), seg.offset)
            if not chunk:
                raise ConnectionClosed(errno.EIO, "the file ended before its promised length")
            result = self.sock.try_send(chunk)
            sent = result.sent
            seg.offset += sent
            seg.remaining -= sent
            self._pending -= sent
            if sent < len(chunk):
                if result.retry_after:
                    self._wait_retry(result.retry_after)
                return False
        return True

    # -- closing ------------------------------------------------------------------

    def close_after_flush(self) -> None:
        """Take no more output; shut the write side down once the queue is sent.

        Then input is discarded until the peer's EOF (:attr:`finished`) or the
        ``"linger"`` deadline.
        """
        if self._state is not _OPEN:
            return
        self.collect()
        if self.tls is not None:
            try:
                out = self.tls.close()
            except TLSError:
                out = b""  # a failed engine has nothing more to say
            if out:
                self._push(out, len(out))
        self._state = _CLOSING
        if not self._queue:
            self._shutdown_write()

    def _shutdown_write(self) -> None:
        self._state = _DRAINING
        self._deadlines.pop("write", None)
        self.set_deadline("linger", self._clock() + self.linger_timeout)
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except NetworkError:
            self._eof = True  # the peer is gone already: nothing to drain

    def close(self, *, reset: bool = False) -> None:
        """Close now: unregister, cancel the timer, release queued files, close the socket.

        ``reset=True`` makes the close send a ``RST`` (``SO_LINGER`` 0), which
        also drops unsent data at once — for peers that stopped reading.
        Calling it again does nothing.
        """
        if self._state is _CLOSED:
            return
        self._state = _CLOSED
        reactor = self._reactor
        if reactor is not None and self._registered:
            self._registered = 0
            with contextlib.suppress(LocalProtocolError, NetworkError):
                reactor.unregister(self.sock)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = _INF
        self._deadlines.clear()
        queue = self._queue
        while queue:
            item = queue.popleft()
            if type(item) is _FileSegment:
                item.release()
        self._pending = 0
        if reset:
            with contextlib.suppress(OSError):
                self.sock.raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        self.sock.close()
