"""Typed socket options, TCP_INFO parsing and the OSError mapping."""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sockit.errors import (
    AddressError,
    ConnectError,
    ConnectionClosed,
    LocalProtocolError,
    MessageTooLarge,
    NetworkError,
    Phase,
    Timeout,
)
from sockit.limits import KeepaliveDefaults
from sockit.net._oserror import check_timeout, map_oserror
from sockit.net.tcp import Socket, connect_tcp, listen_tcp
from sockit.net.tcpinfo import (
    TAIL_LAYOUT,
    TCP_INFO_SIZE,
    TCPCAState,
    TCPInfo,
    TCPState,
    parse_tcp_info,
)

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux options")


@pytest.fixture
def pair() -> Iterator[tuple[Socket, Socket]]:
    with listen_tcp("127.0.0.1", 0) as lst:
        port = lst.getsockname()[1]
        client = connect_tcp("127.0.0.1", port, timeout=5)
        server = lst.accept(timeout=5)
        with client, server:
            yield client, server


def test_nodelay_round_trip_and_inherited(pair: tuple[Socket, Socket]) -> None:
    client, server = pair
    assert client.nodelay  # connect_tcp turns Nagle off
    assert server.nodelay  # inherited from the listener (listen_tcp nodelay=True)
    client.nodelay = False
    assert client.raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
    assert not client.nodelay


@linux_only
def test_keepalive_round_trip(pair: tuple[Socket, Socket]) -> None:
    client, _ = pair
    assert client.raw.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
    client.set_keepalive(idle=7, interval=3, count=4)
    assert client.keepalive == KeepaliveDefaults(idle=7, interval=3, count=4)
    assert client.raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 7
    client.keepalive = KeepaliveDefaults()
    assert client.keepalive == KeepaliveDefaults(idle=60, interval=10, count=3)
    client.keepalive = None
    assert client.raw.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
    with pytest.raises(LocalProtocolError):
        client.set_keepalive(idle=0)


@linux_only
def test_cork_and_corked(pair: tuple[Socket, Socket]) -> None:
    client, server = pair
    assert client.raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK) == 0
    with client.corked():
        assert client.cork
        client.sendall(b"part1 ")
        client.sendall(b"part2")
    assert client.raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK) == 0
    assert server.recv_exactly(11, timeout=5) == b"part1 part2"


@linux_only
def test_user_timeout_round_trip(pair: tuple[Socket, Socket]) -> None:
    client, _ = pair
    client.user_timeout = 2.5
    assert client.user_timeout == 2.5
    assert client.raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 2500
    client.user_timeout = 0
    assert client.user_timeout == 0.0
    with pytest.raises(LocalProtocolError):
        client.user_timeout = -1


@linux_only
def test_congestion_control_round_trip(pair: tuple[Socket, Socket]) -> None:
    client, _ = pair
    assert re.fullmatch(r"[a-z0-9_]+", client.congestion_control)
    client.congestion_control = "reno"  # reno is always built in
    assert client.congestion_control == "reno"
    with pytest.raises(NetworkError) as info:
        client.congestion_control = "no-such-cc"
    assert info.value.errno == errno.ENOENT
    with pytest.raises(LocalProtocolError):
        client.congestion_control = "x" * 20


@linux_only
def test_defer_accept_round_trip() -> None:
    with Socket() as s:
        s.bind(("127.0.0.1", 0))
        s.defer_accept = 5
        assert s.defer_accept >= 5  # rounded up to a retransmission step
        s.defer_accept = 0
        assert s.defer_accept == 0


def test_buffers_reuse_and_inheritable() -> None:
    with Socket() as s:
        s.rcvbuf = 65536
        assert s.rcvbuf >= 65536
        s.sndbuf = 65536
        assert s.sndbuf >= 65536
        s.reuseaddr = True
        assert s.reuseaddr
        s.reuseport = True
        assert s.reuseport
        assert not s.inheritable  # close-on-exec by default
        s.inheritable = True
        assert s.inheritable
        assert os.get_inheritable(s.fileno())
        s.inheritable = False
        assert not os.get_inheritable(s.fileno())


