"""HTTPClient over HTTP/2 (prior knowledge) against sockit's own server."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator

import pytest

from sockit import HTTPClient
from sockit.errors import Phase, Timeout
from sockit.server import HTTPServer, Response, ServerRequest
from tests.server.harness import running

BIG = 2 * 1024 * 1024 + 5


def app(request: ServerRequest) -> Response:
    if request.path == "/big":
        return Response(200, None, bytes(range(256)) * (BIG // 256) + b"t" * (BIG % 256))
    if request.path == "/slow":
        time.sleep(1.0)
        return Response(200, None, b"late")
    if request.path == "/chunks":
        return Response(200, None, (b"c%d;" % i for i in range(1000)))
    if request.path == "/headers":
        text = "|".join(f"{k}={v}" for k, v in request.headers.items())
        return Response(200, None, text.encode())
    digest = hashlib.sha256(request.body).hexdigest()
    text = f"{request.method} {request.target} {request.http_version} {len(request.body)} {digest}"
    return Response(200, [("X-Echo", "yes")], text.encode())


@pytest.fixture
def srv() -> Iterator[HTTPServer]:
    with running(app, workers=4) as server:
        yield server


@pytest.fixture
def client() -> Iterator[HTTPClient]:
    with HTTPClient(http2_prior_knowledge=True) as c:
        yield c


def test_get_post_head(srv: HTTPServer, client: HTTPClient) -> None:
    r = client.get(f"{srv.url}/a?b=1", timeout=10)
    assert r.status_code == 200 and r.http_version == "HTTP/2"
    assert r.text.startswith("GET /a?b=1 2 0 ")
    assert r.headers["x-echo"] == "yes"
    body = b"\x00\xff" * 300_000  # several windows
    posted = client.post(f"{srv.url}/up", body=body, timeout=30)
    assert posted.text == f"POST /up 2 {len(body)} {hashlib.sha256(body).hexdigest()}"
    head = client.head(f"{srv.url}/a", timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert client.http2_connections == 1


def test_iterable_upload_is_streamed(srv: HTTPServer, client: HTTPClient) -> None:
    parts = [bytes([i]) * 70_000 for i in range(20)]
    r = client.post(f"{srv.url}/up", body=iter(parts), timeout=30)
    whole = b"".join(parts)
    assert r.text == f"POST /up 2 {len(whole)} {hashlib.sha256(whole).hexdigest()}"


def test_large_and_streamed_responses(srv: HTTPServer, client: HTTPClient) -> None:
    big = client.get(f"{srv.url}/big", timeout=30)
    assert big.content == bytes(range(256)) * (BIG // 256) + b"t" * (BIG % 256)
    with client.get(f"{srv.url}/chunks", stream=True, timeout=30) as r:
        assert b"".join(r.iter_bytes()) == b"".join(b"c%d;" % i for i in range(1000))


def test_hop_fields_dropped_host_becomes_authority(srv: HTTPServer, client: HTTPClient) -> None:
    r = client.get(f"{srv.url}/headers", headers={"Connection": "keep-alive", "X-A": "1"},
                   timeout=10)
    fields = dict(item.split("=", 1) for item in r.text.split("|"))
    assert fields["host"] == f"127.0.0.1:{srv.port}"
    assert fields["x-a"] == "1"
    assert "connection" not in fields


def test_threads_share_one_connection(srv: HTTPServer, client: HTTPClient) -> None:
    errors: list[BaseException] = []
    texts: list[str] = []

    def worker(n: int) -> None:
        try:
            for i in range(10):
                texts.append(client.get(f"{srv.url}/t{n}/{i}", timeout=30).text)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(texts) == 80 and all(t.startswith("GET /t") for t in texts)
    assert client.http2_connections == 1


def test_concurrent_slow_requests_overlap(srv: HTTPServer, client: HTTPClient) -> None:
    """Four 1-second requests on one connection finish in about one second, not four."""
    start = time.monotonic()
    threads = [threading.Thread(target=client.get, args=(f"{srv.url}/slow",),
                                kwargs={"timeout": 10}) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert time.monotonic() - start < 3.5
    assert client.http2_connections == 1


def test_read_timeout_on_one_stream(srv: HTTPServer, client: HTTPClient) -> None:
    with pytest.raises(Timeout) as info:
        client.get(f"{srv.url}/slow", timeout=0.2)
    assert info.value.phase in (Phase.READ, Phase.TOTAL)
    assert client.get(f"{srv.url}/after", timeout=10).status_code == 200


def test_abandoned_stream_does_not_block_the_next(srv: HTTPServer, client: HTTPClient) -> None:
    with client.get(f"{srv.url}/big", stream=True, timeout=30) as r:
        first = next(r.iter_bytes())
        assert first
    r2 = client.get(f"{srv.url}/after", timeout=10)
    assert r2.status_code == 200
