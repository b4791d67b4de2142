"""CRLSet: revoked and clean chains, signatures, size bound, reload, staleness."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import LimitExceeded, SockitError
from sockit.proto.tls.crl import CRLSet
from sockit.proto.tls.errors import CertificateError, CertificateRevoked, TLSUsageError
from tests.support.crl_helpers import DER, NOW, PEM, PKI, WALL, der_of, make_crl


@pytest.fixture(scope="module")
def pki() -> PKI:
    return PKI()


def test_revoked_leaf_detected(pki: PKI) -> None:
    crls = CRLSet(issuers=[pki.inter_der])
    serial = pki.serial(pki.chain[0])
    crls.load(make_crl(pki.inter, [serial], reason=x509.ReasonFlags.key_compromise))
    with pytest.raises(CertificateRevoked) as info:
        crls.check(pki.chain, wall_time=WALL)
    assert info.value.reason == "revoked"
    assert "keyCompromise" in str(info.value)
    crls.check(pki.chain2, wall_time=WALL)  # the other leaf is fine
    assert crls.revoked_count == 1 and len(crls) == 1


def test_revoked_intermediate_detected(pki: PKI) -> None:
    crls = CRLSet(issuers=[pki.root_der])
    crls.load(make_crl(pki.root, [pki.serial(pki.inter_der)], encoding=PEM))
    with pytest.raises(CertificateRevoked, match="depth 1"):
        crls.check(pki.chain, wall_time=WALL)


def test_not_revoked_passes(pki: PKI) -> None:
    crls = CRLSet(issuers=[pki.inter_der, pki.root_der])
    crls.load(make_crl(pki.inter, [12345, 67890]))
    crls.load(make_crl(pki.root, []))
    crls.check(pki.chain, wall_time=WALL)
    assert crls.revoked_count == 2 and len(crls) == 2


def test_empty_set_passes(pki: PKI) -> None:
    CRLSet().check(pki.chain, wall_time=WALL)
    CRLSet().check([b"garbage"], wall_time=WALL)  # nothing loaded: nothing to look at


def test_bad_signature_rejected_at_load(pki: PKI) -> None:
    impostor = trustme.CA()
    # same issuer name as the real intermediate, signed by another key
    inter_name = x509.load_der_x509_certificate(pki.inter_der).subject
    key = serialization.load_pem_private_key(impostor.private_key_pem.bytes(), password=None)
    renamed = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(inter_name)
        .last_update(NOW - timedelta(hours=1))
        .next_update(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
        .public_bytes(DER)
    )
    crls = CRLSet(issuers=[pki.inter_der])
    with pytest.raises(CertificateError) as info:
        crls.load(renamed)
    assert info.value.reason == "crl-bad-signature"
    assert len(crls) == 0 and crls.sources == ()


def test_chain_vouches_for_unconfigured_crl(pki: PKI) -> None:
    crls = CRLSet()  # no issuers configured: the chain's intermediate verifies it
    crls.load(make_crl(pki.inter, [pki.serial(pki.chain[0])]))
    for _ in range(2):  # the second time from the remembered verdict
        with pytest.raises(CertificateRevoked):
            crls.check(pki.chain, wall_time=WALL)
    # without the issuer in the chain nothing can vouch for it: not used
    crls.check(pki.chain[:1], wall_time=WALL)


def test_chain_refuses_forged_unconfigured_crl(pki: PKI) -> None:
    impostor = trustme.CA()
    key = serialization.load_pem_private_key(impostor.private_key_pem.bytes(), password=None)
    inter_name = x509.load_der_x509_certificate(pki.inter_der).subject
    forged = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(inter_name)
        .last_update(NOW - timedelta(hours=1))
        .next_update(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
        .public_bytes(DER)
    )
    crls = CRLSet()
    crls.load(forged)
    for _ in range(2):  # the verdict is remembered, and stays a refusal
        with pytest.raises(CertificateError) as info:
            crls.check(pki.chain, wall_time=WALL)
        assert info.value.reason == "crl-bad-signature"


def test_size_bound_n_and_n_plus_one(pki: PKI, tmp_path: Path) -> None:
    data = make_crl(pki.inter, [1, 2, 3])
    CRLSet(issuers=[pki.inter_der], max_size=len(data)).load(data)
    with pytest.raises(LimitExceeded) as info:
        CRLSet(issuers=[pki.inter_der], max_size=len(data) - 1).load(data)
    assert info.value.limit == "max_crl_size" and info.value.value == len(data) - 1
    path = tmp_path / "c.crl"
    path.write_bytes(data)
    CRLSet(issuers=[pki.inter_der], max_size=len(data)).load(path)
    with pytest.raises(LimitExceeded):
        CRLSet(issuers=[pki.inter_der], max_size=len(data) - 1).load(path)


def test_reload_picks_up_new_crl(pki: PKI, tmp_path: Path) -> None:
    path = tmp_path / "inter.crl"
    path.write_bytes(make_crl(pki.inter, [], encoding=PEM))
    crls = CRLSet(issuers=[pki.inter_der])
    crls.load(str(path), wall_time=100.0)
    crls.check(pki.chain, wall_time=WALL)
    assert crls.last_loaded == 100.0 and crls.sources == (str(path),)
    path.write_bytes(make_crl(pki.inter, [pki.serial(pki.chain[0])], encoding=PEM))
    assert crls.reload(wall_time=200.0) == 1
    assert crls.last_loaded == 200.0 and crls.revoked_count == 1
    with pytest.raises(CertificateRevoked):
        crls.check(pki.chain, wall_time=WALL)


def test_failed_reload_keeps_old_lists(pki: PKI, tmp_path: Path) -> None:
    path = tmp_path / "inter.crl"
    path.write_bytes(make_crl(pki.inter, [pki.serial(pki.chain[0])]))
    crls = CRLSet(issuers=[pki.inter_der])
    crls.load(path)
    path.write_bytes(b"truncated")
    with pytest.raises(CertificateError):
        crls.reload()
    path.unlink()
    with pytest.raises(TLSUsageError):
        crls.reload()
    with pytest.raises(CertificateRevoked):
        crls.check(pki.chain, wall_time=WALL)


def test_pem_bundle_of_crls(pki: PKI) -> None:
    bundle = make_crl(pki.inter, [7], encoding=PEM) + b"\n" + make_crl(pki.root, [8], encoding=PEM)
    crls = CRLSet(issuers=[pki.inter_der, pki.root_der])
    crls.load(bundle)
    assert len(crls) == 2 and crls.revoked_count == 2


def test_staleness_reported_or_refused(pki: PKI) -> None:
    old = make_crl(pki.inter, [], last=NOW - timedelta(days=10), next_=NOW - timedelta(days=1))
    lax = CRLSet(issuers=[pki.inter_der])
    lax.load(old)
    lax.check(pki.chain, wall_time=WALL)
    name = x509.load_der_x509_certificate(pki.inter_der).subject.rfc4514_string()
    assert lax.stale(WALL) == (name,)
    assert lax.stale(lax.next_update - 1) == ()  # type: ignore[operator]
    assert lax.next_update == (NOW - timedelta(days=1)).timestamp()
    strict = CRLSet(issuers=[pki.inter_der], strict_freshness=True)
    strict.load(old)
    with pytest.raises(CertificateError) as info:
        strict.check(pki.chain, wall_time=WALL)
    assert info.value.reason == "crl-stale"
    strict.check(pki.chain, wall_time=(NOW - timedelta(days=2)).timestamp())


def test_bad_issuer_configuration() -> None:
    with pytest.raises(TLSUsageError):
        CRLSet(issuers=[b"not a certificate"])


_PEM_JUNK = b"-----BEGIN X509 CRL-----\nAA==\n-----END X509 CRL-----\n"


@pytest.mark.parametrize("data", [b"", b"\x30\x03\x02\x01\x00", _PEM_JUNK, b"-----BEGIN X"])
def test_malformed_crl(data: bytes) -> None:
    with pytest.raises(CertificateError) as info:
        CRLSet().load(data)
    assert info.value.reason == "crl-malformed"


@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_sockit_errors(data: bytes) -> None:
    crls = CRLSet()
    try:
        crls.load(data)
    except SockitError:
        assert len(crls) == 0
        return
    assert len(crls) == 1  # pragma: no cover - random bytes are never a CRL


@given(st.binary(min_size=1, max_size=32), st.integers(min_value=0, max_value=400))
def test_corrupted_crl_only_sockit_errors(garbage: bytes, at: int) -> None:
    pos = at % len(_BASE_CRL)
    mutated = _BASE_CRL[:pos] + garbage + _BASE_CRL[pos + len(garbage) :]
    crls = CRLSet(issuers=[_BASE_ISSUER])
    try:
        crls.load(mutated)
    except SockitError:
        return
    assert len(crls) == 1


_BASE_CA = trustme.CA()
_BASE_ISSUER = der_of(_BASE_CA.cert_pem.bytes())
_BASE_CRL = make_crl(_BASE_CA, [1, 2, 3])


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@given(st.binary(min_size=1, max_size=16), st.integers(min_value=0, max_value=2000))
def test_corrupted_chain_only_sockit_errors(garbage: bytes, at: int) -> None:
    pos = at % len(_BASE_ISSUER)
    mutated = _BASE_ISSUER[:pos] + garbage + _BASE_ISSUER[pos + len(garbage) :]
    crls = CRLSet()
    crls.load(_BASE_CRL)
    try:
        crls.check([mutated, mutated], wall_time=WALL)
    except SockitError as exc:
        assert isinstance(exc, CertificateError)
