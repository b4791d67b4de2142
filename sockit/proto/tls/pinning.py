"""SPKI SHA-256 pinning: accept a chain only if one of its keys is one we expect.

A pin is the SHA-256 of a certificate's DER SubjectPublicKeyInfo (RFC 7469's
``pin-sha256``), so it survives re-issuing a certificate for the same key.
A chain passes when *any* of its certificates (leaf, intermediate or root)
carries a pinned key; pinning an intermediate and a backup key is the usual
advice.

Pins are accepted in the forms people copy them in: 32 raw bytes, hex (with or
without colons, any case) or HPKP style ``"sha256/<base64>"``. A malformed pin
or more than ``max_pins`` of them is a configuration mistake and raises
:class:`~sockit.proto.tls.errors.TLSUsageError` at once.

``report_only`` turns a mismatch from a :class:`PinMismatch` into a
:class:`PinResult` with ``matched=False``, for rolling pins out safely. An
empty pin set matches nothing: in strict mode it refuses every chain.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sockit.limits import TLSDefaults
from sockit.proto.tls.certinfo import load_pem_chain, spki_sha256
from sockit.proto.tls.errors import CertificateError, PinMismatch, TLSUsageError

__all__ = ["PinResult", "PinSet", "format_pin", "parse_pin"]

_PIN_SIZE = 32
_HPKP_PREFIX = "sha256/"


class _PathLike(Protocol):
    def __fspath__(self) -> str: ...


def parse_pin(pin: bytes | str) -> bytes:
    """The 32 raw bytes of a pin given as bytes, hex (colons allowed) or ``sha256/<b64>``."""
    if isinstance(pin, (bytes, bytearray, memoryview)):
        raw = bytes(pin)
    elif isinstance(pin, str):
        text = pin.strip()
        try:
            if text.lower().startswith(_HPKP_PREFIX):
                raw = base64.b64decode(text[len(_HPKP_PREFIX) :], validate=True)
            else:
                raw = bytes.fromhex(text.replace(":", ""))
        except (ValueError, binascii.Error) as exc:
            raise TLSUsageError(f"pin {pin!r} is neither hex nor sha256/<base64>") from exc
    else:
        raise TLSUsageError(f"a pin is bytes or str, not {type(pin).__name__}")
    if len(raw) != _PIN_SIZE:
        raise TLSUsageError(f"a SHA-256 pin is {_PIN_SIZE} bytes, got {len(raw)}")
    return raw


def format_pin(pin: bytes) -> str:
    """The HPKP form ``sha256/<base64>`` of a raw pin, for messages and configuration."""
    return _HPKP_PREFIX + base64.b64encode(pin).decode("ascii")


@dataclass(frozen=True, slots=True)
class PinResult:
    """How a chain fared against the pins.

    ``matched_pin`` is the first pin found (leaf first), ``chain_pins`` the
    SPKI hashes of every certificate of the chain in order, so a report-only
    deployment can log what it would have needed to pin.
    """

    matched: bool
    matched_pin: bytes | None
    chain_pins: tuple[bytes, ...]


class PinSet:
    """A bounded set of SPKI SHA-256 pins, checked against a peer's chain."""

    def __init__(
        self,
        pins: Iterable[bytes | str] = (),
        *,
        report_only: bool = False,
        max_pins: int = TLSDefaults().max_pins,
    ) -> None:
        if isinstance(pins, (str, bytes)):
            raise TLSUsageError("pins must be an iterable of pins, not a single pin")
        self.report_only = report_only
        self.max_pins = max_pins
        self._pins: dict[bytes, None] = {}  # insertion ordered, unique
        for pin in pins:
            self.add(pin)

    @classmethod
    def from_certificate_file(
        cls,
        path: str | _PathLike,
        *,
        report_only: bool = False,
        max_pins: int = TLSDefaults().max_pins,
    ) -> PinSet:
        """Pin the key of every certificate in a PEM (or single DER) file."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise TLSUsageError(f"cannot read pin certificate file {path!r}: {exc}") from exc
        try:
            ders = load_pem_chain(data) if b"-----BEGIN" in data else [data]
            pins = [spki_sha256(der) for der in ders]
        except CertificateError as exc:
            raise TLSUsageError(f"no usable certificate in {path!r}: {exc}") from exc
        return cls(pins, report_only=report_only, max_pins=max_pins)

    def add(self, pin: bytes | str) -> None:
        """Add one pin; a pin already present is not counted twice."""
        raw = parse_pin(pin)
        if raw not in self._pins and len(self._pins) >= self.max_pins:
            raise TLSUsageError(f"more than max_pins={self.max_pins} pins")
        self._pins[raw] = None

    @property
    def pins(self) -> tuple[bytes, ...]:
        """The raw pins, in the order they were added."""
        return tuple(self._pins)

    def __len__(self) -> int:
        return len(self._pins)

    def __contains__(self, pin: object) -> bool:
        if not isinstance(pin, (bytes, bytearray, memoryview, str)):
            return False
        try:
            return parse_pin(pin if isinstance(pin, str) else bytes(pin)) in self._pins
        except TLSUsageError:
            return False

    def check(self, chain_der: Sequence[bytes]) -> PinResult:
        """Check a chain (leaf first); strict mode raises PinMismatch when no key is pinned."""
        chain_pins = tuple(spki_sha256(der) for der in chain_der)
        for pin in chain_pins:
            if pin in self._pins:
                return PinResult(True, pin, chain_pins)
        result = PinResult(False, None, chain_pins)
        if not self.report_only:
            seen = ", ".join(format_pin(p) for p in chain_pins) or "an empty chain"
            raise PinMismatch(f"no certificate of the chain matches a pin (chain: {seen})")
        return result

    def __repr__(self) -> str:
        mode = "report-only" if self.report_only else "strict"
        return f"<PinSet {len(self._pins)} pins {mode}>"
