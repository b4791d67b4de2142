"""Kernel help against SYN floods: TCP_DEFER_ACCEPT, SO_REUSEPORT groups, /proc knobs."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from sockit.errors import LocalProtocolError, NetworkError
from sockit.net.protect import (
    listen_backlog_max,
    reuseport_group,
    set_defer_accept,
    syncookies_enabled,
)
from sockit.net.tcp import Socket, connect_tcp, listen_tcp, live_sockets

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux socket option")
TCP_DEFER_ACCEPT = getattr(socket, "TCP_DEFER_ACCEPT", 9)


@linux_only
def test_defer_accept_is_set_and_read_back() -> None:
    with listen_tcp("127.0.0.1", 0) as listener:
        assert set_defer_accept(listener, 1) == 1
        assert listener.raw.getsockopt(socket.IPPROTO_TCP, TCP_DEFER_ACCEPT) == 1
        assert set_defer_accept(listener, 5) >= 5  # rounded up to a retransmit step
        assert set_defer_accept(listener, 0) == 0
        assert listener.raw.getsockopt(socket.IPPROTO_TCP, TCP_DEFER_ACCEPT) == 0


@linux_only
def test_defer_accept_holds_back_silent_connections() -> None:
    with listen_tcp("127.0.0.1", 0) as listener:
        set_defer_accept(listener, 5)
        port = listener.getsockname()[1]
        with connect_tcp("127.0.0.1", port, timeout=5.0) as silent:
            assert listener.try_accept() is None  # handshake done, no data: not accepted yet
            silent.sendall(b"x")
            conn = listener.accept(timeout=5.0)
            with conn:
                assert conn.recv_exactly(1, timeout=5.0) == b"x"


@pytest.mark.parametrize("bad", [-1, 2**31, 1.5, True, "3"])
def test_defer_accept_refuses_bad_values(bad: object) -> None:
    with listen_tcp("127.0.0.1", 0) as listener, pytest.raises(LocalProtocolError):
        set_defer_accept(listener, bad)  # type: ignore[arg-type]


def _accept_all(listeners: list[Socket], expected: int) -> list[int]:
    counts = [0] * len(listeners)
    for _ in range(200):
        for i, listener in enumerate(listeners):
            for conn in listener.accept_batch(100):
                conn.close()
                counts[i] += 1
        if sum(counts) >= expected:
            break
        listeners[0].is_readable(0.01)
    return counts


@linux_only
def test_reuseport_group_of_two_both_accept() -> None:
    group = reuseport_group("127.0.0.1", 0, 2)
    clients: list[Socket] = []
    try:
        ports = {s.getsockname()[1] for s in group}
        assert len(group) == 2 and len(ports) == 1
        assert all(s.reuseport for s in group)
        port = ports.pop()
        clients = [connect_tcp("127.0.0.1", port, timeout=5.0) for _ in range(40)]
        counts = _accept_all(group, 40)
        assert sum(counts) == 40
        assert all(c > 0 for c in counts), counts  # 2**-39 odds of a false failure
    finally:
        for s in clients + group:
            s.close()


def test_reuseport_group_refuses_bad_sizes() -> None:
    for bad in (0, -1, 1025, True, 2.0):
        with pytest.raises(LocalProtocolError):
            reuseport_group("127.0.0.1", 0, bad)  # type: ignore[arg-type]


@linux_only
def test_reuseport_group_closes_what_it_opened_on_failure() -> None:
    with socket.socket() as plain:  # a port held without SO_REUSEPORT
        plain.bind(("127.0.0.1", 0))
        plain.listen()
        port = plain.getsockname()[1]
        before = live_sockets()
        with pytest.raises(NetworkError):
            reuseport_group("127.0.0.1", port, 3)
        assert live_sockets() == before


@pytest.mark.parametrize(("text", "expected"), [("0\n", False), ("1\n", True), ("2", True)])
def test_syncookies_modes(tmp_path: Path, text: str, expected: bool) -> None:
    path = tmp_path / "tcp_syncookies"
    path.write_text(text)
    assert syncookies_enabled(str(path)) is expected


def test_syncookies_unreadable_is_none(tmp_path: Path) -> None:
    assert syncookies_enabled(str(tmp_path / "missing")) is None
    garbage = tmp_path / "garbage"
    garbage.write_text("on")
    assert syncookies_enabled(str(garbage)) is None


def test_listen_backlog_max(tmp_path: Path) -> None:
    path = tmp_path / "somaxconn"
    path.write_text("4096\n")
    assert listen_backlog_max(str(path)) == 4096
    assert listen_backlog_max(str(tmp_path / "missing")) == socket.SOMAXCONN
    path.write_text("0")
    assert listen_backlog_max(str(path)) == socket.SOMAXCONN
    assert listen_backlog_max() >= 1


@linux_only
def test_real_proc_values_are_read() -> None:
    proc = Path("/proc/sys/net/ipv4/tcp_syncookies")
    if proc.exists():
        assert syncookies_enabled() is (int(proc.read_text()) != 0)
    somax = Path("/proc/sys/net/core/somaxconn")
    if somax.exists():
        assert listen_backlog_max() == int(somax.read_text())
