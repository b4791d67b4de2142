"""sockit's HTTPS server against real TLS clients: curl, openssl s_client, nghttp, sslyze.

``python -m sockit serve --tls-cert/--tls-key`` (and ``--tls12``) runs as a
child process with trustme certificates; the clients check the certificate
against the test CA, the negotiated protocol (ALPN h2 or http/1.1), the TLS
version and suites, and sslyze scans what the server accepts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sockit.proto.tls import ClientAuth
from sockit.server import HTTPServer, make_app, serve, server_tls_context
from tests.support.peers import PeerProcess, free_port, require_program, run_peer
from tests.support.sslyze import scan_tls
from tests.support.tls_certs import tls_certs

pytestmark = pytest.mark.interop

INDEX = b"<h1>sockit over TLS</h1>\n"
#: DEFAULTS.md: the TLS 1.3 suites, in sslyze's names
TLS13_SUITES = {"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                "TLS_AES_128_GCM_SHA256"}
AEAD = ("_GCM_", "_CHACHA20_POLY1305_", "_CCM")


def _site(root: Path) -> Path:
    root.mkdir(exist_ok=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "data.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB: many TLS records
    return root


def _serve(root: Path, *extra: str) -> Iterator[PeerProcess]:
    c = tls_certs()
    port = free_port()
    argv = [sys.executable, "-m", "sockit", "serve", str(root), "--port", str(port),
            "--tls-cert", str(c.server.cert), "--tls-key", str(c.server.key), *extra]
    with run_peer(argv, port=port) as peer:
        yield peer


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _site(tmp_path_factory.mktemp("tls-site"))


@pytest.fixture(scope="module")
def https(site: Path) -> Iterator[PeerProcess]:
    """``serve`` with the defaults: TLS 1.3 only."""
    yield from _serve(site)


@pytest.fixture(scope="module")
def https12(site: Path) -> Iterator[PeerProcess]:
    """``serve --tls12``: TLS 1.2 opted in."""
    yield from _serve(site, "--tls12")


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [require_program("curl"), "-sS", "--cacert", str(tls_certs().ca_file), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def curl_bytes(*args: str) -> bytes:
    argv = [require_program("curl"), "-sS", "--fail", "--cacert", str(tls_certs().ca_file),
            *args]
    out = subprocess.run(argv, capture_output=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_curl_http11_over_tls(https: PeerProcess, site: Path) -> None:
    base = f"https://localhost:{https.port}"
    out = curl("--http1.1", "--tlsv1.3", "-w", " %{http_version} %{ssl_verify_result}",
               f"{base}/hello")
    assert (out.returncode, out.stdout) == (0, "hello world\n 1.1 0"), out.stderr
    assert curl_bytes("--http1.1", f"{base}/") == INDEX
    assert curl_bytes("--http1.1", f"{base}/data.bin") == (site / "data.bin").read_bytes()
    # the certificate's IP address verifies too
    out = curl("--http1.1", "-w", " %{http_version}", f"https://127.0.0.1:{https.port}/healthz")
    assert out.stdout == "ok\n 1.1", out.stderr


def test_curl_http2_by_alpn_multiplexes(https: PeerProcess, site: Path) -> None:
    base = f"https://localhost:{https.port}"
    out = curl("--http2", "-w", " %{http_version} %{num_connects}\n",
               f"{base}/hello", f"{base}/healthz", f"{base}/")
    assert out.returncode == 0, out.stderr
    # three requests, one TLS connection (the later ones made no new connect)
    assert out.stdout == ("hello world\n 2 1\n" "ok\n 2 0\n" + INDEX.decode() + " 2 0\n")
    assert curl_bytes("--http2", f"{base}/data.bin") == (site / "data.bin").read_bytes()
    verbose = curl("--http2", "-v", "-o", "/dev/null", f"{base}/hello")
    assert "ALPN: server accepted h2" in verbose.stderr or "ALPN, server accepted to use h2" \
        in verbose.stderr, verbose.stderr
    assert "TLSv1.3" in verbose.stderr


def test_curl_refused_without_the_ca_and_by_name_mismatch(https: PeerProcess) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE")}
    no_ca = subprocess.run([require_program("curl"), "-sS", f"https://localhost:{https.port}/"],
                           capture_output=True, text=True, timeout=30, check=False, env=env)
    assert no_ca.returncode == 60, no_ca.stderr  # peer certificate cannot be authenticated
    wrong = curl("--resolve", f"other.example:{https.port}:127.0.0.1",
                 f"https://other.example:{https.port}/")
    assert wrong.returncode == 60, wrong.stderr


def test_tls12_refused_by_default(https: PeerProcess) -> None:
    out = curl("--tlsv1.2", "--tls-max", "1.2", f"https://localhost:{https.port}/hello")
    assert out.returncode == 35, (out.returncode, out.stderr)  # TLS handshake failed
    # the server is still fine afterwards
    assert curl("--tlsv1.3", f"https://localhost:{https.port}/hello").stdout == "hello world\n"


def test_tls12_when_opted_in_is_ecdhe_aead_only(https12: PeerProcess) -> None:
    url = f"https://localhost:{https12.port}/hello"
    out = curl("-v", "--tlsv1.2", "--tls-max", "1.2", url)
    assert (out.returncode, out.stdout) == (0, "hello world\n"), out.stderr
    used = re.search(r"SSL connection using (\S+) / (\S+)", out.stderr)
    assert used is not None, out.stderr
    assert used.group(1) == "TLSv1.2"
    assert used.group(2).startswith("ECDHE-") and ("GCM" in used.group(2)
                                                   or "CHACHA20" in used.group(2))
    for legacy in ("ECDHE-ECDSA-AES128-SHA", "AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-SHA384"):
        refused = curl("--tlsv1.2", "--tls-max", "1.2", "--ciphers", legacy, url)
        assert refused.returncode == 35, (legacy, refused.stderr)
    assert curl("--tlsv1.3", url).stdout == "hello world\n"


#: with ``-ign_eof`` s_client sends this and reads until the server closes, so it
#: also sees the TLS 1.3 session tickets that arrive after the handshake
REQUEST = "GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def s_client(port: int, *extra: str, request: str | None = None) -> str:
    c = tls_certs()
    argv = [require_program("openssl"), "s_client", "-connect", f"127.0.0.1:{port}",
            "-servername", "localhost", "-CAfile", str(c.ca_file), "-verify_return_error",
            *extra]
    if request is not None:
        argv.append("-ign_eof")
    out = subprocess.run(argv, input=request or "", capture_output=True, text=True,
                         timeout=30, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr


def test_openssl_s_client_alpn(https: PeerProcess) -> None:
    h2 = s_client(https.port, "-alpn", "h2")
    assert "ALPN protocol: h2" in h2
    assert "New, TLSv1.3" in h2 and "Verify return code: 0 (ok)" in h2
    h1 = s_client(https.port, "-alpn", "http/1.1")
    assert "ALPN protocol: http/1.1" in h1
    both = s_client(https.port, "-alpn", "http/1.1,h2")
    assert "ALPN protocol: h2" in both  # the server's preference wins
    unknown = s_client(https.port, "-alpn", "spdy/3")
    assert "No ALPN negotiated" in unknown


def test_openssl_s_client_resumes_a_session(https: PeerProcess, tmp_path: Path) -> None:
    sess = tmp_path / "session.pem"
    first = s_client(https.port, "-sess_out", str(sess), request=REQUEST)
    assert "New, TLSv1.3" in first
    assert "hello world" in first
    assert sess.exists() and sess.stat().st_size > 0
    again = s_client(https.port, "-sess_in", str(sess), request=REQUEST)
    assert "Reused, TLSv1.3" in again
    assert "hello world" in again


def test_nghttp_over_tls(https: PeerProcess) -> None:
    base = f"https://localhost:{https.port}"
    verbose = subprocess.run([require_program("nghttp"), "-nv", f"{base}/hello"],
                             capture_output=True, text=True, timeout=30, check=False)
    assert verbose.returncode == 0, verbose.stderr
    assert "The negotiated protocol: h2" in verbose.stdout
    assert "recv SETTINGS frame" in verbose.stdout
    stats = subprocess.run([require_program("nghttp"), "-n", "-s", f"{base}/hello", f"{base}/"],
                           capture_output=True, text=True, timeout=30, check=False)
    assert stats.returncode == 0, stats.stderr
    assert re.search(r" 200 +12 /hello", stats.stdout), stats.stdout
    assert re.search(rf" 200 +{len(INDEX)} /$", stats.stdout, re.M), stats.stdout


def test_sslyze_default_is_tls13_only(https: PeerProcess) -> None:
    report = scan_tls("127.0.0.1", https.port)
    assert report.supported() == ["TLS_1_3"]
    for old in ("SSL_2_0", "SSL_3_0", "TLS_1_0", "TLS_1_1", "TLS_1_2"):
        assert report.versions[old].accepted == (), old
    assert set(report.versions["TLS_1_3"].accepted) == TLS13_SUITES
    assert not report.compression
    assert not report.client_renegotiation_dos
    assert report.client_renegotiations_accepted == 0


def test_sslyze_tls12_opt_in_is_ecdhe_aead(https12: PeerProcess) -> None:
    report = scan_tls("127.0.0.1", https12.port)
    assert report.supported() == ["TLS_1_2", "TLS_1_3"]
    for old in ("SSL_2_0", "SSL_3_0", "TLS_1_0", "TLS_1_1"):
        assert report.versions[old].accepted == (), old
    tls12 = report.versions["TLS_1_2"].accepted
    assert tls12
    for suite in tls12:
        assert suite.startswith("TLS_ECDHE_"), suite
        assert any(mark in suite for mark in AEAD) and "_CBC_" not in suite, suite
    assert set(report.versions["TLS_1_3"].accepted) == TLS13_SUITES
    assert not report.compression
    # TLS 1.2 is where renegotiation exists: only the secure (RFC 5746) kind is
    # advertised, and a client asking to renegotiate is refused
    assert report.secure_renegotiation
    assert not report.client_renegotiation_dos
    assert report.client_renegotiations_accepted == 0


@pytest.fixture()
def mutual_tls(site: Path) -> Iterator[HTTPServer]:
    """The Python API: ``serve(app, tls=server_tls_context(...))`` requiring client certs."""
    c = tls_certs()
    ctx = server_tls_context(c.server.cert, c.server.key, client_auth=ClientAuth.REQUIRED,
                             client_ca=c.ca_file)
    ready = threading.Event()
    holder: list[HTTPServer] = []

    def on_ready(server: HTTPServer) -> None:
        holder.append(server)
        ready.set()

    thread = threading.Thread(target=serve, args=(make_app(str(site)), "127.0.0.1", 0),
                              kwargs={"tls": ctx, "on_ready": on_ready,
                                      "handle_signals": False, "grace": 0.5},
                              daemon=True)
    thread.start()
    assert ready.wait(10), "server did not start"
    try:
        yield holder[0]
    finally:
        holder[0].stop()
        thread.join(10)
    assert not thread.is_alive()


def test_mutual_tls_with_curl(mutual_tls: HTTPServer) -> None:
    c = tls_certs()
    url = f"https://localhost:{mutual_tls.port}/hello"
    ok = curl("--cert", str(c.client.cert), "--key", str(c.client.key), "-w",
              " %{http_version}", url)
    assert (ok.returncode, ok.stdout) == (0, "hello world\n 2"), ok.stderr
    anonymous = curl(url)
    assert anonymous.returncode != 0 and anonymous.stdout == ""
    foreign = curl("--cert", str(c.unknown_ca.cert), "--key", str(c.unknown_ca.key), url)
    assert foreign.returncode != 0 and foreign.stdout == ""


def test_websocat_wss_against_serve(https: PeerProcess) -> None:
    websocat = require_program("websocat")
    target = f"wss://localhost:{https.port}/ws/echo"
    # websocat's TLS (OpenSSL through native-tls) trusts SSL_CERT_FILE
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSL_CERT_")}
    env["SSL_CERT_FILE"] = str(tls_certs().ca_file)
    ok = subprocess.run([websocat, "-1", target], input=b"over wss\n", capture_output=True,
                        timeout=30, check=False, env=env)
    assert (ok.returncode, ok.stdout) == (0, b"over wss\n"), ok.stderr
    env["SSL_CERT_FILE"] = str(tls_certs().server.cert)  # not a CA: verification fails
    refused = subprocess.run([websocat, "-1", target], input=b"x\n", capture_output=True,
                             timeout=30, check=False, env=env)
    assert refused.returncode != 0 and refused.stdout == b""
