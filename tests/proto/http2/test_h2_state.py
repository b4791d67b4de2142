"""The stream and connection state tables (RFC 9113 §5.1, Figure 2)."""

from __future__ import annotations

import pytest

from sockit.errors import LocalProtocolError
from sockit.proto.http2.state import (
    CONNECTION_TRANSITIONS,
    RECEIVE_ALLOWED,
    SEND_ALLOWED,
    STREAM_TRANSITIONS,
    ConnectionInput,
    ConnectionState,
    FrameKind,
    StreamInput,
    StreamState,
    next_connection_state,
    next_stream_state,
    receive_error,
)

S = StreamState
I = StreamInput  # noqa: E741
K = FrameKind

# Every row of Figure 2, written out independently of the table under test.
FIGURE_2 = {
    (S.IDLE, I.SEND_HEADERS): S.OPEN,
    (S.IDLE, I.RECV_HEADERS): S.OPEN,
    (S.IDLE, I.SEND_PUSH_PROMISE): S.RESERVED_LOCAL,
    (S.IDLE, I.RECV_PUSH_PROMISE): S.RESERVED_REMOTE,
    (S.RESERVED_LOCAL, I.SEND_HEADERS): S.HALF_CLOSED_REMOTE,
    (S.RESERVED_LOCAL, I.SEND_RST_STREAM): S.CLOSED,
    (S.RESERVED_LOCAL, I.RECV_RST_STREAM): S.CLOSED,
    (S.RESERVED_REMOTE, I.RECV_HEADERS): S.HALF_CLOSED_LOCAL,
    (S.RESERVED_REMOTE, I.SEND_RST_STREAM): S.CLOSED,
    (S.RESERVED_REMOTE, I.RECV_RST_STREAM): S.CLOSED,
    (S.OPEN, I.SEND_END_STREAM): S.HALF_CLOSED_LOCAL,
    (S.OPEN, I.RECV_END_STREAM): S.HALF_CLOSED_REMOTE,
    (S.OPEN, I.SEND_RST_STREAM): S.CLOSED,
    (S.OPEN, I.RECV_RST_STREAM): S.CLOSED,
    (S.HALF_CLOSED_LOCAL, I.RECV_END_STREAM): S.CLOSED,
    (S.HALF_CLOSED_LOCAL, I.SEND_RST_STREAM): S.CLOSED,
    (S.HALF_CLOSED_LOCAL, I.RECV_RST_STREAM): S.CLOSED,
    (S.HALF_CLOSED_REMOTE, I.SEND_END_STREAM): S.CLOSED,
    (S.HALF_CLOSED_REMOTE, I.SEND_RST_STREAM): S.CLOSED,
    (S.HALF_CLOSED_REMOTE, I.RECV_RST_STREAM): S.CLOSED,
}


@pytest.mark.parametrize(("start", "event"), sorted(FIGURE_2, key=str))
def test_every_figure_2_edge(start: StreamState, event: StreamInput) -> None:
    assert next_stream_state(start, event) is FIGURE_2[start, event]


def test_table_has_nothing_beyond_figure_2_but_self_loops() -> None:
    extra = set(STREAM_TRANSITIONS) - set(FIGURE_2)
    # the only extra rows keep the state: headers on open streams (trailers,
    # 1xx) and a repeated RST_STREAM on a closed stream
    for start, event in extra:
        assert STREAM_TRANSITIONS[start, event] is start, (start, event)


@pytest.mark.parametrize("state", list(StreamState))
def test_all_seven_states_have_rows_or_are_terminal(state: StreamState) -> None:
    rows = [e for (s, e) in STREAM_TRANSITIONS if s is state]
    assert rows, state
    if state is not S.CLOSED:
        assert any(STREAM_TRANSITIONS[state, e] is not state for e in rows)


@pytest.mark.parametrize("state", list(StreamState))
@pytest.mark.parametrize("event", list(StreamInput))
def test_missing_rows_are_local_errors(state: StreamState, event: StreamInput) -> None:
    if (state, event) in STREAM_TRANSITIONS:
        next_stream_state(state, event)
    else:
        with pytest.raises(LocalProtocolError):
            next_stream_state(state, event)


