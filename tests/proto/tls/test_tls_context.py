"""TLSContext policy through the engine: versions, ALPN, SNI, resumption, mutual TLS."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL

from sockit.limits import TLSDefaults
from sockit.proto.events import Role
from sockit.proto.tls import (
    ClientAuth,
    HandshakeComplete,
    HandshakeFailure,
    PeerAlert,
    SessionStore,
    TLSConnection,
    TLSContext,
    TLSData,
    TLSUsageError,
    UntrustedCertificate,
)
from tests.support.tls_certs import pump, tls_certs

TLS12 = TLSDefaults(allow_tls12=True)


def server(**kw) -> TLSContext:
    c = tls_certs()
    return TLSContext.server(c.server.cert, c.server.key, **kw)


def client(**kw) -> TLSContext:
    kw.setdefault("cafile", tls_certs().ca_file)
    return TLSContext.client(**kw)


def handshake(cctx: TLSContext, sctx: TLSContext, host: str = "localhost"):
    c = TLSConnection(cctx, server_hostname=host)
    s = TLSConnection(sctx)
    result = pump(c, s)
    return c, s, result


def tls12_only_client(**kw) -> TLSContext:
    ctx = client(defaults=TLS12, **kw)
    ctx.openssl_context.set_max_proto_version(SSL.TLS1_2_VERSION)
    return ctx


def test_defaults_are_tls13_only():
    ctx = server()
    assert ctx.role is Role.SERVER and ctx.allow_tls12 is False
    c = TLSConnection(tls12_only_client(), server_hostname="localhost")
    s = TLSConnection(ctx)
    with pytest.raises(HandshakeFailure):
        pump(c, s)
    with pytest.raises(PeerAlert) as info:
        c.receive_data(s.data_to_send())
    assert info.value.alert == 70  # protocol_version


def test_tls12_when_opted_in_uses_ecdhe_aead():
    c, s, result = handshake(tls12_only_client(), server(defaults=TLS12))
    done = result.client[0]
    assert done.version == "TLSv1.2"
    assert done.cipher.startswith("ECDHE-") and ("GCM" in done.cipher or "CHACHA" in done.cipher)
    c.send_data(b"ping")
    assert pump(c, s).server == [TLSData(b"ping")]


def test_tls12_cbc_suites_are_refused_even_when_allowed():
    raw = SSL.Context(SSL.TLS_CLIENT_METHOD)
    raw.set_max_proto_version(SSL.TLS1_2_VERSION)
    raw.set_cipher_list(b"ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA")
    raw.set_verify(SSL.VERIFY_NONE)
    conn = SSL.Connection(raw, None)
    conn.set_connect_state()
    with pytest.raises(SSL.WantReadError):
        conn.do_handshake()
    s = TLSConnection(server(defaults=TLS12))
    with pytest.raises(HandshakeFailure) as info:
        s.receive_data(conn.bio_read(65536))
    assert "cipher" in str(info.value)


@pytest.mark.parametrize(
    ("offer", "accept", "agreed"),
    [
        (["h2", "http/1.1"], ["h2", "http/1.1"], "h2"),
        (["http/1.1", "h2"], ["h2", "http/1.1"], "h2"),  # the server's preference wins
        (["http/1.1"], ["h2", "http/1.1"], "http/1.1"),
        (["spdy/3"], ["h2"], None),
        ([], ["h2"], None),
        (["h2"], [], None),
    ],
)
def test_alpn_selection(offer, accept, agreed):
    c, _, result = handshake(client(alpn=offer), server(alpn=accept))
    assert result.client[0].alpn_protocol == agreed
    assert result.server[0].alpn_protocol == agreed
    assert c.alpn_protocol == agreed


def test_alpn_bounds_at_n_and_n_plus_one():
    limits = TLSDefaults()
    ok = [f"p{i}" for i in range(limits.max_alpn_protocols)]
    assert client(alpn=ok).alpn_protocols == tuple(ok)
    with pytest.raises(TLSUsageError):
        client(alpn=[*ok, "one-more"])
    client(alpn=["x" * limits.max_alpn_protocol_size])
    for bad in (["x" * (limits.max_alpn_protocol_size + 1)], [""], "h2"):
        with pytest.raises(TLSUsageError):
            client(alpn=bad)


def sni_server(**kw) -> TLSContext:
    c = tls_certs()
    ctx = server(**kw)
    for name, pair in c.sni.items():
        ctx.add_sni_certificate(name, pair.cert, pair.key)
    return ctx


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("a.example", "a.example"),
        ("b.example", "b.example"),
        ("x.wild.example", "*.wild.example"),
        ("localhost", "localhost"),  # unknown to SNI: the default certificate
    ],
)
def test_sni_selects_among_three_certificates(host, expected):
    sctx = sni_server()
    assert set(sctx.sni_hostnames) == {"a.example", "b.example", "*.wild.example"}
    _, s, result = handshake(client(), sctx, host=host)
    assert expected in result.client[0].peer_certificate.san_dns
    assert s.server_hostname == host


def test_sni_wildcard_covers_one_label_only():
    sctx = sni_server()
    assert sctx.context_for("a.b.wild.example") is sctx.openssl_context
    assert sctx.context_for("wild.example") is sctx.openssl_context
    assert sctx.context_for("X.WILD.example.") is not sctx.openssl_context


def test_sni_certificate_count_at_n_and_n_plus_one():
    c = tls_certs()
    sctx = server(defaults=TLSDefaults(max_sni_certificates=2))
    sctx.add_sni_certificate("a.example", c.sni["a.example"].cert, c.sni["a.example"].key)
    pair = c.sni["b.example"]
    sctx.add_sni_certificate("b.example", pair.cert_pem, pair.key_pem)
    sctx.add_sni_certificate("b.example", pair.cert, pair.key)  # replaces, not counted
    with pytest.raises(TLSUsageError):
        sctx.add_sni_certificate("c.example", c.server.cert, c.server.key)
    with pytest.raises(TLSUsageError):
        client().add_sni_certificate("a.example", c.server.cert, c.server.key)
    with pytest.raises(TLSUsageError):
        sctx.add_sni_certificate("a.*.example", c.server.cert, c.server.key)


def test_resumption_with_tls13_tickets():
    cctx, sctx = client(), server()
    c, _, _ = handshake(cctx, sctx)
    assert c.session_reused is False
    assert "localhost" in cctx.session_cache
    c2, s2, result = handshake(cctx, sctx)
    assert result.client[0].session_reused is True
    assert result.server[0].session_reused is True
    assert c2.session_reused and s2.session_reused
    assert result.client[0].peer_certificate is not None  # still reported when resumed
    # an explicit session works too, and another context's session is refused
    c3 = TLSConnection(cctx, server_hostname="localhost", session=c2.session)
    assert pump(c3, TLSConnection(sctx)).client[0].session_reused
    with pytest.raises(TLSUsageError):
        TLSConnection(client(), server_hostname="localhost", session=c2.session)


def test_no_resumption_without_session_cache_or_tickets():
    cctx = client(session_cache=False)
    assert cctx.session_cache is None
    handshake(cctx, server())
    assert handshake(cctx, server())[2].client[0].session_reused is False


def test_session_store_is_bounded_and_ages():
    store = SessionStore(2, 10.0)
    a, b, cc = object(), object(), object()
    store.put("a", a, now=0.0)  # type: ignore[arg-type]
    store.put("b", b, now=0.0)  # type: ignore[arg-type]
    store.put("c", cc, now=1.0)  # type: ignore[arg-type]
    assert len(store) == 2 and "a" not in store
    assert store.get("b", now=9.999) is b
    assert store.get("b", now=10.0) is None
    assert store.get("c") is cc
    store.discard("c")
    assert len(store) == 0
    SessionStore(0, 1.0).put("x", a)  # type: ignore[arg-type]


def mtls_server(auth: ClientAuth) -> TLSContext:
    return server(client_auth=auth, client_ca=tls_certs().ca_file)


def mtls_client() -> TLSContext:
    c = tls_certs()
    return client(cert=c.client.cert, key=c.client.key)


def test_mutual_tls_required_with_a_certificate():
    c, s, result = handshake(mtls_client(), mtls_server(ClientAuth.REQUIRED))
    info = result.server[0].peer_certificate
    assert info is not None and "client.example" in info.san_dns
    from cryptography import x509

    leaf = x509.load_pem_x509_certificates(tls_certs().client.cert_pem)[0]
    assert s.peer_chain_der[0] == leaf.public_bytes(serialization.Encoding.DER)
    assert c.peer_chain_der[0] != s.peer_chain_der[0]


def test_mutual_tls_required_without_a_certificate():
    c = TLSConnection(client(), server_hostname="localhost")
    s = TLSConnection(mtls_server(ClientAuth.REQUIRED))
    with pytest.raises(HandshakeFailure):
        pump(c, s)
    # TLS 1.3: the client finished first and learns of the refusal afterwards
    with pytest.raises(PeerAlert) as info:
        c.receive_data(s.data_to_send())
    assert info.value.alert == 116  # certificate_required


def test_mutual_tls_optional():
    _, _, result = handshake(client(), mtls_server(ClientAuth.OPTIONAL))
    assert isinstance(result.server[0], HandshakeComplete)
    assert result.server[0].peer_certificate is None
    _, _, result = handshake(mtls_client(), mtls_server(ClientAuth.OPTIONAL))
    assert result.server[0].peer_certificate is not None


def test_mutual_tls_client_certificate_from_an_unknown_ca():
    c = tls_certs()
    bad = client(cert=c.unknown_ca.cert, key=c.unknown_ca.key)
    cc = TLSConnection(bad, server_hostname="localhost")
    s = TLSConnection(mtls_server(ClientAuth.REQUIRED))
    with pytest.raises(UntrustedCertificate):
        pump(cc, s)
    with pytest.raises(PeerAlert):
        cc.receive_data(s.data_to_send())


def test_pem_bytes_and_client_ca_bytes():
    c = tls_certs()
    sctx = TLSContext.server(c.server.cert_pem, c.server.key_pem,
                             client_auth=ClientAuth.REQUIRED, client_ca=c.ca_pem)
    _, _, result = handshake(client(cert=c.client.cert_pem, key=c.client.key_pem), sctx)
    assert result.server[0].peer_certificate is not None


def test_password_protected_key(tmp_path):
    c = tls_certs()
    key = serialization.load_pem_private_key(c.server.key_pem, None)
    enc = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret"),
    )
    path = tmp_path / "enc.key"
    path.write_bytes(enc)
    for source in (path, enc):
        sctx = TLSContext.server(c.server.cert, source, password="s3cret")
        assert isinstance(handshake(client(), sctx)[2].client[0], HandshakeComplete)
    for source in (path, enc):
        with pytest.raises(TLSUsageError):
            TLSContext.server(c.server.cert, source, password=lambda: b"wrong")


def test_configuration_mistakes_raise_tls_usage_error(tmp_path):
    c = tls_certs()
    with pytest.raises(TLSUsageError):
        TLSContext.server(tmp_path / "missing.pem")
    with pytest.raises(TLSUsageError):
        TLSContext.server(c.server.cert, c.client.key)  # key does not match
    with pytest.raises(TLSUsageError):
        TLSContext.server(b"not pem", c.server.key)
    with pytest.raises(TLSUsageError):
        TLSContext.server(c.server.cert, c.server.key, client_auth=ClientAuth.REQUIRED)
    with pytest.raises(TLSUsageError):
        TLSContext.server(c.server.cert, c.server.key, session_id_context=b"x" * 33)
    with pytest.raises(TLSUsageError):
        TLSContext.client(key=c.client.key)
    with pytest.raises(TLSUsageError):
        TLSContext.client(cafile=tmp_path / "missing-ca.pem")
    with pytest.raises(TLSUsageError):
        TLSContext.client(cadata=b"garbage")
    with pytest.raises(TLSUsageError):
        TLSConnection("not a context")  # type: ignore[arg-type]
    with pytest.raises(TLSUsageError):
        TLSConnection(client(), server_hostname="x" * 256)


def test_sni_is_not_sent_for_ip_literals():
    seen: list[str | None] = []
    _, s, result = handshake(client(), server(), host="127.0.0.1")
    seen.append(s.server_hostname)
    assert seen == [None]
    assert result.client[0].server_hostname == "127.0.0.1"


def test_server_session_tickets_off_still_resumes_statefully():
    cctx, sctx = client(), server(session_tickets=False)
    handshake(cctx, sctx)
    assert handshake(cctx, sctx)[2].client[0].session_reused is True
    repr(cctx)
