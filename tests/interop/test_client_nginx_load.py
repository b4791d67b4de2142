"""One HTTPClient, 50 threads, 1000 requests against a real nginx (HTTP/1.1 and h2c).

nginx echoes ``$connection`` (its serial number of the TCP connection), so
the test sees how many connections the pool really opened, not only what the
pool says. Cancelled streams of a large file must leave nothing behind.
Bounded: 1000 requests per test, every thread joined with a deadline.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sockit import HTTPClient
from sockit.client import Timeouts
from sockit.limits import ClientLimits
from tests.client.misbehaving import client_sockets
from tests.server.harness import fd_count
from tests.support.nginx import nginx_config, run_nginx
from tests.support.peers import free_port, require_program, run_peer

pytestmark = pytest.mark.interop

EXTRA = r"""
    keepalive_requests 100000;
    location = /conn { return 200 "$connection"; }
"""
BIG = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    tmp = tmp_path_factory.mktemp("nginx-load")
    with run_nginx(tmp, EXTRA) as (peer, root):
        (root / "big.bin").write_bytes(os.urandom(BIG))
        yield f"http://{peer.host}:{peer.port}", peer.port


@pytest.fixture
def no_fd_leak() -> Iterator[None]:
    gc.collect()
    before = fd_count()
    yield
    gc.collect()
    deadline = time.monotonic() + 2
    while fd_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fd_count() == before


def run_threads(count: int, work: Callable[[int], None], timeout: float = 60) -> None:
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    end = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]


@pytest.mark.usefixtures("no_fd_leak")
def test_1000_requests_from_50_threads(nginx: tuple[str, int]) -> None:
    base, port = nginx
    seen: set[bytes] = set()
    count = 0
    lock = threading.Lock()
    with HTTPClient() as client:

        def work(i: int) -> None:
            nonlocal count
            for _ in range(20):
                r = client.get(base + "/conn", timeout=Timeouts(total=30))
                assert r.status_code == 200
                with lock:
                    seen.add(r.content)
                    count += 1

        run_threads(50, work)
        stats = client.pool_stats()
        assert count == 1000
        assert 1 <= len(seen) <= ClientLimits().max_connections_per_host  # nginx's own count
        assert stats.connections == stats.idle == client_sockets(port) <= len(seen)


@pytest.mark.usefixtures("no_fd_leak")
def test_cancelled_streams_from_many_threads(nginx: tuple[str, int]) -> None:
    base, port = nginx
    with HTTPClient() as client:

        def work(i: int) -> None:
            for k in range(5):
                with client.get(base + "/big.bin", stream=True, timeout=Timeouts(total=30)) as r:
                    if (i + k) % 3 == 0:
                        assert sum(len(c) for c in r.iter_bytes()) == BIG
                    else:
                        next(r.iter_bytes())  # give up after the first piece

        run_threads(20, work)
        assert client.get(base + "/conn").status_code == 200
        stats = client.pool_stats()
        assert 1 <= stats.connections == stats.idle == client_sockets(port) <= 6


def test_1000_h2c_requests_from_50_threads(tmp_path: Path) -> None:
    binary = require_program("nginx")
    root = tmp_path / "www"
    root.mkdir()
    (root / "a.txt").write_bytes(b"over h2c\n")
    port = free_port()
    text = nginx_config(root, port, "http2_max_concurrent_streams 128;\n        "
                        "keepalive_requests 100000;")
    conf = tmp_path / "nginx.conf"
    conf.write_text(text.replace(f"listen 127.0.0.1:{port};", f"listen 127.0.0.1:{port} http2;"))
    argv = [binary, "-p", str(tmp_path), "-c", str(conf)]
    count = 0
    lock = threading.Lock()
    with run_peer(argv, port=port), HTTPClient(http2_prior_knowledge=True) as client:

        def work(i: int) -> None:
            nonlocal count
            for _ in range(20):
                r = client.get(f"http://127.0.0.1:{port}/a.txt", timeout=Timeouts(total=30))
                assert (r.status_code, r.http_version, r.content) == (200, "HTTP/2", b"over h2c\n")
                with lock:
                    count += 1

        run_threads(50, work)
        assert count == 1000
        assert client.http2_connections == 1
        assert client_sockets(port) == 1
