"""One HTTP/2 stream's bookkeeping: state, windows, send buffer, content checks.

A :class:`Stream` is plain data; the connection owns every rule. The state
moves only through :func:`sockit.proto.http2.state.next_stream_state` (our
sends move it when the frames are written, not when the application hands
the event in, so buffered data keeps the stream open until it is on the
wire).
"""

from __future__ import annotations

from collections import deque

from sockit.proto.http.headers import Headers
from sockit.proto.http2.flow import ReceiveWindow
from sockit.proto.http2.state import StreamState

__all__ = ["Block", "Stream"]


class Stream:
    """The state of one stream as the connection tracks it."""

    __slots__ = (
        "answered",
        "buffer",
        "buffered",
        "end_queued",
        "expected_length",
        "head_received",
        "head_sent",
        "id",
        "local_ended",
        "no_body",
        "received_length",
        "recv",
        "remote_ended",
        "send_window",
        "stalled_since",
        "state",
        "trailers_queued",
    )

    def __init__(
        self, stream_id: int, state: StreamState, send_window: int, recv: ReceiveWindow
    ) -> None:
        self.id = stream_id
        self.state = state
        #: What we may still send on this stream (may be negative).
        self.send_window = send_window
        #: What the peer may still send, and the credit we owe back.
        self.recv = recv
        #: Data waiting for flow-control credit, oldest first.
        self.buffer: deque[memoryview] = deque()
        self.buffered = 0
        #: END_STREAM goes on the last buffered frame (or an empty DATA).
        self.end_queued = False
        #: Trailers wait for the buffer to drain, then end the stream.
        self.trailers_queued: Headers | None = None
        #: The application ended its side (further sends are errors), even
        #: if buffered data has not reached the wire yet.
        self.local_ended = False
        #: The peer's END_STREAM (or its RST_STREAM) arrived.
        self.remote_ended = False
        #: A final response head (client) or request head (server) arrived.
        self.head_received = False
        #: We sent our request head (client) or final response head (server).
        self.head_sent = False
        #: Server: we sent any response head (for the rapid-reset count).
        self.answered = False
        #: content-length the peer declared, and DATA counted against it.
        self.expected_length: int | None = None
        self.received_length = 0
        #: Client: the response has no content whatever it declares (HEAD).
        self.no_body = False
        #: When the send window closed with data waiting (stalled-stream timer).
        self.stalled_since: float | None = None

    def __repr__(self) -> str:
        return (
            f"<Stream {self.id} {self.state.value} send_window={self.send_window} "
            f"recv_window={self.recv.window} buffered={self.buffered}>"
        )


class Block:
    """A field block being gathered from HEADERS / PUSH_PROMISE + CONTINUATIONs.

    ``poisoned``: the HEADERS frame broke a stream rule the parser found
    (a self-dependency); the block still goes through HPACK, then the stream
    is reset.
    """

    __slots__ = (
        "continuations",
        "end_stream",
        "parts",
        "poisoned",
        "promised",
        "size",
        "stream_id",
    )

    def __init__(
        self, stream_id: int, first: bytes, end_stream: bool, promised: int, poisoned: bool
    ) -> None:
        self.stream_id = stream_id
        self.parts = [first]
        self.size = len(first)
        self.end_stream = end_stream
        self.promised = promised
        self.poisoned = poisoned
        self.continuations = 0
