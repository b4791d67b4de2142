"""The kernel's own SYN-flood defences, set and read from Python.

Userspace scoring (:class:`~sockit.net.protect.SYNProtector`) only sees
connections the kernel has completed; these helpers cover what happens before
that: ``TCP_DEFER_ACCEPT`` keeps handshakes that never send data out of the
accept queue, ``SO_REUSEPORT`` spreads one port's accept queue over several
listeners (one per worker), and SYN cookies and ``somaxconn`` decide how a
full backlog behaves. The ``/proc`` readers are Linux-only and answer ``None``
(or a portable fallback) elsewhere rather than raising.
"""

from __future__ import annotations

import socket
from typing import Final

from sockit.errors import LocalProtocolError
from sockit.net.tcp import Socket, listen_tcp

__all__ = [
    "MAX_REUSEPORT_GROUP",
    "listen_backlog_max",
    "reuseport_group",
    "set_defer_accept",
    "syncookies_enabled",
]

SYNCOOKIES_PATH: Final = "/proc/sys/net/ipv4/tcp_syncookies"
SOMAXCONN_PATH: Final = "/proc/sys/net/core/somaxconn"
MAX_REUSEPORT_GROUP: Final = 1024
"""The most listeners :func:`reuseport_group` will open (a guard against typos)."""

_MAX_DEFER: Final = 0x7FFFFFFF


def set_defer_accept(sock: Socket, seconds: int) -> int:
    """Hold connections out of ``accept()`` until data arrives or ``seconds`` pass.

    A flood of handshakes that never send a byte then costs no accept, no
    pool slot and no protector check. Returns the value read back: Linux
    rounds ``seconds`` up to its SYN-ACK retransmission steps. ``0`` turns it
    off. Raises :class:`~sockit.errors.NetworkError` (``ENOPROTOOPT``) where
    the option does not exist.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= _MAX_DEFER:
        raise LocalProtocolError(f"defer-accept seconds must be an int in 0..{_MAX_DEFER}")
    sock.defer_accept = seconds
    return sock.defer_accept


def reuseport_group(host: str, port: int, n: int, *, backlog: int = 128) -> list[Socket]:
    """``n`` listeners bound to one port with ``SO_REUSEPORT`` (one per worker).

    The kernel hashes each new connection to one of them, so every worker
    gets its own accept queue and a flood fills all queues evenly instead of
    one shared queue. ``port=0`` lets the kernel pick a port for the first
    listener and binds the rest to the same one. On any failure the listeners
    already opened are closed.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_REUSEPORT_GROUP:
        raise LocalProtocolError(f"reuseport group size must be an int in 1..{MAX_REUSEPORT_GROUP}")
    group: list[Socket] = []
    try:
        first = listen_tcp(host, port, backlog=backlog, reuse_port=True)
        group.append(first)
        actual = int(first.getsockname()[1])
        for _ in range(n - 1):
            group.append(listen_tcp(host, actual, backlog=backlog, reuse_port=True))
    except BaseException:
        for sock in group:
            sock.close()
        raise
    return group


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            return int(fh.read(64).strip())
    except (OSError, ValueError):
        return None


def syncookies_enabled(path: str = SYNCOOKIES_PATH) -> bool | None:
    """Whether the kernel answers a full SYN backlog with SYN cookies.

    ``True`` for modes 1 (when the backlog overflows) and 2 (always), ``False``
    for 0, ``None`` when it cannot be read (not Linux, no ``/proc``).
    """
    value = _read_int(path)
    return None if value is None else value != 0


def listen_backlog_max(path: str = SOMAXCONN_PATH) -> int:
    """The kernel's cap on a listen backlog (``net.core.somaxconn``).

    A ``backlog`` passed to ``listen()`` above it is silently cut to it, so a
    server sizing its accept queue for a flood should check. Falls back to
    :data:`socket.SOMAXCONN` where ``/proc`` cannot be read.
    """
    value = _read_int(path)
    return socket.SOMAXCONN if value is None or value <= 0 else value
