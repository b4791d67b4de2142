"""The sans-I/O DTLS engine in memory: handshake, data, MTU, close, verification."""

from __future__ import annotations

import contextlib

import pytest
from OpenSSL import SSL

from sockit.errors import LocalProtocolError, MessageTooLarge, TLSError
from sockit.proto.tls import (
    ClientAuth,
    CloseNotify,
    HandshakeComplete,
    HandshakeFailure,
    HostnameMismatch,
    PeerAlert,
    TLSData,
    TLSUsageError,
    UntrustedCertificate,
)
from sockit.proto.tls.dtls import DTLSConnection, DTLSContext, DTLSListener, DTLSState
from sockit.proto.tls.errors import CertificateExpired
from tests.support.tls_certs import CertPair, tls_certs

ADDR = ("127.0.0.1", 40001)


def server_ctx(pair: CertPair | None = None, **kw) -> DTLSContext:
    pair = pair or tls_certs().server
    return DTLSContext.server(pair.cert, pair.key, **kw)


def client_ctx(**kw) -> DTLSContext:
    kw.setdefault("cafile", tls_certs().ca_file)
    return DTLSContext.client(**kw)


def exchange(client: DTLSConnection, server: DTLSConnection, *, mtu: int | None = None,
             rounds: int = 20) -> tuple[list[object], list[object]]:
    """Deliver every datagram both ways until quiet (checking the MTU on the way)."""
    ce: list[object] = []
    se: list[object] = []
    for _ in range(rounds):
        moved = False
        for src, dst, sink in ((client, server, se), (server, client, ce)):
            for d in src.datagrams_to_send():
                moved = True
                if mtu is not None:
                    assert len(d) <= mtu
                sink.extend(dst.receive_datagram(d))
        if not moved:
            return ce, se
    raise AssertionError("no quiet")


def open_pair(cctx: DTLSContext | None = None, sctx: DTLSContext | None = None, *,
              host: str = "localhost", mtu: int | None = None):
    client = DTLSConnection(cctx or client_ctx(), server_hostname=host, now=0.0, mtu=mtu)
    server = DTLSConnection(sctx or server_ctx(), peer_address=ADDR, now=0.0, mtu=mtu)
    ce, se = exchange(client, server, mtu=mtu)
    return client, server, ce, se


def failure(cctx: DTLSContext, sctx: DTLSContext, host: str = "localhost") -> BaseException:
    client = DTLSConnection(cctx, server_hostname=host, now=0.0)
    server = DTLSConnection(sctx, peer_address=ADDR, now=0.0)
    with pytest.raises(TLSError) as info:
        exchange(client, server)
    return info.value


def test_handshake_with_stateful_cookie_exchange_then_data_both_ways():
    client, server, ce, se = open_pair(sctx=server_ctx(alpn=["coap", "x"]),
                                       cctx=client_ctx(alpn=["coap"]))
    done = ce[0]
    assert isinstance(done, HandshakeComplete)
    assert done.version == "DTLSv1.2"
    assert done.alpn_protocol == "coap" == server.alpn_protocol
    assert done.cipher.startswith("ECDHE-") and ("GCM" in done.cipher or "CHACHA" in done.cipher)
    assert done.peer_certificate is not None and "localhost" in done.peer_certificate.san_dns
    assert isinstance(se[0], HandshakeComplete) and se[0].server_hostname == "localhost"
    assert server.context.cookie_jar.stats.accepted >= 1  # the hello echoed a cookie
    client.send_data(b"one")
    client.send_data(b"two")
    datagrams = client.datagrams_to_send()
    assert len(datagrams) == 2  # one record, one datagram per payload
    got = [e for d in datagrams for e in server.receive_datagram(d)]
    assert got == [TLSData(b"one"), TLSData(b"two")]
    server.send(TLSData(b"back"))
    assert client.receive_datagram(server.data_to_send()) == [TLSData(b"back")]
    assert server.data_to_send() == b""
    assert client.version == "DTLSv1.2" and client.cipher == done.cipher


@pytest.mark.parametrize("mtu", [576, 1000, 1400, 9000])
def test_records_never_exceed_the_mtu(mtu):
    client, server, _, _ = open_pair(mtu=mtu)
    limit = client.max_payload
    assert limit is not None and limit < mtu
    client.send_data(b"x" * limit)  # N fits
    (d,) = client.datagrams_to_send()
    assert len(d) <= mtu
    assert server.receive_datagram(d) == [TLSData(b"x" * limit)]
    with pytest.raises(MessageTooLarge):  # N + 1 does not
        client.send_data(b"x" * (limit + 1))
    assert client.datagrams_to_send() == []
    assert client.state is DTLSState.OPEN


def test_mtu_bounds():
    for bad in (575, 9001, True, 1400.0):
        with pytest.raises(TLSUsageError):
            DTLSConnection(client_ctx(), server_hostname="localhost", mtu=bad)
    assert DTLSConnection(client_ctx(), server_hostname="localhost", mtu=576).mtu == 576


def test_close_notify_both_ways():
    client, server, _, _ = open_pair()
    client.close()
    assert client.state is DTLSState.CLOSING
    assert [e for d in client.datagrams_to_send() for e in server.receive_datagram(d)] == [
        CloseNotify()]
    assert server.state is DTLSState.PEER_CLOSED
    server.send(CloseNotify())
    assert server.state is DTLSState.CLOSED
    assert [e for d in server.datagrams_to_send() for e in client.receive_datagram(d)] == [
        CloseNotify()]
    assert client.state is DTLSState.CLOSED
    client.close()  # idempotent
    with pytest.raises(TLSUsageError):
        client.send_data(b"late")
    assert client.receive_datagram(b"\x17\xfe\xfd" + bytes(10) + b"\x00\x00") == []


