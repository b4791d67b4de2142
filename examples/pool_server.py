"""A line-protocol server on the reactor and a ConnectionPool, with graceful drain.

Run: ``python examples/pool_server.py --port 9000`` and try
``printf 'PING\\nSTATS\\nQUIT\\n' | nc 127.0.0.1 9000``. Commands, one per line:
``PING`` -> ``PONG``, ``STATS`` -> one line of pool statistics, ``QUIT`` ->
``BYE`` and the server closes the connection; anything else -> ``ERR``.

What the pool does here, and what the loop does:

* ``pool.accept(listener)`` accepts a batch and applies the per-IP cap (and a
  rate, if configured); refused sockets are already closed, admitted ones come
  back as ``PooledConnection`` and the loop registers them.
* Each connection reads into its pooled ``recv_buffer`` (no allocation per
  read) and keeps its protocol state in ``conn.data``.
* ``pool.schedule(reactor)`` adds the idle-cleanup timer; its events say which
  connections were closed for silence.
* SIGTERM or SIGINT arrive as reactor events. The first one starts a drain:
  the listener is closed, connections in the middle of a conversation carry
  on until they QUIT, and ``check_drain()`` reports ``PoolDrained`` when the
  last one leaves (or force-closes the rest at ``--grace`` seconds).

``SOCKIT_EXAMPLE_SELFTEST=1`` (the test suite) runs the server on a free port
with clients in a thread, sends itself SIGTERM halfway, checks every reply
and prints a summary.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field

from sockit.errors import NetworkError
from sockit.limits import PoolLimits
from sockit.net import READ, WRITE, IOEvent, Reactor, SignalEvent, TimerEvent, listen_tcp
from sockit.net.pool import (
    ConnectionIdle,
    ConnectionPool,
    DrainDeadline,
    PoolDrained,
    PooledConnection,
)

MAX_LINE = 1024


@dataclass
class Session:
    """What one connection's protocol needs between reads."""

    inbox: bytearray = field(default_factory=bytearray)
    outbox: bytearray = field(default_factory=bytearray)
    closing: bool = False


