"""atheris harness: the HTTP/2 connection machine, both roles.

Property: after a valid handshake, arbitrary bytes delivered in one to
three cuts chosen by the fuzzer never make ``receive_data``,
``receive_eof`` or ``handle_timeout`` raise (remote errors become GOAWAY or
RST_STREAM and events), and the data held back for flow control stays
within ``max_connection_send_buffer``. A server answers
every request it decodes so the send half runs too; a client first opens a
stream whose method (GET, POST, HEAD) the fuzzer picks. Time advances with
each cut so the flood guards run.

Seed files start with the 6-byte control block, then frames (see
``fuzz/corpus/h2conn``).
"""

import itertools
import sys

import atheris

with atheris.instrument_imports():
    from sockit.errors import LocalProtocolError
    from sockit.limits import HPACKLimits, HTTP2Limits
    from sockit.proto.events import Role
    from sockit.proto.http.headers import Headers
    from sockit.proto.http2 import (
        PREFACE,
        Connection,
        Data,
        H2Config,
        Request,
        Response,
        SettingsFrame,
        serialize,
    )

SMALL = H2Config(
    limits=HTTP2Limits(
        max_concurrent_streams=4,
        max_header_list_size=1024,
        max_continuation_frames=4,
        ping_rate=5.0,
        rst_stream_rate=5.0,
        settings_per_window=3,
    ),
    hpack=HPACKLimits(max_header_list_size=1024, header_table_size=256),
    max_stream_send_buffer=4096,
    max_connection_send_buffer=8192,
    empty_frame_burst=5,
    enable_push=True,
    enable_connect_protocol=True,
)
METHODS = (b"GET", b"POST", b"HEAD")
HANDSHAKE = serialize(SettingsFrame())


def serve(conn: Connection, events: list) -> None:
    """Answer requests so the send half is exercised."""
    for ev in events:
        if isinstance(ev, Request):
            try:
                conn.send(Response(ev.stream_id, 200, Headers([("x", "y")])))
                conn.send(Data(ev.stream_id, b"z" * 3000, end_stream=True))
            except LocalProtocolError:
                pass  # e.g. the stream was reset by a later frame in the same batch


def test_one_input(raw: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(raw)
    # flags (bit 0 server, bit 1 small limits, bits 2-3 method), cut count, two offsets
    ctrl = fdp.ConsumeBytes(6).ljust(6, b"\0")
    data = fdp.ConsumeBytes(fdp.remaining_bytes())
    role = Role.SERVER if ctrl[0] & 1 else Role.CLIENT
    config = SMALL if ctrl[0] & 2 else H2Config()
    method = METHODS[(ctrl[0] >> 2) % len(METHODS)]
    ncuts = 1 + ctrl[1] % 3
    offsets = [int.from_bytes(ctrl[2:4], "big"), int.from_bytes(ctrl[4:6], "big")]
    cuts = sorted(o % (len(data) + 1) for o in offsets[: ncuts - 1])

    conn = Connection(role, config)
    conn.receive_data((PREFACE if role is Role.SERVER else b"") + HANDSHAKE, now=0.0)
    if role is Role.CLIENT:
        conn.send(Request(1, method, b"/", authority=b"a", end_stream=method != b"POST"))
    conn.data_to_send()
    bounds = [0, *cuts, len(data)]
    for i, (start, end) in enumerate(itertools.pairwise(bounds)):
        events = conn.receive_data(data[start:end], now=i * 0.5)
        if role is Role.SERVER:
            serve(conn, events)
        conn.data_to_send()
        assert conn.outbound_buffered() <= config.max_connection_send_buffer
    conn.receive_data(b"")
    conn.handle_timeout(1e6)
    conn.receive_eof()


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
