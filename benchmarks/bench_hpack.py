"""HPACK speed: sockit against the ``hpack`` library, encode + decode together.

The workload is one browser-like request of 12 fields (pseudo-headers, a
user agent, accept lists, a cookie, a referer), encoded and then decoded,
measured three ways for both libraries in the same run:

* **cold**: a new encoder and decoder every iteration (a first request on a
  new connection: every field is a literal, every string Huffman-coded);
* **warm**: one encoder/decoder pair reused, the same request again (the
  repeat requests of a page load: fields come from the dynamic table; our
  encoder still sends the cookie as a never-indexed literal);
* **cold, no cache**: as cold, with sockit's process-wide string caches
  emptied before every iteration, to show the cost of first sight of a
  string (hpack has no such cache; its figure is the cold one).

Then the Huffman decoder alone on strings of a few lengths (state machine
and zlib path), which is where ``huffman.ZLIB_MIN_LENGTH`` comes from.

Each measurement calibrates an iteration count to about ``--slice`` seconds,
then keeps the best of ``--repeat`` slices (time.perf_counter). Ratios are
sockit / hpack: above 1 means sockit is faster.

    python benchmarks/bench_hpack.py [--slice 0.3] [--repeat 7] [--quick]

A benchmark prints numbers; it never asserts on them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from _support import best_rate

from sockit.proto.hpack import Decoder, Encoder, coding, huffman

try:
    import hpack
except ImportError:  # pragma: no cover - the peer is optional
    hpack = None

REQUEST = [
    (b":method", b"GET"),
    (b":scheme", b"https"),
    (b":authority", b"www.example.com"),
    (b":path", b"/api/v1/items?category=books&sort=price&page=2"),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"),
    (b"accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    (b"accept-language", b"en-US,en;q=0.5"),
    (b"accept-encoding", b"gzip, deflate, br"),
    (b"cookie", b"session=8f14e45fceea167a5a36dedd4bea2543; theme=dark"),
    (b"referer", b"https://www.example.com/catalog/index.html"),
    (b"cache-control", b"no-cache"),
    (b"upgrade-insecure-requests", b"1"),
]
N_FIELDS = len(REQUEST)


# --- sockit ------------------------------------------------------------------------


def sockit_cold(n: int) -> None:
    for _ in range(n):
        out = Decoder().decode(Encoder().encode(REQUEST))
    assert out == REQUEST


def sockit_cold_nocache(n: int) -> None:
    for _ in range(n):
        coding.clear_caches()
        out = Decoder().decode(Encoder().encode(REQUEST))
    assert out == REQUEST


def sockit_warm() -> Callable[[int], None]:
    enc, dec = Encoder(), Decoder()

    def run(n: int) -> None:
        for _ in range(n):
            out = dec.decode(enc.encode(REQUEST))
        assert out == REQUEST

    return run


# --- hpack -------------------------------------------------------------------------


def hpack_cold(n: int) -> None:
    for _ in range(n):
        out = hpack.Decoder().decode(hpack.Encoder().encode(REQUEST), raw=True)
    assert out == REQUEST


def hpack_warm() -> Callable[[int], None]:
    enc, dec = hpack.Encoder(), hpack.Decoder()

    def run(n: int) -> None:
        for _ in range(n):
            out = dec.decode(enc.encode(REQUEST), raw=True)
        assert out == REQUEST

    return run


# --- measuring ---------------------------------------------------------------------




def huffman_rows(rate: Callable[[Callable[[int], None]], float]) -> None:
    text = b"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0" * 2
    print(f"{'Huffman decode':<26} {'path':<10} {'ns/string':>12}")
    print("-" * 52)
    for length in (8, 16, 24, 48, 96):
        encoded = huffman.encode(text[:length])

        def fsm(n: int, data: bytes = encoded) -> None:
            for _ in range(n):
                huffman.decode_fsm(data)

        def best(n: int, data: bytes = encoded) -> None:
            for _ in range(n):
                huffman.decode(data)

        label = f"{length} -> {len(encoded)} octets"
        print(f"{label:<26} {'fsm':<10} {1e9 / rate(fsm):>12,.0f}")
        print(f"{label:<26} {'decode()':<10} {1e9 / rate(best):>12,.0f}")


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

    block = Encoder().encode(REQUEST)
    print(f"Python {sys.version.split()[0]}; request of {N_FIELDS} fields, "
          f"{sum(len(n) + len(v) for n, v in REQUEST)} octets of names and values "
          f"({len(block)}-octet cold block); best of {args.repeat} x {args.slice:.2f} s")
    print()
    rows: list[tuple[str, str, float]] = []
    for label, ours, theirs in (
        ("cold (new pair each time)", sockit_cold, hpack and hpack_cold),
        ("warm (pair reused)", sockit_warm(), hpack and hpack_warm()),
        ("cold, caches emptied", sockit_cold_nocache, hpack and hpack_cold),
    ):
        rows.append((label, "sockit", rate(ours)))
        if hpack is not None:
            rows.append((label, "hpack", rate(theirs)))

    print(f"{'encode + decode':<26} {'library':<10} {'lists/s':>12}  {'us/list':>8}"
          f"  {'sockit / peer':>13}")
    print("-" * 76)
    for label, who, value in rows:
        ours = next(v for lab, w, v in rows if lab == label and w == "sockit")
        ratio = "" if who == "sockit" else f"{ours / value:>12.2f}x"
        print(f"{label:<26} {who:<10} {value:>12,.0f}  {1e6 / value:>8.1f}  {ratio:>13}")
    print()
    huffman_rows(rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
