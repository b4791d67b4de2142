"""Observability for sockit: a metrics registry with exporters, and logging conventions.

Metrics::

    from sockit.observe import REGISTRY, to_prometheus

    requests = REGISTRY.counter(
        "sockit_http_requests_total", "HTTP requests served", labelnames=("method", "status")
    )
    requests.labels(method="GET", status=200).inc()
    latency = REGISTRY.histogram("sockit_http_request_duration_seconds", "Request latency")
    with latency.time():
        ...
    text = to_prometheus(REGISTRY)

Logging::

    import logging

    from sockit.observe import get_logger, log_event, trace_context

    log = get_logger("net.pool")            # the "sockit.net.pool" logger
    with trace_context(trace_id="4bf92f3577b34da6", request_id="r-17"):
        log_event(log, logging.INFO, "connection reused", host="example.com", idle=0.2)

This package does no I/O of its own and never configures logging handlers:
importing it only adds a :class:`logging.NullHandler` to the ``sockit`` logger.
"""

from sockit.observe.exporters import (
    PROMETHEUS_CONTENT_TYPE,
    StatsDExporter,
    to_json,
    to_json_dict,
    to_prometheus,
    to_statsd,
)
from sockit.observe.log import (
    FIELDS_KEY,
    JSONFormatter,
    TraceContext,
    TraceFilter,
    current_trace,
    get_logger,
    log_event,
    new_request_id,
    new_trace_id,
    trace_context,
)
from sockit.observe.metrics import Counter, Gauge, Histogram, MetricFamily
from sockit.observe.registry import REGISTRY, MetricsRegistry, default_registry
from sockit.observe.series import (
    DEFAULT_BUCKETS,
    DEFAULT_RESERVOIR_SIZE,
    CounterChild,
    GaugeChild,
    HistogramChild,
    HistogramTimer,
)
from sockit.observe.snapshot import (
    PERCENTILES,
    HistogramSnapshot,
    MetricSnapshot,
    MetricType,
    RegistrySnapshot,
    SampleSnapshot,
)

__all__ = [
    "DEFAULT_BUCKETS",
    "DEFAULT_RESERVOIR_SIZE",
    "FIELDS_KEY",
    "PERCENTILES",
    "PROMETHEUS_CONTENT_TYPE",
    "REGISTRY",
    "Counter",
    "CounterChild",
    "Gauge",
    "GaugeChild",
    "Histogram",
    "HistogramChild",
    "HistogramSnapshot",
    "HistogramTimer",
    "JSONFormatter",
    "MetricFamily",
    "MetricSnapshot",
    "MetricType",
    "MetricsRegistry",
    "RegistrySnapshot",
    "SampleSnapshot",
    "StatsDExporter",
    "TraceContext",
    "TraceFilter",
    "current_trace",
    "default_registry",
    "get_logger",
    "log_event",
    "new_request_id",
    "new_trace_id",
    "to_json",
    "to_json_dict",
    "to_prometheus",
    "to_statsd",
    "trace_context",
]
