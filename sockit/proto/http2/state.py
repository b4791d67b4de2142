"""The HTTP/2 stream and connection state machines, as explicit tables.

A stream moves through the seven states of RFC 9113 §5.1 (Figure 2). Each
move is a row of :data:`STREAM_TRANSITIONS`: ``(state, what happened) -> new
state``. "What happened" is a :class:`StreamInput`: a HEADERS, PUSH_PROMISE,
END_STREAM or RST_STREAM sent or received (DATA and trailers leave the state
where it is; their legality is the same as HEADERS' and is checked with
:data:`SEND_ALLOWED` / :data:`RECEIVE_ALLOWED`). A frame carrying END_STREAM
is two inputs: the frame, then ``SEND_END_STREAM`` / ``RECV_END_STREAM``.

A missing row is illegal. For our own sends that is a
:class:`~sockit.errors.LocalProtocolError`; for the peer's frames the
connection decides between a stream and a connection error using the rules of
§5.1 (:func:`receive_error`).

The connection itself has three states (:class:`ConnectionState`) and its own
table, :data:`CONNECTION_TRANSITIONS`.
"""

from __future__ import annotations

import enum

from sockit.errors import LocalProtocolError

__all__ = [
    "CONNECTION_TRANSITIONS",
    "RECEIVE_ALLOWED",
    "SEND_ALLOWED",
    "STREAM_TRANSITIONS",
    "ConnectionInput",
    "ConnectionState",
    "FrameKind",
    "StreamInput",
    "StreamState",
    "next_connection_state",
    "next_stream_state",
    "receive_error",
]


class StreamState(enum.Enum):
    """The seven stream states of RFC 9113 §5.1."""

    IDLE = "idle"
    RESERVED_LOCAL = "reserved (local)"
    RESERVED_REMOTE = "reserved (remote)"
    OPEN = "open"
    HALF_CLOSED_LOCAL = "half-closed (local)"
    HALF_CLOSED_REMOTE = "half-closed (remote)"
    CLOSED = "closed"

    # Singletons: identity hashing is correct and runs in C (Enum's is Python).
    __hash__ = object.__hash__


class StreamInput(enum.Enum):
    """What moves a stream from one state to another."""

    SEND_HEADERS = "send HEADERS"
    RECV_HEADERS = "recv HEADERS"
    SEND_PUSH_PROMISE = "send PUSH_PROMISE"
    RECV_PUSH_PROMISE = "recv PUSH_PROMISE"
    SEND_END_STREAM = "send END_STREAM"
    RECV_END_STREAM = "recv END_STREAM"
    SEND_RST_STREAM = "send RST_STREAM"
    RECV_RST_STREAM = "recv RST_STREAM"

    __hash__ = object.__hash__


class FrameKind(enum.Enum):
    """Frame types as far as stream states care (RFC 9113 §5.1 per-state rules)."""

    HEADERS = "HEADERS"
    DATA = "DATA"
    PRIORITY = "PRIORITY"
    RST_STREAM = "RST_STREAM"
    WINDOW_UPDATE = "WINDOW_UPDATE"
    PUSH_PROMISE = "PUSH_PROMISE"

    __hash__ = object.__hash__


S = StreamState
I = StreamInput  # noqa: E741 - a table reads better with one-letter names
K = FrameKind

