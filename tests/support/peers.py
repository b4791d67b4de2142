"""Start real third-party peers as child processes on loopback.

With ``SOCKIT_REQUIRE_PEERS=1`` (CI), a peer that is not installed fails the
test instead of skipping it.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import pytest

REQUIRE_PEERS = os.environ.get("SOCKIT_REQUIRE_PEERS") == "1"


def require_program(name: str) -> str:
    """Path of program ``name``; skip (or fail in CI) when it is missing."""
    path = shutil.which(name)
    if path is None:
        # also look in the sbin directories that a non-root PATH may lack
        for d in ("/usr/sbin", "/sbin", "/usr/local/sbin"):
            cand = os.path.join(d, name)
            if os.access(cand, os.X_OK):
                return cand
        msg = f"peer program {name!r} is not installed (see ../shared/PEERS.md)"
        if REQUIRE_PEERS:
            pytest.fail(msg + " and SOCKIT_REQUIRE_PEERS=1")
        pytest.skip(msg)
    return path


def require_ipv6_loopback() -> None:
    """Skip unless ``::1`` can be bound (fail instead in CI, where it must work)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError as exc:
        msg = f"IPv6 loopback ::1 is not available: {exc}"
        if REQUIRE_PEERS:
            pytest.fail(msg + " and SOCKIT_REQUIRE_PEERS=1")
        pytest.skip(msg)


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = "127.0.0.1") -> int:
    """A currently free TCP port on ``host`` (loopback only), below the ephemeral range.

    Ports the kernel hands out for outgoing connections (and port 0 binds)
    come from ``ip_local_port_range``; a port picked from there can be taken
    by an unrelated connection between this check and the peer's own bind
    (load tests open thousands). Ports below that range are only ever taken
    by explicit binds, so the gap stays safe.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    low = max(1024, min(_ephemeral_low(), 65536) - 12000)
    high = max(low + 1000, _ephemeral_low())
    for _ in range(200):
        port = random.randrange(low, high)
        with socket.socket(family, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket(family, socket.SOCK_STREAM) as s:  # crowded: let the kernel pick
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until something accepts TCP connections on ``host:port``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on {host}:{port}") from None
            time.sleep(0.05)


@dataclass
class PeerProcess:
    """A running peer: its process, address and captured output file."""

    proc: subprocess.Popen[bytes]
    host: str
    port: int


@contextmanager
def run_peer(
    argv: Sequence[str],
    *,
    host: str = "127.0.0.1",
    port: int,
    wait: bool = True,
    start_timeout: float = 10.0,
    cwd: str | None = None,
) -> Iterator[PeerProcess]:
    """Run ``argv`` as a child in its own process group; kill it on exit."""
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        if wait:
            try:
                wait_for_port(host, port, start_timeout)
            except TimeoutError:
                proc.kill()
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"peer {argv[0]} did not start: {err}") from None
        yield PeerProcess(proc, host, port)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
