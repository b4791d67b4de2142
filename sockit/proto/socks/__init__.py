"""SOCKS4, SOCKS4A and SOCKS5 (RFC 1928, RFC 1929) as sans-I/O machines for both roles.

::

    from sockit.proto.socks import SOCKSClient, SOCKSVersion, Succeeded

    client = SOCKSClient(SOCKSVersion.SOCKS5, "example.com", 443)
    sock.sendall(client.data_to_send())
    ...

:class:`SOCKSClient` (``client.py``) asks a proxy for CONNECT, BIND or UDP
ASSOCIATE; :class:`SOCKSServer` (``server.py``) is the proxy's side and leaves
every decision to the application. Events are in ``events.py``, reply codes and
errors in ``errors.py``, addresses and the UDP datagram header in ``codec.py``,
the state tables in ``_states.py``. See ``docs/proxy.md``.
"""

from sockit.proto.socks._states import SOCKSClientState, SOCKSServerState
from sockit.proto.socks.client import METHOD_NO_AUTH, METHOD_USERNAME_PASSWORD, SOCKSClient
from sockit.proto.socks.codec import (
    AddressType,
    UDPDatagram,
    classify_host,
    decode_udp_datagram,
    encode_udp_datagram,
)
from sockit.proto.socks.errors import (
    NO_ACCEPTABLE_METHODS,
    SOCKS4Reply,
    SOCKS5Reply,
    SOCKSAuthError,
    SOCKSError,
    SOCKSLimitExceeded,
    SOCKSProtocolError,
    SOCKSVersion,
    reply_name,
)
from sockit.proto.socks.events import (
    Authenticated,
    BindConnected,
    CommandRequested,
    CredentialsReceived,
    MethodSelected,
    SOCKSCommand,
    SOCKSEvent,
    Succeeded,
)
from sockit.proto.socks.server import ALL_COMMANDS, ALL_VERSIONS, SOCKSServer

__all__ = [
    "ALL_COMMANDS",
    "ALL_VERSIONS",
    "METHOD_NO_AUTH",
    "METHOD_USERNAME_PASSWORD",
    "NO_ACCEPTABLE_METHODS",
    "AddressType",
    "Authenticated",
    "BindConnected",
    "CommandRequested",
    "CredentialsReceived",
    "MethodSelected",
    "SOCKS4Reply",
    "SOCKS5Reply",
    "SOCKSAuthError",
    "SOCKSClient",
    "SOCKSClientState",
    "SOCKSCommand",
    "SOCKSError",
    "SOCKSEvent",
    "SOCKSLimitExceeded",
    "SOCKSProtocolError",
    "SOCKSServer",
    "SOCKSServerState",
    "SOCKSVersion",
    "Succeeded",
    "UDPDatagram",
    "classify_host",
    "decode_udp_datagram",
    "encode_udp_datagram",
    "reply_name",
]
