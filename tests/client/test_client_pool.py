"""Pooling: reuse, stale connections and the one retry, streaming, many threads."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from sockit import HTTPClient
from sockit.client import Timeouts
from sockit.errors import ConnectionClosed, LocalProtocolError
from sockit.limits import ClientLimits
from sockit.observe import REGISTRY
from tests.client.rawserver import Peer, RawRequest, RawServer, keep_alive

Serve = Callable[[Callable[[Peer], None]], RawServer]


def retries() -> float:
    metric = REGISTRY.get("sockit_client_stale_retries_total")
    assert metric is not None
    return float(metric.value)  # type: ignore[attr-defined]


def close_on_second_request(peer: Peer) -> None:
    """First connection: answer once, then close on the next request unanswered.

    That is the race a check before reuse cannot catch: the server gives up
    on the connection just as the client sends on it. Later connections
    answer normally.
    """
    while True:
        req = peer.read_request()
        if req is None:
            return
        if peer.index == 0 and req.target != "/first":
            return  # closes without a byte of response
        peer.respond(f"{peer.index}:{req.method} {req.target} {req.body.decode()}".encode())


def test_stale_connection_is_retried_once(serve: Serve, client: HTTPClient) -> None:
    server = serve(close_on_second_request)
    assert client.get(server.url("/first")).content == b"0:GET /first "
    before = retries()
    assert client.get(server.url("/again")).content == b"1:GET /again "
    assert retries() == before + 1
    assert server.accepted == 2


def test_stale_connection_retry_replays_bytes_and_files(serve: Serve, client: HTTPClient) -> None:
    import io

    server = serve(close_on_second_request)
    client.get(server.url("/first"))
    assert client.delete(server.url("/p")).content == b"1:DELETE /p "
    server2 = serve(close_on_second_request)
    client.get(server2.url("/first"))
    body = io.BytesIO(b"from a file")
    assert client.put(server2.url("/f"), body).content == b"1:PUT /f from a file"


def test_post_is_never_sent_twice(serve: Serve, client: HTTPClient) -> None:
    server = serve(close_on_second_request)
    client.get(server.url("/first"))
    with pytest.raises(ConnectionClosed):
        client.post(server.url("/pay"), b"amount=100")
    assert server.accepted == 1


def test_iterator_body_is_not_retried(serve: Serve, client: HTTPClient) -> None:
    server = serve(close_on_second_request)
    client.get(server.url("/first"))
    before = retries()
    with pytest.raises(ConnectionClosed):
        client.post(server.url("/it"), iter([b"once"]))
    assert retries() == before
    assert server.accepted == 1


def test_fresh_connection_failure_is_not_retried(serve: Serve, client: HTTPClient) -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()  # and close without answering, every time

    server = serve(handler)
    with pytest.raises(ConnectionClosed):
        client.get(server.url())
    assert server.accepted == 1


def test_closed_idle_connection_is_noticed_before_reuse(serve: Serve, client: HTTPClient) -> None:
    closed = threading.Event()

    def handler(peer: Peer) -> None:
        req = peer.read_request()
        assert req is not None
        peer.respond(str(peer.index).encode())
        if peer.index == 0:
            peer.sock.close()
            closed.set()
            return
        keep_alive(lambda r, p: p.respond(str(p.index).encode()))(peer)

    server = serve(handler)
    assert client.get(server.url()).content == b"0"
    assert closed.wait(5)
    before = retries()
    assert client.get(server.url()).content == b"1"
    assert retries() == before  # found readable (EOF) in the pool: no retry needed
    assert server.accepted == 2


def test_idle_connections_expire(serve: Serve) -> None:
    server = serve(keep_alive(lambda req, peer: peer.respond(b"x")))
    with HTTPClient(limits=ClientLimits(pool_idle_timeout=0.05)) as c:
        c.get(server.url())
        time.sleep(0.1)  # past the idle timeout (an outcome, not a timing check)
        c.get(server.url())
    assert server.accepted == 2


def test_stream_read_fully_returns_connection(serve: Serve, client: HTTPClient) -> None:
    body = bytes(range(256)) * 1000
    server = serve(keep_alive(lambda req, peer: peer.respond(body)))
    with client.get(server.url(), stream=True) as r:
        assert r.status_code == 200
        open_before = not r.is_closed
        chunks = list(r.iter_bytes(1000))
    assert open_before
    assert all(len(c) == 1000 for c in chunks)
    assert b"".join(chunks) == body
    assert r.is_closed
    assert client.pool_stats().idle == 1
    assert client.get(server.url()).content == body
    assert server.accepted == 1


def test_stream_early_close_discards_connection(serve: Serve, client: HTTPClient) -> None:
    server = serve(keep_alive(lambda req, peer: peer.respond(bytes(4 << 20))))
    with client.get(server.url(), stream=True) as r:
        first = next(r.iter_bytes(1024))
        assert len(first) == 1024
    assert r.is_closed
    assert client.pool_stats().connections == 0
    with pytest.raises(LocalProtocolError):
        r.read()
    assert len(client.get(server.url()).content) == 4 << 20
    assert server.accepted == 2


def test_stream_content_reads_the_rest(serve: Serve, client: HTTPClient) -> None:
    server = serve(keep_alive(lambda req, peer: peer.respond(b"lazy body")))
    r = client.get(server.url(), stream=True)
    assert r.content == b"lazy body"
    assert r.text == "lazy body"
    assert list(r.iter_bytes()) == [b"lazy body"]
    assert client.pool_stats().idle == 1


def test_stream_iterated_twice_is_refused(serve: Serve, client: HTTPClient) -> None:
    server = serve(keep_alive(lambda req, peer: peer.respond(b"once")))
    with client.get(server.url(), stream=True) as r:
        assert b"".join(r.iter_bytes()) == b"once"
        with pytest.raises(LocalProtocolError):
            list(r.iter_bytes(0))


def test_stream_is_not_bound_by_total_after_the_head(serve: Serve, client: HTTPClient) -> None:
    gate = threading.Event()

    def answer(req: RawRequest, peer: Peer) -> None:
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc")
        gate.wait(5)
        peer.send(b"def")

    server = serve(keep_alive(answer))
    with client.get(server.url(), stream=True, timeout=Timeouts(total=0.1)) as r:
        time.sleep(0.2)  # past the total deadline, before reading the body
        gate.set()
        assert r.read() == b"abcdef"


def test_abandoned_stream_frees_its_pool_slot(serve: Serve) -> None:
    server = serve(keep_alive(lambda req, peer: peer.respond(bytes(1 << 20))))
    limits = ClientLimits(max_connections_per_host=1, max_connections=1)
    with HTTPClient(limits=limits) as c:
        r = c.get(server.url(), stream=True)
        del r
        gc.collect()
        assert len(c.get(server.url(), timeout=Timeouts(total=5)).content) == 1 << 20
        assert c.pool_stats().connections == 1


@pytest.fixture
def echo_server(serve: Serve) -> Iterator[RawServer]:
    yield serve(keep_alive(lambda req, peer: peer.respond(req.target.encode() + req.body)))


def test_many_threads_share_one_client(echo_server: RawServer) -> None:
    results: dict[int, bytes] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    with HTTPClient() as c:

        def work(worker: int) -> None:
            try:
                for i in range(10):
                    n = worker * 10 + i
                    if n % 3:
                        body = c.get(echo_server.url(f"/{n}")).content
                    else:
                        body = c.post(echo_server.url(f"/{n}"), b"+post").content
                    with lock:
                        results[n] = body
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        stats = c.pool_stats()
    assert not errors, errors
    assert len(results) == 200
    for n, body in results.items():
        assert body == (f"/{n}+post" if n % 3 == 0 else f"/{n}").encode()
    assert echo_server.accepted <= 6  # max_connections_per_host
    assert stats.connections == stats.idle <= 6


def test_no_socket_leaks(serve: Serve) -> None:
    from sockit.net import live_sockets

    server = serve(close_on_second_request)
    before = live_sockets()
    c = HTTPClient()
    c.get(server.url("/first"))
    c.get(server.url("/stale"))  # the retry path
    with c.get(server.url("/first"), stream=True) as r:
        next(r.iter_bytes(1))  # closed early
    held = c.get(server.url("/first"), stream=True)
    c.close()  # with a connection still in use
    assert held.read() == b"2:GET /first "
    assert c.pool_stats().connections == 0
    assert live_sockets() == before


def test_old_connections_are_not_reused(serve: Serve) -> None:
    server = serve(keep_alive(lambda req, peer: peer.respond(b"x")))
    with HTTPClient(limits=ClientLimits(max_connection_age=0.2)) as client:
        client.get(server.url(), timeout=5)
        client.get(server.url(), timeout=5)
        assert server.accepted == 1  # young: reused
        time.sleep(0.3)
        client.get(server.url(), timeout=5)
        assert server.accepted == 2  # too old: a new connection


def test_pool_gauges_follow_connections(serve: Serve) -> None:
    gauge = REGISTRY.get("sockit_client_pool_connections")
    assert gauge is not None

    def value(state: str) -> float:
        return float(gauge.labels(state).value)  # type: ignore[attr-defined]

    active0, idle0 = value("active"), value("idle")
    server = serve(keep_alive(lambda req, peer: peer.respond(b"x")))
    with HTTPClient() as client:
        with client.stream("GET", server.url(), timeout=5) as r:
            assert value("active") == active0 + 1
            r.read()
        assert (value("active"), value("idle")) == (active0, idle0 + 1)
    assert (value("active"), value("idle")) == (active0, idle0)
