"""Reconnector's blocking helpers on a fake clock: ensure_connected, send and recv rules."""

from __future__ import annotations

import errno
from typing import cast

import pytest

from sockit.errors import ConnectError, ConnectionClosed, Phase, Timeout
from sockit.limits import ReconnectDefaults
from sockit.net.backoff import CircuitOpen
from sockit.net.reconnect import Reconnector, ReconnectState, SendInterrupted
from sockit.net.tcp import Socket

S = ReconnectState
FIXED = ReconnectDefaults(jitter=0.0)


class FakeTime:
    def __init__(self) -> None:
        self.now = 500.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class FakeSock:
    """Plays a scripted connection: what send accepts and what recv returns."""

    def __init__(
        self,
        *,
        alive: bool = True,
        send_limit: int | None = None,
        send_error: bool = False,
        reads: list[bytes | BaseException] | None = None,
    ) -> None:
        self.alive = alive
        self.send_limit = send_limit  # bytes accepted before the send error
        self.send_error = send_error
        self.reads = list(reads or [])
        self.written = bytearray()
        self.closed = False

    def probe(self) -> bool:
        return self.alive and not self.closed

    def send(self, data: memoryview, *, timeout: float | None = None) -> int:
        if self.send_error and (self.send_limit is None or len(self.written) >= self.send_limit):
            raise ConnectionClosed(errno.EPIPE, "Broken pipe")
        room = len(data) if self.send_limit is None else self.send_limit - len(self.written)
        chunk = bytes(data[: max(1, min(room, 4))])  # short writes, like a busy kernel
        self.written += chunk
        return len(chunk)

    def recv(self, n: int, *, timeout: float | None = None) -> bytes:
        item = self.reads.pop(0) if self.reads else b""
        if isinstance(item, BaseException):
            raise item
        return item[:n]

    def close(self) -> None:
        self.closed = True


class Connector:
    def __init__(self, *script: FakeSock | BaseException) -> None:
        self.script = list(script)
        self.calls = 0

    def __call__(self) -> Socket:
        self.calls += 1
        item = self.script.pop(0) if self.script else ConnectError(errno.ECONNREFUSED, "refused")
        if isinstance(item, BaseException):
            raise item
        return cast(Socket, item)


def refused(i: int = 0) -> ConnectError:
    return ConnectError(errno.ECONNREFUSED, f"refused {i}")


def make(
    *script: FakeSock | BaseException, config: ReconnectDefaults = FIXED
) -> tuple[Reconnector, Connector, FakeTime]:
    t = FakeTime()
    connect = Connector(*script)
    r = Reconnector(connect, config=config, clock=t.clock, sleep=t.sleep)
    return r, connect, t


# -- ensure_connected ----------------------------------------------------------------


def test_sleeps_through_backoff() -> None:
    sock = FakeSock()
    r, connect, t = make(refused(), refused(), sock)
    assert r.ensure_connected() is cast(Socket, sock)
    assert t.slept == pytest.approx([0.1, 0.2])
    assert connect.calls == 3
    assert r.ensure_connected() is cast(Socket, sock) and connect.calls == 3  # no new connect


def test_circuit_open_fails_fast_then_probes() -> None:
    config = FIXED.replace(circuit_failure_threshold=3, circuit_reset_timeout=60.0)
    sock = FakeSock()
    r, connect, t = make(refused(), refused(), refused(2), sock, config=config)
    with pytest.raises(CircuitOpen) as info:
        r.ensure_connected()
    assert info.value.retry_after == pytest.approx(60.0)
    assert isinstance(info.value.__cause__, ConnectError) and "refused 2" in str(
        info.value.__cause__
    )
    assert connect.calls == 3
    t.now += 30.0
    with pytest.raises(CircuitOpen) as again:
        r.ensure_connected()
    assert again.value.retry_after == pytest.approx(30.0) and connect.calls == 3
    t.now += 30.0
    assert r.ensure_connected() is cast(Socket, sock)  # the probe succeeds
    assert r.state is S.CONNECTED and connect.calls == 4


def test_gives_up_after_max_attempts_then_new_round() -> None:
    config = FIXED.replace(max_attempts=3, circuit_failure_threshold=100)
    sock = FakeSock()
    r, connect, t = make(refused(0), refused(1), refused(2), sock, config=config)
    with pytest.raises(ConnectError) as info:
        r.ensure_connected()
    assert not isinstance(info.value, CircuitOpen)
    assert "refused 2" in str(info.value.__cause__)
    assert connect.calls == 3 and t.slept == pytest.approx([0.1, 0.2])
    assert r.state is S.DISCONNECTED
    assert r.ensure_connected() is cast(Socket, sock)  # a later call starts again


