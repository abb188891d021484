"""Datetime and duration builtins: now, to_datetime, format, to_duration, parts, time zones.

Durations are in durations.py.  Datetimes are ``values.DateTime`` (always zone-aware; naive input is taken as UTC unless a zone
is given), durations ``values.Duration`` (nanoseconds).  ``to_datetime`` text is read by the
event-timestamp parser (``kelora/timestamps.py``), as Kelora's is by its adaptive parser.  Format strings are chrono's
(``%Y-%m-%d %H:%M:%S%.3f %z``); they are translated to Python's strftime/strptime once per
distinct format.  The ``datetime +/- duration`` and ``datetime - datetime`` operators are the
language's (``lang/ops.py``); ``add_duration``/``sub_duration``/``diff`` are the function forms.
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from kelora import values
from kelora.builtins.registry import builtin
from kelora.errors import FunctionError

DateTime = values.DateTime
Duration = values.Duration
I64_MIN, I64_MAX = values.I64_MIN, values.I64_MAX
_NOTHING = object()
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# --------------------------------------------------------------------------- zones

@lru_cache(maxsize=256)
def zone(name: str):
    """A tzinfo for an IANA name, "UTC"/"Z", "local", or a fixed offset "+05:30"."""
    if name in ("UTC", "utc", "Z", "z"):
        return timezone.utc
    if name in ("local", "Local"):
        return datetime.now().astimezone().tzinfo
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", name)
    if m:
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        return timezone(-delta if m.group(1) == "-" else delta)
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # (~5 ms at start-up: only when a zone is named)

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise FunctionError(f"Invalid timezone '{name}'") from None


# --------------------------------------------------------------------------- parsing

def from_epoch(x: int | float) -> DateTime:
    """Epoch number to DateTime; the magnitude picks the unit (s, ms, µs or ns)."""
    a = abs(x)
    scale = 1 if a < 1e11 else 1_000 if a < 1e14 else 1_000_000 if a < 1e17 else 1_000_000_000
    if type(x) is int:
        micros = x * 1_000_000 // scale  # exact for ints (no float rounding of nanoseconds)
    else:
        micros = round(x * 1e6 / scale) if math.isfinite(x) else None
    try:
        if micros is None:
            raise ValueError
        return DateTime(_EPOCH + timedelta(microseconds=micros))
    except (OverflowError, ValueError):
        raise FunctionError(f"to_datetime(): timestamp {values.to_string(x)} is out of range") from None


_CHRONO_SIMPLE = {
    "%T": "%H:%M:%S", "%D": "%m/%d/%y", "%F": "%Y-%m-%d", "%R": "%H:%M", "%k": "%H",
    "%l": "%I", "%P": "%p", "%e": "%d", "%h": "%b", "%:z": "%z", "%#z": "%z", "%v": "%e-%b-%Y",
    "%.f": ".%f", "%.3f": ".%f", "%.6f": ".%f", "%.9f": ".%f", "%3f": "%f", "%6f": "%f",
    "%9f": "%f", "%f": "%f", "%s": "%s", "%%": "%%",
}
_CHRONO_TOKEN = re.compile(r"%(?:\.\d?f|\d f|:z|#z|[-_0^#]?[A-Za-z%])".replace(" ", ""))


@lru_cache(maxsize=256)
def strptime_format(fmt: str) -> str:
    """chrono parse format to Python strptime (fractions are normalised to %f by the caller)."""
    return _CHRONO_TOKEN.sub(lambda m: _CHRONO_SIMPLE.get(m.group(0), m.group(0).replace("-", "").replace("_", "")), fmt)


_OPTIONAL_FRACTION = re.compile(r"%\.[369]?f")


@lru_cache(maxsize=256)
def strptime_formats(fmt: str) -> tuple[str, ...]:
    """chrono parse format to the strptime formats to try in turn.  chrono's ``%.f``, ``%.3f``,
    ``%.6f`` and ``%.9f`` read a dot and digits only when the text has a dot there ("10:00:00"
    and "10:00:00.5" both match ``%H:%M:%S%.f``); strptime has no optional part, so such a
    format is tried with its fractions and then without them."""
    with_fraction = strptime_format(fmt)
    if _OPTIONAL_FRACTION.search(fmt) is None:
        return (with_fraction,)
    return with_fraction, strptime_format(_OPTIONAL_FRACTION.sub("", fmt))


@lru_cache(maxsize=64)
def _parser(tz, fmt: str | None):
    """The event-timestamp parser that to_datetime uses, one per zone and format (naive text is
    in tz, else UTC; "now", for year-less text, is the first call's)."""
    from kelora.timestamps import TsParser

    return TsParser(fmt, tz)


@builtin("datetime", pure=False)
def now() -> DateTime:
    """The current time (UTC).

    Examples:
        type_of(now())  =>  "datetime"
    """
    return DateTime(datetime.now(timezone.utc))


@builtin("datetime", unit_on_failure=True)
def to_datetime(value: object, fmt: str = _NOTHING, tz: str = _NOTHING) -> DateTime:  # type: ignore[assignment]
    """Parse a timestamp into a datetime (in UTC, or shown in tz when one is given).

    Text is read as event timestamps are (docs/formats.md): RFC 3339 / ISO 8601 (a naive time is
    UTC, or in tz), Apache "15/Jan/2024:10:00:00 +0000", RFC 2822, syslog "Jan 15 10:00:00" (the
    year that puts it closest to now, at most 24 h ahead), "01/15/2024 10:00:00", epoch digits
    (seconds, milliseconds, microseconds or nanoseconds, by length); numbers by magnitude.
    fmt is a chrono format such as "%d.%m.%Y %H:%M" ("" = detect as without one); a format
    without a year gets one as syslog text does.  Unparseable text is an error.

    Examples:
        to_iso(to_datetime("2024-01-15T10:00:00Z"))  =>  "2024-01-15T10:00:00+00:00"
        to_iso(to_datetime("2024-01-15T12:00:00+02:00"))  =>  "2024-01-15T10:00:00+00:00"
        to_iso(to_datetime("01/15/2024 10:00:00"))  =>  "2024-01-15T10:00:00+00:00"
        to_iso(to_datetime(1705312800))  =>  "2024-01-15T10:00:00+00:00"
        to_iso(to_datetime("15.01.2024 10:00", "%d.%m.%Y %H:%M", "Europe/Berlin"))  =>  "2024-01-15T10:00:00+01:00"
        to_iso(to_datetime("15.01.2024 10:00:00.5", "%d.%m.%Y %H:%M:%S%.f"))  =>  "2024-01-15T10:00:00.500+00:00"
    """
    tzinfo = None if tz is _NOTHING else zone(tz)
    t = type(value)
    if t is DateTime:
        return value  # type: ignore[return-value]
    if t is int or t is float:
        return from_epoch(value)  # type: ignore[arg-type]
    if not isinstance(value, str):
        raise FunctionError(
            f"to_datetime(): expected a string or number, got {values.type_name(value)}",
            missing_field=value is None,
        )
    from kelora.timestamps import OUT_OF_RANGE

    auto = fmt is _NOTHING or fmt == ""  # "" = detect, so a zone can be given without a format
    if auto:
        dt, flags = _parser(tzinfo, None).parse(value)
    elif strptime_format(fmt) == "%s":
        try:
            return from_epoch(int(value.strip()))
        except ValueError:
            dt, flags = None, 0
    else:
        dt, flags = _parser(tzinfo, fmt).parse_format(value)
    if dt is not None and tzinfo is not None:
        try:
            dt = dt.astimezone(tzinfo)
        except OverflowError:
            dt, flags = None, OUT_OF_RANGE
    if dt is None:
        how = "" if auto else f" with format '{fmt}'"
        if flags & OUT_OF_RANGE:
            raise FunctionError(f"to_datetime(): '{value}' is out of supported range (years 1 to 9999 in UTC)")
        raise FunctionError(f"to_datetime(): cannot parse '{value}'{how}")
    return DateTime(dt)


# --------------------------------------------------------------------------- formatting

def _fraction(dt: datetime, digits: int) -> str:
    return f"{dt.microsecond:06d}{'000'}"[:digits]


def _auto_fraction(dt: datetime) -> str:
    us = dt.microsecond
    if us == 0:
        return ""
    return "." + (f"{us // 1000:03d}" if us % 1000 == 0 else f"{us:06d}")


_YEAR_TOKENS = {
    "%Y": lambda dt: f"{dt.year:04d}",
    "%C": lambda dt: f"{dt.year // 100:02d}",
    "%G": lambda dt: f"{dt.isocalendar()[0]:04d}",
    "%F": lambda dt: f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}",
    "%v": lambda dt: f"{dt.day:2d}-{dt.strftime('%b')}-{dt.year:04d}",
}


