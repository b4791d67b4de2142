"""Events of the HTTP/1.1 machine (:class:`sockit.proto.http1.Connection`).

Method, target, reason and version are ``bytes`` exactly as on the wire (the
parser never decodes them; ``URL.from_request_target`` does that when asked).
Headers are :class:`sockit.proto.http.Headers`, which stores bytes and offers
a text view.

Events are plain data: the parser builds them from bytes it has already
validated, and :meth:`Connection.send` validates the ones the application
hands in, so constructing an event never re-checks anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sockit.proto.events import ConnectionTerminated, DataReceived, EndOfStream, Event
from sockit.proto.http.headers import Headers

__all__ = [
    "ConnectionClosed",
    "Data",
    "EndOfMessage",
    "InformationalResponse",
    "Request",
    "Response",
]


@dataclass(frozen=True, slots=True)
class Request(Event):
    """A request head: ``GET /path HTTP/1.1`` plus its header fields."""

    method: bytes
    target: bytes
    headers: Headers = field(default_factory=Headers)
    http_version: bytes = b"1.1"


@dataclass(frozen=True, slots=True)
class InformationalResponse(Event):
    """A 1xx response head (100 Continue, 101 Switching Protocols, 103 ...)."""

    status_code: int
    headers: Headers = field(default_factory=Headers)
    reason: bytes = b""
    http_version: bytes = b"1.1"


@dataclass(frozen=True, slots=True)
class Response(Event):
    """A final (2xx-5xx) response head."""

    status_code: int
    headers: Headers = field(default_factory=Headers)
    reason: bytes = b""
    http_version: bytes = b"1.1"


@dataclass(frozen=True, slots=True)
class Data(DataReceived):
    """A piece of a message body (never empty when produced by the parser)."""


@dataclass(frozen=True, slots=True)
class EndOfMessage(EndOfStream):
    """The body is complete; ``trailers`` holds a chunked body's trailer fields."""

    trailers: Headers = field(default_factory=Headers)


@dataclass(frozen=True, slots=True)
class ConnectionClosed(ConnectionTerminated):
    """The peer closed the connection cleanly (between messages)."""
