"""Events of the HTTP/2 machine (:class:`sockit.proto.http2.connection.Connection`).

The same classes serve both directions where both make sense: the connection
returns a :class:`Request` it decoded, and a client hands a :class:`Request`
to :meth:`~sockit.proto.http2.connection.Connection.send`. Every stream event
carries its ``stream_id``.

Pseudo-header fields (``:method``, ``:status`` ...) are fields of the events;
``headers`` holds the regular fields only, as :class:`~sockit.proto.http.Headers`
with the lowercase names HTTP/2 puts on the wire. Values are ``bytes``.

Events meaning the same thing in every protocol share the bases of
:mod:`sockit.proto.events`: :class:`Data` is a ``DataReceived``,
:class:`StreamEnded` an ``EndOfStream``, :class:`GoAwayReceived`,
:class:`ConnectionFailed` and :class:`ConnectionClosed` are
``ConnectionTerminated``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sockit.proto.events import ConnectionTerminated, DataReceived, EndOfStream, Event
from sockit.proto.http.headers import Headers

__all__ = [
    "ConnectionClosed",
    "ConnectionFailed",
    "Data",
    "GoAwayReceived",
    "InformationalResponse",
    "PingAcknowledged",
    "PingReceived",
    "PushPromise",
    "Request",
    "ResetStream",
    "Response",
    "SettingsAcknowledged",
    "SettingsReceived",
    "StreamEnded",
    "StreamReset",
    "Trailers",
    "WindowUpdated",
]

_set = object.__setattr__


@dataclass(frozen=True, slots=True)
class Request(Event):
    """A request head on ``stream_id`` (client: send it; server: receive it).

    ``protocol`` is RFC 8441's ``:protocol`` (extended CONNECT), ``priority``
    the RFC 9218 ``priority`` field's value when present (the field also
    stays in ``headers``). ``end_stream`` means the request has no content.
    """

    stream_id: int
    method: bytes
    path: bytes
    scheme: bytes = b"https"
    authority: bytes = b""
    headers: Headers = field(default_factory=Headers)
    end_stream: bool = False
    protocol: bytes | None = None
    priority: bytes | None = None


@dataclass(frozen=True, slots=True)
class InformationalResponse(Event):
    """A 1xx response head (``100 Continue``, ``103 Early Hints`` ...)."""

    stream_id: int
    status_code: int
    headers: Headers = field(default_factory=Headers)


@dataclass(frozen=True, slots=True)
class Response(Event):
    """A final (2xx-5xx) response head; ``end_stream``: no content follows."""

    stream_id: int
    status_code: int
    headers: Headers = field(default_factory=Headers)
    end_stream: bool = False


@dataclass(frozen=True, slots=True, init=False)
class Data(DataReceived):
    """Content of a stream.

    Received: one DATA frame's data (never empty); ``flow_controlled_length``
    is what the frame cost in flow control, padding included. In manual flow
    control acknowledge ``len(data)``; the connection returns the padding
    itself. Sent: any length; the connection splits it by the peer's frame
    size and buffers what the flow-control windows do not yet allow
    (``flow_controlled_length`` is ignored).
    """

    stream_id: int
    end_stream: bool
    flow_controlled_length: int

    def __init__(
        self,
        stream_id: int,
        data: bytes,
        end_stream: bool = False,
        flow_controlled_length: int = -1,
    ) -> None:
        _set(self, "stream_id", stream_id)
        _set(self, "data", data)
        _set(self, "end_stream", end_stream)
        _set(self, "flow_controlled_length", flow_controlled_length)


@dataclass(frozen=True, slots=True)
class Trailers(Event):
    """Trailer fields; they end the stream (no pseudo-header fields allowed)."""

    stream_id: int
    headers: Headers = field(default_factory=Headers)


@dataclass(frozen=True, slots=True)
class StreamEnded(EndOfStream):
    """The peer ended its side of ``stream_id`` (after the event carrying END_STREAM)."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class StreamReset(Event):
    """``stream_id`` is over before its end.

    ``remote=True``: the peer reset it (RST_STREAM), or refused it in a
    GOAWAY (``REFUSED_STREAM``: safe to retry). ``remote=False``: we reset it
    because the peer broke a stream rule (``error_code`` is what we sent) or
    a defence cut it off.
    """

    stream_id: int
    error_code: int
    remote: bool = True


@dataclass(frozen=True, slots=True)
class ResetStream(Event):
    """Send only: reset ``stream_id`` with RST_STREAM (default ``CANCEL``)."""

    stream_id: int
    error_code: int = 0x8


@dataclass(frozen=True, slots=True)
class PushPromise(Event):
    """The server promises ``promised_stream_id`` for ``request`` on ``stream_id``.

    ``request.stream_id`` is the promised stream. A client receives it (when
    its config enables push); a server sends it.
    """

    stream_id: int
    promised_stream_id: int
    request: Request


