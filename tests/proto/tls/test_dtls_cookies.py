"""DTLS cookies: the HMAC jar's rotation and grace, and the stateless listener."""

from __future__ import annotations

import itertools

import pytest

from sockit.limits import DTLSDefaults
from sockit.proto.tls import TLSUsageError
from sockit.proto.tls.dtls import (
    CookieJar,
    DTLSConnection,
    DTLSContext,
    DTLSListener,
    DTLSState,
    HandshakeComplete,
    address_key,
)
from tests.support.tls_certs import tls_certs

A = ("127.0.0.1", 5000)
B = ("127.0.0.1", 5001)


def counting_tokens():
    counter = itertools.count(1)
    return lambda n: bytes([next(counter)]) * n


def jar(lifetime: float = 60.0) -> CookieJar:
    return CookieJar(DTLSDefaults(cookie_lifetime=lifetime), token=counting_tokens())


def test_a_cookie_is_bound_to_the_address_and_is_32_bytes():
    j = jar()
    cookie = j.make(A, 0.0)
    assert len(cookie) == 32
    assert j.verify(cookie, A, 1.0)
    assert not j.verify(cookie, B, 1.0)
    assert not j.verify(cookie, ("127.0.0.2", 5000), 1.0)
    assert j.stats.issued == 1 and j.stats.accepted == 1 and j.stats.refused == 2


def test_forged_and_truncated_cookies_are_refused():
    j = jar()
    cookie = j.make(A, 0.0)
    assert not j.verify(bytes(32), A, 0.0)
    assert not j.verify(cookie[:-1], A, 0.0)
    assert not j.verify(cookie + b"\x00", A, 0.0)
    assert not j.verify(bytes([cookie[0] ^ 1]) + cookie[1:], A, 0.0)
    other = jar()  # same address, another secret
    other._current = b"\xee" * 32
    assert not j.verify(other.make(A, 0.0), A, 0.0)


def test_rotation_keeps_the_previous_secret_for_one_lifetime():
    j = jar(lifetime=60.0)
    old = j.make(A, 0.0)
    assert j.verify(old, A, 59.9) and j.stats.rotations == 0
    assert j.verify(old, A, 60.0)  # rotated: old secret is now the previous one
    assert j.stats.rotations == 1
    new = j.make(A, 60.0)
    assert new != old
    assert j.verify(old, A, 119.9)  # still in grace
    assert not j.verify(old, A, 120.0)  # second rotation: gone
    assert j.verify(new, A, 120.0)  # the cookie of the rotated-in secret is in grace now
    assert not j.verify(new, A, 180.0)


def test_a_long_silence_drops_both_secrets_and_a_clock_going_back_keeps_them():
    j = jar(lifetime=10.0)
    cookie = j.make(A, 0.0)
    assert not j.verify(cookie, A, 25.0)  # two lifetimes at once
    fresh = j.make(A, 25.0)
    assert j.verify(fresh, A, 3.0)  # the clock went back: no rotation


def test_address_keys_are_canonical():
    assert address_key(("::1", 5)) == address_key(("0::1", 5, 0, 0))
    assert address_key(("LocalHost", 5)) == address_key(("localhost", 5))
    assert address_key(("::1", 5)) != address_key(("::1", 6))
    assert address_key(b"x") != address_key("x")
    for bad in [(1, 2), ("h",), ("h", "5"), ("h", True), 3.5]:
        with pytest.raises(TLSUsageError):
            address_key(bad)  # type: ignore[arg-type]


def test_the_secret_source_is_checked():
    with pytest.raises(TLSUsageError):
        CookieJar(token=lambda n: b"short")


# -- the listener ----------------------------------------------------------------

def contexts(defaults: DTLSDefaults | None = None):
    c = tls_certs()
    server = DTLSContext.server(c.server.cert, c.server.key, defaults=defaults)
    client = DTLSContext.client(cafile=c.ca_file)
    return server, client


