"""HTTPServer: keep-alive, pipelining, HEAD, 100-continue, bodies, addresses, threads."""

from __future__ import annotations

import http.client
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sockit.observe import REGISTRY
from sockit.server import HTTPServer, Response, ServerRequest, serve
from tests.server.harness import running
from tests.server.rawclient import RawClient, wait_until
from tests.support.peers import free_port, require_ipv6_loopback, wait_for_port


def counter(name: str, **labels: str) -> float:
    family = REGISTRY.get(name)
    if family is None:
        return 0.0
    child = family.labels(**labels) if labels else family
    return float(child.value)  # type: ignore[attr-defined]


def test_keep_alive_serves_many_requests_on_one_connection(server: HTTPServer) -> None:
    clients: list[object] = []

    def app(request: ServerRequest) -> Response:
        clients.append(request.client)
        return Response(200, None, b"ok")

    with running(app) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        for _ in range(5):
            conn.request("GET", "/")
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.read() == b"ok"
        conn.close()
    assert len(clients) == 5
    assert len(set(clients)) == 1  # one client port: one connection


def test_pipelined_responses_come_back_in_request_order(server: HTTPServer) -> None:
    paths = [f"/p{i}" for i in range(8)]
    with RawClient(server.port) as client:
        batch = b""
        for i, path in enumerate(paths):
            if i == 3:  # a request with a body in the middle of the pipeline
                batch += b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
            batch += f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
        client.send(batch)
        got = []
        for _ in range(len(paths) + 1):
            resp = client.response()
            assert resp.status == 200
            got.append(resp.body)
    expected = [f"GET {p}".encode() for p in paths]
    expected.insert(3, b"hello")
    assert got == expected


