"""sockit: a pure-Python, typed networking toolkit.

Every protocol is a sans-I/O state machine in :mod:`sockit.proto`; real I/O,
the reactor and connection helpers live in :mod:`sockit.net`; blocking
clients and servers are built on top. All errors derive from
:class:`sockit.errors.SockitError`.
"""

from sockit._version import __version__
from sockit.errors import (
    ConnectError,
    ConnectionClosed,
    LimitExceeded,
    LocalProtocolError,
    NetworkError,
    ProtocolError,
    ProxyError,
    RemoteProtocolError,
    SockitError,
    Timeout,
    TLSError,
)

__all__ = [
    "ConnectError",
    "ConnectionClosed",
    "LimitExceeded",
    "LocalProtocolError",
    "NetworkError",
    "ProtocolError",
    "ProxyError",
    "RemoteProtocolError",
    "SockitError",
    "TLSError",
    "Timeout",
    "__version__",
]
