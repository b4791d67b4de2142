"""OCSP stapling: judge the response a server staples, and build one to staple.

Client side, :class:`OCSPPolicy` checks a stapled response (RFC 6960, RFC
6066 ``status_request``) completely before believing it:

1. present, unless the policy says ``must_staple`` or the leaf carries the
   TLS Feature ``status_request`` extension (RFC 7633): then a missing staple
   fails (``reason="ocsp-missing"``);
2. at most ``max_size`` bytes, well formed, ``successful``;
3. a single response whose CertID names *this* leaf (serial, issuer name hash,
   issuer key hash) — a valid response for another certificate is refused;
4. signed by the issuer itself, or by a delegated responder certificate that
   the issuer signed directly, that has ``id-kp-OCSPSigning`` and is valid now;
5. current: ``this_update`` not in the future and ``next_update`` not in the
   past, both with ``leeway`` seconds for clock skew; with ``max_age`` also no
   older than that. A response without ``next_update`` needs ``max_age``;
6. then the status: ``good`` returns an :class:`OCSPStatus`, ``revoked``
   raises :class:`OCSPRevoked` (with ``revocation_time`` and
   ``revocation_reason`` attributes), ``unknown`` raises :class:`OCSPError`.

Server side, :func:`build_ocsp_response` signs a response for our own
certificate (with the CA key or a delegated responder), for servers that
generate their staple and for tests. Time is ``wall_time`` (POSIX seconds),
never read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, SignatureAlgorithmOID

from sockit.limits import TLSDefaults
from sockit.proto.tls.certinfo import subject_public_key_bits, verify_signature
from sockit.proto.tls.errors import CertificateError, OCSPError, OCSPRevoked, TLSUsageError

__all__ = ["OCSPPolicy", "OCSPStatus", "build_ocsp_response", "requires_staple"]

_PARSE_ERRORS = (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion)
_HASHLIB_NAMES = {"sha1", "sha224", "sha256", "sha384", "sha512"}
_STATUSES = {
    "good": ocsp.OCSPCertStatus.GOOD,
    "revoked": ocsp.OCSPCertStatus.REVOKED,
    "unknown": ocsp.OCSPCertStatus.UNKNOWN,
}


@dataclass(frozen=True, slots=True)
class OCSPStatus:
    """A verified ``good`` answer: the leaf was not revoked as of ``this_update``.

    ``responder`` is the signer's subject (RFC 4514); ``delegated`` says
    whether a delegated responder certificate signed instead of the issuer.
    """

    serial: int
    this_update: datetime
    next_update: datetime | None
    produced_at: datetime
    responder: str
    delegated: bool


def _load(der: bytes, what: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(bytes(der))
    except _PARSE_ERRORS as exc:
        raise CertificateError(f"malformed {what} certificate: {exc}", reason="malformed") from exc


def requires_staple(leaf_der: bytes) -> bool:
    """Whether the leaf asks for OCSP must-staple (TLS Feature ``status_request``)."""
    cert = _load(leaf_der, "leaf")
    try:
        ext = cert.extensions.get_extension_for_class(x509.TLSFeature)
    except x509.ExtensionNotFound:
        return False
    except _PARSE_ERRORS as exc:
        raise CertificateError(
            f"malformed TLS Feature extension: {exc}", reason="malformed"
        ) from exc
    return x509.TLSFeatureType.status_request in ext.value


def _utc(wall_time: float) -> datetime:
    return datetime.fromtimestamp(int(wall_time), tz=timezone.utc)


class OCSPPolicy:
    """How a client treats the OCSP response a server staples."""

    def __init__(
        self,
        *,
        must_staple: bool = False,
        max_age: float | None = None,
        max_size: int = TLSDefaults().max_ocsp_response_size,
        leeway: float = 300.0,
    ) -> None:
        if max_age is not None and max_age <= 0:
            raise TLSUsageError(f"max_age must be > 0 seconds, not {max_age!r}")
        if leeway < 0:
            raise TLSUsageError(f"leeway must be >= 0 seconds, not {leeway!r}")
        self.must_staple = must_staple
        self.max_age = max_age
        self.max_size = max_size
        self.leeway = leeway

    def check(
        self, staple: bytes | None, leaf_der: bytes, issuer_der: bytes | None, *, wall_time: float
    ) -> OCSPStatus | None:
        """Verify the staple for ``leaf_der``; ``None`` when none was sent nor needed."""
        if not staple:
            if self.must_staple or requires_staple(leaf_der):
                raise OCSPError("the server stapled no OCSP response (must-staple)",
                                reason="ocsp-missing")
            return None
        if len(staple) > self.max_size:
            raise OCSPError(
                f"stapled OCSP response of {len(staple)} bytes exceeds "
                f"max_ocsp_response_size={self.max_size}",
                reason="ocsp-too-large",
            )
        if issuer_der is None:
            raise OCSPError("cannot verify the OCSP response without the issuer certificate",
                            reason="ocsp-no-issuer")
        leaf = _load(leaf_der, "leaf")
        issuer = _load(issuer_der, "issuer")
        try:
            resp = ocsp.load_der_ocsp_response(bytes(staple))
            if resp.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
                raise OCSPError(f"OCSP responder answered {resp.response_status.name.lower()}",
                                reason="ocsp-unsuccessful")
            single = _single_for(resp, leaf, issuer_der)
            signer, delegated = _verify_signer(resp, issuer, wall_time, self.leeway)
            self._check_window(single, wall_time)
            return self._verdict(resp, single, signer, delegated)
        except _PARSE_ERRORS as exc:
            raise OCSPError(f"malformed OCSP response: {exc}", reason="ocsp-malformed") from exc

    def _check_window(self, single: ocsp.OCSPSingleResponse, wall_time: float) -> None:
        this_update = single.this_update_utc.timestamp()
        next_update = single.next_update_utc
        if this_update > wall_time + self.leeway:
            raise OCSPError("the OCSP response is not valid yet (thisUpdate in the future)",
                            reason="ocsp-not-yet-valid")
        if next_update is not None and next_update.timestamp() < wall_time - self.leeway:
            raise OCSPError(f"the OCSP response expired at {next_update.isoformat()}",
                            reason="ocsp-stale")
        if self.max_age is not None and wall_time - this_update > self.max_age + self.leeway:
            raise OCSPError(f"the OCSP response is older than max_age={self.max_age}s",
                            reason="ocsp-stale")
        if next_update is None and self.max_age is None:
            raise OCSPError("the OCSP response has no nextUpdate and no max_age is set",
                            reason="ocsp-stale")

    @staticmethod
    def _verdict(
        resp: ocsp.OCSPResponse,
        single: ocsp.OCSPSingleResponse,
        signer: x509.Certificate,
        delegated: bool,
    ) -> OCSPStatus:
        status = single.certificate_status
        if status is ocsp.OCSPCertStatus.REVOKED:
            when = single.revocation_time_utc
            reason = single.revocation_reason
            why = "unspecified" if reason is None else str(reason.value)
            raise OCSPRevoked(
                f"the stapled OCSP response says certificate {single.serial_number:#x} was "
                f"revoked{'' if when is None else ' on ' + when.isoformat()} ({why})",
                revocation_time=when,
                revocation_reason=why,
            )
        if status is not ocsp.OCSPCertStatus.GOOD:
            raise OCSPError("the OCSP responder does not know the certificate",
                            reason="ocsp-unknown")
        return OCSPStatus(
            serial=single.serial_number,
            this_update=single.this_update_utc,
            next_update=single.next_update_utc,
            produced_at=resp.produced_at_utc,
            responder=signer.subject.rfc4514_string(),
            delegated=delegated,
        )

    def __repr__(self) -> str:
        return f"<OCSPPolicy must_staple={self.must_staple} max_age={self.max_age}>"


def _digest(name: str, data: bytes) -> bytes:
    if name not in _HASHLIB_NAMES:
        raise OCSPError(f"unsupported OCSP CertID hash {name}", reason="ocsp-malformed")
    return hashlib.new(name, data).digest()


def _single_for(
    resp: ocsp.OCSPResponse, leaf: x509.Certificate, issuer_der: bytes
) -> ocsp.OCSPSingleResponse:
    """The single response whose CertID is the leaf's (else ocsp-wrong-certificate)."""
    key_bits = subject_public_key_bits(issuer_der)
    name_der = leaf.issuer.public_bytes()
    for single in resp.responses:
        if single.serial_number != leaf.serial_number:
            continue
        name = single.hash_algorithm.name
        if (
            single.issuer_name_hash == _digest(name, name_der)
            and single.issuer_key_hash == _digest(name, key_bits)
        ):
            return single
    raise OCSPError("the OCSP response is not about the server's certificate",
                    reason="ocsp-wrong-certificate")