def strftime_chrono(dt: datetime, fmt: str) -> str:
    """chrono ``format`` on a datetime (the common specifiers, incl. %.3f, %:z, %s)."""

    def token(m: re.Match) -> str:
        tok = m.group(0)
        if tok in ("%.3f", "%3f"):
            return ("." if tok[1] == "." else "") + _fraction(dt, 3)
        if tok in ("%.6f", "%6f"):
            return ("." if tok[1] == "." else "") + _fraction(dt, 6)
        if tok in ("%.9f", "%9f", "%f"):
            return ("." if tok[1] == "." else "") + _fraction(dt, 9)
        if tok == "%.f":
            return _auto_fraction(dt)
        if tok == "%s":
            return str(math.floor((dt - _EPOCH).total_seconds()))
        if tok == "%:z":
            z = dt.strftime("%z")
            return z[:3] + ":" + z[3:] if z else ""
        if tok in _YEAR_TOKENS:  # chrono pads years to 4 digits; glibc's strftime does not (year 1 is "1")
            return _YEAR_TOKENS[tok](dt)
        if tok == "%e":
            return f"{dt.day:2d}"
        if tok == "%k":
            return f"{dt.hour:2d}"
        if tok == "%l":
            return f"{(dt.hour % 12) or 12:2d}"
        if tok == "%P":
            return dt.strftime("%p").lower()
        if tok == "%Z" and dt.utcoffset() == timedelta(0) and dt.tzinfo is timezone.utc:
            return "UTC"
        simple = _CHRONO_SIMPLE.get(tok)
        if simple is not None and simple != tok:
            return dt.strftime(simple)
        if len(tok) == 3 and tok[1] in "-_0":
            out = dt.strftime("%" + tok[2])
            return out.lstrip("0") or "0" if tok[1] == "-" else out
        return dt.strftime(tok)

    return _CHRONO_TOKEN.sub(token, fmt)


