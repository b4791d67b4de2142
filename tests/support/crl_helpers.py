"""CRLs and a small PKI (root -> intermediate -> leaves) for the TLS revocation tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

__all__ = ["DER", "NOW", "PEM", "PKI", "WALL", "der_of", "make_crl"]

DER = serialization.Encoding.DER
PEM = serialization.Encoding.PEM
NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
WALL = NOW.timestamp()


def der_of(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(DER)


def make_crl(
    ca: trustme.CA,
    serials: list[int],
    *,
    last: datetime = NOW - timedelta(hours=1),
    next_: datetime = NOW + timedelta(days=7),
    encoding: serialization.Encoding = DER,
    reason: x509.ReasonFlags | None = None,
) -> bytes:
    """A CRL from ``ca`` (signed with its key) revoking ``serials``."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(last)
        .next_update(next_)
    )
    for serial in serials:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(last)
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(key, hashes.SHA256())  # type: ignore[arg-type]
    return crl.public_bytes(encoding)


class PKI:
    """root -> intermediate -> leaf (and a second leaf), as DER."""

    def __init__(self) -> None:
        self.root = trustme.CA()
        self.inter = self.root.create_child_ca()
        self.leaf = self.inter.issue_cert("crl.test")
        self.leaf2 = self.inter.issue_cert("other.crl.test")
        self.root_der = der_of(self.root.cert_pem.bytes())
        self.inter_der = der_of(self.inter.cert_pem.bytes())
        self.chain = [der_of(p.bytes()) for p in self.leaf.cert_chain_pems]
        self.chain2 = [der_of(p.bytes()) for p in self.leaf2.cert_chain_pems]

    def serial(self, der: bytes) -> int:
        return x509.load_der_x509_certificate(der).serial_number
