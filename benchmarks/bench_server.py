"""HTTP/1.1 server throughput under ``wrk -t1 -c50``: sockit vs uvicorn vs nginx.

Each server answers ``GET /hello`` with ``hello world\\n``: sockit through
``python -m sockit serve``; uvicorn (httptools + uvloop, one worker) with a
minimal ASGI app; nginx with ``return 200``. Servers run one at a time in
interleaved rounds; wrk runs for ``--seconds`` each time. Prints requests/s
(best and median of rounds), wrk's error counts, and sockit's ratio to each.

Run: ``python benchmarks/bench_server.py [--seconds 5] [--rounds 3]``.
Needs ``wrk`` and ``nginx`` (Debian packages) and ``uvicorn``, ``httptools``,
``uvloop`` (``pip install -e '.[bench]'``); a missing peer is reported and skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
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
    elif kind == "uvicorn":
        argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "benchmarks"),
                "_asgi_hello:app", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
                "--no-access-log", "--log-level", "warning"]
    else:
        conf = tmp / "nginx.conf"
        hello = "location /hello { default_type text/plain; return 200 'hello world\\n'; }"
        conf.write_text(nginx_config(tmp, port, server=hello))
        argv = [str(find_program("nginx")), "-p", str(tmp), "-c", str(conf)]
    with running(argv, port):
        yield port


def run_wrk(port: int, seconds: float) -> tuple[float, str]:
    out = subprocess.run(
        ["wrk", "-t1", "-c50", f"-d{seconds:.0f}s", f"http://127.0.0.1:{port}/hello"],
        capture_output=True, text=True, check=True, timeout=seconds + 30,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    problems = ", ".join(
        line.strip() for line in out.splitlines()
        if "Non-2xx" in line or "Socket errors" in line
    )
    return rate, problems or "no errors"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 1
    kinds = ["sockit"]
    if all(importlib.util.find_spec(m) for m in ("httptools", "uvicorn", "uvloop")):
        kinds.append("uvicorn")
    else:
        print("uvicorn/httptools/uvloop missing: pip install -e '.[bench]'", file=sys.stderr)
    if find_program("nginx"):
        kinds.append("nginx")

    def measure(kind: str, tmp: Path) -> tuple[float, str]:
        with server(kind, tmp) as port:
            run_wrk(port, 1)  # warm-up
            return run_wrk(port, args.seconds)

    server_rounds(kinds, args.rounds, measure, f"wrk -t1 -c50 -d{args.seconds:.0f}s GET /hello")
    return 0


if __name__ == "__main__":
    sys.exit(main())
