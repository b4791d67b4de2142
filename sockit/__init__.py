"""sockit: a pure-Python, typed networking toolkit.

Every protocol is a sans-I/O state machine in :mod:`sockit.proto`; real I/O,
the reactor and connection helpers live in :mod:`sockit.net`; blocking
clients and servers are built on top. All errors derive from
:class:`sockit.errors.SockitError`.
"""

import importlib
import logging
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from sockit.client import (
        HTTPClient,
        delete,
        get,
        head,
        options,
        patch,
        post,
        put,
        request,
        websocket_connect,
    )

_CLIENT_NAMES = frozenset({
    "HTTPClient", "delete", "get", "head", "options", "patch", "post", "put", "request",
    "websocket_connect",
})


def __getattr__(name: str) -> object:
    # The client pulls in the I/O layers (sockets, threads); importing a light
    # part such as ``sockit.errors`` or ``sockit.observe`` runs this file and
    # must not, so the client names load on first use.
    if name in _CLIENT_NAMES:
        value: object = getattr(importlib.import_module("sockit.client"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sockit' has no attribute {name!r}")


# A library never configures logging for its users; it only silences the
# "no handler" warning. See docs/observe.md for the logging conventions.
logging.getLogger("sockit").addHandler(logging.NullHandler())

__all__ = [
    "ConnectError",
    "ConnectionClosed",
    "HTTPClient",
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
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "request",
    "websocket_connect",
]
