"""Render a metrics registry as Prometheus text, StatsD lines or JSON.

Every exporter accepts a :class:`~sockit.observe.MetricsRegistry` (snapshotted
on the spot) or a :class:`~sockit.observe.RegistrySnapshot`, and returns text or
plain data; none of them does any I/O. Output is ordered by metric name, then
by label values, so equal states render to equal text.

* :func:`to_prometheus` — text exposition format 0.0.4. Histograms are exported
  as ``_bucket{le=...}`` (cumulative), ``_sum`` and ``_count``. Their reservoir
  percentiles are exported too, unless ``percentiles=False``, as a separate
  gauge family ``<name>_quantile{quantile="0.5"|...|"0.999"}`` (series with no
  observations are left out of it).
* :class:`StatsDExporter` / :func:`to_statsd` — StatsD lines. Counters are sent
  as ``|c`` *deltas* since the exporter's previous render (StatsD sums counter
  packets), gauges as absolute ``|g`` values, histograms as ``.count`` and
  ``.sum`` deltas (``|c``) plus ``.p50`` ... ``.p999`` percentile gauges.
  Labels become DogStatsD tags (``|#method:GET``) or, with ``tags=False``,
  extra dotted name components.
* :func:`to_json_dict` / :func:`to_json` — a ``json.dumps``-able dict keyed by
  metric name.
"""

from __future__ import annotations

import json
import math
import re
import threading
from typing import Any

from sockit.observe.registry import MetricsRegistry
from sockit.observe.snapshot import (
    PERCENTILES,
    HistogramSnapshot,
    LabelPairs,
    MetricType,
    RegistrySnapshot,
    SampleSnapshot,
)