@builtin("datetime")
def to_iso(dt: DateTime) -> str:
    """RFC 3339 text of a datetime ("2024-01-15T10:00:00+00:00").

    Examples:
        to_iso(to_datetime("2024-01-15T10:00:00.250Z"))  =>  "2024-01-15T10:00:00.250+00:00"
    """
    return dt.iso()


@builtin("datetime", name="format")
def format_(dt: DateTime, fmt: str) -> str:
    """Format a datetime with a chrono/strftime format ("%Y-%m-%d %H:%M:%S%.3f", "%s" epoch...).

    Examples:
        format(to_datetime("2024-01-15T10:05:09Z"), "%Y/%m/%d %H:%M")  =>  "2024/01/15 10:05"
        format(to_datetime("2024-01-15T10:05:09.123Z"), "%H:%M:%S%.3f")  =>  "10:05:09.123"
        format(to_datetime("2024-01-15T10:00:00Z"), "%s")  =>  "1705312800"
    """
    return strftime_chrono(dt.dt, fmt)


@builtin("datetime")
def to_utc(dt: DateTime) -> DateTime:
    """The same instant expressed in UTC.

    Examples:
        to_iso(to_utc(to_datetime("2024-01-15T12:00:00+02:00")))  =>  "2024-01-15T10:00:00+00:00"
    """
    return DateTime(dt.dt.astimezone(timezone.utc))


@builtin("datetime")
def to_local(dt: DateTime) -> DateTime:
    """The same instant in the machine's local time zone.

    Examples:
        type_of(to_local(now()))  =>  "datetime"
    """
    return DateTime(dt.dt.astimezone())


@builtin("datetime")
def to_timezone(dt: DateTime, tz: str) -> DateTime:
    """The same instant in an IANA time zone ("Europe/Berlin"), "UTC" or an offset "+05:30".

    Examples:
        to_iso(to_timezone(to_datetime("2024-07-01T10:00:00Z"), "Europe/Berlin"))  =>  "2024-07-01T12:00:00+02:00"
    """
    return DateTime(dt.dt.astimezone(zone(tz)))


