"""The server under abuse: slowloris and slow readers (churn: test_server_churn.py).

Each attack runs next to a well-behaved client that must keep being served
promptly; every attacker must be cut off by the timeout that covers its
phase (``request_read_timeout`` for trickled heads and bodies,
``response_write_timeout`` for readers that stop reading). Counts and times
are bounded so the whole file runs in well under a minute on two cores.

Attackers come from several loopback addresses (``127.0.10.x``), as real
ones would, so the per-client connection limit (100 by default) is not what
stops them: the timeouts are.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import pytest

from sockit.limits import ServerLimits
from sockit.observe import REGISTRY
from sockit.server import Response, ServerRequest
from tests.server.harness import demo_app, running
from tests.server.rawclient import RawClient, wait_until

READ_TIMEOUT = 1.5
WRITE_TIMEOUT = 1.0
#: slowloris connections, spread over this many source addresses
SLOW_CLIENTS = 240
SLOW_SOURCES = 4
#: a normal client's request must be answered within this long while under attack
PROMPT = 0.5

BIG = b"b" * (8 * 1024 * 1024)


def _timeouts(phase: str) -> float:
    family = REGISTRY.get("sockit_server_timeouts_total")
    return 0.0 if family is None else float(family.labels(phase).value)


def _source(i: int) -> str:
    """A loopback source address other than 127.0.0.1 (the whole of 127/8 is loopback)."""
    return f"127.0.{i // 250 + 10}.{i % 250 + 2}"


#: Linux: bind picks no port, connect does, per 4-tuple (so TIME_WAIT ones are reused)
_BIND_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def _connect_from(src: str, port: int, *, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_IP, _BIND_NO_PORT, 1)
    if rcvbuf is not None:  # before connect, so the window is small from the start
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.bind((src, 0))
    sock.connect(("127.0.0.1", port))
    return sock


@dataclass
class Prober:
    """A normal client asking ``/probe`` every 50 ms on one keep-alive connection."""

    port: int
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with RawClient(self.port) as client:
            n = 0
            while not self._stop.is_set():
                start = time.monotonic()
                try:
                    resp = client.get(f"/probe{n}")
                except Exception as exc:  # recorded, then asserted on by the test
                    self.failures.append(repr(exc))
                    return
                self.latencies.append(time.monotonic() - start)
                if resp.status != 200 or resp.body != f"GET /probe{n}".encode():
                    self.failures.append(f"{resp.status} {resp.body!r}")
                n += 1
                self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(10)

    def check(self, seconds: float) -> None:
        assert not self.failures, self.failures
        # it kept going the whole time, each answer prompt
        assert len(self.latencies) >= seconds / 0.2, len(self.latencies)
        assert max(self.latencies) < PROMPT, sorted(self.latencies)[-5:]


@dataclass
class Trickler:
    """A slowloris connection: its socket, what it still has to send, how it ended."""

    sock: socket.socket
    rest: bytes
    opened: float
    sent: int = 0
    received: bytes = b""
    ended: float | None = None
    how: str = ""


def _end(t: Trickler, how: str) -> None:
    if t.ended is None:
        t.ended = time.monotonic()
        t.how = how


def _read_available(t: Trickler) -> bool:
    """Take what arrived; whether the server has ended the connection."""
    try:
        data = t.sock.recv(65536)
    except BlockingIOError:
        return False
    except ConnectionResetError:
        _end(t, "reset")
        return True
    if data:
        t.received += data
        return False
    _end(t, "eof")
    return True


def _trickle(tricklers: list[Trickler], seconds: float) -> None:
    """Send one byte per second on every live connection for ``seconds``; watch for the cut."""
    sel = selectors.DefaultSelector()
    for t in tricklers:
        t.sock.setblocking(False)
        sel.register(t.sock, selectors.EVENT_READ, t)
    deadline = time.monotonic() + seconds
    next_tick = time.monotonic()
    try:
        while time.monotonic() < deadline and any(t.ended is None for t in tricklers):
            now = time.monotonic()
            if now >= next_tick:
                next_tick += 1.0
                for t in tricklers:
                    if t.ended is None and t.rest:
                        try:
                            t.sock.send(t.rest[:1])
                        except (BrokenPipeError, ConnectionResetError):
                            _end(t, "reset")
                            continue
                        t.rest = t.rest[1:]
                        t.sent += 1
            for key, _ in sel.select(max(0.0, min(next_tick, deadline) - time.monotonic())):
                t = key.data
                if t.ended is None and _read_available(t):
                    sel.unregister(t.sock)
    finally:
        sel.close()


def _slowloris(port: int, part: str) -> list[Trickler]:
    """``SLOW_CLIENTS`` connections about to trickle; ``part`` says what.

    ``head``: a request head; ``body``: the head at once, then its body;
    ``second``: a first request answered at once, then the next head (a
    keep-alive connection turned slowloris).
    """
    tricklers = []
    long_head = b"GET / HTTP/1.1\r\nHost: t\r\n" + b"X-Slow: " + b"s" * 200 + b"\r\n\r\n"
    body_req = b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"
    for i in range(SLOW_CLIENTS):
        sock = _connect_from(_source(i % SLOW_SOURCES), port)
        if part == "body":
            sock.sendall(body_req)
            rest = b"x" * 100
        else:
            if part == "second":
                sock.sendall(b"GET /first HTTP/1.1\r\nHost: t\r\n\r\n")
                got = b""
                while not got.endswith(b"GET /first"):
                    data = sock.recv(4096)
                    assert data, f"closed after {got!r}"
                    got += data
            sock.sendall(long_head[:1])
            rest = long_head[1:]
        tricklers.append(Trickler(sock, rest, time.monotonic(), sent=1))
    return tricklers


@pytest.mark.parametrize("part", ["head", "body", "second"])
def test_slowloris_is_cut_off_by_the_read_timeout_while_others_are_served(part: str) -> None:
    limits = ServerLimits().replace(request_read_timeout=READ_TIMEOUT)
    before = _timeouts("read")
    with running(limits=limits) as srv:
        prober = Prober(srv.port)
        prober.start()
        start = time.monotonic()
        tricklers = _slowloris(srv.port, part)
        try:
            assert wait_until(lambda: srv.connection_count >= SLOW_CLIENTS, timeout=10)
            _trickle(tricklers, READ_TIMEOUT + 3.0)
            for t in tricklers:  # the server closes right after its 408: read what is left
                if t.ended is None:
                    t.sock.setblocking(True)
                    t.sock.settimeout(2.0)
                    while not _read_available(t):
                        pass
        finally:
            for t in tricklers:
                t.sock.close()
        prober.stop()
        elapsed = time.monotonic() - start
        assert wait_until(lambda: srv.connection_count <= 1, timeout=5)  # the prober's is left
    prober.check(elapsed)
    lifetimes = sorted((t.ended or 0.0) - t.opened for t in tricklers)
    print(f"slowloris ({part}): {len(tricklers)} cut after {lifetimes[0]:.2f}"
          f"..{lifetimes[-1]:.2f} s (read timeout {READ_TIMEOUT} s); prober "
          f"{len(prober.latencies)} requests, worst {max(prober.latencies) * 1000:.1f} ms")
    for t in tricklers:
        assert t.ended is not None
        assert t.received.startswith(b"HTTP/1.1 408 "), t.received[:80]
        assert t.how in ("eof", "reset")
        assert t.rest, "a trickler finished its request: the timeout did not cut it"
        # cut by the read deadline: not early, and within a second's tick of it
        assert READ_TIMEOUT - 0.05 <= t.ended - t.opened <= READ_TIMEOUT + 1.5
        assert t.sent <= READ_TIMEOUT + 2
    assert _timeouts("read") - before >= SLOW_CLIENTS


def _h2_stream_cut(port: int, trickle: bool, wait: float) -> str | None:
    """Open an HTTP/2 POST stream whose body never completes; how the server ended it.

    ``trickle`` sends one body byte every 0.5 s, else nothing after HEADERS.
    Returns ``None`` if the stream was still open after ``wait`` seconds.
    """
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    conn.send_headers(1, [(":method", "POST"), (":path", "/echo"), (":scheme", "http"),
                          (":authority", "t"), ("content-length", "100")])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(conn.data_to_send())
        sock.settimeout(0.5)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if trickle:
                conn.send_data(1, b"x")
                try:
                    sock.sendall(conn.data_to_send())
                except OSError as exc:
                    return f"send failed: {exc!r}"
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                return "reset"
            if not data:
                return "eof"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.StreamReset | h2.events.ResponseReceived):
                    return type(event).__name__
                if (
                    isinstance(event, h2.events.ConnectionTerminated)
                    and event.last_stream_id is not None
                    and event.last_stream_id < 1
                ):
                    return "GOAWAY before stream 1"
            sock.sendall(conn.data_to_send())
    return None


@pytest.mark.parametrize("trickle", [False, True], ids=["silent", "trickle"])
def test_http2_request_that_never_completes_is_cut_by_the_read_timeout(trickle: bool) -> None:
    limits = ServerLimits().replace(request_read_timeout=READ_TIMEOUT)
    with running(limits=limits) as srv:
        how = _h2_stream_cut(srv.port, trickle, READ_TIMEOUT + 2.0)
        assert how is not None, "the stream was still open well after the read timeout"


def _big_app(request: ServerRequest) -> Response | None:
    if request.path == "/big":
        return Response(200, [("Content-Type", "application/octet-stream")], BIG)
    if request.path == "/stream":
        return Response(200, None, (BIG[:65536] for _ in range(128)))
    return demo_app(request)


def _stuck_reader(port: int, src: str, path: str) -> socket.socket:
    sock = _connect_from(src, port, rcvbuf=4096)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    return sock


def _ended_by_server(sock: socket.socket) -> bool:
    """Drain what was received; True once the server reset or closed (never all 8 MiB)."""
    sock.settimeout(5)
    got = 0
    try:
        while True:
            data = sock.recv(1 << 20)
            if not data:
                break
            got += len(data)
    except ConnectionResetError:
        return True
    return got < len(BIG)


def test_slow_readers_are_cut_off_by_the_write_timeout_while_others_are_served() -> None:
    limits = ServerLimits().replace(response_write_timeout=WRITE_TIMEOUT)
    readers = 40
    before = _timeouts("write")
    with running(_big_app, limits=limits) as srv:
        prober = Prober(srv.port)
        prober.start()
        start = time.monotonic()
        socks = [
            _stuck_reader(srv.port, _source(i % 2), "/big" if i % 2 else "/stream")
            for i in range(readers)
        ]
        try:
            assert wait_until(lambda: srv.connection_count >= readers + 1, timeout=10)
            # nobody reads: each one stalls, then the write deadline resets it
            assert wait_until(lambda: srv.connection_count <= 1, timeout=WRITE_TIMEOUT + 5)
            cut_after = time.monotonic() - start
            assert all(_ended_by_server(sock) for sock in socks)
        finally:
            for sock in socks:
                sock.close()
        prober.stop()
        elapsed = time.monotonic() - start
        with RawClient(srv.port) as client:  # and a normal reader still gets all 8 MiB
            resp = client.get("/big")
            assert resp.status == 200
            assert resp.body == BIG
    prober.check(elapsed)
    print(f"slow readers: {readers} cut within {cut_after:.2f} s (write timeout "
          f"{WRITE_TIMEOUT} s); prober worst {max(prober.latencies) * 1000:.1f} ms")
    assert cut_after >= WRITE_TIMEOUT - 0.05
    assert _timeouts("write") - before >= readers
