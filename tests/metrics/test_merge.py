"""Merging worker stores in input order equals one sequential run."""
import pickle
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kelora.builtins import tracking as T
from kelora.metrics.store import MetricStore, QuantileSketch

from .conftest import new_ctx

CALLS = [
    lambda c, r: T.track_sum(c, "sum_i", r.randint(-5, 50)),
    lambda c, r: T.track_sum(c, "sum_f", r.choice([0.1, 1e16, -1e16, 3.3, 2]) * r.random()),
    lambda c, r: T.track_inc(c, "count"),
    lambda c, r: T.track_min(c, "lo", r.choice([1, 1.0, 2, 0.5, 0.5])),
    lambda c, r: T.track_max(c, "hi", r.choice([7, 7.0, 3])),
    lambda c, r: T.track_avg(c, "avg", r.random() * 100),
    lambda c, r: T.track_freq(c, "freq", r.choice([200, 404, "x", 2.5, True])),
    lambda c, r: T.track_unique(c, "uniq", r.choice(["a", "b", 1, "1", 1.0, "c", r.randint(0, 30)])),
    lambda c, r: T.track_cardinality(c, "card", r.randint(0, 500)),
    lambda c, r: T.track_percentiles(c, "pct", r.gauss(100, 30)),
    lambda c, r: T.track_stats(c, "st", r.randint(0, 1000)),
    lambda c, r: T.track_top(c, "top", r.choice("abcdefgh"), 3),
    lambda c, r: T.track_bottom(c, "bot", r.choice("abcdefgh"), 3),
    lambda c, r: T.track_top_by(c, "topby", r.choice("abcdefgh"), r.randint(0, 9)),
    lambda c, r: T.track_bottom_by(c, "botby", r.choice("abcdefgh"), r.random()),
    lambda c, r: T.track_sum(c, "missing", None),
]


def ops(seed, n):
    r = random.Random(seed)
    return [(r.randrange(len(CALLS)), r.getrandbits(32)) for _ in range(n)]


def run(stream, ctx=None):
    ctx = ctx or new_ctx()
    for idx, s in stream:
        CALLS[idx](ctx, random.Random(s))
    return ctx.metrics


def split_merge(stream, cuts, via_pickle=True, pending=False):
    bounds = [0, *sorted(cuts), len(stream)]
    total = MetricStore()
    for a, b in zip(bounds, bounds[1:]):
        ctx = new_ctx()
        if pending:
            ctx.pending = []
            run(stream[a:b], ctx)
            ctx.metrics.commit(ctx.pending)
            store = ctx.metrics
        else:
            store = run(stream[a:b])
        if via_pickle:
            store = pickle.loads(pickle.dumps(store))
        total.merge(store)
    return total


@pytest.mark.parametrize("seed", range(6))
def test_random_splits_equal_sequential(seed):
    stream = ops(seed, 3000)
    seq = run(stream)
    r = random.Random(seed)
    cuts = r.sample(range(1, len(stream)), r.randint(1, 6))
    merged = split_merge(stream, cuts, pending=seed % 2 == 0)
    assert merged.finalize() == seq.finalize()
    assert merged.skipped == seq.skipped
    assert merged.skipped_hint() == seq.skipped_hint()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 300), cuts=st.lists(st.integers(0, 300), max_size=5))
def test_property_split_equivalence(seed, n, cuts):
    stream = ops(seed, n)
    cuts = [c for c in cuts if 0 < c < n]
    seq = run(stream).finalize()
    assert split_merge(stream, cuts, via_pickle=False).finalize() == seq


def test_merging_into_empty_and_from_empty():
    stream = ops(99, 500)
    seq = run(stream).finalize()
    s = MetricStore()
    s.merge(run(stream))
    s.merge(MetricStore())
    assert s.finalize() == seq


def test_sketch_merge_after_switch_is_split_independent():
    r = random.Random(3)
    values = [r.lognormvariate(3, 1) for _ in range(5000)]
    seq = QuantileSketch(limit=1000)
    for v in values:
        seq.add(v)
    for cut_points in ([700], [100, 900, 2500], [4000]):
        parts, last = [], 0
        for c in [*cut_points, len(values)]:
            q = QuantileSketch(limit=1000)
            for v in values[last:c]:
                q.add(v)
            parts.append(q)
            last = c
        merged = parts[0]
        for p in parts[1:]:
            merged.merge(p)
        for p in (0.01, 0.5, 0.9, 0.999):
            assert merged.quantile(p) == seq.quantile(p)


def test_cardinality_merge_is_union():
    a, b, both = new_ctx(), new_ctx(), new_ctx()
    for i in range(3000):
        T.track_cardinality(a, "c", f"x{i}")
        T.track_cardinality(both, "c", f"x{i}")
    for i in range(2000, 6000):
        T.track_cardinality(b, "c", f"x{i}")
        T.track_cardinality(both, "c", f"x{i}")
    a.metrics.merge(b.metrics)
    assert a.metrics.finalize() == both.metrics.finalize()


def test_cardinality_merge_with_other_precision_folds():
    a, b = new_ctx(), new_ctx()
    for i in range(5000):
        T.track_cardinality(a, "c", f"x{i}", 0.05)
        T.track_cardinality(b, "c", f"y{i}", 0.01)
    a.metrics.merge(b.metrics)
    est = a.metrics.finalize()["c"]
    assert abs(est - 10000) / 10000 < 0.12


def test_conflicting_kinds_across_workers_keep_first():
    a, b = new_ctx(), new_ctx()
    T.track_inc(a, "x")
    T.track_freq(b, "x", "v")
    a.metrics.merge(b.metrics)
    assert a.metrics.finalize() == {"x": 1}
