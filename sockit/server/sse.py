"""Server-Sent Events: an :class:`EventStream` body of ``text/event-stream`` chunks.

::

    def events(request: ServerRequest) -> Response:
        stream = EventStream(keepalive=15.0)
        feeds.subscribe(stream)            # another thread calls stream.send(...)
        return stream.response()

    # or, from events that are ready when asked for:
    EventStream(ServerSentEvent(f"tick {i}", id=str(i)) for i in range(10)).response()

The stream is an iterable response body, so it goes out chunked over
HTTP/1.1 and as DATA frames over HTTP/2. Each chunk holds whole events.

Decisions that matter to callers:

* **Two modes.** With a ``source`` iterable the stream pulls events from it
  (on the server's loop thread: the source must not block). Without one,
  events arrive through :meth:`EventStream.send` from any thread and wait in
  a bounded queue (``max_queued`` events, ``max_queued_bytes``); ``send``
  returns ``False`` when the queue is full or the stream closed (the client
  left) — the producer decides whether to drop or stop.
* **Waiting without blocking** needs the server's waker hook: a body with
  ``attach_waker(wake)`` may yield ``b""`` to say "nothing now", and calls
  ``wake()`` (thread-safe) when it has more. The server pulls bodies on its
  loop thread and flushes only after a pull returns, so waiting inside
  ``next()`` would stall every connection: with no waker attached, an empty
  queue raises :class:`~sockit.errors.LocalProtocolError` — unless the
  stream was made with ``blocking=True`` for a consumer that iterates it on
  a thread of its own, where ``next()`` then waits.
* **Keep-alive comments** (``: keep-alive``) go out after ``keepalive``
  seconds without output, so proxies and clients do not time the stream
  out; while paused, one shared daemon thread wakes streams when their
  comment is due.
* Field values are checked: ``event`` and ``id`` may not contain CR or LF,
  ``id`` no NUL (a client would ignore it), ``retry`` is a non-negative int;
  a bad one raises :class:`~sockit.errors.LocalProtocolError`. ``data`` may
  hold newlines: each line becomes its own ``data:`` field.
"""

from __future__ import annotations

import heapq
import itertools
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from sockit.errors import LocalProtocolError
from sockit.server.request import Response

__all__ = [
    "KEEPALIVE_COMMENT",
    "SSE_HEADERS",
    "EventStream",
    "ServerSentEvent",
    "format_comment",
    "format_event",
]