@builtin("datetime")
def year(dt: DateTime) -> int:
    """Calendar year.

    Examples:
        year(to_datetime("2024-01-15T10:00:00Z"))  =>  2024
    """
    return dt.dt.year


@builtin("datetime")
def month(dt: DateTime) -> int:
    """Month 1..12.

    Examples:
        month(to_datetime("2024-03-15T10:00:00Z"))  =>  3
    """
    return dt.dt.month


@builtin("datetime")
def day(dt: DateTime) -> int:
    """Day of the month 1..31.

    Examples:
        day(to_datetime("2024-03-15T10:00:00Z"))  =>  15
    """
    return dt.dt.day


@builtin("datetime")
def hour(dt: DateTime) -> int:
    """Hour 0..23.

    Examples:
        hour(to_datetime("2024-03-15T10:20:30Z"))  =>  10
    """
    return dt.dt.hour


@builtin("datetime")
def minute(dt: DateTime) -> int:
    """Minute 0..59.

    Examples:
        minute(to_datetime("2024-03-15T10:20:30Z"))  =>  20
    """
    return dt.dt.minute


@builtin("datetime")
def second(dt: DateTime) -> int:
    """Second 0..59.

    Examples:
        second(to_datetime("2024-03-15T10:20:30Z"))  =>  30
    """
    return dt.dt.second


@builtin("datetime")
def weekday(dt: DateTime) -> int:
    """Day of the week, Monday = 1 .. Sunday = 7.

    Examples:
        weekday(to_datetime("2024-01-15T10:00:00Z"))  =>  1
    """
    return dt.dt.isoweekday()


def _epoch_delta(dt: DateTime) -> timedelta:
    return dt.dt - _EPOCH


@builtin("datetime")
def timestamp(dt: DateTime) -> int:
    """Seconds since the Unix epoch (whole seconds).

    Examples:
        timestamp(to_datetime("2024-01-15T10:00:00Z"))  =>  1705312800
    """
    return math.floor(_epoch_delta(dt).total_seconds())


@builtin("datetime")
def ts_millis(dt: DateTime) -> int:
    """Milliseconds since the Unix epoch.

    Examples:
        ts_millis(to_datetime("2024-01-15T10:00:00.5Z"))  =>  1705312800500
    """
    return Duration.from_timedelta(_epoch_delta(dt)).nanos // 1_000_000


@builtin("datetime")
def ts_nanos(dt: DateTime) -> int:
    """Nanoseconds since the Unix epoch.

    Outside about 1677-09-21 .. 2262-04-11 (the range of a 64-bit count of nanoseconds) it is an
    error, as in Kelora, rather than a number no other tool can hold.

    Examples:
        ts_nanos(to_datetime("1970-01-01T00:00:01Z"))  =>  1000000000
    """
    nanos = Duration.from_timedelta(_epoch_delta(dt)).nanos
    if not I64_MIN <= nanos <= I64_MAX:
        raise FunctionError("ts_nanos: timestamp out of range for nanosecond precision "
                            "(must be between 1677-09-21 and 2262-04-11)")
    return nanos


