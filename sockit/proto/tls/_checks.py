"""What the engine checks about the peer while OpenSSL verifies its chain.

OpenSSL calls the verify callback once per certificate, root first and the
peer's own certificate (depth 0) last. :class:`PeerChecks` remembers the
chain as it goes and, at depth 0, runs the host name check and the
configured policies (pins, CRL, CT). Refusing there makes OpenSSL abort the
handshake with an alert, before any application data is exchanged; the
exception that says why is kept for the engine to raise.
"""

from __future__ import annotations

import functools
import ipaddress

from cryptography import x509
from OpenSSL import crypto
from service_identity import CertificateError as SICertificateError
from service_identity import VerificationError
from service_identity.cryptography import (
    verify_certificate_hostname,
    verify_certificate_ip_address,
)

from sockit.errors import TLSError
from sockit.proto.tls._policies import CRLCheck, CTCheck, PinCheck, PinResultLike
from sockit.proto.tls._verify import verify_error
from sockit.proto.tls.errors import CertificateError, HostnameMismatch

__all__ = ["PeerChecks", "host_kind"]

_NAME_CACHE_SIZE = 256


@functools.lru_cache(maxsize=_NAME_CACHE_SIZE)
def host_kind(hostname: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address ``hostname`` spells (brackets allowed), or ``None`` for a DNS name.

    Remembered per name: every connection asks, and parsing is not free.
    """
    try:
        return ipaddress.ip_address(hostname.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


class PeerChecks:
    """Per-connection verification state fed by the verify callback."""

    __slots__ = (
        "chain", "crl", "ct", "failure", "hostname", "keep_chain", "leaf_der", "name_cache",
        "pin_result", "pins", "verify", "wall_time",
    )

    def __init__(
        self,
        *,
        verify: bool,
        hostname: str | None,
        pins: PinCheck | None,
        crl: CRLCheck | None,
        ct: CTCheck | None,
        wall_time: float | None,
        keep_chain: bool,
        name_cache: set[tuple[bytes, str]] | None = None,
    ) -> None:
        self.verify = verify
        self.hostname = hostname
        self.pins = pins
        self.crl = crl
        self.ct = ct
        self.wall_time = wall_time
        self.keep_chain = keep_chain or pins is not None or crl is not None or ct is not None
        self.name_cache = name_cache
        self.chain: dict[int, bytes] = {}
        self.failure: TLSError | None = None
        self.pin_result: PinResultLike | None = None
        self.leaf_der: bytes | None = None  # the depth-0 certificate, once seen

    def chain_der(self) -> list[bytes]:
        """The chain seen so far, leaf first."""
        return [self.chain[d] for d in sorted(self.chain)]

    def on_verify(self, cert: crypto.X509, errnum: int, depth: int, ok: int) -> bool:
        """The verify callback's decision for the certificate at ``depth``."""
        if self.failure is not None:
            return False
        if not ok and self.verify:
            self.failure = verify_error(errnum, depth)
            return False
        if depth != 0:
            if self.keep_chain:
                self.chain[depth] = crypto.dump_certificate(crypto.FILETYPE_ASN1, cert)
            return True
        der = self.leaf_der = crypto.dump_certificate(crypto.FILETYPE_ASN1, cert)
        if self.keep_chain:
            self.chain[0] = der
        try:
            if self.hostname is not None:
                self._check_name(der, self.hostname)
            self._run_policies()
        except TLSError as exc:
            self.failure = exc
            return False
        except Exception as exc:  # a policy's own bug must not escape raw
            self.failure = CertificateError(f"certificate check failed: {exc!r}")
            return False
        return True

    def _check_name(self, der: bytes, hostname: str) -> None:
        """The host name check, remembered per (certificate, name) on the context."""
        cache = self.name_cache
        if cache is None:
            _check_name(x509.load_der_x509_certificate(der), hostname)
            return
        key = (der, hostname)
        if key in cache:
            return
        _check_name(x509.load_der_x509_certificate(der), hostname)
        if len(cache) >= _NAME_CACHE_SIZE:
            cache.clear()
        cache.add(key)

    def _run_policies(self) -> None:
        chain = self.chain_der()
        if self.pins is not None:
            self.pin_result = self.pins.check(chain)
        wall = self.wall_time
        if self.crl is not None and wall is not None:
            self.crl.check(chain, wall_time=wall)
        if self.ct is not None and wall is not None:
            issuer = chain[1] if len(chain) > 1 else None
            self.ct.check(chain[0], issuer, wall_time=wall)


def _check_name(cert: x509.Certificate, hostname: str) -> None:
    ip = host_kind(hostname)
    try:
        if ip is not None:
            verify_certificate_ip_address(cert, str(ip))
        else:
            verify_certificate_hostname(cert, hostname.rstrip("."))
    except (VerificationError, SICertificateError) as exc:
        what = "IP address" if ip is not None else "host name"
        raise HostnameMismatch(
            f"the certificate does not match the {what} {hostname!r}: {exc}"
        ) from None
