"""HTTP client speed against nginx: sockit vs urllib3, requests and httpx.

Two measurements, each against a private nginx (started here, in the
foreground, on a free loopback port, and stopped by PID at the end):

* **HTTP/1.1, sequential**: ``--requests`` (2,000) keep-alive GETs of a small
  static file, one after the other, reading the whole body of each:
  sockit ``HTTPClient``, ``urllib3.PoolManager``, ``requests.Session`` and
  ``httpx.Client``.
* **HTTP/2, concurrent** (h2c, prior knowledge): ``--h2-requests`` (1,000)
  GETs of the same file in flight at once over one connection: sockit's
  ``HTTPClient(http2_prior_knowledge=True)`` shared by ``--threads`` (50)
  threads, vs httpx with ``http2=True`` (``http1=False`` for prior knowledge)
  both shared by the same number of threads and as an ``AsyncClient`` with
  all the requests gathered at once (httpx's best case).

A round runs every client once, in turn; the best of ``--rounds`` (3) rounds
counts. Printed: requests per second for each client and sockit's ratio to
each peer (above 1 = sockit faster).

    python benchmarks/bench_client.py [--requests 2000] [--h2-requests 1000]
                                      [--threads 50] [--rounds 3] [--only h1|h2]

nginx missing: the script says so and exits with status 0. A missing peer
library drops its row. A benchmark prints numbers; it never asserts on them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from _support import find_program, free_port, nginx_config, running

BODY = b"hello, world\n"


@contextmanager
def nginx(binary: str, *, h2c: bool = False) -> Iterator[int]:
    with tempfile.TemporaryDirectory(prefix="sockit-bench-") as d:
        tmp = Path(d)
        root = tmp / "www"
        root.mkdir()
        (root / "small.txt").write_bytes(BODY)
        port = free_port()
        conf = tmp / "nginx.conf"
        http = "keepalive_requests 100000;"
        if h2c:
            http += " http2_max_concurrent_streams 1000;"
        conf.write_text(
            nginx_config(tmp, port, http=http, server=f"root {root};",
                         listen="http2" if h2c else "")
        )
        with running([binary, "-p", str(tmp), "-c", str(conf)], port):
            yield port


Runner = Callable[[str, int], None]


# -- HTTP/1.1, sequential -----------------------------------------------------------


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


def run_requests(url: str, n: int) -> None:
    import requests

    with requests.Session() as session:
        for _ in range(n):
            r = session.get(url)
            assert r.status_code == 200 and r.content == BODY


def run_httpx(url: str, n: int) -> None:
    import httpx

    with httpx.Client() as client:
        for _ in range(n):
            r = client.get(url)
            assert r.status_code == 200 and r.content == BODY


# -- HTTP/2, concurrent ----------------------------------------------------------------


def _threaded(get: Callable[[], None], n: int, threads: int) -> None:
    """``n`` calls of ``get`` spread over ``threads`` threads, all started together."""
    counts = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]
    start = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        start.wait()
        try:
            for _ in range(k):
                get()
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(k,)) for k in counts]
    for t in pool:
        t.start()
    start.wait()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]


def h2_sockit(threads: int) -> Runner:
    def run(url: str, n: int) -> None:
        from sockit import HTTPClient

        with HTTPClient(http2_prior_knowledge=True) as client:
            client.get(url)  # the connection and its SETTINGS exchange, outside the count

            def get() -> None:
                r = client.get(url)
                assert r.status_code == 200 and r.content == BODY and r.http_version == "HTTP/2"

            _threaded(get, n, threads)

    return run


def h2_httpx_threads(threads: int) -> Runner:
    def run(url: str, n: int) -> None:
        import httpx

        limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
        with httpx.Client(http1=False, http2=True, limits=limits) as client:
            client.get(url)

            def get() -> None:
                r = client.get(url)
                assert r.status_code == 200 and r.content == BODY and r.http_version == "HTTP/2"

            _threaded(get, n, threads)

    return run


def h2_httpx_async(url: str, n: int) -> None:
    import asyncio

    import httpx

    async def main() -> None:
        limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
        async with httpx.AsyncClient(http1=False, http2=True, limits=limits) as client:
            await client.get(url)

            async def get() -> None:
                r = await client.get(url)
                assert r.status_code == 200 and r.content == BODY and r.http_version == "HTTP/2"

            await asyncio.gather(*(get() for _ in range(n)))

    asyncio.run(main())


# -- running --------------------------------------------------------------------------------


def _installed(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        print(f"({name} is not installed: pip install {name})")
        return False
    return True


def h1_runners() -> dict[str, Runner]:
    runners: dict[str, Runner] = {"sockit": run_sockit}
    for name, runner in (
        ("urllib3", run_urllib3), ("requests", run_requests), ("httpx", run_httpx),
    ):
        if _installed(name):
            runners[name] = runner
    return runners


def h2_runners(threads: int) -> dict[str, Runner]:
    runners: dict[str, Runner] = {"sockit": h2_sockit(threads)}
    if _installed("httpx") and _installed("h2"):
        runners[f"httpx-{threads}thr"] = h2_httpx_threads(threads)
        runners["httpx-async"] = h2_httpx_async
    return runners


def measure(
    runners: dict[str, Runner], url: str, n: int, rounds: int
) -> tuple[dict[str, float], dict[str, str]]:
    """Best rate per client, and the first error of each client that failed a run
    (a failing client is dropped from the later rounds; its best is of its clean runs)."""
    best: dict[str, float] = {}
    failed: dict[str, str] = {}
    for round_no in range(rounds + 1):
        warm_up = round_no == 0  # imports, first connections
        for name, runner in runners.items():
            if name in failed:
                continue
            start = time.perf_counter()
            try:
                runner(url, 50 if warm_up else n)
            except Exception as exc:
                failed[name] = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
                continue
            if not warm_up:
                rate = n / (time.perf_counter() - start)
                best[name] = max(best.get(name, 0.0), rate)
    return best, failed


def report(title: str, best: dict[str, float], failed: dict[str, str]) -> None:
    print(title)
    for name, rate in best.items():
        print(f"  {name:12s} {rate:10,.0f} req/s")
    for name, error in failed.items():
        print(f"  {name:12s} failed: {error}")
    for name, rate in best.items():
        if name != "sockit" and "sockit" in best:
            print(f"  sockit / {name}: {best['sockit'] / rate:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--h2-requests", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("h1", "h2"))
    args = parser.parse_args()
    binary = find_program("nginx")
    if binary is None:
        print("nginx is not installed: apt-get install nginx-light (see ../shared/PEERS.md)")
        print("benchmark skipped")
        return 0
    if args.only != "h2":
        with nginx(binary) as port:
            best, failed = measure(h1_runners(), f"http://127.0.0.1:{port}/small.txt",
                                   args.requests, args.rounds)
        report(f"HTTP/1.1: {args.requests} sequential keep-alive GETs of a {len(BODY)}-byte "
               f"file from nginx, best of {args.rounds}", best, failed)
    if args.only != "h1":
        with nginx(binary, h2c=True) as port:
            best, failed = measure(h2_runners(args.threads),
                                   f"http://127.0.0.1:{port}/small.txt",
                                   args.h2_requests, args.rounds)
        report(f"HTTP/2 (h2c): {args.h2_requests} concurrent GETs of a {len(BODY)}-byte file "
               f"from nginx over one connection ({args.threads} threads), best of "
               f"{args.rounds}", best, failed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
