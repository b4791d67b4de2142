"""The WebSocket opening handshake (RFC 6455 §4): what both roles share.

The handshake is its own machine on top of the HTTP/1.1 machine
(:class:`sockit.proto.http1.Connection`), one per role:

* :class:`~sockit.proto.ws.handshake_client.ClientHandshake` sends the
  ``GET`` with ``Upgrade: websocket`` and checks the server's ``101``;
* :class:`~sockit.proto.ws.handshake_server.ServerHandshake` reads and checks
  the request, then answers ``101`` or a refusal as the application decides
  (the pure functions ``validate_request`` / ``accept_headers`` /
  ``reject_response`` serve an HTTP server that parsed the request itself).

Both follow the sans-I/O contract (``receive_data``, ``receive_eof``,
``send``, ``data_to_send``, ``state``, ``trailing_data``). Once the state is
OPEN the bytes that followed the handshake (frames sent early by the peer)
are :attr:`trailing_data`, for the framing machine
(:class:`sockit.proto.ws.Connection`). The size of the handshake's head is
bounded by the HTTP/1.1 machine's limits (``HTTP1Limits``); the
``WSLimits.handshake_timeout`` is the driver's to enforce, since no sans-I/O
machine reads a clock (``next_deadline`` is always ``None`` here).

This module holds the key and accept computation, the events, the state
table and the request a server sees (and re-exports :class:`HandshakeError`
from ``errors``).
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sockit.errors import LocalProtocolError
from sockit.proto.events import ConnectionTerminated, Event
from sockit.proto.http.headers import Headers
from sockit.proto.ws.errors import HandshakeError
from sockit.proto.ws.extensions import DeflateConfig, DeflateParams

if TYPE_CHECKING:
    from sockit.proto.http1 import Connection as HTTP1Connection

__all__ = [
    "HandshakeMachine",
    "WEBSOCKET_GUID",
    "WEBSOCKET_VERSION",
    "AcceptConnection",
    "HandshakeAccepted",
    "HandshakeClosed",
    "HandshakeError",
    "HandshakeRejected",
    "HandshakeRequest",
    "HandshakeState",
    "RejectConnection",
    "WebSocketRequest",
    "accept_key",
    "header_tokens",
    "is_valid_key",
]

#: The GUID RFC 6455 §1.3 appends to the key before hashing.
WEBSOCKET_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: The only protocol version spoken (RFC 6455 §4.1).
WEBSOCKET_VERSION = b"13"


def accept_key(key: bytes | str) -> str:
    """``Sec-WebSocket-Accept`` for ``key``: base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2)."""
    raw = key.encode("latin-1") if isinstance(key, str) else key
    digest = hashlib.sha1(raw + WEBSOCKET_GUID, usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def is_valid_key(key: bytes) -> bool:
    """Whether ``key`` is base64 (with padding) of exactly 16 bytes (RFC 6455 §4.1)."""
    if len(key) != 24:
        return False
    try:
        return len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


def header_tokens(values: list[bytes] | None) -> list[bytes]:
    """The comma-separated elements of field lines ``values``, stripped and lowercased."""
    if not values:
        return []
    return [t.strip(b" \t").lower() for value in values for t in value.split(b",")]


# -- state --------------------------------------------------------------------------


class HandshakeState(enum.Enum):
    """Where one handshake machine is; moves only through :data:`TRANSITIONS`."""

    #: Client: request sent, waiting for the answer. Server: waiting for the request.
    CONNECTING = "CONNECTING"
    #: Server: a valid request arrived; the application accepts or rejects it.
    REQUEST_RECEIVED = "REQUEST_RECEIVED"
    #: Client: the server refused; its body is being read (bounded).
    READING_REFUSAL = "READING_REFUSAL"
    #: ``101`` exchanged: the connection now speaks WebSocket (see trailing_data).
    OPEN = "OPEN"
    #: The handshake was refused (by us as server, or by the server).
    REJECTED = "REJECTED"
    #: The peer closed the connection before the handshake finished.
    CLOSED = "CLOSED"
    #: The peer broke the protocol; the error is raised again on every call.
    FAILED = "FAILED"

    __hash__ = object.__hash__  # identity hashing, in C (see http1.state)


class Trigger(enum.Enum):
    """What moves a handshake machine."""

    REQUEST = "request"  # server: a valid request arrived
    ACCEPT = "accept"  # server: we sent 101; client: a valid 101 arrived
    REJECT = "reject"  # server: we refused; client: the refusal is complete
    REFUSAL = "refusal"  # client: a final non-101 head arrived
    EOF = "eof"  # the peer closed
    ERROR = "error"  # the peer's bytes were refused

    __hash__ = object.__hash__


_S = HandshakeState
_T = Trigger

#: (state, trigger) -> next state. Anything missing is illegal (LocalProtocolError).
TRANSITIONS: dict[tuple[HandshakeState, Trigger], HandshakeState] = {
    (_S.CONNECTING, _T.REQUEST): _S.REQUEST_RECEIVED,
    (_S.CONNECTING, _T.ACCEPT): _S.OPEN,  # client
    (_S.CONNECTING, _T.REFUSAL): _S.READING_REFUSAL,  # client
    (_S.CONNECTING, _T.REJECT): _S.REJECTED,  # server refusing a bad request
    (_S.CONNECTING, _T.EOF): _S.CLOSED,
    (_S.CONNECTING, _T.ERROR): _S.FAILED,
    (_S.REQUEST_RECEIVED, _T.ACCEPT): _S.OPEN,
    (_S.REQUEST_RECEIVED, _T.REJECT): _S.REJECTED,
    (_S.REQUEST_RECEIVED, _T.EOF): _S.CLOSED,
    (_S.REQUEST_RECEIVED, _T.ERROR): _S.FAILED,
    (_S.READING_REFUSAL, _T.REJECT): _S.REJECTED,
    (_S.READING_REFUSAL, _T.ERROR): _S.FAILED,
}


def next_state(state: HandshakeState, trigger: Trigger) -> HandshakeState:
    """The state ``trigger`` leads to from ``state``; LocalProtocolError if none."""
    new = TRANSITIONS.get((state, trigger))
    if new is None:
        raise LocalProtocolError(f"cannot {trigger.value} in handshake state {state.name}")
    return new


# -- what the server sees --------------------------------------------------------------


class HandshakeMachine:
    """What both handshake machines share: the state, the contract's timer methods
    (no timers of their own: ``WSLimits.handshake_timeout`` is the driver's) and the
    bytes after the handshake once it is OPEN."""

    __slots__ = ()

    _state: HandshakeState
    _h1: HTTP1Connection

    @property
    def state(self) -> HandshakeState:
        """Where the handshake is."""
        return self._state

    @property
    def trailing_data(self) -> bytes:
        """Once OPEN: the bytes that followed the handshake (the peer's early frames)."""
        if self._state is HandshakeState.OPEN:
            return self._h1.trailing_data
        return b""

    def next_deadline(self) -> float | None:
        """No timers: ``WSLimits.handshake_timeout`` is the driver's. Always ``None``."""
        return None

    def handle_timeout(self, now: float) -> list[Event]:
        """Nothing is ever due (see :meth:`next_deadline`)."""
        return []


@dataclass(frozen=True, slots=True)
class WebSocketRequest:
    """A checked opening-handshake request (RFC 6455 §4.2.1).

    ``key`` is the Sec-WebSocket-Key text; ``subprotocols`` the offered
    subprotocols in the client's order; ``extensions`` the raw
    Sec-WebSocket-Extensions lines (syntax already checked); ``origin`` the
    Origin field (``None`` if absent: not a browser) for the application to
    judge; ``host`` the Host field; ``path`` the request-target as sent;
    ``headers`` every field of the request.
    """

    key: str
    subprotocols: tuple[str, ...]
    extensions: tuple[bytes, ...]
    origin: str | None
    host: str
    path: str
    headers: Headers = field(default_factory=Headers)


# -- events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HandshakeRequest(Event):
    """Server: a valid opening handshake request arrived; accept or reject it."""

    request: WebSocketRequest


@dataclass(frozen=True, slots=True)
class HandshakeAccepted(Event):
    """Client: the server answered a valid ``101``.

    ``subprotocol`` is the one it chose (``None``: none); ``deflate`` the
    permessage-deflate parameters in force (``None``: no compression);
    ``headers`` the ``101``'s fields.
    """

    subprotocol: str | None
    deflate: DeflateParams | None
    headers: Headers = field(default_factory=Headers)


@dataclass(frozen=True, slots=True)
class HandshakeRejected(Event):
    """Client: the server refused with ``status_code``; ``body`` is its (bounded) body."""

    status_code: int
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class HandshakeClosed(ConnectionTerminated):
    """The peer closed the connection before the handshake finished."""


@dataclass(frozen=True, slots=True)
class AcceptConnection(Event):
    """Server, to send: answer ``101`` with ``subprotocol`` and permessage-deflate per ``deflate``.

    ``extra_headers`` are added to the ``101`` (they may not redefine the
    handshake's own fields).
    """

    subprotocol: str | None = None
    deflate: DeflateConfig | None = None
    extra_headers: Headers | None = None


@dataclass(frozen=True, slots=True)
class RejectConnection(Event):
    """Server, to send: refuse with ``status_code``, ``headers`` and ``body``.

    The response is complete (Content-Length) and closes the connection.
    An empty ``body`` gets a short text/plain one.
    """

    status_code: int = 403
    headers: Headers | None = None
    body: bytes = b""
