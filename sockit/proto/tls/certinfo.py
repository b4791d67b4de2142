"""What a certificate says, as plain values: names, SANs, serial, validity, hashes.

Callers (logging, pinning, expiry alarms, the engine's ``HandshakeComplete``)
want the facts of a certificate without holding a parsed ``cryptography``
object or knowing its API. :class:`CertificateInfo` parses DER once, eagerly,
so a malformed certificate fails in :meth:`CertificateInfo.from_der` with a
:class:`~sockit.proto.tls.errors.CertificateError` and never later when a field
is read.

The SPKI hash is taken over the *exact* SubjectPublicKeyInfo bytes of the
certificate (found with a tiny DER walk of the TBSCertificate), not over a
re-encoding of the parsed key: pins must match what other tools compute
(``openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256``), and a
key type ``cryptography`` cannot load still has a pinnable SPKI.

Time is an argument (``wall_time``, POSIX seconds), never read here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa

from sockit.proto.tls.errors import CertificateError

__all__ = [
    "CertificateInfo",
    "load_pem_chain",
    "spki_der",
    "spki_sha256",
    "subject_public_key_bits",
    "verify_signature",
]

_SECONDS_PER_DAY = 86400.0
# What cryptography raises on malformed input (lazily parsed extensions too).
_PARSE_ERRORS = (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion)


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """The DER element at ``pos``: (tag, start of contents, end of contents)."""
    if pos + 2 > len(data):
        raise CertificateError("truncated DER element", reason="malformed")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise CertificateError("unexpected high-tag-number DER element", reason="malformed")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise CertificateError("bad DER length", reason="malformed")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise CertificateError("DER element runs past its container", reason="malformed")
    return tag, pos, end


def spki_der(der: bytes) -> bytes:
    """The exact DER SubjectPublicKeyInfo of certificate ``der``.

    Walks Certificate -> TBSCertificate -> the seventh field (after the
    optional ``[0]`` version, serial, signature algorithm, issuer, validity
    and subject). Bad DER raises :class:`CertificateError`.
    """
    data = bytes(der)
    tag, start, _ = _tlv(data, 0)
    if tag != 0x30:
        raise CertificateError("a certificate is a DER SEQUENCE", reason="malformed")
    tag, pos, tbs_end = _tlv(data, start)
    if tag != 0x30:
        raise CertificateError("the TBSCertificate is a DER SEQUENCE", reason="malformed")
    tag, _, end = _tlv(data, pos)
    if tag == 0xA0:  # explicit version
        pos = end
    for _ in range(5):  # serial, signature, issuer, validity, subject
        _, _, pos = _tlv(data, pos)
        if pos > tbs_end:
            raise CertificateError("TBSCertificate fields overrun it", reason="malformed")
    tag, _, end = _tlv(data, pos)
    if tag != 0x30 or end > tbs_end:
        raise CertificateError("no SubjectPublicKeyInfo in the certificate", reason="malformed")
    return data[pos:end]


def spki_sha256(der: bytes) -> bytes:
    """SHA-256 of the certificate's DER SubjectPublicKeyInfo: the value pins hold."""
    return hashlib.sha256(spki_der(der)).digest()


def subject_public_key_bits(der: bytes) -> bytes:
    """The key bits of certificate ``der`` (the SPKI BIT STRING, unused-bits byte dropped).

    OCSP identifies an issuer by the hash of exactly these bytes (RFC 6960
    ``issuerKeyHash``), which differs from the SPKI hash pins use.
    """
    spki = spki_der(der)
    _, pos, end = _tlv(spki, 0)
    _, _, pos = _tlv(spki, pos)  # algorithm identifier
    tag, start, stop = _tlv(spki, pos)
    if tag != 0x03 or stop > end or start >= stop:
        raise CertificateError("the public key is not a DER BIT STRING", reason="malformed")
    return spki[start + 1 : stop]


def load_pem_chain(data: bytes) -> list[bytes]:
    """Every certificate of a PEM bundle, as DER, in file order.

    A bundle without a single valid certificate raises
    :class:`CertificateError`; text around the PEM blocks is ignored.
    """
    try:
        certs = x509.load_pem_x509_certificates(bytes(data))
        return [cert.public_bytes(serialization.Encoding.DER) for cert in certs]
    except _PARSE_ERRORS as exc:
        raise CertificateError(f"no valid PEM certificate: {exc}", reason="malformed") from exc


