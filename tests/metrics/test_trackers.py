"""track_* semantics (reference §2.6): values, errors, skipping, the one-name rule, rollback."""
import math

import pytest

from kelora.builtins import tracking as T
from kelora.errors import FunctionError
from kelora.metrics.store import MetricStore, QuantileSketch, quantile_suffix

from .conftest import new_ctx


def fin(ctx):
    return ctx.metrics.finalize()


def test_sum_stays_int_until_a_float(ctx):
    T.track_sum(ctx, "n", 2)
    T.track_inc(ctx, "n")
    assert fin(ctx)["n"] == 3 and type(fin(ctx)["n"]) is int
    T.track_sum(ctx, "n", 0.5)
    assert fin(ctx)["n"] == 3.5 and type(fin(ctx)["n"]) is float


def test_float_sum_is_exactly_rounded(ctx):
    for _ in range(10):
        T.track_sum(ctx, "f", 0.1)
    assert fin(ctx)["f"] == 1.0  # naive summation gives 0.9999999999999999
    T.track_sum(ctx, "g", 1e100)
    T.track_sum(ctx, "g", 1.0)
    T.track_sum(ctx, "g", -1e100)
    assert fin(ctx)["g"] == 1.0


def test_sum_with_infinities(ctx):
    T.track_sum(ctx, "i", float("inf"))
    T.track_sum(ctx, "i", 1.0)
    assert fin(ctx)["i"] == math.inf
    T.track_sum(ctx, "i", float("-inf"))
    assert math.isnan(fin(ctx)["i"])


def test_min_max_keep_typed_value_and_first_tie(ctx):
    for v in (5, 2.0, 2, 9, 9.0):
        T.track_min(ctx, "lo", v)
        T.track_max(ctx, "hi", v)
    assert fin(ctx)["lo"] == 2.0 and type(fin(ctx)["lo"]) is float
    assert fin(ctx)["hi"] == 9 and type(fin(ctx)["hi"]) is int


def test_avg(ctx):
    for v in (1, 2, 4):
        T.track_avg(ctx, "a", v)
    assert fin(ctx)["a"] == pytest.approx(7 / 3) and type(fin(ctx)["a"]) is float


def test_freq_keys_are_display_text_sorted(ctx):
    for v in (200, 404, 200, 200.0, 2.5, True, "x", "200"):
        T.track_freq(ctx, "s", v)
    assert fin(ctx)["s"] == {"2.5": 1, "200": 4, "404": 1, "true": 1, "x": 1}
    assert list(fin(ctx)["s"]) == sorted(fin(ctx)["s"])


def test_unique_first_seen_typed(ctx):
    for v in ("b", "a", 5, "5", 5.0, True, "true", "b", 5):
        T.track_unique(ctx, "u", v)
    assert fin(ctx)["u"] == ["b", "a", 5, "5", 5.0, "true"]
    assert [type(x) for x in fin(ctx)["u"]] == [str, str, int, str, float, str]


def test_unique_warns_once_past_limit(monkeypatch):
    warnings = []
    ctx = new_ctx(warnings)
    monkeypatch.setattr(T, "UNIQUE_WARN_LIMIT", 3)
    for i in range(10):
        T.track_unique(ctx, "u", i)
    assert len(warnings) == 1 and "'u'" in warnings[0]


def test_cardinality_small_and_large(ctx):
    for v in ("a", "b", "a", 1, "1"):
        T.track_cardinality(ctx, "c", v)
    assert fin(ctx)["c"] == 3  # a, b, and 1 == "1" (same text)
    for i in range(20000):
        T.track_cardinality(ctx, "big", f"v{i}")
    assert abs(fin(ctx)["big"] - 20000) / 20000 < 0.03


def test_cardinality_error_clamped(ctx):
    T.track_cardinality(ctx, "c", "a", 5.0)
    T.track_cardinality(ctx, "d", "a", 0.0)
    assert ctx.metrics.metrics["c"].hll.p == 4
    assert ctx.metrics.metrics["d"].hll.p == 18