def test_end_stream_paths_reach_closed() -> None:
    # request with END_STREAM, then response with END_STREAM (client view)
    state = next_stream_state(S.IDLE, I.SEND_HEADERS)
    state = next_stream_state(state, I.SEND_END_STREAM)
    assert state is S.HALF_CLOSED_LOCAL
    state = next_stream_state(state, I.RECV_HEADERS)
    assert next_stream_state(state, I.RECV_END_STREAM) is S.CLOSED
    # server push: promised, response head, end
    state = next_stream_state(S.IDLE, I.SEND_PUSH_PROMISE)
    state = next_stream_state(state, I.SEND_HEADERS)
    assert state is S.HALF_CLOSED_REMOTE
    assert next_stream_state(state, I.SEND_END_STREAM) is S.CLOSED


@pytest.mark.parametrize(
    ("state", "kind", "expected"),
    [
        (S.IDLE, K.HEADERS, None),
        (S.IDLE, K.PRIORITY, None),
        (S.IDLE, K.DATA, True),
        (S.IDLE, K.RST_STREAM, True),
        (S.IDLE, K.WINDOW_UPDATE, True),
        (S.RESERVED_LOCAL, K.WINDOW_UPDATE, None),
        (S.RESERVED_LOCAL, K.RST_STREAM, None),
        (S.RESERVED_LOCAL, K.HEADERS, True),
        (S.RESERVED_LOCAL, K.DATA, True),
        (S.RESERVED_REMOTE, K.HEADERS, None),
        (S.RESERVED_REMOTE, K.WINDOW_UPDATE, True),
        (S.RESERVED_REMOTE, K.DATA, True),
        (S.OPEN, K.DATA, None),
        (S.OPEN, K.PUSH_PROMISE, None),
        (S.HALF_CLOSED_LOCAL, K.DATA, None),
        (S.HALF_CLOSED_LOCAL, K.HEADERS, None),
        (S.HALF_CLOSED_REMOTE, K.DATA, False),
        (S.HALF_CLOSED_REMOTE, K.HEADERS, False),
        (S.HALF_CLOSED_REMOTE, K.WINDOW_UPDATE, None),
        (S.HALF_CLOSED_REMOTE, K.RST_STREAM, None),
        (S.CLOSED, K.PRIORITY, None),
        (S.CLOSED, K.DATA, False),
    ],
)
def test_receive_rules_per_state(
    state: StreamState, kind: FrameKind, expected: bool | None
) -> None:
    result = receive_error(state, kind)
    if expected is None:
        assert result is None
    else:
        assert result is not None and result[0] is expected


def test_send_rules_mirror_rfc() -> None:
    assert K.DATA not in SEND_ALLOWED[S.HALF_CLOSED_LOCAL]
    assert K.DATA in SEND_ALLOWED[S.HALF_CLOSED_REMOTE]
    assert K.HEADERS in SEND_ALLOWED[S.RESERVED_LOCAL]
    assert K.HEADERS not in SEND_ALLOWED[S.RESERVED_REMOTE]
    assert SEND_ALLOWED[S.CLOSED] == {K.PRIORITY}
    assert RECEIVE_ALLOWED[S.CLOSED] == {K.PRIORITY}
    assert set(SEND_ALLOWED) == set(StreamState) == set(RECEIVE_ALLOWED)


C = ConnectionState
CI = ConnectionInput


def test_connection_table() -> None:
    assert next_connection_state(C.OPEN, CI.SEND_GOAWAY) is C.CLOSING
    assert next_connection_state(C.OPEN, CI.RECV_GOAWAY) is C.CLOSING
    assert next_connection_state(C.CLOSING, CI.LAST_STREAM_DONE) is C.CLOSED
    assert next_connection_state(C.OPEN, CI.ERROR) is C.CLOSED
    assert next_connection_state(C.CLOSING, CI.EOF) is C.CLOSED
    # OPEN ignores "last stream done": only a GOAWAY starts the drain
    assert next_connection_state(C.OPEN, CI.LAST_STREAM_DONE) is C.OPEN
    # CLOSED is final
    for event in ConnectionInput:
        assert next_connection_state(C.CLOSED, event) is C.CLOSED
    assert all(start is not C.CLOSED for start, _ in CONNECTION_TRANSITIONS)
