"""TCP-level options (:class:`TCPOptions`) and Linux ``TCP_INFO``.

:class:`TCPOptions` gives stream sockets their ``IPPROTO_TCP`` knobs as typed
properties: ``nodelay``, ``keepalive`` (idle/interval/count), ``cork`` and
``corked()``, ``user_timeout``, ``defer_accept``, ``congestion_control``,
``fastopen_queue``/``fastopen_connect`` and ``tcp_info()``. Options the
platform lacks raise :class:`~sockit.errors.NetworkError` (``ENOPROTOOPT``).

:func:`read_tcp_info` asks the kernel for ``struct tcp_info`` and parses it
with :mod:`struct` into a frozen :class:`TCPInfo`. The layout follows
``<linux/tcp.h>``: eight ``u8`` (two of them bit fields), 24 ``u32`` up to
``tcpi_total_retrans`` (104 bytes, present on every kernel that has
``TCP_INFO``), then the later additions. Older kernels return a shorter
buffer; fields past its end are ``None``.

Units are the kernel's, kept as integers so nothing is lost:

* ``rto``, ``ato``, ``rtt``, ``rttvar``, ``rcv_rtt``, ``min_rtt``,
  ``busy_time``, ``rwnd_limited``, ``sndbuf_limited``: microseconds
  (``rtt_seconds`` and ``rttvar_seconds`` convert);
* ``last_data_sent``, ``last_ack_sent``, ``last_data_recv``,
  ``last_ack_recv``, ``total_rto_time``: milliseconds;
* ``pacing_rate``, ``max_pacing_rate``, ``delivery_rate``: bytes per second;
* ``snd_cwnd``, ``snd_ssthresh``, ``reordering``: segments; sizes in bytes.

On other systems :func:`read_tcp_info` returns ``None``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import socket
import struct
import sys
from collections.abc import Iterator
from typing import Final

from sockit.errors import LocalProtocolError, Phase
from sockit.limits import KeepaliveDefaults
from sockit.net._oserror import check_timeout
from sockit.net.sockopts import BaseSocket, option_constant, unsupported

__all__ = [
    "TCPCAState",
    "TCPInfo",
    "TCPOptions",
    "TCPState",
    "parse_tcp_info",
    "read_tcp_info",
]

TCP_INFO: Final = option_constant("TCP_INFO", 11)
TCP_KEEPIDLE: Final = option_constant("TCP_KEEPIDLE", 4)
TCP_KEEPINTVL: Final = option_constant("TCP_KEEPINTVL", 5)
TCP_KEEPCNT: Final = option_constant("TCP_KEEPCNT", 6)
TCP_CORK: Final = option_constant("TCP_CORK", 3)
TCP_DEFER_ACCEPT: Final = option_constant("TCP_DEFER_ACCEPT", 9)
TCP_CONGESTION: Final = option_constant("TCP_CONGESTION", 13)
TCP_USER_TIMEOUT: Final = option_constant("TCP_USER_TIMEOUT", 18)
TCP_FASTOPEN: Final = option_constant("TCP_FASTOPEN", 23)
TCP_FASTOPEN_CONNECT: Final = option_constant("TCP_FASTOPEN_CONNECT", 30)


class TCPState(enum.IntEnum):
    """``tcpi_state``: the connection state (``include/net/tcp_states.h``)."""

    ESTABLISHED = 1
    SYN_SENT = 2
    SYN_RECV = 3
    FIN_WAIT1 = 4
    FIN_WAIT2 = 5
    TIME_WAIT = 6
    CLOSE = 7
    CLOSE_WAIT = 8
    LAST_ACK = 9
    LISTEN = 10
    CLOSING = 11
    NEW_SYN_RECV = 12
    BOUND_INACTIVE = 13


class TCPCAState(enum.IntEnum):
    """``tcpi_ca_state``: the congestion-avoidance state."""

    OPEN = 0
    DISORDER = 1
    CWR = 2
    RECOVERY = 3
    LOSS = 4


# The fixed head: 8 x u8 then 24 x u32 (offsets 0..103).
_HEAD: Final = struct.Struct("=8B24I")
_HEAD_NAMES: Final = (
    "rto", "ato", "snd_mss", "rcv_mss",
    "unacked", "sacked", "lost", "retrans", "fackets",
    "last_data_sent", "last_ack_sent", "last_data_recv", "last_ack_recv",
    "pmtu", "rcv_ssthresh", "rtt", "rttvar", "snd_ssthresh", "snd_cwnd",
    "advmss", "reordering", "rcv_rtt", "rcv_space", "total_retrans",
)  # fmt: skip

# Later additions: (field, struct code, byte offset in struct tcp_info).
TAIL_LAYOUT: Final[tuple[tuple[str, str, int], ...]] = (
    ("pacing_rate", "Q", 104),
    ("max_pacing_rate", "Q", 112),
    ("bytes_acked", "Q", 120),
    ("bytes_received", "Q", 128),
    ("segs_out", "I", 136),
    ("segs_in", "I", 140),
    ("notsent_bytes", "I", 144),
    ("min_rtt", "I", 148),
    ("data_segs_in", "I", 152),
    ("data_segs_out", "I", 156),
    ("delivery_rate", "Q", 160),
    ("busy_time", "Q", 168),
    ("rwnd_limited", "Q", 176),
    ("sndbuf_limited", "Q", 184),
    ("delivered", "I", 192),
    ("delivered_ce", "I", 196),
    ("bytes_sent", "Q", 200),
    ("bytes_retrans", "Q", 208),
    ("dsack_dups", "I", 216),
    ("reord_seen", "I", 220),
    ("rcv_ooopack", "I", 224),
    ("snd_wnd", "I", 228),
    ("rcv_wnd", "I", 232),
    ("rehash", "I", 236),
    ("total_rto", "H", 240),
    ("total_rto_recoveries", "H", 242),
    ("total_rto_time", "I", 244),
)
TCP_INFO_SIZE: Final = 248
"""Bytes of ``struct tcp_info`` this module understands (and asks for)."""


@dataclasses.dataclass(frozen=True, slots=True)
class TCPInfo:
    """A snapshot of ``struct tcp_info``; see the module docs for units."""

    state: TCPState | int
    ca_state: TCPCAState | int
    retransmits: int
    probes: int
    backoff: int
    options: int
    snd_wscale: int
    rcv_wscale: int
    delivery_rate_app_limited: bool
    fastopen_client_fail: int
    rto: int
    ato: int
    snd_mss: int
    rcv_mss: int
    unacked: int
    sacked: int
    lost: int
    retrans: int
    fackets: int
    last_data_sent: int
    last_ack_sent: int
    last_data_recv: int
    last_ack_recv: int
    pmtu: int
    rcv_ssthresh: int
    rtt: int
    rttvar: int
    snd_ssthresh: int
    snd_cwnd: int
    advmss: int
    reordering: int
    rcv_rtt: int
    rcv_space: int
    total_retrans: int
    pacing_rate: int | None = None
    max_pacing_rate: int | None = None
    bytes_acked: int | None = None
    bytes_received: int | None = None
    segs_out: int | None = None
    segs_in: int | None = None
    notsent_bytes: int | None = None
    min_rtt: int | None = None
    data_segs_in: int | None = None
    data_segs_out: int | None = None
    delivery_rate: int | None = None
    busy_time: int | None = None
    rwnd_limited: int | None = None
    sndbuf_limited: int | None = None
    delivered: int | None = None
    delivered_ce: int | None = None
    bytes_sent: int | None = None
    bytes_retrans: int | None = None
    dsack_dups: int | None = None
    reord_seen: int | None = None
    rcv_ooopack: int | None = None
    snd_wnd: int | None = None
    rcv_wnd: int | None = None
    rehash: int | None = None
    total_rto: int | None = None
    total_rto_recoveries: int | None = None
    total_rto_time: int | None = None

    @property
    def rtt_seconds(self) -> float:
        """Smoothed round-trip time in seconds."""
        return self.rtt / 1e6

    @property
    def rttvar_seconds(self) -> float:
        """Round-trip time variance in seconds."""
        return self.rttvar / 1e6


def _enum_or_int(cls: type[TCPState] | type[TCPCAState], value: int) -> int:
    try:
        return cls(value)
    except ValueError:
        return value


def parse_tcp_info(buf: bytes) -> TCPInfo | None:
    """Parse a ``struct tcp_info`` buffer; ``None`` if shorter than 104 bytes."""
    if len(buf) < _HEAD.size:
        return None
    head = _HEAD.unpack_from(buf)
    wscale, flags = head[6], head[7]
    # C bit fields are allocated from the least significant bit on
    # little-endian ABIs and from the most significant bit on big-endian ones.
    if sys.byteorder == "little":
        snd_wscale, rcv_wscale = wscale & 0x0F, wscale >> 4
        app_limited, tfo_fail = bool(flags & 1), (flags >> 1) & 3
    else:
        snd_wscale, rcv_wscale = wscale >> 4, wscale & 0x0F
        app_limited, tfo_fail = bool(flags & 0x80), (flags >> 5) & 3
    values: dict[str, object] = {
        "state": _enum_or_int(TCPState, head[0]),
        "ca_state": _enum_or_int(TCPCAState, head[1]),
        "retransmits": head[2],
        "probes": head[3],
        "backoff": head[4],
        "options": head[5],
        "snd_wscale": snd_wscale,
        "rcv_wscale": rcv_wscale,
        "delivery_rate_app_limited": app_limited,
        "fastopen_client_fail": tfo_fail,
    }
    values.update(zip(_HEAD_NAMES, head[8:], strict=True))
    for name, code, offset in TAIL_LAYOUT:
        size = struct.calcsize("=" + code)
        if offset + size > len(buf):
            break
        values[name] = struct.unpack_from("=" + code, buf, offset)[0]
    return TCPInfo(**values)  # type: ignore[arg-type]


def read_tcp_info(sock: socket.socket) -> TCPInfo | None:
    """``TCP_INFO`` of a TCP socket, or ``None`` where the OS has no ``TCP_INFO``.

    Raises :class:`OSError` (for example on a non-TCP socket); callers in
    sockit translate it with the usual error mapping.
    """
    if TCP_INFO is None:
        return None
    buf = sock.getsockopt(socket.IPPROTO_TCP, TCP_INFO, TCP_INFO_SIZE)
    return parse_tcp_info(buf)


class TCPOptions(BaseSocket):
    """``IPPROTO_TCP`` options and ``TCP_INFO`` as typed properties."""

    def _tcp_get(self, option: int | None, name: str) -> int:
        return self._get(socket.IPPROTO_TCP, option, name)

    def _tcp_set(self, option: int | None, name: str, value: int | bytes) -> None:
        self._set(socket.IPPROTO_TCP, option, name, value)

    @property
    def nodelay(self) -> bool:
        """``TCP_NODELAY``: send small segments at once (Nagle off)."""
        return bool(self._tcp_get(socket.TCP_NODELAY, "TCP_NODELAY"))

    @nodelay.setter
    def nodelay(self, on: bool) -> None:
        self._tcp_set(socket.TCP_NODELAY, "TCP_NODELAY", int(on))

    @property
    def keepalive(self) -> KeepaliveDefaults | None:
        """Keepalive probing (``SO_KEEPALIVE`` + idle/interval/count), None when off."""
        if not self._get(socket.SOL_SOCKET, socket.SO_KEEPALIVE, "SO_KEEPALIVE"):
            return None
        if TCP_KEEPIDLE is None or TCP_KEEPINTVL is None or TCP_KEEPCNT is None:
            return KeepaliveDefaults()
        return KeepaliveDefaults(
            idle=self._tcp_get(TCP_KEEPIDLE, "TCP_KEEPIDLE"),
            interval=self._tcp_get(TCP_KEEPINTVL, "TCP_KEEPINTVL"),
            count=self._tcp_get(TCP_KEEPCNT, "TCP_KEEPCNT"),
        )

    @keepalive.setter
    def keepalive(self, settings: KeepaliveDefaults | None) -> None:
        if settings is None:
            self._set(socket.SOL_SOCKET, socket.SO_KEEPALIVE, "SO_KEEPALIVE", 0)
            return
        self.set_keepalive(settings.idle, settings.interval, settings.count)

    def set_keepalive(
        self, idle: int | None = None, interval: int | None = None, count: int | None = None
    ) -> None:
        """Turn keepalive on; unset values come from :class:`KeepaliveDefaults`."""
        base = KeepaliveDefaults()
        try:
            settings = KeepaliveDefaults(
                idle=base.idle if idle is None else idle,
                interval=base.interval if interval is None else interval,
                count=base.count if count is None else count,
            )
        except ValueError as exc:
            raise LocalProtocolError(f"invalid keepalive settings: {exc}") from exc
        self._set(socket.SOL_SOCKET, socket.SO_KEEPALIVE, "SO_KEEPALIVE", 1)
        if TCP_KEEPIDLE is not None:
            self._tcp_set(TCP_KEEPIDLE, "TCP_KEEPIDLE", settings.idle)
        if TCP_KEEPINTVL is not None:
            self._tcp_set(TCP_KEEPINTVL, "TCP_KEEPINTVL", settings.interval)
        if TCP_KEEPCNT is not None:
            self._tcp_set(TCP_KEEPCNT, "TCP_KEEPCNT", settings.count)

    @property
    def cork(self) -> bool:
        """``TCP_CORK`` (Linux): hold partial segments until uncorked."""
        return bool(self._tcp_get(TCP_CORK, "TCP_CORK"))

    @cork.setter
    def cork(self, on: bool) -> None:
        self._tcp_set(TCP_CORK, "TCP_CORK", int(on))

    @contextlib.contextmanager
    def corked(self) -> Iterator[None]:
        """Cork for the ``with`` block, then uncork (flushing what was queued)."""
        self.cork = True
        try:
            yield
        finally:
            if not self._closed:
                self.cork = False

    @property
    def user_timeout(self) -> float:
        """``TCP_USER_TIMEOUT`` in seconds (ms resolution; 0 = system default)."""
        return self._tcp_get(TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT") / 1000.0

    @user_timeout.setter
    def user_timeout(self, seconds: float) -> None:
        value = check_timeout(seconds, "user_timeout")
        ms = 0 if value is None else round(value * 1000)
        if ms > 0x7FFFFFFF:
            raise LocalProtocolError(f"user_timeout {seconds!r} s is too large")
        self._tcp_set(TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT", ms)

    @property
    def defer_accept(self) -> int:
        """``TCP_DEFER_ACCEPT`` seconds (the kernel rounds to its retransmit steps)."""
        return self._tcp_get(TCP_DEFER_ACCEPT, "TCP_DEFER_ACCEPT")

    @defer_accept.setter
    def defer_accept(self, seconds: int) -> None:
        self._tcp_set(TCP_DEFER_ACCEPT, "TCP_DEFER_ACCEPT", int(seconds))

    @property
    def congestion_control(self) -> str:
        """``TCP_CONGESTION`` algorithm name, e.g. ``"cubic"``, ``"reno"``, ``"bbr"``."""
        if TCP_CONGESTION is None:
            raise unsupported("TCP_CONGESTION")
        opt = TCP_CONGESTION
        raw = self._wrap_call(
            lambda: self._sock.getsockopt(socket.IPPROTO_TCP, opt, 16),
            Phase.CONNECT,
            "TCP_CONGESTION",
        )
        return raw.split(b"\0", 1)[0].decode("ascii", "replace")

    @congestion_control.setter
    def congestion_control(self, name: str) -> None:
        if not isinstance(name, str) or not name.isascii() or not 0 < len(name) < 16:
            raise LocalProtocolError(f"invalid congestion control name {name!r}")
        self._tcp_set(TCP_CONGESTION, "TCP_CONGESTION", name.encode("ascii"))

    @property
    def fastopen_queue(self) -> int:
        """Server-side TCP Fast Open queue length (``TCP_FASTOPEN``; 0 = off)."""
        return self._tcp_get(TCP_FASTOPEN, "TCP_FASTOPEN")

    @fastopen_queue.setter
    def fastopen_queue(self, qlen: int) -> None:
        self._tcp_set(TCP_FASTOPEN, "TCP_FASTOPEN", int(qlen))

    @property
    def fastopen_connect(self) -> bool:
        """Client-side Fast Open (``TCP_FASTOPEN_CONNECT``): data rides on the SYN."""
        return bool(self._tcp_get(TCP_FASTOPEN_CONNECT, "TCP_FASTOPEN_CONNECT"))

    @fastopen_connect.setter
    def fastopen_connect(self, on: bool) -> None:
        self._tcp_set(TCP_FASTOPEN_CONNECT, "TCP_FASTOPEN_CONNECT", int(on))

    def tcp_info(self) -> TCPInfo | None:
        """``TCP_INFO`` snapshot (Linux); ``None`` on systems without it."""
        self._fd()
        return self._wrap_call(lambda: read_tcp_info(self._sock), Phase.CONNECT, "TCP_INFO")