def test_stray_and_replayed_datagrams_after_the_handshake_are_dropped_and_counted():
    client, server, _, _ = open_pair()
    client.send_data(b"once")
    (d,) = client.datagrams_to_send()
    assert server.receive_datagram(d) == [TLSData(b"once")]
    before = server.stats.dropped
    assert server.receive_datagram(d) == []  # replay
    assert server.receive_datagram(b"garbage") == []
    assert server.receive_datagram(b"") == []
    assert server.receive_datagram(d[:-1] + bytes([d[-1] ^ 1])) == []  # bad tag
    assert server.receive_datagram(b"\x17" * 20000) == []  # oversized
    assert server.stats.dropped == before + 5
    assert server.state is DTLSState.OPEN
    assert server.datagrams_to_send() == []


def test_dtls_10_is_refused():
    ctx = SSL.Context(SSL.DTLS_CLIENT_METHOD)
    ctx.set_max_proto_version(0xFEFF)  # DTLS 1.0
    ctx.set_cipher_list(b"ALL:@SECLEVEL=0")
    old = SSL.Connection(ctx, None)
    old.set_connect_state()
    server = DTLSConnection(server_ctx(cookies=False), peer_address=ADDR, now=0.0)

    def step() -> bytes:
        with contextlib.suppress(SSL.WantReadError):
            old.do_handshake()
        return old.bio_read(65536)

    with pytest.raises(HandshakeFailure) as info:
        server.receive_datagram(step())
    assert server.state is DTLSState.FAILED
    assert "protocol" in str(info.value).lower()
    assert info.value.alert == 70  # protocol_version, queued for the peer
    assert server.datagrams_to_send()
    with pytest.raises(TLSUsageError):
        server.receive_datagram(b"anything")


def test_wrong_host_untrusted_and_expired_map_like_tls():
    c = tls_certs()
    assert isinstance(failure(client_ctx(), server_ctx(c.wrong_host)), HostnameMismatch)
    assert isinstance(failure(client_ctx(), server_ctx(c.unknown_ca)), UntrustedCertificate)
    assert isinstance(failure(client_ctx(), server_ctx(c.self_signed)), UntrustedCertificate)
    assert isinstance(failure(client_ctx(), server_ctx(c.expired)), CertificateExpired)
    assert isinstance(failure(client_ctx(), server_ctx(), host="10.0.0.1"), HostnameMismatch)


def test_the_server_sees_our_alert_as_a_peer_alert():
    client = DTLSConnection(client_ctx(), server_hostname="localhost", now=0.0)
    server = DTLSConnection(server_ctx(tls_certs().wrong_host), peer_address=ADDR, now=0.0)
    with pytest.raises(HostnameMismatch):
        exchange(client, server)
    alert = client.datagrams_to_send()
    assert alert
    with pytest.raises(PeerAlert) as info:
        for d in alert:
            server.receive_datagram(d)
    assert info.value.alert is not None


def test_verify_off_and_ip_hosts():
    c = tls_certs()
    _, _, ce, _ = open_pair(client_ctx(verify=False), server_ctx(c.self_signed))
    assert isinstance(ce[0], HandshakeComplete)
    _, _, ce, _ = open_pair(host="127.0.0.1")
    assert isinstance(ce[0], HandshakeComplete)


def test_mutual_authentication():
    c = tls_certs()
    sctx = server_ctx(client_auth=ClientAuth.REQUIRED, client_ca=c.ca_file)
    exc = failure(client_ctx(), sctx)
    assert isinstance(exc, TLSError)
    _, _, _, se = open_pair(client_ctx(cert=c.client.cert, key=c.client.key), sctx)
    assert se[0].peer_certificate is not None
    assert "client.example" in se[0].peer_certificate.san_dns


def test_usage_errors():
    with pytest.raises(TLSUsageError):
        DTLSConnection(client_ctx())  # check_hostname needs a name
    with pytest.raises(TLSUsageError):
        DTLSConnection(server_ctx(), now=0.0)  # cookies need the peer address
    with pytest.raises(TLSUsageError):
        DTLSConnection(object())  # type: ignore[arg-type]
    with pytest.raises(TLSUsageError):
        DTLSListener(client_ctx())
    with pytest.raises(TLSUsageError):
        server_ctx(client_auth=ClientAuth.REQUIRED)
    with pytest.raises(TLSUsageError):
        client_ctx(alpn="coap")
    client = DTLSConnection(client_ctx(), server_hostname="localhost", now=0.0)
    with pytest.raises(TLSUsageError):
        client.send_data(b"too early")
    with pytest.raises(LocalProtocolError):
        client.send(HandshakeComplete(None, "x", "y", False, None))
    assert client.max_payload is None and client.trailing_data == b""
    client.close()
    assert client.state is DTLSState.CLOSED


def test_receive_eof():
    client = DTLSConnection(client_ctx(), server_hostname="localhost", now=0.0)
    with pytest.raises(HandshakeFailure):
        client.receive_eof()
    client, _, _, _ = open_pair()
    assert client.receive_eof() == []
    assert client.state is DTLSState.CLOSED
