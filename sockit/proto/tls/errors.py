"""The TLS and DTLS failures, each a distinct :class:`~sockit.errors.TLSError`.

A failed handshake says *why* through its class and ``reason``, so callers can
tell an expired certificate from a wrong host or a pin mismatch without
parsing messages::

    try:
        tls_socket = sock.start_tls(ctx, server_hostname="example.com")
    except CertificateExpired as exc:
        print("renew it:", exc.reason)
    except TLSError as exc:
        print("refused:", exc)

``reason`` is a short stable token (``"expired"``, ``"hostname-mismatch"``,
``"pin-mismatch"``...); ``alert`` is the TLS alert description number when one
was sent or received (RFC 8446 section 6), else ``None``.
"""

from __future__ import annotations

from datetime import datetime

from sockit.errors import TLSError

__all__ = [
    "CertificateError",
    "CertificateExpired",
    "CertificateRevoked",
    "CertificateTransparencyError",
    "CRLError",
    "HandshakeFailure",
    "HostnameMismatch",
    "OCSPError",
    "OCSPRevoked",
    "PeerAlert",
    "PinMismatch",
    "TLSProtocolViolation",
    "TLSUsageError",
    "UntrustedCertificate",
]


class _TLSError(TLSError):
    """A TLS failure with a stable ``reason`` token and the alert number."""

    default_reason = "tls-error"

    def __init__(
        self, message: str, *, reason: str | None = None, alert: int | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason if reason is not None else self.default_reason
        self.alert = alert


class HandshakeFailure(_TLSError):
    """The handshake failed for a reason not covered by a more specific class
    (no shared protocol version or cipher suite, ALPN refused, peer gone)."""

    default_reason = "handshake-failure"


class CertificateError(_TLSError):
    """The peer's certificate chain did not verify."""

    default_reason = "certificate"


class UntrustedCertificate(CertificateError):
    """The chain does not lead to a trusted CA (self-signed, unknown issuer)."""

    default_reason = "untrusted"


class CertificateExpired(CertificateError):
    """A certificate in the chain is expired or not yet valid."""

    default_reason = "expired"


class HostnameMismatch(CertificateError):
    """The certificate does not name the host (or IP address) we connected to."""

    default_reason = "hostname-mismatch"


class CertificateRevoked(CertificateError):
    """A loaded CRL lists a certificate of the chain as revoked."""

    default_reason = "revoked"


class PinMismatch(CertificateError):
    """No certificate of the chain matches a configured SPKI SHA-256 pin."""

    default_reason = "pin-mismatch"


class OCSPError(CertificateError):
    """The OCSP response is missing (must-staple), malformed, stale or badly signed."""

    default_reason = "ocsp"


class OCSPRevoked(OCSPError):
    """The stapled OCSP response says the certificate is revoked.

    ``revocation_time`` (aware UTC) and ``revocation_reason`` (the CRL reason
    name, ``""`` if none was given) come from the response.
    """

    default_reason = "ocsp-revoked"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        alert: int | None = None,
        revocation_time: datetime | None = None,
        revocation_reason: str = "",
    ) -> None:
        super().__init__(message, reason=reason, alert=alert)
        self.revocation_time = revocation_time
        self.revocation_reason = revocation_reason


class CRLError(CertificateError):
    """A CRL could not be used: malformed, badly signed, or stale under strict freshness."""

    default_reason = "crl"


class CertificateTransparencyError(CertificateError):
    """Strict Certificate Transparency: too few valid embedded SCTs."""

    default_reason = "ct"


class PeerAlert(_TLSError):
    """The peer sent a fatal alert; ``alert`` holds its description number."""

    default_reason = "peer-alert"


class TLSProtocolViolation(_TLSError):
    """The peer sent records that are not valid TLS (garbage, bad MAC, wrong version)."""

    default_reason = "protocol"


class TLSUsageError(_TLSError):
    """Our side used the TLS API wrongly (sending before the handshake, after close)."""

    default_reason = "usage"