#: (state, input) -> new state. Rows follow RFC 9113 Figure 2; a missing row
#: is a protocol violation by whoever caused the input.
STREAM_TRANSITIONS: dict[tuple[StreamState, StreamInput], StreamState] = {
    # idle: opened by HEADERS, reserved by PUSH_PROMISE.
    (S.IDLE, I.SEND_HEADERS): S.OPEN,
    (S.IDLE, I.RECV_HEADERS): S.OPEN,
    (S.IDLE, I.SEND_PUSH_PROMISE): S.RESERVED_LOCAL,
    (S.IDLE, I.RECV_PUSH_PROMISE): S.RESERVED_REMOTE,
    # reserved (local): we promised it; our response head half-closes it.
    (S.RESERVED_LOCAL, I.SEND_HEADERS): S.HALF_CLOSED_REMOTE,
    (S.RESERVED_LOCAL, I.SEND_RST_STREAM): S.CLOSED,
    (S.RESERVED_LOCAL, I.RECV_RST_STREAM): S.CLOSED,
    # reserved (remote): the peer promised it; its response head arrives.
    (S.RESERVED_REMOTE, I.RECV_HEADERS): S.HALF_CLOSED_LOCAL,
    (S.RESERVED_REMOTE, I.SEND_RST_STREAM): S.CLOSED,
    (S.RESERVED_REMOTE, I.RECV_RST_STREAM): S.CLOSED,
    # open: both sides send; either END_STREAM half-closes.
    (S.OPEN, I.SEND_HEADERS): S.OPEN,
    (S.OPEN, I.RECV_HEADERS): S.OPEN,
    (S.OPEN, I.SEND_END_STREAM): S.HALF_CLOSED_LOCAL,
    (S.OPEN, I.RECV_END_STREAM): S.HALF_CLOSED_REMOTE,
    (S.OPEN, I.SEND_RST_STREAM): S.CLOSED,
    (S.OPEN, I.RECV_RST_STREAM): S.CLOSED,
    # half-closed (local): we are done; the peer still sends.
    (S.HALF_CLOSED_LOCAL, I.RECV_HEADERS): S.HALF_CLOSED_LOCAL,
    (S.HALF_CLOSED_LOCAL, I.RECV_END_STREAM): S.CLOSED,
    (S.HALF_CLOSED_LOCAL, I.SEND_RST_STREAM): S.CLOSED,
    (S.HALF_CLOSED_LOCAL, I.RECV_RST_STREAM): S.CLOSED,
    # half-closed (remote): the peer is done; we still send.
    (S.HALF_CLOSED_REMOTE, I.SEND_HEADERS): S.HALF_CLOSED_REMOTE,
    (S.HALF_CLOSED_REMOTE, I.SEND_END_STREAM): S.CLOSED,
    (S.HALF_CLOSED_REMOTE, I.SEND_RST_STREAM): S.CLOSED,
    (S.HALF_CLOSED_REMOTE, I.RECV_RST_STREAM): S.CLOSED,
    # closed: a second RST_STREAM changes nothing (frames in flight).
    (S.CLOSED, I.SEND_RST_STREAM): S.CLOSED,
    (S.CLOSED, I.RECV_RST_STREAM): S.CLOSED,
}

#: Frame kinds we may send on a stream in each state (RFC 9113 §5.1).
SEND_ALLOWED: dict[StreamState, frozenset[FrameKind]] = {
    S.IDLE: frozenset({K.HEADERS, K.PRIORITY}),
    S.RESERVED_LOCAL: frozenset({K.HEADERS, K.RST_STREAM, K.PRIORITY}),
    S.RESERVED_REMOTE: frozenset({K.RST_STREAM, K.PRIORITY, K.WINDOW_UPDATE}),
    S.OPEN: frozenset(FrameKind),
    S.HALF_CLOSED_LOCAL: frozenset({K.WINDOW_UPDATE, K.PRIORITY, K.RST_STREAM}),
    S.HALF_CLOSED_REMOTE: frozenset(FrameKind),
    S.CLOSED: frozenset({K.PRIORITY}),
}

