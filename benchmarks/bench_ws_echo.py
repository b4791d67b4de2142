"""WebSocket echo round trips over loopback: ``sockit serve``'s ``/ws/echo`` vs websockets.

Both servers run as their own processes: ``python -m sockit serve`` (its
``/ws/echo`` route: the loop thread runs the protocol, one thread per
connection echoes) and a ``websockets`` asyncio echo server. The same client
drives both: ``--clients`` threads, each with one connection (no
compression), sending a ``--size``-byte binary message and waiting for its
echo, ``--count`` times. Prints round trips per second for each server, in
interleaved rounds, and sockit's ratio.

Run: ``python benchmarks/bench_ws_echo.py [--size 1024] [--count 5000] [--clients 4]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from _support import free_port, running
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parent


def drive(url: str, size: int, count: int, clients: int) -> float:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def client() -> None:
        try:
            with connect(url, compression=None, max_size=None) as ws:
                barrier.wait()
                for _ in range(count):
                    ws.send(payload)
                    if ws.recv(timeout=30) != payload:
                        raise AssertionError("echo mismatch")
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return clients * count / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rates: dict[str, list[float]] = {"sockit": [], "websockets": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for kind in (["sockit", "websockets"] if r % 2 == 0 else ["websockets", "sockit"]):
                port = free_port()
                if kind == "sockit":
                    argv = [sys.executable, "-m", "sockit", "serve", tmp, "--port", str(port)]
                    url = f"ws://127.0.0.1:{port}/ws/echo"
                else:
                    argv = [sys.executable, str(ROOT / "_ws_echo_server.py"), str(port)]
                    url = f"ws://127.0.0.1:{port}/"
                with running(argv, port):
                    drive(url, args.size, min(500, args.count), args.clients)  # warm-up
                    rates[kind].append(drive(url, args.size, args.count, args.clients))
    print(f"WebSocket echo, {args.size}-byte binary messages, {args.clients} connections x "
          f"{args.count} round trips, best of {args.rounds}")
    print(f"{'server':<12}{'best rt/s':>12}{'median':>12}")
    for kind, values in rates.items():
        print(f"{kind:<12}{max(values):>12,.0f}{statistics.median(values):>12,.0f}")
    print(f"sockit / websockets: {max(rates['sockit']) / max(rates['websockets']):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
