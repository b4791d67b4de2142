"""sockit: a pure-Python, typed networking toolkit.

Every protocol is a sans-I/O state machine in :mod:`sockit.proto`; real I/O,
the reactor and connection helpers live in :mod:`sockit.net`; blocking
clients and servers are built on top. All errors derive from
:class:`sockit.errors.SockitError`.
"""

import logging

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

# A library never configures logging for its users; it only silences the
# "no handler" warning. See docs/observe.md for the logging conventions.
logging.getLogger("sockit").addHandler(logging.NullHandler())

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