#: Frame kinds the peer may send on a stream in each state (RFC 9113 §5.1).
RECEIVE_ALLOWED: dict[StreamState, frozenset[FrameKind]] = {
    S.IDLE: frozenset({K.HEADERS, K.PRIORITY}),
    S.RESERVED_LOCAL: frozenset({K.RST_STREAM, K.PRIORITY, K.WINDOW_UPDATE}),
    S.RESERVED_REMOTE: frozenset({K.HEADERS, K.RST_STREAM, K.PRIORITY}),
    S.OPEN: frozenset(FrameKind),
    S.HALF_CLOSED_LOCAL: frozenset(FrameKind),
    S.HALF_CLOSED_REMOTE: frozenset({K.WINDOW_UPDATE, K.PRIORITY, K.RST_STREAM}),
    S.CLOSED: frozenset({K.PRIORITY}),
}

#: For a frame the peer may not send in a state: is it a connection error
#: (True) or a stream error STREAM_CLOSED (False)? RFC 9113 §5.1: idle and
#: reserved states make it a connection PROTOCOL_ERROR; half-closed (remote)
#: a stream error STREAM_CLOSED; closed is decided by the connection, which
#: knows how the stream closed.
_CONNECTION_LEVEL: dict[StreamState, bool] = {
    S.IDLE: True,
    S.RESERVED_LOCAL: True,
    S.RESERVED_REMOTE: True,
    S.HALF_CLOSED_REMOTE: False,
    S.CLOSED: False,
}


def next_stream_state(state: StreamState, event: StreamInput) -> StreamState:
    """The state after ``event``; LocalProtocolError when the table has no row."""
    new = STREAM_TRANSITIONS.get((state, event))
    if new is None:
        raise LocalProtocolError(f"{event.value} is not allowed in stream state {state.value}")
    return new


def receive_error(state: StreamState, kind: FrameKind) -> tuple[bool, str] | None:
    """Whether receiving ``kind`` in ``state`` is an error, and of which level.

    ``None``: allowed. Otherwise ``(connection_level, message)``: the
    connection answers with GOAWAY PROTOCOL_ERROR when ``connection_level``,
    else with RST_STREAM STREAM_CLOSED.
    """
    if kind in RECEIVE_ALLOWED[state]:
        return None
    return (
        _CONNECTION_LEVEL.get(state, True),
        f"{kind.value} frame received on a stream in state {state.value}",
    )


class ConnectionState(enum.Enum):
    """Where the whole connection is.

    ``OPEN``: streams come and go. ``CLOSING``: a GOAWAY went one way or the
    other; streams it covers may finish, no new ones start. ``CLOSED``: over
    (every stream done after a GOAWAY, a connection error, or EOF).
    """

    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"

    __hash__ = object.__hash__


class ConnectionInput(enum.Enum):
    """What moves the connection state."""

    SEND_GOAWAY = "send GOAWAY"
    RECV_GOAWAY = "recv GOAWAY"
    LAST_STREAM_DONE = "no streams left after GOAWAY"
    ERROR = "connection error"
    EOF = "transport closed"

    __hash__ = object.__hash__


C = ConnectionState
CI = ConnectionInput

#: (state, input) -> new state; a missing row leaves the state unchanged.
CONNECTION_TRANSITIONS: dict[tuple[ConnectionState, ConnectionInput], ConnectionState] = {
    (C.OPEN, CI.SEND_GOAWAY): C.CLOSING,
    (C.OPEN, CI.RECV_GOAWAY): C.CLOSING,
    (C.OPEN, CI.ERROR): C.CLOSED,
    (C.OPEN, CI.EOF): C.CLOSED,
    (C.CLOSING, CI.SEND_GOAWAY): C.CLOSING,
    (C.CLOSING, CI.RECV_GOAWAY): C.CLOSING,
    (C.CLOSING, CI.LAST_STREAM_DONE): C.CLOSED,
    (C.CLOSING, CI.ERROR): C.CLOSED,
    (C.CLOSING, CI.EOF): C.CLOSED,
}


def next_connection_state(state: ConnectionState, event: ConnectionInput) -> ConnectionState:
    """The connection state after ``event`` (unchanged when the table has no row)."""
    return CONNECTION_TRANSITIONS.get((state, event), state)
