"""``python -m sockit serve --workers 2`` against real clients: wrk, h2load and curl."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.support.peers import free_port, require_program, wait_for_port

pytestmark = pytest.mark.interop


@contextmanager
def workers_server(tmp_path: object, *extra: str) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sockit", "serve", str(tmp_path), "--port", str(port),
         "--workers", "2", "--grace", "2", *extra],
        cwd=os.getcwd(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_for_port("127.0.0.1", port)
        yield port
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_wrk_against_two_workers_has_no_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    wrk = require_program("wrk")
    with workers_server(tmp_path) as port:
        proc = subprocess.run([wrk, "-t1", "-c20", "-d2s", f"http://127.0.0.1:{port}/hello"],
                              capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Socket errors" not in proc.stdout, proc.stdout
    assert "Non-2xx" not in proc.stdout, proc.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", proc.stdout)
    assert rate is not None and float(rate.group(1)) > 100
    print(f"wrk -t1 -c20 against --workers 2: {rate.group(1)} requests/s")


def test_h2load_against_two_workers_has_no_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    h2load = require_program("h2load")
    with workers_server(tmp_path) as port:
        proc = subprocess.run([h2load, "-c4", "-m4", "-n400", f"http://127.0.0.1:{port}/hello"],
                              capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"400 succeeded, 0 failed, 0 errored", proc.stdout), proc.stdout


def test_curl_healthz_and_metrics(tmp_path) -> None:  # type: ignore[no-untyped-def]
    curl = require_program("curl")
    with workers_server(tmp_path, "--metrics") as port:
        health = subprocess.run([curl, "-s", "-i", f"http://127.0.0.1:{port}/healthz"],
                                capture_output=True, text=True, timeout=30, check=True)
        metrics = subprocess.run([curl, "-s", f"http://127.0.0.1:{port}/metrics"],
                                 capture_output=True, text=True, timeout=30, check=True)
    assert health.stdout.startswith("HTTP/1.1 200")
    assert health.stdout.endswith("ok\n")
    assert "# TYPE sockit_server_requests_total counter" in metrics.stdout
    assert "sockit_server_request_duration_seconds_bucket" in metrics.stdout
