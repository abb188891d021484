"""The value model of the script language, in one place.

Script values are plain Python objects, so events from orjson need no wrapping:

=============  ==============  ====================================================
script type    ``type_of``     Python representation
=============  ==============  ====================================================
unit ``()``    ``"()"``        ``None`` (JSON ``null`` reads as ``()`` too)
int            ``"i64"``       ``int`` (never ``bool``; range checked on arithmetic)
float          ``"f64"``       ``float``
string         ``"string"``    ``str``
char           ``"char"``      ``Char`` (a ``str`` subclass of length 1)
bool           ``"bool"``      ``bool``
array          ``"array"``     ``list``
map            ``"map"``       ``dict`` (insertion ordered)
datetime       ``"datetime"``  ``DateTime``
duration       ``"duration"``  ``Duration``
function       ``"Fn"``        ``FnPtr`` (closures and ``Fn("name")``)
=============  ==============  ====================================================

Decisions that the anchors got wrong elsewhere are made here once: ``bool`` is not an ``int``
(every check uses ``type(x)``, never ``isinstance``); values of different non-numeric types are
never equal and never ordered (comparisons are false, ``!=`` is true, nothing raises); floats
display the way Rhai prints them (``1.0``, ``0.045``, ``1e14``).
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1


class Char(str):
    """A one-character ``'c'`` literal: its own type for ``type_of``, a string everywhere else."""

    __slots__ = ()


class FnPtr:
    """A callable script value: a closure ``|x| ...`` or a named function pointer.

    Builtins such as ``map``/``filter`` simply call it: ``fn(x)``.
    """

    __slots__ = ("name",)

    def __init__(self, name: str = "<closure>"):
        self.name = name

    def __call__(self, *args):  # pragma: no cover - subclasses implement
        raise NotImplementedError


class DateTime:
    """A point in time (always timezone-aware)."""

    __slots__ = ("dt",)

    def __init__(self, dt: datetime):
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        self.dt = dt

    def __eq__(self, other):
        return type(other) is DateTime and not self.since(other)

    def __hash__(self):
        return hash(self.dt)

    def __repr__(self):
        return f"DateTime({self.iso()})"

    def shifted(self, micros: int | float) -> "DateTime":
        """This instant plus *micros* microseconds, in the same zone.  The sum is taken in UTC:
        Python adds to the wall time of a ZoneInfo datetime, which across a DST change gives
        an hour too many or too few (chrono adds to the instant).  OverflowError outside years
        1..9999."""
        dt = self.dt
        delta = timedelta(microseconds=micros)
        if dt.tzinfo is timezone.utc:
            return DateTime(dt + delta)
        return DateTime((dt.astimezone(timezone.utc) + delta).astimezone(dt.tzinfo))

    def since(self, other: "DateTime") -> timedelta:
        """self - other as instants (Python subtracts the wall times of two datetimes that share
        a tzinfo, ignoring a DST change between them)."""
        a, b = self.dt, other.dt
        if a.tzinfo is b.tzinfo and not isinstance(a.tzinfo, timezone):  # (a fixed offset is fine)
            try:
                a, b = a.astimezone(timezone.utc), b.astimezone(timezone.utc)
            except OverflowError:  # the edge of year 1 or 9999: wall times are all there is
                pass
        return a - b

    def iso(self) -> str:
        """RFC 3339 with ``+00:00`` style offsets, as chrono's ``to_rfc3339``.

        Fractions as chrono's AutoSi: none, 3 or 6 digits (``.250``, not ``.250000``).
        """
        us = self.dt.microsecond
        if us == 0:
            return self.dt.isoformat(timespec="seconds")
        return self.dt.isoformat(timespec="milliseconds" if us % 1000 == 0 else "microseconds")


class Duration:
    """A span of time, kept as whole nanoseconds."""

    __slots__ = ("nanos",)

    def __init__(self, nanos: int):
        self.nanos = int(nanos)

    @classmethod
    def from_timedelta(cls, td: timedelta) -> "Duration":
        return cls((td.days * 86400 + td.seconds) * 1_000_000_000 + td.microseconds * 1000)

    def __eq__(self, other):
        return type(other) is Duration and self.nanos == other.nanos

    def __hash__(self):
        return hash(self.nanos)

    def __repr__(self):
        return f"Duration({self.nanos}ns)"

    def display(self) -> str:
        """``1h 30m`` style: the two largest units, seconds dropped above one hour."""
        secs = abs(self.nanos) // 1_000_000_000
        sign = "-" if self.nanos < 0 else ""
        days, rem = divmod(secs, 86400)
        hours, rem = divmod(rem, 3600)
        mins, s = divmod(rem, 60)
        if days:
            return f"{sign}{days}d {hours}h" if hours else f"{sign}{days}d"
        if hours:
            return f"{sign}{hours}h {mins}m" if mins else f"{sign}{hours}h"
        if mins:
            return f"{sign}{mins}m {s}s" if s else f"{sign}{mins}m"
        if secs == 0 and self.nanos:
            ms = abs(self.nanos) / 1_000_000
            return f"{sign}{format_float_rust(ms)}ms"
        return f"{sign}{s}s"


_TYPE_NAMES = {
    type(None): "()",
    int: "i64",
    float: "f64",
    str: "string",
    Char: "char",
    bool: "bool",
    list: "array",
    dict: "map",
    DateTime: "datetime",
    Duration: "duration",
}


def type_name(v: object) -> str:
    """The name ``type_of(v)`` returns (Rhai's names)."""
    name = _TYPE_NAMES.get(type(v))
    if name is not None:
        return name
    if isinstance(v, FnPtr):
        return "Fn"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map"
    if isinstance(v, list):
        return "array"
    return type(v).__name__


# --------------------------------------------------------------------------- float display

def decimal_parts(x: float) -> tuple[str, int]:
    """Shortest round-trip digits and exponent of |x|: value = 0.DIGITS * 10**exp."""
    r = repr(abs(x))
    if "e" in r:
        mant, e = r.split("e")
        exp = int(e)
    else:
        mant, exp = r, 0
    if "." in mant:
        ip, fp = mant.split(".")
    else:
        ip, fp = mant, ""
    digits = (ip + fp).lstrip("0")
    lead_zeros = len(ip + fp) - len((ip + fp).lstrip("0"))
    point = len(ip) + exp - lead_zeros
    digits = digits.rstrip("0") or "0"
    return digits, point


def _plain_decimal(x: float) -> str:
    """Rust ``{}`` for a finite float: shortest round-trip, never an exponent, no ``.0``."""
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    digits, point = decimal_parts(x)
    sign = "-" if x < 0 else ""
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _exp_form(x: float) -> str:
    """Rust ``{:e}``: ``1e14``, ``1.5e-14``."""
    digits, point = decimal_parts(x)
    sign = "-" if x < 0 else ""
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mant}e{point - 1}"


