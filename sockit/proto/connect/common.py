"""What both CONNECT roles share: events, states, the 407 error, targets, Basic auth."""

from __future__ import annotations

import base64
import binascii
import enum
from dataclasses import dataclass, field

from sockit.errors import LocalProtocolError, ProxyError
from sockit.limits import HTTP1Limits
from sockit.proto.contract import Buffer
from sockit.proto.events import Event
from sockit.proto.http.headers import Headers
from sockit.proto.http1 import Connection, HTTP1Config
from sockit.proto.socks.codec import AddressType, classify_host

__all__ = [
    "DEFAULT_MAX_REFUSAL_BODY",
    "EXCERPT_SIZE",
    "RESERVED_FIELDS",
    "ConnectState",
    "ProxyAuthenticationRequired",
    "TunnelEstablished",
    "TunnelRequested",
    "basic_authorization",
    "basic_credentials",
    "config_for",
    "format_authority",
    "parse_authority",
]

#: How much of a refusal's body the client reads for the error message.
DEFAULT_MAX_REFUSAL_BODY = 1024
#: How much of that body the error message quotes (characters).
EXCERPT_SIZE = 200
#: Fields the CONNECT machines set themselves.
RESERVED_FIELDS = frozenset({b"host", b"content-length", b"transfer-encoding"})


class ProxyAuthenticationRequired(ProxyError):
    """The proxy answered 407: ``authenticate`` lists its Proxy-Authenticate challenges."""

    def __init__(self, message: str, *, authenticate: list[str]) -> None:
        super().__init__(message, reply_code=407)
        self.authenticate = authenticate

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_407, (str(self), self.authenticate))


def _rebuild_407(message: str, authenticate: list[str]) -> ProxyAuthenticationRequired:
    return ProxyAuthenticationRequired(message, authenticate=authenticate)


class ConnectState(enum.Enum):
    """Where a CONNECT machine is (both roles use the subset that applies)."""

    #: Client: CONNECT sent, waiting for the answer. Server: waiting for a CONNECT.
    AWAIT_RESPONSE = "AWAIT_RESPONSE"
    #: Server: TunnelRequested was returned; the application decides.
    REQUEST_RECEIVED = "REQUEST_RECEIVED"
    #: Client: a refusal arrived; reading its body (bounded) for the message.
    READING_REFUSAL = "READING_REFUSAL"
    #: 2xx exchanged: the connection is a tunnel (see ``trailing_data``).
    TUNNEL = "TUNNEL"
    #: Server: we refused; close after sending. Or the peer closed first.
    CLOSED = "CLOSED"
    #: Refused by the proxy, or the peer broke HTTP; the error is raised again.
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class TunnelEstablished(Event):
    """Client: the proxy answered 2xx; the connection is now a tunnel to the target."""

    status: int
    headers: Headers = field(default_factory=Headers)


@dataclass(frozen=True, slots=True)
class TunnelRequested(Event):
    """Server: a client asks for a tunnel to ``host:port``.

    ``credentials`` is the ``(user, password)`` of a Basic Proxy-Authorization,
    ``None`` if there is none or it is not valid Basic.
    """

    host: str
    port: int
    headers: Headers = field(default_factory=Headers)
    credentials: tuple[str, str] | None = None


def format_authority(host: str, port: int) -> str:
    """``host:port`` for a CONNECT target and Host field (IPv6 in brackets)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise LocalProtocolError(f"port must be an int from 1 to 65535, not {port!r}")
    kind, _raw = classify_host(host)
    bare = host[1:-1] if host.startswith("[") else host
    if kind is AddressType.IPV6:
        return f"[{bare}]:{port}"
    if kind is AddressType.DOMAIN and not host.isascii():
        return f"{_raw.decode('ascii')}:{port}"
    return f"{bare}:{port}"


def parse_authority(target: bytes) -> tuple[str, int] | None:
    """``(host, port)`` of an authority-form request-target, ``None`` if it is not one."""
    head, sep, digits = target.rpartition(b":")
    if not sep or not head or not digits.isdigit() or len(digits) > 5:
        return None
    port = int(digits)
    if not 1 <= port <= 65535:
        return None
    if head.startswith(b"[") and head.endswith(b"]"):
        head = head[1:-1]
    elif b":" in head:
        return None
    try:
        host = head.decode("ascii")
        kind, _raw = classify_host(host)
    except (UnicodeDecodeError, LocalProtocolError):
        return None
    if (kind is AddressType.IPV6) != target.startswith(b"["):
        return None
    return host, port


def basic_credentials(value: bytes) -> tuple[str, str] | None:
    """``(user, password)`` from a Basic credentials field value, ``None`` if not Basic."""
    scheme, _, token = value.strip(b" \t").partition(b" ")
    if scheme.lower() != b"basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(b" \t"), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    if not sep:
        return None
    return user.decode("utf-8", "surrogateescape"), password.decode("utf-8", "surrogateescape")


def basic_authorization(user: str, password: str) -> str:
    """The Proxy-Authorization value for Basic credentials (RFC 7617, UTF-8)."""
    if not isinstance(user, str) or not isinstance(password, str) or ":" in user:
        raise LocalProtocolError("proxy_auth is (user, password) strings; the user has no ':'")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def config_for(limits: HTTP1Limits | None) -> HTTP1Config | None:
    """The HTTP/1.1 machine's configuration for ``limits`` (``None``: its defaults)."""
    return None if limits is None else HTTP1Config(limits=limits)


class _ConnectMachine:
    """What both CONNECT roles share: the HTTP/1.1 machine below, the state, the
    contract members that have nothing to do (no timers, no events to send), and
    the feeding entry points; each role implements ``_receive``.
    """

    __slots__ = ()

    _h1: Connection
    _state: ConnectState
    _role_name = "CONNECT machine"

    @property
    def state(self) -> ConnectState:
        """Where the exchange is."""
        return self._state

    @property
    def trailing_data(self) -> bytes:
        """In TUNNEL: bytes that came after the CONNECT exchange (the tunnel's first bytes)."""
        return self._h1.trailing_data if self._state is ConnectState.TUNNEL else b""

    def data_to_send(self) -> bytes:
        """Take the bytes queued for the wire (``b""`` if none)."""
        return self._h1.data_to_send()

    def send(self, event: Event) -> None:
        """Nothing is sent as events (the role's own methods queue its messages)."""
        raise LocalProtocolError(f"cannot send {type(event).__name__} on a {self._role_name}")

    def next_deadline(self) -> float | None:
        """No timers (the driver owns the handshake timeout). Always ``None``."""
        return None

    def handle_timeout(self, now: float) -> list[Event]:
        """Nothing is ever due."""
        return []

    def receive_data(self, data: Buffer) -> list[Event]:
        """Feed bytes from the peer."""
        return self._receive(data, eof=False)

    def receive_eof(self) -> list[Event]:
        """The peer closed its side."""
        return self._receive(b"", eof=True)

    def _receive(self, data: Buffer, *, eof: bool) -> list[Event]:
        raise NotImplementedError  # pragma: no cover - each role implements it