def test_percentiles_names_and_values(ctx):
    for v in range(1, 101):
        T.track_percentiles(ctx, "lat", v)
    T.track_percentiles(ctx, "lat", float("nan"))
    T.track_percentiles(ctx, "q", 1.0, [0.999, 0.5, 0.25, 0])
    f = fin(ctx)
    assert f["lat_p50"] == 50.5 and f["lat_p95"] == pytest.approx(95.05) and f["lat_p99"] == pytest.approx(99.01)
    assert {"q_p99.9", "q_p50", "q_p25", "q_p0"} <= set(f)
    assert quantile_suffix(0.999) == "p99.9" and quantile_suffix(0.5) == "p50" and quantile_suffix(1) == "p100"


def test_percentile_range_error(ctx):
    with pytest.raises(FunctionError, match=r"^track_percentiles percentile must be in range \[0\.0, 1\.0\], got 95$"):
        T.track_percentiles(ctx, "x", 1, [95])
    with pytest.raises(FunctionError, match=r"got 1\.5$"):
        T.track_stats(ctx, "y", 1, [1.5])


def test_stats(ctx):
    for v in (3, 1, 2):
        T.track_stats(ctx, "d", v)
    f = fin(ctx)
    assert f["d_min"] == 1.0 and type(f["d_min"]) is float
    assert f["d_max"] == 3.0 and f["d_count"] == 3 and type(f["d_count"]) is int
    assert f["d_sum"] == 6.0 and type(f["d_sum"]) is float
    assert f["d_avg"] == 2.0 and f["d_p50"] == 2.0
    assert {"d_p95", "d_p99"} <= set(f)


def test_top_bottom_ranking(ctx):
    for x in "ccbbbaad":
        T.track_top(ctx, "t", x, 3)
        T.track_bottom(ctx, "b", x, 2)
    assert fin(ctx)["t"] == [{"count": 3, "key": "b"}, {"count": 2, "key": "a"}, {"count": 2, "key": "c"}]
    assert fin(ctx)["b"] == [{"count": 1, "key": "d"}, {"count": 2, "key": "a"}]


def test_top_by_bottom_by(ctx):
    for item, score in (("a", 5), ("b", 7), ("a", 9), ("c", 1), ("b", 2)):
        T.track_top_by(ctx, "slow", item, score)
        T.track_bottom_by(ctx, "fast", item, score, 2)
    assert fin(ctx)["slow"] == [{"key": "a", "value": 9.0}, {"key": "b", "value": 7.0}, {"key": "c", "value": 1.0}]
    assert fin(ctx)["fast"] == [{"key": "c", "value": 1.0}, {"key": "b", "value": 2.0}]


@pytest.mark.parametrize("call,msg", [
    (lambda c: T.track_sum(c, "x", "12"), "track_sum value must be a number; got string"),
    (lambda c: T.track_avg(c, "x", True), "track_avg value must be a number; got bool"),
    (lambda c: T.track_min(c, "x", [1]), "track_min value must be a number; got array"),
    (lambda c: T.track_freq(c, "x", {"a": 1}), "track_freq value must be a string, number, or bool; got map"),
    (lambda c: T.track_unique(c, "x", [1]), "track_unique value must be a string, number, or bool; got array"),
    (lambda c: T.track_top(c, "x", "a", 0), "track_top requires n >= 1, got 0"),
    (lambda c: T.track_bottom_by(c, "x", "a", 1, -2), "track_bottom_by requires n >= 1, got -2"),
    (lambda c: T.track_top(c, "x", "a", 3, 4),
     'ranking by a score moved to track_top_by in kelora 2.0: track_top_by("slowest", e.endpoint, e.latency_ms)'),
    (lambda c: T.track_inc(c, "x", 5),
     'track_inc adds 1; for increment-by-N use track_sum("name", n), e.g. track_sum("bytes", e.bytes)'),
    (lambda c: T.track_count("x", 1),
     'track_count was removed in kelora 2.0 because "count" was ambiguous. For a frequency table use '
     'track_freq("status", e.status); for a running counter use track_sum("errors", 1) or track_inc("errors").'),
    (lambda c: T.track_count(),
     'track_count was removed in kelora 2.0 because "count" was ambiguous. For a frequency table use '
     'track_freq("status", e.status); for a running counter use track_sum("errors", 1) or track_inc("errors").'),
    (lambda c: T.track_bucket("k", 1),
     'track_bucket was renamed in kelora 2.0: use track_freq(name, value), e.g. '
     'track_freq("status_class", e.status / 100 * 100)'),
])
def test_error_texts(ctx, call, msg):
    with pytest.raises(FunctionError) as ei:
        call(ctx)
    assert str(ei.value) == msg
    assert ctx.metrics.is_empty()