def format_float_rust(x: float) -> str:
    """Rust's ``Display`` for f64 (``200.0`` prints ``200``); used by TSV metrics."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return _plain_decimal(x)


# Set when a float of 64-bit-integer size or more is written (exponent form): the JSON read
# loops that skip the per-line big-integer check then look at that line (kelora/formats/exactjson.py).
BIG_FLOAT_WRITTEN = [False]


def format_float(x: float) -> str:
    """Rhai's float display: ``1.0``, ``0.045``, ``1e14`` (exponent beyond 1e13 / below 1e-13)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    ax = abs(x)
    if ax != 0 and (ax > 1e13 or ax < 1e-13):
        # (orjson reads integers from -2**63 to 2**64 - 1 exactly: a float beyond may be one)
        if x >= 1.8e19 or x <= -9.2e18:
            BIG_FLOAT_WRITTEN[0] = True
        return _exp_form(x)
    s = _plain_decimal(x)
    if "." not in s:
        s += ".0"
    return s


# --------------------------------------------------------------------------- display

def to_string(v: object) -> str:
    """``to_string(v)`` / string concatenation: strings as-is, ``()`` as ``""``."""
    t = type(v)
    if t is str or t is Char:
        return v  # type: ignore[return-value]
    if v is None:
        return ""
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return str(v)
    if t is float:
        return format_float(v)  # type: ignore[arg-type]
    if t is list or t is dict:
        return debug_string(v)
    if t is DateTime:
        return v.iso()  # type: ignore[union-attr]
    if t is Duration:
        return v.display()  # type: ignore[union-attr]
    if isinstance(v, FnPtr):
        return f"Fn({v.name})"
    if t is range:  # (a range is Python's: shown in the language's notation, `1..=5` as 1..6)
        return f"{v.start}..{v.stop}" + (f" step {v.step}" if v.step != 1 else "")
    if isinstance(v, str):
        return str(v)
    return str(v)


