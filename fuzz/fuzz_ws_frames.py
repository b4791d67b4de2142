"""atheris harness: the WebSocket framing machine, both roles, with and without compression.

Property: arbitrary bytes, delivered in one to three cuts chosen by the
fuzzer, never make ``receive_data``, ``receive_eof`` or ``handle_timeout``
raise (peer input fails the connection with a ``ConnectionFailed`` event
instead), nothing follows the terminal event, and the state is CLOSED after
it. Whole messages received are echoed while the connection is open, so the
send path (compression included) runs too. The same bytes through the
stand-alone ``FrameParser`` either parse or raise a ``SockitError``.

A 6-byte control block from the front keeps seed files readable: flags (bit
0 server, bit 1 small limits, bits 2-3 deflate variant, bit 4 stream
messages, bit 5 no auto-pong), cut count, two 16-bit cut offsets.
"""

import contextlib
import itertools
import sys

import atheris

with atheris.instrument_imports():
    from sockit.errors import SockitError
    from sockit.limits import WSLimits
    from sockit.proto.events import Role
    from sockit.proto.ws import (
        BytesMessage,
        CloseConnection,
        Connection,
        ConnectionFailed,
        ConnectionState,
        FrameParser,
        TextMessage,
    )
    from sockit.proto.ws.extensions import DeflateParams

SMALL = WSLimits(max_frame_size=4096, max_message_size=8192, max_fragments=16,
                 max_control_payload=64, max_close_reason=32)
DEFLATE = (
    None,
    DeflateParams(),
    DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True),
    DeflateParams(server_max_window_bits=9, client_max_window_bits=9),
)


def keys() -> bytes:
    return b"\x01\x02\x03\x04"


def check(events: list[object], conn: Connection) -> None:
    for i, event in enumerate(events):
        if isinstance(event, (CloseConnection, ConnectionFailed)):
            assert i == len(events) - 1, "event after the terminal one"
            assert conn.state is ConnectionState.CLOSED


def test_one_input(raw: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(raw)
    ctrl = fdp.ConsumeBytes(6).ljust(6, b"\0")
    data = fdp.ConsumeBytes(fdp.remaining_bytes())
    role = Role.SERVER if ctrl[0] & 1 else Role.CLIENT
    conn = Connection(
        role,
        limits=SMALL if ctrl[0] & 2 else WSLimits(),
        deflate=DEFLATE[(ctrl[0] >> 2) & 3],
        stream_messages=bool(ctrl[0] & 16),
        auto_pong=not ctrl[0] & 32,
        ping_interval=1.0,
        ping_timeout=5.0,
        mask_source=keys,
        now=0.0,
    )
    ncuts = 1 + ctrl[1] % 3
    offsets = [int.from_bytes(ctrl[2:4], "big"), int.from_bytes(ctrl[4:6], "big")]
    cuts = sorted(o % (len(data) + 1) for o in offsets[: ncuts - 1])
    bounds = [0, *cuts, len(data)]
    now = 0.0
    for start, end in itertools.pairwise(bounds):
        now += 0.7
        events = conn.receive_data(data[start:end], now=now)
        check(events, conn)
        for event in events:
            if conn.state is ConnectionState.OPEN and isinstance(
                event, (TextMessage, BytesMessage)
            ):
                conn.send(event)
        check(conn.handle_timeout(now), conn)
        conn.data_to_send()
    check(conn.receive_eof(), conn)
    assert conn.state is ConnectionState.CLOSED

    parser = FrameParser(expect_masked=role is Role.SERVER, allow_rsv1=True,
                         max_frame_size=1 << 16)
    with contextlib.suppress(SockitError):
        parser.feed(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
