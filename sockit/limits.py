"""Every bound sockit enforces, with its default, in one place.

Each area has a frozen dataclass whose fields are keyword-only and validated on
construction: a negative, zero-where-meaningless or absurd value raises
``ValueError`` immediately instead of surprising someone later. Override a
field by constructing a new object (``HTTP1Limits(max_header_count=50)``) or
with :meth:`replace` on an existing one.

The defaults match or tighten ``DEFAULTS.md`` (the C library's headers). Sizes
are bytes, durations are seconds (floats), rates are per second.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, TypeVar

__all__ = [
    "BufferLimits",
    "ClientLimits",
    "CookieLimits",
    "DNSDefaults",
    "DTLSDefaults",
    "HPACKLimits",
    "HTTP1Limits",
    "HTTP2Limits",
    "HappyEyeballsDefaults",
    "KeepaliveDefaults",
    "PoolLimits",
    "ProxyLimits",
    "RateLimitDefaults",
    "ReconnectDefaults",
    "RetryDefaults",
    "SYNProtectDefaults",
    "ServerLimits",
    "SocketLimits",
    "TLSDefaults",
    "TimerLimits",
    "WSLimits",
    "WorkerLimits",
    "bounded",
    "limit_groups",
    "flag",
    "text",
]

KiB = 1024
MiB = 1024 * KiB
DAY = 86400.0

_T = TypeVar("_T")
_L = TypeVar("_L", bound="_Limits")


def bounded(default: _T, lo: float, hi: float, *, optional: bool = False) -> _T:
    """A dataclass field whose value must lie in ``[lo, hi]``.

    ``optional`` allows ``None`` (meaning "no limit" or "not configured").
    """
    return dataclasses.field(
        default=default, metadata={"range": (lo, hi), "optional": optional}
    )


def flag(default: bool) -> bool:
    """A boolean dataclass field (checked to really be a bool)."""
    return dataclasses.field(default=default)


def text(default: str) -> str:
    """A string dataclass field (checked to really be a str)."""
    return dataclasses.field(default=default)


def _check_field(owner: str, f: dataclasses.Field[Any], value: object) -> None:
    rng = f.metadata.get("range")
    if isinstance(value, _Limits):
        return
    if value is None:
        if not f.metadata.get("optional"):
            raise ValueError(f"{owner}.{f.name} must not be None")
        return
    if isinstance(f.default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{owner}.{f.name} must be a bool, not {value!r}")
        return
    if isinstance(f.default, str):
        if not isinstance(value, str):
            raise ValueError(f"{owner}.{f.name} must be a str, not {value!r}")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{owner}.{f.name} must be a number, not {value!r}")
    if isinstance(f.default, int) and not isinstance(value, int):
        raise ValueError(f"{owner}.{f.name} must be an integer, not {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{owner}.{f.name} must be finite, not {value!r}")
    if rng is not None:
        lo, hi = rng
        if not lo <= value <= hi:
            raise ValueError(f"{owner}.{f.name}={value!r} is outside [{lo}, {hi}]")


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Limits:
    """Base: range checks for every field, plus a hook for cross-field rules."""

    def __post_init__(self) -> None:
        name = type(self).__name__
        for f in dataclasses.fields(self):
            _check_field(name, f, getattr(self, f.name))
        self._check()

    def _check(self) -> None:
        """Cross-field rules; subclasses override."""

    def replace(self: _L, **changes: Any) -> _L:
        """A copy with some fields changed, validated like a new object."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (for docs, logs and the CLI ``info``)."""
        return dataclasses.asdict(self)


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


@dataclasses.dataclass(frozen=True, kw_only=True)
class BufferLimits(_Limits):
    """Receive buffer and write queue bounds."""

    max_receive_buffer: int = bounded(1 * MiB, 1, 1 << 31)
    max_write_queue: int = bounded(4 * MiB, 1, 1 << 31)
    read_size: int = bounded(64 * KiB, 1, 16 * MiB)