def test_a_hello_without_cookie_gets_a_small_reply_and_leaves_no_state():
    server_ctx, client_ctx = contexts()
    listener = DTLSListener(server_ctx)
    client = DTLSConnection(client_ctx, server_hostname="localhost", now=0.0)
    (hello,) = client.datagrams_to_send()
    results = [listener.accept_hello(hello, A, 0.0) for _ in range(3)]
    for r in results:
        assert r.connection is None
        assert r.reply is not None and len(r.reply) < len(hello)  # no amplification
        assert r.reply[0] == 22  # a handshake record: HelloVerifyRequest
    assert listener.stats.verify_requests == 3 and listener.stats.accepted == 0


def test_the_echoed_cookie_makes_a_connection_with_its_flight_queued():
    server_ctx, client_ctx = contexts()
    listener = DTLSListener(server_ctx)
    client = DTLSConnection(client_ctx, server_hostname="localhost", now=0.0)
    reply = listener.accept_hello(client.datagrams_to_send()[0], A, 0.0).reply
    client.receive_datagram(reply)
    (hello2,) = client.datagrams_to_send()
    # the same hello from another address is answered, not adopted
    other = listener.accept_hello(hello2, B, 0.0)
    assert other.connection is None and other.reply is not None
    result = listener.accept_hello(hello2, A, 1.0)
    server = result.connection
    assert server is not None and result.reply is None
    assert server.peer_address == A and server.state is DTLSState.HANDSHAKING
    flight = server.datagrams_to_send()
    assert flight and all(len(d) <= server.mtu for d in flight)
    assert server.next_deadline() == 2.0  # its flight's resend timer runs from now=1.0
    events = [e for d in flight for e in client.receive_datagram(d)]
    events += [e for d in client.datagrams_to_send() for e in server.receive_datagram(d)]
    for d in server.datagrams_to_send():
        events += client.receive_datagram(d)
    assert [type(e) for e in events] == [HandshakeComplete, HandshakeComplete]


def test_a_cookie_from_the_previous_secret_works_in_grace_and_not_after():
    server_ctx, client_ctx = contexts(DTLSDefaults(cookie_lifetime=10.0))
    listener = DTLSListener(server_ctx)

    def hello_with_cookie():
        client = DTLSConnection(client_ctx, server_hostname="localhost", now=0.0)
        reply = listener.accept_hello(client.datagrams_to_send()[0], A, 0.0).reply
        client.receive_datagram(reply)
        return client.datagrams_to_send()[0]

    first, second = hello_with_cookie(), hello_with_cookie()  # both cookies made at 0.0
    in_grace = listener.accept_hello(first, A, 15.0)  # the secret rotated at 10.0
    assert in_grace.connection is not None
    stale = listener.accept_hello(second, A, 20.0)  # rotated again: that secret is gone
    assert stale.connection is None and stale.reply is not None  # asked again


def test_garbage_and_non_hellos_are_dropped_silently():
    server_ctx, _ = contexts()
    listener = DTLSListener(server_ctx)
    for junk in [b"", b"hello", b"\x16\xfe\xfd" + bytes(10) + b"\x00\x00",
                 b"\x17\xfe\xfd" + bytes(10) + b"\x00\x01x",
                 b"\x16\xfe\xfd\x00\x01" + bytes(6) + b"\x00\x01x",  # epoch 1
                 b"\x16\xfe\xfd" + bytes(8) + b"\x00\x04abcd", b"\x16" * 20000]:
        assert listener.accept_hello(junk, A, 0.0) == type(listener.accept_hello(b"", A, 0.0))()
    assert listener.stats.verify_requests == 0 and listener.stats.accepted == 0
    assert listener.stats.dropped >= 7


def test_without_cookies_every_hello_is_adopted():
    c = tls_certs()
    server_ctx = DTLSContext.server(c.server.cert, c.server.key, cookies=False)
    assert not server_ctx.cookies
    listener = DTLSListener(server_ctx)
    client = DTLSConnection(contexts()[1], server_hostname="localhost", now=0.0)
    result = listener.accept_hello(client.datagrams_to_send()[0], A, 0.0)
    assert result.connection is not None and result.connection.datagrams_to_send()
    with pytest.raises(TLSUsageError):
        DTLSContext.server(c.server.cert, c.server.key, cookies=False, cookie_jar=CookieJar())
