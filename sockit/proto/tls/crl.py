"""Certificate revocation lists: load, verify, reload, and check a chain against them.

A :class:`CRLSet` holds CRLs (DER, or PEM with any number of ``X509 CRL``
blocks) from bytes or files. Each is bounded by ``max_crl_size`` before it is
parsed, parsed completely at load time (so a bad file fails in
:meth:`CRLSet.load`, not during a handshake) and its signature is checked:

* against a configured issuer certificate (``issuers=``) whose subject is the
  CRL's issuer name, at load time; a signature that does not verify is refused;
* otherwise at check time against the next certificate of the peer's chain,
  when that certificate's subject is the CRL's issuer. A CRL that claims to be
  from the chain's issuer but is not signed by it fails the check
  (``reason="crl-bad-signature"``). A CRL no certificate can vouch for is
  never used.

Revocation is soft-fail for coverage: a certificate whose issuer has no CRL
loaded passes. Indirect and delta CRLs are not supported.

A CRL whose ``next_update`` has passed is *stale*: by default it is still used
(revocations it lists still count) and :meth:`CRLSet.stale` reports it, so the
refresher in the net layer can log and fetch; with ``strict_freshness=True`` a
chain covered by a stale CRL is refused (``reason="crl-stale"``).

:meth:`CRLSet.reload` re-reads every source and swaps the new lists in only if
all of them load; scheduling reloads (``min_crl_refresh``) is the net layer's
job, since this module never reads a clock. Time is ``wall_time`` (POSIX
seconds), passed in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeAlias

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding

from sockit.errors import LimitExceeded
from sockit.limits import TLSDefaults
from sockit.proto.tls.certinfo import load_pem_chain
from sockit.proto.tls.errors import CertificateError, CertificateRevoked, CRLError, TLSUsageError

__all__ = ["CRLSet", "CRLSource"]

_PARSE_ERRORS = (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion)
_MAX_VOUCHED = 16  # remembered signer verdicts per CRL
_PEM_CRL = re.compile(
    rb"-----BEGIN X509 CRL-----\r?\n.+?\r?\n-----END X509 CRL-----", re.DOTALL
)


class _PathLike(Protocol):
    def __fspath__(self) -> str: ...


#: Where a CRL comes from: its bytes (DER or PEM), or a file path.
CRLSource: TypeAlias = "bytes | str | _PathLike"


@dataclass(frozen=True, slots=True)
class _Entry:
    """One parsed CRL and what we know of its signature."""

    crl: x509.CertificateRevocationList
    issuer: x509.Name
    revoked: dict[int, x509.RevokedCertificate]
    next_update: float | None
    verified: bool  # checked against a configured issuer at load time
    # chain certificates (DER) already tried as signer: a big CRL's signature
    # costs milliseconds, so it is checked once per issuer, not per handshake
    vouched: dict[bytes, bool] = field(default_factory=dict)


def _reason(revoked: x509.RevokedCertificate) -> str:
    try:
        ext = revoked.extensions.get_extension_for_class(x509.CRLReason)
    except (x509.ExtensionNotFound, *_PARSE_ERRORS):
        return "unspecified"
    return str(ext.value.reason.value)


class CRLSet:
    """The CRLs a TLS context checks peer chains against."""

    def __init__(
        self,
        *,
        issuers: Sequence[bytes] = (),
        max_size: int = TLSDefaults().max_crl_size,
        strict_freshness: bool = False,
    ) -> None:
        self.max_size = max_size
        self.strict_freshness = strict_freshness
        self._issuers: list[x509.Certificate] = []
        for blob in issuers:
            try:
                ders = load_pem_chain(blob) if b"-----BEGIN" in blob else [bytes(blob)]
                self._issuers.extend(x509.load_der_x509_certificate(d) for d in ders)
            except (CertificateError, *_PARSE_ERRORS) as exc:
                raise TLSUsageError(f"a CRL issuer is not a valid certificate: {exc}") from exc
        self._sources: list[CRLSource] = []
        self._by_source: list[list[_Entry]] = []
        self._entries: tuple[_Entry, ...] = ()
        self._last_loaded: float | None = None

    # -- loading -------------------------------------------------------------

    def load(self, source: CRLSource, *, wall_time: float | None = None) -> None:
        """Add the CRLs of ``source`` (bytes, or a path read now and on reload)."""
        entries = self._load_source(source)
        self._sources.append(source)
        self._by_source.append(entries)
        self._publish(wall_time)

    def reload(self, *, wall_time: float | None = None) -> int:
        """Re-read every source; all or nothing. Returns how many CRLs are loaded."""
        fresh = [self._load_source(source) for source in self._sources]
        self._by_source = fresh
        self._publish(wall_time)
        return len(self._entries)

    def _publish(self, wall_time: float | None) -> None:
        self._entries = tuple(e for group in self._by_source for e in group)
        if wall_time is not None:
            self._last_loaded = wall_time

    def _read(self, source: CRLSource) -> bytes:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        else:
            try:
                with Path(source).open("rb") as fh:
                    data = fh.read(self.max_size + 1)
            except OSError as exc:
                raise TLSUsageError(f"cannot read CRL file {source!r}: {exc}") from exc
        if len(data) > self.max_size:
            raise LimitExceeded(
                f"CRL larger than max_crl_size={self.max_size} bytes",
                limit="max_crl_size",
                value=self.max_size,
            )
        return data

    def _load_source(self, source: CRLSource) -> list[_Entry]:
        data = self._read(source)
        try:
            if b"-----BEGIN" in data:
                blocks = _PEM_CRL.findall(data)
                if not blocks:
                    raise ValueError("no X509 CRL block in PEM data")
                crls = [x509.load_pem_x509_crl(block) for block in blocks]
            else:
                crls = [x509.load_der_x509_crl(data)]
            return [self._entry(crl) for crl in crls]
        except _PARSE_ERRORS as exc:
            raise CRLError(f"malformed CRL: {exc}", reason="crl-malformed") from exc

    def _entry(self, crl: x509.CertificateRevocationList) -> _Entry:
        issuer = crl.issuer
        revoked = {item.serial_number: item for item in crl}
        next_update = crl.next_update_utc
        crl.last_update_utc  # noqa: B018 - parse it now, not during a handshake
        candidates = [c for c in self._issuers if c.subject == issuer]
        verified = False
        if candidates:
            if not any(_signed_by(crl, cert) for cert in candidates):
                raise CRLError(
                    f"CRL of {issuer.rfc4514_string()} is not signed by that issuer",
                    reason="crl-bad-signature",
                )
            verified = True
        return _Entry(
            crl,
            issuer,
            revoked,
            None if next_update is None else next_update.timestamp(),
            verified,
        )

    # -- checking ------------------------------------------------------------

    def check(self, chain_der: Sequence[bytes], *, wall_time: float) -> None:
        """Refuse the chain (leaf first) if a CRL of an issuer revokes one of its certificates."""
        entries = self._entries
        if not entries:
            return
        try:
            chain = [x509.load_der_x509_certificate(bytes(der)) for der in chain_der]
            for depth, cert in enumerate(chain):
                parent = chain[depth + 1] if depth + 1 < len(chain) else None
                self._check_one(entries, depth, cert, parent, wall_time)
        except _PARSE_ERRORS as exc:
            raise CRLError(
                f"malformed certificate in the chain: {exc}", reason="malformed"
            ) from exc

    def _check_one(
        self,
        entries: tuple[_Entry, ...],
        depth: int,
        cert: x509.Certificate,
        parent: x509.Certificate | None,
        wall_time: float,
    ) -> None:
        for entry in entries:
            if entry.issuer != cert.issuer or not _trusted(entry, parent):
                continue
            if self.strict_freshness and _is_stale(entry, wall_time):
                raise CRLError(
                    f"the CRL of {cert.issuer.rfc4514_string()} is past its next update",
                    reason="crl-stale",
                )
            hit = entry.revoked.get(cert.serial_number)
            if hit is not None:
                where = "the peer's certificate" if depth == 0 else f"chain depth {depth}"
                raise CertificateRevoked(
                    f"{where} (serial {cert.serial_number:#x}) was revoked on "
                    f"{hit.revocation_date_utc.isoformat()} ({_reason(hit)}) according "
                    f"to the CRL of {cert.issuer.rfc4514_string()}"
                )

    def stale(self, wall_time: float) -> tuple[str, ...]:
        """Issuer names (RFC 4514) of loaded CRLs whose ``next_update`` has passed."""
        return tuple(e.issuer.rfc4514_string() for e in self._entries if _is_stale(e, wall_time))

    # -- introspection -------------------------------------------------------

    @property
    def sources(self) -> tuple[CRLSource, ...]:
        """Where the CRLs came from, in load order (paths are re-read on reload)."""
        return tuple(self._sources)

    @property
    def last_loaded(self) -> float | None:
        """The ``wall_time`` given to the last load or reload (``None`` if none was given)."""
        return self._last_loaded

    @property
    def revoked_count(self) -> int:
        """How many revoked-certificate entries the loaded CRLs hold in total."""
        return sum(len(e.revoked) for e in self._entries)

    @property
    def next_update(self) -> float | None:
        """The earliest ``next_update`` (POSIX seconds) of the loaded CRLs: refresh by then."""
        times = [e.next_update for e in self._entries if e.next_update is not None]
        return min(times) if times else None

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<CRLSet {len(self._entries)} CRLs, {self.revoked_count} revoked>"


def _signed_by(crl: x509.CertificateRevocationList, cert: x509.Certificate) -> bool:
    try:
        return bool(crl.is_signature_valid(cert.public_key()))  # type: ignore[arg-type]
    except (*_PARSE_ERRORS, TypeError):
        return False


def _trusted(entry: _Entry, parent: x509.Certificate | None) -> bool:
    """Whether ``entry`` may speak for the issuer of a chain cert whose parent is ``parent``."""
    if entry.verified:
        return True
    if parent is None or parent.subject != entry.issuer:
        return False  # nothing can vouch for it: not used
    key = parent.public_bytes(Encoding.DER)
    ok = entry.vouched.get(key)
    if ok is None:
        ok = _signed_by(entry.crl, parent)
        if len(entry.vouched) >= _MAX_VOUCHED:
            entry.vouched.clear()
        entry.vouched[key] = ok
    if not ok:
        raise CRLError(
            f"a CRL claims to be from {entry.issuer.rfc4514_string()} but is not signed by it",
            reason="crl-bad-signature",
        )
    return True


def _is_stale(entry: _Entry, wall_time: float) -> bool:
    return entry.next_update is not None and entry.next_update < wall_time
