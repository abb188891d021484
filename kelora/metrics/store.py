"""Tracked metrics (``track_*``): mergeable values and the per-run ``MetricStore``.

Every metric is a small class with ``add`` (one tracked value), ``merge`` (the same metric from
another worker, which saw *later* input) and ``finalize_into`` (the user-visible values, reference
§2.6).  Merging worker stores in input order gives exactly what a sequential run gives:

* sums (int or float) are exact: ints are Python ints, floats are kept as exact Shewchuk partials
  and rounded once at the end, so the split into chunks cannot change the last digit;
* ``unique`` keeps first-seen order (the earlier chunk's order first);
* min/max keep the first of equal extremes (ties keep the earlier chunk's value);
* percentiles keep every value exactly up to ``EXACT_LIMIT`` values and then switch to a
  log-bucket sketch (DDSketch-style, 0.5% relative error) whose bucket counts do not depend on
  the split either;
* cardinality is a HyperLogLog (xxh3 hash, fixed seed) whose merge is a register-wise max.

The pipeline drives it through four calls: ``commit(pending)`` after a stage succeeded (ops the
``track_*`` builtins recorded in ``ctx.pending``), ``merge(other)`` for worker results,
``finalize()`` for ``--end``'s ``metrics`` map and JSON, ``skipped_hint()`` for the typo hint.
"""
from __future__ import annotations

import math

from kelora.metrics.sketches import ExactSum, HyperLogLog, QuantileSketch
from kelora.values import format_float_rust

__all__ = ["MetricStore", "ExactSum", "HyperLogLog", "QuantileSketch", "METRIC_CLASSES"]

RESERVED_PREFIXES = ("__op_", "__kelora_")
DEFAULT_QUANTILES = (0.5, 0.95, 0.99)
UNIQUE_WARN_LIMIT = 100_000


def quantile_suffix(q: float) -> str:
    """``p50`` for 0.5, ``p99.9`` for 0.999 (P = q*100, integers without decimals)."""
    p = round(q * 100, 10)
    if p == int(p):
        return f"p{int(p)}"
    return "p" + format_float_rust(p)


# --------------------------------------------------------------------------- metrics

class Metric:
    """Base: ``fn`` is the track function that created the metric (for the one-name rule)."""

    __slots__ = ("fn",)
    kind = "metric"

    def __init__(self, fn: str):
        self.fn = fn

    def merge(self, other) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def finalize_into(self, name: str, out: dict, views: list | None) -> None:  # pragma: no cover
        raise NotImplementedError


class SumMetric(Metric):
    __slots__ = ("total",)
    kind = "sum"

    def __init__(self, fn: str, *_):
        super().__init__(fn)
        self.total = ExactSum()

    def add(self, v) -> None:
        self.total.add(v)

    def merge(self, other: "SumMetric") -> None:
        self.total.merge(other.total)

    def finalize_into(self, name, out, views):
        v = self.total.value()
        out[name] = v
        if views is not None:
            views.append((name, "scalar", v))


class MinMetric(Metric):
    __slots__ = ("value",)
    kind = "min"

    def __init__(self, fn: str, *_):
        super().__init__(fn)
        self.value = None

    # (ints and floats compare exactly in Python: two integers beyond 64 bits that round to one
    # float are still told apart, and no int is too large to compare)
    def add(self, v) -> None:
        if self.value is None or v < self.value:
            self.value = v

    def merge(self, other: "MinMetric") -> None:
        if other.value is not None and (self.value is None or other.value < self.value):
            self.value = other.value

    def finalize_into(self, name, out, views):
        out[name] = self.value
        if views is not None:
            views.append((name, "scalar", self.value))


class MaxMetric(MinMetric):
    __slots__ = ()
    kind = "max"

    def add(self, v) -> None:
        if self.value is None or v > self.value:
            self.value = v

    def merge(self, other: "MaxMetric") -> None:
        if other.value is not None and (self.value is None or other.value > self.value):
            self.value = other.value


