"""Metric types, labels, registration rules, percentiles, snapshot and reset."""

from __future__ import annotations

import dataclasses
import math
import random
import statistics
import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sockit.observe.series as series_module
from sockit.observe import (
    PERCENTILES,
    REGISTRY,
    HistogramSnapshot,
    MetricsRegistry,
    MetricType,
    SampleSnapshot,
    default_registry,
)


@pytest.fixture
def registry() -> MetricsRegistry:
    return MetricsRegistry()


def oracle_percentiles(data: list[float]) -> dict[str, float]:
    """Percentiles from statistics.quantiles (inclusive = linear between closest ranks)."""
    hundredths = statistics.quantiles(data, n=100, method="inclusive")
    thousandths = statistics.quantiles(data, n=1000, method="inclusive")
    expected = {f"p{p}": hundredths[p - 1] for p in (50, 75, 90, 95, 99)}
    expected["p999"] = thousandths[998]
    return expected


# --------------------------------------------------------------------------- counter / gauge


def test_counter_inc_default_and_amount(registry: MetricsRegistry) -> None:
    c = registry.counter("sockit_things_total", "things")
    c.inc()
    c.inc(2)
    c.inc(0.5)
    assert c.value == 3.5
    assert registry.snapshot().value("sockit_things_total") == 3.5


@pytest.mark.parametrize("amount", [-1, -0.001, math.nan, math.inf])
def test_counter_rejects_bad_amounts(registry: MetricsRegistry, amount: float) -> None:
    c = registry.counter("sockit_things_total")
    with pytest.raises(ValueError, match="counters only go up"):
        c.inc(amount)
    assert c.value == 0


def test_gauge_set_inc_dec(registry: MetricsRegistry) -> None:
    g = registry.gauge("sockit_open_connections", "open")
    g.set(10)
    g.inc()
    g.inc(4)
    g.dec(20)
    assert g.value == -5
    g.dec(-1.5)
    assert g.value == -3.5


def test_gauge_track_inprogress_restores_on_error(registry: MetricsRegistry) -> None:
    g = registry.gauge("sockit_busy", labelnames=("pool",))
    child = g.labels(pool="a")
    with child.track_inprogress():
        assert child.value == 1
        with child.track_inprogress():
            assert child.value == 2
    assert child.value == 0
    with pytest.raises(RuntimeError), child.track_inprogress():
        raise RuntimeError
    assert child.value == 0


# --------------------------------------------------------------------------- labels


def test_labels_by_name_and_position_share_a_series(registry: MetricsRegistry) -> None:
    c = registry.counter("sockit_http_requests_total", "reqs", labelnames=("method", "status"))
    c.labels(method="GET", status="200").inc()
    c.labels("GET", 200).inc()
    c.labels(status=200, method="GET").inc()
    c.labels(method="POST", status="500").inc(2)
    assert c.labels("GET", "200") is c.labels(method="GET", status=200)
    snap = registry.snapshot()
    assert snap.value("sockit_http_requests_total", method="GET", status="200") == 3
    assert snap.value("sockit_http_requests_total", method="POST", status=500) == 2
    series = snap["sockit_http_requests_total"].series
    assert [s.labels for s in series] == [
        (("method", "GET"), ("status", "200")),
        (("method", "POST"), ("status", "500")),
    ]


def test_label_misuse_is_rejected(registry: MetricsRegistry) -> None:
    c = registry.counter("sockit_x_total", labelnames=("a", "b"))
    with pytest.raises(ValueError, match="expected labels"):
        c.labels(a="1")
    with pytest.raises(ValueError, match="expected labels"):
        c.labels(a="1", b="2", c="3")
    with pytest.raises(ValueError, match="expected labels"):
        c.labels(a="1", c="3")
    with pytest.raises(ValueError, match="expected 2 label values"):
        c.labels("1")
    with pytest.raises(ValueError, match="not both"):
        c.labels("1", b="2")
    with pytest.raises(ValueError, match=r"call \.labels"):
        c.inc()
    with pytest.raises(ValueError, match=r"call \.labels"):
        _ = c.value
    assert registry.snapshot()["sockit_x_total"].series == ()


