"""The client over TLS: https with HTTP/1.1 and h2 by ALPN, verification, wss, proxies."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from sockit import HTTPClient
from sockit.client import websocket_connect
from sockit.errors import Timeout
from sockit.proto.http2 import H2Config
from sockit.proto.tls import HostnameMismatch, UntrustedCertificate
from sockit.server import HTTPServer, make_app, server_tls_context
from sockit.server.socks import SOCKSProxyServer
from tests.server.harness import running
from tests.support.tls_certs import tls_certs


@pytest.fixture(scope="module")
def https() -> Iterator[HTTPServer]:
    certs = tls_certs()
    with running(make_app(str(certs.dir)),
                 tls=server_tls_context(certs.server.cert, certs.server.key)) as server:
        yield server


def _ca() -> str:
    return str(tls_certs().ca_file)


def test_https_http11_reuses_one_connection(https: HTTPServer) -> None:
    with HTTPClient(verify=_ca(), trust_env=False) as client:
        for _ in range(3):
            r = client.get(f"https://localhost:{https.port}/hello", timeout=10)
            assert r.status_code == 200
            assert r.http_version == "HTTP/1.1"
        stats = client.pool_stats()
        assert stats.connections == 1


def test_https_h2_by_alpn(https: HTTPServer) -> None:
    with HTTPClient(verify=_ca(), http2=H2Config(), trust_env=False) as client:
        rs = [client.get(f"https://localhost:{https.port}/hello", timeout=10) for _ in range(3)]
        assert {r.http_version for r in rs} == {"HTTP/2"}
        assert client.http2_connections == 1


def test_h2_offered_to_an_http11_only_server_falls_back() -> None:
    certs = tls_certs()
    ctx = server_tls_context(certs.server.cert, certs.server.key, http2=False)
    with running(make_app(str(certs.dir)), tls=ctx, http2=False) as server, HTTPClient(
        verify=_ca(), http2=H2Config(), trust_env=False
    ) as client:
        for _ in range(2):
            r = client.get(f"https://localhost:{server.port}/hello", timeout=10)
            assert r.http_version == "HTTP/1.1"
        assert client.http2_connections == 0


def test_verification_failures(https: HTTPServer) -> None:
    with HTTPClient(trust_env=False) as client, pytest.raises(UntrustedCertificate):
        client.get(f"https://localhost:{https.port}/hello", timeout=10)  # system CAs only
    certs = tls_certs()
    wrong = server_tls_context(certs.wrong_host.cert, certs.wrong_host.key)
    with running(tls=wrong) as server, HTTPClient(verify=_ca(), trust_env=False) as client, \
            pytest.raises(HostnameMismatch):
        client.get(f"https://localhost:{server.port}/", timeout=10)
    with running(tls=wrong) as server, HTTPClient(verify=False, trust_env=False) as client:
        assert client.get(f"https://localhost:{server.port}/", timeout=10).status_code == 200


def test_ssl_cert_file_is_honoured(https: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", _ca())
    with HTTPClient() as client:
        assert client.get(f"https://localhost:{https.port}/hello", timeout=10).status_code == 200
    with HTTPClient(trust_env=False) as client, pytest.raises(UntrustedCertificate):
        client.get(f"https://localhost:{https.port}/hello", timeout=10)  # the variable ignored
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_certs().server.cert))  # not our CA
    with HTTPClient() as client, pytest.raises(UntrustedCertificate):
        client.get(f"https://localhost:{https.port}/hello", timeout=10)


def test_handshake_timeout_is_phase_tls() -> None:
    import socket

    with socket.socket() as silent:  # accepts (the kernel does) but never speaks TLS
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        with HTTPClient(verify=_ca(), trust_env=False) as client, pytest.raises(Timeout) as info:
            client.get(f"https://localhost:{port}/", timeout=0.5)
        assert info.value.phase.value in ("tls", "total")


def test_wss_echo(https: HTTPServer) -> None:
    url = f"wss://localhost:{https.port}/ws/echo"
    with websocket_connect(url, verify=_ca(), trust_env=False, timeout=10) as ws:
        ws.send("hello over wss")
        assert ws.recv() == "hello over wss"


def test_https_through_socks_proxy(https: HTTPServer) -> None:
    with SOCKSProxyServer("127.0.0.1", 0) as proxy:
        proxy.start()
        url = f"socks5h://127.0.0.1:{proxy.address[1]}"
        with HTTPClient(verify=_ca(), proxy=url, trust_env=False) as client:
            r = client.get(f"https://localhost:{https.port}/hello", timeout=10)
            assert r.status_code == 200
        assert proxy.stats["connects"] == 1


def test_cli_get_https(https: HTTPServer) -> None:
    url = f"https://localhost:{https.port}/hello"
    ok = subprocess.run([sys.executable, "-m", "sockit", "get", "--cacert", _ca(), url],
                        capture_output=True, timeout=30, check=False)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout
    untrusted = subprocess.run([sys.executable, "-m", "sockit", "get", url],
                               capture_output=True, timeout=30, check=False,
                               env={"PATH": "/usr/bin:/bin"})
    assert untrusted.returncode == 60, untrusted.stderr
    insecure = subprocess.run([sys.executable, "-m", "sockit", "get", "-k", url],
                              capture_output=True, timeout=30, check=False)
    assert insecure.returncode == 0
    assert insecure.stdout == ok.stdout
