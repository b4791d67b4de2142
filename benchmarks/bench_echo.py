"""TCP echo throughput: sockit's reactor versus asyncio and uvloop servers.

Each server runs in its own process (``examples/echo_server.py`` for sockit,
``_echo_peers.py`` for asyncio and uvloop ``Protocol`` servers); this script is
the one client for all of them: ``--connections`` sockets each doing
ping-pong with a ``--size`` byte message, driven by ``select.epoll``, for
``--seconds``. It prints round trips per second and the ratios, servers measured
in interleaved rounds so machine noise hits them alike.

Run: ``python benchmarks/bench_echo.py [--seconds 3] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(kind: str, port: int) -> subprocess.Popen[bytes]:
    if kind == "sockit":
        argv = [sys.executable, str(ROOT / "examples" / "echo_server.py"), "--port", str(port)]
    else:
        argv = [sys.executable, str(ROOT / "benchmarks" / "_echo_peers.py"), kind, str(port)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{kind} server did not start: {proc.stderr.read() if proc.stderr else ''}")


def measure(port: int, connections: int, size: int, seconds: float) -> float:
    """Round trips per second over ``connections`` ping-pong sockets."""
    message = b"x" * size
    ep = select.epoll()
    socks: dict[int, socket.socket] = {}
    got: dict[int, int] = {}
    for _ in range(connections):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        socks[s.fileno()] = s
        got[s.fileno()] = 0
        ep.register(s.fileno(), select.EPOLLIN)
    for s in socks.values():
        s.send(message)
    trips = 0
    start_t = time.perf_counter()
    end = start_t + seconds
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        for fd, _ in ep.poll(end - now):
            s = socks[fd]
            try:
                n = len(s.recv(65536))
            except BlockingIOError:
                continue
            got[fd] += n
            while got[fd] >= size:
                got[fd] -= size
                trips += 1
                s.send(message)
    elapsed = time.perf_counter() - start_t
    for s in socks.values():
        s.close()
    ep.close()
    return trips / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    kinds = ["sockit", "asyncio"]
    try:
        import uvloop  # noqa: F401

        kinds.append("uvloop")
    except ImportError:
        print("uvloop not installed: pip install -e '.[bench]'", file=sys.stderr)
    results: dict[str, list[float]] = {k: [] for k in kinds}
    servers = {k: (start(k, port := free_port()), port) for k in kinds}
    try:
        for _ in range(args.rounds):
            for kind in kinds:
                _, port = servers[kind]
                results[kind].append(measure(port, args.connections, args.size, args.seconds))
    finally:
        for proc, _ in servers.values():
            proc.send_signal(signal.SIGINT if os.name == "posix" else signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
    best = {k: max(v) for k, v in results.items()}
    print(f"TCP echo, {args.connections} connections, {args.size}-byte ping-pong, "
          f"best of {args.rounds} x {args.seconds:.0f}s (round trips/s)")
    print(f"{'server':<10}{'best':>12}{'median':>12}{'sockit ratio':>15}")
    for kind in kinds:
        ratio = best["sockit"] / best[kind]
        print(f"{kind:<10}{best[kind]:>12,.0f}{statistics.median(results[kind]):>12,.0f}"
              f"{ratio:>14.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