def test_unlabelled_family_labels_returns_itself(registry: MetricsRegistry) -> None:
    g = registry.gauge("sockit_g")
    g.labels().set(7)
    assert g.value == 7
    with pytest.raises(ValueError, match="no labels"):
        g.remove()


def test_remove_forgets_a_series(registry: MetricsRegistry) -> None:
    g = registry.gauge("sockit_peer_rtt", labelnames=("peer",))
    g.labels(peer="a").set(1)
    g.labels(peer="b").set(2)
    g.remove(peer="a")
    g.remove(peer="never-there")
    series = registry.snapshot()["sockit_peer_rtt"].series
    assert [dict(s.labels) for s in series] == [{"peer": "b"}]


# --------------------------------------------------------------------------- names and registration


@pytest.mark.parametrize("name", ["", "1abc", "has-dash", "has space", "é", "a.b", "x{}"])
def test_invalid_metric_names(registry: MetricsRegistry, name: str) -> None:
    with pytest.raises(ValueError, match="invalid metric name"):
        registry.counter(name)
    assert name not in registry


@pytest.mark.parametrize("name", ["a", "_a", ":a", "sockit:rule:rate5m", "A_b_9"])
def test_valid_metric_names(registry: MetricsRegistry, name: str) -> None:
    assert registry.gauge(name).name == name
    assert name in registry.names()