@dataclass(frozen=True, slots=True)
class WindowUpdated(Event):
    """The peer grew a send window (``stream_id`` 0: the connection's)."""

    stream_id: int
    increment: int


@dataclass(frozen=True, slots=True)
class SettingsReceived(Event):
    """The peer's SETTINGS took effect; ``changed`` maps each code it sent to its value."""

    changed: dict[int, int]


@dataclass(frozen=True, slots=True)
class SettingsAcknowledged(Event):
    """The peer acknowledged our oldest unacknowledged SETTINGS; ``changed`` is what it held."""

    changed: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PingReceived(Event):
    """The peer sent a PING; the connection has already queued its ACK."""

    opaque: bytes


@dataclass(frozen=True, slots=True)
class PingAcknowledged(Event):
    """The ACK of one of our PINGs; ``rtt`` in seconds when the send time was known."""

    opaque: bytes
    rtt: float | None = None


@dataclass(frozen=True, slots=True, init=False)
class GoAwayReceived(ConnectionTerminated):
    """The peer sent GOAWAY: streams above ``last_stream_id`` were not processed.

    Streams we opened above it are reported as :class:`StreamReset` with
    ``REFUSED_STREAM`` (safe to retry elsewhere); the others may finish.
    ``reason`` is ``debug_data`` decoded as Latin-1.
    """

    last_stream_id: int = 0
    debug_data: bytes = b""

    def __init__(self, last_stream_id: int, error_code: int, debug_data: bytes = b"") -> None:
        _set(self, "last_stream_id", last_stream_id)
        _set(self, "error_code", error_code)
        _set(self, "debug_data", debug_data)
        _set(self, "reason", debug_data.decode("latin-1"))


@dataclass(frozen=True, slots=True)
class ConnectionFailed(ConnectionTerminated):
    """We ended the connection with GOAWAY ``error_code`` (a connection error,
    a flood defence, a SETTINGS timeout); ``reason`` says why."""


@dataclass(frozen=True, slots=True)
class ConnectionClosed(ConnectionTerminated):
    """The peer closed the transport (:meth:`receive_eof`)."""


# -- constructors for the receive path ---------------------------------------------
#
# A frozen dataclass stores each field through ``object.__setattr__``; the
# connection, which makes these events per frame, writes the slots through
# their descriptors instead. The events are the same frozen objects.

_new = object.__new__
_data_set_data = DataReceived.__dict__["data"].__set__
_data_set_sid = Data.__dict__["stream_id"].__set__
_data_set_end = Data.__dict__["end_stream"].__set__
_data_set_fcl = Data.__dict__["flow_controlled_length"].__set__
_ended_set_sid = StreamEnded.__dict__["stream_id"].__set__


def make_data(stream_id: int, data: bytes, end_stream: bool, flow_controlled_length: int) -> Data:
    """``Data(...)`` for values the receive path already checked."""
    event: Data = _new(Data)
    _data_set_sid(event, stream_id)
    _data_set_data(event, data)
    _data_set_end(event, end_stream)
    _data_set_fcl(event, flow_controlled_length)
    return event


def make_stream_ended(stream_id: int) -> StreamEnded:
    """``StreamEnded(stream_id)`` without the frozen-dataclass setattr cost."""
    event: StreamEnded = _new(StreamEnded)
    _ended_set_sid(event, stream_id)
    return event


_req_setters = tuple(
    Request.__dict__[name].__set__
    for name in (
        "stream_id",
        "method",
        "path",
        "scheme",
        "authority",
        "headers",
        "end_stream",
        "protocol",
        "priority",
    )
)
_resp_set_sid = Response.__dict__["stream_id"].__set__
_resp_set_status = Response.__dict__["status_code"].__set__
_resp_set_headers = Response.__dict__["headers"].__set__
_resp_set_end = Response.__dict__["end_stream"].__set__


def make_request(  # noqa: PLR0917 - positional on purpose: a hot path
    stream_id: int,
    method: bytes,
    path: bytes,
    scheme: bytes,
    authority: bytes,
    headers: Headers,
    end_stream: bool,
    protocol: bytes | None,
    priority: bytes | None,
) -> Request:
    """``Request(...)`` for fields the receive path already validated."""
    event: Request = _new(Request)
    s_sid, s_method, s_path, s_scheme, s_authority, s_headers, s_end, s_proto, s_prio = _req_setters
    s_sid(event, stream_id)
    s_method(event, method)
    s_path(event, path)
    s_scheme(event, scheme)
    s_authority(event, authority)
    s_headers(event, headers)
    s_end(event, end_stream)
    s_proto(event, protocol)
    s_prio(event, priority)
    return event


def make_response(stream_id: int, status_code: int, headers: Headers, end_stream: bool) -> Response:
    """``Response(...)`` for fields the receive path already validated."""
    event: Response = _new(Response)
    _resp_set_sid(event, stream_id)
    _resp_set_status(event, status_code)
    _resp_set_headers(event, headers)
    _resp_set_end(event, end_stream)
    return event
