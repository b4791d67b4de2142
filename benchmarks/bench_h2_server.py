"""HTTP/2 (h2c) server throughput under ``h2load``: sockit vs hypercorn vs nginx.

Each server answers ``GET /hello`` with ``hello world\\n`` over cleartext
HTTP/2 with prior knowledge: sockit through ``python -m sockit serve``;
hypercorn (one worker, asyncio) with a minimal ASGI app; nginx with
``listen ... http2`` and ``return 200``. Servers run one at a time, in
interleaved rounds. Prints requests/s (best and median), h2load's failures,
and sockit's ratio to each peer.

Run: ``python benchmarks/bench_h2_server.py [-n 50000] [-c 10] [-m 10] [--rounds 3]``.
Needs ``h2load`` and ``nginx`` (Debian ``nghttp2-client``, ``nginx-light``) and
``hypercorn`` (``pip install -e '.[bench]'``); a missing peer is reported and skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _support import find_program, free_port, nginx_config, running, server_rounds

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def server(kind: str, tmp: Path) -> Iterator[int]:
    port = free_port()
    if kind == "sockit":
        argv = [sys.executable, "-m", "sockit", "serve", str(tmp), "--port", str(port)]
    elif kind == "hypercorn":
        conf = tmp / "hypercorn.toml"  # no GOAWAY after 1000 requests per connection
        conf.write_text("keep_alive_max_requests = 100000000\n")
        argv = [sys.executable, "-m", "hypercorn", "--bind", f"127.0.0.1:{port}",
                "--workers", "1", "--log-level", "warning", "--config", str(conf),
                "_asgi_hello:app"]
    else:
        conf = tmp / "nginx.conf"
        hello = "location /hello { default_type text/plain; return 200 'hello world\\n'; }"
        many = "keepalive_requests 100000000;"  # no GOAWAY after 1000 requests
        conf.write_text(nginx_config(tmp, port, http=many, server=hello, listen="http2"))
        argv = [str(find_program("nginx")), "-p", str(tmp), "-c", str(conf)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "benchmarks")}
    with running(argv, port, env=env):
        yield port


def run_h2load(port: int, n: int, clients: int, streams: int) -> tuple[float, str]:
    out = subprocess.run(
        ["h2load", "-n", str(n), "-c", str(clients), "-m", str(streams),
         f"http://127.0.0.1:{port}/hello"],
        capture_output=True, text=True, check=True, timeout=600,
    ).stdout
    rate = float(re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out)[1])  # type: ignore[index]
    counts = re.search(r"(\d+) succeeded, (\d+) failed, (\d+) errored", out)
    assert counts is not None, out
    ok, failed, errored = map(int, counts.groups())
    note = "no errors" if ok == n else f"{ok} ok, {failed} failed, {errored} errored"
    return rate, note


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=50000)
    parser.add_argument("-c", type=int, default=10)
    parser.add_argument("-m", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if find_program("h2load") is None:
        print("h2load is not installed (apt-get install nghttp2-client)", file=sys.stderr)
        return 1
    kinds = ["sockit"]
    if importlib.util.find_spec("hypercorn"):
        kinds.append("hypercorn")
    else:
        print("hypercorn missing: pip install -e '.[bench]'", file=sys.stderr)
    if find_program("nginx"):
        kinds.append("nginx")

    def measure(kind: str, tmp: Path) -> tuple[float, str]:
        with server(kind, tmp) as port:
            run_h2load(port, min(2000, args.n), args.c, args.m)  # warm-up
            return run_h2load(port, args.n, args.c, args.m)

    title = f"h2load -n {args.n} -c {args.c} -m {args.m} GET /hello (h2c)"
    server_rounds(kinds, args.rounds, measure, title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