class AvgMetric(Metric):
    __slots__ = ("total", "count")
    kind = "avg"

    def __init__(self, fn: str, *_):
        super().__init__(fn)
        self.total = ExactSum()
        self.count = 0

    def add(self, v) -> None:
        self.total.add(v)
        self.count += 1

    def merge(self, other: "AvgMetric") -> None:
        self.total.merge(other.total)
        self.count += other.count

    def finalize_into(self, name, out, views):
        v = self.total.float_value() / self.count if self.count else 0.0
        out[name] = v
        if views is not None:
            views.append((name, "scalar", v))


class FreqMetric(Metric):
    __slots__ = ("counts",)
    kind = "freq"

    def __init__(self, fn: str, *_):
        super().__init__(fn)
        self.counts: dict[str, int] = {}

    def add(self, key: str) -> None:
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1

    def merge(self, other: "FreqMetric") -> None:
        counts = self.counts
        for k, c in other.counts.items():
            counts[k] = counts.get(k, 0) + c

    def finalize_into(self, name, out, views):
        v = dict(sorted(self.counts.items()))
        out[name] = v
        if views is not None:
            views.append((name, "freq", v))


class UniqueMetric(Metric):
    """Distinct values in first-seen order; ``5`` and ``"5"`` are different values."""

    __slots__ = ("order", "seen")
    kind = "unique"

    def __init__(self, fn: str, *_):
        super().__init__(fn)
        self.order: list = []
        self.seen: set = set()

    @staticmethod
    def key(v):
        # strings are their own key; numbers are tagged so 5, 5.0 and "5" stay distinct
        t = type(v)
        return v if t is str else (t.__name__, v)

    def add(self, v) -> None:
        k = v if type(v) is str else (type(v).__name__, v)
        seen = self.seen
        if k not in seen:
            seen.add(k)
            self.order.append(v)

    @staticmethod
    def limit_warning(name: str) -> tuple[str, str]:
        """``(once-key, warning)`` for a set grown past ``UNIQUE_WARN_LIMIT`` (said by the
        builtin, and by a parallel driver about the merged set)."""
        return (f"track_unique-limit:{name}", f"track_unique('{name}') holds more than {UNIQUE_WARN_LIMIT} "
                "values; consider track_cardinality for large sets")

    def merge(self, other: "UniqueMetric") -> None:
        seen, order = self.seen, self.order
        key = self.key
        for v in other.order:
            k = key(v)
            if k not in seen:
                seen.add(k)
                order.append(v)

    def finalize_into(self, name, out, views):
        v = list(self.order)
        out[name] = v
        if views is not None:
            views.append((name, "unique", v))


class CardinalityMetric(Metric):
    """Distinct-value estimate (HyperLogLog, error clamped to 0.001..0.26)."""

    __slots__ = ("hll",)
    kind = "cardinality"

    def __init__(self, fn: str, err: float = 0.01, *_):
        super().__init__(fn)
        self.hll = HyperLogLog(err)

    def add(self, text: str, *_) -> None:
        self.hll.add(text)

    def merge(self, other: "CardinalityMetric") -> None:
        self.hll.merge(other.hll)

    def finalize_into(self, name, out, views):
        v = self.hll.estimate()
        out[name] = v
        if views is not None:
            views.append((name, "approx", v))


class PercentilesMetric(Metric):
    __slots__ = ("sketch", "quantiles")
    kind = "percentiles"

    def __init__(self, fn: str, quantiles=DEFAULT_QUANTILES, *_):
        super().__init__(fn)
        self.sketch = QuantileSketch()
        self.quantiles = tuple(quantiles)

    def add(self, v, *_) -> None:
        fv = float(v)
        if math.isfinite(fv):
            self.sketch.add(fv)

    def merge(self, other: "PercentilesMetric") -> None:
        self.sketch.merge(other.sketch)
        for q in other.quantiles:
            if q not in self.quantiles:
                self.quantiles += (q,)

    def finalize_into(self, name, out, views):
        for q in self.quantiles:
            key = f"{name}_{quantile_suffix(q)}"
            v = self.sketch.quantile(q)
            out[key] = v
            if views is not None:
                views.append((key, "scalar", v))


