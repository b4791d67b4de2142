"""/healthz, /metrics, request rate, access log, and log reopening on SIGHUP."""

from __future__ import annotations

import logging
import logging.handlers
import os
import signal
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from sockit.observe import MetricsRegistry
from sockit.server import make_app
from sockit.server.metrics import ServerMetrics
from sockit.server.ops import (
    RequestRate,
    access_log,
    metrics_app,
    open_access_log,
    reopen_log_files,
)
from tests.server.harness import running
from tests.server.rawclient import RawClient
from tests.support.peers import free_port, wait_for_port


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_endpoint_parses_and_counts_requests() -> None:
    clock = FakeClock()
    app = make_app()
    scrape = metrics_app(clock=clock)

    def routes(request):  # type: ignore[no-untyped-def]
        return scrape(request) if request.path == "/metrics" else app(request)

    with running(routes) as srv, RawClient(srv.port) as client:
        first = client.get("/metrics")
        assert first.status == 200
        assert first.header("content-type") == "text/plain; version=0.0.4; charset=utf-8"
        before = _samples(first.body.decode())
        for _ in range(7):
            assert client.get("/hello").status == 200
        clock.now += 2.0
        after = _samples(client.get("/metrics").body.decode())
    key = ("sockit_server_requests_total", (("method", "GET"),))
    assert after[key] - before[key] == 8  # 7 /hello and the first scrape
    hist = ("sockit_server_request_duration_seconds_count", ())
    assert after[hist] - before[hist] >= 8
    assert after[("sockit_server_requests_per_second", ())] >= 4.0  # 8 requests in 2 s
    assert after[("sockit_server_active_connections", ())] >= 1
    assert after[("sockit_server_draining", ())] == 0
    assert ("sockit_server_request_duration_seconds_bucket", (("le", "+Inf"),)) in after


def test_request_rate_over_a_window_with_a_fake_clock() -> None:
    registry = MetricsRegistry()
    metrics = ServerMetrics(registry)
    clock = FakeClock()
    rate = RequestRate(registry, clock=clock)
    assert rate.update() == 0.0  # one sample: no slope yet
    for _ in range(50):
        metrics.request(b"GET")
    clock.now += 5.0
    assert rate.update() == 10.0
    clock.now += 5.0
    assert rate.update() == 5.0  # 50 over the 10 s since the first sample
    clock.now += 5.0  # the first sample leaves the window: the slope of the last 10 s
    assert rate.update() == 0.0
    gauge = registry.get("sockit_server_requests_per_second")
    assert gauge is not None and gauge.value == 0.0  # type: ignore[attr-defined]


def test_healthz_is_ok_until_the_drain() -> None:
    with running(make_app()) as srv:
        with RawClient(srv.port) as client:
            resp = client.get("/healthz")
            assert resp.status == 200 and resp.body == b"ok\n"
            assert resp.header("cache-control") == "no-store"
        assert not srv.draining


def test_access_log_line(caplog) -> None:  # type: ignore[no-untyped-def]
    logger = logging.getLogger("tests.access")
    with (
        caplog.at_level(logging.INFO, logger="tests.access"),
        running(access_log(make_app(), logger)) as srv,
        RawClient(srv.port) as client,
    ):
        assert client.get("/hello?x=1").status == 200
        assert client.get("/nothing").status == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "tests.access"]
    assert len(lines) == 2
    assert lines[0].startswith("127.0.0.1 - - [")
    assert '"GET /hello?x=1 HTTP/1.1" 200 12 ' in lines[0]
    assert '"GET /nothing HTTP/1.1" 404 ' in lines[1]
    assert lines[0].endswith("ms")


