"""HTTP/2 connection speed: sockit against the ``h2`` library, both ends in memory.

Two workloads, each run with sockit on both ends and with h2 on both ends
(bytes passed straight from one connection object to the other, no sockets):

* **small GET streams**: on one established connection, a browser-like GET
  (12 fields) with END_STREAM, answered by a ``200`` with four fields and a
  13-byte body; one stream at a time, every event read on both sides, the
  client returning flow-control credit (automatic for sockit,
  ``acknowledge_received_data`` for h2).
  Reported in streams per second.
* **10 MB on one stream**: the server sends a 10 MB response body on a new
  stream as fast as flow control allows (default windows on both sides;
  the client returns credit as it reads: automatically for sockit,
  ``acknowledge_received_data`` per DATA frame for h2). Reported in MB/s.

Each measurement calibrates an iteration count to about ``--slice`` seconds,
then keeps the best of ``--repeat`` slices (time.perf_counter). Ratios are
sockit / h2: above 1 means sockit is faster. ``--profile`` runs each sockit
workload under cProfile instead and prints the top functions.

    python benchmarks/bench_http2.py [--slice 0.3] [--repeat 5] [--quick] [--profile]

A benchmark prints numbers; it never asserts on them (beyond checking that
the bytes arrived).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from collections.abc import Callable

from _support import best_rate

from sockit.proto.events import Role
from sockit.proto.http.headers import Headers
from sockit.proto.http2 import (
    Connection,
    Data,
    Request,
    Response,
    StreamEnded,
)

try:
    import h2.config
    import h2.connection
    import h2.events
except ImportError:  # pragma: no cover - the peer is optional
    h2 = None

REQUEST_FIELDS = [
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"),
    (b"accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    (b"accept-language", b"en-US,en;q=0.5"),
    (b"accept-encoding", b"gzip, deflate, br"),
    (b"referer", b"https://www.example.com/catalog/index.html"),
    (b"cache-control", b"no-cache"),
    (b"upgrade-insecure-requests", b"1"),
    (b"sec-fetch-mode", b"navigate"),
]
PATH = b"/api/v1/items?category=books&sort=price&page=2"
AUTHORITY = b"www.example.com"
RESPONSE_FIELDS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", b"13"),
    (b"server", b"sockit"),
    (b"cache-control", b"max-age=60"),
]
BODY = b"Hello, world!"
BIG = bytes(range(256)) * (10 * 1000 * 1000 // 256)
CHUNK = 256 * 1024

REQ_HEADERS = Headers(REQUEST_FIELDS)
RESP_HEADERS = Headers(RESPONSE_FIELDS)
H2_REQUEST = [
    (b":method", b"GET"),
    (b":scheme", b"https"),
    (b":authority", AUTHORITY),
    (b":path", PATH),
    *REQUEST_FIELDS,
]
H2_RESPONSE = [(b":status", b"200"), *RESPONSE_FIELDS]


# --- sockit ------------------------------------------------------------------------


def sockit_pair() -> tuple[Connection, Connection]:
    client = Connection(Role.CLIENT)
    server = Connection(Role.SERVER)
    for _ in range(3):
        server.receive_data(client.data_to_send())
        client.receive_data(server.data_to_send())
    return client, server


def sockit_small() -> Callable[[int], None]:
    client, server = sockit_pair()

    def run(n: int) -> None:
        c_send = client.send
        c_recv = client.receive_data
        s_send = server.send
        s_recv = server.receive_data
        c_out = client.data_to_send
        s_out = server.data_to_send
        for _ in range(n):
            sid = client.next_stream_id()
            c_send(Request(sid, b"GET", PATH, b"https", AUTHORITY, REQ_HEADERS, True))
            for req in s_recv(c_out()):
                if type(req) is Request:
                    s_send(Response(req.stream_id, 200, RESP_HEADERS))
                    s_send(Data(req.stream_id, BODY, True))
            events = c_recv(s_out())
            assert type(events[-1]) is StreamEnded, events

    return run


def sockit_bulk() -> Callable[[int], None]:
    client, server = sockit_pair()

    def run(n: int) -> None:
        for _ in range(n):
            sid = client.next_stream_id()
            client.send(Request(sid, b"GET", b"/big", b"https", AUTHORITY, Headers(), True))
            server.receive_data(client.data_to_send())
            server.send(Response(sid, 200, Headers()))
            got = 0
            pos = 0
            ended = False
            size = len(BIG)
            while not ended:
                while pos < size and server.outbound_buffered(sid) < CHUNK:
                    end = min(pos + CHUNK, size)
                    server.send(Data(sid, BIG[pos:end], end == size))
                    pos = end
                for ev in client.receive_data(server.data_to_send()):
                    if type(ev) is Data:
                        got += len(ev.data)
                    elif type(ev) is StreamEnded:
                        ended = True
                server.receive_data(client.data_to_send())
            assert got == size

    return run


# --- h2 -------------------------------------------------------------------------------


def h2_pair() -> tuple[h2.connection.H2Connection, h2.connection.H2Connection]:
    client = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding=None)
    )
    server = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=False, header_encoding=None)
    )
    client.initiate_connection()
    server.initiate_connection()
    for _ in range(3):
        server.receive_data(client.data_to_send())
        client.receive_data(server.data_to_send())
    return client, server


def h2_small() -> Callable[[int], None]:
    client, server = h2_pair()

    def run(n: int) -> None:
        for _ in range(n):
            sid = client.get_next_available_stream_id()
            client.send_headers(sid, H2_REQUEST, end_stream=True)
            for req in server.receive_data(client.data_to_send()):
                if type(req) is h2.events.RequestReceived:
                    server.send_headers(req.stream_id, H2_RESPONSE)
                    server.send_data(req.stream_id, BODY, end_stream=True)
            events = client.receive_data(server.data_to_send())
            for ev in events:
                if type(ev) is h2.events.DataReceived:  # return credit, as sockit does
                    client.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            assert type(events[-1]) is h2.events.StreamEnded, events

    return run


def h2_bulk() -> Callable[[int], None]:
    client, server = h2_pair()

    def run(n: int) -> None:
        for _ in range(n):
            sid = client.get_next_available_stream_id()
            client.send_headers(sid, [*H2_REQUEST[:3], (b":path", b"/big")], end_stream=True)
            server.receive_data(client.data_to_send())
            server.send_headers(sid, [(b":status", b"200")])
            got = 0
            pos = 0
            size = len(BIG)
            ended = False
            while not ended:
                while pos < size:
                    room = min(
                        server.local_flow_control_window(sid),
                        server.max_outbound_frame_size,
                        size - pos,
                    )
                    if room <= 0:
                        break
                    server.send_data(sid, BIG[pos : pos + room], end_stream=pos + room == size)
                    pos += room
                for ev in client.receive_data(server.data_to_send()):
                    if type(ev) is h2.events.DataReceived:
                        got += len(ev.data)
                        client.acknowledge_received_data(ev.flow_controlled_length, sid)
                    elif type(ev) is h2.events.StreamEnded:
                        ended = True
                server.receive_data(client.data_to_send())
            assert got == size

    return run


# --- measuring -------------------------------------------------------------------------




def profile(run: Callable[[int], None], n: int, label: str) -> None:
    print(f"--- cProfile: {label} ({n} iterations) ---")
    prof = cProfile.Profile()
    prof.enable()
    run(n)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(18)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slice", type=float, default=0.3, help="seconds per timed slice")
    parser.add_argument("--repeat", type=int, default=5, help="slices per measurement (best)")
    parser.add_argument("--quick", action="store_true", help="0.05 s x 2: a smoke run")
    parser.add_argument("--profile", action="store_true", help="cProfile the sockit side")
    args = parser.parse_args()
    if args.quick:
        args.slice, args.repeat = 0.05, 2
    if args.profile:
        profile(sockit_small(), 20000, "small GET streams")
        profile(sockit_bulk(), 5, "10 MB on one stream")
        return 0

    def rate(run: Callable[[int], None]) -> float:
        return best_rate(run, args.slice, args.repeat)

    print(
        f"Python {sys.version.split()[0]}; best of {args.repeat} x {args.slice:.2f} s; "
        "client and server in one process, bytes passed in memory"
    )
    print()
    print(f"{'workload':<28} {'sockit':>12} {'h2':>12} {'sockit / h2':>12}")
    print("-" * 67)
    ours = rate(sockit_small())
    theirs = rate(h2_small()) if h2 is not None else None
    ratio = f"{ours / theirs:>11.2f}x" if theirs else ""
    print(f"{'small GET (streams/s)':<28} {ours:>12,.0f} {theirs or 0:>12,.0f} {ratio:>12}")
    mb = len(BIG) / 1e6
    ours = rate(sockit_bulk()) * mb
    theirs = rate(h2_bulk()) * mb if h2 is not None else None
    ratio = f"{ours / theirs:>11.2f}x" if theirs else ""
    print(f"{'10 MB one stream (MB/s)':<28} {ours:>12,.1f} {theirs or 0:>12,.1f} {ratio:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
