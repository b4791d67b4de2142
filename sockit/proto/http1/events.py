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
from typing import TYPE_CHECKING

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

    if not TYPE_CHECKING:  # hidden from type checkers: it would make any name valid

        def __getattr__(self, name: str) -> object:
            # Only called when normal lookup fails: the parser's events
            # (make_end) get their empty trailers on first use.
            if name == "trailers":
                trailers = Headers()
                _set_trailers(self, trailers)
                return trailers
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


@dataclass(frozen=True, slots=True)
class ConnectionClosed(ConnectionTerminated):
    """The peer closed the connection cleanly (between messages)."""


# -- constructors for the parser ----------------------------------------------------
#
# The dataclass ``__init__`` of a frozen class stores each field through
# ``object.__setattr__``; the parser, which makes events by the million from
# values it already validated, writes the slots through their descriptors
# instead (about half the cost). The events are the same frozen objects.

_new = object.__new__
_set_method = Request.__dict__["method"].__set__
_set_target = Request.__dict__["target"].__set__
_set_request_headers = Request.__dict__["headers"].__set__
_set_request_version = Request.__dict__["http_version"].__set__
_set_status = Response.__dict__["status_code"].__set__
_set_response_headers = Response.__dict__["headers"].__set__
_set_reason = Response.__dict__["reason"].__set__
_set_response_version = Response.__dict__["http_version"].__set__
_set_info_status = InformationalResponse.__dict__["status_code"].__set__
_set_info_headers = InformationalResponse.__dict__["headers"].__set__
_set_info_reason = InformationalResponse.__dict__["reason"].__set__
_set_info_version = InformationalResponse.__dict__["http_version"].__set__
_set_data = DataReceived.__dict__["data"].__set__
_set_trailers = EndOfMessage.__dict__["trailers"].__set__


def make_request(method: bytes, target: bytes, headers: Headers, version: bytes) -> Request:
    """``Request(method, target, headers, version)``, for values already checked."""
    event: Request = _new(Request)
    _set_method(event, method)
    _set_target(event, target)
    _set_request_headers(event, headers)
    _set_request_version(event, version)
    return event


def make_response(status: int, headers: Headers, reason: bytes, version: bytes) -> Response:
    """``Response(status, headers, reason, version)``, for values already checked."""
    event: Response = _new(Response)
    _set_status(event, status)
    _set_response_headers(event, headers)
    _set_reason(event, reason)
    _set_response_version(event, version)
    return event


def make_informational(
    status: int, headers: Headers, reason: bytes, version: bytes
) -> InformationalResponse:
    """``InformationalResponse(status, headers, reason, version)``, for values already checked."""
    event: InformationalResponse = _new(InformationalResponse)
    _set_info_status(event, status)
    _set_info_headers(event, headers)
    _set_info_reason(event, reason)
    _set_info_version(event, version)
    return event


def make_data(data: bytes) -> Data:
    """``Data(data)``, for bytes already taken from the input."""
    event: Data = _new(Data)
    _set_data(event, data)
    return event


def make_end(trailers: Headers | None = None) -> EndOfMessage:
    """``EndOfMessage(trailers)``; empty trailers are made on first use."""
    event: EndOfMessage = _new(EndOfMessage)
    if trailers is not None:
        _set_trailers(event, trailers)
    return event
