"""Memory per idle keep-alive connection at 10,000 connections: sockit serve vs uvicorn.

Each server runs alone in its own process: ``python -m sockit serve`` and
uvicorn (httptools + uvloop, one worker, keep-alive timeout raised so idle
connections stay). This script opens ``--connections`` connections in
batches of 100 with plain sockets, from 50 per loopback source address
(``127.1.x.y``: sockit's per-client limit is 100, and no address runs short
of ephemeral ports); each makes one ``GET /hello`` and then stays idle. The
server's ``VmRSS`` (``/proc/PID/status``) is read after a warm-up of 200
connections (opened, answered, closed) and again with every connection
held; the difference over the count is the memory per connection. Kernel
socket buffers are not in RSS: this is the server's own cost.

Run: ``python benchmarks/bench_server_memory.py [--connections 10000] [--rounds 1]``.
Needs ``uvicorn``, ``httptools``, ``uvloop`` (``pip install -e '.[bench]'``); a
missing peer is reported and skipped. Raises its soft descriptor limit (the
servers inherit it); the hard limit must allow the count plus some headroom.
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _support import free_port, running

ROOT = Path(__file__).resolve().parents[1]
BATCH = 100
PER_SOURCE = 50
#: Linux: bind picks no port, connect does, per 4-tuple (so TIME_WAIT ones are reused)
BIND_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
HELLO = b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
ANSWER_END = b"hello world\n"


def argv(kind: str, port: int, tmp: str, connections: int) -> list[str]:
    if kind == "sockit":
        return [sys.executable, "-m", "sockit", "serve", tmp, "--port", str(port),
                "--max-connections", str(connections + 100)]
    return [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "benchmarks"),
            "_asgi_hello:app", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning", "--timeout-keep-alive", "600",
            "--backlog", "2048"]


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def open_idle(port: int, count: int, first_source: int = 0) -> list[socket.socket]:
    """``count`` connections, each after one answered ``GET /hello``."""
    held: list[socket.socket] = []
    for start in range(0, count, BATCH):
        batch = []
        for i in range(start, min(start + BATCH, count)):
            n = first_source + i // PER_SOURCE
            sock = socket.socket()
            held.append(sock)
            sock.setsockopt(socket.IPPROTO_IP, BIND_NO_PORT, 1)
            sock.settimeout(30)
            sock.bind((f"127.1.{n // 250}.{n % 250 + 1}", 0))
            sock.connect(("127.0.0.1", port))
            batch.append(sock)
        for sock in batch:
            sock.sendall(HELLO)
        for sock in batch:
            got = b""
            while not got.endswith(ANSWER_END):
                data = sock.recv(4096)
                if not data:
                    raise RuntimeError(f"closed after {got!r}")
                got += data
    return held


def measure(kind: str, connections: int) -> tuple[float, float, float]:
    """``(bytes per connection, RSS before, RSS after)`` for one server."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, running(argv(kind, port, tmp, connections),
                                                        port) as proc:
        for sock in open_idle(port, 200, first_source=1000):
            sock.close()
        time.sleep(0.5)
        before = rss(proc.pid)
        held = open_idle(port, connections)
        try:
            time.sleep(1.0)
            after = rss(proc.pid)
            # a last one still answers (and all are counted as held)
            for sock in open_idle(port, 1, first_source=2000):
                sock.close()
        finally:
            for sock in held:
                sock.close()
    return (after - before) / connections, before, after


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.connections + 600
    if hard != resource.RLIM_INFINITY and hard < need:
        print(f"the hard descriptor limit {hard} is below {need}", file=sys.stderr)
        return 1
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    kinds = ["sockit"]
    if all(importlib.util.find_spec(m) for m in ("httptools", "uvicorn", "uvloop")):
        kinds.append("uvicorn")
    else:
        print("uvicorn/httptools/uvloop missing: pip install -e '.[bench]'", file=sys.stderr)
    per: dict[str, list[float]] = {k: [] for k in kinds}
    rss_of: dict[str, tuple[float, float]] = {}
    for r in range(args.rounds):
        for kind in kinds[r % len(kinds):] + kinds[: r % len(kinds)]:
            cost, before, after = measure(kind, args.connections)
            per[kind].append(cost)
            rss_of[kind] = (before, after)
    print(f"memory per idle keep-alive connection at {args.connections:,} connections "
          f"(median of {args.rounds} round{'s' if args.rounds > 1 else ''})")
    print(f"{'server':<10}{'RSS before':>12}{'RSS held':>12}{'per conn':>12}{'sockit ratio':>14}")
    mine = statistics.median(per["sockit"])
    for kind in kinds:
        cost = statistics.median(per[kind])
        before, after = rss_of[kind]
        print(f"{kind:<10}{before / 2**20:>9.1f} MiB{after / 2**20:>8.1f} MiB"
              f"{cost / 1024:>8.2f} KiB{mine / cost:>13.2f}x")
    print("(ratio = sockit's bytes per connection / the server's: below 1 = sockit smaller)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
