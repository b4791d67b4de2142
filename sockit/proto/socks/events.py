"""Events of the SOCKS machines (:class:`SOCKSClient` and :class:`SOCKSServer`).

Client role: :class:`MethodSelected` (SOCKS5), :class:`Authenticated` (after
RFC 1929), :class:`Succeeded` (the proxy's bound address), and for BIND
:class:`BindConnected` (the peer that connected to it). Server role:
:class:`CredentialsReceived` and :class:`CommandRequested`, each waiting for
the application's decision. Hosts are text: an IPv4 or IPv6 literal (without
brackets) or a name, exactly as the other side sent it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sockit.proto.events import Event
from sockit.proto.socks.errors import SOCKSVersion

__all__ = [
    "Authenticated",
    "BindConnected",
    "CommandRequested",
    "CredentialsReceived",
    "MethodSelected",
    "SOCKSCommand",
    "SOCKSEvent",
    "Succeeded",
]


class SOCKSCommand(enum.IntEnum):
    """What the client asks the proxy to do (the CMD byte; SOCKS4 has only the first two)."""

    CONNECT = 1
    BIND = 2
    UDP_ASSOCIATE = 3


@dataclass(frozen=True, slots=True)
class SOCKSEvent(Event):
    """Base of every SOCKS event, so a driver can tell them from the next layer's."""


@dataclass(frozen=True, slots=True)
class MethodSelected(SOCKSEvent):
    """SOCKS5: the proxy chose authentication ``method`` (0 none, 2 username/password)."""

    method: int


@dataclass(frozen=True, slots=True)
class Authenticated(SOCKSEvent):
    """SOCKS5: the proxy accepted our RFC 1929 username and password."""


@dataclass(frozen=True, slots=True)
class Succeeded(SOCKSEvent):
    """The proxy granted the command; the address it reports.

    CONNECT: the proxy's outgoing address (often ``0.0.0.0:0``), then tunnel.
    BIND: the address the proxy listens on for the peer (tell the peer).
    UDP_ASSOCIATE: the relay to send datagrams to.
    """

    bound_host: str
    bound_port: int


@dataclass(frozen=True, slots=True)
class BindConnected(SOCKSEvent):
    """BIND: the peer connected to the proxy; the connection is now a tunnel to it."""

    peer_host: str
    peer_port: int


@dataclass(frozen=True, slots=True)
class CredentialsReceived(SOCKSEvent):
    """Server: RFC 1929 credentials arrived; answer with ``accept_credentials(ok)``.

    The bytes are decoded as UTF-8 with ``surrogateescape``, so any bytes give
    a string and compare equal only to the same bytes.
    """

    username: str
    password: str


@dataclass(frozen=True, slots=True)
class CommandRequested(SOCKSEvent):
    """Server: the client's request; answer with ``reply_success`` or ``reply_failure``.

    ``version`` is SOCKS4A when a SOCKS4 client sent a name, ``user_id`` the
    SOCKS4 user-id (``""`` for SOCKS5). For UDP_ASSOCIATE, host and port are
    where the client says it will send from (often ``0.0.0.0:0``).
    """

    version: SOCKSVersion
    command: SOCKSCommand
    host: str
    port: int
    user_id: str = ""