def _names(resp: ocsp.OCSPResponse, cert: x509.Certificate) -> bool:
    """Whether the response's ResponderID designates ``cert``."""
    if resp.responder_name is not None:
        return bool(resp.responder_name == cert.subject)
    key_hash = resp.responder_key_hash
    der = cert.public_bytes(serialization.Encoding.DER)
    return key_hash is not None and key_hash == hashlib.sha1(subject_public_key_bits(der)).digest()  # noqa: S324 - RFC 6960 KeyHash


def _verify_signer(
    resp: ocsp.OCSPResponse, issuer: x509.Certificate, wall_time: float, leeway: float
) -> tuple[x509.Certificate, bool]:
    """The certificate that signed ``resp`` (issuer or delegated responder), verified."""
    if _names(resp, issuer):
        signer, delegated = issuer, False
    else:
        found = [c for c in resp.certificates if _names(resp, c)]
        if not found:
            raise OCSPError("the OCSP response is signed by an unknown responder",
                            reason="ocsp-bad-signature")
        signer, delegated = found[0], True
        _check_delegate(signer, issuer, wall_time, leeway)
    pss = resp.signature_algorithm_oid == SignatureAlgorithmOID.RSASSA_PSS
    if not verify_signature(
        signer.public_key(), resp.signature, resp.tbs_response_bytes,
        resp.signature_hash_algorithm, pss=pss,
    ):
        raise OCSPError("the OCSP response signature does not verify",
                        reason="ocsp-bad-signature")
    return signer, delegated


