"""HTTP CONNECT tunnels (RFC 9110 §9.3.6) for both roles, over the HTTP/1.1 machine.

::

    client = ConnectClient("example.com", 443, proxy_auth=("user", "secret"))
    sock.sendall(client.data_to_send())                 # CONNECT example.com:443
    for event in client.receive_data(sock.recv(4096)):  # TunnelEstablished once 2xx
        ...
    tls.receive_data(client.trailing_data)              # bytes after the proxy's answer

The HTTP/1.1 machine (:class:`sockit.proto.http1.Connection`) parses and
frames; it switches to the tunnel on a 2xx answer to CONNECT and keeps the
bytes after the head as ``trailing_data``. These classes add what a proxy
hop needs: the authority-form target, Basic proxy credentials (RFC 7617), and
what a refusal means.

Client: a 407 raises :class:`ProxyAuthenticationRequired` (``authenticate``
holds the Proxy-Authenticate challenges); any other non-2xx raises
:class:`~sockit.errors.ProxyError` with ``reply_code`` the status. The
refusal's body is read first, up to ``max_refusal_body`` bytes, so the message
can quote it. Errors are sticky.

Server: :class:`ConnectServer` reports :class:`TunnelRequested` and the
application calls :meth:`~ConnectServer.accept`, :meth:`~ConnectServer.refuse`
or :meth:`~ConnectServer.require_auth`. Anything but a well-formed CONNECT is
answered (400, 405, 431 ...) and raised as a RemoteProtocolError.

No timers: ``ProxyLimits.handshake_timeout`` is the driver's.
"""

from sockit.proto.connect.client import ConnectClient
from sockit.proto.connect.common import (
    DEFAULT_MAX_REFUSAL_BODY,
    ConnectState,
    ProxyAuthenticationRequired,
    TunnelEstablished,
    TunnelRequested,
    basic_credentials,
    format_authority,
    parse_authority,
)
from sockit.proto.connect.server import ConnectServer

__all__ = [
    "DEFAULT_MAX_REFUSAL_BODY",
    "ConnectClient",
    "ConnectServer",
    "ConnectState",
    "ProxyAuthenticationRequired",
    "TunnelEstablished",
    "TunnelRequested",
    "basic_credentials",
    "format_authority",
    "parse_authority",
]
