"""DTLS 1.2, sans-I/O, on pyOpenSSL memory BIOs: the public names in one place.

::

    from sockit.proto.tls.dtls import DTLSConnection, DTLSContext, DTLSListener

    server_ctx = DTLSContext.server("cert.pem", "key.pem")       # cookies on
    listener = DTLSListener(server_ctx)
    result = listener.accept_hello(datagram, address, now)       # stateless
    if result.reply:                                             # HelloVerifyRequest
        sock.sendto(result.reply, address)
    elif result.connection:                                      # cookie was valid
        peers[address] = result.connection

    client = DTLSConnection(DTLSContext.client(cafile="ca.pem"),
                            server_hostname="localhost", now=clock())

Pieces: the context (``_dtls_context.py``), the engine
(``_dtls_connection.py``), the stateless listener (``_dtls_listener.py``),
cookies (``_dtls_cookies.py``), the resend schedule
(``_dtls_retransmit.py``), record framing (``_dtls_records.py``) and the
state table (``_dtls_state.py``). Events are TLS's
(:class:`HandshakeComplete`, :class:`TLSData`, :class:`CloseNotify`) and so
are the failures (:mod:`sockit.proto.tls.errors`). Blocking sockets:
:mod:`sockit.net.dtls`.
"""

from sockit.proto.tls._dtls_connection import MAX_DATAGRAM, DTLSConnection, DTLSStats
from sockit.proto.tls._dtls_context import DTLS1_2_VERSION, DTLSContext
from sockit.proto.tls._dtls_cookies import CookieJar, CookieStats, PeerAddress, address_key
from sockit.proto.tls._dtls_listener import DTLSListener, HelloResult, ListenerStats
from sockit.proto.tls._dtls_retransmit import RetransmitSchedule
from sockit.proto.tls._dtls_state import DTLSState
from sockit.proto.tls.events import CloseNotify, HandshakeComplete, TLSData

__all__ = [
    "DTLS1_2_VERSION",
    "MAX_DATAGRAM",
    "CloseNotify",
    "CookieJar",
    "CookieStats",
    "DTLSConnection",
    "DTLSContext",
    "DTLSListener",
    "DTLSState",
    "DTLSStats",
    "HandshakeComplete",
    "HelloResult",
    "ListenerStats",
    "PeerAddress",
    "RetransmitSchedule",
    "TLSData",
    "address_key",
]
