"""TLS 1.3 (and opt-in TLS 1.2), sans-I/O, on pyOpenSSL memory BIOs.

::

    from sockit.proto.tls import TLSConnection, TLSContext, HandshakeComplete, TLSData

    ctx = TLSContext.client(cafile="ca.pem", alpn=["http/1.1"])
    conn = TLSConnection(ctx, server_hostname="example.com", now=clock())
    out = conn.data_to_send()                 # the ClientHello, for the socket
    for event in conn.receive_data(chunk):    # HandshakeComplete, TLSData, CloseNotify
        ...

Configuration is :class:`TLSContext` (``context.py``); the engine is
:class:`TLSConnection` (``connection.py``) with its states in ``_state.py``
and its events in ``events.py``; failures are the
:class:`~sockit.errors.TLSError` subclasses of ``errors.py``. The blocking
socket wrapper is :mod:`sockit.net.tls`.
"""

from sockit.proto.tls._context_sessions import SessionStore, TLSSession
from sockit.proto.tls.certinfo import CertificateInfo
from sockit.proto.tls.connection import TLSConnection, TLSState
from sockit.proto.tls.context import ClientAuth, OCSPResponder, TLSContext
from sockit.proto.tls.crl import CRLSet
from sockit.proto.tls.ct import CTPolicy
from sockit.proto.tls.dtls import (
    CookieJar,
    DTLSConnection,
    DTLSContext,
    DTLSListener,
    DTLSState,
)
from sockit.proto.tls.errors import (
    CertificateError,
    CertificateExpired,
    CertificateRevoked,
    CertificateTransparencyError,
    CRLError,
    HandshakeFailure,
    HostnameMismatch,
    OCSPError,
    OCSPRevoked,
    PeerAlert,
    PinMismatch,
    TLSProtocolViolation,
    TLSUsageError,
    UntrustedCertificate,
)
from sockit.proto.tls.events import CloseNotify, HandshakeComplete, TLSData
from sockit.proto.tls.ocsp import OCSPPolicy, OCSPStatus, build_ocsp_response
from sockit.proto.tls.pinning import PinResult, PinSet

__all__ = [
    "CRLError",
    "CRLSet",
    "CTPolicy",
    "CertificateError",
    "CertificateExpired",
    "CertificateInfo",
    "CertificateRevoked",
    "CertificateTransparencyError",
    "ClientAuth",
    "CloseNotify",
    "CookieJar",
    "DTLSConnection",
    "DTLSContext",
    "DTLSListener",
    "DTLSState",
    "HandshakeComplete",
    "HandshakeFailure",
    "HostnameMismatch",
    "OCSPError",
    "OCSPPolicy",
    "OCSPResponder",
    "OCSPRevoked",
    "OCSPStatus",
    "PeerAlert",
    "PinMismatch",
    "PinResult",
    "PinSet",
    "SessionStore",
    "TLSConnection",
    "TLSContext",
    "TLSData",
    "TLSProtocolViolation",
    "TLSSession",
    "TLSState",
    "TLSUsageError",
    "UntrustedCertificate",
    "build_ocsp_response",
]