_LINES = re.compile(r"\r\n|\r|\n")
#: The comment sent when a stream has been quiet for ``keepalive`` seconds.
KEEPALIVE_COMMENT: Final = b": keep-alive\n\n"
#: The response fields of an event stream (no caching, no proxy buffering).
SSE_HEADERS: Final = (
    ("Content-Type", "text/event-stream; charset=utf-8"),
    ("Cache-Control", "no-cache"),
    ("X-Accel-Buffering", "no"),
)


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One event: ``data`` text, optional ``event`` type, ``id`` and ``retry`` (ms)."""

    data: str = ""
    event: str | None = None
    id: str | None = None
    retry: int | None = None

    def encode(self) -> bytes:
        """The event in wire form (see :func:`format_event`)."""
        return format_event(self.data, event=self.event, id=self.id, retry=self.retry)


def _single_line(name: str, value: str) -> str:
    if not isinstance(value, str):
        raise LocalProtocolError(f"SSE {name} must be str, not {type(value).__name__}")
    if "\r" in value or "\n" in value:
        raise LocalProtocolError(f"SSE {name} may not contain CR or LF: {value!r}")
    return value


def format_event(
    data: str = "",
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    """``event:``/``id:``/``retry:``/``data:`` lines and the blank line that ends an event."""
    if not isinstance(data, str):
        raise LocalProtocolError(f"SSE data must be str, not {type(data).__name__}")
    out: list[str] = []
    if event is not None:
        out.append(f"event: {_single_line('event', event)}\n")
    if id is not None:
        if "\x00" in _single_line("id", id):
            raise LocalProtocolError("an SSE id may not contain NUL (clients ignore it)")
        out.append(f"id: {id}\n")
    if retry is not None:
        if type(retry) is not int or retry < 0:
            raise LocalProtocolError(f"SSE retry must be a non-negative int, not {retry!r}")
        out.append(f"retry: {retry}\n")
    out.extend(f"data: {line}\n" for line in _LINES.split(data))
    out.append("\n")
    return "".join(out).encode("utf-8")


def format_comment(text: str = "") -> bytes:
    """A comment line (ignored by clients; keeps connections alive): ``": text\\n\\n"``."""
    lines = _LINES.split(text)
    return ("".join(f": {line}\n" if line else ":\n" for line in lines) + "\n").encode("utf-8")


def _encode(item: ServerSentEvent | str | bytes) -> bytes:
    if isinstance(item, ServerSentEvent):
        return item.encode()
    if isinstance(item, str):
        return format_event(item)
    if isinstance(item, bytes):  # pre-formatted by the caller
        return item
    raise LocalProtocolError(f"an event stream carries events, not {type(item).__name__}")


class EventStream:
    """A ``text/event-stream`` response body; see the module docstring for the modes."""

    def __init__(
        self,
        source: Iterable[ServerSentEvent | str] | None = None,
        *,
        keepalive: float | None = 15.0,
        retry: int | None = None,
        max_queued: int = 1000,
        max_queued_bytes: int = 1 << 20,
        blocking: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if keepalive is not None and not keepalive > 0:
            raise ValueError(f"keepalive must be > 0 or None, not {keepalive!r}")
        if max_queued < 1 or max_queued_bytes < 1:
            raise ValueError("max_queued and max_queued_bytes must be >= 1")
        self._source: Iterator[ServerSentEvent | str] | None = (
            None if source is None else iter(source)
        )
        self._keepalive = keepalive
        self._max_queued = max_queued
        self._max_bytes = max_queued_bytes
        self._clock = clock
        self._blocking = blocking
        self._cond = threading.Condition()
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._closed = False
        self._waker: Callable[[], None] | None = None
        self._waiting = False
        self._heartbeat_due: float | None = None
        self._last = clock()
        self._first = b"" if retry is None else _retry_field(retry)
        #: Events handed to the server so far (for tests and metrics).
        self.events_sent = 0

    # -- the producer side ------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the stream ended (closed by the app, or the server let go of it)."""
        return self._closed

    def send(
        self,
        data: str = "",
        *,
        event: str | None = None,
        id: str | None = None,
        retry: int | None = None,
    ) -> bool:
        """Queue one event; ``False`` if the queue is full or the stream is closed. Thread-safe."""
        chunk = format_event(data, event=event, id=id, retry=retry)
        return self._put(chunk, count=1)

    def comment(self, text: str = "") -> bool:
        """Queue a comment line (see :func:`format_comment`). Thread-safe."""
        return self._put(format_comment(text), count=0)

    def _put(self, chunk: bytes, *, count: int) -> bool:
        if self._source is not None:
            raise LocalProtocolError("this EventStream reads its source; send() is not used")
        with self._cond:
            if self._closed:
                return False
            if (len(self._queue) >= self._max_queued
                    or self._queued_bytes + len(chunk) > self._max_bytes):
                return False
            self._queue.append(chunk)
            self._queued_bytes += len(chunk)
            self.events_sent += count
            self._cond.notify()
            wake = self._take_waker()
        if wake is not None:
            wake()
        return True

    def close(self) -> None:
        """End the stream after what is queued; later ``send`` calls return ``False``."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
            wake = self._take_waker()
        if wake is not None:
            wake()

    def _take_waker(self) -> Callable[[], None] | None:
        """The waker to call (outside the lock) if the server is waiting on us."""
        if self._waiting:
            self._waiting = False
            return self._waker
        return None

    # -- the server side ------------------------------------------------------------------

    def attach_waker(self, wake: Callable[[], None]) -> None:
        """Called by the server before the first pull: ``wake()`` resumes a paused body."""
        with self._cond:
            self._waker = wake

    def _poke(self) -> None:
        """The shared heartbeat: a keep-alive may be due; resume if paused."""
        with self._cond:
            self._heartbeat_due = None
            wake = self._take_waker()
        if wake is not None:
            wake()

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        """The next chunk: whole events, a keep-alive comment, or ``b""`` (paused)."""
        if self._first:
            first, self._first = self._first, b""
            return first
        if self._source is not None:
            return self._next_from_source()
        with self._cond:
            while True:
                if self._queue:
                    chunk = b"".join(self._queue)
                    self._queue.clear()
                    self._queued_bytes = 0
                    self._last = self._clock()
                    return chunk
                if self._closed:
                    raise StopIteration
                now = self._clock()
                left = None if self._keepalive is None else self._last + self._keepalive - now
                if left is not None and left <= 0:
                    self._last = now
                    return KEEPALIVE_COMMENT
                if self._waker is not None:
                    self._waiting = True
                    if left is not None:
                        self._schedule_heartbeat(left)
                    return b""
                if not self._blocking:
                    raise LocalProtocolError(
                        "EventStream.send() needs a server that attaches a waker to streamed "
                        "bodies; iterate it on your own thread with blocking=True otherwise"
                    )
                self._cond.wait(left)

    def _next_from_source(self) -> bytes:
        source = self._source
        assert source is not None
        if self._closed:
            raise StopIteration
        try:
            item = next(source)
        except StopIteration:
            self._closed = True
            raise
        self.events_sent += 1
        return _encode(item)

    def _schedule_heartbeat(self, delay: float) -> None:
        due = time.monotonic() + delay
        if self._heartbeat_due is not None and self._heartbeat_due <= due:
            return
        self._heartbeat_due = due
        _HEARTBEAT.schedule(self, due)

    def response(self, headers: Iterable[tuple[str, str]] = (), status: int = 200) -> Response:
        """A :class:`Response` with this stream as its body and the SSE headers."""
        return Response(status, [*SSE_HEADERS, *headers], self)


def _retry_field(retry: int) -> bytes:
    """A ``retry:`` field alone: tells clients how long to wait before reconnecting (ms)."""
    if type(retry) is not int or retry < 0:
        raise LocalProtocolError(f"SSE retry must be a non-negative int, not {retry!r}")
    return f"retry: {retry}\n\n".encode()


class _Heartbeat:
    """One daemon thread waking paused streams when their keep-alive is due."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, weakref.ref[EventStream]]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def schedule(self, stream: EventStream, due: float) -> None:
        with self._cond:
            heapq.heappush(self._heap, (due, next(self._seq), weakref.ref(stream)))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sockit-sse-heartbeat",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                _, _, ref = heapq.heappop(self._heap)
            stream = ref()
            if stream is not None:
                stream._poke()


_HEARTBEAT = _Heartbeat()
