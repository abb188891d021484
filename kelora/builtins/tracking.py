"""``track_*`` builtins: record metrics into ``ctx.metrics`` (see ``kelora/metrics/store.py``).

Rollback contract with the pipeline: while a stage runs, ``ctx.pending`` is a list and each call
appends an op to it; the pipeline commits the list when the stage succeeds and drops it when it
fails.  With ``ctx.pending is None`` (tests, simple callers) ops apply at once.  Argument and
one-name-one-function errors are raised here, at call time, so they fail the calling stage.

A ``()`` value (usually a misspelt field) is skipped and counted; ``MetricStore.skipped_hint``
turns the counts into the end-of-run hint.
"""
from __future__ import annotations

import sys

from kelora.builtins.registry import builtin
from kelora.errors import FunctionError
from kelora.metrics.store import (
    DEFAULT_QUANTILES,
    SKIP,
    UNIQUE_WARN_LIMIT,
    AvgMetric,
    BottomByMetric,
    BottomMetric,
    CardinalityMetric,
    FreqMetric,
    MaxMetric,
    MinMetric,
    PercentilesMetric,
    StatsMetric,
    SumMetric,
    TopByMetric,
    TopMetric,
    UniqueMetric,
)
from kelora.values import Char, format_float_rust, type_name

_EMPTY = ()


def _conflict(ctx, name: str, cls: type, fn: str) -> None:
    """Raise if *name* is already tracked (committed or in this stage) by another function."""
    m = ctx.metrics.metrics.get(name)
    if m is not None:
        if type(m) is not cls:
            _raise_conflict(name, m.fn, fn)
        return
    pending = ctx.pending
    if pending:
        for op in pending:
            if op[1] == name and op[0] is not cls and op[0] is not SKIP:
                _raise_conflict(name, op[2], fn)


def _raise_conflict(name: str, first: str, second: str) -> None:
    raise FunctionError(
        f"metric '{name}' is already tracked by {first}; each metric name can be used by only "
        f"one track function (use a different name for {second})"
    )


def _record(ctx, cls: type, name: str, fn: str, args: tuple, init: tuple = _EMPTY):
    """Apply or queue one op; returns the metric when applied directly (else None)."""
    store = ctx.metrics
    m = store.metrics.get(name)
    if m is not None and type(m) is not cls:
        _raise_conflict(name, m.fn, fn)
    pending = ctx.pending
    if pending is not None:
        if m is None and pending:
            _conflict(ctx, name, cls, fn)
        pending.append((cls, name, fn, args, init))
        return m
    if m is None:
        m = store.metrics[name] = cls(fn, *init)
    m.add(*args)
    return m


def _skip(ctx, name: str, fn: str) -> None:
    op = (SKIP, name, fn, _EMPTY, _EMPTY)
    if ctx.pending is not None:
        ctx.pending.append(op)
    else:
        ctx.metrics.apply(op)


def _number(fn: str, value: object, as_float: bool = True) -> int | float:
    """*value* when it is a number; *as_float*: one the metric can hold as a float (an integer
    of 309 digits or more, read exactly from the input, COMPAT D20, cannot be)."""
    t = type(value)
    if t is float:
        return value  # type: ignore[return-value]
    if t is int:
        if as_float and not -_FLOAT_INT <= value <= _FLOAT_INT:  # type: ignore[operator]
            raise FunctionError(f"{fn} value is an integer too large for a float "
                                f"({len(str(abs(value)))} digits)")  # type: ignore[arg-type]
        return value  # type: ignore[return-value]
    raise FunctionError(f"{fn} value must be a number; got {type_name(value)}")


_FLOAT_INT = int(sys.float_info.max)  # (the largest int a float holds; beyond, float() raises)


def category(fn: str, value: object) -> str:
    """A categorical value as text: strings as-is, ints/bools Display, floats Rust Display."""
    t = type(value)
    if t is str:
        return value  # type: ignore[return-value]
    if t is int:
        return str(value)
    if t is float:
        return format_float_rust(value)  # type: ignore[arg-type]
    if t is bool:
        return "true" if value else "false"
    if t is Char:
        return str(value)
    raise FunctionError(f"{fn} value must be a string, number, or bool; got {type_name(value)}")


# --------------------------------------------------------------------------- numeric


@builtin("tracking", pass_context=True, pure=False, effects={"metrics"})
def track_sum(ctx, name: str, value: object) -> None:
    """Add a number to a running sum (stays an int while only ints are added).

    Examples:
        track_sum("bytes", 512)  =>  ()
    """
    if value is None:
        return _skip(ctx, name, "track_sum")
    t = type(value)
    if t is not int and t is not float:
        _number("track_sum", value)
    _record(ctx, SumMetric, name, "track_sum", (value,))


