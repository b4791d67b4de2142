"""The one exception hierarchy shared by every layer of sockit.

Callers only ever see these exceptions: bad input from the network becomes a
:class:`RemoteProtocolError` (or a subclass), misuse of an API becomes a
:class:`LocalProtocolError`, and operating-system failures become
:class:`NetworkError` subclasses that are still :class:`OSError` with ``errno``
intact, so code written against the standard library keeps working.

::

    SockitError
    ├── ProtocolError            .error_code, .http_status
    │   ├── LocalProtocolError
    │   └── RemoteProtocolError
    │       └── LimitExceeded    .limit, .value
    ├── TLSError
    ├── ProxyError               .reply_code
    ├── NetworkError(OSError)
    │   ├── ConnectError
    │   ├── ConnectionClosed
    │   ├── AddressError
    │   └── MessageTooLarge
    └── Timeout(TimeoutError)    .phase
"""

from __future__ import annotations

import enum

__all__ = [
    "AddressError",
    "ConnectError",
    "ConnectionClosed",
    "LimitExceeded",
    "LocalProtocolError",
    "MessageTooLarge",
    "NetworkError",
    "Phase",
    "ProtocolError",
    "ProxyError",
    "RemoteProtocolError",
    "SockitError",
    "TLSError",
    "Timeout",
]


class SockitError(Exception):
    """Base class of every exception sockit raises on purpose."""


class ProtocolError(SockitError):
    """A protocol rule was broken, by us or by the peer.

    ``error_code`` carries the protocol's own code where it has one (an HTTP/2
    error code, a WebSocket close code, a SOCKS reply code); ``http_status`` is
    the status a server should answer with before closing (400, 413, 431, ...).
    """

    def __init__(
        self,
        message: str,
        *,
        error_code: int | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.http_status = http_status

    def __reduce__(self) -> tuple[object, ...]:
        # keyword-only arguments are not restored by the default reduce
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[ProtocolError], message: str, state: dict[str, object]) -> ProtocolError:
    obj = cls.__new__(cls)
    Exception.__init__(obj, message)
    obj.__dict__.update(state)
    return obj


class LocalProtocolError(ProtocolError):
    """Our side used the API in a way the protocol does not allow right now."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that must be refused."""

    def __init__(
        self,
        message: str,
        *,
        error_code: int | None = None,
        http_status: int | None = 400,
    ) -> None:
        super().__init__(message, error_code=error_code, http_status=http_status)


class LimitExceeded(RemoteProtocolError):
    """A configured bound was hit.

    ``limit`` names the field of the limits dataclass (``"max_header_count"``),
    ``value`` is the configured bound that was exceeded.
    """

    def __init__(
        self,
        message: str,
        *,
        limit: str,
        value: int | float,
        error_code: int | None = None,
        http_status: int | None = 400,
    ) -> None:
        super().__init__(message, error_code=error_code, http_status=http_status)
        self.limit = limit
        self.value = value


class TLSError(SockitError):
    """A TLS or DTLS handshake, verification or pinning failure."""


class ProxyError(SockitError):
    """A SOCKS or HTTP CONNECT proxy refused or broke the tunnel.

    ``reply_code`` is the SOCKS reply code or the CONNECT response status.
    """

    def __init__(self, message: str, *, reply_code: int | None = None) -> None:
        super().__init__(message)
        self.reply_code = reply_code


class NetworkError(SockitError, OSError):
    """An operating-system level failure; still an ``OSError`` with ``errno``.

    Construct it like ``OSError``: ``NetworkError(errno, strerror)`` keeps the
    errno, ``NetworkError("message")`` has ``errno`` ``None``.
    """

    def __str__(self) -> str:
        return OSError.__str__(self)


class ConnectError(NetworkError):
    """Establishing a connection failed (refused, unreachable, DNS failure)."""


class ConnectionClosed(NetworkError):
    """The connection was closed while an operation still needed it."""


class AddressError(NetworkError):
    """An address, port or socket path is invalid."""


class MessageTooLarge(NetworkError):
    """A datagram or message exceeds what the transport can carry (EMSGSIZE)."""


class Phase(str, enum.Enum):
    """The phase of an operation a :class:`Timeout` happened in."""

    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    PROXY = "proxy"
    WRITE = "write"
    READ = "read"
    HEADERS = "headers"
    BODY = "body"
    IDLE = "idle"
    POOL = "pool"
    HANDSHAKE = "handshake"
    SHUTDOWN = "shutdown"
    TOTAL = "total"


class Timeout(SockitError, TimeoutError):
    """An operation did not finish in time; ``phase`` says which part."""

    def __init__(self, message: str, *, phase: Phase | str) -> None:
        super().__init__(message)
        self.phase = Phase(phase)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_timeout, (type(self), str(self), self.phase.value))


def _rebuild_timeout(cls: type[Timeout], message: str, phase: str) -> Timeout:
    return cls(message, phase=phase)
