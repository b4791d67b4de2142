"""Blocking DTLS over loopback UDP: echo, lost datagrams, timeouts, strays, close."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from sockit.errors import MessageTooLarge, Phase, SockitError, Timeout
from sockit.limits import DTLSDefaults
from sockit.net.dtls import DTLSPeer, DTLSServer, connect_dtls, listen_dtls
from sockit.net.udp import bind_udp, connect_udp
from sockit.proto.tls import HostnameMismatch
from sockit.proto.tls.dtls import DTLSContext
from tests.support.tls_certs import CertPair, tls_certs

FAST = DTLSDefaults(retransmit_initial=0.05, retransmit_max=0.4, handshake_timeout=5.0)


def server_ctx(pair: CertPair | None = None) -> DTLSContext:
    pair = pair or tls_certs().server
    return DTLSContext.server(pair.cert, pair.key, defaults=FAST)


def client_ctx() -> DTLSContext:
    return DTLSContext.client(cafile=tls_certs().ca_file, defaults=FAST)


@contextmanager
def serving(handler: Callable[[DTLSServer], None], server: DTLSServer | None = None,
            ) -> Iterator[DTLSServer]:
    """Run ``handler(server)`` in a thread; the server closes when it returns."""
    server = server or listen_dtls("127.0.0.1", 0, server_ctx())
    errors: list[BaseException] = []

    def run() -> None:
        try:
            handler(server)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        thread.join(5)
        assert not thread.is_alive()
    if errors:
        raise errors[0]


def echo(count: int) -> Callable[[DTLSServer], None]:
    def handler(server: DTLSServer) -> None:
        peer = server.accept(timeout=5)
        for _ in range(count):
            data = peer.recv(timeout=5)
            if not data:
                return
            peer.send(data)
        assert peer.recv(timeout=5) == b""  # the client's close_notify
    return handler


def test_echo_over_loopback():
    with serving(echo(20)) as server:
        port = server.address[1]
        with connect_dtls("127.0.0.1", port, client_ctx(), server_hostname="localhost",
                          timeout=5) as dtls:
            assert dtls.connection.version == "DTLSv1.2"
            for i in range(20):
                payload = b"datagram %d " % i * (i + 1)
                dtls.send(payload)
                assert dtls.recv(timeout=5) == payload
            with pytest.raises(MessageTooLarge):
                dtls.send(b"x" * 2000)
            assert dtls.connection.stats.records_received == 20


def test_a_lost_client_hello_is_resent_on_the_schedule():
    server = listen_dtls("127.0.0.1", 0, server_ctx())

    def handler(server: DTLSServer) -> None:
        server.socket.recvfrom(65535, timeout=5)  # swallow the first ClientHello
        echo(1)(server)

    with serving(handler, server), connect_dtls("127.0.0.1", server.address[1], client_ctx(),
                      server_hostname="localhost", timeout=5) as dtls:
        assert dtls.connection.stats.retransmits >= 1
        dtls.send(b"after a loss")
        assert dtls.recv(timeout=5) == b"after a loss"


def test_a_silent_server_times_the_handshake_out():
    silent = bind_udp("127.0.0.1", 0)
    try:
        with pytest.raises(Timeout) as info:
            connect_dtls("127.0.0.1", silent.getsockname()[1], client_ctx(),
                         server_hostname="localhost", timeout=0.3)
        assert info.value.phase is Phase.TLS
        # the ClientHello went out more than once before giving up
        assert silent.recv_many(10, timeout=0.1).__len__() >= 2
    finally:
        silent.close()


def test_verification_failures_reach_the_caller():
    def handler(server: DTLSServer) -> None:
        with pytest.raises(Timeout):
            server.accept(timeout=1.0)
        assert server.failed == 1 and server.peer_count == 0

    wrong = listen_dtls("127.0.0.1", 0, server_ctx(tls_certs().wrong_host))
    with serving(handler, wrong), pytest.raises(HostnameMismatch):
        connect_dtls("127.0.0.1", wrong.address[1], client_ctx(),
                     server_hostname="localhost", timeout=5)


def test_strays_create_no_peers_and_clients_get_served_anyway():
    server = listen_dtls("127.0.0.1", 0, server_ctx())
    stray = connect_udp("127.0.0.1", server.address[1])
    try:
        for junk in (b"junk", b"\x16\xfe\xfd" + bytes(10) + b"\x00\x00", b"\x17" * 40):
            stray.send(junk)
        for _ in range(3):
            server.poll(0.5)
        assert server.peer_count == 0
        assert server.listener.stats.dropped == 3
        assert stray.recv_many(5, timeout=0.05) == []  # no answer to garbage
    finally:
        stray.close()
        server.close()


def test_max_peers_refuses_new_addresses():
    server = listen_dtls("127.0.0.1", 0, server_ctx(), max_peers=1)
    accepted: list[DTLSPeer] = []

    def handler(s: DTLSServer) -> None:
        accepted.append(s.accept(timeout=5))
        with pytest.raises(Timeout):
            s.accept(timeout=0.5)
        assert s.refused >= 1

    with serving(handler, server):
        first = connect_dtls("127.0.0.1", server.address[1], client_ctx(),
                             server_hostname="localhost", timeout=5)
        with pytest.raises(SockitError):
            connect_dtls("127.0.0.1", server.address[1], client_ctx(),
                         server_hostname="localhost", timeout=0.3)
        first.close()
    assert accepted and accepted[0].handshake is not None
