"""Byte buffers for the hot path: one for bytes coming in, one for bytes going out.

Every parser (HTTP/1.1, HTTP/2, WebSocket, SOCKS) accumulates input until a
whole line or frame is there, and every driver queues output until the socket
takes it. ``bytes`` concatenation or ``del data[:n]`` per step is quadratic or
allocation-heavy, and each parser keeping its own bookkeeping would mean each
one with its own limit bugs; these two classes do it once.

:class:`ReceiveBuffer` is a ``bytearray`` plus a read offset: consuming moves
the offset and the dead prefix is dropped lazily, so consuming is O(1)
amortized. Searches run in C (``bytearray.find`` with offsets), and
:meth:`~ReceiveBuffer.read_until` never rescans bytes it already searched.
Its limit decisions depend only on the bytes, never on how they were split.
:class:`WriteQueue` is a bounded outgoing queue with asyncio-style water marks,
coalescing for one ``send()`` and gather views for ``sendmsg()``.

Both refuse input past their bound with :class:`~sockit.errors.LimitExceeded`
and are unchanged when they do. Misuse such as a negative size is a
programmer error: ``ValueError`` (``TypeError`` for a non-int size).
"""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from sockit.errors import LimitExceeded
from sockit.limits import BufferLimits

__all__ = ["BytesLike", "ReceiveBuffer", "WriteQueue"]

#: What the buffers accept as input; the bytes are copied in.
BytesLike = bytes | bytearray | memoryview

_DEFAULTS = BufferLimits()


def _nbytes(data: BytesLike) -> int:
    return data.nbytes if isinstance(data, memoryview) else len(data)


