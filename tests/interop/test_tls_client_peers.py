"""sockit's HTTPS client (and ``sockit get``) against nginx's TLS ports, direct and via proxies.

nginx listens with ``ssl http2`` on one port per trustme certificate (good,
wrong host, unknown CA, expired, and the good one requiring client
certificates) and tells in ``/proto`` what it negotiated, so each test checks
nginx's view of the TLS version and ALPN protocol, not only ours. The proxy
tests fetch the same HTTPS URL through every real proxy here (microsocks,
Dante, ``ssh -D``, tinyproxy) and sockit's SOCKS server: TLS runs end to end
inside the tunnel, so the certificate is still checked against ``localhost``.
``websocket_connect`` speaks wss:// to the ``websockets`` library's TLS server.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from websockets.sync.server import ServerConnection
from websockets.sync.server import serve as ws_serve

from sockit import HTTPClient, websocket_connect
from sockit.proto.http2 import H2Config
from sockit.proto.tls import CertificateExpired, HostnameMismatch, UntrustedCertificate
from sockit.server.socks import SOCKSProxyServer
from tests.support.nginx_tls import NginxTLS, run_nginx_tls
from tests.support.peers import require_program
from tests.support.proxies import run_dante, run_microsocks, run_ssh_socks, run_tinyproxy
from tests.support.tls_certs import tls_certs

pytestmark = pytest.mark.interop

HELLO = b"hello from nginx over TLS\n"
BIG = 8 * 1024 * 1024
H1 = "HTTP/1.1 TLSv1.3 http/1.1"
H2 = "HTTP/2.0 TLSv1.3 h2"


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxTLS]:
    c = tls_certs()
    certs = {"good": c.server, "wrong": c.wrong_host, "unknown": c.unknown_ca,
             "expired": c.expired, "mutual": c.server}
    mutual = f"ssl_verify_client on; ssl_client_certificate {c.ca_file};"
    with run_nginx_tls(tmp_path_factory.mktemp("nginx-tls"), certs, {"mutual": mutual}) as n:
        (n.root / "hello.txt").write_bytes(HELLO)
        with (n.root / "big.bin").open("wb") as f:
            for _ in range(BIG // (1 << 20)):
                f.write(os.urandom(1 << 20))
        yield n


def url(nginx: NginxTLS, path: str, name: str = "good", host: str = "localhost") -> str:
    return f"https://{host}:{nginx.ports[name]}{path}"


def ca() -> str:
    return str(tls_certs().ca_file)


def test_http11_to_nginx(nginx: NginxTLS) -> None:
    with HTTPClient(verify=ca(), trust_env=False) as client:
        r = client.get(url(nginx, "/proto"), timeout=10)
        assert (r.status_code, r.http_version, r.text) == (200, "HTTP/1.1", H1)
        conns = {client.get(url(nginx, "/hello.txt"), timeout=10).headers["x-conn"]
                 for _ in range(5)}
        assert len(conns) == 1  # keep-alive: one TLS connection for every request
        assert client.get(url(nginx, "/hello.txt", host="127.0.0.1"), timeout=10).content == HELLO
        big = client.get(url(nginx, "/big.bin"), timeout=30).content
    assert hashlib.sha256(big).digest() == _digest(nginx.root / "big.bin")


def _digest(path: Path) -> bytes:
    return hashlib.sha256(path.read_bytes()).digest()


def test_h2_by_alpn_to_nginx(nginx: NginxTLS) -> None:
    with HTTPClient(verify=ca(), http2=H2Config(), trust_env=False) as client:
        r = client.get(url(nginx, "/proto"), timeout=10)
        assert (r.status_code, r.http_version, r.text) == (200, "HTTP/2", H2)
        conns: list[str] = []
        errors: list[BaseException] = []

        def fetch() -> None:
            try:
                for _ in range(5):
                    resp = client.get(url(nginx, "/hello.txt"), timeout=10)
                    assert resp.content == HELLO
                    conns.append(resp.headers["x-conn"])
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=fetch) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors
        assert len(conns) == 20 and len(set(conns)) == 1  # 4 threads, one h2 connection
        assert client.http2_connections == 1
        big = client.get(url(nginx, "/big.bin"), timeout=30)
        assert big.http_version == "HTTP/2"
        assert hashlib.sha256(big.content).digest() == _digest(nginx.root / "big.bin")


def test_wrong_ca_is_untrusted(nginx: NginxTLS, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA(organization_name="not the server's CA").cert_pem.write_to_path(str(other))
    with HTTPClient(verify=str(other), trust_env=False) as client, \
            pytest.raises(UntrustedCertificate):
        client.get(url(nginx, "/hello.txt"), timeout=10)
    with HTTPClient(trust_env=False) as client, pytest.raises(UntrustedCertificate):
        client.get(url(nginx, "/hello.txt"), timeout=10)  # the system's CAs only
    with HTTPClient(verify=ca(), trust_env=False) as client:
        with pytest.raises(UntrustedCertificate):
            client.get(url(nginx, "/hello.txt", "unknown"), timeout=10)
        # a failed handshake leaves the client usable
        assert client.get(url(nginx, "/hello.txt"), timeout=10).content == HELLO


def test_wrong_host_and_expired(nginx: NginxTLS) -> None:
    with HTTPClient(verify=ca(), trust_env=False) as client:
        with pytest.raises(HostnameMismatch):
            client.get(url(nginx, "/hello.txt", "wrong"), timeout=10)
        with pytest.raises(HostnameMismatch):
            client.get(url(nginx, "/hello.txt", "wrong", host="127.0.0.1"), timeout=10)
        with pytest.raises(CertificateExpired):
            client.get(url(nginx, "/hello.txt", "expired"), timeout=10)


def test_verify_false_accepts_any_certificate(nginx: NginxTLS) -> None:
    with HTTPClient(verify=False, http2=H2Config(), trust_env=False) as client:
        for name in ("wrong", "unknown", "expired"):
            r = client.get(url(nginx, "/proto", name), timeout=10)
            assert (r.status_code, r.text) == (200, H2), name


def test_ssl_cert_file_and_dir_trusted_by_default(nginx: NginxTLS, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", ca())
    with HTTPClient() as client:
        assert client.get(url(nginx, "/hello.txt"), timeout=10).content == HELLO
    monkeypatch.delenv("SSL_CERT_FILE")
    cadir = tmp_path / "certs"
    cadir.mkdir()
    (cadir / "test-ca.pem").write_bytes(tls_certs().ca_pem)
    monkeypatch.setenv("SSL_CERT_DIR", str(cadir))
    # a CA directory is looked up by subject hash: without the hash links, no trust ...
    with HTTPClient() as client, pytest.raises(UntrustedCertificate):
        client.get(url(nginx, "/hello.txt"), timeout=10)
    # ... and with them (``openssl rehash``, as c_rehash does for /etc/ssl/certs) the CA is found
    subprocess.run([require_program("openssl"), "rehash", str(cadir)], check=True,
                   capture_output=True, timeout=30)
    with HTTPClient() as client:
        assert client.get(url(nginx, "/hello.txt"), timeout=10).content == HELLO


def test_client_certificate_for_mutual_tls(nginx: NginxTLS) -> None:
    c = tls_certs()
    target = url(nginx, "/client", "mutual")
    for h2 in (None, H2Config()):
        with HTTPClient(verify=ca(), cert=(str(c.client.cert), str(c.client.key)), http2=h2,
                        trust_env=False) as client:
            r = client.get(target, timeout=10)
            assert r.status_code == 200
            assert r.text.startswith("SUCCESS "), r.text
    with HTTPClient(verify=ca(), trust_env=False) as client:
        # nginx answers a TLS 1.3 client without a certificate with 400
        assert client.get(target, timeout=10).status_code == 400


def sockit_get(*args: str) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}  # no SSL_CERT_*, no *_PROXY
    return subprocess.run([sys.executable, "-m", "sockit", "get", *args], capture_output=True,
                          timeout=60, check=False, env=env)


def test_cli_get_cacert_insecure_http2(nginx: NginxTLS) -> None:
    ok = sockit_get("--cacert", ca(), url(nginx, "/proto"))
    assert (ok.returncode, ok.stdout) == (0, H1.encode()), ok.stderr
    h2 = sockit_get("--cacert", ca(), "--http2", "-i", url(nginx, "/proto"))
    assert h2.returncode == 0, h2.stderr
    assert h2.stdout.startswith(b"HTTP/2 200")
    assert h2.stdout.endswith(b"\r\n\r\n" + H2.encode())
    assert sockit_get(url(nginx, "/proto")).returncode == 60  # no CA given: untrusted
    for name in ("wrong", "unknown", "expired"):
        refused = sockit_get("--cacert", ca(), url(nginx, "/hello.txt", name))
        assert (refused.returncode, refused.stdout) == (60, b""), name
        insecure = sockit_get("--insecure", url(nginx, "/hello.txt", name))
        assert (insecure.returncode, insecure.stdout) == (0, HELLO), (name, insecure.stderr)


# -- an HTTPS fetch through each proxy ------------------------------------------------------


def fetch_through(proxy: str, nginx: NginxTLS) -> None:
    """HTTP/1.1 and h2 over TLS through ``proxy``; the tunnel is reused."""
    with HTTPClient(proxy=proxy, verify=ca(), trust_env=False) as client:
        first = client.get(url(nginx, "/proto"), timeout=15)
        assert (first.status_code, first.text) == (200, H1)
        again = client.get(url(nginx, "/hello.txt"), timeout=15)
        assert again.content == HELLO
        assert again.headers["x-conn"] == first.headers["x-conn"]
    with HTTPClient(proxy=proxy, verify=ca(), http2=H2Config(), trust_env=False) as client:
        r = client.get(url(nginx, "/proto"), timeout=15)
        assert (r.status_code, r.http_version, r.text) == (200, "HTTP/2", H2)
        # the tunnel does not bypass verification
        with pytest.raises(HostnameMismatch):
            client.get(url(nginx, "/hello.txt", "wrong"), timeout=15)


def test_https_through_microsocks(nginx: NginxTLS) -> None:
    with run_microsocks() as proxy:
        fetch_through(f"socks5h://127.0.0.1:{proxy.port}", nginx)
    with run_microsocks(user="u", password="p") as proxy:
        fetch_through(f"socks5://u:p@127.0.0.1:{proxy.port}", nginx)


def test_https_through_dante(nginx: NginxTLS, tmp_path: Path) -> None:
    with run_dante(tmp_path) as proxy:
        fetch_through(f"socks5://127.0.0.1:{proxy.port}", nginx)
        fetch_through(f"socks4://127.0.0.1:{proxy.port}", nginx)


def test_https_through_ssh_socks4a(nginx: NginxTLS, tmp_path: Path) -> None:
    with run_ssh_socks(tmp_path) as proxy:
        fetch_through(f"socks4a://127.0.0.1:{proxy.port}", nginx)


def test_https_through_tinyproxy_connect(nginx: NginxTLS, tmp_path: Path) -> None:
    with run_tinyproxy(tmp_path, user="a", password="b") as proxy:
        fetch_through(f"http://a:b@127.0.0.1:{proxy.port}", nginx)


def test_https_through_sockit_socks_server(nginx: NginxTLS) -> None:
    with SOCKSProxyServer("127.0.0.1", 0, users={"u": "p"}) as proxy:
        proxy.start()
        proxy_url = f"socks5h://u:p@127.0.0.1:{proxy.address[1]}"
        fetch_through(proxy_url, nginx)
        out = sockit_get("--cacert", ca(), "-x", proxy_url, url(nginx, "/proto"))
        assert (out.returncode, out.stdout) == (0, H1.encode()), out.stderr
        out = sockit_get("--cacert", ca(), "--http2", "-x", proxy_url, url(nginx, "/proto"))
        assert (out.returncode, out.stdout) == (0, H2.encode()), out.stderr
        # two clients in fetch_through, one HostnameMismatch attempt, two CLI runs
        assert proxy.stats["connects"] == 5


# -- wss:// against the websockets library's TLS server -------------------------------------


def _echo(conn: ServerConnection) -> None:
    for message in conn:
        conn.send(message)


@pytest.fixture(scope="module")
def wss_peer() -> Iterator[int]:
    c = tls_certs()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(c.server.cert, c.server.key)
    server = ws_serve(_echo, "127.0.0.1", 0, ssl=ctx, max_size=None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.socket.getsockname()[1])
    finally:
        server.shutdown()
        thread.join(10)


def test_wss_to_websockets_server(wss_peer: int) -> None:
    target = f"wss://localhost:{wss_peer}/echo"
    with websocket_connect(target, verify=ca(), trust_env=False, timeout=10) as ws:
        ws.send("over wss")
        assert ws.recv() == "over wss"
        big = os.urandom(2 * 1024 * 1024)
        ws.send(big)
        assert ws.recv(timeout=30) == big
    assert ws.close_code == 1000
    with pytest.raises(UntrustedCertificate):
        websocket_connect(target, trust_env=False, timeout=10)  # the system's CAs only
    with websocket_connect(target, verify=False, trust_env=False, timeout=10) as ws:
        ws.send("insecure")
        assert ws.recv() == "insecure"


def test_wss_through_sockit_socks_server(wss_peer: int) -> None:
    with SOCKSProxyServer("127.0.0.1", 0) as proxy:
        proxy.start()
        with websocket_connect(f"wss://localhost:{wss_peer}/echo", verify=ca(),
                               proxy=f"socks5h://127.0.0.1:{proxy.address[1]}",
                               trust_env=False, timeout=10) as ws:
            ws.send("tunnelled")
            assert ws.recv() == "tunnelled"
        assert proxy.stats["connects"] == 1
