"""SOCKS reply codes and the errors that carry them.

A proxy's refusal and a proxy's garbage are different failures, and callers
want to catch them differently, yet both must be a :class:`~sockit.errors.ProxyError`
(the one thing a driver catches around a proxy handshake). So:

* :class:`SOCKSError` (a ``ProxyError``) is a refusal: ``reply_code`` is the
  code on the wire (a :class:`SOCKS5Reply`, a :class:`SOCKS4Reply`, ``0xFF``
  for "no acceptable method", or an RFC 1929 status) and ``version`` the
  protocol that carried it. The message names the reply.
* :class:`SOCKSAuthError` is the authentication flavour: no acceptable method,
  or credentials refused.
* :class:`SOCKSProtocolError` is malformed input: it is a ``SOCKSError`` *and*
  a :class:`~sockit.errors.RemoteProtocolError`, so ``except ProxyError`` and
  ``except RemoteProtocolError`` both catch it. On the server side its
  ``reply_code`` is the refusal that was queued for the client (07 command not
  supported, 08 address type not supported, 01 general failure, 91 ...), or
  ``None`` when the protocol has no way to say it (an unknown version byte).
* :class:`SOCKSLimitExceeded` is a :class:`~sockit.limits.ProxyLimits` bound
  hit by the peer; also a :class:`~sockit.errors.LimitExceeded`.

The classes set their attributes themselves instead of chaining the base
constructors, whose keyword arguments differ along the diamond.
"""

from __future__ import annotations

import enum

from sockit.errors import LimitExceeded, ProxyError, RemoteProtocolError

__all__ = [
    "NO_ACCEPTABLE_METHODS",
    "SOCKS4Reply",
    "SOCKS5Reply",
    "SOCKSAuthError",
    "SOCKSError",
    "SOCKSLimitExceeded",
    "SOCKSProtocolError",
    "SOCKSVersion",
    "reply_name",
]

#: The SOCKS5 method-selection answer that refuses every offered method.
NO_ACCEPTABLE_METHODS = 0xFF


class SOCKSVersion(enum.Enum):
    """The SOCKS dialect spoken; SOCKS4A is SOCKS4 with names resolved by the proxy."""

    SOCKS4 = "socks4"
    SOCKS4A = "socks4a"
    SOCKS5 = "socks5"


class SOCKS5Reply(enum.IntEnum):
    """The REP field of a SOCKS5 reply (RFC 1928 §6)."""

    SUCCEEDED = 0x00
    GENERAL_FAILURE = 0x01
    NOT_ALLOWED = 0x02
    NETWORK_UNREACHABLE = 0x03
    HOST_UNREACHABLE = 0x04
    CONNECTION_REFUSED = 0x05
    TTL_EXPIRED = 0x06
    COMMAND_NOT_SUPPORTED = 0x07
    ADDRESS_TYPE_NOT_SUPPORTED = 0x08


class SOCKS4Reply(enum.IntEnum):
    """The CD field of a SOCKS4 reply."""

    GRANTED = 90
    REJECTED = 91
    NO_IDENTD = 92
    IDENTD_MISMATCH = 93


_TEXT5 = {
    SOCKS5Reply.SUCCEEDED: "succeeded",
    SOCKS5Reply.GENERAL_FAILURE: "general SOCKS server failure",
    SOCKS5Reply.NOT_ALLOWED: "connection not allowed by ruleset",
    SOCKS5Reply.NETWORK_UNREACHABLE: "network unreachable",
    SOCKS5Reply.HOST_UNREACHABLE: "host unreachable",
    SOCKS5Reply.CONNECTION_REFUSED: "connection refused",
    SOCKS5Reply.TTL_EXPIRED: "TTL expired",
    SOCKS5Reply.COMMAND_NOT_SUPPORTED: "command not supported",
    SOCKS5Reply.ADDRESS_TYPE_NOT_SUPPORTED: "address type not supported",
}
_TEXT4 = {
    SOCKS4Reply.GRANTED: "request granted",
    SOCKS4Reply.REJECTED: "request rejected or failed",
    SOCKS4Reply.NO_IDENTD: "rejected: the proxy cannot reach identd on the client",
    SOCKS4Reply.IDENTD_MISMATCH: "rejected: identd reports a different user-id",
}


def reply_name(version: SOCKSVersion, code: int) -> str:
    """A readable name for ``code`` as ``version`` defines it (for messages and logs)."""
    if version is SOCKSVersion.SOCKS5:
        if code in _TEXT5:
            return f"{_TEXT5[SOCKS5Reply(code)]} (0x{code:02x})"
        return f"unassigned reply 0x{code:02x}"
    if code in _TEXT4:
        return f"{_TEXT4[SOCKS4Reply(code)]} ({code})"
    return f"unknown reply {code}"


class SOCKSError(ProxyError):
    """A SOCKS proxy (or client) refused: ``reply_code`` on the wire, ``version`` spoken."""

    def __init__(
        self,
        message: str,
        *,
        reply_code: int | None = None,
        version: SOCKSVersion | None = None,
    ) -> None:
        Exception.__init__(self, message)
        self.message = message
        self.reply_code = reply_code
        self.version = version
        # what ProtocolError subclasses expect to find; harmless on the others
        self.error_code = reply_code
        self.http_status: int | None = None

    def __reduce__(self) -> tuple[object, ...]:
        # keyword-only arguments are not restored by the default reduce
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[SOCKSError], message: str, state: dict[str, object]) -> SOCKSError:
    obj = cls.__new__(cls)
    Exception.__init__(obj, message)
    obj.__dict__.update(state)
    return obj


class SOCKSAuthError(SOCKSError):
    """Authentication failed: no acceptable method (0xFF) or an RFC 1929 refusal."""


class SOCKSProtocolError(SOCKSError, RemoteProtocolError):
    """The peer's bytes break SOCKS; also a RemoteProtocolError (see the module docstring)."""


class SOCKSLimitExceeded(SOCKSProtocolError, LimitExceeded):
    """A :class:`~sockit.limits.ProxyLimits` bound was hit; ``limit`` names the field."""

    def __init__(
        self,
        message: str,
        *,
        limit: str,
        value: int | float,
        reply_code: int | None = None,
        version: SOCKSVersion | None = None,
    ) -> None:
        SOCKSError.__init__(self, message, reply_code=reply_code, version=version)
        self.limit = limit
        self.value = value
