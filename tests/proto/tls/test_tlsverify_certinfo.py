"""CertificateInfo, spki_sha256 and load_pem_chain against cryptography's own reading."""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime, timezone

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import SockitError
from sockit.proto.tls.certinfo import (
    CertificateInfo,
    load_pem_chain,
    spki_der,
    spki_sha256,
    subject_public_key_bits,
    verify_signature,
)
from sockit.proto.tls.errors import CertificateError

DER = serialization.Encoding.DER


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def leaf(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("example.com", "www.example.com", "127.0.0.1", "::1",
                         common_name="example.com")


def _der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(DER)


def _spki_by_cryptography(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_fields_match_cryptography(leaf: trustme.LeafCert) -> None:
    pem = leaf.cert_chain_pems[0].bytes()
    cert = x509.load_pem_x509_certificate(pem)
    info = CertificateInfo.from_pem(pem)
    assert info.subject == cert.subject.rfc4514_string()
    assert info.issuer == cert.issuer.rfc4514_string()
    assert info.common_name == "example.com"
    assert info.san_dns == ("example.com", "www.example.com")
    assert info.san_ip == ("127.0.0.1", "::1")
    assert info.serial == cert.serial_number
    assert info.sha256_fingerprint == cert.fingerprint(hashes.SHA256()).hex()
    assert ":" not in info.sha256_fingerprint and info.sha256_fingerprint.islower()
    assert info.spki_sha256 == hashlib.sha256(_spki_by_cryptography(cert)).digest()
    assert info.not_before == cert.not_valid_before_utc
    assert info.not_after == cert.not_valid_after_utc
    assert info.not_before.tzinfo is not None
    assert info.is_ca is False
    assert info.der == cert.public_bytes(DER)
    assert "der=" not in repr(info)


def test_ca_certificate(ca: trustme.CA) -> None:
    info = CertificateInfo.from_pem(ca.cert_pem.bytes())
    assert info.is_ca is True
    assert info.subject == info.issuer
    assert info.san_dns == () and info.san_ip == ()


def test_rsa_key_spki_and_bits() -> None:
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    der = cert.public_bytes(DER)
    assert spki_der(der) == _spki_by_cryptography(cert)
    pkcs1 = cert.public_key().public_bytes(DER, serialization.PublicFormat.PKCS1)
    assert subject_public_key_bits(der) == pkcs1


def test_validity_and_expiry() -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert(
        "a.test",
        not_before=datetime(2030, 1, 1, tzinfo=timezone.utc),
        not_after=datetime(2030, 1, 11, tzinfo=timezone.utc),
    )
    info = CertificateInfo.from_pem(leaf.cert_chain_pems[0].bytes())
    start = datetime(2030, 1, 1, tzinfo=timezone.utc).timestamp()
    end = datetime(2030, 1, 11, tzinfo=timezone.utc).timestamp()
    assert info.days_to_expiry(start) == pytest.approx(10.0)
    assert info.days_to_expiry(end + 86400) == pytest.approx(-1.0)
    assert info.is_valid_at(start) and info.is_valid_at(end)
    assert not info.is_valid_at(start - 1)
    assert not info.is_valid_at(end + 1)


def test_load_pem_chain_order_and_text(ca: trustme.CA, leaf: trustme.LeafCert) -> None:
    bundle = b"comment\n" + b"".join(p.bytes() for p in leaf.cert_chain_pems) + ca.cert_pem.bytes()
    ders = load_pem_chain(bundle)
    assert ders[0] == _der(leaf.cert_chain_pems[0].bytes())
    assert ders[-1] == _der(ca.cert_pem.bytes())
    assert len(ders) == len(leaf.cert_chain_pems) + 1


_BAD_PEM = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize("data", [b"", b"not pem", _BAD_PEM])
def test_load_pem_chain_rejects(data: bytes) -> None:
    with pytest.raises(CertificateError):
        load_pem_chain(data)


def test_truncated_der_is_certificate_error(leaf: trustme.LeafCert) -> None:
    der = _der(leaf.cert_chain_pems[0].bytes())
    for cut in (0, 1, 2, 10, len(der) // 2, len(der) - 1):
        with pytest.raises(CertificateError):
            CertificateInfo.from_der(der[:cut])
        with pytest.raises(CertificateError):
            spki_sha256(der[:cut])


def test_verify_signature_dispatch() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    sig = key.sign(b"data", ec.ECDSA(hashes.SHA256()))
    assert verify_signature(key.public_key(), sig, b"data", hashes.SHA256())
    assert not verify_signature(key.public_key(), sig, b"datA", hashes.SHA256())
    assert not verify_signature(key.public_key(), sig, b"data", None)
    assert not verify_signature(object(), sig, b"data", hashes.SHA256())


@given(st.binary(max_size=600))
def test_arbitrary_bytes_only_sockit_errors(data: bytes) -> None:
    try:
        info = CertificateInfo.from_der(data)
    except SockitError:
        return
    assert isinstance(info.serial, int)  # pragma: no cover - random DER is never a certificate


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@given(st.binary(min_size=1, max_size=64), st.integers(min_value=0, max_value=2000))
def test_corrupted_certificate_only_sockit_errors(garbage: bytes, at: int) -> None:
    der = _CORRUPTION_BASE
    pos = at % len(der)
    mutated = der[:pos] + garbage + der[pos + len(garbage) :]
    for fn in (CertificateInfo.from_der, spki_sha256, subject_public_key_bits):
        with contextlib.suppress(SockitError):
            fn(mutated)


_CORRUPTION_BASE = trustme.CA().issue_cert("fuzz.test").cert_chain_pems[0].bytes()
_CORRUPTION_BASE = x509.load_pem_x509_certificate(_CORRUPTION_BASE).public_bytes(DER)
