"""What the benchmark scripts share: free ports, peer processes, an nginx config, timing.

Benchmarks are standalone scripts (run as ``python benchmarks/bench_X.py``),
so this sits beside them rather than in ``tests/support``, which needs pytest.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_program(name: str) -> str | None:
    """Path of ``name`` on PATH or in the sbin directories root's PATH may lack."""
    found = shutil.which(name)
    if found:
        return found
    for d in ("/usr/sbin", "/sbin", "/usr/local/sbin"):
        cand = os.path.join(d, name)
        if os.access(cand, os.X_OK):
            return cand
    return None


def launch(
    argv: Sequence[str], port: int, *, env: Mapping[str, str] | None = None, timeout: float = 15
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own process group and wait until ``port`` accepts."""
    proc = subprocess.Popen(
        list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, env=None if env is None else dict(env), start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"{argv[0]} did not start on port {port}: {err}") from None
            time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers, and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if proc.stderr:
        proc.stderr.close()


@contextmanager
def running(
    argv: Sequence[str], port: int, *, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """:func:`launch` for the duration of a ``with`` block."""
    proc = launch(argv, port, env=env)
    try:
        yield proc
    finally:
        stop(proc)


def nginx_config(
    tmp: Path, port: int, *, http: str = "", server: str = "", listen: str = ""
) -> str:
    """A foreground nginx config with every path under ``tmp``, on 127.0.0.1:port.

    ``listen`` adds parameters to the listen directive (``"http2"`` for h2c).
    """
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    default_type application/octet-stream;
    {http}
    server {{
        listen 127.0.0.1:{port} {listen};
        {server}
    }}
}}
"""


def best_rate(
    run: Callable[[int], None], slice_s: float, repeat: int, unit: int = 1
) -> float:
    """Iterations per second of ``run(n)``: calibrate ``n`` (a multiple of ``unit``) to
    a slice of ``slice_s`` seconds, time ``repeat`` slices, keep the best."""
    n = unit
    while True:
        start = time.perf_counter()
        run(n)
        took = time.perf_counter() - start
        if took >= slice_s / 4:
            break
        n *= 4
    n = max(unit, int(n * slice_s / took) // unit * unit)
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        run(n)
        best = max(best, n / (time.perf_counter() - start))
    return best


def server_rounds(
    kinds: list[str],
    rounds: int,
    measure: Callable[[str, Path], tuple[float, str]],
    title: str,
) -> None:
    """Run ``measure(kind, tmpdir) -> (rate, note)`` for each server in interleaved
    rounds (a different one first each round), then print best and median rates,
    sockit's ratio to each, and any error note (``"no errors"`` when clean)."""
    import statistics
    import tempfile

    rates: dict[str, list[float]] = {k: [] for k in kinds}
    notes: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        for r in range(rounds):
            for kind in kinds[r % len(kinds):] + kinds[: r % len(kinds)]:
                rate, note = measure(kind, Path(tmpdir))
                rates[kind].append(rate)
                if note != "no errors":
                    notes[kind] = note
    best = {k: max(v) for k, v in rates.items()}
    print(f"{title}, best of {rounds} rounds")
    print(f"{'server':<10}{'best req/s':>12}{'median':>12}{'sockit ratio':>14}  errors")
    for kind in kinds:
        print(f"{kind:<10}{best[kind]:>12,.0f}{statistics.median(rates[kind]):>12,.0f}"
              f"{best['sockit'] / best[kind]:>13.2f}x  {notes.get(kind, 'no errors')}")