@dataclasses.dataclass(frozen=True, kw_only=True)
class HTTP1Limits(_Limits):
    """HTTP/1.1 message parsing bounds (RFC 9112)."""

    max_header_name_size: int = bounded(256, 1, 64 * KiB)
    max_header_value_size: int = bounded(8 * KiB, 1, 1 * MiB)
    max_header_block_size: int = bounded(64 * KiB, 64, 16 * MiB)
    max_header_count: int = bounded(100, 1, 10_000)
    max_request_line_size: int = bounded(8 * KiB, 16, 1 * MiB)
    max_status_line_size: int = bounded(8 * KiB, 16, 1 * MiB)
    max_uri_size: int = bounded(8 * KiB, 1, 1 * MiB)
    max_method_size: int = bounded(16, 1, 1024)
    max_chunk_size: int = bounded(16 * MiB, 1, 1 << 40)
    max_chunk_extension_size: int = bounded(1 * KiB, 0, 64 * KiB)
    max_trailer_size: int = bounded(4 * KiB, 0, 1 * MiB)
    max_body_size: int | None = bounded(None, 0, 1 << 50, optional=True)
    max_decompressed_size: int = bounded(10 * MiB, 1, 1 << 40)

    def _check(self) -> None:
        _require(
            self.max_header_name_size <= self.max_header_block_size,
            "HTTP1Limits: max_header_name_size exceeds max_header_block_size",
        )
        _require(
            self.max_uri_size <= self.max_request_line_size,
            "HTTP1Limits: max_uri_size exceeds max_request_line_size",
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServerLimits(_Limits):
    """HTTP server bounds and timeouts."""

    max_connections: int = bounded(1000, 1, 1_000_000)
    max_connections_per_client: int = bounded(100, 1, 1_000_000)
    max_requests_per_connection: int = bounded(1000, 1, 1 << 31)
    max_concurrent_requests: int = bounded(100, 1, 100_000)
    max_header_block_size: int = bounded(64 * KiB, 64, 16 * MiB)
    max_body_size: int = bounded(10 * MiB, 0, 1 << 50)
    request_read_timeout: float = bounded(30.0, 0.001, DAY)
    response_write_timeout: float = bounded(60.0, 0.001, DAY)
    keepalive_idle_timeout: float = bounded(60.0, 0.001, DAY)
    tls_handshake_timeout: float = bounded(10.0, 0.001, 3600.0)
    connection_lifetime: float = bounded(300.0, 0.001, 30 * DAY)
    listen_backlog: int = bounded(128, 1, 65535)

    def _check(self) -> None:
        _require(
            self.max_connections_per_client <= self.max_connections,
            "ServerLimits: max_connections_per_client exceeds max_connections",
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RetryDefaults(_Limits):
    """Exponential backoff with jitter; used by retry and reconnect."""

    max_attempts: int = bounded(3, 1, 1000)
    initial_delay: float = bounded(0.1, 0.0, 3600.0)
    max_delay: float = bounded(30.0, 0.0, DAY)
    multiplier: float = bounded(2.0, 1.0, 100.0)
    jitter: float = bounded(0.25, 0.0, 1.0)

    def _check(self) -> None:
        _require(
            self.initial_delay <= self.max_delay,
            "RetryDefaults: initial_delay exceeds max_delay",
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClientLimits(_Limits):
    """HTTP client bounds and timeouts."""

    dns_timeout: float = bounded(10.0, 0.001, 3600.0)
    connect_timeout: float = bounded(30.0, 0.001, 3600.0)
    request_timeout: float = bounded(60.0, 0.001, DAY)
    pool_idle_timeout: float = bounded(60.0, 0.001, DAY)
    #: a pooled connection older than this is not reused (servers rotate, DNS changes)
    max_connection_age: float = bounded(3600.0, 0.001, 30 * DAY)
    #: interim (1xx) responses accepted before the final one
    max_interim_responses: int = bounded(100, 0, 100_000)
    max_redirects: int = bounded(10, 0, 100)
    max_connections_per_host: int = bounded(6, 1, 10_000)
    max_connections: int = bounded(100, 1, 1_000_000)
    max_response_size: int = bounded(10 * MiB, 0, 1 << 50)
    max_auth_retries: int = bounded(2, 0, 10)
    retry: RetryDefaults = dataclasses.field(
        default_factory=lambda: RetryDefaults(max_delay=10.0)
    )

    def _check(self) -> None:
        _require(
            self.max_connections_per_host <= self.max_connections,
            "ClientLimits: max_connections_per_host exceeds max_connections",
        )
        _require(isinstance(self.retry, RetryDefaults), "ClientLimits.retry must be RetryDefaults")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CookieLimits(_Limits):
    """Cookie jar bounds (RFC 6265)."""

    max_cookies: int = bounded(10_000, 0, 1_000_000)
    max_name_size: int = bounded(256, 1, 64 * KiB)
    max_value_size: int = bounded(4 * KiB, 0, 1 * MiB)
    max_domain_size: int = bounded(256, 1, 4 * KiB)
    max_path_size: int = bounded(1 * KiB, 1, 64 * KiB)
    max_cookies_per_domain: int = bounded(50, 1, 1_000_000)


@dataclasses.dataclass(frozen=True, kw_only=True)
class HPACKLimits(_Limits):
    """HPACK (RFC 7541) decoder bounds, including the bomb guard."""

    header_table_size: int = bounded(4096, 0, 64 * KiB)
    max_header_table_size: int = bounded(64 * KiB, 0, 1 << 24)
    max_header_list_size: int = bounded(16 * KiB, 1, 16 * MiB)
    max_headers: int = bounded(128, 1, 10_000)
    max_header_size: int = bounded(8 * KiB, 1, 16 * MiB)
    max_table_size_updates: int = bounded(2, 0, 16)
    max_decoded_size_cap: int = bounded(1 * MiB, 1, 64 * MiB)

    @property
    def max_decoded_size(self) -> int:
        """Decoded output bound: min(10 x header list size, 1 MiB by default)."""
        return min(10 * self.max_header_list_size, self.max_decoded_size_cap)

    def _check(self) -> None:
        _require(
            self.header_table_size <= self.max_header_table_size,
            "HPACKLimits: header_table_size exceeds max_header_table_size",
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class HTTP2Limits(_Limits):
    """HTTP/2 (RFC 9113) settings we advertise and flood guards."""

    max_concurrent_streams: int = bounded(100, 0, (1 << 31) - 1)
    initial_window_size: int = bounded(65535, 0, (1 << 31) - 1)
    connection_window_size: int = bounded(1 * MiB, 65535, (1 << 31) - 1)
    max_frame_size: int = bounded(16384, 16384, 16_777_215)
    max_header_list_size: int = bounded(16 * KiB, 1, 16 * MiB)
    max_continuation_frames: int = bounded(32, 1, 10_000)
    stream_open_rate: float = bounded(100.0, 0.001, 1e6)
    stream_open_burst: int = bounded(10, 1, 1_000_000)
    stream_opens_per_minute: int = bounded(1000, 1, 1 << 31)
    rst_stream_rate: float = bounded(100.0, 0.001, 1e6)
    ping_rate: float = bounded(50.0, 0.001, 1e6)
    settings_per_window: int = bounded(10, 1, 1_000_000)
    settings_window: float = bounded(5.0, 0.001, 3600.0)
    enable_push: bool = flag(True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class WSLimits(_Limits):
    """WebSocket (RFC 6455 / 7692) bounds."""

    max_frame_size: int = bounded(16 * MiB, 1, 1 << 40)
    max_message_size: int = bounded(64 * MiB, 1, 1 << 40)
    max_fragments: int = bounded(1000, 1, 1_000_000)
    max_control_payload: int = bounded(125, 0, 125)
    max_close_reason: int = bounded(123, 0, 123)
    deflate_window_bits: int = bounded(15, 8, 15)
    deflate_level: int = bounded(6, 0, 9)
    handshake_timeout: float = bounded(5.0, 0.001, 3600.0)
    ping_timeout: float = bounded(30.0, 0.001, DAY)


TLS13_CIPHERSUITES = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
TLS12_CIPHERS = (
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TLSDefaults(_Limits):
    """TLS policy and bounds: TLS 1.3 only unless TLS 1.2 is opted into."""

    allow_tls12: bool = flag(False)
    ciphersuites: str = text(TLS13_CIPHERSUITES)
    tls12_ciphers: str = text(TLS12_CIPHERS)
    verify_depth: int = bounded(10, 1, 100)
    handshake_timeout: float = bounded(30.0, 0.001, 3600.0)
    shutdown_timeout: float = bounded(5.0, 0.0, 3600.0)
    session_cache_size: int = bounded(1000, 0, 1_000_000)
    session_timeout: float = bounded(300.0, 1.0, DAY)
    max_alpn_protocols: int = bounded(16, 1, 64)
    max_alpn_protocol_size: int = bounded(255, 1, 255)
    max_sni_size: int = bounded(255, 1, 255)
    max_sni_certificates: int = bounded(100, 1, 100_000)
    max_pins: int = bounded(32, 1, 1024)
    max_ocsp_response_size: int = bounded(64 * KiB, 1, 16 * MiB)
    max_crl_size: int = bounded(10 * MiB, 1, 1 << 31)
    min_crl_refresh: float = bounded(60.0, 1.0, 30 * DAY)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DTLSDefaults(_Limits):
    """DTLS 1.2+ bounds and retransmission schedule."""

    mtu: int = bounded(1400, 576, 9000)
    cookie_secret_size: int = bounded(32, 16, 256)
    cookie_lifetime: float = bounded(60.0, 1.0, 3600.0)
    retransmit_initial: float = bounded(1.0, 0.01, 60.0)
    retransmit_max: float = bounded(60.0, 0.01, 3600.0)
    max_retransmits: int = bounded(12, 1, 100)
    handshake_timeout: float = bounded(30.0, 0.001, 3600.0)

    def _check(self) -> None:
        _require(
            self.retransmit_initial <= self.retransmit_max,
            "DTLSDefaults: retransmit_initial exceeds retransmit_max",
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class DNSDefaults(_Limits):
    """Threaded resolver and cache."""

    workers: int = bounded(4, 1, 256)
    max_pending: int = bounded(1000, 1, 1_000_000)
    timeout: float = bounded(5.0, 0.001, 3600.0)
    cache_ttl: float = bounded(300.0, 0.0, DAY)
    cache_size: int = bounded(1000, 0, 1_000_000)
    prefer_ipv6: bool = flag(True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class HappyEyeballsDefaults(_Limits):
    """RFC 8305 timing."""

    resolution_delay: float = bounded(0.05, 0.0, 10.0)
    connection_attempt_delay: float = bounded(0.25, 0.01, 10.0)
    attempt_timeout: float = bounded(5.0, 0.001, 3600.0)
    total_timeout: float = bounded(30.0, 0.001, 3600.0)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReconnectDefaults(_Limits):
    """Reconnect backoff and circuit breaker."""

    initial_delay: float = bounded(0.1, 0.0, 3600.0)
    max_delay: float = bounded(30.0, 0.0, DAY)
    multiplier: float = bounded(2.0, 1.0, 100.0)
    jitter: float = bounded(0.25, 0.0, 1.0)
    max_attempts: int = bounded(10, 0, 1_000_000)
    circuit_failure_threshold: int = bounded(5, 1, 1_000_000)
    circuit_reset_timeout: float = bounded(60.0, 0.001, DAY)
    health_check_interval: float = bounded(30.0, 0.001, DAY)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProxyLimits(_Limits):
    """SOCKS and HTTP CONNECT bounds (RFC 1928 / 1929)."""

    handshake_timeout: float = bounded(30.0, 0.001, 3600.0)
    max_username_size: int = bounded(255, 1, 255)
    max_password_size: int = bounded(255, 1, 255)
    max_hostname_size: int = bounded(255, 1, 255)
    max_url_size: int = bounded(2048, 1, 64 * KiB)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RateLimitDefaults(_Limits):
    """Connection rate limiting; off until configured."""

    enabled: bool = flag(False)
    connections_per_second: float = bounded(100.0, 0.001, 1e9)
    burst: int = bounded(50, 1, 1 << 31)
    per_ip_connections: int = bounded(10, 1, 1_000_000)
    #: clients a per-endpoint limiter keeps buckets for (least recently seen evicted)
    max_tracked_clients: int = bounded(100_000, 1, 100_000_000)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SYNProtectDefaults(_Limits):
    """SYN-flood reputation scoring."""

    window: float = bounded(10.0, 0.1, 3600.0)
    max_attempts_per_window: int = bounded(50, 1, 1_000_000)
    max_global_rate: float = bounded(1000.0, 1.0, 1e9)
    score_initial: float = bounded(0.8, 0.0, 1.0)
    score_throttle: float = bounded(0.7, 0.0, 1.0)
    score_challenge: float = bounded(0.4, 0.0, 1.0)
    score_block: float = bounded(0.2, 0.0, 1.0)
    score_trusted: float = bounded(0.9, 0.0, 1.0)
    block_duration: float = bounded(60.0, 0.0, DAY)
    decay_per_second: float = bounded(0.01, 0.0, 1.0)
    penalty_attempt: float = bounded(0.02, 0.0, 1.0)
    penalty_failure: float = bounded(0.05, 0.0, 1.0)
    reward_success: float = bounded(0.05, 0.0, 1.0)
    max_tracked_ips: int = bounded(100_000, 1, 100_000_000)
    #: a THROTTLEd address is still admitted at this rate (per second) ...
    throttle_rate: float = bounded(1.0, 0.001, 1e6)
    #: ... with this many admissions banked
    throttle_burst: float = bounded(5.0, 1.0, 1e6)

    def _check(self) -> None:
        _require(
            self.score_block <= self.score_challenge <= self.score_throttle
            <= self.score_initial <= self.score_trusted,
            "SYNProtectDefaults: need block <= challenge <= throttle <= initial <= trusted",
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class PoolLimits(_Limits):
    """Server-side connection pool."""

    max_connections: int = bounded(1000, 1, 10_000_000)
    buffer_size: int = bounded(8 * KiB, 512, 16 * MiB)
    idle_timeout: float = bounded(300.0, 0.001, 30 * DAY)
    cleanup_interval: float = bounded(60.0, 0.001, DAY)
    max_batch_accept: int = bounded(1000, 1, 100_000)
    #: health is DEGRADED at this fill ratio ...
    degraded_fill: float = bounded(0.9, 0.0, 1.0)
    #: ... or for this long after a refusal for capacity or rate (seconds)
    degraded_window: float = bounded(10.0, 0.0, DAY)


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkerLimits(_Limits):
    """Pre-forked server workers and their supervisor."""

    max_workers: int = bounded(1024, 1, 1024)
    #: more restarts than this within ``restart_window`` s and the supervisor gives up
    max_restarts: int = bounded(10, 0, 10_000)
    restart_window: float = bounded(60.0, 0.001, DAY)
    #: after a drain's grace, workers still alive this much later get SIGKILL
    kill_margin: float = bounded(5.0, 0.0, 3600.0)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TimerLimits(_Limits):
    """Reactor timers."""

    max_timers: int = bounded(100_000, 1, 100_000_000)
    max_delay: float = bounded(365 * DAY, 0.001, 3650 * DAY)
    min_repeat: float = bounded(0.001, 0.000001, 3600.0)


@dataclasses.dataclass(frozen=True, kw_only=True)
class KeepaliveDefaults(_Limits):
    """TCP keepalive probes."""

    idle: int = bounded(60, 1, 32767)
    interval: int = bounded(10, 1, 32767)
    count: int = bounded(3, 1, 127)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SocketLimits(_Limits):
    """Datagram and Unix-socket bounds."""

    max_udp_payload: int = bounded(65507, 1, 65507)
    safe_udp_payload: int = bounded(1472, 1, 65507)
    max_passed_fds: int = bounded(253, 1, 253)
    connect_timeout: float = bounded(30.0, 0.001, 3600.0)

    def _check(self) -> None:
        _require(
            self.safe_udp_payload <= self.max_udp_payload,
            "SocketLimits: safe_udp_payload exceeds max_udp_payload",
        )


def limit_groups() -> dict[str, type[_Limits]]:
    """Every limits dataclass in this module, by class name (for docs and the CLI)."""
    return {
        name: obj
        for name, obj in globals().items()
        if isinstance(obj, type) and issubclass(obj, _Limits) and obj is not _Limits
    }
