"""Arbitrary datagrams never raise anything but sockit errors, and mostly do nothing."""

from __future__ import annotations

import functools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sockit.errors import SockitError
from sockit.proto.tls.dtls import DTLSConnection, DTLSContext, DTLSListener, DTLSState
from sockit.proto.tls.events import TLSData
from tests.support.tls_certs import tls_certs

ADDR = ("127.0.0.1", 40002)

# datagrams that look like DTLS records often enough to reach OpenSSL's parser
record = st.builds(
    lambda ctype, epoch, seq, body: bytes([ctype, 0xFE, 0xFD]) + epoch.to_bytes(2, "big")
    + seq.to_bytes(6, "big") + len(body).to_bytes(2, "big") + body,
    st.sampled_from([20, 21, 22, 23, 24, 0, 255]),
    st.integers(0, 2),
    st.integers(0, 50),
    st.binary(max_size=300),
)
datagram = st.one_of(
    st.binary(max_size=600), st.lists(record, min_size=1, max_size=3).map(b"".join)
)


@functools.cache
def contexts() -> tuple[DTLSContext, DTLSContext]:
    c = tls_certs()
    return (DTLSContext.server(c.server.cert, c.server.key),
            DTLSContext.client(cafile=c.ca_file))


def open_pair() -> tuple[DTLSConnection, DTLSConnection]:
    server_ctx, client_ctx = contexts()
    client = DTLSConnection(client_ctx, server_hostname="localhost", now=0.0)
    server = DTLSConnection(server_ctx, peer_address=ADDR, now=0.0)
    for _ in range(10):
        for src, dst in ((client, server), (server, client)):
            for d in src.datagrams_to_send():
                dst.receive_datagram(d)
    assert client.state is server.state is DTLSState.OPEN
    return client, server


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.lists(datagram, max_size=5))
def test_an_open_server_drops_garbage_without_raising(datagrams):
    client, server = open_pair()
    for d in datagrams:
        assert server.receive_datagram(d) == []  # forged records never authenticate
    assert server.state is DTLSState.OPEN
    client.send_data(b"still here")
    assert server.receive_datagram(client.data_to_send()) == [TLSData(b"still here")]


@FUZZ
@given(st.lists(datagram, max_size=5))
def test_a_handshaking_server_raises_only_sockit_errors(datagrams):
    server_ctx, _ = contexts()
    server = DTLSConnection(server_ctx, peer_address=ADDR, now=0.0)
    for d in datagrams:
        try:
            events = server.receive_datagram(d)
        except SockitError:
            assert server.state is DTLSState.FAILED
            return
        assert events == []
        for reply in server.datagrams_to_send():
            assert len(reply) <= server.mtu


@FUZZ
@given(st.lists(datagram, max_size=5))
def test_the_listener_never_raises_and_never_adopts_garbage(datagrams):
    server_ctx, _ = contexts()
    listener = DTLSListener(server_ctx)
    for d in datagrams:
        result = listener.accept_hello(d, ADDR, 0.0)
        assert result.connection is None
        if result.reply is not None:
            assert len(result.reply) <= max(len(d), 64)


@FUZZ
@given(datagram)
def test_a_handshaking_client_raises_only_sockit_errors(d):
    _, client_ctx = contexts()
    client = DTLSConnection(client_ctx, server_hostname="localhost", now=0.0)
    try:
        assert client.receive_datagram(d) == []
    except SockitError:
        assert client.state is DTLSState.FAILED