def _common_name(name: x509.Name) -> str | None:
    for attr in name.get_attributes_for_oid(x509.NameOID.COMMON_NAME):
        value = attr.value
        return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return None


def _sans(cert: x509.Certificate) -> tuple[tuple[str, ...], tuple[str, ...]]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return (), ()
    dns = tuple(ext.value.get_values_for_type(x509.DNSName))
    ips = tuple(str(ip) for ip in ext.value.get_values_for_type(x509.IPAddress))
    return dns, ips


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        ext = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return bool(ext.value.ca)


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """The facts of one X.509 certificate, parsed once from its DER.

    ``subject``/``issuer`` are RFC 4514 strings; ``sha256_fingerprint`` is the
    hash of the whole DER as lowercase hex without colons (what browsers show,
    minus the colons); ``spki_sha256`` is the raw 32-byte SPKI hash pins use;
    ``not_before``/``not_after`` are timezone-aware UTC datetimes.
    """

    subject: str
    issuer: str
    common_name: str | None
    san_dns: tuple[str, ...]
    san_ip: tuple[str, ...]
    serial: int
    sha256_fingerprint: str
    spki_sha256: bytes
    not_before: datetime
    not_after: datetime
    is_ca: bool
    der: bytes = field(repr=False)

    @classmethod
    def from_der(cls, der: bytes) -> CertificateInfo:
        """Parse a DER certificate; anything malformed raises CertificateError."""
        raw = bytes(der)
        try:
            cert = x509.load_der_x509_certificate(raw)
            dns, ips = _sans(cert)
            return cls(
                subject=cert.subject.rfc4514_string(),
                issuer=cert.issuer.rfc4514_string(),
                common_name=_common_name(cert.subject),
                san_dns=dns,
                san_ip=ips,
                serial=cert.serial_number,
                sha256_fingerprint=hashlib.sha256(raw).hexdigest(),
                spki_sha256=spki_sha256(raw),
                not_before=cert.not_valid_before_utc,
                not_after=cert.not_valid_after_utc,
                is_ca=_is_ca(cert),
                der=raw,
            )
        except _PARSE_ERRORS as exc:
            raise CertificateError(f"malformed certificate: {exc}", reason="malformed") from exc

    @classmethod
    def from_pem(cls, pem: bytes) -> CertificateInfo:
        """Parse the first certificate of PEM data (the leaf of a bundle)."""
        return cls.from_der(load_pem_chain(pem)[0])

    def days_to_expiry(self, wall_time: float) -> float:
        """Days from ``wall_time`` (POSIX seconds) to ``not_after``; negative once expired."""
        return (self.not_after.timestamp() - wall_time) / _SECONDS_PER_DAY

    def is_valid_at(self, wall_time: float) -> bool:
        """Whether ``wall_time`` (POSIX seconds) lies in the validity period, ends included."""
        return self.not_before.timestamp() <= wall_time <= self.not_after.timestamp()


def verify_signature(
    key: object,
    signature: bytes,
    data: bytes,
    hash_algorithm: hashes.HashAlgorithm | None,
    *,
    pss: bool = False,
) -> bool:
    """Whether ``signature`` over ``data`` verifies with public ``key``.

    One place for the key-type dispatch OCSP responses and SCTs both need
    (``cryptography`` only offers it for certificates and CRLs). RSA uses
    PKCS#1 v1.5 unless ``pss``; a key type that cannot sign, or a missing
    hash where one is needed, simply does not verify.
    """
    try:
        if isinstance(key, rsa.RSAPublicKey) and hash_algorithm is not None:
            pad: padding.AsymmetricPadding = (
                padding.PSS(padding.MGF1(hash_algorithm), padding.PSS.AUTO)
                if pss
                else padding.PKCS1v15()
            )
            key.verify(signature, data, pad, hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and hash_algorithm is not None:
            key.verify(signature, data, ec.ECDSA(hash_algorithm))
        elif isinstance(key, dsa.DSAPublicKey) and hash_algorithm is not None:
            key.verify(signature, data, hash_algorithm)
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(signature, data)
        else:
            return False
    except (InvalidSignature, *_PARSE_ERRORS):
        return False
    return True
