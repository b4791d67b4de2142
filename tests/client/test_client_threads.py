"""One HTTPClient shared by many threads: correctness, pool bounds, cancellation, no leaks.

The server is sockit's own (``tests.server.harness.running``) on loopback;
the same load against nginx is in ``tests/interop/test_client_nginx_load.py``.
Every test is bounded in count (1000 requests at most) and in time (a join
with a timeout, a total deadline on each request).
"""

from __future__ import annotations

import gc
import random
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from sockit import HTTPClient
from sockit.client import Timeouts
from sockit.limits import ClientLimits
from sockit.server import Response, ServerRequest
from tests.client.misbehaving import client_sockets
from tests.server.harness import fd_count, running

BIG = bytes(range(256)) * 4096  # 1 MiB, more than the socket buffers hold
TEXT = [("Content-Type", "text/plain")]


def app(request: ServerRequest) -> Response:
    """``/n/<i>`` echoes ``i`` (so answers cannot be mixed up), ``/big`` is 1 MiB."""
    if request.path == "/big":
        return Response(200, TEXT, BIG)
    if request.path == "/echo":
        return Response(200, TEXT, request.body)
    return Response(200, TEXT, request.path.encode())


@pytest.fixture(autouse=True)
def no_fd_leak() -> Iterator[None]:
    """Client, server and every connection are closed when a test ends."""
    gc.collect()
    before = fd_count()
    yield
    gc.collect()
    deadline = time.monotonic() + 2
    while fd_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fd_count() == before


def run_threads(count: int, work: Callable[[int], None], timeout: float = 60) -> None:
    """Run ``work(i)`` on ``count`` threads; re-raise the first failure; bounded in time."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def target(i: int) -> None:
        try:
            start.wait(10)
            work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    end = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "threads still running at the deadline"
    if errors:
        raise errors[0]


def assert_pool_sane(client: HTTPClient, port: int, per_host: int) -> None:
    """Everything is back in the pool, within its bound, and matches the open sockets."""
    stats = client.pool_stats()
    assert 1 <= stats.connections <= per_host
    assert stats.idle == stats.connections
    assert sum(stats.per_origin.values()) == stats.connections
    assert client_sockets(port) == stats.connections


@pytest.mark.parametrize("per_host", [6, 50])
def test_1000_requests_from_50_threads(per_host: int) -> None:
    limits = ClientLimits(max_connections_per_host=per_host)
    statuses: list[int] = []
    lock = threading.Lock()
    with running(app, workers=2) as server, HTTPClient(limits=limits) as client:

        def work(i: int) -> None:
            for j in range(20):
                path = f"/n/{i}/{j}"
                r = client.get(server.url + path, timeout=Timeouts(total=30))
                assert r.content == path.encode()
                with lock:
                    statuses.append(r.status_code)

        run_threads(50, work)
        assert statuses == [200] * 1000
        assert_pool_sane(client, server.port, per_host)


def test_posts_from_many_threads_are_not_mixed_up() -> None:
    with running(app, workers=2) as server, HTTPClient() as client:

        def work(i: int) -> None:
            rng = random.Random(i)
            for _ in range(10):
                body = rng.randbytes(rng.randrange(0, 200_000))
                r = client.post(server.url + "/echo", body, timeout=Timeouts(total=30))
                assert (r.status_code, r.content) == (200, body)

        run_threads(20, work)
        assert_pool_sane(client, server.port, 6)


@pytest.mark.parametrize("how", ["close", "with", "drop", "break"])
def test_cancelling_streams_from_many_threads_leaks_nothing(how: str) -> None:
    """Responses abandoned half-read: their connections are closed, never reused."""
    with running(app, workers=2) as server, HTTPClient() as client:
        url = server.url + "/big"

        def work(i: int) -> None:
            for _ in range(5):
                r = client.get(url, stream=True, timeout=Timeouts(total=30))
                if how == "close":
                    next(r.iter_bytes(4096))
                    r.close()
                elif how == "with":
                    with r:
                        next(r.iter_bytes(4096))
                elif how == "drop":
                    del r  # body never touched: the finalizer gives the connection up
                else:
                    for _chunk in r.iter_bytes(4096):
                        break  # the generator's cleanup closes the response
                    r.close()
                # the good path in between, on the same client
                assert client.get(server.url + "/n/ok", timeout=Timeouts(total=30)).content == (
                    b"/n/ok"
                )

        run_threads(20, work)
        gc.collect()
        assert client.get(server.url + "/n/last").status_code == 200
        assert_pool_sane(client, server.port, 6)


def test_mixed_complete_and_cancelled_streams() -> None:
    """Half the threads read bodies to the end (pooled), half give up (closed)."""
    with running(app, workers=2) as server, HTTPClient() as client:
        url = server.url + "/big"

        def work(i: int) -> None:
            for k in range(5):
                with client.get(url, stream=True, timeout=Timeouts(total=30)) as r:
                    if (i + k) % 2:
                        assert b"".join(r.iter_bytes()) == BIG
                    else:
                        next(r.iter_bytes())

        run_threads(20, work)
        assert_pool_sane(client, server.port, 6)


def test_pool_waits_are_bounded_when_every_connection_is_held() -> None:
    """With 2 connections held by streams, 10 more threads wait, then all get answers."""
    limits = ClientLimits(max_connections_per_host=2, max_connections=2)
    with running(app, workers=2) as server, HTTPClient(limits=limits) as client:
        held = [client.get(server.url + "/big", stream=True) for _ in range(2)]
        done: list[int] = []

        def work(i: int) -> None:
            r = client.get(server.url + f"/n/{i}", timeout=Timeouts(total=20))
            done.append(r.status_code)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
        time.sleep(0.05)
        assert done == []  # all waiting for a slot
        for r in held:
            assert r.read() == BIG
        for t in threads:
            t.join(20)
        assert done == [200] * 10
        assert_pool_sane(client, server.port, 2)


def test_close_while_threads_are_requesting() -> None:
    """Closing the client under load: requests in flight finish or fail cleanly."""
    with running(app, workers=2) as server:
        client = HTTPClient()
        outcomes: list[str] = []

        def work(i: int) -> None:
            for j in range(50):
                try:
                    client.get(server.url + f"/n/{i}/{j}", timeout=Timeouts(total=10))
                except Exception as exc:  # the only acceptable failure: the client is closed
                    assert "closed" in str(exc), exc
                    outcomes.append("closed")
                    return
            outcomes.append("done")

        closer = threading.Timer(0.05, client.close)
        closer.start()
        run_threads(20, work)
        closer.join()
        assert len(outcomes) == 20
        assert client.pool_stats().connections == 0
        assert client_sockets(server.port) == 0
