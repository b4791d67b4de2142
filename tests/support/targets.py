"""Small loopback servers to reach *through* proxies: a banner-then-echo TCP server
and a UDP echo server, each in a daemon thread."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

__all__ = ["BANNER", "recv_until", "tcp_banner_echo", "udp_echo"]

#: what the TCP target sends first, before reading anything (a server-speaks-first protocol)
BANNER = b"hello from the target\n"


def _serve_client(conn: socket.socket) -> None:
    with conn:
        conn.sendall(BANNER)
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            conn.sendall(data)


@contextmanager
def tcp_banner_echo(host: str = "127.0.0.1") -> Iterator[tuple[str, int]]:
    """A TCP server that sends :data:`BANNER`, then echoes; yields its address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind((host, 0))
    listener.listen(64)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_serve_client, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield host, int(listener.getsockname()[1])
    finally:
        stop.set()
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(5)


@contextmanager
def udp_echo(host: str = "127.0.0.1") -> Iterator[tuple[str, int]]:
    """A UDP server that sends every datagram back to its sender, prefixed with ``echo:``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            sock.sendto(b"echo:" + data, peer)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield host, int(sock.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        sock.close()


def recv_until(read: object, initial: bytes, wanted: bytes, limit: int = 1 << 20) -> bytes:
    """Read with ``read(n)`` (after ``initial``) until ``wanted`` has arrived; return it all."""
    data = bytearray(initial)
    reader = read  # a callable taking a size
    while wanted not in data:
        chunk = reader(65536)  # type: ignore[operator]
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            break
    return bytes(data)
