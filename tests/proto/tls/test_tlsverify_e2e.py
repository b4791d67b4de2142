"""Pins, CRLs, OCSP staples and CT through the in-memory TLS engine, end to end."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from sockit.proto.tls import (
    CertificateRevoked,
    CertificateTransparencyError,
    ClientAuth,
    HandshakeComplete,
    OCSPError,
    OCSPRevoked,
    PeerAlert,
    PinMismatch,
    TLSConnection,
    TLSContext,
    TLSState,
)
from sockit.proto.tls.certinfo import CertificateInfo, load_pem_chain, spki_sha256
from sockit.proto.tls.crl import CRLSet
from sockit.proto.tls.ct import CTPolicy
from sockit.proto.tls.ocsp import OCSPPolicy, build_ocsp_response
from sockit.proto.tls.pinning import PinSet
from tests.support.tls_certs import CertPair, pump, tls_certs

WALL = time.time()


def leaf_der(pair: CertPair) -> bytes:
    return load_pem_chain(pair.cert_pem)[0]


def ca_der() -> bytes:
    return load_pem_chain(tls_certs().ca_pem)[0]


def server(pair: CertPair | None = None, **kw: object) -> TLSContext:
    pair = pair or tls_certs().server
    return TLSContext.server(pair.cert, pair.key, **kw)  # type: ignore[arg-type]


def client(**kw: object) -> TLSContext:
    kw.setdefault("cafile", tls_certs().ca_file)
    return TLSContext.client(**kw)  # type: ignore[arg-type]


def connect(
    client_ctx: TLSContext, server_ctx: TLSContext, *, rng: random.Random | None = None
) -> HandshakeComplete:
    c = TLSConnection(client_ctx, server_hostname="localhost", wall_time=WALL)
    s = TLSConnection(server_ctx, wall_time=WALL)
    events = pump(c, s, rng=rng).client
    assert c.state is TLSState.OPEN
    done = [e for e in events if isinstance(e, HandshakeComplete)]
    assert len(done) == 1
    return done[0]


def refused(client_ctx: TLSContext, server_ctx: TLSContext) -> BaseException:
    c = TLSConnection(client_ctx, server_hostname="localhost", wall_time=WALL)
    s = TLSConnection(server_ctx, wall_time=WALL)
    with pytest.raises(Exception) as info:
        pump(c, s)
    assert c.state is TLSState.FAILED
    alert = c.data_to_send()
    if alert:
        with pytest.raises(PeerAlert):
            s.receive_data(alert)
    return info.value


def crl_revoking(*serials: int) -> bytes:
    ca = x509.load_pem_x509_certificate(tls_certs().ca_pem)
    key = serialization.load_pem_private_key(tls_certs().ca.private_key_pem.bytes(), None)
    now = datetime.fromtimestamp(WALL, tz=timezone.utc)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(now - timedelta(hours=1))
        .next_update(now + timedelta(days=1))
    )
    for serial in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]


def serial(pair: CertPair) -> int:
    return CertificateInfo.from_der(leaf_der(pair)).serial


# -- pinning ------------------------------------------------------------------


def test_pin_on_the_leaf_passes() -> None:
    pins = PinSet([spki_sha256(leaf_der(tls_certs().server))])
    done = connect(client(pins=pins), server(), rng=random.Random(1))
    assert done.pin_result is not None and done.pin_result.matched  # type: ignore[attr-defined]


def test_pin_on_the_ca_from_a_file_passes() -> None:
    pins = PinSet.from_certificate_file(tls_certs().ca_file)
    done = connect(client(pins=pins), server())
    assert done.pin_result.matched_pin == spki_sha256(ca_der())  # type: ignore[union-attr]


def test_pin_mismatch_refuses() -> None:
    pins = PinSet([spki_sha256(leaf_der(tls_certs().wrong_host))])
    exc = refused(client(pins=pins), server())
    assert isinstance(exc, PinMismatch) and exc.reason == "pin-mismatch"


def test_pin_mismatch_report_only_reports() -> None:
    pins = PinSet([spki_sha256(leaf_der(tls_certs().wrong_host))], report_only=True)
    done = connect(client(pins=pins), server())
    result = done.pin_result
    assert result is not None and not result.matched  # type: ignore[attr-defined]
    assert result.chain_pins[0] == spki_sha256(leaf_der(tls_certs().server))  # type: ignore[attr-defined]


# -- CRL ----------------------------------------------------------------------


def test_crl_revoked_server_certificate_refused() -> None:
    crls = CRLSet(issuers=[ca_der()])
    crls.load(crl_revoking(serial(tls_certs().server)))
    exc = refused(client(crl=crls), server())
    assert isinstance(exc, CertificateRevoked) and exc.reason == "revoked"


def test_crl_verified_by_the_chain_refuses_too() -> None:
    crls = CRLSet()  # the CRL is vouched for by the CA the chain ends in
    crls.load(crl_revoking(serial(tls_certs().server)))
    assert isinstance(refused(client(crl=crls), server()), CertificateRevoked)


def test_crl_listing_others_passes() -> None:
    crls = CRLSet(issuers=[ca_der()])
    crls.load(crl_revoking(serial(tls_certs().wrong_host), 12345))
    connect(client(crl=crls), server())


def test_crl_on_the_server_refuses_a_revoked_client_certificate() -> None:
    crls = CRLSet(issuers=[ca_der()])
    crls.load(crl_revoking(serial(tls_certs().client)))
    pair = tls_certs().client
    server_ctx = server(
        client_auth=ClientAuth.REQUIRED, client_ca=tls_certs().ca_file, crl=crls
    )
    c = TLSConnection(client(cert=pair.cert, key=pair.key), server_hostname="localhost")
    s = TLSConnection(server_ctx, wall_time=WALL)
    with pytest.raises(CertificateRevoked):
        pump(c, s)
    assert s.state is TLSState.FAILED


# -- OCSP stapling -------------------------------------------------------------


def staple(pair: CertPair, status: str) -> bytes:
    return build_ocsp_response(
        leaf_der(pair), ca_der(), tls_certs().ca.private_key_pem.bytes(),
        status=status, wall_time=WALL - 60,
    )


def test_ocsp_good_staple_passes() -> None:
    good = staple(tls_certs().server, "good")
    connect(client(ocsp=OCSPPolicy(must_staple=True)), server(ocsp_response=good))


def test_ocsp_revoked_staple_refuses() -> None:
    revoked = staple(tls_certs().server, "revoked")
    exc = refused(client(ocsp=OCSPPolicy()), server(ocsp_response=lambda: revoked))
    assert isinstance(exc, OCSPRevoked) and exc.reason == "ocsp-revoked"


def test_ocsp_staple_for_another_certificate_refuses() -> None:
    other = staple(tls_certs().wrong_host, "good")
    exc = refused(client(ocsp=OCSPPolicy(must_staple=True)), server(ocsp_response=other))
    # OpenSSL 4 already drops a staple about another certificate (we then see
    # none); older releases hand it over and the policy refuses it
    assert isinstance(exc, OCSPError)
    assert exc.reason in {"ocsp-missing", "ocsp-wrong-certificate"}


def test_ocsp_must_staple_without_staple_refuses() -> None:
    exc = refused(client(ocsp=OCSPPolicy(must_staple=True)), server())
    assert isinstance(exc, OCSPError) and exc.reason == "ocsp-missing"
    connect(client(ocsp=OCSPPolicy()), server())  # not required: fine


# -- Certificate Transparency -------------------------------------------------


def test_ct_strict_refuses_a_leaf_without_scts() -> None:
    exc = refused(client(ct=CTPolicy(strict=True)), server())
    assert isinstance(exc, CertificateTransparencyError)
    connect(client(ct=CTPolicy()), server())  # permissive: counted, not refused
