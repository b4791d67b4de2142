"""Reconnector against real loopback servers: transparent send/recv, health checks, close()."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from sockit.errors import ConnectionClosed
from sockit.limits import ReconnectDefaults
from sockit.net.reconnect import (
    Connected,
    HealthCheckFailed,
    ReconnectEvent,
    Reconnector,
    ReconnectState,
)
from sockit.net.tcp import Socket, connect_tcp, listen_tcp
from sockit.net.unix import socketpair
from tests.support.peers import free_port

FAST = ReconnectDefaults(initial_delay=0.01, max_delay=0.05, jitter=0.0)
IO_TIMEOUT = 5.0

Handler = Callable[[Socket], None]


@contextmanager
def server(*handlers: Handler) -> Iterator[tuple[int, list[threading.Event]]]:
    """Accept one connection per handler, in order, running each in the server thread."""
    done = [threading.Event() for _ in handlers]
    with listen_tcp("127.0.0.1", 0, timeout=IO_TIMEOUT) as lst:
        port = lst.getsockname()[1]

        def run() -> None:
            for handler, event in zip(handlers, done, strict=True):
                try:
                    conn = lst.accept()
                except Exception:  # the listener was closed: the test is over
                    return
                with conn:
                    handler(conn)
                event.set()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        yield port, done
    thread.join(IO_TIMEOUT)
    assert not thread.is_alive()


def drop(conn: Socket) -> None:
    """Close at once."""


def echo_once(conn: Socket) -> None:
    data = conn.recv(1024, timeout=IO_TIMEOUT)
    conn.sendall(data, timeout=IO_TIMEOUT)
    conn.recv(1, timeout=IO_TIMEOUT)  # wait for the client to go


def say(payload: bytes, *, linger: bool = False) -> Handler:
    def handler(conn: Socket) -> None:
        conn.sendall(payload, timeout=IO_TIMEOUT)
        if linger:
            conn.recv(1, timeout=IO_TIMEOUT)

    return handler


def connector(port: int) -> Callable[[], Socket]:
    return lambda: connect_tcp("127.0.0.1", port, timeout=IO_TIMEOUT, io_timeout=IO_TIMEOUT)


def test_send_recv_survive_a_dropped_first_connection() -> None:
    with (
        server(drop, echo_once) as (port, done),
        Reconnector(connector(port), config=FAST) as r,
    ):
        first = r.ensure_connected(timeout=IO_TIMEOUT)
        assert done[0].wait(IO_TIMEOUT)  # the server has closed connection 1
        r.send(b"hello", timeout=IO_TIMEOUT)
        assert first.closed and r.socket is not first
        assert r.recv(5, timeout=IO_TIMEOUT) == b"hello"
        s = r.stats
        assert (s.connects, s.reconnects, s.losses) == (2, 1, 1)


def test_recv_continues_on_the_next_connection() -> None:
    with (
        server(say(b"one"), say(b"two", linger=True)) as (port, _),
        Reconnector(connector(port), config=FAST) as r,
    ):
        assert r.recv(10, timeout=IO_TIMEOUT) == b"one"
        assert r.recv(10, timeout=IO_TIMEOUT) == b"two"  # boundary lost, data kept
        assert r.stats.reconnects == 1


def test_health_check_failure_reconnects() -> None:
    config = FAST.replace(health_check_interval=0.001)
    with server(drop, say(b"", linger=True)) as (port, done):
        r = Reconnector(connector(port), config=config, health_check=lambda s: s.probe())
        try:
            r.start()
            assert r.state is ReconnectState.CONNECTED
            assert done[0].wait(IO_TIMEOUT)
            events: list[ReconnectEvent] = []
            end = time.monotonic() + IO_TIMEOUT
            while r.state is not ReconnectState.CONNECTED or not events:
                assert time.monotonic() < end
                deadline = r.next_deadline()
                assert deadline is not None
                time.sleep(max(0.0, deadline - time.monotonic()))
                events += r.handle_timeout()
            kinds = [type(e) for e in events]
            assert HealthCheckFailed in kinds and Connected in kinds
            assert kinds.index(HealthCheckFailed) < kinds.index(Connected)
            assert r.stats.health_check_failures == 1 and r.stats.reconnects == 1
        finally:
            r.close()


def test_close_during_backoff_from_another_thread() -> None:
    port = free_port()  # nothing listens: every connect is refused
    slow = ReconnectDefaults(initial_delay=5.0, max_delay=5.0, jitter=0.0)
    r = Reconnector(connector(port), config=slow)
    closer = threading.Timer(0.05, r.close)
    start = time.monotonic()
    closer.start()
    try:
        with pytest.raises(ConnectionClosed):
            r.ensure_connected()
    finally:
        closer.join(IO_TIMEOUT)
    elapsed = time.monotonic() - start
    assert elapsed < 2.0  # woke up well before the 5 s backoff ended
    assert r.state is ReconnectState.CLOSED
    assert r.stats.failures == 1


def test_concurrent_callers_share_one_connect() -> None:
    pairs: list[tuple[Socket, Socket]] = []
    gate = threading.Event()

    def slow_connect() -> Socket:
        gate.wait(IO_TIMEOUT)  # hold every caller in CONNECTING until all threads are in
        pair = socketpair()
        pairs.append(pair)
        return pair[0]

    r = Reconnector(slow_connect, config=FAST)
    got: list[Socket] = []
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            got.append(r.ensure_connected(timeout=IO_TIMEOUT))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.03)
    gate.set()
    for t in threads:
        t.join(IO_TIMEOUT)
    try:
        assert errors == []
        assert len(pairs) == 1 and len(got) == 4
        assert all(s is pairs[0][0] for s in got)
    finally:
        r.close()
        for a, b in pairs:
            a.close()
            b.close()