class PoolServer:
    """PING/PONG over TCP, one pooled connection per client."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, idle_timeout: float = 300.0,
                 cleanup_interval: float = 60.0, max_per_ip: int = 100,
                 grace: float = 30.0) -> None:
        self.listener = listen_tcp(host, port, backlog=512)
        self.reactor = Reactor()
        limits = PoolLimits(idle_timeout=idle_timeout, cleanup_interval=cleanup_interval)
        self.pool = ConnectionPool(limits, max_per_ip=max_per_ip, reactor=self.reactor,
                                   name="line")
        self.pool.schedule()
        self.reactor.register(self.listener, READ, data=self.listener)
        self.grace = grace
        self.idle_closed = 0
        self.forced = 0
        self.drained_after: float | None = None

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        return int(self.listener.getsockname()[1])

    def serve_forever(self) -> None:
        """Serve until a drain (SIGTERM/SIGINT) completes."""
        self.reactor.watch_signals({signal.SIGINT, signal.SIGTERM})
        try:
            while self.drained_after is None:
                for ev in self.reactor.wait(1.0):
                    if isinstance(ev, IOEvent):
                        if ev.data is self.listener:
                            self._accept()
                        elif isinstance(ev.data, PooledConnection):
                            self._ready(ev.data, ev)
                    elif isinstance(ev, TimerEvent) and ev.data is self.pool:
                        self._pool_events(self.pool.handle_timer())
                    elif isinstance(ev, SignalEvent):
                        self._start_drain()
                self._pool_events(self.pool.check_drain())
        finally:
            self.close()

    def _start_drain(self) -> None:
        if self.pool.draining:
            return
        print(f"draining {len(self.pool)} connection(s), up to {self.grace} s", flush=True)
        self.reactor.unregister(self.listener)
        self.listener.close()  # new clients get "connection refused" at once
        self.pool.drain(self.grace)

    def _pool_events(self, events: list[ConnectionIdle | DrainDeadline | PoolDrained]) -> None:
        for pe in events:
            if isinstance(pe, ConnectionIdle):
                self.idle_closed += 1
            elif isinstance(pe, DrainDeadline):
                self.forced += pe.forced
            elif isinstance(pe, PoolDrained):
                self.drained_after = pe.duration

    def _accept(self) -> None:
        for item in self.pool.accept(self.listener):
            if isinstance(item, PooledConnection):
                item.data = Session()
                self.reactor.register(item.sock, READ, data=item)

    def _ready(self, conn: PooledConnection, ev: IOEvent) -> None:
        try:
            if ev.writable:
                self._flush(conn)
            if ev.readable:
                self._read(conn)
        except NetworkError:  # reset by peer and the like
            self.pool.remove(conn)

    def _read(self, conn: PooledConnection) -> None:
        buf = conn.recv_buffer
        n = conn.sock.try_recv_into(buf)
        if n is None:
            return
        if n == 0:
            self.pool.remove(conn)
            return
        conn.record_received(n)
        session = conn.data
        assert isinstance(session, Session)
        session.inbox += buf[:n]
        while not session.closing and (end := session.inbox.find(b"\n")) >= 0:
            line = bytes(session.inbox[:end]).strip()
            del session.inbox[: end + 1]
            session.outbox += self._answer(line, session)
        if len(session.inbox) > MAX_LINE:
            session.outbox += b"ERR line too long\n"
            session.closing = True
        self._flush(conn)

    def _answer(self, line: bytes, session: Session) -> bytes:
        if line == b"PING":
            return b"PONG\n"
        if line == b"QUIT":
            session.closing = True
            return b"BYE\n"
        if line == b"STATS":
            s = self.pool.stats
            return (f"STATS active={s.active} created={s.created} closed={s.closed} "
                    f"health={self.pool.health.value}\n").encode()
        return b"ERR unknown command\n"

    def _flush(self, conn: PooledConnection) -> None:
        session = conn.data
        assert isinstance(session, Session)
        if session.outbox:
            sent = conn.sock.try_send(session.outbox).sent
            conn.record_sent(sent)
            del session.outbox[:sent]
        if session.outbox:  # kernel buffer full: wait for room, stop reading
            self.reactor.modify(conn.sock, WRITE)
        elif session.closing:
            self.pool.remove(conn)
        else:
            self.reactor.modify(conn.sock, READ)

    def close(self) -> None:
        """Close every connection, the listener and the reactor."""
        self.pool.close()
        if not self.listener.closed:
            self.listener.close()
        self.reactor.close()


def self_test() -> None:
    server = PoolServer(idle_timeout=0.5, cleanup_interval=0.05, max_per_ip=8, grace=10.0)
    port = server.port
    report: dict[str, int] = {"pings": 0, "pongs": 0, "clients": 0, "bye": 0}
    problems: list[str] = []

    def ping(s: socket.socket, f: io.BufferedReader, times: int) -> None:
        for _ in range(times):
            s.sendall(b"PING\n")
            report["pings"] += 1
            if f.readline() == b"PONG\n":
                report["pongs"] += 1

    def clients() -> None:
        try:
            idle = socket.create_connection(("127.0.0.1", port), timeout=5)  # never speaks
            socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]
            # 1 idle + 5 + 4 = 10 connections from 127.0.0.1, 8 allowed: 2 refused
            extra = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(4)]
            refused = sum(1 for e in extra if _closed_by_server(e))
            if refused != 2:
                problems.append(f"expected 2 per-IP refusals, saw {refused}")
            files = [s.makefile("rb") for s in socks]
            idle.settimeout(0.02)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # busy clients stay, the silent one goes
                for s, f in zip(socks, files, strict=True):
                    ping(s, f, 1)
                try:
                    if idle.recv(1) == b"":
                        break
                except TimeoutError:
                    pass
            else:
                problems.append("the idle connection was not closed")
            os.kill(os.getpid(), signal.SIGTERM)  # start the drain
            time.sleep(0.05)
            for s, f in zip(socks, files, strict=True):  # conversations carry on
                ping(s, f, 10)
                s.sendall(b"QUIT\n")
                if f.readline() == b"BYE\n":
                    report["bye"] += 1
            report["clients"] = len(socks)
            for s in [idle, *socks, *extra]:
                s.close()
        except Exception as exc:
            problems.append(repr(exc))
            server.pool.drain(0)

    thread = threading.Thread(target=clients)
    thread.start()
    server.serve_forever()
    thread.join()
    ok = (not problems and report["pongs"] == report["pings"] >= 50 and report["bye"] == 5
          and server.idle_closed >= 1 and server.forced == 0 and server.drained_after is not None)
    print(f"pool server {'ok' if ok else 'FAILED'}: {report['clients']} clients, "
          f"every ping answered, idle closed, drained without force")
    if not ok:
        print("problems:", problems, report, server.idle_closed, server.forced)
        raise SystemExit(1)


def _closed_by_server(s: socket.socket) -> bool:
    """True if the server closed ``s`` right away (refused by the pool)."""
    s.sendall(b"PING\n")
    try:
        return s.recv(16) == b""
    except ConnectionResetError:
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description="sockit ConnectionPool line server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--idle-timeout", type=float, default=300.0)
    parser.add_argument("--max-per-ip", type=int, default=100)
    parser.add_argument("--grace", type=float, default=30.0, help="drain deadline, seconds")
    args = parser.parse_args()
    server = PoolServer(args.host, args.port, idle_timeout=args.idle_timeout,
                        cleanup_interval=min(60.0, args.idle_timeout / 2),
                        max_per_ip=args.max_per_ip, grace=args.grace)
    print(f"line server on {args.host}:{server.port}; SIGTERM or Ctrl-C drains", flush=True)
    server.serve_forever()
    print(f"drained in {server.drained_after:.3f} s ({server.forced} forced)")


if __name__ == "__main__":
    if os.environ.get("SOCKIT_EXAMPLE_SELFTEST") == "1":
        self_test()
    else:
        main()
