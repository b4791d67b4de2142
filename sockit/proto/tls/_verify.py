"""Turning OpenSSL's verdicts into sockit's TLS errors.

Two sources: X.509 verification codes (``X509_V_ERR_*``, seen in the verify
callback) become :class:`CertificateError` subclasses, and OpenSSL's error
queue (``OpenSSL.SSL.Error`` reason strings) becomes a handshake failure or a
protocol violation. Alerts are recorded by number from the info callback, so
a fatal alert from the peer is a :class:`PeerAlert` with its description.
"""

from __future__ import annotations

from typing import Final

from sockit.proto.tls._openssl_private import verify_error_text
from sockit.proto.tls.errors import (
    CertificateError,
    CertificateExpired,
    CertificateRevoked,
    HandshakeFailure,
    PeerAlert,
    TLSProtocolViolation,
    UntrustedCertificate,
    _TLSError,
)

__all__ = [
    "ALERT_NAMES",
    "alert_error",
    "verify_error",
    "verify_reason_text",
    "ssl_error",
]

# X509_V_ERR_* codes (stable across OpenSSL 1.1 - 4.0)
_NOT_YET_VALID: Final = 9
_EXPIRED: Final = 10
_UNABLE_TO_GET_ISSUER: Final = 2
_DEPTH_ZERO_SELF_SIGNED: Final = 18
_SELF_SIGNED_IN_CHAIN: Final = 19
_UNABLE_TO_GET_ISSUER_LOCALLY: Final = 20
_UNABLE_TO_VERIFY_LEAF_SIGNATURE: Final = 21
_REVOKED: Final = 23
_UNTRUSTED: Final = 27

_VERIFY_CLASSES: Final[dict[int, tuple[type[CertificateError], str]]] = {
    _EXPIRED: (CertificateExpired, "expired"),
    _NOT_YET_VALID: (CertificateExpired, "not-yet-valid"),
    _DEPTH_ZERO_SELF_SIGNED: (UntrustedCertificate, "self-signed"),
    _SELF_SIGNED_IN_CHAIN: (UntrustedCertificate, "self-signed-in-chain"),
    _UNABLE_TO_GET_ISSUER_LOCALLY: (UntrustedCertificate, "unknown-issuer"),
    _UNABLE_TO_GET_ISSUER: (UntrustedCertificate, "unknown-issuer"),
    _UNABLE_TO_VERIFY_LEAF_SIGNATURE: (UntrustedCertificate, "unknown-issuer"),
    _UNTRUSTED: (UntrustedCertificate, "untrusted"),
    _REVOKED: (CertificateRevoked, "revoked"),
}

#: TLS alert descriptions (RFC 8446 section 6 and RFC 7301), for messages.
ALERT_NAMES: Final[dict[int, str]] = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    22: "record_overflow",
    40: "handshake_failure",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    100: "no_renegotiation",
    109: "missing_extension",
    110: "unsupported_extension",
    112: "unrecognized_name",
    113: "bad_certificate_status_response",
    115: "unknown_psk_identity",
    116: "certificate_required",
    120: "no_application_protocol",
}

# OpenSSL reason strings that mean "these bytes are not valid TLS"
_VIOLATION_HINTS: Final = (
    "wrong version number",
    "record",
    "bad mac",
    "decryption failed",
    "packet length",
    "unexpected message",
    "http request",
    "https proxy request",
    "decode error",
    "bad packet",
    "unknown protocol",
    "illegal parameter",
    "length mismatch",
    "length too",
    "excessive message size",
    "bad extension",
    "parse tlsext",
    "invalid ccs",
    "ccs received early",
    "unknown alert type",
    "bad key update",
    "bad length",
)


def verify_reason_text(code: int) -> str:
    """OpenSSL's text for verification code ``code`` (best effort)."""
    return verify_error_text(code)


def verify_error(code: int, depth: int) -> CertificateError:
    """The exception for a failed chain: its class says why, ``reason`` too."""
    text = verify_reason_text(code)
    where = "the peer's certificate" if depth == 0 else f"the chain (depth {depth})"
    cls, reason = _VERIFY_CLASSES.get(code, (CertificateError, f"x509-{code}"))
    exc = cls(f"{text}: {where}", reason=reason)
    exc.verify_code = code  # type: ignore[attr-defined]
    return exc


def alert_error(alert: int, *, handshaking: bool) -> PeerAlert:
    """The exception for a fatal alert received from the peer."""
    name = ALERT_NAMES.get(alert, f"alert {alert}")
    during = "during the handshake" if handshaking else "on an open connection"
    return PeerAlert(f"the peer sent a fatal {name} alert {during}", alert=alert)


def _reasons(exc: BaseException) -> list[str]:
    out: list[str] = []
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], list):
        for item in args[0]:
            if isinstance(item, tuple) and item:
                out.append(str(item[-1]))
    elif args:
        out.append(str(args[-1]))
    return out


def ssl_error(exc: BaseException, *, handshaking: bool, sent_alert: int | None) -> _TLSError:
    """Classify an ``OpenSSL.SSL.Error`` raised while feeding peer bytes."""
    reasons = _reasons(exc)
    text = "; ".join(r for r in reasons if r) or "TLS failure"
    lowered = text.lower()
    if any(h in lowered for h in _VIOLATION_HINTS):
        return TLSProtocolViolation(f"invalid TLS records: {text}", alert=sent_alert)
    if handshaking:
        return HandshakeFailure(f"handshake failed: {text}", alert=sent_alert)
    return TLSProtocolViolation(f"TLS failure: {text}", alert=sent_alert)
