"""WebSocket framing speed: sockit against wsproto and websockets' sans-I/O layer.

The workload is the server side of a busy connection: masked binary
messages from a client, one frame per ``receive_data`` call, parsed into
message events whose payload is unmasked (1 KiB and 64 KiB). A second table
feeds 64 frames per call (a batch as one socket read might bring). Peers:

* wsproto (pure Python), its ``Connection`` in the server role;
* websockets' sans-I/O ``websockets.protocol.Protocol`` (server side, OPEN),
  with its C speedups when installed (they do the unmasking in C).

Each measurement calibrates an iteration count to about ``--slice`` seconds,
then keeps the best of ``--repeat`` slices (time.perf_counter). Ratios are
sockit / peer: above 1 means sockit is faster. ``--mask`` also prints the
unmasking methods measured for ``sockit/proto/ws/_mask.py``.

    python benchmarks/bench_ws.py [--slice 0.3] [--repeat 7] [--quick] [--mask]

A benchmark prints numbers; it never asserts on them.
"""

from __future__ import annotations

import argparse
import importlib
import random
import sys
from collections.abc import Callable

from _support import best_rate

from sockit.proto.events import Role
from sockit.proto.ws import BytesMessage, Connection, serialize_frame
from sockit.proto.ws._mask import _XOR, mask_bytes

try:
    import wsproto
    from wsproto.connection import Connection as WSProtoConnection
    from wsproto.connection import ConnectionType
except ImportError:  # pragma: no cover - peers are optional
    wsproto = None
try:
    import websockets
    from websockets.protocol import Protocol as WebsocketsProtocol
    from websockets.protocol import Side
except ImportError:  # pragma: no cover
    websockets = None

SIZES = (1024, 64 * 1024)
BATCH = 64
RNG = random.Random(7)


def masked_frame(size: int) -> bytes:
    payload = RNG.randbytes(size)
    return serialize_frame(0x2, payload, mask_key=RNG.randbytes(4))


# --- the three parsers, each returning a run(n) that parses n frames -----------------


def sockit_run(frame: bytes, per_call: int) -> Callable[[int], None]:
    conn = Connection(Role.SERVER)
    data = frame * per_call

    def run(n: int) -> None:
        receive = conn.receive_data
        for _ in range(n // per_call):
            events = receive(data)
            assert len(events) == per_call and type(events[-1]) is BytesMessage

    return run


def wsproto_run(frame: bytes, per_call: int) -> Callable[[int], None]:
    conn = WSProtoConnection(ConnectionType.SERVER)
    data = frame * per_call

    def run(n: int) -> None:
        for _ in range(n // per_call):
            conn.receive_data(data)
            events = list(conn.events())
            assert len(events) == per_call

    return run


def websockets_run(frame: bytes, per_call: int) -> Callable[[int], None]:
    proto = WebsocketsProtocol(Side.SERVER, max_size=None)
    data = frame * per_call

    def run(n: int) -> None:
        for _ in range(n // per_call):
            proto.receive_data(data)
            events = proto.events_received()
            assert len(events) == per_call

    return run


# --- measuring ---------------------------------------------------------------------




def mask_table(slice_s: float, repeat: int) -> None:
    """The unmasking methods compared when choosing _mask.py's."""
    key = RNG.randbytes(4)

    def big_int(data: bytes) -> bytes:
        n = len(data)
        return (int.from_bytes(data, "little")
                ^ int.from_bytes((key * ((n >> 2) + 1))[:n], "little")).to_bytes(n, "little")

    def lanes(data: bytes) -> bytes:
        buf = bytearray(data)
        for i in range(4):
            buf[i::4] = buf[i::4].translate(_XOR[key[i]])
        return bytes(buf)

    print(f"{'unmask':<10} {'size':>8} {'big int us':>11} {'4 lanes us':>11} {'chosen us':>10}")
    print("-" * 56)
    for size in (16, 125, 256, 512, 1024, 4096, 65536, 1 << 20):
        data = RNG.randbytes(size)
        row = []
        for fn in (big_int, lanes, lambda d: mask_bytes(d, key)):
            def run(n: int, fn: Callable[[bytes], bytes] = fn, data: bytes = data) -> None:
                for _ in range(n):
                    fn(data)
            row.append(1e6 / best_rate(run, slice_s, repeat, 1))
        print(f"{'':<10} {size:>8} {row[0]:>11.2f} {row[1]:>11.2f} {row[2]:>10.2f}")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slice", type=float, default=0.3, help="seconds per timed slice")
    parser.add_argument("--repeat", type=int, default=7, help="slices per measurement (best)")
    parser.add_argument("--quick", action="store_true", help="0.05 s x 3: a smoke run")
    parser.add_argument("--mask", action="store_true", help="also print the unmasking table")
    args = parser.parse_args()
    if args.quick:
        args.slice, args.repeat = 0.05, 3

    speedups = "n/a"
    if websockets is not None:
        try:
            importlib.import_module("websockets.speedups")
            speedups = "C speedups"
        except ImportError:  # pragma: no cover
            speedups = "pure Python"
    print(f"Python {sys.version.split()[0]}; wsproto {getattr(wsproto, '__version__', 'n/a')}; "
          f"websockets {getattr(websockets, '__version__', 'n/a')} ({speedups}); "
          f"best of {args.repeat} x {args.slice:.2f} s")
    print()
    if args.mask:
        mask_table(args.slice, args.repeat)

    for per_call in (1, BATCH):
        title = "one frame per call" if per_call == 1 else f"{per_call} frames per call"
        print(f"{'masked binary, ' + title:<36} {'parser':<11} {'msgs/s':>11} {'MB/s':>9}  "
              f"{'sockit / peer':>13}")
        print("-" * 86)
        for size in SIZES:
            frame = masked_frame(size)
            rows = [("sockit", best_rate(sockit_run(frame, per_call), args.slice, args.repeat,
                                         per_call))]
            if wsproto is not None:
                rows.append(("wsproto", best_rate(wsproto_run(frame, per_call), args.slice,
                                                  args.repeat, per_call)))
            if websockets is not None:
                rows.append(("websockets", best_rate(websockets_run(frame, per_call), args.slice,
                                                     args.repeat, per_call)))
            ours = rows[0][1]
            label = f"{size // 1024} KiB"
            for who, value in rows:
                ratio = "" if who == "sockit" else f"{ours / value:>12.2f}x"
                print(f"{label:<36} {who:<11} {value:>11,.0f} {value * size / 1e6:>9,.0f}  "
                      f"{ratio:>13}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