class StatsMetric(Metric):
    __slots__ = ("count", "total", "min", "max", "sketch", "quantiles")
    kind = "stats"

    def __init__(self, fn: str, quantiles=DEFAULT_QUANTILES, *_):
        super().__init__(fn)
        self.count = 0
        self.total = ExactSum()
        self.min: float | None = None
        self.max: float | None = None
        self.sketch = QuantileSketch()
        self.quantiles = tuple(quantiles)

    def add(self, v, *_) -> None:
        fv = float(v)
        self.count += 1
        self.total.add(fv)
        if self.min is None or fv < self.min:
            self.min = fv
        if self.max is None or fv > self.max:
            self.max = fv
        if math.isfinite(fv):
            self.sketch.add(fv)

    def merge(self, other: "StatsMetric") -> None:
        self.count += other.count
        self.total.merge(other.total)
        if other.min is not None and (self.min is None or other.min < self.min):
            self.min = other.min
        if other.max is not None and (self.max is None or other.max > self.max):
            self.max = other.max
        self.sketch.merge(other.sketch)
        for q in other.quantiles:
            if q not in self.quantiles:
                self.quantiles += (q,)

    def finalize_into(self, name, out, views):
        total = self.total.float_value()
        items = [
            (f"{name}_avg", total / self.count if self.count else 0.0),
            (f"{name}_count", self.count),
            (f"{name}_max", self.max if self.max is not None else 0.0),
            (f"{name}_min", self.min if self.min is not None else 0.0),
        ]
        items += [(f"{name}_{quantile_suffix(q)}", self.sketch.quantile(q)) for q in self.quantiles]
        items.append((f"{name}_sum", total))
        for key, v in items:
            out[key] = v
            if views is not None:
                views.append((key, "scalar", v))


class TopMetric(Metric):
    """Full per-item counts, ranked at output: count desc (top) / asc (bottom), then key asc."""

    __slots__ = ("counts", "n")
    kind = "top"
    descending = True

    def __init__(self, fn: str, n: int = 10, *_):
        super().__init__(fn)
        self.counts: dict[str, int] = {}
        self.n = n

    def add(self, key: str, *_) -> None:
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1

    def merge(self, other: "TopMetric") -> None:
        counts = self.counts
        for k, c in other.counts.items():
            counts[k] = counts.get(k, 0) + c

    def ranked(self) -> list[dict]:
        sign = -1 if self.descending else 1
        items = sorted(self.counts.items(), key=lambda kv: (sign * kv[1], kv[0]))[: self.n]
        return [{"count": c, "key": k} for k, c in items]

    def finalize_into(self, name, out, views):
        v = self.ranked()
        out[name] = v
        if views is not None:
            views.append((name, "ranked", v))


class BottomMetric(TopMetric):
    __slots__ = ()
    kind = "bottom"
    descending = False


class TopByMetric(Metric):
    """Per item the max (top_by) / min (bottom_by) score, ranked by it, then key asc."""

    __slots__ = ("scores", "n")
    kind = "top_by"
    descending = True

    def __init__(self, fn: str, n: int = 10, *_):
        super().__init__(fn)
        self.scores: dict[str, float] = {}
        self.n = n

    def add(self, key: str, score: float) -> None:
        scores = self.scores
        old = scores.get(key)
        if old is None or (score > old if self.descending else score < old):
            scores[key] = score

    def merge(self, other: "TopByMetric") -> None:
        for k, s in other.scores.items():
            self.add(k, s)

    def ranked(self) -> list[dict]:
        sign = -1 if self.descending else 1
        items = sorted(self.scores.items(), key=lambda kv: (sign * kv[1], kv[0]))[: self.n]
        return [{"key": k, "value": s} for k, s in items]

    def finalize_into(self, name, out, views):
        v = self.ranked()
        out[name] = v
        if views is not None:
            views.append((name, "ranked_by", v))


class BottomByMetric(TopByMetric):
    __slots__ = ()
    kind = "bottom_by"
    descending = False


# Track function -> metric class (track_inc shares track_sum's class: they may be mixed).
METRIC_CLASSES: dict[str, type[Metric]] = {
    "track_sum": SumMetric,
    "track_inc": SumMetric,
    "track_min": MinMetric,
    "track_max": MaxMetric,
    "track_avg": AvgMetric,
    "track_freq": FreqMetric,
    "track_unique": UniqueMetric,
    "track_cardinality": CardinalityMetric,
    "track_percentiles": PercentilesMetric,
    "track_stats": StatsMetric,
    "track_top": TopMetric,
    "track_bottom": BottomMetric,
    "track_top_by": TopByMetric,
    "track_bottom_by": BottomByMetric,
}

