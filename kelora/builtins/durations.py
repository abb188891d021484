"""Duration builtins: to_duration("1h30m"), duration_from_*, as_* accessors.

Durations are ``values.Duration`` (whole nanoseconds); their display ("1h 30m") is in values.py.
The ``as_*`` accessors truncate toward zero, as chrono's ``num_*`` methods do.
"""
from __future__ import annotations

import math
import re

from kelora import values
from kelora.builtins.registry import builtin
from kelora.errors import FunctionError

Duration = values.Duration


_DUR_UNITS = {
    "ns": 1, "nanos": 1, "us": 1_000, "µs": 1_000, "micros": 1_000,
    "ms": 1_000_000, "millis": 1_000_000, "msec": 1_000_000,
    "s": 10**9, "sec": 10**9, "secs": 10**9, "second": 10**9, "seconds": 10**9,
    "m": 60 * 10**9, "min": 60 * 10**9, "mins": 60 * 10**9, "minute": 60 * 10**9, "minutes": 60 * 10**9,
    "h": 3600 * 10**9, "hr": 3600 * 10**9, "hrs": 3600 * 10**9, "hour": 3600 * 10**9, "hours": 3600 * 10**9,
    "d": 86400 * 10**9, "day": 86400 * 10**9, "days": 86400 * 10**9,
    "w": 7 * 86400 * 10**9, "week": 7 * 86400 * 10**9, "weeks": 7 * 86400 * 10**9,
}
_DUR_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zµ]+)", re.IGNORECASE)


def parse_duration(text: str) -> Duration | None:
    """"1h30m", "1h 30m", "250ms", "1.5s", "-2d" to a Duration; None when invalid."""
    s = text.strip()
    neg = s.startswith("-")
    if neg or s.startswith("+"):
        s = s[1:]
    if not s:
        return None
    total, pos, n = 0, 0, len(s)
    # anchored matches one after another (a `finditer` search would rescan the rest of the
    # text from every position of a long run without a unit: quadratic)
    while pos < n:
        m = _DUR_PART.match(s, pos)
        if m is None:
            break
        unit = _DUR_UNITS.get(m.group(2).lower())
        if unit is None:
            return None
        num = m.group(1)
        if len(num) > 30:  # beyond any duration (and int() of 4300+ digits raises)
            return None
        total += int(num) * unit if "." not in num else round(float(num) * unit)
        pos = m.end()
    if pos == 0 or s[pos:].strip():
        return None
    return Duration(-total if neg else total)


@builtin("datetime", unit_on_failure=True)
def to_duration(text: str) -> Duration:
    """Parse "1h30m", "1h 30m", "250ms", "1.5s", "2d", "1w" into a duration (invalid is an error).

    Examples:
        as_seconds(to_duration("1h30m"))  =>  5400
        as_milliseconds(to_duration("1.5s"))  =>  1500
        to_string(to_duration("90s"))  =>  "1m 30s"
    """
    d = parse_duration(text)
    if d is None:
        raise FunctionError(f"to_duration(): invalid duration '{text}'")
    return d


def _dur(fn: str, x: int | float, unit: int) -> Duration:
    if type(x) is float and (math.isnan(x) or math.isinf(x)):
        raise FunctionError(f"{fn}(): {values.to_string(x)} is not a finite number")
    nanos = x * unit
    if not -_MAX_NANOS <= nanos <= _MAX_NANOS:
        raise FunctionError(f"{fn}(): {values.to_string(x)} is out of range for a duration")
    return Duration(round(nanos) if type(x) is float else nanos)


# Kelora's durations are chrono's: at most i64::MAX milliseconds either way
_MAX_NANOS = (2**63 - 1) * 10**6


@builtin("datetime")
def duration_from_seconds(n: int | float) -> Duration:
    """A duration of n seconds (fractions allowed).

    Examples:
        to_string(duration_from_seconds(3600))  =>  "1h"
    """
    return _dur("duration_from_seconds", n, 10**9)


@builtin("datetime", aliases=("duration_from_millis",))
def duration_from_ms(n: int | float) -> Duration:
    """A duration of n milliseconds.

    Examples:
        as_seconds(duration_from_ms(2500))  =>  2
    """
    return _dur("duration_from_ms", n, 10**6)


@builtin("datetime")
def duration_from_minutes(n: int | float) -> Duration:
    """A duration of n minutes.

    Examples:
        as_seconds(duration_from_minutes(2))  =>  120
    """
    return _dur("duration_from_minutes", n, 60 * 10**9)


@builtin("datetime")
def duration_from_hours(n: int | float) -> Duration:
    """A duration of n hours.

    Examples:
        as_minutes(duration_from_hours(1.5))  =>  90
    """
    return _dur("duration_from_hours", n, 3600 * 10**9)


@builtin("datetime")
def duration_from_days(n: int | float) -> Duration:
    """A duration of n days.

    Examples:
        as_hours(duration_from_days(2))  =>  48
    """
    return _dur("duration_from_days", n, 86400 * 10**9)


@builtin("datetime")
def duration_from_nanos(n: int) -> Duration:
    """A duration of n nanoseconds.

    Examples:
        as_nanos(duration_from_nanos(42))  =>  42
    """
    return Duration(n)


def _whole(nanos: int, unit: int) -> int:
    q = abs(nanos) // unit
    return -q if nanos < 0 else q  # truncate toward zero, as chrono's num_*()


@builtin("datetime")
def as_seconds(d: Duration) -> int:
    """Whole seconds in a duration (truncated toward zero).

    Examples:
        as_seconds(to_duration("2m"))  =>  120
    """
    return _whole(d.nanos, 10**9)


@builtin("datetime", aliases=("as_millis",))
def as_milliseconds(d: Duration) -> int:
    """Whole milliseconds in a duration.

    Examples:
        as_milliseconds(to_duration("2s"))  =>  2000
    """
    return _whole(d.nanos, 10**6)


@builtin("datetime", aliases=("as_micros",))
def as_microseconds(d: Duration) -> int:
    """Whole microseconds in a duration.

    Examples:
        as_microseconds(to_duration("1ms"))  =>  1000
    """
    return _whole(d.nanos, 10**3)


@builtin("datetime", aliases=("as_nanoseconds",))
def as_nanos(d: Duration) -> int:
    """Nanoseconds in a duration.

    Examples:
        as_nanos(to_duration("1us"))  =>  1000
    """
    return d.nanos


@builtin("datetime")
def as_minutes(d: Duration) -> int:
    """Whole minutes in a duration.

    Examples:
        as_minutes(to_duration("1h"))  =>  60
    """
    return _whole(d.nanos, 60 * 10**9)


@builtin("datetime")
def as_hours(d: Duration) -> int:
    """Whole hours in a duration.

    Examples:
        as_hours(to_duration("3d"))  =>  72
    """
    return _whole(d.nanos, 3600 * 10**9)


@builtin("datetime")
def as_days(d: Duration) -> int:
    """Whole days in a duration.

    Examples:
        as_days(to_duration("49h"))  =>  2
    """
    return _whole(d.nanos, 86400 * 10**9)


@builtin("datetime")
def as_seconds_f(d: Duration) -> float:
    """Seconds in a duration as a float.

    Examples:
        as_seconds_f(to_duration("1500ms"))  =>  1.5
    """
    return d.nanos / 1e9
