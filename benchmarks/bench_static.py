"""A 100 MB static file over HTTP/1.1: MB/s of sockit serve vs nginx.

Both servers serve the same directory holding one file of ``--size`` MB of
random bytes: ``python -m sockit serve DIR`` (static files by ``sendfile``)
and nginx (``sendfile on``, one worker). The client downloads the file on a
fresh connection per transfer, either with a raw socket reader in this
process (``recv_into`` a reused 1 MiB buffer: no parsing beyond the head)
or with ``curl -o /dev/null``. Each server is checked once first (the bytes
received hash to the file's SHA-256), then timed in ``--rounds``
interleaved rounds of ``--transfers`` downloads; the best and median MB/s
and sockit's ratio to nginx are printed.

Run: ``python benchmarks/bench_static.py [--size 100] [--rounds 5] [--transfers 3]
[--client raw|curl]``. Needs ``nginx`` (``nginx-light``); ``curl`` for
``--client curl``. A missing nginx is reported and only sockit is measured.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _support import find_program, free_port, nginx_config, running

NAME = "big.bin"
BUFFER = 1 << 20


def make_file(path: Path, megabytes: int) -> str:
    """Write ``megabytes`` MB of random bytes to ``path``; its SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(megabytes):
            block = os.urandom(1_000_000)
            digest.update(block)
            f.write(block)
    return digest.hexdigest()


@contextmanager
def server(kind: str, www: Path, tmp: Path) -> Iterator[int]:
    port = free_port()
    if kind == "sockit":
        argv = [sys.executable, "-m", "sockit", "serve", str(www), "--port", str(port)]
    else:
        conf = tmp / "nginx.conf"
        conf.write_text(nginx_config(tmp, port, http="sendfile on; tcp_nopush on;",
                                     server=f"root {www};"))
        argv = [str(find_program("nginx")), "-p", str(tmp), "-c", str(conf)]
    with running(argv, port):
        yield port


def fetch_raw(port: int, digest: hashlib._Hash | None = None) -> int:
    """GET the file on a new connection; the body bytes received."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"GET /{NAME} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(65536)
            if not data:
                raise RuntimeError(f"closed during the head: {head!r}")
            head += data
        head, _, body = head.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 200 " not in status:
            raise RuntimeError(f"answer: {status!r}")
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        if digest is not None:
            digest.update(body)
        got = len(body)
        buf = bytearray(BUFFER)
        view = memoryview(buf)
        while got < length:
            n = sock.recv_into(buf)
            if n == 0:
                raise RuntimeError(f"closed after {got} of {length} body bytes")
            if digest is not None:
                digest.update(view[:n])
            got += n
        return got


def fetch_curl(port: int) -> int:
    out = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
         f"http://127.0.0.1:{port}/{NAME}"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout.split()
    if out[0] != "200":
        raise RuntimeError(f"curl: {out}")
    return int(out[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100, help="file size in MB (10^6 bytes)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--transfers", type=int, default=3, help="downloads per round")
    parser.add_argument("--client", choices=["raw", "curl"], default="raw")
    args = parser.parse_args()
    if args.client == "curl" and shutil.which("curl") is None:
        print("curl is not installed", file=sys.stderr)
        return 1
    kinds = ["sockit"]
    if find_program("nginx"):
        kinds.append("nginx")
    else:
        print("nginx is not installed (apt-get install nginx-light)", file=sys.stderr)

    def fetch(port: int) -> int:
        return fetch_raw(port) if args.client == "raw" else fetch_curl(port)

    rates: dict[str, list[float]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        www = tmp / "www"
        www.mkdir()
        size = args.size * 1_000_000
        expected = make_file(www / NAME, args.size)
        for kind in kinds:  # once each: the right bytes, all of them
            with server(kind, www, tmp) as port:
                digest = hashlib.sha256()
                if fetch_raw(port, digest) != size or digest.hexdigest() != expected:
                    print(f"{kind} served the wrong bytes", file=sys.stderr)
                    return 1
        for r in range(args.rounds):
            for kind in kinds[r % len(kinds):] + kinds[: r % len(kinds)]:
                with server(kind, www, tmp) as port:
                    fetch(port)  # warm-up: page cache, lazy imports
                    start = time.perf_counter()
                    for _ in range(args.transfers):
                        if fetch(port) != size:
                            print(f"{kind}: short transfer", file=sys.stderr)
                            return 1
                    took = time.perf_counter() - start
                rates[kind].append(size * args.transfers / took / 1e6)
    print(f"GET of a {args.size} MB static file, client {args.client}, "
          f"{args.transfers} transfers per round, best of {args.rounds} rounds")
    print(f"{'server':<10}{'best MB/s':>12}{'median':>12}{'sockit ratio':>14}")
    best = {k: max(v) for k, v in rates.items()}
    for kind in kinds:
        print(f"{kind:<10}{best[kind]:>12,.0f}{statistics.median(rates[kind]):>12,.0f}"
              f"{best['sockit'] / best[kind]:>13.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
