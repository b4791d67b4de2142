"""10,000 concurrent idle keep-alive connections held by ``python -m sockit serve``.

The server runs in its own process so its memory can be read from
``/proc/PID/status`` (``VmRSS``) before and after; the test process opens
the connections with plain sockets, in batches, each making one request and
then staying idle (keep-alive). They come from 200 loopback source
addresses (50 each), so the per-client limit (100) does not refuse them and
no one address runs short of ephemeral ports. Both processes need more
descriptors than the usual soft limit of 1024: the test raises its own soft
limit within the hard one, and the child inherits it.

The memory bound is generous (64 KiB per connection); the figure itself is
printed (run with ``-s``) and goes into ``docs/benchmarks.md``.
"""

from __future__ import annotations

import os
import random
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.server.rawclient import RawClient, wait_until
from tests.support.peers import free_port, wait_for_port

CONNECTIONS = 10_000
PER_SOURCE = 50
BATCH = 100  # below the listen backlog (128): a batch of connects never overflows it
MAX_BYTES_PER_CONNECTION = 64 * 1024
#: descriptors each process needs: the connections plus headroom
NEED_FDS = CONNECTIONS + 600

#: Linux: bind picks no port, connect does, per 4-tuple (so TIME_WAIT ones are reused)
BIND_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
HELLO = b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
ANSWER_END = b"hello world\n"


@pytest.fixture
def fd_limit() -> Iterator[int]:
    """Raise this process's soft RLIMIT_NOFILE (children inherit it); restore it after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    raised = hard
    if hard != resource.RLIM_INFINITY and hard < NEED_FDS:
        try:  # root (as in CI) may raise the hard limit itself
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, NEED_FDS))
            raised = NEED_FDS
        except (ValueError, OSError):
            msg = f"the hard descriptor limit {hard} is below the {NEED_FDS} needed"
            if os.environ.get("SOCKIT_REQUIRE_PEERS") == "1":
                pytest.fail(msg + " (and it cannot be raised)")
            pytest.skip(msg)
    new = max(soft, NEED_FDS) if soft != resource.RLIM_INFINITY else soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, raised))
    try:
        yield new
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, raised))


@contextmanager
def serve(directory: Path, log: Path) -> Iterator[tuple[int, int]]:
    """``python -m sockit serve`` allowing the connections; yields ``(pid, port)``."""
    port = free_port()
    argv = [sys.executable, "-m", "sockit", "serve", str(directory), "--port", str(port),
            "--max-connections", str(CONNECTIONS + 100)]
    with open(log, "wb") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err)
    try:
        wait_for_port("127.0.0.1", port, timeout=15)
        yield proc.pid, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` from ``/proc/PID/status``."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line")


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def read_answer(sock: socket.socket) -> bytes:
    got = b""
    while not got.endswith(ANSWER_END):
        data = sock.recv(4096)
        if not data:
            raise AssertionError(f"the server closed a keep-alive connection after {got!r}")
        got += data
    return got


def open_idle(port: int, count: int, first_source: int = 0) -> list[socket.socket]:
    """``count`` keep-alive connections, each after one answered request, in batches."""
    held: list[socket.socket] = []
    try:
        for start in range(0, count, BATCH):
            batch = []
            for i in range(start, min(start + BATCH, count)):
                n = first_source + i // PER_SOURCE
                sock = socket.socket()
                held.append(sock)
                sock.setsockopt(socket.IPPROTO_IP, BIND_NO_PORT, 1)
                sock.settimeout(15)
                sock.bind((f"127.1.{n // 250}.{n % 250 + 1}", 0))
                sock.connect(("127.0.0.1", port))
                batch.append(sock)
            for sock in batch:
                sock.sendall(HELLO)
            for sock in batch:
                answer = read_answer(sock)
                assert answer.startswith(b"HTTP/1.1 200 "), answer
    except BaseException:
        for sock in held:
            sock.close()
        raise
    return held


def test_ten_thousand_idle_keep_alive_connections_are_held(
    fd_limit: int, tmp_path: Path
) -> None:
    (tmp_path / "www").mkdir()
    with serve(tmp_path / "www", tmp_path / "serve.log") as (pid, port):
        # warm up: the first connections build caches, import lazily, grow the heap
        for sock in open_idle(port, 200, first_source=1000):
            sock.close()
        assert wait_until(lambda: fds(pid) < 50, timeout=10)
        time.sleep(0.2)
        base_fds, base_rss = fds(pid), rss_bytes(pid)

        start = time.monotonic()
        held = open_idle(port, CONNECTIONS)
        try:
            opened = time.monotonic() - start
            assert wait_until(lambda: fds(pid) >= base_fds + CONNECTIONS, timeout=10)
            time.sleep(0.5)  # idle: nothing more should be allocated
            rss = rss_bytes(pid)
            per_connection = (rss - base_rss) / CONNECTIONS
            print(f"\n{CONNECTIONS} idle keep-alive connections opened in {opened:.1f} s; "
                  f"server RSS {base_rss / 2**20:.1f} -> {rss / 2**20:.1f} MiB: "
                  f"{per_connection / 1024:.1f} KiB per connection")

            # one more client is still served, promptly
            t0 = time.monotonic()
            with RawClient(port) as client:
                resp = client.get("/hello")
            assert (resp.status, resp.body) == (200, ANSWER_END)
            assert time.monotonic() - t0 < 2.0
            # and the held ones are alive: a sample of them asks again
            for sock in random.Random(11).sample(held, 100):
                sock.sendall(HELLO)
                assert read_answer(sock).startswith(b"HTTP/1.1 200 ")
            assert fds(pid) >= base_fds + CONNECTIONS  # none was dropped meanwhile
        finally:
            for sock in held:
                sock.close()
        assert wait_until(lambda: fds(pid) <= base_fds, timeout=20), (base_fds, fds(pid))
        assert per_connection < MAX_BYTES_PER_CONNECTION
    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-2000:]
