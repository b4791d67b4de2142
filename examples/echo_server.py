"""A TCP echo server on sockit's callback-free reactor.

Run: ``python examples/echo_server.py --port 9000`` and try
``printf hello | nc -q1 127.0.0.1 9000``. Ctrl-C (SIGINT) or SIGTERM stop it:
the reactor delivers signals as events, so shutdown is an ordinary branch
of the loop, not a handler running at a random point.

The loop shows the pattern every sockit driver follows: one ``wait()``, then
for each event do the non-blocking work that is ready; keep unsent bytes and
stop reading from a peer until they are flushed (back-pressure).

``SOCKIT_EXAMPLE_SELFTEST=1`` (the test suite) starts the server on a free
port, runs clients from a thread, checks every echo and exits.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import threading

from sockit.errors import NetworkError
from sockit.net import READ, WRITE, IOEvent, Reactor, SignalEvent, Socket, listen_tcp


class EchoServer:
    """Echo every byte back to the client that sent it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, backend: str | None = None):
        self.listener = listen_tcp(host, port, backlog=1024)
        self.reactor = Reactor(backend=backend)
        self.reactor.register(self.listener, READ, data=self.listener)
        self.unsent: dict[Socket, memoryview] = {}
        self.connections = 0
        self._stopping = False

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        return int(self.listener.getsockname()[1])

    def stop(self) -> None:
        """Ask the loop to finish; safe from any thread."""
        self._stopping = True
        self.reactor.wakeup()

    def serve_forever(self, *, watch_signals: bool = False) -> None:
        """Run until :meth:`stop` is called (or SIGINT/SIGTERM when watched)."""
        if watch_signals:
            self.reactor.watch_signals({signal.SIGINT, signal.SIGTERM})
        # The loop is written for speed (it is what benchmarks/bench_echo.py
        # measures): locals instead of attribute look-ups, one type() test
        # instead of an isinstance chain, and the common case -- a client's
        # bytes arrive and go straight back -- inline rather than in a method.
        wait = self.reactor.wait
        listener = self.listener
        try:
            while not self._stopping:
                for ev in wait(1.0):
                    if type(ev) is not IOEvent:
                        if type(ev) is SignalEvent:
                            self._stopping = True
                        continue
                    sock = ev.data  # what it was registered with
                    if sock is listener:
                        self._accept()
                    elif ev.writable:  # registered for WRITE only while holding bytes
                        self._flush(sock)
                    else:
                        try:
                            data = sock.try_recv(65536)
                            if data:
                                sent = sock.try_send(data).sent
                                if sent < len(data):
                                    self._hold(sock, memoryview(data)[sent:])
                            elif data is not None:  # b"": the client closed
                                self._drop(sock)
                        except NetworkError:  # reset by peer and the like
                            self._drop(sock)
        finally:
            self.close()

    def _accept(self) -> None:
        for conn in self.listener.accept_batch(64):
            self.connections += 1
            self.reactor.register(conn, READ, data=conn)

    def _hold(self, sock: Socket, rest: memoryview) -> None:
        # kernel buffer full: keep the rest and stop reading until it is flushed
        self.unsent[sock] = rest
        self.reactor.modify(sock, WRITE)

    def _flush(self, sock: Socket) -> None:
        rest = self.unsent.pop(sock)
        try:
            sent = sock.try_send(rest).sent
        except NetworkError:
            self._drop(sock)
            return
        if sent < len(rest):
            self.unsent[sock] = rest[sent:]
        else:
            self.reactor.modify(sock, READ)

    def _drop(self, sock: Socket) -> None:
        self.unsent.pop(sock, None)
        self.reactor.unregister(sock)
        sock.close()

    def close(self) -> None:
        """Close every client, the listener and the reactor."""
        for reg in self.reactor.registered():
            self.reactor.unregister(reg.fileobj)
            reg.fileobj.close()
        self.reactor.close()


def self_test() -> None:
    server = EchoServer()
    clients, rounds = 20, 50
    results: list[bool] = []

    def run_clients() -> None:
        try:
            socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(clients)]
            for r in range(rounds):
                for i, s in enumerate(socks):
                    s.sendall(f"client {i} round {r}\n".encode() * 100)
                for i, s in enumerate(socks):
                    want = f"client {i} round {r}\n".encode() * 100
                    got = b""
                    while len(got) < len(want):
                        got += s.recv(65536)
                    results.append(got == want)
            for s in socks:
                s.close()
        finally:
            server.stop()

    thread = threading.Thread(target=run_clients)
    thread.start()
    server.serve_forever()
    thread.join()
    ok = len(results) == clients * rounds and all(results)
    print(f"echo {'ok' if ok else 'FAILED'}: {server.connections} clients, {len(results)} echoes")
    if not ok:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description="sockit reactor echo server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--backend", default=None, help="selectors, epoll, epoll-et, cffi")
    args = parser.parse_args()
    server = EchoServer(args.host, args.port, args.backend)
    print(f"echoing on {args.host}:{server.port} with the {server.reactor.backend_name} backend",
          flush=True)
    server.serve_forever(watch_signals=True)


if __name__ == "__main__":
    if os.environ.get("SOCKIT_EXAMPLE_SELFTEST") == "1":
        self_test()
    else:
        main()