def _quote(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def debug_string(v: object) -> str:
    """Rhai's debug display, used inside arrays/maps: strings quoted, ``#{"a": 1}``."""
    t = type(v)
    if t is str:
        return _quote(v)  # type: ignore[arg-type]
    if t is Char:
        return "'" + v + "'"  # type: ignore[operator]
    if v is None:
        return "()"
    if t is list:
        return "[" + ", ".join(debug_string(x) for x in v) + "]"  # type: ignore[union-attr]
    if t is dict:
        return "#{" + ", ".join(f"{_quote(str(k))}: {debug_string(x)}" for k, x in v.items()) + "}"  # type: ignore[union-attr]
    return to_string(v)


# --------------------------------------------------------------------------- comparison

def _is_num(t: type) -> bool:
    return t is int or t is float


# Rhai (without its `unchecked` feature, as Kelora builds it) compares a float with a float or an
# int with a relative tolerance of f64::EPSILON (rhai src/func/builtin.rs, `impl_float!`):
# `0.1 + 0.2 == 0.3` is true and `0.1 + 0.2 > 0.3` false.  d = (x - y) / max(|x|, |y|), or
# x - y when x * y is 0; then `==` is |d| <= EPS, `!=` |d| > EPS, `>` d > EPS, `>=` d > -EPS,
# `<` -d > EPS, `<=` -d > -EPS.  A NaN makes every comparison false (`!=` too), as in Rhai.
# Infinities compare as IEEE numbers (Rhai's formula makes every comparison with one false:
# docs/compat.md).  Two ints compare exactly.
FLOAT_EPSILON = 2.220446049250313e-16  # f64::EPSILON


def float_diff(x, y) -> float:
    """Rhai's relative difference of two numbers, at least one a float (see above).  With an
    infinity (or an int too large for a float) it is +inf, -inf or 0.0 as x > y, x < y or
    x == y, so the comparisons come out as IEEE ones.  Kept to a few operations: it runs for
    every float comparison."""
    try:
        d = x - y
        if x * y == 0.0:  # (never with an infinity: inf * 0 is NaN)
            return d
        ax = abs(x)
        ay = abs(y)
        m = ax if ax >= ay else ay  # (a NaN: d is NaN and so is the result)
        if m == math.inf and x == x and y == y:
            return math.inf if x > y else -math.inf if x < y else 0.0
        return d / m
    except OverflowError:  # an int of 309+ digits (D20): compared exactly
        return math.inf if x > y else -math.inf if x < y else 0.0


def float_eq(x, y) -> bool:
    d = float_diff(x, y)
    return -FLOAT_EPSILON <= d <= FLOAT_EPSILON


def float_ne(x, y) -> bool:
    d = float_diff(x, y)
    return d > FLOAT_EPSILON or d < -FLOAT_EPSILON


def equals(a: object, b: object) -> bool:
    """Script ``==``: same-type values compare, ints and floats numerically (floats with Rhai's
    tolerance, see ``float_eq``), arrays and maps item by item; otherwise false."""
    ta, tb = type(a), type(b)
    if ta is tb:
        if ta is float:
            return float_eq(a, b)
        if ta is list:
            return len(a) == len(b) and all(equals(x, y) for x, y in zip(a, b))  # type: ignore[arg-type]
        if ta is dict:
            return (len(a) == len(b)  # type: ignore[arg-type]
                    and all(k in b and equals(v, b[k]) for k, v in a.items()))  # type: ignore[union-attr, operator, index]
        return a == b
    if _is_num(ta) and _is_num(tb):
        return float_eq(a, b)
    if isinstance(a, str) and isinstance(b, str):  # char vs string
        return str(a) == str(b)
    return False


def compare(a: object, b: object) -> int | None:
    """Ordering for ``< <= > >=``: -1/0/1, or None when the types cannot be ordered."""
    ta, tb = type(a), type(b)
    if (ta is tb and ta in _ORDERED) or (_is_num(ta) and _is_num(tb)) or (
        isinstance(a, str) and isinstance(b, str)
    ):
        if ta is float or tb is float:
            if math.isnan(a) or math.isnan(b):  # type: ignore[arg-type]
                return None
        return (a > b) - (a < b)  # type: ignore[operator]
    if ta is tb is DateTime:
        d = a.since(b)  # type: ignore[union-attr]
        return (d > _ZERO) - (d < _ZERO)
    if ta is tb is Duration:
        return (a.nanos > b.nanos) - (a.nanos < b.nanos)  # type: ignore[union-attr]
    return None


_ZERO = timedelta(0)
_ORDERED = frozenset({int, float, str, Char, bool})
