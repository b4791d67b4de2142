"""Reactor tests, run against every backend available on this machine."""

from __future__ import annotations

import errno
import os
import random
import resource
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator

import pytest

from sockit.errors import LimitExceeded, LocalProtocolError, NetworkError
from sockit.limits import TimerLimits
from sockit.net import _backends
from sockit.net.reactor import (
    READ,
    WRITE,
    Event,
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

BACKENDS = available_backends()


class FakeClock:
    def __init__(self, now: float = 10.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=BACKENDS)
def reactor(request: pytest.FixtureRequest) -> Iterator[Reactor]:
    with Reactor(backend=request.param) as r:
        yield r


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def io_events(events: list[Event]) -> list[IOEvent]:
    return [ev for ev in events if isinstance(ev, IOEvent)]


def raise_fd_limit(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {need}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def test_backend_names() -> None:
    assert BACKENDS[0] == "selectors"
    assert set(BACKENDS) <= set(_backends.BACKEND_NAMES)
    assert default_backend_name() in BACKENDS
    assert not default_backend_name().endswith("-et")  # the default is level-triggered
    with Reactor() as r:
        assert r.backend_name == default_backend_name()
        assert not r.edge_triggered
    with pytest.raises(ValueError, match="unknown reactor backend"):
        Reactor(backend="kqueue-turbo")
    assert EventMask is Interest and READ | WRITE == 3


def test_thousand_socketpairs_exact_readiness(reactor: Reactor) -> None:
    raise_fd_limit(4096)
    n = 1000
    pairs = [socket.socketpair() for _ in range(n)]
    try:
        for i, (a, b) in enumerate(pairs):
            a.setblocking(False)
            b.setblocking(False)
            reactor.register(a, READ, data=("conn", i))
        assert len(reactor) == n
        rng = random.Random(7)
        for _round in range(3):
            chosen = set(rng.sample(range(n), n // 10))
            for i in chosen:
                pairs[i][1].send(b"msg-%d" % i)
            seen: dict[object, IOEvent] = {}
            deadline = time.monotonic() + 10
            while len(seen) < len(chosen) and time.monotonic() < deadline:
                for ev in io_events(reactor.wait(timeout=1.0)):
                    assert ev.data not in seen, "reported twice in one round"
                    seen[ev.data] = ev
            assert set(seen) == {("conn", i) for i in chosen}
            for (_, i), ev in seen.items():  # type: ignore[misc]
                assert ev.fileobj is pairs[i][0]
                assert ev.events == READ
                assert pairs[i][0].recv(100) == b"msg-%d" % i
            assert io_events(reactor.wait(timeout=0)) == []
    finally:
        for a, b in pairs:
            reactor.unregister(a)
            a.close()
            b.close()
    assert len(reactor) == 0


def test_write_readiness_and_modify(reactor: Reactor, pair: tuple[socket.socket, ...]) -> None:
    a, b = pair
    key = reactor.register(a, WRITE, data="w")
    assert isinstance(key, Registration) and key.events == WRITE and key.fd == a.fileno()
    [ev] = io_events(reactor.wait(timeout=1))
    assert ev == IOEvent(a, WRITE, "w")
    b.send(b"x")
    new = reactor.modify(a, READ | WRITE)
    assert new.data == "w"  # kept when not given
    [ev] = io_events(reactor.wait(timeout=1))
    assert ev.events == READ | WRITE and ev.data == "w"
    reactor.modify(a, READ, data="r")
    assert reactor.get_key(a).data == "r"
    [ev] = io_events(reactor.wait(timeout=1))
    assert ev.events == READ and ev.data == "r"
    reactor.modify(a, READ, data=None)
    assert reactor.get_key(a).data is None
    assert reactor.registered() == [reactor.get_key(a)]
    assert a in reactor and a.fileno() in reactor and b not in reactor
    old = reactor.unregister(a)
    assert old.fileobj is a
    assert io_events(reactor.wait(timeout=0)) == []
    assert a not in reactor


def test_events_are_subset_of_interest_on_hangup(reactor: Reactor) -> None:
    a, b = socket.socketpair()
    try:
        reactor.register(a, READ, data="r")
        b.close()  # hang-up: reported as READ readiness, recv gives b""
        [ev] = io_events(reactor.wait(timeout=1))
        assert ev.events == READ
        assert a.recv(10) == b""
    finally:
        reactor.unregister(a)
        a.close()


def test_raw_fd_and_pipe(reactor: Reactor) -> None:
    r, w = os.pipe()
    try:
        reactor.register(r, READ, data="pipe")
        os.write(w, b"hi")
        [ev] = io_events(reactor.wait(timeout=1))
        assert ev.fileobj == r and ev.data == "pipe"
        reactor.unregister(r)
    finally:
        os.close(r)
        os.close(w)


def test_register_errors(reactor: Reactor, pair: tuple[socket.socket, ...]) -> None:
    a, b = pair
    reactor.register(a, READ)
    with pytest.raises(LocalProtocolError, match="already registered"):
        reactor.register(a, WRITE)
    with pytest.raises(LocalProtocolError, match="already registered"):
        reactor.register(a.fileno(), READ)  # same fd, different object
    with pytest.raises(LocalProtocolError, match="not registered"):
        reactor.modify(b, READ)
    with pytest.raises(LocalProtocolError, match="not registered"):
        reactor.unregister(b)
    with pytest.raises(LocalProtocolError):
        reactor.get_key(b)
    for bad_events in (0, 4, -1, True, "r"):
        with pytest.raises(LocalProtocolError):
            reactor.register(b, bad_events)  # type: ignore[arg-type]
    for bad_obj in (object(), -1, "3", True):
        with pytest.raises(LocalProtocolError):
            reactor.register(bad_obj, READ)  # type: ignore[arg-type]
    closed = socket.socket()
    closed.close()
    with pytest.raises(LocalProtocolError, match="closed"):
        reactor.register(closed, READ)
    # an fd that is not open is an OS error, still an OSError with errno
    spare = os.open(os.devnull, os.O_RDONLY)
    os.close(spare)
    with pytest.raises(NetworkError) as info:
        reactor.register(spare, READ)
    assert isinstance(info.value, OSError) and info.value.errno == errno.EBADF
    assert spare not in reactor


def test_regular_file_is_refused_by_epoll_backends(reactor: Reactor) -> None:
    if reactor.backend_name == "selectors" and _backends.SelectorsBackend().fileno() < 0:
        pytest.skip("select()/poll() accept regular files")
    with tempfile.TemporaryFile() as f:
        with pytest.raises(NetworkError) as info:
            reactor.register(f, READ)
        assert info.value.errno == errno.EPERM


def test_unregister_after_close_finds_object(reactor: Reactor) -> None:
    a, b = socket.socketpair()
    reactor.register(a, READ, data="x")
    a.close()  # closed before unregister: documented as allowed for unregister
    key = reactor.unregister(a)
    assert key.data == "x" and len(reactor) == 0
    b.close()


def test_timers_interleaved_with_io_fake_clock(
    reactor: Reactor, pair: tuple[socket.socket, ...]
) -> None:
    clock = FakeClock()
    with Reactor(backend=reactor.backend_name, clock=clock) as r:
        a, b = pair
        r.register(a, READ, data="sock")
        t1 = r.add_timer(1.0, data="t1")
        t2 = r.add_timer(2.0, data="t2", repeat=1.0)
        assert r.wait(timeout=0) == []
        clock.now += 1.0
        b.send(b"x")
        events = r.wait(timeout=0)
        assert events == [IOEvent(a, READ, "sock"), TimerEvent(t1, "t1")]
        a.recv(10)
        clock.now += 1.5
        assert r.wait(timeout=0) == [TimerEvent(t2, "t2")]
        clock.now += 0.5
        b.send(b"y")
        assert r.wait(timeout=5) == [IOEvent(a, READ, "sock"), TimerEvent(t2, "t2")]
        t2.cancel()
        assert len(r.timers) == 0


def test_timer_shortens_wait_real_clock(reactor: Reactor) -> None:
    timer = reactor.add_timer(0.02, data="soon")
    start = time.monotonic()
    events: list[Event] = []
    while not events and time.monotonic() - start < 10:
        events = reactor.wait(timeout=30)
    assert events == [TimerEvent(timer, "soon")]
    assert time.monotonic() - start < 10
    assert time.monotonic() - start >= 0.015


def test_default_timeout(reactor: Reactor) -> None:
    reactor.default_timeout = 0.01
    assert reactor.wait() == []  # returns instead of blocking forever
    assert reactor.wait(timeout=-5) == []


def test_wakeup_from_other_thread(reactor: Reactor) -> None:
    thread = threading.Timer(0.05, reactor.wakeup)
    start = time.monotonic()
    thread.start()
    try:
        assert reactor.wait(timeout=20) == []  # the wake-up fd is never reported
    finally:
        thread.join()
    assert time.monotonic() - start < 10


def test_wakeups_coalesce_and_are_drained(reactor: Reactor) -> None:
    for _ in range(1000):
        reactor.wakeup()
    assert reactor.wait(timeout=5) == []
    assert not reactor._wake_pending
    with pytest.raises(BlockingIOError):  # drained: nothing left to read
        os.read(reactor._wake_r, 8)
    reactor.wakeup()  # and a new wake-up works again
    start = time.monotonic()
    assert reactor.wait(timeout=20) == []
    assert time.monotonic() - start < 10


def test_edge_triggered_draining(reactor: Reactor, pair: tuple[socket.socket, ...]) -> None:
    a, b = pair
    reactor.register(a, READ, data="a")
    b.send(b"one")
    assert [ev.data for ev in io_events(reactor.wait(timeout=1))] == ["a"]
    if reactor.edge_triggered:
        # not drained, but no new edge: not reported again
        assert io_events(reactor.wait(timeout=0.01)) == []
        b.send(b"two")  # new data is a new edge
        assert [ev.data for ev in io_events(reactor.wait(timeout=1))] == ["a"]
        assert a.recv(100) == b"onetwo"
        with pytest.raises(BlockingIOError):
            a.recv(100)
        assert io_events(reactor.wait(timeout=0.01)) == []
        # modify() re-arms an edge-triggered registration that is still ready
        b.send(b"three")
        assert len(io_events(reactor.wait(timeout=1))) == 1
        reactor.modify(a, READ)
        assert len(io_events(reactor.wait(timeout=1))) == 1
    else:
        # level-triggered: reported until drained
        assert [ev.data for ev in io_events(reactor.wait(timeout=0))] == ["a"]
        assert a.recv(100) == b"one"
        assert io_events(reactor.wait(timeout=0)) == []


def test_iter_events_skips_what_earlier_handlers_removed(reactor: Reactor) -> None:
    clock = FakeClock()
    pairs = [socket.socketpair() for _ in range(2)]
    try:
        with Reactor(backend=reactor.backend_name, clock=clock) as r:
            for i, (a, b) in enumerate(pairs):
                r.register(a, READ, data=i)
                b.send(b"x")
            ta = r.add_timer(1.0, "ta")
            tb = r.add_timer(1.0, "tb")
            tc = r.add_timer(1.0, "tc")
            clock.now += 1
            seen: list[object] = []
            for ev in r.iter_events(timeout=0):
                seen.append(ev.data)  # type: ignore[union-attr]
                if isinstance(ev, IOEvent):  # the first I/O handler drops the other socket
                    ev.fileobj.recv(10)  # type: ignore[union-attr]
                    other = pairs[1 - ev.data][0]  # type: ignore[operator]
                    if other in r:
                        r.unregister(other)
                if isinstance(ev, TimerEvent) and ev.timer is ta:
                    tb.cancel()
                    r.add_timer(0, "next batch")
            assert len([d for d in seen if isinstance(d, int)]) == 1
            assert [d for d in seen if isinstance(d, str)] == ["ta", "tc"]
            assert tc.state.value == "fired"
            assert [ev.data for ev in r.wait(timeout=0)] == ["next batch"]  # type: ignore[union-attr]
    finally:
        for a, b in pairs:
            a.close()
            b.close()


def test_wait_list_marks_timer_cancelled_during_dispatch(reactor: Reactor) -> None:
    clock = FakeClock()
    with Reactor(backend=reactor.backend_name, clock=clock) as r:
        first = r.add_timer(1.0, "first")
        second = r.add_timer(1.0, "second")
        clock.now += 1
        handled = []
        for ev in r.wait(timeout=0):
            assert isinstance(ev, TimerEvent)
            if ev.timer.cancelled:
                continue
            handled.append(ev.data)
            if ev.timer is first:
                second.cancel()
        assert handled == ["first"]


def test_timer_limits_reach_the_reactor() -> None:
    with Reactor(backend="selectors", timer_limits=TimerLimits(max_timers=2)) as r:
        r.add_timer(1)
        r.add_timer(1)
        with pytest.raises(LimitExceeded):
            r.add_timer(1)
        with pytest.raises(LimitExceeded):
            r.add_timer(1e12)


def test_closed_reactor(pair: tuple[socket.socket, ...]) -> None:
    r = Reactor(backend="selectors")
    r.register(pair[0], READ)
    r.close()
    r.close()  # idempotent
    assert r.closed and "closed" in repr(r)
    for op in (
        lambda: r.wait(0),
        lambda: r.register(pair[1], READ),
        lambda: r.add_timer(1),
        lambda: r.unregister(pair[0]),
    ):
        with pytest.raises(LocalProtocolError, match="closed"):
            op()
    r.wakeup()  # harmless on a closed reactor


def test_signals_as_events(reactor: Reactor) -> None:
    assert threading.current_thread() is threading.main_thread()
    before_handler = signal.getsignal(signal.SIGUSR1)
    reactor.watch_signals({signal.SIGUSR1, signal.SIGUSR2})
    assert reactor.watched_signals() == {signal.SIGUSR1, signal.SIGUSR2}
    os.kill(os.getpid(), signal.SIGUSR1)
    os.kill(os.getpid(), signal.SIGUSR1)  # coalesced within one batch
    events: list[Event] = []
    deadline = time.monotonic() + 10
    while not events and time.monotonic() < deadline:
        events = reactor.wait(timeout=1)
    assert events == [SignalEvent(signal.SIGUSR1)]
    assert events[0].signum is signal.SIGUSR1  # type: ignore[union-attr]
    reactor.unwatch_signals()
    assert signal.getsignal(signal.SIGUSR1) is before_handler
    assert reactor.watched_signals() == frozenset()


def test_signals_restored_on_close() -> None:
    previous_fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(previous_fd)
    seen: list[int] = []

    def mine(signum: int, frame: object) -> None:
        seen.append(signum)

    old = signal.signal(signal.SIGUSR2, mine)
    try:
        with Reactor(backend="selectors") as r:
            r.watch_signals([signal.SIGUSR2])
            assert signal.getsignal(signal.SIGUSR2) is not mine
            os.kill(os.getpid(), signal.SIGUSR2)
            assert r.wait(timeout=5) == [SignalEvent(signal.SIGUSR2)]
            assert seen == []  # our handler did not run: it became an event
        assert signal.getsignal(signal.SIGUSR2) is mine
        current = signal.set_wakeup_fd(-1)
        signal.set_wakeup_fd(current)
        assert current == previous_fd
        os.kill(os.getpid(), signal.SIGUSR2)
        assert seen == [signal.SIGUSR2]
    finally:
        signal.signal(signal.SIGUSR2, old)


def test_watch_signals_errors() -> None:
    with Reactor(backend="selectors") as r:
        with pytest.raises(LocalProtocolError):
            r.watch_signals([99999])
        with pytest.raises(LocalProtocolError):
            r.watch_signals([signal.SIGKILL])
        errors: list[BaseException] = []

        def from_thread() -> None:
            try:
                r.watch_signals([signal.SIGUSR1])
            except LocalProtocolError as exc:
                errors.append(exc)

        t = threading.Thread(target=from_thread)
        t.start()
        t.join()
        assert len(errors) == 1 and "main thread" in str(errors[0])
        assert signal.SIGUSR1 not in r.watched_signals()


def test_unavailable_backend_is_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    from sockit.net import _epoll_cffi

    monkeypatch.setattr(_epoll_cffi, "_loaded", None)
    monkeypatch.setattr(_epoll_cffi, "_load_error", "no cffi here")
    with pytest.raises(LocalProtocolError, match="cffi epoll backend is unavailable"):
        Reactor(backend="cffi")
    assert "cffi" not in available_backends()
    assert default_backend_name() in {"epoll", "selectors"}


def test_cffi_struct_layout() -> None:
    from sockit.net import _epoll_cffi

    if "cffi" not in BACKENDS:
        pytest.skip("cffi backend unavailable")
    lib = _epoll_cffi._load()
    packed = _epoll_cffi._is_packed_arch(os.uname().machine)
    assert lib.size == (12 if packed else 16)
    assert lib.ffi.offsetof("struct epoll_event", "data") == (4 if packed else 8)
    assert _epoll_cffi._is_packed_arch("x86_64") and not _epoll_cffi._is_packed_arch("aarch64")


def test_signal_interrupting_a_blocked_wait(reactor: Reactor) -> None:
    """pthread_kill the main thread while it sits in epoll_wait: EINTR is handled."""
    reactor.watch_signals([signal.SIGUSR1])
    main = threading.main_thread().ident
    assert main is not None
    sender = threading.Timer(0.05, signal.pthread_kill, args=(main, signal.SIGUSR1))
    start = time.monotonic()
    sender.start()
    try:
        events: list[Event] = []
        while not events and time.monotonic() - start < 10:
            events = reactor.wait(timeout=20)
    finally:
        sender.join()
    assert events == [SignalEvent(signal.SIGUSR1)]
    assert time.monotonic() - start < 10


class Boom(Exception):
    pass


def test_raising_signal_handler_ends_a_blocked_wait(reactor: Reactor) -> None:
    """An unwatched signal whose handler raises (like SIGINT) propagates from wait()."""

    def handler(signum: int, frame: object) -> None:
        raise Boom

    old = signal.signal(signal.SIGUSR2, handler)
    main = threading.main_thread().ident
    assert main is not None
    sender = threading.Timer(0.05, signal.pthread_kill, args=(main, signal.SIGUSR2))
    start = time.monotonic()
    sender.start()
    try:
        with pytest.raises(Boom):
            reactor.wait(timeout=20)
    finally:
        sender.join()
        signal.signal(signal.SIGUSR2, old)
    assert time.monotonic() - start < 10


def _wake_fd_readable(reactor: Reactor) -> bool:
    import select

    return bool(select.select([reactor._wake_r], [], [], 0)[0])


@pytest.mark.parametrize("racing", ["before_drain", "after_drain"])
def test_wakeup_racing_the_drain_is_never_lost(
    reactor: Reactor, monkeypatch: pytest.MonkeyPatch, racing: str
) -> None:
    """A wakeup() from another thread can land while wait() handles the previous one.

    Whichever side of the drain it lands on, the next wakeup() must still make
    the wake-up descriptor readable: a swallowed write with the pending flag
    left set would silence every later wakeup() (stop() and call_soon() of a
    server loop blocked forever).
    """
    import sockit.net.reactor as reactor_module

    real_drain = reactor_module.drain_fd

    def drain_with_a_racing_wakeup(fd: int) -> None:
        if racing == "before_drain":
            reactor.wakeup()
            real_drain(fd)
        else:
            real_drain(fd)
            reactor.wakeup()

    reactor.wakeup()
    monkeypatch.setattr(reactor_module, "drain_fd", drain_with_a_racing_wakeup)
    assert reactor.wait(0) == []  # handles the first wake-up; the racing one lands
    monkeypatch.setattr(reactor_module, "drain_fd", real_drain)
    reactor.wait(0)  # consume whatever the race left behind
    reactor.wakeup()
    assert _wake_fd_readable(reactor), "wakeup() was swallowed: the loop would sleep on"
    assert reactor.wait(0) == []
    assert not _wake_fd_readable(reactor)