def _check_size(name: str, value: int, *, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _copy(storage: bytearray, lo: int, hi: int) -> bytes:
    # bytes(slice) copies twice but is fastest for small reads; big ones copy once.
    if hi - lo <= 2048:
        return bytes(storage[lo:hi])
    with memoryview(storage) as whole:
        return whole[lo:hi].tobytes()


def _zero(storage: bytearray) -> None:
    # Equal-length slice assignment never resizes, so it works while views are exported.
    storage[:] = bytes(len(storage))


class ReceiveBuffer:
    """Bytes received but not yet parsed, bounded by ``max_size`` unread bytes.

    Only unread bytes count towards ``max_size``; the consumed prefix still in
    storage is bounded separately by the compaction rule, so storage never
    exceeds ``2 * len(self) + compact_threshold`` bytes after a consume.
    """

    __slots__ = ("_buf", "_max_size", "_scan_pos", "_scan_sep", "_start")

    #: Compaction rule: after a consume, the dead prefix is deleted when it is
    #: at least this many bytes *and* at least half the storage (or when
    #: everything was consumed). Moving the live tail then costs no more than
    #: the bytes consumed since the last compaction: O(1) amortized per byte.
    compact_threshold: ClassVar[int] = 4096

    def __init__(self, max_size: int = _DEFAULTS.max_receive_buffer) -> None:
        _check_size("max_size", max_size, minimum=1)
        self._max_size = max_size
        self._buf = bytearray()
        self._start = 0
        self._scan_sep = b""  # read_until's memory: no _scan_sep starts before
        self._scan_pos = 0  # _scan_pos (relative), so a retry searches only new bytes

    @property
    def max_size(self) -> int:
        """The most unread bytes the buffer will hold."""
        return self._max_size

    def __len__(self) -> int:
        return len(self._buf) - self._start

    def __bool__(self) -> bool:
        return len(self._buf) > self._start

    def __bytes__(self) -> bytes:
        return _copy(self._buf, self._start, len(self._buf))

    def __repr__(self) -> str:  # never the contents: they may be secret
        return f"<ReceiveBuffer unread={len(self)} max_size={self._max_size}>"

    def append(self, data: BytesLike) -> None:
        """Copy ``data`` in after the unread bytes.

        Raises :class:`LimitExceeded` (``limit="max_receive_buffer"``) if the
        unread bytes would exceed :attr:`max_size`; nothing is appended then.
        If a :meth:`view` is still held, the buffer moves to fresh storage
        (the view keeps its bytes) instead of failing with ``BufferError``.
        """
        n = _nbytes(data)
        if n == 0:
            return
        unread = len(self._buf) - self._start
        if unread + n > self._max_size:
            msg = f"receive buffer would hold {unread + n} bytes, over {self._max_size}"
            raise LimitExceeded(msg, limit="max_receive_buffer", value=self._max_size)
        try:
            self._buf += data
        except BufferError:
            # An exported view pins the storage: leave it to the view's holder.
            fresh = bytearray(memoryview(self._buf)[self._start :])
            fresh += data
            self._buf = fresh
            self._start = 0

    def peek(self, n: int) -> bytes:
        """Return up to ``n`` unread bytes without consuming them (fewer if fewer)."""
        _check_size("n", n)
        return _copy(self._buf, self._start, self._start + n)

    def consume(self, n: int) -> bytes:
        """Remove and return exactly ``n`` unread bytes.

        ``ValueError`` if ``n`` is negative or over ``len(self)``: a parser
        asks only for bytes it has checked are there.
        """
        self._check_available(n)
        start = self._start
        out = _copy(self._buf, start, start + n)
        self._advance(n)
        return out

    def skip(self, n: int) -> None:
        """Drop exactly ``n`` unread bytes; ``ValueError`` as for :meth:`consume`."""
        self._check_available(n)
        self._advance(n)

    def find(self, sub: BytesLike, start: int = 0, end: int | None = None) -> int:
        """Index of ``sub`` in the unread bytes, or -1; ``bytes.find`` rules, relative indices."""
        n = len(self._buf) - self._start
        if end is None or end > n:
            end = n
        elif end < 0:
            end = max(end + n, 0)
        if start < 0:
            start = max(start + n, 0)
        base = self._start
        found = self._buf.find(sub, base + start, base + end)
        return found - base if found >= 0 else -1

    def read_until(
        self, separator: BytesLike, max_length: int, *, limit: str = "max_line_length"
    ) -> bytes | None:
        """Consume and return the bytes up to and including the first ``separator``.

        The limit rule: let ``i`` be where the first ``separator`` starts in
        the unread bytes. The line is accepted iff ``i <= max_length``, that
        is ``max_length`` bounds the line *without* its separator. Returns
        ``None`` while fewer than ``max_length + len(separator)`` bytes are
        buffered and none of them starts a separator; once that many are
        buffered without one, raises :class:`LimitExceeded` (with ``limit``,
        ``value=max_length``) and consumes nothing. The outcome is a function
        of the byte stream alone, so it is the same however it was chunked.

        Only the first ``max_length + len(separator)`` bytes are ever
        searched, and bytes searched before are not searched again.
        """
        _check_size("max_length", max_length)
        sep = bytes(separator)
        if not sep:
            raise ValueError("separator must not be empty")
        unread = len(self._buf) - self._start
        window = max_length + len(sep)
        resume = self._scan_pos if sep == self._scan_sep else 0
        base = self._start
        found = self._buf.find(sep, base + resume, base + min(unread, window))
        if found >= 0:
            return self.consume(found - base + len(sep))
        if unread >= window:
            msg = f"no {sep!r} within the first {max_length} bytes"
            raise LimitExceeded(msg, limit=limit, value=max_length)
        self._scan_sep = sep
        self._scan_pos = max(unread - len(sep) + 1, 0)
        return None

    def readline(
        self, max_length: int, *, terminator: bytes = b"\r\n", limit: str = "max_line_length"
    ) -> bytes | None:
        """:meth:`read_until` with ``terminator``: a line including it, or ``None``."""
        return self.read_until(terminator, max_length, limit=limit)

    def view(self, start: int = 0, end: int | None = None) -> memoryview:
        """Read-only zero-copy view of ``unread[start:end]`` (slice rules).

        Short-lived by contract: drop it before the next mutating call, ideally
        ``with buf.view() as v: ...``. One held anyway keeps showing the bytes
        it was made over (across consumes and appends; never a ``BufferError``)
        until :meth:`secure_clear` zeroes them.
        """
        lo, hi, _ = slice(start, end).indices(len(self._buf) - self._start)
        base = self._start
        with memoryview(self._buf) as whole:
            return whole[base + lo : base + max(lo, hi)].toreadonly()

    def clear(self) -> None:
        """Drop every unread byte."""
        self._buf = bytearray()
        self._start = 0
        self._scan_pos = 0

    def secure_clear(self) -> None:
        """Overwrite the whole storage (read and unread bytes) with zeros, then drop it.

        For buffers that held secrets. Best effort, as anything in Python is:
        copies already handed out (:meth:`consume`, :meth:`peek`,
        ``bytes(buf)``), storage a held view kept alive when :meth:`append`
        moved away from it, and memory the allocator freed on earlier
        compactions are out of its reach.
        """
        _zero(self._buf)
        self.clear()

    def _check_available(self, n: int) -> None:
        _check_size("n", n)
        if n > len(self._buf) - self._start:
            raise ValueError(f"cannot take {n} bytes, only {len(self)} buffered")

    def _advance(self, n: int) -> None:
        self._start += n
        self._scan_pos = max(self._scan_pos - n, 0)
        start = self._start
        size = len(self._buf)
        if start == size or (start >= self.compact_threshold and 2 * start >= size):
            try:
                del self._buf[:start]
                self._start = 0
            except BufferError:  # a view is held: compact on a later call
                pass


class WriteQueue:
    """Outgoing bytes, bounded by ``max_size``, with back-pressure marks.

    Back pressure follows asyncio's hysteresis: :attr:`writable` turns
    ``False`` when the queue grows *above* ``high_water`` and back to ``True``
    only when it drains to ``low_water`` *or below*, so a producer is not
    woken for every byte sent. ``max_size`` is the hard bound: a push past it
    raises. By default ``high_water = min(64 KiB, max_size)`` and
    ``low_water = high_water // 4``.
    """

    __slots__ = ("_chunks", "_high", "_low", "_max_size", "_offset", "_paused", "_size")

    #: Pushes smaller than this are appended to the last chunk while it is
    #: smaller than this, so many small frames become one buffer to send.
    coalesce_limit: ClassVar[int] = 16 * 1024

    def __init__(
        self,
        max_size: int = _DEFAULTS.max_write_queue,
        *,
        high_water: int | None = None,
        low_water: int | None = None,
    ) -> None:
        _check_size("max_size", max_size, minimum=1)
        self._max_size = max_size
        self._chunks: deque[bytearray] = deque()
        self._offset = 0  # bytes of _chunks[0] already sent
        self._size = 0
        self._paused = False
        self._high = self._low = 0
        self.set_water_marks(high_water=high_water, low_water=low_water)

    def set_water_marks(
        self, *, high_water: int | None = None, low_water: int | None = None
    ) -> None:
        """Set the marks (``None`` picks the default as in the class docstring).

        A given ``low_water`` alone makes ``high_water = min(4 * low_water,
        max_size)``. ``ValueError`` unless ``0 <= low_water <= high_water <=
        max_size``.
        """
        if high_water is None:
            high_water = min(64 * 1024 if low_water is None else 4 * low_water, self._max_size)
        if low_water is None:
            low_water = high_water // 4
        _check_size("high_water", high_water)
        _check_size("low_water", low_water)
        if not low_water <= high_water <= self._max_size:
            msg = f"need low_water <= high_water <= max_size, got {low_water}, {high_water}"
            raise ValueError(msg)
        self._high, self._low = high_water, low_water
        self._update_pressure()

    @property
    def max_size(self) -> int:
        """The most bytes the queue will hold."""
        return self._max_size

    @property
    def high_water(self) -> int:
        """Above this many queued bytes, :attr:`writable` turns ``False``."""
        return self._high

    @property
    def low_water(self) -> int:
        """At or below this many queued bytes, :attr:`writable` turns ``True`` again."""
        return self._low

    @property
    def writable(self) -> bool:
        """Whether producers should keep pushing (see the hysteresis above)."""
        return not self._paused

    @property
    def is_full(self) -> bool:
        """Whether the queue holds ``max_size`` bytes, so any non-empty push fails."""
        return self._size >= self._max_size

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    def __repr__(self) -> str:
        return f"<WriteQueue queued={self._size} max_size={self._max_size}>"

    def push(self, data: BytesLike) -> None:
        """Copy ``data`` onto the end of the queue.

        Raises :class:`LimitExceeded` (``limit="max_write_queue"``) if the
        queue would exceed :attr:`max_size`; nothing is queued then.
        """
        n = _nbytes(data)
        if n == 0:
            return
        if self._size + n > self._max_size:
            msg = f"write queue would hold {self._size + n} bytes, over {self._max_size}"
            raise LimitExceeded(msg, limit="max_write_queue", value=self._max_size)
        chunks = self._chunks
        if chunks and n < self.coalesce_limit and len(chunks[-1]) < self.coalesce_limit:
            try:
                chunks[-1] += data
            except BufferError:  # a peek_views() view is held: start a new chunk
                chunks.append(bytearray(data))
        else:
            chunks.append(bytearray(data))
        self._size += n
        self._update_pressure()

    def take(self, max_bytes: int | None = None) -> bytes:
        """Remove and return up to ``max_bytes`` queued bytes (all by default) as one ``bytes``."""
        if max_bytes is None or max_bytes >= self._size:
            if len(self._chunks) == 1 and not self._offset:  # the common case: one copy
                out = bytes(self._chunks.popleft())
                self.clear()
                return out
            max_bytes = self._size
        _check_size("max_bytes", max_bytes)
        out = b"".join(self.peek_views(max_bytes=max_bytes))
        self.advance(len(out))
        return out

    def peek_views(
        self, *, max_bytes: int | None = None, max_buffers: int | None = None
    ) -> list[memoryview]:
        """Views of the queued bytes in order, for ``socket.sendmsg``; nothing is removed.

        ``max_buffers`` caps the list (pass the platform's ``IOV_MAX``),
        ``max_bytes`` the total. Call :meth:`advance` with what was sent and
        drop the views; while one is held, pushes start new chunks instead
        of growing the one it covers.
        """
        remaining = self._size if max_bytes is None else min(max_bytes, self._size)
        _check_size("max_bytes", remaining)
        count = len(self._chunks) if max_buffers is None else max_buffers
        _check_size("max_buffers", count)
        views: list[memoryview] = []
        offset = self._offset
        for chunk in self._chunks:
            if remaining <= 0 or len(views) >= count:
                break
            take = min(len(chunk) - offset, remaining)
            with memoryview(chunk) as whole:
                views.append(whole[offset : offset + take].toreadonly())
            remaining -= take
            offset = 0
        return views

    def advance(self, n: int) -> None:
        """Drop the first ``n`` queued bytes after a (possibly partial) send.

        ``ValueError`` if ``n`` is negative or more than ``len(self)``.
        """
        _check_size("n", n)
        if n > self._size:
            raise ValueError(f"cannot advance {n} bytes, only {self._size} queued")
        self._size -= n
        chunks = self._chunks
        offset = self._offset + n
        while chunks and offset >= len(chunks[0]):
            offset -= len(chunks.popleft())
        self._offset = offset
        self._update_pressure()

    def clear(self) -> None:
        """Drop everything queued."""
        self._chunks.clear()
        self._offset = 0
        self._size = 0
        self._update_pressure()

    def secure_clear(self) -> None:
        """Overwrite every queued chunk with zeros, then drop them.

        Best effort: bytes already taken or sent, and the caller's own copies,
        are out of its reach.
        """
        for chunk in self._chunks:
            _zero(chunk)
        self.clear()

    def _update_pressure(self) -> None:
        if self._size > self._high:
            self._paused = True
        elif self._size <= self._low:
            self._paused = False
