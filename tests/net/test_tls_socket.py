"""Blocking TLS sockets over loopback: connect, echo, resume, STARTTLS, timeouts."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable

import pytest

from sockit.errors import ConnectionClosed, Phase, Timeout
from sockit.net.tcp import Socket, connect_tcp, listen_tcp
from sockit.net.tls import (
    TLSSocket,
    connect_tls,
    keylog_from_environment,
    start_tls,
    wrap_server,
)
from sockit.proto.tls import (
    HostnameMismatch,
    PeerAlert,
    TLSContext,
    UntrustedCertificate,
)
from tests.support.tls_certs import tls_certs


def server_ctx(**kw) -> TLSContext:
    c = tls_certs()
    return TLSContext.server(c.server.cert, c.server.key, **kw)


def client_ctx(**kw) -> TLSContext:
    kw.setdefault("cafile", tls_certs().ca_file)
    return TLSContext.client(**kw)


class Serve:
    """Accept ``count`` connections on a thread and run ``handler`` on each."""

    def __init__(self, handler: Callable[[Socket], None], count: int = 1) -> None:
        self.listener = listen_tcp("127.0.0.1", 0)
        self.port = self.listener.getsockname()[1]
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, args=(handler, count), daemon=True)
        self.thread.start()

    def _run(self, handler: Callable[[Socket], None], count: int) -> None:
        try:
            for _ in range(count):
                conn = self.listener.accept(timeout=5)
                try:
                    handler(conn)
                except BaseException as exc:
                    self.errors.append(exc)
                finally:
                    conn.close()
        finally:
            self.listener.close()

    def join(self) -> list[BaseException]:
        self.thread.join(10)
        assert not self.thread.is_alive()
        return self.errors


def echo_handler(ctx: TLSContext) -> Callable[[Socket], None]:
    def handle(sock: Socket) -> None:
        with wrap_server(sock, ctx, timeout=5) as tls:
            while data := tls.recv(65536, timeout=5):
                tls.sendall(data, timeout=5)

    return handle


def test_connect_tls_echo_and_properties():
    sctx = server_ctx(alpn=["http/1.1"])
    srv = Serve(echo_handler(sctx))
    with connect_tls("127.0.0.1", srv.port, client_ctx(alpn=["http/1.1"]), timeout=5) as tls:
        assert isinstance(tls, TLSSocket)
        assert tls.version == "TLSv1.3" and tls.alpn_protocol == "http/1.1"
        assert tls.cipher and tls.fileno() >= 0
        assert tls.peer_certificate is not None and "127.0.0.1" in tls.peer_certificate.san_ip
        payload = bytes(range(256)) * 4096  # 1 MiB
        sender = threading.Thread(target=tls.sendall, args=(payload,), kwargs={"timeout": 10})
        sender.start()
        got = tls.recv_exactly(len(payload), timeout=10)
        sender.join(10)
        assert got == payload
        assert tls.pending() == 0
    assert tls.closed
    assert srv.join() == []


def test_second_connection_resumes_the_session():
    sctx = server_ctx()
    srv = Serve(echo_handler(sctx), count=2)
    cctx = client_ctx()
    reused = []
    for _ in range(2):
        with connect_tls("localhost", srv.port, cctx, timeout=5) as tls:
            tls.sendall(b"x")
            assert tls.recv(10, timeout=5) == b"x"  # reads the ticket too
            reused.append(tls.session_reused)
            assert tls.session is not None
    assert reused == [False, True]
    assert f"localhost:{srv.port}" in cctx.session_cache
    assert srv.join() == []


def test_close_notify_reaches_the_peer_as_end_of_stream():
    got: list[bytes] = []

    def handle(sock: Socket) -> None:
        tls = wrap_server(sock, server_ctx(), timeout=5)
        got.append(tls.recv(100, timeout=5))
        got.append(tls.recv(100, timeout=5))

    srv = Serve(handle)
    tls = connect_tls("127.0.0.1", srv.port, client_ctx(), timeout=5)
    tls.sendall(b"bye")
    tls.close()
    tls.close()  # idempotent
    assert srv.join() == []
    assert got == [b"bye", b""]


def test_handshake_timeout_when_the_server_never_answers():
    hold = threading.Event()

    def silent(sock: Socket) -> None:
        hold.wait(5)

    srv = Serve(silent)
    with pytest.raises(Timeout) as info:
        connect_tls("127.0.0.1", srv.port, client_ctx(), timeout=0.05)
    assert info.value.phase is Phase.TLS
    hold.set()
    srv.join()


def test_bad_certificate_fails_the_client_and_alerts_the_server():
    c = tls_certs()

    def handle(sock: Socket) -> None:
        wrap_server(sock, TLSContext.server(c.wrong_host.cert, c.wrong_host.key), timeout=5)

    srv = Serve(handle)
    with pytest.raises(HostnameMismatch):
        connect_tls("localhost", srv.port, client_ctx(), timeout=5)
    errors = srv.join()
    assert len(errors) == 1 and isinstance(errors[0], PeerAlert)


def test_starttls_upgrade_and_unwrap_round_trip():
    seen: list[bytes] = []

    def handle(sock: Socket) -> None:
        assert sock.recv_exactly(10, timeout=5) == b"STARTTLS\r\n"
        sock.sendall(b"OK\r\n", timeout=5)
        tls = wrap_server(sock, server_ctx(), timeout=5)
        seen.append(tls.recv_exactly(6, timeout=5))
        tls.sendall(b"secret", timeout=5)
        assert tls.recv(10, timeout=5) == b""  # the client's close_notify
        plain = tls.unwrap(timeout=5)
        plain.sendall(b"plain again\r\n", timeout=5)
        seen.append(plain.recv_exactly(5, timeout=5))

    srv = Serve(handle)
    sock = connect_tcp("127.0.0.1", srv.port, timeout=5)
    sock.sendall(b"STARTTLS\r\n")
    assert sock.recv_exactly(4, timeout=5) == b"OK\r\n"
    tls = start_tls(sock, client_ctx(), server_hostname="127.0.0.1", timeout=5)
    tls.sendall(b"hello!")
    assert tls.recv_exactly(6, timeout=5) == b"secret"
    plain = tls.unwrap(timeout=5)
    assert plain is sock
    rest = tls.trailing_data
    while len(rest) < 13:
        rest += plain.recv(100, timeout=5)
    assert rest == b"plain again\r\n"
    plain.sendall(b"done.")
    assert srv.join() == []
    assert seen == [b"hello!", b"done."]
    plain.close()


def test_recv_exactly_when_the_stream_ends_early():
    def handle(sock: Socket) -> None:
        with wrap_server(sock, server_ctx(), timeout=5) as tls:
            tls.sendall(b"abc")

    srv = Serve(handle)
    with connect_tls("127.0.0.1", srv.port, client_ctx(), timeout=5) as tls, pytest.raises(
        ConnectionClosed
    ):
        tls.recv_exactly(10, timeout=5)
    assert srv.join() == []


def test_against_a_stdlib_ssl_server():
    c = tls_certs()
    sslctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sslctx.load_cert_chain(c.server.cert, c.server.key)

    def handle(sock: Socket) -> None:
        raw = sock.raw
        raw.setblocking(True)
        with sslctx.wrap_socket(raw.dup(), server_side=True) as s:
            s.sendall(s.recv(100).upper())

    srv = Serve(handle)
    with connect_tls("localhost", srv.port, client_ctx(), timeout=5) as tls:
        tls.sendall(b"stdlib")
        assert tls.recv(100, timeout=5) == b"STDLIB"
    assert srv.join() == []


def test_untrusted_against_a_real_socket_and_keylog_file(tmp_path, monkeypatch):
    path = tmp_path / "keys.log"
    sink = keylog_from_environment({"SSLKEYLOGFILE": str(path)})
    assert sink is not None and keylog_from_environment({}) is None
    monkeypatch.setenv("SSLKEYLOGFILE", str(path))
    srv = Serve(echo_handler(server_ctx()))
    cctx = client_ctx()
    with connect_tls("127.0.0.1", srv.port, cctx, timeout=5) as tls:
        tls.sendall(b"k")
        assert tls.recv(1, timeout=5) == b"k"
    assert srv.join() == []
    assert b"CLIENT_TRAFFIC_SECRET_0" in path.read_bytes()
    c = tls_certs()
    srv = Serve(echo_handler(TLSContext.server(c.unknown_ca.cert, c.unknown_ca.key)))
    with pytest.raises(UntrustedCertificate):
        connect_tls("127.0.0.1", srv.port, client_ctx(), timeout=5)
    srv.join()
