"""Prometheus text format 0.0.4, checked by prometheus_client's own parser."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from sockit.observe import PROMETHEUS_CONTENT_TYPE, MetricsRegistry, to_prometheus


def parse(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}


# Label values and help texts that exercise every escape: quotes, backslashes, newlines.
tricky_text = st.lists(
    st.one_of(
        st.sampled_from(['"', "\\", "\n", "\\n", '\\"', "{", "}", ",", "=", " ", "#", "\r"]),
        st.characters(exclude_categories=["Cs"]),
    ),
    max_size=20,
).map("".join)


def test_exact_text_for_a_small_registry() -> None:
    r = MetricsRegistry()
    r.counter("sockit_req_total", "Requests.", labelnames=("method",)).labels("GET").inc(2)
    r.gauge("sockit_temp", "Temp.").set(-1.5)
    r.histogram("sockit_lat_seconds", "Latency.", buckets=(0.1, 1)).observe(0.25)
    assert to_prometheus(r, percentiles=False) == (
        "# HELP sockit_lat_seconds Latency.\n"
        "# TYPE sockit_lat_seconds histogram\n"
        'sockit_lat_seconds_bucket{le="0.1"} 0\n'
        'sockit_lat_seconds_bucket{le="1.0"} 1\n'
        'sockit_lat_seconds_bucket{le="+Inf"} 1\n'
        "sockit_lat_seconds_sum 0.25\n"
        "sockit_lat_seconds_count 1\n"
        "# HELP sockit_req_total Requests.\n"
        "# TYPE sockit_req_total counter\n"
        'sockit_req_total{method="GET"} 2\n'
        "# HELP sockit_temp Temp.\n"
        "# TYPE sockit_temp gauge\n"
        "sockit_temp -1.5\n"
    )
    assert PROMETHEUS_CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"


def test_empty_registry_renders_nothing() -> None:
    assert to_prometheus(MetricsRegistry()) == ""


def test_counters_gauges_and_labels_round_trip() -> None:
    r = MetricsRegistry()
    reqs = r.counter("sockit_http_requests_total", "HTTP requests", labelnames=("method", "status"))
    reqs.labels(method="GET", status="200").inc(41)
    reqs.labels(method="GET", status="200").inc()
    reqs.labels(method="POST", status="503").inc(0.5)
    r.counter("sockit_plain_total", "plain").inc(7)
    gauge = r.gauge("sockit_conns", "connections", labelnames=("pool",))
    gauge.labels(pool="a").set(3)
    gauge.labels(pool="b").set(-2.25)
    r.gauge("sockit_inf", "infinite").set(math.inf)
    families = parse(to_prometheus(r))

    reqs_family = families["sockit_http_requests"]
    assert reqs_family.type == "counter"
    assert reqs_family.documentation == "HTTP requests"
    assert samples(reqs_family) == {
        ("sockit_http_requests_total", (("method", "GET"), ("status", "200"))): 42,
        ("sockit_http_requests_total", (("method", "POST"), ("status", "503"))): 0.5,
    }
    assert samples(families["sockit_plain"]) == {("sockit_plain_total", ()): 7}
    conns = families["sockit_conns"]
    assert conns.type == "gauge"
    assert samples(conns) == {
        ("sockit_conns", (("pool", "a"),)): 3,
        ("sockit_conns", (("pool", "b"),)): -2.25,
    }
    assert samples(families["sockit_inf"]) == {("sockit_inf", ()): math.inf}


def test_histogram_buckets_sum_count_round_trip() -> None:
    r = MetricsRegistry()
    h = r.histogram(
        "sockit_lat_seconds",
        "latency",
        labelnames=("route",),
        buckets=(0.01, 0.1, 1.0),
        rng=random.Random(0),
    )
    values = {"/a": [0.005, 0.05, 0.05, 0.5, 5.0], "/b": [0.1, 0.2]}
    for route, vs in values.items():
        for v in vs:
            h.labels(route=route).observe(v)
    r.histogram("sockit_idle_seconds", "never observed", buckets=(1,))
    families = parse(to_prometheus(r, percentiles=False))

    fam = families["sockit_lat_seconds"]
    assert fam.type == "histogram"
    got = samples(fam)
    for route, vs in values.items():
        for le, bound in (("0.01", 0.01), ("0.1", 0.1), ("1.0", 1.0), ("+Inf", math.inf)):
            key = ("sockit_lat_seconds_bucket", (("le", le), ("route", route)))
            assert got[key] == sum(v <= bound for v in vs), key
        assert got[("sockit_lat_seconds_sum", (("route", route),))] == pytest.approx(sum(vs))
        assert got[("sockit_lat_seconds_count", (("route", route),))] == len(vs)
    assert len(got) == 2 * (4 + 2)
    idle = samples(families["sockit_idle_seconds"])
    assert idle[("sockit_idle_seconds_count", ())] == 0
    assert idle[("sockit_idle_seconds_bucket", (("le", "+Inf"),))] == 0
    assert not any(name.endswith("_quantile") for name in families)


def test_percentiles_are_a_separate_gauge_family() -> None:
    r = MetricsRegistry()
    h = r.histogram("sockit_lat_seconds", "latency", labelnames=("route",), rng=random.Random(1))
    for i in range(1, 101):
        h.labels(route="/a").observe(i / 100)
    h.labels(route="/never")  # exists, no observations: no quantile samples
    r.histogram("sockit_unused", "unused")
    families = parse(to_prometheus(r))
    quantiles = families["sockit_lat_seconds_quantile"]
    assert quantiles.type == "gauge"
    assert "latency" in quantiles.documentation
    expected = h.labels(route="/a").percentiles()
    assert samples(quantiles) == {
        ("sockit_lat_seconds_quantile", (("quantile", q), ("route", "/a"))): expected[key]
        for q, key in (
            ("0.5", "p50"),
            ("0.75", "p75"),
            ("0.9", "p90"),
            ("0.95", "p95"),
            ("0.99", "p99"),
            ("0.999", "p999"),
        )
    }
    assert "sockit_unused_quantile" not in families
    assert "sockit_lat_seconds_quantile" not in parse(to_prometheus(r, percentiles=False))


@given(value=tricky_text, documentation=tricky_text)
def test_escaping_of_label_values_and_help(value: str, documentation: str) -> None:
    # Parsers drop whitespace around the help text, so fence it in.
    documentation = f"<{documentation}>"
    r = MetricsRegistry()
    c = r.counter("sockit_escape_total", documentation, labelnames=("v", "w"))
    c.labels(v=value, w="after").inc(3)
    h = r.histogram("sockit_escape_h", documentation, labelnames=("v",), buckets=(1,))
    h.labels(v=value).observe(2)
    text = to_prometheus(r)
    families = parse(text)
    family = families["sockit_escape"]
    assert family.documentation == documentation
    assert samples(family) == {("sockit_escape_total", (("v", value), ("w", "after"))): 3}
    hist = samples(families["sockit_escape_h"])
    assert hist[("sockit_escape_h_count", (("v", value),))] == 1
    assert hist[("sockit_escape_h_bucket", (("le", "1.0"), ("v", value)))] == 0
    # Every sample is on one "\n"-terminated line: raw newlines never leak out.
    assert text.count("\n") == 2 + 1 + 2 + 4 + 2 + 6
    assert text.endswith("\n")


def test_specific_tricky_label_value() -> None:
    r = MetricsRegistry()
    tricky = 'say "hi"\\path\nnext'
    r.gauge("sockit_g", 'help with "quotes" and \\ and\nnewline', labelnames=("x",)).labels(
        x=tricky
    ).set(1)
    text = to_prometheus(r)
    assert 'sockit_g{x="say \\"hi\\"\\\\path\\nnext"} 1' in text
    assert '# HELP sockit_g help with "quotes" and \\\\ and\\nnewline' in text
    family = parse(text)["sockit_g"]
    assert family.samples[0].labels == {"x": tricky}
    assert family.documentation == 'help with "quotes" and \\ and\nnewline'


def test_accepts_a_snapshot() -> None:
    r = MetricsRegistry()
    c = r.counter("sockit_c_total")
    c.inc()
    snap = r.snapshot()
    c.inc()
    assert "sockit_c_total 1\n" in to_prometheus(snap)
    assert "sockit_c_total 2\n" in to_prometheus(r)