def test_head_has_the_get_length_and_no_body(server: HTTPServer) -> None:
    with RawClient(server.port) as client:
        get = client.get("/fixed")
        client.send(
            b"HEAD /fixed HTTP/1.1\r\nHost: t\r\n\r\nGET /after HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        head = client.response(method="HEAD")
        after = client.response()
    assert get.body == b"the same for GET and HEAD"
    assert head.status == 200
    assert head.header("content-length") == str(len(get.body))
    assert head.body == b""
    assert after.body == b"GET /after"  # nothing stray between HEAD and the next answer


def test_expect_100_continue_is_answered_before_the_body(server: HTTPServer) -> None:
    with RawClient(server.port) as client:
        client.send(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = client.head()
        assert interim.status == 100
        client.send(b"hello")
        resp = client.response()
    assert resp.status == 200
    assert resp.body == b"hello"


def test_no_100_continue_when_the_body_came_with_the_head(server: HTTPServer) -> None:
    with RawClient(server.port) as client:
        client.send(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
            b"Expect: 100-continue\r\n\r\nhello"
        )
        first = client.head()
        assert first.status == 200  # straight to the answer: the client did not wait
        assert client._exactly(5) == b"hello"


def test_expect_100_with_a_body_over_the_limit_gets_413_and_no_continue() -> None:
    with running(limits=_limits(max_body_size=10)) as srv, RawClient(srv.port) as client:
        client.send(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n"
        )
        resp = client.head()
        assert resp.status == 413
        assert resp.header("connection") == "close"


def test_http10_gets_one_exchange_and_a_close(server: HTTPServer) -> None:
    with RawClient(server.port) as client:
        client.send(b"GET /x HTTP/1.0\r\n\r\n")
        resp = client.response()
        assert resp.status == 200
        assert resp.body == b"GET /x"
        assert client.wait_closed() == "eof"


def test_stream_is_chunked_for_11_and_close_delimited_for_10(server: HTTPServer) -> None:
    want = b"".join(b"part %d\n" % i for i in range(5))
    with RawClient(server.port) as client:
        resp = client.get("/stream")
        assert resp.header("transfer-encoding") == "chunked"
        assert resp.body == want
        empty = client.get("/empty-stream")  # empty chunks are skipped, not a last-chunk
        assert empty.body == b"x"
    with RawClient(server.port) as client:
        client.send(b"GET /stream HTTP/1.0\r\n\r\n")
        resp = client.response()
        assert resp.header("transfer-encoding") is None
        assert resp.body == want


def test_streamed_body_is_pulled_only_as_the_socket_drains() -> None:
    chunk = b"x" * 65536
    total_chunks = 2048  # 128 MiB
    pulled = [0]

    def body():  # type: ignore[no-untyped-def]
        for _ in range(total_chunks):
            pulled[0] += 1
            yield chunk

    def app(request: ServerRequest) -> Response:
        return Response(200, None, body())

    with running(app) as srv, RawClient(srv.port) as client:
        client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        # reading nothing: pulls stop once the kernel buffers and the high-water mark fill
        assert wait_until(lambda: pulled[0] > 0)
        last = -1
        while last != pulled[0]:
            last = pulled[0]
            time.sleep(0.3)
        assert pulled[0] * len(chunk) < 48 * 1024 * 1024
        resp = client.response()
    assert len(resp.body) == total_chunks * len(chunk)
    assert pulled[0] == total_chunks


def test_file_body_is_sent_whole_and_closed(tmp_path: Path, server: HTTPServer) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    files = []

    def app(request: ServerRequest) -> Response:
        f = path.open("rb")
        if request.path == "/offset":
            f.seek(1000)
        files.append(f)
        return Response(200, None, f)

    with running(app) as srv, RawClient(srv.port) as client:
        resp = client.get("/")
        assert resp.header("content-length") == str(len(data))
        assert resp.body == data
        part = client.get("/offset")
        assert part.body == data[1000:]
        client.send(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n")
        head = client.response(method="HEAD")
        assert head.header("content-length") == str(len(data))
        after = client.get("/")  # the HEAD sent no body: framing intact
        assert after.body == data
        assert wait_until(lambda: all(f.closed for f in files))


def test_handler_exception_gives_500_and_the_next_request_is_served(
    caplog: pytest.LogCaptureFixture, server: HTTPServer
) -> None:
    before = counter("sockit_server_handler_errors_total")
    with caplog.at_level(logging.ERROR, logger="sockit.server"), RawClient(server.port) as client:
        boom = client.get("/boom")
        ok = client.get("/fine")
    assert boom.status == 500
    assert ok.status == 200
    assert ok.body == b"GET /fine"
    assert any("handler failed" in r.getMessage() and r.exc_info for r in caplog.records)
    assert counter("sockit_server_handler_errors_total") == before + 1


def test_204_has_no_body_and_no_length(server: HTTPServer) -> None:
    with RawClient(server.port) as client:
        resp = client.get("/nocontent")
        assert resp.status == 204
        assert resp.header("content-length") is None
        assert client.get("/next").body == b"GET /next"


def test_path_query_and_client(server: HTTPServer) -> None:
    seen: list[ServerRequest] = []

    def app(request: ServerRequest) -> Response:
        seen.append(request)
        return Response(200)

    with running(app) as srv, RawClient(srv.port) as client:
        client.get("/a%20b/%E2%9C%93?x=1&y=two+words")
        local = client.sock.getsockname()
    req = seen[0]
    assert req.path == "/a b/\u2713"
    assert req.raw_path == b"/a%20b/%E2%9C%93"
    assert req.query == "x=1&y=two+words"
    assert req.query_params == [("x", "1"), ("y", "two words")]
    assert req.client[:2] == local
    assert req.http_version == "1.1"
    assert req.headers["host"] == "t"


def test_chunked_upload_and_trailers() -> None:
    seen: list[ServerRequest] = []

    def app(request: ServerRequest) -> Response:
        seen.append(request)
        return Response(200, None, request.body)

    with running(app) as srv, RawClient(srv.port) as client:
        client.send(
            b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 11\r\n\r\n"
        )
        resp = client.response()
    assert resp.body == b"hello world"
    assert seen[0].trailers.get("x-sum") == "11"


def test_unix_socket_listener(tmp_path: Path) -> None:
    path = str(tmp_path / "http.sock")
    with running(host=None, unix_path=path) as srv:
        assert srv.addresses == [path]
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        with RawClient(sock=sock) as client:
            resp = client.get("/info")
    assert resp.status == 200
    assert f"client={path!r}".encode() in resp.body
    assert not os.path.exists(path)  # the socket file goes with the server


def test_ipv6_loopback() -> None:
    require_ipv6_loopback()
    with running(host="::1") as srv:
        assert srv.url.startswith("http://[::1]:")
        sock = socket.create_connection(("::1", srv.port), timeout=10)
        with RawClient(sock=sock) as client:
            resp = client.get("/info")
    assert resp.status == 200
    assert b"client=('::1'" in resp.body


def test_tcp_and_unix_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "both.sock")
    with running(unix_path=path) as srv:
        assert len(srv.addresses) == 2
        with RawClient(srv.port) as client:
            assert client.get("/tcp").status == 200
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(path)
        with RawClient(sock=sock) as client:
            assert client.get("/unix").body == b"GET /unix"


def test_respond_from_worker_threads() -> None:
    threads: set[str] = set()

    def app(request: ServerRequest) -> Response:
        threads.add(threading.current_thread().name)
        time.sleep(0.05)
        return Response(200, None, request.path.encode())

    with running(app, workers=4) as srv:
        results: list[bytes] = []

        def fetch(i: int) -> None:
            with RawClient(srv.port) as client:
                results.append(client.get(f"/w{i}").body)

        pool = [threading.Thread(target=fetch, args=(i,)) for i in range(8)]
        for t in pool:
            t.start()
        for t in pool:
            t.join(20)
    assert sorted(results) == sorted(f"/w{i}".encode() for i in range(8))
    assert all(name.startswith("sockit-server") for name in threads)


def test_poll_is_callback_free_and_respond_can_wait() -> None:
    with HTTPServer("127.0.0.1", 0) as srv, RawClient(srv.port) as client:
        client.send(b"GET /later HTTP/1.1\r\nHost: t\r\n\r\n")
        got: list[ServerRequest] = []
        for _ in range(100):
            got += srv.poll(0.05)
            if got:
                break
        assert [r.target for r in got] == ["/later"]
        srv.poll(0.01)  # the request stays unanswered across turns
        got[0].respond(201, [("X-A", "1")], b"made")
        with pytest.raises(Exception, match="already answered"):
            got[0].respond(200)
        holder: list[object] = []
        reader = threading.Thread(target=lambda: holder.append(client.response()))
        reader.start()
        while reader.is_alive():
            srv.poll(0.05)
        resp = holder[0]
        assert resp.status == 201  # type: ignore[attr-defined]
        assert resp.body == b"made"  # type: ignore[attr-defined]


def test_metrics_count_requests_responses_and_connections() -> None:
    reqs = counter("sockit_server_requests_total", method="GET")
    ok = counter("sockit_server_responses_total", status="200")
    err = counter("sockit_server_responses_total", status="500")
    conns = counter("sockit_server_connections_total")
    with running() as srv, RawClient(srv.port) as client:
        client.get("/a")
        client.get("/b")
        client.get("/boom")
    assert counter("sockit_server_requests_total", method="GET") == reqs + 3
    assert counter("sockit_server_responses_total", status="200") == ok + 2
    assert counter("sockit_server_responses_total", status="500") == err + 1
    assert counter("sockit_server_connections_total") == conns + 1


def test_serve_runs_an_app_and_stops_from_another_thread() -> None:
    holder: list[HTTPServer] = []
    ready = threading.Event()

    def on_ready(server: HTTPServer) -> None:
        holder.append(server)
        ready.set()

    thread = threading.Thread(
        target=serve,
        args=(lambda r: Response(200, None, b"served"), "127.0.0.1", 0),
        kwargs={"on_ready": on_ready, "grace": 0.5},
    )
    thread.start()
    assert ready.wait(10)
    with RawClient(holder[0].port) as client:
        assert client.get("/").body == b"served"
    holder[0].stop()
    thread.join(10)
    assert not thread.is_alive()
    assert holder[0].closed


def test_close_with_grace_finishes_a_response_in_flight() -> None:
    with HTTPServer("127.0.0.1", 0) as srv, RawClient(srv.port) as client:
        client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        got: list[ServerRequest] = []
        while not got:
            got += srv.poll(0.05)
        got[0].respond(200, None, iter([b"a" * 100_000] * 50))  # 5 MB: more than one turn
        holder: list[object] = []

        def read() -> None:
            holder.append(client.response())
            holder.append(client.wait_closed())

        reader = threading.Thread(target=read)
        reader.start()
        srv.close(grace=10.0)
        reader.join(10)
        resp, closed = holder
        assert len(resp.body) == 5_000_000  # type: ignore[attr-defined]
        assert closed == "eof"


def _limits(**changes: object):  # type: ignore[no-untyped-def]
    from sockit.limits import ServerLimits

    return ServerLimits().replace(**changes)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_cleanly_on_signals(signum: int) -> None:
    port = free_port()
    code = (
        "import sys; from sockit.server import serve, make_app; "
        f"serve(make_app(), '127.0.0.1', {port}); print('stopped'); sys.exit(0)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for_port("127.0.0.1", port)
        with RawClient(port) as client:
            assert client.get("/hello").body == b"hello world\n"
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out.strip() == "stopped"


def test_a_response_the_writer_refuses_closes_that_connection_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def app(request: ServerRequest) -> Response | None:
        if request.path == "/inject":
            return Response(200, [("X-Evil", "a\r\nSet-Cookie: x=1")], b"no")
        if request.path == "/str":
            return Response(200, None, "text")  # type: ignore[arg-type]
        if request.path == "/nothing":
            return None
        return Response(200, None, b"fine")

    with caplog.at_level(logging.ERROR, logger="sockit.server"), running(app) as srv:
        for path in ("/inject", "/str"):
            with RawClient(srv.port) as client:
                client.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
                assert client.wait_closed() in ("eof", "reset")
                assert client.buf == b""  # nothing of the refused head went out
        with RawClient(srv.port) as client:
            assert client.get("/nothing").status == 500
            assert client.get("/ok").body == b"fine"
    messages = [r.getMessage() for r in caplog.records]
    assert any("bad response for GET /inject" in m for m in messages)
    assert any("bad response for GET /str" in m for m in messages)
    assert any("returned no response" in m for m in messages)


def test_streamed_body_that_raises_aborts_its_connection(caplog: pytest.LogCaptureFixture) -> None:
    def broken():  # type: ignore[no-untyped-def]
        yield b"first"
        raise ValueError("generator broke")

    def app(request: ServerRequest) -> Response:
        if request.path == "/broken":
            return Response(200, None, broken())
        return Response(200, None, b"fine")

    with caplog.at_level(logging.ERROR, logger="sockit.server"), running(app) as srv:
        with RawClient(srv.port) as client:
            client.send(b"GET /broken HTTP/1.1\r\nHost: t\r\n\r\n")
            assert client.wait_closed() in ("eof", "reset")
            assert b"0\r\n\r\n" not in client.buf  # never a clean end of a broken body
        with RawClient(srv.port) as client:
            assert client.get("/ok").body == b"fine"
    assert any("streamed response body failed" in r.getMessage() for r in caplog.records)


def test_edge_triggered_backends_are_refused() -> None:
    with pytest.raises(ValueError, match="level-triggered"):
        HTTPServer("127.0.0.1", 0, backend="epoll-et")


def test_stream_longer_than_its_content_length_aborts_only_that_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def app(request: ServerRequest) -> Response:
        if request.path == "/liar":
            return Response(200, [("Content-Length", "3")], iter([b"ab", b"cd"]))
        return Response(200, None, b"fine")

    with caplog.at_level(logging.ERROR, logger="sockit.server"), running(app) as srv:
        with RawClient(srv.port) as client:
            client.send(b"GET /liar HTTP/1.1\r\nHost: t\r\n\r\n")
            assert client.wait_closed() in ("eof", "reset")
        with RawClient(srv.port) as client:
            assert client.get("/ok").body == b"fine"
    assert any("aborted" in r.getMessage() for r in caplog.records)
