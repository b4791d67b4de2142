"""sockit.net: real I/O — sockets, the reactor, timers and rate limiting.

Everything here touches the operating system; the protocol machines it feeds
live in :mod:`sockit.proto`. See ``docs/net.md``.
"""

from sockit.net.bandwidth import BandwidthLimiter
from sockit.net.ratelimit import TokenBucket
from sockit.net.reactor import (
    READ,
    WRITE,
    EventMask,
    Interest,
    IOEvent,
    Reactor,
    Registration,
    SignalEvent,
    TimerEvent,
    available_backends,
    default_backend_name,
)
from sockit.net.sockopts import (
    DEFAULT,
    SocketStats,
    get_default_timeout,
    live_sockets,
    set_default_timeout,
)
from sockit.net.tcp import SendResult, Socket, connect_tcp, listen_tcp, splice
from sockit.net.tcpinfo import TCPInfo, TCPState
from sockit.net.timers import Timer, TimerQueue, TimerState
from sockit.net.udp import (
    MAX_PAYLOAD,
    SAFE_PAYLOAD,
    Datagram,
    DatagramSocket,
    bind_udp,
    connect_udp,
)
from sockit.net.unix import (
    PeerCredentials,
    UnixSocket,
    connect_unix,
    listen_unix,
    socketpair,
    unix_address,
)

__all__ = [
    "DEFAULT",
    "MAX_PAYLOAD",
    "READ",
    "SAFE_PAYLOAD",
    "WRITE",
    "BandwidthLimiter",
    "Datagram",
    "DatagramSocket",
    "EventMask",
    "IOEvent",
    "Interest",
    "PeerCredentials",
    "Reactor",
    "Registration",
    "SendResult",
    "SignalEvent",
    "Socket",
    "SocketStats",
    "TCPInfo",
    "TCPState",
    "Timer",
    "TimerEvent",
    "TimerQueue",
    "TimerState",
    "TokenBucket",
    "UnixSocket",
    "available_backends",
    "bind_udp",
    "connect_tcp",
    "connect_udp",
    "connect_unix",
    "default_backend_name",
    "get_default_timeout",
    "listen_tcp",
    "listen_unix",
    "live_sockets",
    "set_default_timeout",
    "socketpair",
    "splice",
    "unix_address",
]
