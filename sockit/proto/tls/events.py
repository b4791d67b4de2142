"""Events of the TLS engine (:class:`sockit.proto.tls.TLSConnection`).

TLS carries another protocol, so its events are few: the handshake finished
(with what was negotiated), application bytes arrived, the peer sent
``close_notify``. Failures are not events: a bad certificate, a fatal alert
from the peer or garbage records raise a :class:`~sockit.errors.TLSError`
subclass (see :mod:`sockit.proto.tls.errors`) after any alert of ours has been
queued, so the driver flushes ``data_to_send()`` and closes.

:class:`TLSData` is a :class:`~sockit.proto.events.DataReceived` and
:class:`CloseNotify` an :class:`~sockit.proto.events.EndOfStream`, so a driver
loop written for any protocol handles them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sockit.proto.events import DataReceived, EndOfStream, Event

if TYPE_CHECKING:
    from sockit.proto.tls._policies import PinResultLike
    from sockit.proto.tls.certinfo import CertificateInfo

__all__ = ["CloseNotify", "HandshakeComplete", "TLSData"]


@dataclass(frozen=True, slots=True)
class HandshakeComplete(Event):
    """The handshake finished and every configured check passed.

    ``version`` is ``"TLSv1.3"`` or ``"TLSv1.2"``; ``alpn_protocol`` is
    ``None`` when ALPN was not agreed; ``server_hostname`` is the SNI name
    (the one we sent as a client, the one the client sent as a server);
    ``peer_certificate`` is the peer's leaf certificate information (``None``
    when the peer sent none, e.g. a client without a certificate);
    ``pin_result`` is the SPKI pin check's outcome when pins are configured
    (in report-only mode a failed result is reported here instead of raised).
    """

    alpn_protocol: str | None
    version: str
    cipher: str
    session_reused: bool
    server_hostname: str | None
    peer_certificate: CertificateInfo | None = None
    pin_result: PinResultLike | None = None


@dataclass(frozen=True, slots=True)
class TLSData(DataReceived):
    """Decrypted application bytes from the peer."""


@dataclass(frozen=True, slots=True)
class CloseNotify(EndOfStream):
    """The peer sent ``close_notify``: it will send no more data.

    TLS 1.3 allows a half-close, so we may still send; call
    :meth:`~sockit.proto.tls.TLSConnection.close` to answer with our own
    ``close_notify`` (after which :meth:`~sockit.proto.tls.TLSConnection.unwrap`
    hands back the plaintext stream, for STARTTLS-style protocols).
    """
