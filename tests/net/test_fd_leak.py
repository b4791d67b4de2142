"""No descriptor leaks: many connect/close cycles and every failure path."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sockit.errors import AddressError, ConnectError, SockitError, Timeout
from sockit.net.tcp import connect_tcp, listen_tcp, live_sockets
from sockit.net.udp import DatagramSocket, bind_udp
from sockit.net.unix import connect_unix, listen_unix, socketpair

pytestmark = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd to count descriptors"
)


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_ten_thousand_connect_close_cycles() -> None:
    with listen_tcp("127.0.0.1", 0, backlog=1024) as lst:
        port = lst.getsockname()[1]
        fds_before, live_before = _fd_count(), live_sockets()
        for i in range(10_000):
            client = connect_tcp("127.0.0.1", port, timeout=5)
            server = lst.accept(timeout=5)
            if i % 1000 == 0:
                client.sendall(b"x")
                assert server.recv(1, timeout=5) == b"x"
            server.close()
            client.close()
        assert _fd_count() == fds_before
        assert live_sockets() == live_before


def _assert_no_leak(action: Callable[[], object], expected: type[BaseException]) -> None:
    action_fds = _fd_count()
    live = live_sockets()
    for _ in range(200):
        with pytest.raises(expected):
            action()
    assert _fd_count() == action_fds
    assert live_sockets() == live


def test_failure_paths_do_not_leak(tmp_path: Path) -> None:
    with listen_tcp("127.0.0.1", 0) as lst:
        dead_port = lst.getsockname()[1]
    _assert_no_leak(lambda: connect_tcp("127.0.0.1", dead_port, timeout=5), ConnectError)
    with listen_tcp("127.0.0.1", 0) as busy:
        busy_port = busy.getsockname()[1]
        _assert_no_leak(lambda: listen_tcp("127.0.0.1", busy_port, reuse_addr=False), AddressError)
    with bind_udp("127.0.0.1", 0) as taken:
        udp_port = taken.getsockname()[1]
        _assert_no_leak(lambda: bind_udp("127.0.0.1", udp_port), AddressError)
    missing = tmp_path / "missing.sock"
    _assert_no_leak(lambda: connect_unix(missing, timeout=1), ConnectError)
    with listen_unix(tmp_path / "busy.sock"):
        _assert_no_leak(lambda: listen_unix(tmp_path / "busy.sock"), AddressError)


def test_connect_timeout_does_not_leak() -> None:
    with listen_tcp("127.0.0.1", 0, backlog=0) as lst:
        port = lst.getsockname()[1]
        held = []
        try:
            before = _fd_count()
            timeouts = 0
            for _ in range(5):
                try:
                    held.append(connect_tcp("127.0.0.1", port, timeout=0.05))
                except Timeout:
                    timeouts += 1
            assert timeouts >= 2
            assert _fd_count() == before + len(held)
        finally:
            for s in held:
                s.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fd passing details")
def test_fd_passing_cycles_do_not_leak() -> None:
    a, b = socketpair(timeout=5)
    with a, b:
        r, w = os.pipe()
        try:
            before = _fd_count()
            for i in range(300):
                a.send_fds(b"m", [r, w])
                if i % 2:
                    with pytest.raises(SockitError):
                        b.recv_fds(8, 1)  # truncated: what arrived is closed
                else:
                    _, fds = b.recv_fds(8, 2)
                    for fd in fds:
                        os.close(fd)
            assert _fd_count() == before
        finally:
            os.close(r)
            os.close(w)


def test_unclosed_socket_is_reclaimed_with_a_warning() -> None:
    live = live_sockets()
    before = _fd_count()
    sock = DatagramSocket()
    assert live_sockets() == live + 1
    with pytest.warns(ResourceWarning):
        del sock
        import gc

        gc.collect()
    assert live_sockets() == live
    assert _fd_count() == before


def test_wrapping_then_detaching_keeps_the_descriptor() -> None:
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    live = live_sockets()
    wrapped = DatagramSocket(sock=raw)
    assert live_sockets() == live + 1
    fd = wrapped.detach()
    assert live_sockets() == live
    assert fd == raw.fileno() or raw.fileno() == -1
    os.close(fd)
