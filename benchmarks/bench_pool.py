"""ConnectionPool cost per operation at 10 000 connections, against a plain dict.

Times ``add``, ``get`` (by socket and by fd), a first buffer access and
``remove(close=False)`` over ``--n`` socketpair ends, with and without a
per-IP cap, and the same bookkeeping done with a bare ``dict`` keyed by fd as
the floor. Each figure is the best of ``--rounds`` rounds (the machine is
shared: the best round is the one least disturbed). The ratio says what the
pool's admission, counters, metrics and lock cost per connection.

    python benchmarks/bench_pool.py [--n 10000] [--rounds 5]

A benchmark prints numbers; it never asserts on them.
"""

from __future__ import annotations

import argparse
import resource
import time

from sockit.limits import PoolLimits
from sockit.net import UnixSocket, socketpair
from sockit.net.pool import ConnectionPool
from sockit.observe import MetricsRegistry


def _peers(n: int) -> list[tuple[str, int]]:
    return [(f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}", 1000) for i in range(n)]


def bench_pool(socks: list[UnixSocket], per_ip: int | None) -> dict[str, float]:
    """Seconds per operation for one round on a fresh pool."""
    n = len(socks)
    pool = ConnectionPool(PoolLimits(max_connections=n), max_per_ip=per_ip,
                          registry=MetricsRegistry())
    peers = _peers(n)
    t0 = time.perf_counter()
    for s, p in zip(socks, peers, strict=True):
        pool.add(s, peer=p)
    t1 = time.perf_counter()
    for s in socks:
        pool.get(s)
    t2 = time.perf_counter()
    for s in socks:
        pool.get(s.fileno())
    t3 = time.perf_counter()
    for c in pool:
        _ = c.recv_buffer
    t4 = time.perf_counter()
    for s in socks:
        pool.remove(s, close=False)
    t5 = time.perf_counter()
    return {"add": (t1 - t0) / n, "get(sock)": (t2 - t1) / n, "get(fd)": (t3 - t2) / n,
            "buffer": (t4 - t3) / n, "remove": (t5 - t4) / n}


def bench_dict(socks: list[UnixSocket]) -> dict[str, float]:
    """The floor: the same bookkeeping in a dict by fd, no limits, no buffers."""
    n = len(socks)
    table: dict[int, tuple[UnixSocket, tuple[str, int], float]] = {}
    peers = _peers(n)
    t0 = time.perf_counter()
    for s, p in zip(socks, peers, strict=True):
        table[s.fileno()] = (s, p, time.monotonic())
    t1 = time.perf_counter()
    for s in socks:
        table.get(s.fileno())
    t2 = time.perf_counter()
    for s in socks:
        del table[s.fileno()]
    t3 = time.perf_counter()
    return {"add": (t1 - t0) / n, "get(sock)": (t2 - t1) / n, "remove": (t3 - t2) / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.n + 256
    if soft < need <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    socks: list[UnixSocket] = []
    for _ in range(args.n):
        a, b = socketpair()
        b.close()
        socks.append(a)
    try:
        results: dict[str, dict[str, float]] = {}
        for name, run in (("dict", lambda: bench_dict(socks)),
                          ("pool", lambda: bench_pool(socks, None)),
                          ("pool+per_ip", lambda: bench_pool(socks, 10))):
            best: dict[str, float] = {}
            for _ in range(args.rounds):
                for op, secs in run().items():
                    best[op] = min(best.get(op, secs), secs)
            results[name] = best
    finally:
        for s in socks:
            s.close()
    floor = results["dict"]
    print(f"{args.n} connections, best of {args.rounds} rounds, microseconds per operation")
    print(f"{'op':<10} {'dict':>8} {'pool':>8} {'pool+per_ip':>12} {'pool/dict':>10}")
    for op in ("add", "get(sock)", "get(fd)", "buffer", "remove"):
        base = floor.get(op)
        pool, capped = results["pool"][op], results["pool+per_ip"][op]
        ratio = f"{pool / base:.1f}x" if base else "-"
        base_s = f"{base * 1e6:.2f}" if base else "-"
        print(f"{op:<10} {base_s:>8} {pool * 1e6:>8.2f} {capped * 1e6:>12.2f} {ratio:>10}")


if __name__ == "__main__":
    main()
