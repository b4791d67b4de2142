"""Connection churn and descriptor exhaustion against ``python -m sockit serve``.

The server runs in its own process, so its descriptors (``/proc/PID/fd``)
and CPU time (``/proc/PID/stat``) are its own. The churn is
``SOCKIT_CHURN_CONNECTIONS`` connects and disconnects (default and CI:
50,000, about 5-8 s here; lower it only for a quick local run) from four
threads on four loopback source addresses, each connection ended in one of
four ways; afterwards no descriptor may be left and the server still answers.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.server.rawclient import RawClient, wait_until
from tests.support.peers import free_port, wait_for_port

CHURN = int(os.environ.get("SOCKIT_CHURN_CONNECTIONS", "50000"))
CHURN_THREADS = 4
CHURN_BUDGET_S = 100.0

#: Linux: bind picks no port, connect does, per 4-tuple (so TIME_WAIT ones are reused)
_BIND_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def _source(i: int) -> str:
    """A loopback source address other than 127.0.0.1 (the whole of 127/8 is loopback)."""
    return f"127.0.{i // 250 + 20}.{i % 250 + 2}"


def _connect_from(src: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_IP, _BIND_NO_PORT, 1)
    sock.settimeout(10)
    sock.bind((src, 0))
    sock.connect(("127.0.0.1", port))
    return sock


@contextmanager
def _serve(directory: Path, log: Path, *, nofile: int | None = None) -> Iterator[tuple[int, int]]:
    """``python -m sockit serve`` in a child process; yields ``(pid, port)``.

    ``nofile`` caps the child's descriptors (RLIMIT_NOFILE, set by the child itself
    before it runs the CLI: no ``preexec_fn`` in a threaded test process).
    """
    port = free_port()
    launcher = ["-m", "sockit"]
    if nofile is not None:
        launcher = ["-c", "import resource, runpy, sys; "
                    f"resource.setrlimit(resource.RLIMIT_NOFILE, ({nofile}, {nofile})); "
                    "sys.argv[0] = 'sockit'; runpy.run_module('sockit', run_name='__main__')"]
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, *launcher, "serve", str(directory), "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
        )
    try:
        wait_for_port("127.0.0.1", port, timeout=15)
        yield proc.pid, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


_HELLO = b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
_LINGER_0 = struct.pack("ii", 1, 0)


def _churn(port: int, src: str, count: int, errors: list[str]) -> None:
    """``count`` connections from ``src``, closed in turn four ways.

    0: a request and its answer, then close; 1: close with RST (SO_LINGER 0)
    at once; 2 and 3: half-close and wait for the server's close. The waits
    pace the client to the server, so the backlog never overflows.
    """
    for k in range(count):
        try:
            sock = _connect_from(src, port)
        except OSError as exc:
            errors.append(f"connect #{k}: {exc!r}")
            return
        try:
            kind = k % 4
            if kind == 0:
                sock.sendall(_HELLO)
                got = b""
                while not got.endswith(b"hello world\n"):
                    data = sock.recv(4096)
                    if not data:
                        raise ConnectionError(f"closed after {got!r}")
                    got += data
                if not got.startswith(b"HTTP/1.1 200 "):
                    raise ConnectionError(f"answer {got!r}")
            elif kind == 1:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_0)
            else:
                sock.shutdown(socket.SHUT_WR)
                if sock.recv(16) != b"":
                    raise ConnectionError("bytes for a connection that sent nothing")
        except OSError as exc:
            errors.append(f"#{k} kind {k % 4}: {exc!r}")
            return
        finally:
            sock.close()


def test_connection_churn_leaks_no_descriptor_and_the_server_still_answers(
    tmp_path: Path,
) -> None:
    assert CHURN >= 1000
    (tmp_path / "www").mkdir()
    with _serve(tmp_path / "www", tmp_path / "serve.log") as (pid, port):
        with RawClient(port) as client:  # warm up: imports, caches, the first answer
            assert client.get("/hello").status == 200
        time.sleep(0.2)  # the server sees the warm-up connection's close
        base = _fds(pid)
        errors: list[str] = []
        per_thread = CHURN // CHURN_THREADS
        threads = [
            threading.Thread(target=_churn, args=(port, _source(i), per_thread, errors))
            for i in range(CHURN_THREADS)
        ]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(CHURN_BUDGET_S)
        took = time.monotonic() - start
        assert not any(t.is_alive() for t in threads), f"churn took over {CHURN_BUDGET_S} s"
        assert not errors, errors[:5]
        print(f"churn: {per_thread * CHURN_THREADS} connects/disconnects in {took:.1f} s "
              f"({per_thread * CHURN_THREADS / took:,.0f}/s); server fds {base} before")
        assert wait_until(lambda: _fds(pid) <= base, timeout=10), (base, _fds(pid))
        with RawClient(port) as client:
            first = client.get("/hello")
            second = client.get("/hello")
        assert (first.status, first.body) == (200, b"hello world\n")
        assert (second.status, second.body) == (200, b"hello world\n")
    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-2000:]


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` (``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_running_out_of_descriptors_pauses_accepting_without_spinning(tmp_path: Path) -> None:
    """Over its descriptor limit the server stops accepting (no busy loop), then recovers."""
    nofile, clients = 128, 200  # 128 fds, and 200 clients: the rest wait in the backlog
    (tmp_path / "www").mkdir()
    with _serve(tmp_path / "www", tmp_path / "serve.log", nofile=nofile) as (pid, port):
        with RawClient(port) as client:
            assert client.get("/hello").status == 200
        time.sleep(0.2)
        base = _fds(pid)
        held = []
        try:
            for i in range(clients):
                sock = _connect_from(_source(i // 50), port)
                held.append(sock)
                sock.sendall(_HELLO)
            assert wait_until(lambda: _fds(pid) == nofile, timeout=5)
            cpu = _cpu_seconds(pid)
            time.sleep(1.0)
            stalled_cpu = _cpu_seconds(pid) - cpu
            answered = 0
            for sock in held:
                sock.settimeout(0.05)
                with suppress(TimeoutError):
                    answered += sock.recv(64).startswith(b"HTTP/1.1 200 ")
        finally:
            for sock in held:
                sock.close()
        print(f"descriptor limit {nofile}: {answered} of {clients} answered while full; "
              f"server CPU {stalled_cpu:.2f} s over 1 s stalled")
        assert stalled_cpu < 0.3  # a loop spinning on EMFILE would burn the whole second
        assert nofile - base - 10 <= answered < clients
        assert wait_until(lambda: _fds(pid) <= base, timeout=10), (base, _fds(pid))
        with RawClient(port) as client:  # descriptors free again: accepting resumed
            resp = client.get("/hello")
        assert (resp.status, resp.body) == (200, b"hello world\n")
