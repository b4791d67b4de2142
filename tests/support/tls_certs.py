"""Certificates for TLS tests (made with trustme) and an in-memory pump.

:func:`tls_certs` makes every certificate once per process and writes them
to a temporary directory: a trusted CA, a server certificate for
localhost/127.0.0.1/::1, expired, not-yet-valid, wrong-host, self-signed and
unknown-CA server certificates, three SNI certificates and a client
certificate. :func:`pump` shuttles records between two sans-I/O TLS
connections (optionally cut into random pieces) until neither has more to
say, collecting each side's events.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import itertools
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import trustme

from sockit.proto.events import Event
from sockit.proto.tls import TLSConnection


@dataclass(frozen=True)
class CertPair:
    """A certificate chain (leaf first) and its key, as files and as PEM."""

    cert: Path
    key: Path
    cert_pem: bytes
    key_pem: bytes


@dataclass(frozen=True)
class TLSCerts:
    """Every certificate the TLS tests use (see the module docstring)."""

    dir: Path
    ca: trustme.CA
    ca_file: Path
    ca_pem: bytes
    server: CertPair
    expired: CertPair
    not_yet_valid: CertPair
    wrong_host: CertPair
    self_signed: CertPair
    unknown_ca: CertPair
    client: CertPair
    sni: dict[str, CertPair]


def _write(base: Path, name: str, leaf: trustme.LeafCert) -> CertPair:
    cert_pem = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    key_pem = leaf.private_key_pem.bytes()
    cert, key = base / f"{name}.pem", base / f"{name}.key"
    cert.write_bytes(cert_pem)
    key.write_bytes(key_pem)
    return CertPair(cert, key, cert_pem, key_pem)


@functools.cache
def tls_certs() -> TLSCerts:
    """The certificates (made once per process, removed at exit)."""
    base = Path(tempfile.mkdtemp(prefix="sockit-tls-"))
    atexit.register(shutil.rmtree, base, True)
    ca = trustme.CA(organization_name="sockit test CA")
    other = trustme.CA(organization_name="sockit untrusted CA")
    now = dt.datetime.now(dt.timezone.utc)
    ca_file = base / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    self_ca = trustme.CA(organization_name="self-signed")
    self_signed = CertPair(
        base / "self.pem",
        base / "self.key",
        self_ca.cert_pem.bytes(),
        self_ca.private_key_pem.bytes(),
    )
    self_signed.cert.write_bytes(self_signed.cert_pem)
    self_signed.key.write_bytes(self_signed.key_pem)
    return TLSCerts(
        dir=base,
        ca=ca,
        ca_file=ca_file,
        ca_pem=ca.cert_pem.bytes(),
        server=_write(base, "server", ca.issue_cert("localhost", "127.0.0.1", "::1")),
        expired=_write(
            base,
            "expired",
            ca.issue_cert(
                "localhost", "127.0.0.1",
                not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1),
            ),
        ),
        not_yet_valid=_write(
            base,
            "future",
            ca.issue_cert(
                "localhost", "127.0.0.1",
                not_before=now + dt.timedelta(days=1), not_after=now + dt.timedelta(days=30),
            ),
        ),
        wrong_host=_write(base, "wrong", ca.issue_cert("other.example")),
        self_signed=self_signed,
        unknown_ca=_write(base, "unknown", other.issue_cert("localhost", "127.0.0.1")),
        client=_write(base, "client", ca.issue_cert("client.example")),
        sni={
            name: _write(base, f"sni-{i}", ca.issue_cert(name))
            for i, name in enumerate(["a.example", "b.example", "*.wild.example"])
        },
    )


@dataclass
class PumpResult:
    """Events each side produced while pumping."""

    client: list[Event]
    server: list[Event]


def pump(
    client: TLSConnection,
    server: TLSConnection,
    *,
    rounds: int = 20,
    rng: random.Random | None = None,
    on_client: Callable[[list[Event]], None] | None = None,
) -> PumpResult:
    """Move bytes both ways until quiet; with ``rng``, feed them in random pieces."""
    result = PumpResult([], [])
    for _ in range(rounds):
        moved = False
        for src, dst, sink in ((client, server, result.server), (server, client, result.client)):
            data = src.data_to_send()
            if not data:
                continue
            moved = True
            for piece in _cut(data, rng):
                events = dst.receive_data(piece)
                sink.extend(events)
                if dst is client and on_client is not None and events:
                    on_client(events)
        if not moved:
            return result
    raise AssertionError("TLS pump did not settle")


def _cut(data: bytes, rng: random.Random | None) -> list[bytes]:
    if rng is None or len(data) < 2:
        return [data]
    n = rng.randint(1, min(len(data) - 1, 12))
    cuts = sorted(rng.sample(range(1, len(data)), n))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def ocsp_response(pair: CertPair, *, revoked: bool = False) -> bytes:
    """A DER OCSP response for ``pair``'s leaf signed by the test CA.

    OpenSSL 3.6+ drops stapled bytes that do not parse as an OCSP response,
    so staples in tests must be real ones.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp

    certs = tls_certs()
    leaf = x509.load_pem_x509_certificates(pair.cert_pem)[0]
    issuer = x509.load_pem_x509_certificate(certs.ca_pem)
    key = serialization.load_pem_private_key(certs.ca.private_key_pem.bytes(), None)
    now = dt.datetime.now(dt.timezone.utc)
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=leaf,
        issuer=issuer,
        algorithm=hashes.SHA256(),
        cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
        this_update=now - dt.timedelta(minutes=1),
        next_update=now + dt.timedelta(days=1),
        revocation_time=now - dt.timedelta(days=1) if revoked else None,
        revocation_reason=None,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, issuer)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]
