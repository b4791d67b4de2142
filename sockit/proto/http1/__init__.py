"""HTTP/1.1 (RFC 9112) as a sans-I/O state machine for clients and servers.

::

    from sockit.proto.events import Role
    from sockit.proto.http1 import Connection, Response, Data, EndOfMessage

    conn = Connection(Role.SERVER)
    events = conn.receive_data(b"GET / HTTP/1.1\\r\\nHost: example.com\\r\\n\\r\\n")
    conn.send(Response(200, headers=[("content-length", "2")]))

See :mod:`sockit.proto.http1.connection` for the behaviour, ``parser`` for
head parsing and its limits, ``body`` for framing and the smuggling rules,
``coding`` for content-coding helpers.
"""

from sockit.proto.http1.connection import Connection, HTTP1Config
from sockit.proto.http1.events import (
    ConnectionClosed,
    Data,
    EndOfMessage,
    InformationalResponse,
    Request,
    Response,
)
from sockit.proto.http1.parser import LenientRules
from sockit.proto.http1.state import ConnectionState

__all__ = [
    "Connection",
    "ConnectionClosed",
    "ConnectionState",
    "Data",
    "EndOfMessage",
    "HTTP1Config",
    "InformationalResponse",
    "LenientRules",
    "Request",
    "Response",
]
