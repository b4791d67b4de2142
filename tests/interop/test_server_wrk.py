"""sockit's HTTP server under load: wrk keep-alive traffic, and no descriptor growth."""

from __future__ import annotations

import gc
import re
import socket
import subprocess
import sys
import time

import pytest

from sockit.server import Response, ServerRequest
from tests.server.harness import fd_count, running
from tests.server.rawclient import wait_until
from tests.support.peers import require_program

pytestmark = pytest.mark.interop

HELLO = Response(200, [("Content-Type", "text/plain")], b"hello world\n")


def hello(request: ServerRequest) -> Response:
    return HELLO if request.path == "/hello" else Response(404)


def test_wrk_keep_alive_load_has_no_errors() -> None:
    wrk = require_program("wrk")
    with running(hello) as srv:
        proc = subprocess.run(
            [wrk, "-t1", "-c50", "-d3s", f"{srv.url}/hello"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert wait_until(lambda: srv.connection_count == 0)
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr
    assert "Non-2xx or 3xx responses" not in out, out
    assert "Socket errors" not in out, out
    match = re.search(r"(\d+) requests in", out)
    assert match is not None, out
    assert int(match.group(1)) > 0
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    print(f"wrk -t1 -c50 -d3s /hello: {rate.group(1) if rate else '?'} req/s")


def _keep_alive_batches(port: int, connections: int, per_connection: int, batch: int) -> int:
    """Pipelined keep-alive GETs over fresh connections; the number of responses read."""
    request = b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
    answer = b"hello world\n"
    done = 0
    for _ in range(connections):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            buf = b""
            for _ in range(per_connection // batch):
                sock.sendall(request * batch)
                seen = 0
                while seen < batch:
                    data = sock.recv(65536)
                    assert data, "server closed a keep-alive connection"
                    buf += data
                    seen = buf.count(answer)
                assert buf.count(b"HTTP/1.1 200 OK\r\n") == batch
                buf = b""
                done += batch
    return done


def test_no_descriptor_or_memory_growth_over_20000_requests() -> None:
    with running(hello) as srv:
        _keep_alive_batches(srv.port, 4, 500, 10)  # warm up: lazy imports, caches, metrics
        assert wait_until(lambda: srv.connection_count == 0)
        before = fd_count()
        gc.collect()
        blocks_before = sys.getallocatedblocks()
        start = time.monotonic()
        done = _keep_alive_batches(srv.port, 40, 500, 10)
        assert done == 20_000
        assert wait_until(lambda: srv.connection_count == 0)
        assert wait_until(lambda: fd_count() == before)
        gc.collect()
        grown = sys.getallocatedblocks() - blocks_before
        # a leak of one object per request would be 20,000+ blocks
        print(f"memory blocks grown: {grown}")
        assert grown < 2_000, f"{grown} more memory blocks after 20,000 requests"
        print(f"20000 keep-alive requests in {time.monotonic() - start:.2f} s")
