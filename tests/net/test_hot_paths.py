"""The reactor-driven fast paths keep the documented behaviour.

``try_send``/``try_recv``/``try_recv_into`` update counters inline and share
``SendResult`` objects; ``Reactor.wait`` builds big batches in one
comprehension and falls back to a loop when its own fds are in the batch.
These tests pin down that the shortcuts change nothing observable.
"""

from __future__ import annotations

import array
import dataclasses
import errno
import os
import signal
import socket
import time
from collections.abc import Iterator

import pytest

from sockit.errors import ConnectionClosed, LocalProtocolError
from sockit.net import sockopts
from sockit.net.reactor import READ, IOEvent, Reactor, SignalEvent, TimerEvent, available_backends
from sockit.net.sockopts import NOTHING_SENT, SendResult, sent_result
from sockit.net.tcp import Socket, connect_tcp, listen_tcp


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def pair() -> Iterator[tuple[Socket, Socket]]:
    with listen_tcp("127.0.0.1", 0) as lst:
        client = connect_tcp("127.0.0.1", lst.getsockname()[1], timeout=5)
        server = lst.accept(timeout=5)
    with client, server:
        yield client, server


def wait_readable(sock: Socket) -> None:
    assert sock.is_readable(5.0)


def test_send_results_are_shared_equal_and_frozen(pair: tuple[Socket, Socket]) -> None:
    client, server = pair
    first = client.try_send(b"x" * 7)
    second = client.try_send(b"y" * 7)
    assert first == second == SendResult(7, 0.0)
    assert first is second  # one object per byte count
    assert sent_result(7) is first
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.sent = 8  # type: ignore[misc]
    assert server.recv_exactly(14, timeout=5) == b"x" * 7 + b"y" * 7
    assert client.stats.bytes_sent == 14 and client.stats.packets_sent == 2


def test_send_result_cache_is_bounded() -> None:
    for n in range(100_000, 100_000 + sockopts._SENT_RESULTS_MAX + 10):
        assert sent_result(n) == SendResult(n)
    assert len(sockopts._SENT_RESULTS) <= sockopts._SENT_RESULTS_MAX
    assert sent_result(10**9) == SendResult(10**9, 0.0)  # past the cap: still right


def test_try_send_when_the_buffer_is_full(pair: tuple[Socket, Socket]) -> None:
    client, _ = pair
    client.sndbuf = 4096
    results = [client.try_send(b"z" * 65536) for _ in range(200)]
    blocked = [r for r in results if r.sent == 0]
    assert blocked and blocked[0] == SendResult(0, 0.0) == NOTHING_SENT
    assert client.stats.bytes_sent == sum(r.sent for r in results)


def test_try_recv_counts_and_validates(pair: tuple[Socket, Socket]) -> None:
    client, server = pair
    assert server.try_recv(10) is None
    assert server.stats.packets_received == 0 and server.stats.last_activity is None
    client.sendall(b"hello")
    wait_readable(server)
    before = time.monotonic()
    assert server.try_recv(65536) == b"hello"
    stats = server.stats
    assert stats.bytes_received == 5 and stats.packets_received == 1
    assert stats.last_activity is not None and stats.last_activity >= before

    class Size(int):
        pass

    client.sendall(b"ab")
    wait_readable(server)
    assert server.try_recv(Size(1)) == b"a"  # int subclasses are sizes too
    for bad in (True, -1, 1.5, "3"):
        with pytest.raises(LocalProtocolError):
            server.try_recv(bad)  # type: ignore[arg-type]
    client.close()
    assert server.recv(10, timeout=5) == b"b"
    wait_readable(server)
    assert server.try_recv(10) == b""  # EOF


@pytest.mark.parametrize("kind", ["bytearray", "memoryview", "array", "slice"])
def test_try_recv_into_buffers(pair: tuple[Socket, Socket], kind: str) -> None:
    client, server = pair
    raw = bytearray(16)
    target: bytearray | memoryview
    if kind == "bytearray":
        target = raw
    elif kind == "memoryview":
        target = memoryview(raw)
    elif kind == "slice":
        target = memoryview(raw)[4:]
    else:
        target = memoryview(array.array("H", bytes(16)))  # 8 items, 16 bytes: counted in bytes
    assert server.try_recv_into(target) is None
    client.sendall(b"0123456789abcdefXYZ")
    wait_readable(server)
    size = 12 if kind == "slice" else 16
    assert server.try_recv_into(target, 3) == 3  # nbytes below the size
    assert server.try_recv_into(target, 1000) == size  # nbytes past the size: clamped
    got = bytes(memoryview(target).cast("B")) if kind == "array" else bytes(target)
    assert got[:size] == b"3456789abcdefXYZ"[:size]
    assert server.stats.bytes_received == 3 + size and server.stats.packets_received == 2
    with pytest.raises(LocalProtocolError):
        server.try_recv_into(raw, -1)
    with pytest.raises(LocalProtocolError):
        server.try_recv_into(raw, True)


def test_try_recv_into_under_a_bandwidth_limit(pair: tuple[Socket, Socket]) -> None:
    client, server = pair
    clock = FakeClock()
    server.limit_bandwidth(recv=100, burst=100, clock=clock, sleep=clock.sleep)
    client.sendall(b"q" * 300)
    buf = bytearray(1000)
    deadline = time.monotonic() + 5
    got = 0
    while got < 100 and time.monotonic() < deadline:
        got += server.try_recv_into(buf) or 0
    assert got == 100  # the bucket's burst, no more
    assert server.try_recv_into(buf) is None and server.try_recv(10) is None
    clock.now += 1.0
    assert server.try_recv(1000) == b"q" * 100
    assert server.stats.bytes_received == 200


def test_try_calls_on_a_closed_socket() -> None:
    s = Socket()
    s.close()
    for call in (
        lambda: s.try_recv(10),
        lambda: s.try_recv_into(bytearray(10)),
        lambda: s.try_send(b"x"),
    ):
        with pytest.raises(ConnectionClosed) as info:
            call()
        assert info.value.errno == errno.EBADF


@pytest.mark.parametrize("backend", available_backends())
def test_big_batch_with_wakeup_signal_and_timer(backend: str) -> None:
    socks = [socket.socketpair() for _ in range(8)]
    clock = FakeClock()
    try:
        with Reactor(backend=backend, clock=clock) as r:
            for a, b in socks:
                r.register(a, READ, data=a.fileno())
                b.send(b"!")
            want = sorted(a.fileno() for a, _ in socks)
            # more than a handful ready: the comprehension path
            events = r.wait(timeout=5)
            io = sorted(ev.data for ev in events if isinstance(ev, IOEvent))  # type: ignore[type-var]
            assert io == want
            assert all(type(ev) is IOEvent and ev.readable for ev in events)
            # the same batch plus the wake-up fd, a signal and a due timer: the slow path
            for _, b in socks:  # a new edge for the edge-triggered backends
                b.send(b"!")
            r.watch_signals({signal.SIGUSR1})
            r.wakeup()
            os.kill(os.getpid(), signal.SIGUSR1)
            timer = r.add_timer(1.0, data="t")
            clock.now += 2.0
            events = r.wait(timeout=5)
            io = sorted(ev.data for ev in events if isinstance(ev, IOEvent))  # type: ignore[type-var]
            assert io == want
            assert SignalEvent(signal.SIGUSR1) in events
            assert events[-1] == TimerEvent(timer, "t")
            assert len(events) == len(want) + 2  # the wake-up is never reported
            r.unwatch_signals()
    finally:
        for a, b in socks:
            a.close()
            b.close()
