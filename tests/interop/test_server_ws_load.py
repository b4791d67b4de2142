"""WebSocket upgrades under load: many clients upgrade and echo while wrk hammers /hello.

``python -m sockit serve`` runs in its own process (its ``/ws/echo`` and
``/hello``). wrk keeps 32 keep-alive connections busy on ``/hello`` for the
whole run; meanwhile ``CLIENTS`` clients of the ``websockets`` library, held
at a barrier, upgrade at once (from other loopback addresses, so wrk and
they do not share the per-client limit) and each echo text and binary
messages, half of them with permessage-deflate. Every echo must come back
intact, and wrk must report no socket error and no non-2xx answer.
"""

from __future__ import annotations

import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.support.peers import free_port, require_program, wait_for_port

pytestmark = pytest.mark.interop

CLIENTS = 64
MESSAGES = 20
BUDGET_S = 60.0


@contextmanager
def serve(directory: Path, log: Path) -> Iterator[int]:
    port = free_port()
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sockit", "serve", str(directory), "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
        )
    try:
        wait_for_port("127.0.0.1", port, timeout=15)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def messages(seed: int) -> list[str | bytes]:
    """Text (some of it non-ASCII) and binary messages, from a few bytes to 64 KiB."""
    rng = random.Random(seed)
    out: list[str | bytes] = []
    for i in range(MESSAGES):
        size = rng.choice([1, 17, 125, 126, 1000, 65535, 65536])
        if i % 2:
            out.append(rng.randbytes(size))
        else:
            out.append("".join(rng.choice("aé€😀 z") for _ in range(size // 4 + 1)))
    return out


def client(port: int, index: int, barrier: threading.Barrier, results: dict[int, str]) -> None:
    """One client: connect from its own address, wait for the others, upgrade, echo."""
    try:
        sock = socket.socket()
        sock.settimeout(30)
        sock.bind((f"127.0.3.{index // 32 + 2}", 0))
        sock.connect(("127.0.0.1", port))
        barrier.wait(timeout=30)
        compression = "deflate" if index % 2 else None
        with connect(f"ws://127.0.0.1:{port}/ws/echo", sock=sock, compression=compression,
                     max_size=None, open_timeout=30, close_timeout=10) as ws:
            for n, message in enumerate(messages(index)):
                ws.send(message)
                echo = ws.recv(timeout=30)
                if echo != message:
                    results[index] = f"message {n}: echo differs ({len(echo)} vs {len(message)})"
                    return
        results[index] = "ok"
    except Exception as exc:  # recorded and asserted on by the test
        results[index] = repr(exc)


def test_websocket_echo_under_wrk_load(tmp_path: Path) -> None:
    wrk = require_program("wrk")
    (tmp_path / "www").mkdir()
    with serve(tmp_path / "www", tmp_path / "serve.log") as port:
        load = subprocess.Popen(
            [wrk, "-t1", "-c32", f"-d{BUDGET_S:.0f}s", f"http://127.0.0.1:{port}/hello"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            time.sleep(0.5)  # wrk is up and hammering
            assert load.poll() is None
            results: dict[int, str] = {}
            barrier = threading.Barrier(CLIENTS)
            threads = [
                threading.Thread(target=client, args=(port, i, barrier, results))
                for i in range(CLIENTS)
            ]
            start = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join(BUDGET_S - 10)
            took = time.monotonic() - start
            assert not any(t.is_alive() for t in threads), "the WebSocket clients did not finish"
            still_loading = load.poll() is None
        finally:
            if load.poll() is None:
                load.send_signal(signal.SIGINT)  # wrk stops and prints its figures
            out, err = load.communicate(timeout=30)
    failed = {i: r for i, r in results.items() if r != "ok"}
    assert not failed, failed
    assert len(results) == CLIENTS
    assert still_loading, "wrk had stopped before the echoes were done"
    assert load.returncode == 0, err
    assert "Socket errors" not in out, out
    assert "Non-2xx or 3xx responses" not in out, out
    match = re.search(r"(\d+) requests in", out)
    assert match is not None, out
    assert int(match.group(1)) > 1000, out
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    print(f"\n{CLIENTS} WebSocket clients x {MESSAGES} echoes in {took:.2f} s while wrk "
          f"did {rate.group(1) if rate else '?'} req/s on /hello with no errors")
    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-2000:]