def test_option_on_closed_socket_is_connection_closed() -> None:
    s = Socket()
    s.close()
    with pytest.raises(ConnectionClosed):
        s.nodelay = True


@linux_only
def test_tcp_info_on_live_connection(pair: tuple[Socket, Socket]) -> None:
    client, server = pair
    for _ in range(20):
        client.sendall(b"q" * 1000)
        server.recv_exactly(1000, timeout=5)
        server.sendall(b"a")
        client.recv_exactly(1, timeout=5)
    info = client.tcp_info()
    assert isinstance(info, TCPInfo)
    assert info.state is TCPState.ESTABLISHED
    assert info.ca_state is TCPCAState.OPEN
    assert info.rtt > 0
    assert 0 < info.rtt_seconds < 1
    assert info.snd_mss > 0 and info.rcv_mss > 0
    assert info.snd_cwnd > 0
    assert info.pmtu >= 1280
    assert info.total_retrans == 0
    assert info.bytes_acked is not None and info.bytes_acked >= 20_000
    assert info.bytes_received is not None and info.bytes_received >= 20
    assert info.segs_out is not None and info.segs_out >= 20
    assert info.delivery_rate is not None
    assert info.min_rtt is not None and 0 < info.min_rtt <= info.rtt + info.rttvar * 4
    assert info.rto >= 200_000  # at least TCP_RTO_MIN (200 ms) in microseconds
    server_info = server.tcp_info()
    assert server_info is not None
    assert server_info.bytes_received is not None and server_info.bytes_received >= 20_000


@linux_only
def test_tcp_info_listen_state() -> None:
    with listen_tcp("127.0.0.1", 0) as lst:
        info = lst.tcp_info()
        assert info is not None and info.state is TCPState.LISTEN


def _head(state: int = 1, wscale: int = 0x7A, flags: int = 0b101) -> bytes:
    values = [state, 0, 2, 3, 4, 5, wscale, flags, *range(100, 124)]
    return struct.pack("=8B24I", *values)


def test_parse_tcp_info_head_only_and_bitfields() -> None:
    info = parse_tcp_info(_head())
    assert info is not None
    assert info.state is TCPState.ESTABLISHED
    assert (info.retransmits, info.probes, info.backoff, info.options) == (2, 3, 4, 5)
    if sys.byteorder == "little":
        assert (info.snd_wscale, info.rcv_wscale) == (0xA, 0x7)
        assert info.delivery_rate_app_limited and info.fastopen_client_fail == 2
    assert info.rto == 100 and info.rtt == 115 and info.total_retrans == 123
    assert info.pacing_rate is None and info.snd_wnd is None
    assert parse_tcp_info(_head()[:103]) is None
    odd = parse_tcp_info(_head(state=99))
    assert odd is not None and odd.state == 99 and not isinstance(odd.state, TCPState)


def test_parse_tcp_info_tail_is_read_up_to_the_buffer_end() -> None:
    tail = b"".join(struct.pack("=" + code, 1000 + i) for i, (_, code, _) in enumerate(TAIL_LAYOUT))
    full = _head() + tail
    assert len(full) == TCP_INFO_SIZE
    info = parse_tcp_info(full)
    assert info is not None
    for i, (name, _, _) in enumerate(TAIL_LAYOUT):
        assert getattr(info, name) == 1000 + i
    short = parse_tcp_info(full[:232])  # the 232-byte layout of older kernels
    assert short is not None and short.snd_wnd == 1021 and short.rcv_wnd is None


def test_tail_layout_is_contiguous_and_aligned() -> None:
    offset = 104
    for name, code, off in TAIL_LAYOUT:
        size = struct.calcsize("=" + code)
        assert off == offset, name
        assert off % size == 0, name
        offset += size
    assert offset == TCP_INFO_SIZE


