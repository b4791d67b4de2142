"""The sans-I/O TLS engine in memory: handshakes, data, close, unwrap, timeouts."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockit.errors import LocalProtocolError, Phase, SockitError, Timeout
from sockit.limits import TLSDefaults
from sockit.proto.tls import (
    CloseNotify,
    HandshakeComplete,
    HandshakeFailure,
    PeerAlert,
    TLSConnection,
    TLSContext,
    TLSData,
    TLSProtocolViolation,
    TLSState,
    TLSUsageError,
)
from tests.support.tls_certs import pump, tls_certs


@pytest.fixture(scope="module")
def server_ctx() -> TLSContext:
    c = tls_certs()
    return TLSContext.server(c.server.cert, c.server.key, alpn=["h2", "http/1.1"])


@pytest.fixture
def client_ctx() -> TLSContext:
    return TLSContext.client(cafile=tls_certs().ca_file, alpn=["http/1.1"])


def connect(client_ctx: TLSContext, server_ctx: TLSContext, *, host: str = "localhost",
            rng: random.Random | None = None) -> tuple[TLSConnection, TLSConnection]:
    client = TLSConnection(client_ctx, server_hostname=host, now=0.0)
    server = TLSConnection(server_ctx, now=0.0)
    result = pump(client, server, rng=rng)
    assert [type(e) for e in result.client] == [HandshakeComplete]
    assert [type(e) for e in result.server] == [HandshakeComplete]
    return client, server


def test_handshake_negotiates_tls13_alpn_and_reports_the_peer(client_ctx, server_ctx):
    client = TLSConnection(client_ctx, server_hostname="localhost", now=0.0)
    assert client.state is TLSState.HANDSHAKING
    assert client.data_to_send()[:1] == b"\x16"  # the ClientHello is queued at once
    server = TLSConnection(server_ctx)
    client = TLSConnection(client_ctx, server_hostname="localhost", now=0.0)
    result = pump(client, server)
    done = result.client[0]
    assert isinstance(done, HandshakeComplete)
    assert done.version == "TLSv1.3"
    assert done.alpn_protocol == "http/1.1"
    assert done.cipher in {"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                           "TLS_AES_128_GCM_SHA256"}
    assert done.server_hostname == "localhost"
    assert done.session_reused is False
    assert done.peer_certificate is not None
    assert "localhost" in done.peer_certificate.san_dns
    assert result.server[0].server_hostname == "localhost"  # type: ignore[attr-defined]
    assert result.server[0].peer_certificate is None  # type: ignore[attr-defined]
    assert client.state is server.state is TLSState.OPEN
    assert client.version == "TLSv1.3" and client.alpn_protocol == "http/1.1"
    assert len(client.peer_chain_der) >= 1
    assert client.next_deadline() is None


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_cuts_give_the_same_events(client_ctx, server_ctx, seed):
    rng = random.Random(seed)
    client, server = connect(client_ctx, server_ctx, rng=rng)
    payload = bytes(rng.randrange(256) for _ in range(50_000))
    client.send_data(payload)
    server.send_data(payload[::-1])
    result = pump(client, server, rng=rng)
    assert b"".join(e.data for e in result.server if isinstance(e, TLSData)) == payload
    assert b"".join(e.data for e in result.client if isinstance(e, TLSData)) == payload[::-1]


def test_byte_by_byte_handshake(client_ctx, server_ctx):
    client = TLSConnection(client_ctx, server_hostname="localhost")
    server = TLSConnection(server_ctx)
    events: dict[str, list[object]] = {"c": [], "s": []}
    for _ in range(10):
        for src, dst, key in ((client, server, "s"), (server, client, "c")):
            for i, byte in enumerate(src.data_to_send()):
                events[key] += dst.receive_data(bytes([byte]))
                del i
    assert [type(e) for e in events["c"]] == [HandshakeComplete]
    assert [type(e) for e in events["s"]] == [HandshakeComplete]


def test_bulk_data_both_ways(client_ctx, server_ctx):
    client, server = connect(client_ctx, server_ctx)
    big = b"x" * (1 << 20)
    client.send_data(big)
    client.send(TLSData(b"!"))
    result = pump(client, server)
    got = b"".join(e.data for e in result.server if isinstance(e, TLSData))
    assert got == big + b"!"
    assert all(len(e.data) <= 16384 for e in result.server if isinstance(e, TLSData))


def test_send_before_handshake_and_unknown_events_are_refused(client_ctx, server_ctx):
    client = TLSConnection(client_ctx, server_hostname="localhost")
    with pytest.raises(TLSUsageError):
        client.send_data(b"early")
    with pytest.raises(LocalProtocolError):
        client.send(HandshakeComplete(None, "TLSv1.3", "x", False, None))


def test_close_notify_both_ways(client_ctx, server_ctx):
    client, server = connect(client_ctx, server_ctx)
    client.close()
    assert client.state is TLSState.CLOSING
    result = pump(client, server)
    assert result.server == [CloseNotify()]
    assert server.state is TLSState.PEER_CLOSED
    server.send_data(b"last words")  # TLS 1.3 half-close: the server may still send
    server.close()
    result = pump(client, server)
    assert result.client == [TLSData(b"last words"), CloseNotify()]
    assert client.state is server.state is TLSState.CLOSED
    with pytest.raises(TLSUsageError):
        client.send_data(b"late")
    client.close()  # idempotent
    assert client.receive_eof() == []


def test_send_close_notify_event(client_ctx, server_ctx):
    client, server = connect(client_ctx, server_ctx)
    server.send(CloseNotify())
    assert pump(client, server).client == [CloseNotify()]


def test_unwrap_returns_the_plaintext_after_close_notify(client_ctx, server_ctx):
    client, server = connect(client_ctx, server_ctx)
    with pytest.raises(TLSUsageError):
        client.unwrap()
    client.close()
    server.receive_data(client.data_to_send())
    server.close()
    wire = server.data_to_send() + b"220 plaintext again\r\n"
    events = []
    for i in range(len(wire)):  # byte by byte: the cut after close_notify is exact
        events += client.receive_data(wire[i : i + 1])
    assert events == [CloseNotify()]
    assert client.state is TLSState.CLOSED
    client.receive_data(b"more")
    assert client.unwrap() == b"220 plaintext again\r\nmore"
    assert client.trailing_data == b"220 plaintext again\r\nmore"


def test_unwrap_when_the_peer_closes_first(client_ctx, server_ctx):
    client, server = connect(client_ctx, server_ctx)
    server.close()
    events = client.receive_data(server.data_to_send() + b"PLAIN")
    assert events == [CloseNotify()]
    assert client.state is TLSState.PEER_CLOSED
    client.close()
    assert client.state is TLSState.CLOSED
    assert client.unwrap() == b"PLAIN"
    assert server.receive_data(client.data_to_send()) == [CloseNotify()]
    assert server.unwrap() == b""


def test_eof_during_handshake_and_truncation(client_ctx, server_ctx):
    client = TLSConnection(client_ctx, server_hostname="localhost")
    with pytest.raises(HandshakeFailure) as info:
        client.receive_eof()
    assert info.value.reason == "eof"
    assert client.state is TLSState.FAILED
    with pytest.raises(TLSUsageError):
        client.receive_data(b"\x16\x03\x03")
    client, _ = connect(client_ctx, server_ctx)
    with pytest.raises(TLSProtocolViolation) as trunc:
        client.receive_eof()
    assert trunc.value.reason == "unexpected-eof"
    client, _ = connect(client_ctx, server_ctx)
    client.close()
    assert client.receive_eof() == []  # we closed: the peer may just hang up
    assert client.state is TLSState.CLOSED


def test_close_during_handshake_abandons_it(client_ctx):
    client = TLSConnection(client_ctx, server_hostname="localhost")
    client.data_to_send()
    client.close()
    assert client.state is TLSState.CLOSED
    assert client.receive_data(b"\x16\x03\x03\x00\x01x") == []


def test_handshake_timeout_on_a_fake_clock(client_ctx):
    limit = TLSDefaults().handshake_timeout
    client = TLSConnection(client_ctx, server_hostname="localhost", now=100.0)
    assert client.next_deadline() == 100.0 + limit
    assert client.handle_timeout(100.0 + limit - 0.001) == []
    with pytest.raises(Timeout) as info:
        client.handle_timeout(100.0 + limit)
    assert info.value.phase is Phase.HANDSHAKE
    assert client.state is TLSState.FAILED
    short = TLSConnection(client_ctx, server_hostname="localhost", now=0.0, handshake_timeout=2)
    assert short.next_deadline() == 2.0
    assert TLSConnection(client_ctx, server_hostname="localhost").next_deadline() is None
    with pytest.raises(TLSUsageError):
        TLSConnection(client_ctx, server_hostname="localhost", now=0.0, handshake_timeout=0)


def test_garbage_instead_of_a_client_hello(server_ctx):
    server = TLSConnection(server_ctx)
    with pytest.raises(TLSProtocolViolation) as info:
        server.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert info.value.reason == "protocol"
    assert server.state is TLSState.FAILED


def test_garbage_record_after_the_handshake_queues_an_alert(client_ctx, server_ctx):
    client, server = connect(client_ctx, server_ctx)
    bogus = b"\x17\x03\x03\x00\x20" + bytes(range(32))  # application data with a bad tag
    with pytest.raises(TLSProtocolViolation) as info:
        client.receive_data(bogus)
    alert = client.data_to_send()
    assert alert[:1] in (b"\x15", b"\x17") and len(alert) >= 7  # the alert record
    assert info.value.alert == 20  # bad_record_mac
    with pytest.raises(PeerAlert) as peer:
        server.receive_data(alert)
    assert peer.value.alert == 20


def test_oversized_record_header_fails_without_waiting(client_ctx, server_ctx):
    client, _ = connect(client_ctx, server_ctx)
    with pytest.raises(TLSProtocolViolation):
        client.receive_data(b"\x17\x03\x03\xff\xff")  # claims 65535 bytes: refused now


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_either_parse_or_raise_a_sockit_error(data):
    c = tls_certs()
    ctx = _fuzz_ctx()
    server = TLSConnection(ctx)
    try:
        events = server.receive_data(data)
    except SockitError:
        assert server.state is TLSState.FAILED
    else:
        assert events == []
        del c


_CTX: list[TLSContext] = []


def _fuzz_ctx() -> TLSContext:
    if not _CTX:
        c = tls_certs()
        _CTX.append(TLSContext.server(c.server.cert, c.server.key))
    return _CTX[0]


def test_keylog_receives_nss_lines(server_ctx):
    lines: list[bytes] = []
    ctx = TLSContext.client(cafile=tls_certs().ca_file, keylog=lines.append)
    connect(ctx, server_ctx)
    labels = {line.split(b" ", 1)[0] for line in lines}
    assert b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" in labels
    assert b"CLIENT_TRAFFIC_SECRET_0" in labels
    ctx.set_keylog(None)
    lines.clear()
    connect(ctx, server_ctx)
    assert lines == []