@pytest.mark.parametrize(
    ("labelnames", "match"),
    [
        (("1a",), "invalid label name"),
        (("a-b",), "invalid label name"),
        (("a:b",), "invalid label name"),
        (("__reserved",), "reserved"),
        (("a", "a"), "duplicate"),
    ],
)
def test_invalid_label_names(
    registry: MetricsRegistry, labelnames: tuple[str, ...], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        registry.counter("sockit_c_total", labelnames=labelnames)


def test_labelnames_must_not_be_a_bare_string(registry: MetricsRegistry) -> None:
    with pytest.raises(TypeError, match="not a single string"):
        registry.counter("sockit_c_total", labelnames="method")


@pytest.mark.parametrize("label", ["le", "quantile"])
def test_histogram_reserves_le_and_quantile(registry: MetricsRegistry, label: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        registry.histogram("sockit_h", labelnames=(label,))
    assert registry.counter("sockit_c_total", labelnames=(label,)).labelnames == (label,)


def test_same_definition_returns_the_existing_metric(registry: MetricsRegistry) -> None:
    a = registry.counter("sockit_req_total", "reqs", labelnames=("m",))
    a.labels(m="x").inc()
    b = registry.counter("sockit_req_total", "reqs", labelnames=["m"])
    assert b is a
    h1 = registry.histogram("sockit_lat", "lat", buckets=(1, 2), reservoir_size=10)
    h2 = registry.histogram("sockit_lat", "lat", buckets=(1.0, 2.0, math.inf), reservoir_size=10)
    assert h1 is h2


@pytest.mark.parametrize(
    "redefine",
    [
        lambda r: r.gauge("sockit_req_total", "reqs", labelnames=("m",)),
        lambda r: r.counter("sockit_req_total", "reqs", labelnames=("m", "n")),
        lambda r: r.counter("sockit_req_total", "reqs"),
        lambda r: r.counter("sockit_req_total", "other help", labelnames=("m",)),
        lambda r: r.histogram("sockit_req_total", "reqs", labelnames=("m",)),
    ],
)
def test_conflicting_definition_is_an_error(registry: MetricsRegistry, redefine) -> None:  # type: ignore[no-untyped-def]
    original = registry.counter("sockit_req_total", "reqs", labelnames=("m",))
    with pytest.raises(ValueError, match="different definition"):
        redefine(registry)
    assert registry.get("sockit_req_total") is original


def test_histogram_definition_includes_buckets_and_reservoir(registry: MetricsRegistry) -> None:
    registry.histogram("sockit_lat", buckets=(1, 2), reservoir_size=10)
    with pytest.raises(ValueError, match="different definition"):
        registry.histogram("sockit_lat", buckets=(1, 3), reservoir_size=10)
    with pytest.raises(ValueError, match="different definition"):
        registry.histogram("sockit_lat", buckets=(1, 2), reservoir_size=11)


def test_exposed_name_collisions(registry: MetricsRegistry) -> None:
    registry.histogram("sockit_lat")
    for taken in ("sockit_lat_bucket", "sockit_lat_sum", "sockit_lat_count", "sockit_lat_quantile"):
        with pytest.raises(ValueError, match="owned by 'sockit_lat'"):
            registry.gauge(taken)
    registry.counter("sockit_x_count")
    with pytest.raises(ValueError, match="owned by 'sockit_x_count'"):
        registry.histogram("sockit_x")
    assert "sockit_x" not in registry


def test_unregister_frees_the_names(registry: MetricsRegistry) -> None:
    registry.histogram("sockit_lat")
    registry.unregister("sockit_lat")
    assert registry.get("sockit_lat") is None
    assert registry.gauge("sockit_lat_sum").name == "sockit_lat_sum"
    assert registry.counter("sockit_lat").name == "sockit_lat"
    with pytest.raises(KeyError):
        registry.unregister("nope")


def test_default_registry_is_process_wide_and_independent() -> None:
    assert default_registry() is REGISTRY
    mine = MetricsRegistry()
    mine.counter("sockit_only_in_mine_total").inc()
    assert "sockit_only_in_mine_total" not in REGISTRY
    assert mine.get("sockit_only_in_mine_total") is not None


# --------------------------------------------------------------------------- histograms


@pytest.mark.parametrize(
    ("buckets", "error"),
    [
        ((), ValueError),
        ((math.inf,), ValueError),
        ((2, 1), ValueError),
        ((1, 1), ValueError),
        ((1, math.nan), ValueError),
        ((-math.inf, 1), ValueError),
    ],
)
def test_bad_buckets(
    registry: MetricsRegistry, buckets: tuple[float, ...], error: type[Exception]
) -> None:
    with pytest.raises(error):
        registry.histogram("sockit_h", buckets=buckets)


@pytest.mark.parametrize(("size", "error"), [(0, ValueError), (-1, ValueError), (1.5, TypeError)])
def test_bad_reservoir_size(registry: MetricsRegistry, size: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        registry.histogram("sockit_h", reservoir_size=size)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_histogram_rejects_non_finite(registry: MetricsRegistry, value: float) -> None:
    h = registry.histogram("sockit_h")
    with pytest.raises(ValueError, match="finite"):
        h.observe(value)
    assert h.count == 0


def test_histogram_buckets_are_cumulative_and_inclusive(registry: MetricsRegistry) -> None:
    h = registry.histogram("sockit_size_bytes", buckets=(1, 10, 100))
    for v in (0, 1, 1.0001, 10, 50, 100, 1000, -5):
        h.observe(v)
    snap = registry.snapshot().histogram("sockit_size_bytes")
    assert snap.buckets == ((1.0, 3), (10.0, 5), (100.0, 7), (math.inf, 8))
    assert snap.count == h.count == 8
    assert snap.sum == pytest.approx(1157.0001)
    assert snap.mean == pytest.approx(1157.0001 / 8)
    assert h.buckets == (1.0, 10.0, 100.0, math.inf)


def test_percentiles_match_statistics_quantiles_on_known_data(registry: MetricsRegistry) -> None:
    data = [float(i) for i in range(1, 2001)]
    random.Random(7).shuffle(data)
    h = registry.histogram("sockit_h", reservoir_size=4096, rng=random.Random(1))
    for v in data:
        h.observe(v)
    expected = oracle_percentiles(data)
    got = h.percentiles()
    assert list(got) == [key for key, _ in PERCENTILES]
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key
    # Spot values worked out by hand for 1..2000: rank (n-1)*q.
    assert got["p50"] == pytest.approx(1000.5)
    assert got["p999"] == pytest.approx(1998.001)
    assert h.percentile(0) == 1.0
    assert h.percentile(100) == 2000.0
    snap = registry.snapshot().histogram("sockit_h")
    assert dict(snap.percentiles) == got
    assert snap.percentile("p95") == got["p95"]
    with pytest.raises(KeyError):
        snap.percentile("p42")


@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=2, max_size=300))
def test_percentiles_property_against_oracle(data: list[float]) -> None:
    h = MetricsRegistry().histogram("sockit_h", reservoir_size=300, rng=random.Random(0))
    for v in data:
        h.observe(v)
    got = h.percentiles()
    for key, value in oracle_percentiles(data).items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key
    assert min(data) <= got["p50"] <= max(data)


def test_percentile_argument_range(registry: MetricsRegistry) -> None:
    h = registry.histogram("sockit_h")
    assert math.isnan(h.percentile(50))
    assert all(math.isnan(v) for v in h.percentiles().values())
    h.observe(3)
    assert h.percentile(99.9) == 3
    for bad in (-1, 100.1):
        with pytest.raises(ValueError, match="percentile"):
            h.percentile(bad)


def test_reservoir_stays_bounded_over_a_million_observations(registry: MetricsRegistry) -> None:
    n, size = 1_000_000, 512
    h = registry.histogram("sockit_h", buckets=(n / 2,), reservoir_size=size, rng=random.Random(3))
    child = h.labels()
    for i in range(n):
        child.observe(i)
        if i == size * 2:
            early_sample = child.sample()
    sample = child.sample()
    assert len(early_sample) == len(sample) == size == h.reservoir_size
    assert h.count == n
    assert h.sum == n * (n - 1) / 2
    assert len(set(sample)) == size
    assert all(0 <= v < n for v in sample)
    # A uniform sample of the whole stream, not the first or last `size` values.
    assert sum(v < n / 2 for v in sample) == pytest.approx(size / 2, abs=size * 0.15)
    assert h.percentile(50) == pytest.approx(n / 2, rel=0.1)
    assert h.percentile(90) == pytest.approx(0.9 * n, rel=0.05)
    snap = registry.snapshot().histogram("sockit_h")
    assert snap.sampled == size
    assert snap.buckets == ((n / 2, n // 2 + 1), (math.inf, n))


def test_reservoir_sampling_is_reproducible_with_injected_rng() -> None:
    def run(seed: int) -> list[float]:
        h = MetricsRegistry().histogram("sockit_h", reservoir_size=64, rng=random.Random(seed))
        for i in range(5000):
            h.observe(i)
        return h.labels().sample()

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_labelled_histogram_series_are_independent(registry: MetricsRegistry) -> None:
    h = registry.histogram("sockit_lat", labelnames=("route",), buckets=(1,), rng=random.Random(5))
    h.labels(route="/a").observe(0.5)
    h.labels(route="/b").observe(2)
    h.labels(route="/b").observe(3)
    snap = registry.snapshot()
    a, b = snap.histogram("sockit_lat", route="/a"), snap.histogram("sockit_lat", route="/b")
    assert (a.count, a.sum, a.buckets) == (1, 0.5, ((1.0, 1), (math.inf, 1)))
    assert (b.count, b.sum, b.buckets) == (2, 5, ((1.0, 0), (math.inf, 2)))
    assert b.percentile("p50") == 2.5


def test_time_observes_elapsed_seconds_even_on_error(
    registry: MetricsRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = iter([100.0, 100.25, 200.0, 203.0])
    fake_time = types.SimpleNamespace(perf_counter=lambda: next(ticks))
    monkeypatch.setattr(series_module, "time", fake_time)
    h = registry.histogram("sockit_h", buckets=(1,))
    with h.time() as timer:
        pass
    assert timer.elapsed == 0.25
    with pytest.raises(KeyError), h.time():
        raise KeyError
    snap = registry.snapshot().histogram("sockit_h")
    assert (snap.count, snap.sum, snap.buckets) == (2, 3.25, ((1.0, 1), (math.inf, 2)))


def test_time_uses_the_real_clock(registry: MetricsRegistry) -> None:
    h = registry.histogram("sockit_h")
    with h.time() as timer:
        sum(range(1000))
    assert timer.elapsed is not None
    assert 0 <= timer.elapsed < 5
    assert h.sum == timer.elapsed


# --------------------------------------------------------------------------- snapshot / reset


def test_snapshot_is_immutable_and_detached(registry: MetricsRegistry) -> None:
    c = registry.counter("sockit_c_total", "c", labelnames=("k",))
    c.labels(k="v").inc(5)
    h = registry.histogram("sockit_h", buckets=(1,))
    h.observe(0.5)
    snap = registry.snapshot()
    metric = snap["sockit_c_total"]
    assert metric.type is MetricType.COUNTER
    assert isinstance(snap.metrics, tuple)
    assert isinstance(metric.series, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        metric.name = "other"  # type: ignore[misc]
    series = metric.series[0]
    assert isinstance(series, SampleSnapshot)
    with pytest.raises(dataclasses.FrozenInstanceError):
        series.value = 0  # type: ignore[misc]
    hist = snap.histogram("sockit_h")
    assert isinstance(hist, HistogramSnapshot)
    with pytest.raises(dataclasses.FrozenInstanceError):
        hist.count = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        hist.buckets[0] = (1.0, 9)  # type: ignore[index]
    c.labels(k="v").inc(100)
    h.observe(7)
    assert snap.value("sockit_c_total", k="v") == 5
    assert snap.histogram("sockit_h").count == 1
    assert registry.snapshot().value("sockit_c_total", k="v") == 105
    assert registry.snapshot()["sockit_c_total"] == registry.snapshot()["sockit_c_total"]
    assert snap["sockit_c_total"] != registry.snapshot()["sockit_c_total"]


def test_snapshot_lookup_helpers(registry: MetricsRegistry) -> None:
    registry.counter("sockit_b_total").inc()
    registry.histogram("sockit_a")
    snap = registry.snapshot()
    assert [m.name for m in snap.metrics] == ["sockit_a", "sockit_b_total"]
    assert "sockit_a" in snap
    assert "missing" not in snap
    assert snap.get("missing") is None
    with pytest.raises(KeyError):
        snap["missing"]
    with pytest.raises(TypeError, match="histogram"):
        snap.value("sockit_a")
    with pytest.raises(TypeError, match="not a histogram"):
        snap.histogram("sockit_b_total")
    with pytest.raises(KeyError, match="no series"):
        snap.value("sockit_b_total", k="v")


def test_reset_zeroes_everything_and_keeps_series(registry: MetricsRegistry) -> None:
    c = registry.counter("sockit_c_total", labelnames=("k",))
    c.labels(k="a").inc(3)
    g = registry.gauge("sockit_g")
    g.set(9)
    h = registry.histogram("sockit_h", buckets=(1,))
    for v in (0.5, 2, 3):
        h.observe(v)
    registry.reset()
    snap = registry.snapshot()
    assert snap.value("sockit_c_total", k="a") == 0
    assert snap.value("sockit_g") == 0
    hist = snap.histogram("sockit_h")
    assert (hist.count, hist.sum, hist.sampled) == (0, 0, 0)
    assert hist.buckets == ((1.0, 0), (math.inf, 0))
    assert all(math.isnan(v) for _, v in hist.percentiles)
    assert math.isnan(hist.mean)
    h.observe(4)
    c.labels(k="a").inc()
    assert h.percentiles()["p50"] == 4
    assert registry.snapshot().value("sockit_c_total", k="a") == 1
