"""Pre-forked workers: the restart budget, and a supervisor under load, kill -9 and SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from sockit.errors import LocalProtocolError
from sockit.limits import RetryDefaults
from sockit.server.workers import RestartBudget, Supervisor
from tests.server.rawclient import PeerClosed, RawClient, wait_until
from tests.support.peers import free_port, wait_for_port


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


NO_JITTER = RetryDefaults(initial_delay=0.1, max_delay=1.0, multiplier=2.0, jitter=0.0)


def test_restart_delays_grow_then_the_budget_runs_out_at_n_plus_1() -> None:
    clock = FakeClock()
    budget = RestartBudget(NO_JITTER, max_restarts=5, window=60.0, clock=clock)
    delays = [budget.next_delay() for _ in range(5)]
    assert delays == [0.1, 0.2, 0.4, 0.8, 1.0]  # capped at max_delay
    assert budget.recent == 5
    assert budget.next_delay() is None  # the sixth inside the window: give up


def test_restarts_leave_the_window() -> None:
    clock = FakeClock()
    budget = RestartBudget(NO_JITTER, max_restarts=2, window=60.0, clock=clock)
    assert budget.next_delay() == 0.1
    clock.now += 30.0
    assert budget.next_delay() == 0.2
    assert budget.next_delay() is None
    clock.now += 30.0  # the first one is 60 s old now
    assert budget.recent == 1
    assert budget.next_delay() == 0.2


def test_jitter_stays_within_its_fraction() -> None:
    budget = RestartBudget(RetryDefaults(initial_delay=1.0, max_delay=1.0, jitter=0.25),
                           max_restarts=100, clock=FakeClock())
    delays = [budget.next_delay() for _ in range(100)]
    assert all(d is not None and 0.75 <= d <= 1.25 for d in delays)
    assert len(set(delays)) > 1


@pytest.mark.parametrize("bad", [{"max_restarts": -1}, {"max_restarts": True}, {"window": 0.0}])
def test_bad_budgets_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        RestartBudget(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [0, 1025, True])
def test_bad_worker_counts_are_refused(n: object) -> None:
    with pytest.raises(LocalProtocolError):
        Supervisor(lambda i: 0, n)  # type: ignore[arg-type]


# -- real processes ------------------------------------------------------------------

_PID = re.compile(r"\(pid (\d+)\)")


@contextmanager
def supervised(args: list[str]) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """A ``python ARGS`` process whose stdout lines are collected as they come."""
    proc = subprocess.Popen([sys.executable, *args], cwd=os.getcwd(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: list[str] = []
    assert proc.stdout is not None
    stdout = proc.stdout
    reader = threading.Thread(target=lambda: lines.extend(iter(stdout.readline, "")),
                              daemon=True)
    reader.start()
    try:
        yield proc, lines
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        reader.join(5)
        for pid in _pids(lines):  # no orphaned worker may outlive the test
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _why(proc: subprocess.Popen[str], lines: list[str]) -> str:
    proc.send_signal(signal.SIGKILL)
    assert proc.stderr is not None
    return f"stdout {lines!r}, stderr {proc.stderr.read()[-3000:]}"


def _pids(lines: list[str]) -> list[int]:
    return [int(pid) for pid in _PID.findall("".join(list(lines)))]  # lines may interleave


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_cli_workers_answer_replace_a_killed_worker_and_drain_on_sigterm(tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    args = ["-m", "sockit", "serve", str(tmp_path), "--port", str(port), "--workers", "2",
            "--grace", "2"]
    with supervised(args) as (proc, lines):
        wait_for_port("127.0.0.1", port)
        assert wait_until(lambda: len(_pids(lines)) == 2, timeout=20), _why(proc, lines)
        first = _pids(lines)
        stop = threading.Event()
        answered = [0]
        failed = [0]

        def load() -> None:
            while not stop.is_set():
                try:
                    with RawClient(port, timeout=5) as client:
                        ok = client.get("/hello").body == b"hello world\n"
                except (OSError, PeerClosed, ValueError):  # cut by the kill
                    ok = False
                if ok:
                    answered[0] += 1
                else:
                    failed[0] += 1

        loaders = [threading.Thread(target=load) for _ in range(4)]
        for t in loaders:
            t.start()
        try:
            assert wait_until(lambda: answered[0] >= 100, timeout=20)
            os.kill(first[0], signal.SIGKILL)
            assert wait_until(lambda: len(_pids(lines)) == 3, timeout=10)  # a replacement
            replacement = _pids(lines)[2]
            assert replacement not in first and _alive(replacement)
            before = answered[0]
            assert wait_until(lambda: answered[0] >= before + 100, timeout=20)
        finally:
            stop.set()
            for t in loaders:
                t.join(10)
        print(f"answered {answered[0]}, failed {failed[0]} around the kill")
        assert failed[0] <= answered[0] // 10
        for _ in range(50):  # after the replacement every new connection is answered
            with RawClient(port, timeout=5) as client:
                assert client.get("/hello").status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert not any(_alive(pid) for pid in _pids(lines))
        with pytest.raises(OSError):
            RawClient(port, timeout=2)


def test_sigterm_to_the_supervisor_lets_requests_in_flight_finish() -> None:
    port = free_port()
    code = (
        "import time, sys; from sockit.server import serve, make_app, Response\n"
        "base = make_app()\n"
        "def app(request):\n"
        "    if request.path == '/slow':\n"
        "        time.sleep(0.6)\n"
        "        return Response(200, None, b'slow' * 10000)\n"
        "    return base(request)\n"
        "def ready(server):\n"
        "    import os; print(f'ready (pid {os.getpid()})', flush=True)\n"
        f"sys.exit(serve(app, '127.0.0.1', {port}, processes=2, workers=2, grace=5.0,"
        " on_ready=ready))\n"
    )
    with supervised(["-c", code]) as (proc, lines):
        wait_for_port("127.0.0.1", port)
        assert wait_until(lambda: len(_pids(lines)) == 2, timeout=20), _why(proc, lines)
        clients = [RawClient(port, timeout=10) for _ in range(4)]
        try:
            for client in clients:
                client.send(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            time.sleep(0.2)  # the requests reach the workers' apps
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            for client in clients:
                resp = client.response()
                assert resp.status == 200 and resp.body == b"slow" * 10000
                assert resp.header("connection") == "close"
        finally:
            for client in clients:
                client.close()
        assert proc.wait(10) == 0
        assert time.monotonic() - started < 5
        assert not any(_alive(pid) for pid in _pids(lines))