def _shift(dt: DateTime, nanos: int) -> DateTime:
    try:
        return dt.shifted(nanos // 1000)
    except OverflowError:
        raise FunctionError("datetime out of range") from None


@builtin("datetime")
def add_duration(dt: DateTime, d: Duration) -> DateTime:
    """dt + d (the `+` operator does the same).

    Examples:
        to_iso(add_duration(to_datetime("2024-01-15T10:00:00Z"), to_duration("90m")))  =>  "2024-01-15T11:30:00+00:00"
    """
    return _shift(dt, d.nanos)


@builtin("datetime")
def sub_duration(dt: DateTime, d: Duration) -> DateTime:
    """dt - d (the `-` operator does the same).

    Examples:
        to_iso(sub_duration(to_datetime("2024-01-15T10:00:00Z"), to_duration("1d")))  =>  "2024-01-14T10:00:00+00:00"
    """
    return _shift(dt, -d.nanos)


@builtin("datetime")
def diff(a: DateTime, b: DateTime) -> Duration:
    """The duration a - b (negative when a is earlier), as `a - b` does.

    Examples:
        as_seconds(diff(to_datetime("2024-01-15T10:01:00Z"), to_datetime("2024-01-15T10:00:00Z")))  =>  60
    """
    return Duration.from_timedelta(a.since(b))


# --------------------------------------------------------------------------- bucketing

def _bucket_edges(fn: str, dt: DateTime, interval: str) -> tuple[int, int, int]:
    """(nanoseconds since the epoch, the interval in nanoseconds, the boundary at or before),
    with Kelora's rules: the interval is a duration text ("5m", "1h", "1d"), positive; the
    datetime within the 64-bit nanosecond range (1677-09-21 .. 2262-04-11); boundaries count
    from the Unix epoch in UTC (floor division, so before 1970 too)."""
    from kelora.builtins.durations import parse_duration

    d = parse_duration(interval)
    if d is None:
        raise FunctionError(f"{fn}(): invalid interval '{interval}' (a duration such as \"5m\", \"1h\", \"1d\")")
    if d.nanos <= 0:
        raise FunctionError(f"{fn}(): interval must be positive (got '{interval}')")
    if d.nanos > I64_MAX:  # (Kelora counts it in i64 nanoseconds too)
        raise FunctionError(f"{fn}(): interval out of range (got '{interval}')")
    nanos = Duration.from_timedelta(_epoch_delta(dt)).nanos
    if not I64_MIN <= nanos <= I64_MAX:
        raise FunctionError(f"{fn}(): timestamp out of range (must be between 1677-09-21 and 2262-04-11)")
    return nanos, d.nanos, nanos - nanos % d.nanos


def _at_nanos(nanos: int, like: DateTime) -> DateTime:
    """The instant *nanos* after the epoch (to the microsecond), in *like*'s zone."""
    try:
        return DateTime((_EPOCH + timedelta(microseconds=nanos // 1000)).astimezone(like.dt.tzinfo))
    except OverflowError:  # a boundary of an interval of thousands of years
        raise FunctionError("datetime out of range (years 1 to 9999)") from None


@builtin("datetime")
def round_to(dt: DateTime, interval: str) -> DateTime:
    """Round a datetime down to the start of its interval ("5m", "1h", "1d", "250ms"),
    boundaries counted from the Unix epoch in UTC (a "1d" bucket starts at 00:00 UTC); the
    result keeps dt's time zone.  A bad or non-positive interval is an error.

    Examples:
        to_iso(round_to(to_datetime("2024-01-15T10:37:42Z"), "5m"))  =>  "2024-01-15T10:35:00+00:00"
        to_iso(to_datetime("2024-01-15T10:37:42Z").round_to("1h"))  =>  "2024-01-15T10:00:00+00:00"
        to_iso(round_to(to_datetime("2024-01-15T10:37:42.789Z"), "1s"))  =>  "2024-01-15T10:37:42+00:00"
        to_iso(round_to(to_datetime("1969-12-31T23:59:30Z"), "1m"))  =>  "1969-12-31T23:59:00+00:00"
    """
    _, _, floored = _bucket_edges("round_to", dt, interval)
    return _at_nanos(floored, dt)


@builtin("datetime")
def ceil_to(dt: DateTime, interval: str) -> DateTime:
    """Round a datetime up to the next interval boundary ("5m", "1h", "1d"); a datetime already
    on a boundary stays as it is.  Boundaries as in round_to; the result keeps dt's time zone.

    Examples:
        to_iso(ceil_to(to_datetime("2024-01-15T10:37:42Z"), "5m"))  =>  "2024-01-15T10:40:00+00:00"
        to_iso(ceil_to(to_datetime("2024-01-15T10:40:00Z"), "5m"))  =>  "2024-01-15T10:40:00+00:00"
        to_iso(to_datetime("2024-01-15T10:00:01Z").ceil_to("1h"))  =>  "2024-01-15T11:00:00+00:00"
    """
    nanos, step, floored = _bucket_edges("ceil_to", dt, interval)
    return _at_nanos(floored if floored == nanos else floored + step, dt)