def test_timeout_raised_before_a_hopeless_wait() -> None:
    r, connect, t = make(refused(), refused(), FakeSock())
    with pytest.raises(Timeout) as info:
        r.ensure_connected(timeout=0.25)  # attempt 1, wait 0.1, attempt 2; next wait 0.2 > left
    assert info.value.phase is Phase.CONNECT
    assert connect.calls == 2 and t.slept == pytest.approx([0.1])
    assert t.now == pytest.approx(500.1)  # did not sleep out the rest


def test_closed_raises_connection_closed() -> None:
    r, _, _ = make(FakeSock())
    r.close()
    with pytest.raises(ConnectionClosed):
        r.ensure_connected()
    with pytest.raises(ConnectionClosed):
        r.send(b"x")
    with pytest.raises(ConnectionClosed):
        r.recv(10)


# -- send: at most once -----------------------------------------------------------------


def test_send_whole_message_short_writes() -> None:
    sock = FakeSock()
    r, _, _ = make(sock)
    r.send(b"hello world")
    assert bytes(sock.written) == b"hello world"


def test_send_resends_once_when_nothing_went_out() -> None:
    dead = FakeSock(send_error=True)  # fails before the first byte
    good = FakeSock()
    r, connect, _ = make(dead, good)
    r.send(b"payload")
    assert dead.written == b"" and dead.closed
    assert bytes(good.written) == b"payload"
    assert r.stats.losses == 1 and r.stats.reconnects == 1 and connect.calls == 2


def test_send_probe_skips_a_connection_the_peer_closed() -> None:
    stale = FakeSock(alive=False)
    good = FakeSock()
    r, _, _ = make(stale, good)
    r.send(b"abc")
    assert stale.written == b"" and stale.closed
    assert bytes(good.written) == b"abc"


def test_send_partial_write_is_not_resent() -> None:
    partial = FakeSock(send_error=True, send_limit=5)
    spare = FakeSock()
    r, connect, _ = make(partial, spare)
    with pytest.raises(SendInterrupted) as info:
        r.send(b"0123456789")
    assert (info.value.sent, info.value.total) == (5, 10)
    assert isinstance(info.value, ConnectionClosed) and info.value.__cause__ is not None
    assert bytes(partial.written) == b"01234" and spare.written == b""
    assert r.state is S.BACKING_OFF and connect.calls == 1


def test_send_fails_on_second_connection_too() -> None:
    r, connect, _ = make(FakeSock(send_error=True), FakeSock(send_error=True), FakeSock())
    with pytest.raises(SendInterrupted) as info:
        r.send(b"data")
    assert info.value.sent == 0 and connect.calls == 2  # resent once only


# -- recv: transparent, boundary lost -----------------------------------------------------


def test_recv_reconnects_on_eof_and_error() -> None:
    first = FakeSock(reads=[b"one", b""])
    second = FakeSock(reads=[ConnectionClosed(errno.ECONNRESET, "reset")])
    third = FakeSock(reads=[b"two"])
    r, connect, _ = make(first, second, third)
    assert r.recv(10) == b"one"
    assert r.recv(10) == b"two"
    assert first.closed and second.closed and connect.calls == 3
    assert r.stats.losses == 2


def test_recv_timeout_is_not_a_loss() -> None:
    sock = FakeSock(reads=[Timeout("slow", phase=Phase.READ), b"late"])
    r, connect, _ = make(sock)
    with pytest.raises(Timeout):
        r.recv(4)
    assert r.state is S.CONNECTED and r.recv(4) == b"late" and connect.calls == 1


def test_recv_gives_up_after_max_attempts_drops() -> None:
    config = FIXED.replace(max_attempts=2)
    r, connect, _ = make(FakeSock(), FakeSock(), FakeSock(), FakeSock(), config=config)
    with pytest.raises(ConnectionClosed):
        r.recv(1)
    assert connect.calls == 3  # first connection + 2 reconnects, all at EOF


def test_recv_zero_and_bad_size() -> None:
    r, connect, _ = make(FakeSock())
    assert r.recv(0) == b"" and connect.calls == 0
    with pytest.raises(Exception) as info:
        r.recv(-1)
    assert type(info.value).__module__ == "sockit.errors"
