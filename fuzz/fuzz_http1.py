"""atheris harness: the HTTP/1.1 sans-I/O machine, both roles.

Property: arbitrary bytes, delivered in one to three cuts chosen by the
fuzzer, either parse into events or raise a ``SockitError`` subclass. A
server answers every finished request and starts the next cycle, so
pipelined input is parsed too; a client first sends a request whose method
(GET, HEAD or CONNECT) the fuzzer picks. Any other exception is a crash.
"""

import itertools
import sys

import atheris

with atheris.instrument_imports():
    from sockit.errors import SockitError
    from sockit.limits import HTTP1Limits
    from sockit.proto.events import Role
    from sockit.proto.http.headers import Headers
    from sockit.proto.http1 import (
        Connection,
        ConnectionState,
        EndOfMessage,
        HTTP1Config,
        Request,
        Response,
    )

SMALL = HTTP1Limits(
    max_header_count=16,
    max_header_block_size=1024,
    max_request_line_size=256,
    max_uri_size=200,
    max_chunk_size=4096,
    max_chunk_extension_size=64,
    max_trailer_size=256,
    max_body_size=8192,
)
METHODS = (b"GET", b"HEAD", b"CONNECT")


def serve(conn: Connection) -> None:
    """Answer finished requests so held pipelined input gets parsed."""
    for _ in range(64):
        if not (conn.their_state is ConnectionState.DONE
                and conn.our_state is ConnectionState.SEND_RESPONSE):
            return
        conn.send(Response(status_code=200, reason=b"OK",
                           headers=Headers([("Content-Length", "0")])))
        conn.send(EndOfMessage())
        conn.data_to_send()
        if conn.our_state is not ConnectionState.DONE:
            return
        conn.start_next_cycle()
        conn.receive_data(b"")


def test_one_input(raw: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(raw)
    # a 6-byte control block from the front keeps seed files readable:
    # flags (bit 0 server, bit 1 small limits, bits 2-3 method), cut count, two cut offsets
    ctrl = fdp.ConsumeBytes(6).ljust(6, b"\0")
    data = fdp.ConsumeBytes(fdp.remaining_bytes())
    role = Role.SERVER if ctrl[0] & 1 else Role.CLIENT
    limits = SMALL if ctrl[0] & 2 else HTTP1Limits()
    method = METHODS[(ctrl[0] >> 2) % len(METHODS)]
    ncuts = 1 + ctrl[1] % 3
    offsets = [int.from_bytes(ctrl[2:4], "big"), int.from_bytes(ctrl[4:6], "big")]
    cuts = sorted(o % (len(data) + 1) for o in offsets[: ncuts - 1])

    conn = Connection(role, config=HTTP1Config(limits=limits))
    if role is Role.CLIENT:
        conn.send(Request(method=method, target=b"a:443" if method == b"CONNECT" else b"/",
                          headers=Headers([("Host", "a")])))
        if conn.our_state is ConnectionState.SEND_BODY:
            conn.send(EndOfMessage())
        conn.data_to_send()
    bounds = [0, *cuts, len(data)]
    try:
        for start, end in itertools.pairwise(bounds):
            conn.receive_data(data[start:end])
            if role is Role.SERVER:
                serve(conn)
        conn.receive_data(b"")
        conn.receive_eof()
    except SockitError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