# Pending op for a `()` value: counted, never creates the metric.
SKIP = None


# --------------------------------------------------------------------------- the store

class MetricStore:
    """All metrics of a run (or of one worker's share of it).

    Ops are tuples ``(cls, name, fn, args, init)``: apply ``cls.add(*args)`` to metric
    ``name``, creating it as ``cls(fn, *init)`` first.  ``(SKIP, name, fn, (), ())`` counts a
    skipped ``()`` value.
    """

    __slots__ = ("metrics", "skipped", "conflicts")

    def __init__(self):
        self.metrics: dict[str, Metric] = {}
        self.skipped: dict[str, int] = {}
        # merge(): names tracked by different functions in different stores -> their functions
        self.conflicts: dict[str, list[str]] = {}

    def __repr__(self) -> str:
        return f"<MetricStore {len(self.metrics)} metrics>"

    def apply(self, op: tuple) -> None:
        cls, name, fn, args, init = op
        if cls is SKIP:
            self.skipped[name] = self.skipped.get(name, 0) + 1
            return
        m = self.metrics.get(name)
        if m is None:
            m = self.metrics[name] = cls(fn, *init)
        elif type(m) is not cls:  # checked at call time; a stale op cannot mix kinds
            return
        m.add(*args)

    def commit(self, pending: list | None) -> None:
        """Apply the ops a successful stage recorded (in order)."""
        if pending:
            get = self.metrics.get
            for op in pending:
                m = get(op[1])
                if m is not None and type(m) is op[0]:
                    m.add(*op[3])  # the common case: an existing metric of the right kind
                else:
                    self.apply(op)

    def merge(self, other: "MetricStore") -> None:
        """Fold in a store that saw later input (workers' results in input order).

        ``other`` is consumed (its metric objects may be adopted).  A name tracked by different
        functions in different workers keeps the earlier worker's metric, and is recorded in
        ``conflicts`` (the run warns about it, as Kelora does at its merge boundary).
        """
        mine = self.metrics
        for name, m in other.metrics.items():
            cur = mine.get(name)
            if cur is None:
                mine[name] = m
            elif type(cur) is type(m):
                cur.merge(m)
            else:
                fns = self.conflicts.setdefault(name, [cur.fn])
                if m.fn not in fns:
                    fns.append(m.fn)
        for name, fns in other.conflicts.items():
            mine_fns = self.conflicts.setdefault(name, [])
            mine_fns.extend(f for f in fns if f not in mine_fns)
        for name, c in other.skipped.items():
            self.skipped[name] = self.skipped.get(name, 0) + c

    def is_empty(self) -> bool:
        return not any(not n.startswith(RESERVED_PREFIXES) for n in self.metrics)

    def _visible(self) -> list[tuple[str, Metric]]:
        return sorted(
            (n, m) for n, m in self.metrics.items() if not n.startswith(RESERVED_PREFIXES)
        ) if self.metrics else []

    def finalize(self) -> dict:
        """User-visible metric values keyed by name, sorted by key (COMPAT D12)."""
        out: dict = {}
        for name, m in self._visible():
            m.finalize_into(name, out, None)
        return dict(sorted(out.items()))

    def views(self) -> list[tuple[str, str, object]]:
        """``(key, shape, value)`` sorted by key, for rendering.

        shape: ``scalar`` (int/float), ``approx`` (cardinality int), ``freq`` (dict),
        ``unique`` (list), ``ranked`` (list of {count, key}), ``ranked_by`` (list of {key, value}).
        """
        views: list = []
        out: dict = {}
        for name, m in self._visible():
            m.finalize_into(name, out, views)
        views.sort(key=lambda v: v[0])
        return views

    def skipped_hint(self) -> str | None:
        """The missing-values hint text (without the ``kelora hint:`` prefix), or None."""
        never = sorted(
            (n, c) for n, c in self.skipped.items()
            if n not in self.metrics and not n.startswith(RESERVED_PREFIXES)
        )
        if not never:
            return None
        names = ", ".join(f"{n} ({c})" for n, c in never)
        return (
            f"Tracking skipped events with missing values: {names}. "
            "These metrics never recorded a value — likely a field-name typo."
        )
