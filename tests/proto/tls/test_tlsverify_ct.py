"""CTPolicy against leaves carrying SCT lists built here per RFC 6962."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtensionOID, NameOID
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import SockitError
from sockit.proto.tls.certinfo import spki_sha256
from sockit.proto.tls.ct import CTPolicy, ct_log_id, precert_signed_data
from sockit.proto.tls.errors import CertificateTransparencyError, TLSUsageError

DER = serialization.Encoding.DER
SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
WALL = NOW.timestamp()
NOW_MS = int(WALL * 1000)


class Log:
    """A fake CT log: a key and its id."""

    def __init__(self, kind: str = "ec") -> None:
        self.key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
            ec.generate_private_key(ec.SECP256R1())
            if kind == "ec"
            else rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )
        self.public_der = self.key.public_key().public_bytes(DER, SPKI)
        self.id = ct_log_id(self.public_der)

    def sign(self, data: bytes) -> tuple[int, bytes]:
        """(TLS SignatureAlgorithm code, signature) over ``data`` with SHA-256."""
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            return 3, self.key.sign(data, ec.ECDSA(hashes.SHA256()))
        return 1, self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _u16(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def serialize_sct(log: Log, timestamp_ms: int, signature: bytes, sig_alg: int) -> bytes:
    """One SignedCertificateTimestamp, TLS-encoded (RFC 6962 section 3.2)."""
    return (
        b"\x00"
        + log.id
        + timestamp_ms.to_bytes(8, "big")
        + _u16(b"")  # no CtExtensions
        + bytes([4, sig_alg])  # sha256, ecdsa/rsa
        + _u16(signature)
    )


def sct_extension(scts: list[bytes]) -> x509.UnrecognizedExtension:
    """The SCT list extension: extnValue is an OCTET STRING of the TLS list."""
    body = _u16(b"".join(_u16(s) for s in scts))
    length = len(body)
    if length < 0x80:
        header = bytes([0x04, length])
    else:
        size = (length.bit_length() + 7) // 8
        header = bytes([0x04, 0x80 | size]) + length.to_bytes(size, "big")
    oid = ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS
    return x509.UnrecognizedExtension(oid, header + body)


class Issued:
    """A CA, and a way to issue leaves with SCTs from chosen logs."""

    def __init__(self) -> None:
        self.ca = trustme.CA()
        self.ca_der = x509.load_pem_x509_certificate(self.ca.cert_pem.bytes()).public_bytes(DER)
        self.ca_cert = x509.load_der_x509_certificate(self.ca_der)
        self.ca_key = serialization.load_pem_private_key(self.ca.private_key_pem.bytes(), None)

    def leaf(
        self,
        logs: list[Log],
        *,
        timestamp_ms: int = NOW_MS - 60_000,
        tamper: bool = False,
        extension: bool = True,
    ) -> bytes:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ct.test")]))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=1))
            .not_valid_after(NOW + timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("ct.test")]), False)
        )
        precert = builder.sign(self.ca_key, hashes.SHA256())  # type: ignore[arg-type]
        tbs = precert.tbs_certificate_bytes
        data = precert_signed_data(timestamp_ms, spki_sha256(self.ca_der), tbs)
        scts = []
        for log in logs:
            alg, sig = log.sign(data)
            if tamper:
                sig = log.sign(data + b"x")[1]
            scts.append(serialize_sct(log, timestamp_ms, sig, alg))
        if extension:
            builder = builder.add_extension(sct_extension(scts), False)
        cert = builder.sign(self.ca_key, hashes.SHA256())  # type: ignore[arg-type]
        assert not extension or cert.tbs_precertificate_bytes == tbs
        return cert.public_bytes(DER)


@pytest.fixture(scope="module")
def issued() -> Issued:
    return Issued()


@pytest.fixture(scope="module")
def logs() -> list[Log]:
    return [Log(), Log(), Log("rsa")]


def _known(logs: list[Log]) -> dict[bytes, bytes]:
    return {log.id: log.public_der for log in logs}


def test_our_encoding_parses_as_scts(issued: Issued, logs: list[Log]) -> None:
    leaf = x509.load_der_x509_certificate(issued.leaf(logs[:2]))
    ext = leaf.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps)
    parsed = list(ext.value)
    assert [s.log_id for s in parsed] == [logs[0].id, logs[1].id]
    assert parsed[0].entry_type is x509.certificate_transparency.LogEntryType.PRE_CERTIFICATE


def test_counted_without_log_keys(issued: Issued, logs: list[Log]) -> None:
    assert CTPolicy().check(issued.leaf(logs), issued.ca_der, wall_time=WALL) == 3
    # two SCTs from one log count once
    assert CTPolicy().check(issued.leaf([logs[0], logs[0]]), None, wall_time=WALL) == 1


def test_verified_with_log_keys(issued: Issued, logs: list[Log]) -> None:
    policy = CTPolicy(logs=_known(logs), strict=True, min_scts=3)
    assert policy.verifies_signatures
    assert policy.check(issued.leaf(logs), issued.ca_der, wall_time=WALL) == 3


def test_bad_signatures_not_counted(issued: Issued, logs: list[Log]) -> None:
    leaf = issued.leaf(logs, tamper=True)
    assert CTPolicy().check(leaf, issued.ca_der, wall_time=WALL) == 3  # counting only
    assert CTPolicy(logs=_known(logs)).check(leaf, issued.ca_der, wall_time=WALL) == 0
    with pytest.raises(CertificateTransparencyError) as info:
        CTPolicy(logs=_known(logs), strict=True).check(leaf, issued.ca_der, wall_time=WALL)
    assert info.value.reason == "ct"


def test_wrong_issuer_key_not_counted(issued: Issued, logs: list[Log]) -> None:
    other = Issued()
    leaf = issued.leaf(logs[:2])
    assert CTPolicy(logs=_known(logs)).check(leaf, other.ca_der, wall_time=WALL) == 0
    assert CTPolicy(logs=_known(logs)).check(leaf, None, wall_time=WALL) == 0


def test_unknown_log_not_counted(issued: Issued, logs: list[Log]) -> None:
    leaf = issued.leaf(logs)
    assert CTPolicy(logs=_known(logs[:1])).check(leaf, issued.ca_der, wall_time=WALL) == 1


def test_future_timestamp_not_counted(issued: Issued, logs: list[Log]) -> None:
    leaf = issued.leaf(logs[:2], timestamp_ms=NOW_MS + 300_000)
    policy = CTPolicy(logs=_known(logs))  # leeway 300 s
    assert policy.check(leaf, issued.ca_der, wall_time=WALL) == 2
    assert policy.check(leaf, issued.ca_der, wall_time=WALL - 0.002) == 0


def test_strict_min_scts_n_and_n_minus_one(issued: Issued, logs: list[Log]) -> None:
    leaf = issued.leaf(logs[:2])
    assert CTPolicy(strict=True, min_scts=2).check(leaf, issued.ca_der, wall_time=WALL) == 2
    with pytest.raises(CertificateTransparencyError, match="requires 3"):
        CTPolicy(strict=True, min_scts=3).check(leaf, issued.ca_der, wall_time=WALL)
    assert CTPolicy(min_scts=3).check(leaf, issued.ca_der, wall_time=WALL) == 2


def test_no_extension(issued: Issued, logs: list[Log]) -> None:
    leaf = issued.leaf(logs, extension=False)
    assert CTPolicy().check(leaf, issued.ca_der, wall_time=WALL) == 0
    with pytest.raises(CertificateTransparencyError, match="no embedded SCTs"):
        CTPolicy(strict=True).check(leaf, issued.ca_der, wall_time=WALL)


def test_malformed_sct_list(issued: Issued) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    bad = x509.UnrecognizedExtension(
        ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS, b"\x04\x03\x00\x05\x00"
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bad.test")]))
        .issuer_name(issued.ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(bad, False)
        .sign(issued.ca_key, hashes.SHA256())  # type: ignore[arg-type]
    ).public_bytes(DER)
    assert CTPolicy().check(cert, issued.ca_der, wall_time=WALL) == 0
    with pytest.raises(CertificateTransparencyError, match="malformed"):
        CTPolicy(strict=True).check(cert, issued.ca_der, wall_time=WALL)


def test_configuration_errors(logs: list[Log]) -> None:
    with pytest.raises(TLSUsageError):
        CTPolicy(logs={hashlib.sha256(b"x").digest(): logs[0].public_der})
    with pytest.raises(TLSUsageError):
        CTPolicy(logs={ct_log_id(b"junk"): b"junk"})
    with pytest.raises(TLSUsageError):
        CTPolicy(min_scts=0)


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@given(st.binary(max_size=300))
def test_arbitrary_leaf_only_sockit_errors(data: bytes) -> None:
    try:
        count = CTPolicy(strict=True, min_scts=1).check(data, None, wall_time=WALL)
    except SockitError:
        return
    assert count >= 1  # pragma: no cover - random bytes are never a certificate


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@given(st.binary(min_size=1, max_size=8), st.integers(min_value=0, max_value=2000))
def test_corrupted_leaf_only_sockit_errors(garbage: bytes, at: int) -> None:
    pos = at % len(_BASE_LEAF)
    mutated = _BASE_LEAF[:pos] + garbage + _BASE_LEAF[pos + len(garbage) :]
    policy = CTPolicy(logs=_known(_BASE_LOGS))
    try:
        count = policy.check(mutated, _BASE.ca_der, wall_time=WALL)
    except SockitError:
        return
    assert 0 <= count <= 2


_BASE = Issued()
_BASE_LOGS = [Log(), Log()]
_BASE_LEAF = _BASE.leaf(_BASE_LOGS)
