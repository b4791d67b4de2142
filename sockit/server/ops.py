"""Operations endpoints and stats: ``/healthz``, ``/metrics``, latency, access log, log reopening.

These are plain apps (``app(request) -> Response``) so they mount like any
route::

    Routes({"/healthz": health_app(), "/metrics": metrics_app()}, fallback=site)

``/healthz`` answers ``503`` while the server drains (see
:meth:`~sockit.server.HTTPServer.drain`), so a load balancer stops sending
new clients before the listeners go away. ``/metrics`` renders the metrics
registry as Prometheus text, refreshing the request rate first.

The families added here (beside :class:`~sockit.server.ServerMetrics`):

============================================== ========= =========================================
name                                           type      what
============================================== ========= =========================================
``sockit_server_request_duration_seconds``     histogram app time from hand-over to answer started
``sockit_server_requests_per_second``          gauge     requests per second (recent window)
``sockit_server_draining``                     gauge     1 while a server of this process drains
``sockit_server_drain_forced_total``           counter   connections cut at a drain's deadline
============================================== ========= =========================================
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final

from sockit.observe import PROMETHEUS_CONTENT_TYPE, REGISTRY, MetricsRegistry, to_prometheus
from sockit.server.request import Response, ServerRequest

if TYPE_CHECKING:
    from sockit.server.app import App

__all__ = [
    "ACCESS_LOGGER",
    "OpsMetrics",
    "RequestRate",
    "access_log",
    "health_app",
    "metrics_app",
    "ops_metrics",
    "open_access_log",
    "reopen_log_files",
]

_PLAIN = [("Content-Type", "text/plain; charset=utf-8")]
#: The name of the logger access lines go to.
ACCESS_LOGGER: Final = "sockit.access"
#: How far back the request rate looks.
_RATE_WINDOW: Final = 10.0
#: Samples of the request total kept for the rate (one per scrape at most).
_RATE_SAMPLES: Final = 64


class OpsMetrics:
    """The operations families; one shared instance per registry (see :func:`ops_metrics`)."""

    def __init__(self, registry: MetricsRegistry = REGISTRY) -> None:
        self.registry = registry
        self.latency = registry.histogram(
            "sockit_server_request_duration_seconds",
            "Time from a request's hand-over to the app until its answer started",
        )
        self.rate = registry.gauge(
            "sockit_server_requests_per_second",
            "Complete requests per second over the last scrapes (updated by /metrics)",
        )
        self.draining = registry.gauge(
            "sockit_server_draining", "1 while a server in this process drains"
        )
        self.drain_forced = registry.counter(
            "sockit_server_drain_forced_total",
            "Connections still busy at a drain's deadline and closed by force",
        )


_SHARED: dict[int, OpsMetrics] = {}


def ops_metrics(registry: MetricsRegistry = REGISTRY) -> OpsMetrics:
    """The :class:`OpsMetrics` of ``registry`` (created on first use)."""
    found = _SHARED.get(id(registry))
    if found is None or found.registry is not registry:
        found = _SHARED[id(registry)] = OpsMetrics(registry)
    return found


def _requests_total(registry: MetricsRegistry) -> float:
    for metric in registry.snapshot().metrics:
        if metric.name == "sockit_server_requests_total":
            return float(sum(getattr(s, "value", 0.0) for s in metric.series))
    return 0.0


class RequestRate:
    """Requests per second from samples of ``sockit_server_requests_total``.

    A counter only grows; a rate needs two points in time. Each :meth:`update`
    adds a sample and reports the slope over the oldest sample still inside
    the window (10 s), so the figure follows load changes within seconds
    without a timer of its own.
    """

    def __init__(
        self, registry: MetricsRegistry = REGISTRY, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.registry = registry
        self.clock = clock
        self._samples: deque[tuple[float, float]] = deque(maxlen=_RATE_SAMPLES)

    def update(self) -> float:
        """Sample the total now; return (and set the gauge to) the recent rate."""
        now = self.clock()
        total = _requests_total(self.registry)
        samples = self._samples
        while len(samples) > 1 and now - samples[1][0] >= _RATE_WINDOW:
            samples.popleft()
        rate = 0.0
        if samples:
            then, before = samples[0]
            if now > then:
                rate = max(0.0, total - before) / (now - then)
        samples.append((now, total))
        ops_metrics(self.registry).rate.set(rate)
        return rate


def health_app(*, draining_status: int = 503) -> App:
    """``/healthz``: ``200 ok`` while serving, ``draining_status`` (503) while draining.

    The answer is never cached and, while draining, carries ``Connection:
    close`` and ``Retry-After: 1``: a health checker's connection is not a
    reason to keep the server up.
    """

    def healthz(request: ServerRequest) -> Response:
        server = request._conn.server
        headers = [*_PLAIN, ("Cache-Control", "no-store")]
        if server.draining:
            headers += [("Retry-After", "1"), ("Connection", "close")]
            return Response(draining_status, headers, b"draining\n")
        return Response(200, headers, b"ok\n")

    return healthz


def metrics_app(
    registry: MetricsRegistry = REGISTRY, *, clock: Callable[[], float] = time.monotonic
) -> App:
    """``/metrics``: the registry in Prometheus text format (0.0.4), rate refreshed first."""
    rate = RequestRate(registry, clock=clock)

    def metrics(request: ServerRequest) -> Response:
        rate.update()
        body = to_prometheus(registry).encode()
        headers = [("Content-Type", PROMETHEUS_CONTENT_TYPE), ("Cache-Control", "no-store")]
        return Response(200, headers, body)

    return metrics


def access_log(
    app: App, logger: logging.Logger | None = None, *, clock: Callable[[], float] = time.time
) -> App:
    """Wrap ``app`` so each request leaves one line in the access log.

    The line is the Common Log Format plus the app's time in milliseconds;
    the status is ``-`` when the app answered through ``request.respond``
    itself (a streamed body's size is ``-`` too). Logging happens after the
    answer was handed to the server, on the thread that ran the app.
    """
    log = logging.getLogger(ACCESS_LOGGER) if logger is None else logger

    def logged(request: ServerRequest) -> Response | None:
        start = clock()
        result = app(request)
        if log.isEnabledFor(logging.INFO):
            status = str(result.status) if result is not None else "-"
            body = result.body if result is not None else None
            size = str(len(body)) if isinstance(body, (bytes, bytearray)) else "-"
            client = request.client
            host = client if isinstance(client, str) else str(client[0])
            stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(start))
            took = (clock() - start) * 1000.0
            log.info(
                '%s - - [%s] "%s %s HTTP/%s" %s %s %.1fms',
                host, stamp, request.method, request.target, request.http_version,
                status, size, took,
            )
        return result

    return logged


def open_access_log(destination: str) -> logging.Logger:
    """The access logger writing to ``destination`` (a file path, or ``-`` for stdout).

    A file gets a :class:`logging.handlers.WatchedFileHandler`, which notices
    a rotated file by itself; :func:`reopen_log_files` (SIGHUP) reopens it too.
    The logger does not propagate, so access lines stay out of the app's log.
    """
    log = logging.getLogger(ACCESS_LOGGER)
    for old in list(log.handlers):
        log.removeHandler(old)
        old.close()
    handler: logging.Handler
    if destination == "-":
        handler = logging.StreamHandler(sys.stdout)
    else:
        handler = logging.handlers.WatchedFileHandler(destination, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return log


def reopen_log_files(loggers: Iterable[logging.Logger] | None = None) -> int:
    """Reopen every file handler of ``loggers`` (default: root, ``sockit``, access); a count.

    After logrotate moved a file, a handler keeps writing to the moved file
    until it reopens the path: this is what SIGHUP is for. A plain
    :class:`logging.FileHandler` drops its stream and reopens on its next
    record; a ``WatchedFileHandler`` checks the path now.
    """
    if loggers is None:
        names = (None, "sockit", ACCESS_LOGGER)
        loggers = [logging.getLogger(name) for name in names]
    count = 0
    for log in loggers:
        for handler in log.handlers:
            if isinstance(handler, logging.handlers.WatchedFileHandler):
                handler.acquire()
                try:
                    handler.reopenIfNeeded()
                finally:
                    handler.release()
                count += 1
            elif isinstance(handler, logging.FileHandler):
                handler.acquire()
                try:
                    stream, handler.stream = handler.stream, None
                    if stream is not None:
                        stream.close()
                finally:
                    handler.release()
                count += 1
    return count
