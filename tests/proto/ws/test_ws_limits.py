"""Every WSLimits bound at N and N+1, fed whole, byte by byte and in random cuts."""

from __future__ import annotations

import pytest

from sockit.limits import WSLimits
from sockit.proto.ws import BytesMessage, CloseConnection, ConnectionFailed, Ping, TextMessage
from sockit.proto.ws.frames import parse_close
from tests.proto.ws.ws_helpers import all_splits, cframe, close_body, limits, server, sframe

N = 300


def run(lim: WSLimits, data: bytes, **kwargs: object) -> tuple[object, ...]:
    outcome = all_splits(lambda: server(limits=lim, **kwargs), data)
    failed = [e for e in outcome.events if isinstance(e, ConnectionFailed)]
    if failed:
        # the close frame we queued carries the same code
        assert outcome.output.startswith(b"\x88")
        assert parse_close(outcome.output[2 : 2 + outcome.output[1]])[0] == failed[0].code
    return outcome.events


def test_defaults_are_the_agreed_ones() -> None:
    lim = WSLimits()
    assert (lim.max_frame_size, lim.max_message_size) == (16 << 20, 64 << 20)
    assert (lim.max_fragments, lim.max_control_payload, lim.max_close_reason) == (1000, 125, 123)


def test_max_frame_size() -> None:
    lim = limits(max_frame_size=N)
    assert run(lim, cframe(2, bytes(N))) == (BytesMessage(bytes(N)),)
    assert run(lim, cframe(2, bytes(N + 1))) == (
        ConnectionFailed(1009, f"frame of {N + 1} bytes exceeds max_frame_size {N}"),
    )


def test_max_frame_size_is_judged_on_the_header_alone() -> None:
    lim = limits(max_frame_size=N)
    header_only = cframe(2, bytes(N + 1))[:8]
    assert run(lim, header_only) == (
        ConnectionFailed(1009, f"frame of {N + 1} bytes exceeds max_frame_size {N}"),
    )


def test_max_message_size_single_frame() -> None:
    lim = limits(max_message_size=N)
    assert run(lim, cframe(1, b"a" * N)) == (TextMessage("a" * N),)
    assert run(lim, cframe(1, b"a" * (N + 1))) == (
        ConnectionFailed(1009, f"message of {N + 1} bytes exceeds max_message_size {N}"),
    )


def test_max_message_size_across_fragments() -> None:
    lim = limits(max_message_size=N)
    ok = cframe(2, bytes(100), fin=False) + cframe(0, bytes(100), fin=False) + cframe(0, bytes(100))
    assert run(lim, ok) == (BytesMessage(bytes(N)),)
    bad = (cframe(2, bytes(100), fin=False) + cframe(0, bytes(100), fin=False)
           + cframe(0, bytes(101)))
    assert run(lim, bad) == (
        ConnectionFailed(1009, f"message of {N + 1} bytes exceeds max_message_size {N}"),
    )


def test_max_message_size_resets_per_message_and_applies_when_streaming() -> None:
    lim = limits(max_message_size=N)
    data = cframe(2, bytes(N)) + cframe(2, bytes(N))
    assert run(lim, data) == (BytesMessage(bytes(N)), BytesMessage(bytes(N)))
    streamed = run(lim, cframe(2, bytes(N), fin=False) + cframe(0, b"x"), stream_messages=True)
    assert len(streamed) == 2
    assert streamed[1] == ConnectionFailed(
        1009, f"message of {N + 1} bytes exceeds max_message_size {N}"
    )


@pytest.mark.parametrize("frames", [1, 2, 10])
def test_max_fragments(frames: int) -> None:
    lim = limits(max_fragments=frames)

    def message(count: int) -> bytes:
        parts = [cframe(1 if i == 0 else 0, b"x", fin=i == count - 1) for i in range(count)]
        return b"".join(parts)

    assert run(lim, message(frames)) == (TextMessage("x" * frames),)
    assert run(lim, message(frames + 1)) == (
        ConnectionFailed(1009, f"message of more than {frames} fragments"),
    )


def test_control_frames_do_not_count_as_fragments() -> None:
    lim = limits(max_fragments=2)
    data = cframe(1, b"a", fin=False) + cframe(9, b"") * 5 + cframe(0, b"b")
    events = run(lim, data)
    assert events[-1] == TextMessage("ab")
    assert events[:-1] == (Ping(b""),) * 5


def test_max_control_payload() -> None:
    lim = limits(max_control_payload=20)
    assert run(lim, cframe(9, b"p" * 20)) == (Ping(b"p" * 20),)
    assert run(lim, cframe(9, b"p" * 21)) == (
        ConnectionFailed(1009, "control frame of 21 bytes exceeds max_control_payload 20"),
    )
    assert run(lim, cframe(8, close_body(1000, b"r" * 18))) == (CloseConnection(1000, "r" * 18),)
    assert run(lim, cframe(8, close_body(1000, b"r" * 19)))[0].code == 1009  # type: ignore[attr-defined]


def test_max_close_reason() -> None:
    lim = limits(max_close_reason=5)
    assert run(lim, cframe(8, close_body(1000, b"12345"))) == (CloseConnection(1000, "12345"),)
    assert run(lim, cframe(8, close_body(1000, b"123456"))) == (
        ConnectionFailed(1009, "close reason of 6 bytes exceeds max_close_reason 5"),
    )


def test_limits_hold_for_the_client_too() -> None:
    lim = limits(max_message_size=N)
    from tests.proto.ws.ws_helpers import client

    ok = all_splits(lambda: client(limits=lim), sframe(2, bytes(N)))
    assert ok.events == (BytesMessage(bytes(N)),)
    bad = all_splits(lambda: client(limits=lim), sframe(2, bytes(N + 1)))
    assert bad.events == (
        ConnectionFailed(1009, f"message of {N + 1} bytes exceeds max_message_size {N}"),
    )
    assert bad.output[0] == 0x88 and bad.output[1] & 0x80  # the client's close is masked