@builtin("tracking", pass_context=True, pure=False, effects={"metrics"})
def track_inc(ctx, name: str, *extra: object) -> None:
    """Add 1 to a counter (the same metric kind as track_sum).

    For increments by N use ``track_sum(name, n)``.

    Examples:
        track_inc("errors")  =>  ()
    """
    if extra:
        raise FunctionError(
            'track_inc adds 1; for increment-by-N use track_sum("name", n), '
            'e.g. track_sum("bytes", e.bytes)'
        )
    _record(ctx, SumMetric, name, "track_inc", (1,))


@builtin("tracking", pass_context=True, pure=False, effects={"metrics"})
def track_min(ctx, name: str, value: object) -> None:
    """Keep the smallest number seen (as given: int or float; ties keep the first).

    Examples:
        track_min("min_ms", 12)  =>  ()
    """
    if value is None:
        return _skip(ctx, name, "track_min")
    _record(ctx, MinMetric, name, "track_min", (_number("track_min", value, as_float=False),))


@builtin("tracking", pass_context=True, pure=False, effects={"metrics"})
def track_max(ctx, name: str, value: object) -> None:
    """Keep the largest number seen (as given: int or float; ties keep the first).

    Examples:
        track_max("max_ms", 950)  =>  ()
    """
    if value is None:
        return _skip(ctx, name, "track_max")
    _record(ctx, MaxMetric, name, "track_max", (_number("track_max", value, as_float=False),))


@builtin("tracking", pass_context=True, pure=False, effects={"metrics"})
def track_avg(ctx, name: str, value: object) -> None:
    """Average of the numbers seen (a float; 0.0 when none).

    Examples:
        track_avg("avg_latency", 120.5)  =>  ()
    """
    if value is None:
        return _skip(ctx, name, "track_avg")
    _record(ctx, AvgMetric, name, "track_avg", (_number("track_avg", value),))


# --------------------------------------------------------------------------- categorical


@builtin("tracking", pass_context=True, pure=False, effects={"metrics"})
def track_freq(ctx, name: str, value: object) -> None:
    """Count occurrences of each value (a frequency table; numbers and bools as text).

    Examples:
        track_freq("status", 200)  =>  ()
    """
    if value is None:
        return _skip(ctx, name, "track_freq")
    key = value if type(value) is str else category("track_freq", value)
    _record(ctx, FreqMetric, name, "track_freq", (key,))


@builtin("tracking", pass_context=True, pure=False, effects={"metrics"})
def track_unique(ctx, name: str, value: object) -> None:
    """Collect distinct values in first-seen order (5 and "5" are different; bools as text).

    Examples:
        track_unique("users", "alice")  =>  ()
    """
    if value is None:
        return _skip(ctx, name, "track_unique")
    t = type(value)
    if t is not str:
        if t is bool:
            value = "true" if value else "false"
        elif t is Char:
            value = str(value)
        elif t is not int and t is not float:
            raise FunctionError(
                f"track_unique value must be a string, number, or bool; got {type_name(value)}"
            )
    m = _record(ctx, UniqueMetric, name, "track_unique", (value,))
    if m is not None and len(m.order) > UNIQUE_WARN_LIMIT:
        ctx.diag.warn_once(*m.limit_warning(name))


@builtin("tracking", pass_context=True, pure=False, effects={"metrics"})
def track_cardinality(ctx, name: str, value: object, error: int | float = 0.01) -> None:
    """Estimate the number of distinct values (HyperLogLog; *error* 0.001..0.26, default 0.01).

    Examples:
        track_cardinality("ips", "10.0.0.1")  =>  ()
    """
    if value is None:
        return _skip(ctx, name, "track_cardinality")
    key = value if type(value) is str else category("track_cardinality", value)
    if type(error) is not int and type(error) is not float:
        raise FunctionError(f"track_cardinality error must be a number; got {type_name(error)}")
    _record(ctx, CardinalityMetric, name, "track_cardinality", (key,), (error,))


def _quantiles(fn: str, qs: object) -> tuple[float, ...]:
    if qs is None:
        return DEFAULT_QUANTILES
    if type(qs) is not list:
        raise FunctionError(f"{fn} percentiles must be an array of numbers; got {type_name(qs)}")
    out = []
    for q in qs:
        if type(q) is not int and type(q) is not float:
            raise FunctionError(f"{fn} percentiles must be numbers; got {type_name(q)}")
        if not 0.0 <= q <= 1.0:
            raise FunctionError(
                f"{fn} percentile must be in range [0.0, 1.0], got {format_float_rust(float(q))}"
            )
        out.append(float(q))
    return tuple(out)


@builtin("tracking", pass_context=True, pure=False, effects={"metrics"})
def track_percentiles(ctx, name: str, value: object, percentiles: list | None = None) -> None:
    """Track percentiles of a number as ``<name>_p50``, ``_p95``, ``_p99`` (or the given quantiles 0..1).

    Exact up to 100,000 values, then a sketch with 0.5% relative error.  Non-finite values are
    ignored; an empty list of quantiles is an error.

    Examples:
        track_percentiles("lat_pct", 12.5)  =>  ()
        track_percentiles("lat_pct", 12.5, [0.5, 0.999])  =>  ()
    """
    if type(percentiles) is list and not percentiles:
        raise FunctionError("track_percentiles requires a non-empty array of percentiles")
    if value is None:
        return _skip(ctx, name, "track_percentiles")
    v = _number("track_percentiles", value)
    qs = _quantiles("track_percentiles", percentiles)
    _record(ctx, PercentilesMetric, name, "track_percentiles", (v,), (qs,))


