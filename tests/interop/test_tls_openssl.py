"""sockit's TLS against the ``openssl`` program: s_server and s_client, both ways."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from sockit.errors import TLSError
from sockit.limits import TLSDefaults
from sockit.net.tcp import listen_tcp
from sockit.net.tls import connect_tls, wrap_server
from sockit.proto.tls import ClientAuth, HandshakeFailure, PeerAlert, TLSContext
from tests.support.peers import free_port, require_program, run_peer
from tests.support.tls_certs import tls_certs

pytestmark = pytest.mark.interop


@pytest.fixture
def openssl() -> str:
    return require_program("openssl")


def s_server(openssl: str, port: int, *extra: str) -> list[str]:
    c = tls_certs()
    return [openssl, "s_server", "-accept", str(port), "-cert", str(c.server.cert),
            "-key", str(c.server.key), "-www", "-naccept", "4", *extra]


def get(port: int, ctx: TLSContext) -> tuple[str | None, bytes]:
    with connect_tls("127.0.0.1", port, ctx, timeout=10) as tls:
        tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
        body = b""
        while chunk := tls.recv(65536, timeout=10):
            body += chunk
        return tls.version, body


def test_our_client_against_s_server_tls13(openssl):
    port = free_port()
    with run_peer(s_server(openssl, port, "-tls1_3"), port=port):
        version, body = get(port, TLSContext.client(cafile=tls_certs().ca_file))
    assert version == "TLSv1.3"
    assert body.startswith(b"HTTP/1.0 200 ok")
    assert b"TLSv1.3" in body


def test_tls12_s_server_refused_by_default_and_accepted_when_opted_in(openssl):
    port = free_port()
    with run_peer(s_server(openssl, port, "-tls1_2"), port=port):
        with pytest.raises((HandshakeFailure, PeerAlert)):
            get(port, TLSContext.client(cafile=tls_certs().ca_file))
        ctx = TLSContext.client(cafile=tls_certs().ca_file,
                                defaults=TLSDefaults(allow_tls12=True))
        version, body = get(port, ctx)
    assert version == "TLSv1.2"
    assert b"ECDHE" in body


def run_s_client(
    openssl: str, port: int, payload: bytes, *extra: str
) -> subprocess.CompletedProcess[bytes]:
    c = tls_certs()
    argv = [openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(c.ca_file),
            "-verify_return_error", "-quiet", "-ign_eof", *extra]
    return subprocess.run(argv, input=payload, capture_output=True, timeout=20, check=False)


def serve_once(ctx: TLSContext, *, echo: bool = True) -> tuple[int, list[object], threading.Thread]:
    listener = listen_tcp("127.0.0.1", 0)
    port = listener.getsockname()[1]
    results: list[object] = []

    def run() -> None:
        try:
            sock = listener.accept(timeout=10)
            try:
                with wrap_server(sock, ctx, timeout=10) as tls:
                    results.append(tls.peer_certificate)
                    data = tls.recv(65536, timeout=10)
                    if echo:
                        tls.sendall(data.upper(), timeout=10)
            except TLSError as exc:
                results.append(exc)
            finally:
                sock.close()
        finally:
            listener.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.01)
    return port, results, thread


def test_s_client_against_our_server(openssl):
    c = tls_certs()
    port, results, thread = serve_once(TLSContext.server(c.server.cert, c.server.key))
    proc = run_s_client(openssl, port, b"hello from s_client\n", "-tls1_3")
    thread.join(15)
    assert b"HELLO FROM S_CLIENT" in proc.stdout, proc.stderr
    assert results == [None]


def test_s_client_tls12_refused_by_our_server(openssl):
    c = tls_certs()
    port, results, thread = serve_once(TLSContext.server(c.server.cert, c.server.key))
    proc = run_s_client(openssl, port, b"x\n", "-tls1_2")
    thread.join(15)
    assert proc.returncode != 0
    assert len(results) == 1 and isinstance(results[0], TLSError)


def test_mutual_tls_with_s_client_cert(openssl):
    c = tls_certs()
    ctx = TLSContext.server(c.server.cert, c.server.key, client_auth=ClientAuth.REQUIRED,
                            client_ca=c.ca_file)
    port, results, thread = serve_once(ctx)
    proc = run_s_client(openssl, port, b"mtls\n", "-cert", str(c.client.cert),
                        "-key", str(c.client.key))
    thread.join(15)
    assert b"MTLS" in proc.stdout, proc.stderr
    info = results[0]
    assert info is not None and "client.example" in info.san_dns  # type: ignore[attr-defined]
    # without a certificate the server refuses
    port, results, thread = serve_once(ctx)
    run_s_client(openssl, port, b"no cert\n")
    thread.join(15)
    assert len(results) == 1 and isinstance(results[0], TLSError)
