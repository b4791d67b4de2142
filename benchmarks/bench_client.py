"""HTTP client speed: sockit HTTPClient vs urllib3.PoolManager vs httpx.Client.

Each client makes ``--requests`` (2,000) sequential keep-alive GETs of a small
static file served by a private nginx (started here, in the foreground, on a
free loopback port, and stopped by PID at the end), reading the whole body of
each response. A round runs every client once, in turn; the best of
``--rounds`` (3) rounds counts. Printed: requests per second for each client
and sockit's ratio to each peer (above 1 = sockit faster).

    python benchmarks/bench_client.py [--requests 2000] [--rounds 3]

nginx missing: the script says so and exits with status 0. A benchmark prints
numbers; it never asserts on them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from _support import find_program, free_port, nginx_config, running

BODY = b"hello, world\n"


@contextmanager
def nginx(binary: str) -> Iterator[int]:
    with tempfile.TemporaryDirectory(prefix="sockit-bench-") as d:
        tmp = Path(d)
        root = tmp / "www"
        root.mkdir()
        (root / "small.txt").write_bytes(BODY)
        port = free_port()
        conf = tmp / "nginx.conf"
        conf.write_text(
            nginx_config(tmp, port, http="keepalive_requests 100000;", server=f"root {root};")
        )
        with running([binary, "-p", str(tmp), "-c", str(conf)], port):
            yield port


Runner = Callable[[str, int], None]


def run_sockit(url: str, n: int) -> None:
    from sockit import HTTPClient

    with HTTPClient() as client:
        for _ in range(n):
            r = client.get(url)
            assert r.status_code == 200 and r.content == BODY


def run_urllib3(url: str, n: int) -> None:
    import urllib3

    with urllib3.PoolManager() as pm:
        for _ in range(n):
            r = pm.request("GET", url)
            assert r.status == 200 and r.data == BODY


def run_httpx(url: str, n: int) -> None:
    import httpx

    with httpx.Client() as client:
        for _ in range(n):
            r = client.get(url)
            assert r.status_code == 200 and r.content == BODY


def available() -> dict[str, Runner]:
    runners: dict[str, Runner] = {"sockit": run_sockit}
    for name, runner in (("urllib3", run_urllib3), ("httpx", run_httpx)):
        try:
            __import__(name)
        except ImportError:
            print(f"({name} is not installed: pip install {name})")
            continue
        runners[name] = runner
    return runners


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    binary = find_program("nginx")
    if binary is None:
        print("nginx is not installed: apt-get install nginx-light (see ../shared/PEERS.md)")
        print("benchmark skipped")
        return 0
    runners = available()
    best: dict[str, float] = {}
    with nginx(binary) as port:
        url = f"http://127.0.0.1:{port}/small.txt"
        for runner in runners.values():  # warm-up: imports, first connection
            runner(url, 50)
        for _ in range(args.rounds):
            for name, runner in runners.items():
                start = time.perf_counter()
                runner(url, args.requests)
                rate = args.requests / (time.perf_counter() - start)
                best[name] = max(best.get(name, 0.0), rate)
    print(
        f"{args.requests} sequential keep-alive GETs of a {len(BODY)}-byte file from nginx, "
        f"best of {args.rounds}"
    )
    for name, rate in best.items():
        print(f"  {name:8s} {rate:10,.0f} req/s")
    for name, rate in best.items():
        if name != "sockit":
            print(f"  sockit / {name}: {best['sockit'] / rate:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