@builtin("tracking", pass_context=True, pure=False, effects={"metrics"})
def track_stats(ctx, name: str, value: object, percentiles: list | None = None) -> None:
    """Summary statistics of a number: ``<name>_min, _max, _avg, _count, _sum`` and percentiles.

    Examples:
        track_stats("lat_stats", 12.5)  =>  ()
    """
    if value is None:
        return _skip(ctx, name, "track_stats")
    v = _number("track_stats", value)
    qs = _quantiles("track_stats", percentiles)
    _record(ctx, StatsMetric, name, "track_stats", (v,), (qs,))


# --------------------------------------------------------------------------- rankings


def _top_n(fn: str, n: object) -> int:
    if type(n) is not int:
        raise FunctionError(f"{fn} n must be an integer; got {type_name(n)}")
    if n < 1:
        raise FunctionError(f"{fn} requires n >= 1, got {n}")
    return n


def _ranked(ctx, cls, fn: str, name: str, item: object, n: object) -> None:
    if item is None:
        return _skip(ctx, name, fn)
    key = item if type(item) is str else category(fn, item)
    _record(ctx, cls, name, fn, (key,), (_top_n(fn, n),))


@builtin("tracking", pass_context=True, pure=False, effects={"metrics"})
def track_top(ctx, name: str, item: object, n: object = 10, *extra: object) -> None:
    """Count items and keep the *n* most frequent (count desc, then item asc) at output.

    Examples:
        track_top("endpoints", "/api/users")  =>  ()
        track_top("endpoints", "/api/users", 3)  =>  ()
    """
    if extra:
        raise FunctionError(
            "ranking by a score moved to track_top_by in kelora 2.0: "
            'track_top_by("slowest", e.endpoint, e.latency_ms)'
        )
    _ranked(ctx, TopMetric, "track_top", name, item, n)


@builtin("tracking", pass_context=True, pure=False, effects={"metrics"})
def track_bottom(ctx, name: str, item: object, n: object = 10, *extra: object) -> None:
    """Count items and keep the *n* least frequent (count asc, then item asc) at output.

    Examples:
        track_bottom("rare_endpoints", "/health", 5)  =>  ()
    """
    if extra:
        raise FunctionError(
            "ranking by a score moved to track_bottom_by in kelora 2.0: "
            'track_bottom_by("fastest", e.endpoint, e.latency_ms)'
        )
    _ranked(ctx, BottomMetric, "track_bottom", name, item, n)


def _ranked_by(ctx, cls, fn: str, name: str, item: object, score: object, n: object) -> None:
    if item is None or score is None:
        return _skip(ctx, name, fn)
    key = item if type(item) is str else category(fn, item)
    s = _number(fn, score)
    _record(ctx, cls, name, fn, (key, float(s)), (_top_n(fn, n),))


@builtin("tracking", pass_context=True, pure=False, effects={"metrics"})
def track_top_by(ctx, name: str, item: object, score: object, n: object = 10) -> None:
    """Keep each item's highest score and rank the *n* highest (score desc, then item asc).

    Examples:
        track_top_by("slowest", "/api/users", 950)  =>  ()
    """
    _ranked_by(ctx, TopByMetric, "track_top_by", name, item, score, n)


@builtin("tracking", pass_context=True, pure=False, effects={"metrics"})
def track_bottom_by(ctx, name: str, item: object, score: object, n: object = 10) -> None:
    """Keep each item's lowest score and rank the *n* lowest (score asc, then item asc).

    Examples:
        track_bottom_by("fastest", "/health", 2)  =>  ()
    """
    _ranked_by(ctx, BottomByMetric, "track_bottom_by", name, item, score, n)


# --------------------------------------------------------------------------- removed in 2.0


@builtin("tracking", pure=False, effects={"metrics"})
def track_count(*args: object) -> None:
    """Removed in kelora 2.0: use track_freq (frequency table) or track_sum/track_inc (counter).

    Examples:
        track_count("status", 200)  =>  !error track_count was removed in kelora 2.0
    """
    raise FunctionError(
        'track_count was removed in kelora 2.0 because "count" was ambiguous. For a frequency '
        'table use track_freq("status", e.status); for a running counter use '
        'track_sum("errors", 1) or track_inc("errors").'
    )


@builtin("tracking", pure=False, effects={"metrics"})
def track_bucket(*args: object) -> None:
    """Removed in kelora 2.0: renamed to track_freq(name, value).

    Examples:
        track_bucket("status", 200)  =>  !error track_bucket was renamed in kelora 2.0
    """
    raise FunctionError(
        "track_bucket was renamed in kelora 2.0: use track_freq(name, value), "
        'e.g. track_freq("status_class", e.status / 100 * 100)'
    )
