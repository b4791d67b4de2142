"""Hypothesis properties: arbitrary input never raises; splits never matter; round trips hold."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sockit.limits import WSLimits
from sockit.proto.events import Event, Role
from sockit.proto.ws import (
    BytesMessage,
    CloseConnection,
    Connection,
    ConnectionFailed,
    ConnectionState,
    FrameParser,
    MessageFragment,
    Opcode,
    Ping,
    Pong,
    TextMessage,
)
from sockit.proto.ws.extensions import DeflateParams
from tests.proto.ws.ws_helpers import cframe, feed_chunks, masks, sframe

SMALL = WSLimits(max_frame_size=2000, max_message_size=3000, max_fragments=8,
                 max_control_payload=100, max_close_reason=50)

configs = st.fixed_dictionaries({
    "role": st.sampled_from([Role.SERVER, Role.CLIENT]),
    "deflate": st.sampled_from([None, DeflateParams(),
                                DeflateParams(client_no_context_takeover=True,
                                              server_no_context_takeover=True)]),
    "stream_messages": st.booleans(),
    "limits": st.sampled_from([WSLimits(), SMALL]),
})

# bytes that look like frames often: a valid-ish header byte, then anything
frame_heads = st.sampled_from([b"\x81", b"\x82", b"\x01", b"\x00", b"\x80", b"\x88", b"\x89",
                               b"\x8a", b"\xc1", b"\x41", b"\xc2", b"\x83", b"\x09"])
noisy = st.lists(st.one_of(frame_heads, st.binary(max_size=12)), max_size=40).map(b"".join)


def make(config: dict[str, Any]) -> Connection:
    return Connection(mask_source=masks(), **config)


def check_outcome(events: list[Event], conn: Connection, output: bytes) -> None:
    failed = [i for i, e in enumerate(events) if isinstance(e, ConnectionFailed)]
    closes = [i for i, e in enumerate(events) if isinstance(e, CloseConnection)]
    assert len(failed) + len(closes) <= 1
    if failed or closes:
        assert (failed or closes)[0] == len(events) - 1  # nothing after the end
        assert conn.state is ConnectionState.CLOSED
    frames = FrameParser(expect_masked=conn.role is Role.CLIENT, allow_rsv1=True).feed(output)
    if failed:
        assert frames[-1].opcode == Opcode.CLOSE  # our close frame is queued last
    for e in events:
        assert isinstance(e, (TextMessage, BytesMessage, MessageFragment, Ping, Pong,
                              CloseConnection, ConnectionFailed))


@given(configs, st.one_of(st.binary(max_size=300), noisy))
def test_arbitrary_bytes_never_raise(config: dict[str, Any], data: bytes) -> None:
    conn = make(config)
    events = conn.receive_data(data)
    output = conn.data_to_send()
    check_outcome(events, conn, output)
    more = conn.receive_eof()
    assert conn.state is ConnectionState.CLOSED
    assert len(more) <= 1


@given(configs, noisy, st.lists(st.integers(0, 500), max_size=8))
def test_splits_never_change_the_outcome(config: dict[str, Any], data: bytes,
                                         cuts: list[int]) -> None:
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    whole = feed_chunks(make(config), [data], eof=True)
    split = feed_chunks(make(config), chunks, eof=True)
    assert split == whole
    bytewise = feed_chunks(make(config), [data[i : i + 1] for i in range(len(data))], eof=True)
    assert bytewise == whole


@given(configs, st.binary(max_size=200))
def test_arbitrary_bytes_inside_a_fragmented_message(config: dict[str, Any], tail: bytes) -> None:
    frame = cframe if config["role"] is Role.SERVER else sframe
    conn = make(config)
    events = conn.receive_data(frame(1, "déjà".encode(), fin=False))
    events += conn.receive_data(tail)
    check_outcome(events, conn, conn.data_to_send())


# --- generated valid traffic -----------------------------------------------------------

texts = st.text(max_size=300)
blobs = st.binary(max_size=300)
messages = st.one_of(texts.map(TextMessage), blobs.map(BytesMessage))


@st.composite
def traffic(draw: st.DrawFn) -> tuple[list[Event], list[Event]]:
    """Events to send (some messages in fragments) and the events the peer must see."""
    sent: list[Event] = []
    seen: list[Event] = []
    for _ in range(draw(st.integers(0, 6))):
        msg = draw(messages)
        kind = draw(st.sampled_from(["whole", "fragments", "ping"]))
        if kind == "ping":
            payload = draw(st.binary(max_size=125))
            sent.append(Ping(payload))
            seen.append(Ping(payload))
            continue
        seen.append(msg)
        if kind == "whole":
            sent.append(msg)
            continue
        data = msg.data  # type: ignore[attr-defined]
        text = isinstance(msg, TextMessage)
        cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=3)))
        bounds = [0, *cuts, len(data)]
        for i, (a, b) in enumerate(itertools.pairwise(bounds)):
            sent.append(MessageFragment(data[a:b], text, i == len(bounds) - 2))
    return sent, seen


@settings(max_examples=60)
@given(traffic(), st.sampled_from([None, DeflateParams(), DeflateParams(
    server_no_context_takeover=True, client_max_window_bits=9)]),
    st.sampled_from([Role.SERVER, Role.CLIENT]), st.integers(1, 50))
def test_what_one_side_sends_the_other_receives(
    plan: tuple[list[Event], list[Event]], params: DeflateParams | None, sender_role: Role,
    step: int,
) -> None:
    sent, seen = plan
    sender = Connection(sender_role, deflate=params, mask_source=masks())
    receiver = Connection(sender_role.peer, deflate=params)
    for event in sent:
        sender.send(event)
    wire = sender.data_to_send()
    got: list[Event] = []
    for i in range(0, len(wire), step):
        got += receiver.receive_data(wire[i : i + step])
    assert got == seen
    # the receiver answered every ping, and nothing else
    pongs = receiver.data_to_send()
    assert sender.receive_data(pongs) == [Pong(e.payload) for e in seen if isinstance(e, Ping)]
