"""The server over TLS: HTTP/1.1 and h2 by ALPN, files, WebSocket, failed handshakes."""

from __future__ import annotations

import hashlib
import http.client
import socket
import ssl
import time
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import pytest
import websockets.sync.client

from sockit.observe import MetricsRegistry, to_prometheus
from sockit.server import StaticFiles, make_app, server_tls_context
from sockit.server.metrics import ServerMetrics
from tests.server.harness import running
from tests.support.tls_certs import tls_certs


def _client_ctx(alpn: list[str] | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(tls_certs().ca_file))
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def _https(port: int) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection("localhost", port, context=_client_ctx(), timeout=10)


def test_https_http11_keep_alive() -> None:
    certs = tls_certs()
    with running(tls=server_tls_context(certs.server.cert, certs.server.key)) as server:
        assert server.url.startswith("https://")
        conn = _https(server.port)
        for i in range(3):
            conn.request("POST", "/echo", body=b"payload %d" % i)
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.read() == b"payload %d" % i
        assert conn.sock is not None
        assert conn.sock.version() == "TLSv1.3"  # type: ignore[attr-defined]
        conn.close()


def test_tls12_refused_unless_allowed() -> None:
    certs = tls_certs()
    ctx12 = _client_ctx()
    ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
    strict = server_tls_context(certs.server.cert, certs.server.key)
    with running(tls=strict) as server, socket.create_connection(
        ("127.0.0.1", server.port), timeout=10
    ) as raw, pytest.raises(ssl.SSLError):
        ctx12.wrap_socket(raw, server_hostname="localhost")
    opted = server_tls_context(certs.server.cert, certs.server.key, allow_tls12=True)
    with running(tls=opted) as server, socket.create_connection(
        ("127.0.0.1", server.port), timeout=10
    ) as raw, ctx12.wrap_socket(raw, server_hostname="localhost") as tls:
        assert tls.version() == "TLSv1.2"
        assert "GCM" in tls.cipher()[0] or "CHACHA20" in tls.cipher()[0]


def test_static_file_over_tls_is_whole(tmp_path: Path) -> None:
    certs = tls_certs()
    blob = bytes(range(256)) * (12 * 1024)  # 3 MiB: many encrypted file chunks
    (tmp_path / "blob.bin").write_bytes(blob)
    app = StaticFiles(str(tmp_path))
    with running(app, tls=server_tls_context(certs.server.cert, certs.server.key)) as server:
        conn = _https(server.port)
        conn.request("GET", "/blob.bin")
        resp = conn.getresponse()
        assert resp.status == 200
        got = resp.read()
        conn.request("GET", "/blob.bin")  # the same connection carries on after a file
        again = conn.getresponse()
        assert again.status == 200
        assert again.read() == blob
        conn.close()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(blob).hexdigest()


def test_alpn_h2_serves_http2() -> None:
    certs = tls_certs()
    with running(tls=server_tls_context(certs.server.cert, certs.server.key)) as server:
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        with _client_ctx(["h2", "http/1.1"]).wrap_socket(raw, server_hostname="localhost") as s:
            assert s.selected_alpn_protocol() == "h2"
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            conn.initiate_connection()
            sid = conn.get_next_available_stream_id()
            conn.send_headers(sid, [(":method", "GET"), (":path", "/fixed"),
                                    (":scheme", "https"), (":authority", "localhost")],
                              end_stream=True)
            s.sendall(conn.data_to_send())
            body, status, ended = b"", None, False
            while not ended:
                data = s.recv(65536)
                assert data, "the server closed the h2 connection"
                for ev in conn.receive_data(data):
                    if isinstance(ev, h2.events.ResponseReceived):
                        status = dict(ev.headers)[b":status"]
                    elif isinstance(ev, h2.events.DataReceived):
                        body += ev.data
                        conn.acknowledge_received_data(len(ev.data), sid)
                    elif isinstance(ev, h2.events.StreamEnded):
                        ended = True
                s.sendall(conn.data_to_send())
            assert status == b"200"
            assert body == b"the same for GET and HEAD"


def test_alpn_without_http2_offers_only_http11() -> None:
    certs = tls_certs()
    ctx = server_tls_context(certs.server.cert, certs.server.key, http2=False)
    with running(tls=ctx, http2=False) as server:
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        with _client_ctx(["h2", "http/1.1"]).wrap_socket(raw, server_hostname="localhost") as s:
            assert s.selected_alpn_protocol() == "http/1.1"


def test_wss_echo() -> None:
    certs = tls_certs()
    app = make_app(str(certs.dir))
    with running(app, tls=server_tls_context(certs.server.cert, certs.server.key)) as server:
        url = f"wss://localhost:{server.port}/ws/echo"
        with websockets.sync.client.connect(url, ssl=_client_ctx(), open_timeout=10) as ws:
            ws.send("over TLS")
            assert ws.recv(timeout=10) == "over TLS"
            ws.send(b"\x00" * 70000)
            assert ws.recv(timeout=10) == b"\x00" * 70000


def _metric(registry: MetricsRegistry) -> dict[str, float]:
    """``sockit_server_tls_failures_total`` by reason, read from the Prometheus text."""
    out: dict[str, float] = {}
    for line in to_prometheus(registry).splitlines():
        if line.startswith("sockit_server_tls_failures_total{"):
            labels, _, value = line.rpartition(" ")
            out[labels] = float(value)
    return out


def test_garbage_and_untrusted_clients_are_closed_and_counted() -> None:
    certs = tls_certs()
    registry = MetricsRegistry()
    metrics = ServerMetrics(registry)
    with running(tls=server_tls_context(certs.server.cert, certs.server.key),
                 metrics=metrics) as server:
        # plaintext HTTP to a TLS port: an alert, then the connection is closed
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            raw.settimeout(10)
            data = b""
            while chunk := raw.recv(4096):
                data += chunk
            assert not data.startswith(b"HTTP/")
        # a client that does not trust our CA aborts the handshake
        other = ssl.create_default_context()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw, \
                pytest.raises(ssl.SSLCertVerificationError):
            other.wrap_socket(raw, server_hostname="localhost")
        # the server keeps serving
        conn = _https(server.port)
        conn.request("GET", "/fixed")
        assert conn.getresponse().read() == b"the same for GET and HEAD"
        conn.close()
        deadline = time.monotonic() + 5
        while sum(_metric(registry).values()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    failures = _metric(registry)
    assert sum(failures.values()) >= 2, failures


def test_client_that_never_finishes_the_handshake_is_timed_out() -> None:
    from sockit.limits import ServerLimits

    certs = tls_certs()
    limits = ServerLimits(request_read_timeout=0.3)
    ctx = server_tls_context(certs.server.cert, certs.server.key)
    with running(tls=ctx, limits=limits) as server, socket.create_connection(
        ("127.0.0.1", server.port), timeout=10
    ) as raw:
        raw.sendall(b"\x16\x03\x01\x00\x10")  # the start of a ClientHello, never finished
        raw.settimeout(5)
        start = time.monotonic()
        assert raw.recv(4096) == b""  # closed by the server's read timeout
        assert time.monotonic() - start < 4