@pytest.mark.skipif(
    shutil.which("cc") is None or not Path("/usr/include/linux/tcp.h").exists(),
    reason="needs a C compiler and <linux/tcp.h>",
)
def test_tcp_info_offsets_match_kernel_header(tmp_path: Path) -> None:
    header = Path("/usr/include/linux/tcp.h").read_text()
    names = [name for name, _, _ in TAIL_LAYOUT if f"tcpi_{name};" in header]
    assert "rtt" not in names and len(names) >= 10
    body = "\n".join(
        f'printf("{n} %zu\\n", offsetof(struct tcp_info, tcpi_{n}));'
        for n in ["rto", "rtt", "rttvar", "snd_cwnd", "total_retrans", *names]
    )
    src = tmp_path / "off.c"
    src.write_text(
        "#include <stddef.h>\n#include <stdio.h>\n#include <linux/tcp.h>\n"
        f"int main(void) {{ {body} return 0; }}\n"
    )
    exe = tmp_path / "off"
    subprocess.run(["cc", "-o", str(exe), str(src)], check=True, timeout=60)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    got = {k: int(v) for k, v in (line.split() for line in out.splitlines())}
    assert got["rto"] == 8 and got["rtt"] == 68 and got["rttvar"] == 72
    assert got["snd_cwnd"] == 80 and got["total_retrans"] == 100
    table = {name: off for name, _, off in TAIL_LAYOUT}
    for n in names:
        assert got[n] == table[n], n


def _err(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def test_map_oserror_classes() -> None:
    refused = map_oserror(_err(errno.ECONNREFUSED), phase=Phase.CONNECT, context="x")
    assert isinstance(refused, ConnectError) and refused.errno == errno.ECONNREFUSED
    assert "(x)" in str(refused)
    for code in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
        assert isinstance(map_oserror(_err(code), phase=Phase.WRITE), ConnectionClosed)
    reset = map_oserror(_err(errno.ECONNRESET), phase=Phase.CONNECT, connecting=True)
    assert isinstance(reset, ConnectError)
    assert isinstance(map_oserror(_err(errno.EMSGSIZE), phase=Phase.WRITE), MessageTooLarge)
    assert isinstance(map_oserror(_err(errno.EADDRINUSE), phase=Phase.CONNECT), AddressError)
    unreachable = map_oserror(_err(errno.ENETUNREACH), phase=Phase.CONNECT, connecting=True)
    assert isinstance(unreachable, ConnectError)
    timed = map_oserror(_err(errno.ETIMEDOUT), phase=Phase.READ)
    assert isinstance(timed, Timeout) and timed.phase is Phase.READ
    assert timed.errno == errno.ETIMEDOUT
    other = map_oserror(_err(errno.EACCES), phase=Phase.CONNECT)
    assert type(other) is NetworkError and other.errno == errno.EACCES
    gai = map_oserror(socket.gaierror(socket.EAI_NONAME, "unknown"), phase=Phase.DNS)
    assert isinstance(gai, AddressError)
    assert map_oserror(refused, phase=Phase.READ) is refused
    with_file = map_oserror(
        OSError(errno.ENOENT, "nope", "/x"), phase=Phase.CONNECT, connecting=True
    )
    assert isinstance(with_file, ConnectError) and with_file.filename == "/x"


def test_check_timeout() -> None:
    assert check_timeout(None) is None
    assert check_timeout(float("inf")) is None
    assert check_timeout(0) == 0.0
    assert check_timeout(1.5) == 1.5
    for bad in (-0.001, float("nan"), "1", False):
        with pytest.raises(LocalProtocolError):
            check_timeout(bad)


def test_is_readable_and_writable_wait(pair: tuple[Socket, Socket]) -> None:
    client, server = pair
    assert client.is_writable()
    assert not server.is_readable()
    start = time.monotonic()
    assert not server.is_readable(0.05)
    assert time.monotonic() - start >= 0.04
    client.sendall(b"!")
    assert server.is_readable(5)
