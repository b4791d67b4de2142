"""The shapes of the post-verification checks the engine runs.

Pinning, CRLs, OCSP and Certificate Transparency live in their own modules
(``pinning.py``, ``crl.py``, ``ocsp.py``, ``ct.py``); the engine only needs
to call them, so it is typed against these protocols and never imports the
implementations. Each check raises the matching
:class:`~sockit.proto.tls.errors.CertificateError` subclass to refuse a chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = [
    "CRLCheck",
    "CTCheck",
    "OCSPCheck",
    "PinCheck",
    "PinResultLike",
]


class PinResultLike(Protocol):
    """The outcome of a pin check (reported on HandshakeComplete)."""


class PinCheck(Protocol):
    """SPKI SHA-256 pinning: raises PinMismatch, or reports in report-only mode."""

    def check(self, chain_der: Sequence[bytes]) -> PinResultLike:
        """Check the chain (leaf first) against the pins."""
        ...


class CRLCheck(Protocol):
    """Revocation lists: raises CertificateRevoked for a listed certificate."""

    def check(self, chain_der: Sequence[bytes], *, wall_time: float) -> None:
        """Check every certificate of the chain (leaf first)."""
        ...


class OCSPCheck(Protocol):
    """Stapled OCSP: raises OCSPRevoked / OCSPError (must-staple, bad response)."""

    def check(
        self, staple: bytes | None, leaf_der: bytes, issuer_der: bytes | None, *, wall_time: float
    ) -> object:
        """Check the staple (``None`` when the server sent none)."""
        ...


class CTCheck(Protocol):
    """Certificate Transparency: raises CertificateTransparencyError when strict."""

    def check(self, leaf_der: bytes, issuer_der: bytes | None, *, wall_time: float) -> int:
        """Count the leaf's valid embedded SCTs."""
        ...
