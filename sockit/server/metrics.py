"""The server's metrics, in :data:`sockit.observe.REGISTRY` under ``sockit_server_*``.

Series are looked up once and cached per label value: the request path pays
for one locked add per counter, not for building label keys.
"""

from __future__ import annotations

from typing import Final

from sockit.observe import REGISTRY, CounterChild, MetricsRegistry

__all__ = ["ServerMetrics"]

#: Methods counted under their own label; anything else is counted as ``OTHER``.
_KNOWN_METHODS: Final = frozenset(
    {b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"CONNECT", b"TRACE"}
)


class ServerMetrics:
    """The families every server in a process shares, with cached series."""

    def __init__(self, registry: MetricsRegistry = REGISTRY) -> None:
        self.connections = registry.counter(
            "sockit_server_connections_total", "Connections accepted by the HTTP server"
        )
        self.active = registry.gauge(
            "sockit_server_active_connections", "Connections the HTTP server holds open"
        )
        self.requests = registry.counter(
            "sockit_server_requests_total", "Complete requests received", ("method",)
        )
        self.responses = registry.counter(
            "sockit_server_responses_total", "Responses started, by status", ("status",)
        )
        self.refusals = registry.counter(
            "sockit_server_refusals_total",
            "Requests or connections refused by the server, by reason",
            ("reason",),
        )
        self.timeouts = registry.counter(
            "sockit_server_timeouts_total", "Connections cut by a timeout, by phase", ("phase",)
        )
        self.handler_errors = registry.counter(
            "sockit_server_handler_errors_total", "Application handlers that raised"
        )
        self.tls_failures = registry.counter(
            "sockit_server_tls_failures_total",
            "TLS handshakes and sessions that failed, by reason",
            ("reason",),
        )
        self._by_method: dict[bytes, CounterChild] = {}
        self._by_status: dict[int, CounterChild] = {}

    def request(self, method: bytes) -> None:
        """Count a complete request."""
        child = self._by_method.get(method)
        if child is None:
            if method not in _KNOWN_METHODS:  # any token is a method: keep the labels bounded
                self.requests.labels("OTHER").inc()
                return
            child = self._by_method.setdefault(method, self.requests.labels(method.decode()))
        child.inc()

    def response(self, status: int) -> None:
        """Count a response by status."""
        child = self._by_status.get(status)
        if child is None:
            child = self._by_status.setdefault(status, self.responses.labels(str(status)))
        child.inc()

    def refusal(self, reason: str) -> None:
        """Count a refusal (a limit's name, ``bad_request``, ``max_connections``...)."""
        self.refusals.labels(reason).inc()

    def tls_failure(self, reason: str) -> None:
        """Count a failed TLS handshake or session (the TLSError's ``reason`` token)."""
        self.tls_failures.labels(reason).inc()

    def timeout(self, phase: str) -> None:
        """Count a timeout (``read``, ``idle``, ``write``, ``lifetime``)."""
        self.timeouts.labels(phase).inc()


_SHARED: ServerMetrics | None = None


def shared_metrics() -> ServerMetrics:
    """The process-wide instance (created on first use)."""
    global _SHARED
    if _SHARED is None:
        _SHARED = ServerMetrics()
    return _SHARED
