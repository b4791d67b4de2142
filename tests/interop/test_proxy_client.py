"""The HTTP client, ``sockit get -x`` and ``sockit socks`` with real proxies and curl."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sockit import HTTPClient
from sockit.errors import ConnectError, ProxyError
from sockit.server.socks import SOCKSProxyServer
from tests.support.peers import PeerProcess, free_port, require_program, run_peer
from tests.support.proxies import run_microsocks, run_tinyproxy

pytestmark = pytest.mark.interop

BODY = b"<h1>through the proxy</h1>\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerProcess]:
    root = tmp_path_factory.mktemp("site")
    (root / "index.html").write_bytes(BODY)
    port = free_port()
    argv = [sys.executable, "-m", "sockit", "serve", str(root), "--port", str(port)]
    with run_peer(argv, port=port) as peer:
        yield peer


def _url(site: PeerProcess, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{site.port}/index.html"


def test_client_through_sockit_socks_reuses_the_tunnel(site: PeerProcess) -> None:
    with SOCKSProxyServer("127.0.0.1", 0, users={"u": "p"}) as proxy:
        proxy.start()
        url = f"socks5h://u:p@127.0.0.1:{proxy.address[1]}"
        with HTTPClient(proxy=url, trust_env=False) as client:
            for _ in range(3):
                r = client.get(_url(site, "localhost"), timeout=10)
                assert r.status_code == 200
                assert r.content == BODY
        assert proxy.stats["connects"] == 1  # one keep-alive connection through the tunnel


def test_client_h2_prior_knowledge_through_socks(site: PeerProcess) -> None:
    with SOCKSProxyServer("127.0.0.1", 0) as proxy:
        proxy.start()
        with HTTPClient(proxy=f"socks5://127.0.0.1:{proxy.address[1]}", trust_env=False,
                        http2_prior_knowledge=True) as client:
            r = client.get(_url(site), timeout=10)
            assert r.http_version == "HTTP/2"
            assert r.content == BODY


def test_client_through_tinyproxy(site: PeerProcess, tmp_path: Path) -> None:
    with run_tinyproxy(tmp_path, user="a", password="b") as proxy:
        with HTTPClient(proxy=f"http://a:b@127.0.0.1:{proxy.port}", trust_env=False) as client:
            assert client.get(_url(site), timeout=10).content == BODY
        with HTTPClient(proxy=f"http://127.0.0.1:{proxy.port}", trust_env=False) as client:
            with pytest.raises(ProxyError) as info:
                client.get(_url(site), timeout=10)
            assert info.value.reply_code == 407


def test_environment_proxy_and_no_proxy(site: PeerProcess,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
    with run_microsocks() as proxy:
        monkeypatch.setenv("ALL_PROXY", f"socks5h://127.0.0.1:{proxy.port}")
        with HTTPClient() as client:
            assert client.get(_url(site, "localhost"), timeout=10).content == BODY
    # the proxy is gone: a client that trusts the environment now fails to connect ...
    with HTTPClient() as client, pytest.raises(ConnectError):
        client.get(_url(site), timeout=10)
    # ... unless NO_PROXY exempts the host, or the environment is ignored
    monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.1")
    with HTTPClient() as client:
        assert client.get(_url(site), timeout=10).content == BODY
    monkeypatch.delenv("NO_PROXY")
    with HTTPClient(trust_env=False) as client:
        assert client.get(_url(site), timeout=10).content == BODY


@pytest.mark.parametrize("scheme", ["socks4a", "socks5h", "http"])
def test_cli_get_with_proxy(scheme: str, site: PeerProcess, tmp_path: Path) -> None:
    def get(proxy_port: int) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "sockit", "get", "-x", f"{scheme}://127.0.0.1:{proxy_port}",
             _url(site, "localhost")],
            capture_output=True, timeout=30, check=False,
        )

    if scheme == "http":
        with run_tinyproxy(tmp_path) as proxy:
            out = get(proxy.port)
    else:
        with SOCKSProxyServer("127.0.0.1", 0) as server:
            server.start()
            out = get(server.address[1])
    assert out.returncode == 0, out.stderr
    assert out.stdout == BODY


def test_cli_socks_command_serves_curl(site: PeerProcess) -> None:
    curl = require_program("curl")
    port = free_port()
    argv = [sys.executable, "-m", "sockit", "socks", "--port", str(port),
            "--user", "dora", "--password", "explorer"]
    with run_peer(argv, port=port):
        ok = subprocess.run(
            [curl, "-sS", "--max-time", "10", "--socks5-hostname",
             f"dora:explorer@127.0.0.1:{port}", _url(site, "localhost")],
            capture_output=True, timeout=30, check=False,
        )
        refused = subprocess.run(
            [curl, "-sS", "--max-time", "10", "--socks5-hostname", f"127.0.0.1:{port}",
             _url(site)],
            capture_output=True, timeout=30, check=False,
        )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == BODY
    assert refused.returncode != 0