def _check_delegate(
    responder: x509.Certificate, issuer: x509.Certificate, wall_time: float, leeway: float
) -> None:
    try:
        responder.verify_directly_issued_by(issuer)
    except (InvalidSignature, *_PARSE_ERRORS) as exc:
        raise OCSPError(f"the OCSP responder certificate is not issued by the CA: {exc}",
                        reason="ocsp-bad-signature") from exc
    try:
        eku = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = x509.ExtendedKeyUsage([])
    if ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
        raise OCSPError("the OCSP responder certificate lacks id-kp-OCSPSigning",
                        reason="ocsp-bad-signature")
    start = responder.not_valid_before_utc.timestamp() - leeway
    end = responder.not_valid_after_utc.timestamp() + leeway
    if not start <= wall_time <= end:
        raise OCSPError("the OCSP responder certificate is not valid now",
                        reason="ocsp-bad-signature")


def build_ocsp_response(
    leaf_der: bytes,
    issuer_der: bytes,
    responder_key_pem: bytes,
    *,
    status: str = "good",
    wall_time: float,
    validity: float = 3600.0,
    revoked_at: float | None = None,
    revocation_reason: x509.ReasonFlags | None = None,
    responder_cert_der: bytes | None = None,
) -> bytes:
    """A signed DER OCSP response about ``leaf_der``, valid from ``wall_time`` for ``validity``.

    Signed with ``responder_key_pem`` (the issuer's key, or a delegated
    responder's whose certificate is ``responder_cert_der``, then included).
    ``revoked_at`` defaults to ``wall_time`` for ``status="revoked"``.
    """
    if status not in _STATUSES:
        raise TLSUsageError(f"status must be good, revoked or unknown, not {status!r}")
    try:
        leaf = x509.load_der_x509_certificate(bytes(leaf_der))
        issuer = x509.load_der_x509_certificate(bytes(issuer_der))
        responder = (
            issuer if responder_cert_der is None
            else x509.load_der_x509_certificate(bytes(responder_cert_der))
        )
        key = serialization.load_pem_private_key(responder_key_pem, password=None)
        revoked = status == "revoked"
        revoked_time = _utc(wall_time if revoked_at is None else revoked_at)
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=leaf,
            issuer=issuer,
            algorithm=hashes.SHA1(),  # noqa: S303 - the CertID hash every client accepts
            cert_status=_STATUSES[status],
            this_update=_utc(wall_time),
            next_update=_utc(wall_time + validity),
            revocation_time=revoked_time if revoked else None,
            revocation_reason=revocation_reason if revoked else None,
        )
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder)
        if responder_cert_der is not None:
            builder = builder.certificates([responder])
        algorithm = (
            None if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
            else hashes.SHA256()
        )
        response = builder.sign(key, algorithm)  # type: ignore[arg-type]
    except _PARSE_ERRORS as exc:
        raise TLSUsageError(f"cannot build the OCSP response: {exc}") from exc
    return response.public_bytes(serialization.Encoding.DER)