def test_unit_values_are_skipped_and_hinted(ctx):
    T.track_sum(ctx, "bytes", None)
    T.track_sum(ctx, "bytes", None)
    T.track_freq(ctx, "stauts", None)
    T.track_top_by(ctx, "slow", "a", None)
    T.track_avg(ctx, "ok", None)
    T.track_avg(ctx, "ok", 1)
    assert fin(ctx) == {"ok": 1.0}
    assert ctx.metrics.skipped_hint() == (
        "Tracking skipped events with missing values: bytes (2), slow (1), stauts (1). "
        "These metrics never recorded a value — likely a field-name typo."
    )


def test_no_hint_without_skips(ctx):
    T.track_inc(ctx, "n")
    assert ctx.metrics.skipped_hint() is None


def test_one_name_one_function(ctx):
    T.track_inc(ctx, "m")
    T.track_sum(ctx, "m", 2)  # same op family: allowed
    with pytest.raises(FunctionError) as ei:
        T.track_freq(ctx, "m", "x")
    assert str(ei.value) == (
        "metric 'm' is already tracked by track_inc; each metric name can be used by only one "
        "track function (use a different name for track_freq)"
    )
    T.track_top(ctx, "t", "x")
    with pytest.raises(FunctionError, match="already tracked by track_top;.*for track_bottom"):
        T.track_bottom(ctx, "t", "x")
    T.track_min(ctx, "lo", 1)
    with pytest.raises(FunctionError):
        T.track_max(ctx, "lo", 1)


def test_one_name_rule_inside_a_pending_stage(ctx):
    ctx.pending = []
    T.track_sum(ctx, "x", 1)
    with pytest.raises(FunctionError, match="already tracked by track_sum"):
        T.track_unique(ctx, "x", "a")
    T.track_sum(ctx, "y", None)  # a skip does not claim the name
    T.track_freq(ctx, "y", "a")


def test_pending_ops_commit_or_roll_back(ctx):
    ctx.pending = []
    T.track_inc(ctx, "n")
    T.track_unique(ctx, "u", "a")
    T.track_sum(ctx, "skipped", None)
    assert ctx.metrics.is_empty() and ctx.metrics.skipped_hint() is None
    ctx.pending = []  # the stage failed: the pipeline drops the list
    T.track_inc(ctx, "n")
    T.track_inc(ctx, "n")
    ctx.metrics.commit(ctx.pending)  # this stage succeeded
    ctx.pending = None
    assert fin(ctx) == {"n": 2}
    ctx.metrics.commit([])
    ctx.metrics.commit(None)
    assert fin(ctx) == {"n": 2}


def test_reserved_names_hidden(ctx):
    T.track_inc(ctx, "__op_x")
    T.track_inc(ctx, "__kelora_y")
    T.track_sum(ctx, "__kelora_track_skipped_z", None)
    assert ctx.metrics.is_empty() and fin(ctx) == {}
    assert ctx.metrics.skipped_hint() is None
    T.track_inc(ctx, "real")
    assert fin(ctx) == {"real": 1}


def test_finalize_sorted_and_store_empty():
    s = MetricStore()
    assert s.is_empty() and s.finalize() == {}
    ctx = new_ctx()
    for name in ("zeta", "alpha", "mid"):
        T.track_inc(ctx, name)
    assert list(fin(ctx)) == ["alpha", "mid", "zeta"]


def test_quantile_sketch_switches_to_buckets_accurately():
    q = QuantileSketch(limit=1000)
    for i in range(1, 20001):
        q.add(float(i))
    assert q.values is None
    for p in (0.5, 0.9, 0.99):
        assert q.quantile(p) == pytest.approx(p * 20000, rel=0.012)
    neg = QuantileSketch(limit=10)
    for v in [-5.0, -1.0, 0.0, 0.0, 2.0, 100.0] * 5:
        neg.add(v)
    assert neg.quantile(0.0) == pytest.approx(-5.0, rel=0.01)
    assert neg.quantile(0.5) == 0.0
    assert neg.quantile(1.0) == pytest.approx(100.0, rel=0.01)