__all__ = [
    "PROMETHEUS_CONTENT_TYPE",
    "StatsDExporter",
    "to_json",
    "to_json_dict",
    "to_prometheus",
    "to_statsd",
]

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The ``Content-Type`` of :func:`to_prometheus` output, for a ``/metrics`` endpoint."""

Source = MetricsRegistry | RegistrySnapshot


def _as_snapshot(source: Source) -> RegistrySnapshot:
    return source if isinstance(source, RegistrySnapshot) else source.snapshot()


def _number(value: float) -> str:
    """Format a sample value the way Prometheus (Go ``ParseFloat``) reads it."""
    if isinstance(value, int):
        return str(int(value))  # int(): bool would print as "True"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _quantile_label(percent: float) -> str:
    return repr(round(percent / 100.0, 10))  # 99.9 -> "0.999", not "0.9990000000000001"


# --------------------------------------------------------------------------- Prometheus


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _label_text(labels: LabelPairs, extra: tuple[str, str] | None = None) -> str:
    pairs = [*labels, extra] if extra is not None else list(labels)
    if not pairs:
        return ""
    inner = ",".join(f'{name}="{_escape_label_value(value)}"' for name, value in pairs)
    return "{" + inner + "}"


def to_prometheus(source: Source, *, percentiles: bool = True) -> str:
    """Render ``source`` in the Prometheus text exposition format 0.0.4.

    With ``percentiles`` (the default) each histogram ``x`` is followed by a
    gauge family ``x_quantile`` holding its reservoir percentiles.
    """
    out: list[str] = []
    for metric in _as_snapshot(source).metrics:
        name = metric.name
        out.append(f"# HELP {name} {_escape_help(metric.documentation)}")
        out.append(f"# TYPE {name} {metric.type.value}")
        if metric.type is not MetricType.HISTOGRAM:
            for series in metric.series:
                assert isinstance(series, SampleSnapshot)
                out.append(f"{name}{_label_text(series.labels)} {_number(series.value)}")
            continue
        hist = [s for s in metric.series if isinstance(s, HistogramSnapshot)]
        for series in hist:
            for bound, count in series.buckets:
                labels = _label_text(series.labels, ("le", _number(bound)))
                out.append(f"{name}_bucket{labels} {count}")
            out.append(f"{name}_sum{_label_text(series.labels)} {_number(series.sum)}")
            out.append(f"{name}_count{_label_text(series.labels)} {series.count}")
        observed = [s for s in hist if s.count]
        if percentiles and observed:
            qname = f"{name}_quantile"
            help_text = f"{metric.documentation} (reservoir percentiles of {name})".lstrip()
            out.append(f"# HELP {qname} {_escape_help(help_text)}")
            out.append(f"# TYPE {qname} gauge")
            for series in observed:
                pairs = zip(series.percentiles, PERCENTILES, strict=True)
                for (_key, value), (_, percent) in pairs:
                    labels = _label_text(series.labels, ("quantile", _quantile_label(percent)))
                    out.append(f"{qname}{labels} {_number(value)}")
    return "\n".join(out) + "\n" if out else ""


# --------------------------------------------------------------------------- StatsD

_PREFIX_RE = re.compile(r"[A-Za-z0-9_.-]*\Z")
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.:/-]")
_PATH_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class StatsDExporter:
    """Render registries as StatsD lines, remembering what was sent for counter deltas.

    StatsD servers *add up* the counter packets of a flush interval, so each
    render sends only what counters (and histogram counts and sums) gained
    since this exporter's previous render; the first render sends totals. A
    value that went down (``registry.reset()``) is treated as a restart and
    sent whole. Zero deltas are not sent. Gauges are sent as absolute ``|g``
    values every time (a negative one is preceded by ``name:0|g``, because a
    leading sign means "adjust" in StatsD); non-finite values are skipped.
    Histograms with observations also send ``.p50`` ... ``.p999`` gauges.

    ``prefix`` (none by default, since sockit's metric names already start
    with ``sockit_``) is joined to each name with a dot; ``:`` in metric names
    becomes ``_``. With ``tags`` (the default) labels are DogStatsD tags
    ``|#name:value`` (values reduced to ``[A-Za-z0-9_.:/-]``); without, label
    values are appended as dotted name components (reduced to ``[A-Za-z0-9_-]``).

    One exporter per destination; :meth:`render` is safe to call from
    several threads.
    """

    def __init__(self, prefix: str = "", *, tags: bool = True) -> None:
        if not _PREFIX_RE.match(prefix):
            msg = f"invalid StatsD prefix {prefix!r}: use letters, digits, '_', '-' and '.'"
            raise ValueError(msg)
        self._prefix = prefix.strip(".")
        self._tags = tags
        self._lock = threading.Lock()
        self._sent: dict[tuple[str, LabelPairs], float] = {}

    def _line(self, name: str, labels: LabelPairs, suffix: str, value: float, kind: str) -> str:
        path = [self._prefix] if self._prefix else []
        path.append(name.replace(":", "_"))
        tag_text = ""
        if self._tags:
            if labels:
                tag_text = "|#" + ",".join(f"{k}:{_TAG_UNSAFE.sub('_', v)}" for k, v in labels)
        else:
            path.extend(_PATH_UNSAFE.sub("_", v) or "_" for _, v in labels)
        if suffix:
            path.append(suffix)
        return f"{'.'.join(path)}:{_number(value)}|{kind}{tag_text}"

    def _delta(self, key: tuple[str, LabelPairs], value: float, restarted: bool) -> float:
        last = self._sent.get(key, 0)
        self._sent[key] = value
        return value if restarted or value < last else value - last

    def _gauge(self, out: list[str], name: str, labels: LabelPairs, suffix: str, v: float) -> None:
        if not math.isfinite(v):
            return
        if v < 0:
            out.append(self._line(name, labels, suffix, 0, "g"))
        out.append(self._line(name, labels, suffix, v, "g"))

    def render(self, source: Source) -> list[str]:
        """Return the StatsD lines for ``source`` (one metric per line, no newline)."""
        snapshot = _as_snapshot(source)
        out: list[str] = []
        with self._lock:
            for metric in snapshot.metrics:
                name = metric.name
                for series in metric.series:
                    labels = series.labels
                    if isinstance(series, HistogramSnapshot):
                        count_key = (f"{name}.count", labels)
                        restarted = series.count < self._sent.get(count_key, 0)
                        count = self._delta(count_key, series.count, restarted)
                        total = self._delta((f"{name}.sum", labels), series.sum, restarted)
                        if count:
                            out.append(self._line(name, labels, "count", count, "c"))
                        if total and math.isfinite(total):
                            out.append(self._line(name, labels, "sum", total, "c"))
                        if series.count:
                            for key, value in series.percentiles:
                                self._gauge(out, name, labels, key, value)
                    elif metric.type is MetricType.COUNTER:
                        delta = self._delta((name, labels), series.value, False)
                        if delta:
                            out.append(self._line(name, labels, "", delta, "c"))
                    else:
                        self._gauge(out, name, labels, "", series.value)
        return out


def to_statsd(source: Source, prefix: str = "", *, tags: bool = True) -> list[str]:
    """Return StatsD lines for ``source`` with counters as totals (a fresh exporter).

    Use a long-lived :class:`StatsDExporter` for periodic flushing instead, so
    that counters are sent as deltas.
    """
    return StatsDExporter(prefix, tags=tags).render(source)


# --------------------------------------------------------------------------- JSON


def _json_number(value: float) -> float | str:
    if isinstance(value, int) or math.isfinite(value):
        return value
    return _number(value)  # "NaN", "+Inf", "-Inf": JSON has no such numbers


def to_json_dict(source: Source) -> dict[str, Any]:
    """Return ``{name: {"type", "help", "labelnames", "series"}}``, sorted by name.

    Counter and gauge series are ``{"labels": {...}, "value": v}``; histogram
    series are ``{"labels", "count", "sum", "buckets": [{"le": "0.1", "count": n},
    ..., {"le": "+Inf", "count": n}], "percentiles": {"p50": v, ...}}`` with
    cumulative bucket counts and ``null`` percentiles when nothing was observed.
    Non-finite values are the strings ``"NaN"``, ``"+Inf"`` and ``"-Inf"``.
    """
    result: dict[str, Any] = {}
    for metric in _as_snapshot(source).metrics:
        series_out: list[dict[str, Any]] = []
        for series in metric.series:
            labels = dict(series.labels)
            if isinstance(series, HistogramSnapshot):
                series_out.append(
                    {
                        "labels": labels,
                        "count": series.count,
                        "sum": _json_number(series.sum),
                        "buckets": [{"le": _number(b), "count": c} for b, c in series.buckets],
                        "percentiles": {
                            k: None if math.isnan(v) else v for k, v in series.percentiles
                        },
                    }
                )
            else:
                series_out.append({"labels": labels, "value": _json_number(series.value)})
        result[metric.name] = {
            "type": metric.type.value,
            "help": metric.documentation,
            "labelnames": list(metric.labelnames),
            "series": series_out,
        }
    return result


def to_json(source: Source, *, indent: int | None = None) -> str:
    """Return :func:`to_json_dict` serialised with sorted keys (strict JSON, no NaN)."""
    return json.dumps(to_json_dict(source), indent=indent, sort_keys=True, allow_nan=False)
