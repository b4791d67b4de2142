"""HTTP/1.1 parsing speed: sockit against h11 and httptools.

Two workloads, each measured for sockit and its peers in the same run:

* a 518-byte ``GET`` with 10 header fields, parsed to events with full
  validation, in two ways: a new server connection per request, and one
  keep-alive connection reused with ``start_next_cycle()`` (sockit and h11
  then also send a minimal ``200`` with ``Content-Length: 0`` to end the
  cycle; httptools is a pure parser and is simply fed the next request);
* a 64 KiB body in 16 chunks of 4 KiB (chunked encoding), one ``POST`` per
  iteration on a new connection, reported in MB/s of body (sockit and h11).

Each measurement calibrates an iteration count to about ``--slice`` seconds,
then keeps the best of ``--repeat`` slices (time.perf_counter), about 2-3 s in
all by default. Ratios are sockit / peer: above 1 means sockit is faster.

    python benchmarks/bench_http1.py [--slice 0.3] [--repeat 7] [--quick]

A benchmark prints numbers; it never asserts on them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from _support import best_rate

from sockit.limits import HTTP1Limits
from sockit.proto.events import Role
from sockit.proto.http.headers import Headers
from sockit.proto.http1 import (
    Connection,
    Data,
    EndOfMessage,
    HTTP1Config,
    Response,
)

try:
    import h11
except ImportError:  # pragma: no cover - peers are optional
    h11 = None
try:
    import httptools
except ImportError:  # pragma: no cover
    httptools = None


def build_get() -> bytes:
    """A realistic 518-byte GET with exactly 10 header fields."""
    fields = [
        (b"Host", b"www.example.com"),
        (b"User-Agent", b"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"),
        (b"Accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        (b"Accept-Language", b"en-US,en;q=0.5"),
        (b"Accept-Encoding", b"gzip, deflate, br"),
        (b"Connection", b"keep-alive"),
        (b"Referer", b"https://www.example.com/catalog/index.html"),
        (b"Cookie", b"session=8f14e45fceea167a5a36dedd4bea2543; theme=dark"),
        (b"Cache-Control", b"no-cache"),
        (b"X-Request-Id", b""),
    ]
    line = b"GET /api/v1/items?category=books&sort=price&page=2 HTTP/1.1\r\n"

    def render(pad: int) -> bytes:
        body = b"".join(
            n + b": " + (v or b"r" * pad) + b"\r\n" for n, v in fields
        )
        return line + body + b"\r\n"

    pad = 518 - len(render(0))
    raw = render(pad)
    assert len(raw) == 518, len(raw)
    assert raw.count(b"\r\n") == 12  # request line + 10 fields + the empty line
    return raw


GET = build_get()
CHUNK = 4096
N_CHUNKS = 16
BODY = bytes(range(256)) * (CHUNK * N_CHUNKS // 256)
CHUNKED_POST = (
    b"POST /upload HTTP/1.1\r\nHost: www.example.com\r\nTransfer-Encoding: chunked\r\n"
    b"Content-Type: application/octet-stream\r\n\r\n"
    + b"".join(b"%x\r\n" % CHUNK + BODY[i : i + CHUNK] + b"\r\n"
               for i in range(0, len(BODY), CHUNK))
    + b"0\r\n\r\n"
)
CONFIG = HTTP1Config(limits=HTTP1Limits())
OK = Response(status_code=200, reason=b"OK", headers=Headers([("Content-Length", "0")]))


# --- sockit ------------------------------------------------------------------------


def sockit_new(n: int) -> None:
    for _ in range(n):
        events = Connection(Role.SERVER, config=CONFIG).receive_data(GET)
        assert len(events) == 2


def sockit_keepalive() -> Callable[[int], None]:
    conn = Connection(Role.SERVER, config=CONFIG)

    def run(n: int) -> None:
        for _ in range(n):
            events = conn.receive_data(GET)
            assert len(events) == 2
            conn.send(OK)
            conn.send(EndOfMessage())
            conn.data_to_send()
            conn.start_next_cycle()

    return run


def sockit_chunked(n: int) -> None:
    for _ in range(n):
        got = 0
        for ev in Connection(Role.SERVER, config=CONFIG).receive_data(CHUNKED_POST):
            if isinstance(ev, Data):
                got += len(ev.data)
        assert got == len(BODY)


# --- h11 ---------------------------------------------------------------------------


def h11_events(conn: h11.Connection) -> int:
    count = 0
    while True:
        ev = conn.next_event()
        if ev is h11.NEED_DATA or ev is h11.PAUSED:
            return count
        count += 1
        if type(ev) is h11.EndOfMessage:
            return count


def h11_new(n: int) -> None:
    for _ in range(n):
        conn = h11.Connection(h11.SERVER)
        conn.receive_data(GET)
        assert h11_events(conn) == 2


def h11_keepalive() -> Callable[[int], None]:
    conn = h11.Connection(h11.SERVER)
    ok = h11.Response(status_code=200, headers=[("Content-Length", "0")])

    def run(n: int) -> None:
        for _ in range(n):
            conn.receive_data(GET)
            assert h11_events(conn) == 2
            conn.send(ok)
            conn.send(h11.EndOfMessage())
            conn.start_next_cycle()

    return run


def h11_chunked(n: int) -> None:
    for _ in range(n):
        conn = h11.Connection(h11.SERVER)
        conn.receive_data(CHUNKED_POST)
        got = 0
        while True:
            ev = conn.next_event()
            if type(ev) is h11.Data:
                got += len(ev.data)
            elif type(ev) is h11.EndOfMessage:
                break
        assert got == len(BODY)


# --- httptools ---------------------------------------------------------------------


class Collector:
    """The minimal protocol object httptools calls back into."""

    __slots__ = ("complete", "headers", "url")

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.complete = 0

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_message_complete(self) -> None:
        self.complete += 1


def httptools_new(n: int) -> None:
    for _ in range(n):
        proto = Collector()
        httptools.HttpRequestParser(proto).feed_data(GET)
        assert proto.complete == 1


def httptools_keepalive() -> Callable[[int], None]:
    proto = Collector()
    parser = httptools.HttpRequestParser(proto)

    def run(n: int) -> None:
        for _ in range(n):
            proto.headers = []
            parser.feed_data(GET)
        assert len(proto.headers) == 10

    return run


# --- measuring ---------------------------------------------------------------------




def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slice", type=float, default=0.3, help="seconds per timed slice")
    parser.add_argument("--repeat", type=int, default=7, help="slices per measurement (best)")
    parser.add_argument("--quick", action="store_true", help="0.05 s x 3: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.slice, args.repeat = 0.05, 3

    def rate(run: Callable[[int], None]) -> float:
        return best_rate(run, args.slice, args.repeat)

    print(f"Python {sys.version.split()[0]}; GET is {len(GET)} bytes with 10 fields; "
          f"best of {args.repeat} x {args.slice:.2f} s")
    print()
    rows: list[tuple[str, str, float]] = []
    for label, ours, h11_run, ht_run in (
        ("new connection / request", sockit_new, h11_new, httptools_new),
        ("keep-alive reuse", sockit_keepalive(), h11 and h11_keepalive(),
         httptools and httptools_keepalive()),
    ):
        rows.append((label, "sockit", rate(ours)))
        if h11 is not None:
            rows.append((label, "h11", rate(h11_run)))
        if httptools is not None:
            rows.append((label, "httptools", rate(ht_run)))

    print(f"{'518-byte GET':<26} {'parser':<10} {'req/s':>12}  {'sockit / peer':>13}")
    print("-" * 66)
    for label, who, value in rows:
        ours = next(v for lab, w, v in rows if lab == label and w == "sockit")
        ratio = "" if who == "sockit" else f"{ours / value:>12.2f}x"
        print(f"{label:<26} {who:<10} {value:>12,.0f}  {ratio:>13}")
    print()

    mb = len(BODY) / 1e6
    ours_mb = rate(sockit_chunked) * mb
    print(f"{'64 KiB chunked body':<26} {'parser':<10} {'MB/s':>12}  {'sockit / peer':>13}")
    print("-" * 66)
    print(f"{'16 x 4 KiB chunks':<26} {'sockit':<10} {ours_mb:>12,.1f}")
    if h11 is not None:
        theirs_mb = rate(h11_chunked) * mb
        print(f"{'16 x 4 KiB chunks':<26} {'h11':<10} {theirs_mb:>12,.1f}  "
              f"{ours_mb / theirs_mb:>12.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
