"""sockit.net: real I/O — sockets, the reactor, timers and rate limiting.

Everything here touches the operating system; the protocol machines it feeds
live in :mod:`sockit.proto`. See ``docs/net.md``.
"""

from sockit.net.backoff import Backoff, CircuitBreaker, CircuitOpen, CircuitState
from sockit.net.bandwidth import BandwidthLimiter
from sockit.net.cidr import CIDRList
from sockit.net.dns import (
    DNSQuery,
    DNSResult,
    QueryCancelled,
    Resolution,
    ResolvedAddress,
    Resolver,
    ResolverBusy,
    ResolverStats,
    default_resolver,
)
from sockit.net.happy import (
    HappyEyeballsConnector,
    HappyEyeballsError,
    HappyEyeballsPlanner,
    HappyResult,
    connect_happy,
)
from sockit.net.iptrack import IPTracker, IPTrackerStats, client_key
from sockit.net.pool import (
    Admission,
    CloseReason,
    ConnectionIdle,
    ConnectionPool,
    DrainDeadline,
    DrainProgress,
    Health,
    PoolDrained,
    PooledConnection,
    PoolState,
    PoolStats,
    RefusalReason,
    Refused,
)
from sockit.net.protect import Action as SYNAction
from sockit.net.protect import (
    SYNProtector,
    SYNStats,
    listen_backlog_max,
    reuseport_group,
    set_defer_accept,
    syncookies_enabled,
)
from sockit.net.protect import Verdict as SYNVerdict
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
from sockit.net.reconnect import Reconnector, ReconnectState, SendInterrupted
from sockit.net.retry import Retry, default_retryable, parse_retry_after
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
from sockit.net.tls import (
    TLSSocket,
    connect_tls,
    keylog_from_environment,
    start_tls,
    wrap_server,
)
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
    "Admission",
    "Backoff",
    "BandwidthLimiter",
    "CIDRList",
    "CircuitBreaker",
    "CircuitOpen",
    "CircuitState",
    "CloseReason",
    "ConnectionIdle",
    "ConnectionPool",
    "DNSQuery",
    "DNSResult",
    "Datagram",
    "DatagramSocket",
    "DrainDeadline",
    "DrainProgress",
    "EventMask",
    "HappyEyeballsConnector",
    "HappyEyeballsError",
    "HappyEyeballsPlanner",
    "HappyResult",
    "Health",
    "IOEvent",
    "IPTracker",
    "IPTrackerStats",
    "Interest",
    "PeerCredentials",
    "PoolDrained",
    "PoolState",
    "PoolStats",
    "PooledConnection",
    "QueryCancelled",
    "Reactor",
    "ReconnectState",
    "Reconnector",
    "RefusalReason",
    "Refused",
    "Registration",
    "Resolution",
    "ResolvedAddress",
    "Resolver",
    "ResolverBusy",
    "ResolverStats",
    "Retry",
    "SYNAction",
    "SYNProtector",
    "SYNStats",
    "SYNVerdict",
    "SendInterrupted",
    "SendResult",
    "SignalEvent",
    "Socket",
    "SocketStats",
    "TCPInfo",
    "TCPState",
    "TLSSocket",
    "Timer",
    "TimerEvent",
    "TimerQueue",
    "TimerState",
    "TokenBucket",
    "UnixSocket",
    "available_backends",
    "bind_udp",
    "client_key",
    "connect_happy",
    "connect_tcp",
    "connect_tls",
    "connect_udp",
    "connect_unix",
    "default_backend_name",
    "default_resolver",
    "default_retryable",
    "get_default_timeout",
    "keylog_from_environment",
    "listen_backlog_max",
    "listen_tcp",
    "listen_unix",
    "live_sockets",
    "parse_retry_after",
    "reuseport_group",
    "set_default_timeout",
    "set_defer_accept",
    "socketpair",
    "splice",
    "start_tls",
    "syncookies_enabled",
    "unix_address",
    "wrap_server",
]
