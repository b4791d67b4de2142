"""StatsD lines and JSON export."""

from __future__ import annotations

import json
import math
import random

import pytest

from sockit.observe import MetricsRegistry, StatsDExporter, to_json, to_json_dict, to_statsd


def strict_loads(text: str) -> object:
    def reject(constant: str) -> object:
        raise AssertionError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


@pytest.fixture
def registry() -> MetricsRegistry:
    r = MetricsRegistry()
    reqs = r.counter("sockit_req_total", "reqs", labelnames=("method", "status"))
    reqs.labels(method="GET", status=200).inc(3)
    r.gauge("sockit_conns", "conns").set(5)
    h = r.histogram("sockit_lat", "lat", buckets=(1,), rng=random.Random(0))
    for v in (0.5, 1.5, 2.5):
        h.observe(v)
    return r


# --------------------------------------------------------------------------- StatsD


def test_statsd_lines_with_prefix_and_tags(registry: MetricsRegistry) -> None:
    assert to_statsd(registry, prefix="app.") == [
        "app.sockit_conns:5|g",
        "app.sockit_lat.count:3|c",
        "app.sockit_lat.sum:4.5|c",
        "app.sockit_lat.p50:1.5|g",
        "app.sockit_lat.p75:2.0|g",
        "app.sockit_lat.p90:2.3|g",
        "app.sockit_lat.p95:2.4|g",
        "app.sockit_lat.p99:2.48|g",
        "app.sockit_lat.p999:2.498|g",
        "app.sockit_req_total:3|c|#method:GET,status:200",
    ]


def test_statsd_without_prefix_or_tags(registry: MetricsRegistry) -> None:
    lines = to_statsd(registry, tags=False)
    assert "sockit_req_total.GET.200:3|c" in lines
    assert lines[0] == "sockit_conns:5|g"
    assert not any("|#" in line for line in lines)


def test_statsd_counters_are_sent_as_deltas(registry: MetricsRegistry) -> None:
    exporter = StatsDExporter("app")
    first = exporter.render(registry)
    assert "app.sockit_req_total:3|c|#method:GET,status:200" in first
    assert "app.sockit_lat.count:3|c" in first

    second = exporter.render(registry)
    assert not any(line.endswith("|c") or "|c|" in line for line in second)  # no change, no packet
    assert "app.sockit_conns:5|g" in second  # gauges are absolute, always sent

    counter = registry.get("sockit_req_total")
    assert counter is not None
    counter.labels(method="GET", status=200).inc(4)
    registry.histogram("sockit_lat", "lat", buckets=(1,)).observe(10)
    third = exporter.render(registry)
    assert "app.sockit_req_total:4|c|#method:GET,status:200" in third
    assert "app.sockit_lat.count:1|c" in third
    assert "app.sockit_lat.sum:10.0|c" in third

    registry.reset()
    counter.labels(method="GET", status=200).inc(2)
    fourth = exporter.render(registry)
    assert "app.sockit_req_total:2|c|#method:GET,status:200" in fourth
    assert not any(".sockit_lat." in line for line in fourth)  # no observations since reset


def test_statsd_negative_gauge_is_set_not_decremented() -> None:
    r = MetricsRegistry()
    r.gauge("sockit_skew", labelnames=("peer",)).labels(peer="a").set(-2.5)
    assert to_statsd(r) == ["sockit_skew:0|g|#peer:a", "sockit_skew:-2.5|g|#peer:a"]


def test_statsd_sanitises_names_tags_and_skips_non_finite() -> None:
    r = MetricsRegistry()
    r.counter("sockit:rule:rate", labelnames=("path",)).labels(path="/a b|c#d,e@f").inc()
    r.gauge("sockit_inf").set(math.inf)
    r.gauge("sockit_nan").set(math.nan)
    assert to_statsd(r) == ["sockit_rule_rate:1|c|#path:/a_b_c_d_e_f"]
    assert to_statsd(r, tags=False) == ["sockit_rule_rate._a_b_c_d_e_f:1|c"]


@pytest.mark.parametrize("prefix", ["a b", "a:b", "a|b", "x#"])
def test_statsd_rejects_bad_prefix(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        StatsDExporter(prefix)


# --------------------------------------------------------------------------- JSON


def test_json_structure(registry: MetricsRegistry) -> None:
    data = to_json_dict(registry)
    assert list(data) == ["sockit_conns", "sockit_lat", "sockit_req_total"]
    assert data["sockit_req_total"] == {
        "type": "counter",
        "help": "reqs",
        "labelnames": ["method", "status"],
        "series": [{"labels": {"method": "GET", "status": "200"}, "value": 3}],
    }
    assert data["sockit_conns"]["series"] == [{"labels": {}, "value": 5}]
    (hist,) = data["sockit_lat"]["series"]
    assert hist["count"] == 3
    assert hist["sum"] == 4.5
    assert hist["buckets"] == [{"le": "1.0", "count": 1}, {"le": "+Inf", "count": 3}]
    assert hist["percentiles"] == pytest.approx(
        {"p50": 1.5, "p75": 2.0, "p90": 2.3, "p95": 2.4, "p99": 2.48, "p999": 2.498}
    )


def test_json_text_is_strict_stable_and_round_trips(registry: MetricsRegistry) -> None:
    text = to_json(registry)
    assert strict_loads(text) == to_json_dict(registry)
    assert to_json(registry) == text
    assert to_json(registry.snapshot()) == text
    assert list(json.loads(text)) == sorted(json.loads(text))
    assert "\n" in to_json(registry, indent=2)


def test_json_non_finite_values_and_empty_histograms() -> None:
    r = MetricsRegistry()
    r.gauge("sockit_inf").set(math.inf)
    r.gauge("sockit_ninf").set(-math.inf)
    r.gauge("sockit_nan").set(math.nan)
    r.histogram("sockit_h", buckets=(1,))
    data = strict_loads(to_json(r))
    assert isinstance(data, dict)
    assert data["sockit_inf"]["series"][0]["value"] == "+Inf"
    assert data["sockit_ninf"]["series"][0]["value"] == "-Inf"
    assert data["sockit_nan"]["series"][0]["value"] == "NaN"
    empty = data["sockit_h"]["series"][0]
    assert empty["count"] == 0
    assert set(empty["percentiles"]) == {"p50", "p75", "p90", "p95", "p99", "p999"}
    assert all(v is None for v in empty["percentiles"].values())
