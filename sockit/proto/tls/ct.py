"""Certificate Transparency: count (and verify) the SCTs embedded in a leaf.

A publicly trusted certificate carries Signed Certificate Timestamps from CT
logs in its ``1.3.6.1.4.1.11129.2.4.2`` extension (RFC 6962 section 3.3):
promises by logs that the certificate is published, so a mis-issued one can be
found. :class:`CTPolicy` counts the SCTs that pass, one per distinct log:

* without ``logs``, every well-formed precertificate SCT (v1, the only
  version ``cryptography`` parses) whose timestamp is not in the future
  counts (a presence check: it proves nothing about the signatures, but
  catches certificates that were never logged);
* with ``logs`` (log id -> DER public key), an SCT counts only if its log is
  known and its signature verifies over the precertificate entry: the leaf's
  TBSCertificate without the SCT extension, bound to the SHA-256 of the
  issuer's SubjectPublicKeyInfo (so ``issuer_der`` is needed).

``strict=True`` refuses a leaf with fewer than ``min_scts`` valid SCTs
(:class:`CertificateTransparencyError`); permissive mode only returns the
count, for logging. SCTs delivered in the TLS extension or in OCSP are not
handled here. Time is ``wall_time`` (POSIX seconds), never read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import certificate_transparency as sct_mod

from sockit.proto.tls.certinfo import spki_sha256, verify_signature
from sockit.proto.tls.errors import CertificateError, CertificateTransparencyError, TLSUsageError

__all__ = ["CTPolicy", "ct_log_id", "precert_signed_data"]

_PARSE_ERRORS = (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)
_EMPTY: Mapping[bytes, bytes] = {}


def ct_log_id(public_key_der: bytes) -> bytes:
    """A CT log's id: the SHA-256 of its DER SubjectPublicKeyInfo (RFC 6962 section 3.2)."""
    return hashlib.sha256(public_key_der).digest()


def _millis(ts: datetime) -> int:
    aware = ts if ts.tzinfo is not None else ts.replace(tzinfo=timezone.utc)
    return (aware - _EPOCH) // _MS


def precert_signed_data(
    timestamp_ms: int, issuer_key_hash: bytes, tbs_precert: bytes, extensions: bytes = b""
) -> bytes:
    """The bytes a log signs for a precertificate SCT (RFC 6962 ``digitally-signed`` struct).

    Public so tests and tools can produce SCTs; checking uses it too.
    """
    return b"".join(
        (
            b"\x00",  # sct_version v1
            b"\x00",  # signature_type certificate_timestamp
            timestamp_ms.to_bytes(8, "big"),
            b"\x00\x01",  # entry_type precert_entry
            issuer_key_hash,
            len(tbs_precert).to_bytes(3, "big"),
            tbs_precert,
            len(extensions).to_bytes(2, "big"),
            extensions,
        )
    )


class CTPolicy:
    """How many embedded SCTs a leaf must carry, and whether their signatures are checked."""

    def __init__(
        self,
        *,
        strict: bool = False,
        min_scts: int = 2,
        logs: Mapping[bytes, bytes] = _EMPTY,
        leeway: float = 300.0,
    ) -> None:
        if min_scts < 1:
            raise TLSUsageError(f"min_scts must be >= 1, not {min_scts!r}")
        self.strict = strict
        self.min_scts = min_scts
        self.leeway = leeway
        self._logs: dict[bytes, object] = {}
        for log_id, key_der in logs.items():
            if ct_log_id(key_der) != bytes(log_id):
                raise TLSUsageError(
                    f"CT log id {bytes(log_id).hex()} is not the SHA-256 of its key"
                )
            try:
                self._logs[bytes(log_id)] = serialization.load_der_public_key(key_der)
            except _PARSE_ERRORS as exc:
                raise TLSUsageError(f"CT log key is not a DER public key: {exc}") from exc

    @property
    def verifies_signatures(self) -> bool:
        """Whether log keys are configured (SCTs are verified, not merely counted)."""
        return bool(self._logs)

    def check(self, leaf_der: bytes, issuer_der: bytes | None, *, wall_time: float) -> int:
        """Count the leaf's valid SCTs (distinct logs); strict mode refuses too few."""
        try:
            cert = x509.load_der_x509_certificate(bytes(leaf_der))
        except _PARSE_ERRORS as exc:
            raise CertificateError(
                f"malformed leaf certificate: {exc}", reason="malformed"
            ) from exc
        problem = ""
        valid: set[bytes] = set()
        try:
            ext = cert.extensions.get_extension_for_class(
                x509.PrecertificateSignedCertificateTimestamps
            )
            scts = list(ext.value)
            tbs = cert.tbs_precertificate_bytes if self._logs else b""
        except x509.ExtensionNotFound:
            scts, problem = [], "no embedded SCTs"
        except _PARSE_ERRORS as exc:
            scts, problem = [], f"malformed SCT list ({exc})"
        if scts and self._logs and issuer_der is None:
            problem = "SCT signatures need the issuer certificate"
        else:
            key_hash = spki_sha256(issuer_der) if self._logs and issuer_der is not None else b""
            for sct in scts:
                if self._valid(sct, key_hash, tbs, wall_time):
                    valid.add(sct.log_id)
        count = len(valid)
        if self.strict and count < self.min_scts:
            detail = f": {problem}" if problem else ""
            raise CertificateTransparencyError(
                f"{count} valid SCTs, Certificate Transparency requires {self.min_scts}{detail}"
            )
        return count

    def _valid(
        self, sct: sct_mod.SignedCertificateTimestamp, key_hash: bytes, tbs: bytes,
        wall_time: float,
    ) -> bool:
        try:
            if sct.entry_type is not sct_mod.LogEntryType.PRE_CERTIFICATE:
                return False
            millis = _millis(sct.timestamp)
            if millis > (wall_time + self.leeway) * 1000:
                return False  # a promise from the future is not a promise
            if not self._logs:
                return True
            key = self._logs.get(sct.log_id)
            if key is None:
                return False
            data = precert_signed_data(millis, key_hash, tbs, sct.extension_bytes)
            return verify_signature(key, sct.signature, data, sct.signature_hash_algorithm)
        except _PARSE_ERRORS:
            return False

    def __repr__(self) -> str:
        mode = "strict" if self.strict else "permissive"
        return f"<CTPolicy {mode} min_scts={self.min_scts} logs={len(self._logs)}>"