def test_reopen_log_files_after_rotation(tmp_path: Path) -> None:
    plain_path, watched_path = tmp_path / "plain.log", tmp_path / "watched.log"
    log = logging.getLogger("tests.reopen")
    log.propagate = False
    plain = logging.FileHandler(plain_path)
    watched = logging.handlers.WatchedFileHandler(watched_path)
    log.addHandler(plain)
    log.addHandler(watched)
    try:
        log.warning("one")
        plain_path.rename(tmp_path / "plain.log.1")
        watched_path.rename(tmp_path / "watched.log.1")
        assert reopen_log_files([log]) == 2
        log.warning("two")
        assert plain_path.read_text() == "two\n"
        assert watched_path.read_text() == "two\n"
        assert (tmp_path / "plain.log.1").read_text() == "one\n"
        assert reopen_log_files([logging.getLogger("tests.no-handlers")]) == 0
    finally:
        for h in (plain, watched):
            log.removeHandler(h)
            h.close()


def test_open_access_log_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    log = open_access_log(str(path))
    try:
        assert not log.propagate
        log.info("a line")
        for h in log.handlers:
            h.flush()
        assert path.read_text() == "a line\n"
    finally:
        for h in list(log.handlers):
            log.removeHandler(h)
            h.close()


def test_sighup_reopens_a_plain_file_handler(tmp_path: Path) -> None:
    port = free_port()
    path = tmp_path / "access.log"
    code = (
        "import logging; from sockit.server import serve, make_app; "
        "from sockit.server.ops import access_log; "
        f"h = logging.FileHandler({str(path)!r}); lg = logging.getLogger('sockit.access'); "
        "lg.addHandler(h); lg.setLevel(logging.INFO); lg.propagate = False; "
        f"serve(access_log(make_app()), '127.0.0.1', {port}, grace=1.0)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=os.getcwd(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port("127.0.0.1", port)
        with RawClient(port) as client:
            assert client.get("/hello").status == 200
        path.rename(tmp_path / "access.log.1")
        proc.send_signal(signal.SIGHUP)
        for _ in range(100):  # the signal is handled by the loop: retry until the new file
            with RawClient(port) as client:
                assert client.get("/healthz").status == 200
            if path.exists():
                break
        assert path.exists()
        assert "GET /hello" in (tmp_path / "access.log.1").read_text()
        assert "GET /healthz" in path.read_text()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_cli_serve_static_mounts_metrics_access_log_and_bad_flags(tmp_path: Path) -> None:
    site, assets = tmp_path / "site", tmp_path / "assets"
    site.mkdir()
    assets.mkdir()
    (site / "index.txt").write_text("site\n")
    (assets / "app.js").write_text("js\n")
    log_path = tmp_path / "access.log"
    port = free_port()
    args = [sys.executable, "-m", "sockit", "serve", str(site), "--port", str(port),
            "--static", f"/assets={assets}", "--max-connections", "5", "--metrics",
            "--access-log", str(log_path), "--grace", "1"]
    proc = subprocess.Popen(args, cwd=os.getcwd(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port("127.0.0.1", port)
        with RawClient(port) as client:
            assert client.get("/assets/app.js").body == b"js\n"
            assert client.get("/index.txt").body == b"site\n"
            assert client.get("/hello").body == b"hello world\n"
            assert b"sockit_server_requests_total" in client.get("/metrics").body
        clients = [RawClient(port) for _ in range(6)]  # one more than --max-connections
        try:
            statuses = []
            for c in clients:
                c.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
                statuses.append(c.response().status)
            assert statuses.count(200) == 5 and statuses.count(503) == 1
        finally:
            for c in clients:
                c.close()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
        assert proc.returncode == 0
        text = log_path.read_text()
        assert '"GET /assets/app.js HTTP/1.1" 200 - ' in text  # a file body: size not known here
        assert text.count("\n") >= 9
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    for bad in (["--static", "assets"], ["--static", f"/x={tmp_path / 'missing'}"],
                ["--workers", "-1"], ["--workers", "2", "--unix", str(tmp_path / "s")]):
        done = subprocess.run([sys.executable, "-m", "sockit", "serve", str(site), *bad],
                              cwd=os.getcwd(), capture_output=True, text=True, timeout=30,
                              check=False)
        assert done.returncode == 2, (bad, done.stderr)
        assert "sockit serve:" in done.stderr
