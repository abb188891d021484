"""Event timestamps: which field holds one, how its text becomes a datetime, and the
``--since``/``--until`` bounds.

Kelora's rules (``src/timestamp.rs``), followed here:

* **Field**: ``--ts-field F`` (only F), else the first of ``TS_KEYS`` whose value is a string or
  a number (``null``, bools, maps do not count and the next name is tried).
* **Value**: a ``--ts-format`` (chrono syntax) is tried first, then: epoch numbers (10, 13, 16
  or 19 digits: s, ms, µs, ns; floats by magnitude), RFC 3339 / ISO 8601 (``T`` or space,
  with or without zone, ``,`` or ``.`` fractions, minute precision), Apache/CLF
  ``17/May/2015:10:05:03 +0000``, BSD syslog ``Jun 14 15:16:01`` (no year), RFC 2822, dates
  alone (UTC midnight), times alone (today), then a list of other common layouts.
* **Naive** values (no offset) are in the default zone: ``--input-tz``, else ``TZ``, else UTC.
* **No year** (syslog): of the years now-1, now, now+1, the candidate closest to now that is not
  more than 24 h in the future (a ``Dec 31`` line read on Jan 2 is last year's).

A parser remembers the values it has seen (logs repeat the same second many times) and moves
the layout that matched last to the front of its list.  ``now`` is fixed when the parser is
made, so one run infers years and resolves ``--since 1h`` against one instant; tests pass their
own ``now`` through the Python API.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

from kelora.formats.fields import TIMESTAMP_KEYS as TS_KEYS

NAIVE = 1  # the value had no zone offset: the default zone was assumed
YEARLESS = 2  # the value had no year: it was inferred
OUT_OF_RANGE = 4  # the value reads as a time, but not one in years 1..9999 once in UTC (not parsed)

_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_FUTURE_TOLERANCE = timedelta(hours=24)
_CACHE_MAX = 8192

_ISO_HEAD = re.compile(r"\d{4}-\d{2}-\d{2}")
_CLF = re.compile(r"\[?(\d{1,2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s+([+-])(\d{2}):?(\d{2})\]?")
_SYSLOG = re.compile(r"([A-Za-z]{3})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?")
_RFC2822 = re.compile(r"(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{2}:\d{2}(?::\d{2})?\s+\S+")
_TIME_ONLY = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_UNIX = re.compile(r"\d+(?:\.\d*)?")
_FRACTION = re.compile(r"([.,])(\d{7,})")

# Kelora's remaining layouts (the ISO, syslog and Apache ones are matched above), as chrono
# formats; translated to strptime once.
_OTHER_FORMATS = (
    "%b %d %Y %H:%M:%S",  # BSD syslog with year
    "%Y/%m/%d %H:%M:%S",  # nginx error log
    "%m/%d/%Y %H:%M:%S",  # US
    "%d.%m.%Y %H:%M:%S",  # German
    "%y%m%d %H:%M:%S",  # MySQL legacy
    "%d %b %Y, %H:%M",
    "%a %b %d %H:%M:%S %Y",  # ctime
    "%d-%b-%y %I:%M:%S.%f %p",  # Oracle
    "%b %d, %Y %I:%M:%S %p",  # Java SimpleDateFormat
)
_DATE_ONLY = ("%Y/%m/%d", "%m/%d/%Y", "%d.%m.%Y", "%B %d, %Y", "%d %B %Y")


def value_text(value: object) -> str | None:
    """The text Kelora reads a timestamp from: strings as they are, ints in decimal, floats
    with 9 decimals; anything else (null, bool, map, array) is not a timestamp."""
    t = type(value)
    if t is str:
        return value  # type: ignore[return-value]
    if t is int:
        return str(value)
    if t is float:
        return f"{value:.9f}"
    return None


def _unix(s: str) -> datetime | None:
    try:
        if "." in s:
            v = float(s)
            if v >= 1e15:
                v /= 1e6
            elif v >= 1e12:
                v /= 1e3
            elif v < 1e9:
                return None
            return _EPOCH + timedelta(microseconds=round(v * 1e6))
        scale = {10: 1, 13: 1_000, 16: 1_000_000, 19: 1_000_000_000}.get(len(s))
        if scale is None:
            return None
        return _EPOCH + timedelta(microseconds=int(s) * 1_000_000 // scale)
    except (ValueError, OverflowError):
        return None


def _strptime_formats(fmt: str) -> tuple[str, ...]:
    from kelora.builtins.datetime_fns import strptime_formats

    return strptime_formats(fmt)


class TsParser:
    """Timestamp text -> aware datetime, with Kelora's layouts (see the module docstring)."""

    def __init__(self, fmt: str | None = None, tz=None, now: datetime | None = None):
        self.fmt = fmt or None
        self.tz = tz or _UTC
        self.now = now or datetime.now(_UTC)
        self._cache: dict[str, tuple[datetime | None, int]] = {}
        self._formats: list | None = None  # (chrono, strptime variants) pairs, made at first use
        self._custom = _strptime_formats(fmt) if fmt else None

    # ------------------------------------------------------------------ values
    def parse(self, text: str) -> tuple[datetime | None, int]:
        """``(datetime or None, flags)``: flags has NAIVE and/or YEARLESS set when they apply."""
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        try:
            result = self._parse(text.strip())
        except OverflowError:
            # "0001-01-01T00:00:00+14:00" is a valid text whose UTC instant is before year 1
            # (Python's datetime cannot hold it): not a timestamp, as any unparseable value, so
            # the run goes on (every conversion to UTC and year inference can raise this)
            result = None, OUT_OF_RANGE
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[text] = result
        return result

    def _parse(self, s: str) -> tuple[datetime | None, int]:
        if not s:
            return None, 0
        if self._custom is not None:
            hit = self._with_formats(s, self._custom)
            if hit[0] is not None:
                return hit
        if s[0] == "[" and s[-1] == "]":  # [10/Oct/2000:13:55:36 -0700], [2024-01-15T10:00:00Z]
            s = s[1:-1].strip()
            if not s:
                return None, 0
        if _UNIX.fullmatch(s):
            dt = _unix(s)
            if dt is not None:
                return dt, 0
        if _ISO_HEAD.match(s):
            if s[-1] == "z":  # RFC 3339 allows a lowercase zone letter (and "t", which Python reads)
                s = s[:-1] + "Z"
            try:
                dt = datetime.fromisoformat(s)
            except ValueError:
                dt = None
                m = _FRACTION.search(s)  # more than 6 fraction digits on an odd layout
                if m is not None:
                    try:
                        dt = datetime.fromisoformat(s[:m.start(2)] + m.group(2)[:6] + s[m.end(2):])
                    except ValueError:
                        pass
            if dt is not None:
                if dt.tzinfo is not None:
                    return dt.astimezone(_UTC), 0
                if len(s) == 10:  # a date alone: UTC midnight (Kelora's parse_date_only)
                    return dt.replace(tzinfo=_UTC), 0
                return self._localize(dt), NAIVE
        m = _CLF.fullmatch(s)
        if m is not None:
            return self._clf(m), 0
        m = _SYSLOG.fullmatch(s)
        if m is not None:
            month = _MONTHS.get(m.group(1).lower())
            if month is not None:
                frac = m.group(6)
                us = int((frac + "00000")[:6]) if frac else 0
                parts = (month, int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)), us)
                dt = self._infer_year(lambda y: datetime(y, *parts))
                if dt is not None:
                    return dt, NAIVE | YEARLESS
        if _RFC2822.fullmatch(s):
            from email.utils import parsedate_to_datetime

            try:
                dt = parsedate_to_datetime(s)
            except (TypeError, ValueError, IndexError):
                dt = None
            if dt is not None:
                if dt.tzinfo is None:  # "-0000": unknown zone, taken as UTC
                    dt = dt.replace(tzinfo=_UTC)
                return dt.astimezone(_UTC), 0
        if s[:1].isdigit() or s[:1].isalpha():
            for fmt in _DATE_ONLY:
                try:
                    return datetime.strptime(s, fmt).replace(tzinfo=_UTC), 0
                except ValueError:
                    pass
        m = _TIME_ONLY.fullmatch(s)
        if m is not None:
            try:
                t = time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
                return datetime.combine(self.now.astimezone().date(), t, _UTC), 0
            except ValueError:
                pass
        formats = self._formats
        if formats is None:
            formats = self._formats = [(f, _strptime_formats(f)) for f in _OTHER_FORMATS]
        for i, (fmt, pyfmts) in enumerate(formats):
            hit = self._with_formats(s, pyfmts)
            if hit[0] is not None:
                if i:  # most logs use one layout: try it first next time
                    formats.insert(0, formats.pop(i))
                return hit
        return None, 0

    def _clf(self, m) -> datetime | None:
        month = _MONTHS.get(m.group(2).lower())
        if month is None:
            return None
        frac = m.group(7)
        us = int((frac + "00000")[:6]) if frac else 0
        offset = timedelta(hours=int(m.group(9)), minutes=int(m.group(10)))
        try:
            zone = timezone(-offset if m.group(8) == "-" else offset)
            dt = datetime(int(m.group(3)), month, int(m.group(1)), int(m.group(4)), int(m.group(5)),
                          int(m.group(6)), us, zone)
        except ValueError:
            return None
        return dt.astimezone(_UTC)

    def _localize(self, dt: datetime) -> datetime:
        return dt.replace(tzinfo=self.tz).astimezone(_UTC)

    def _infer_year(self, make) -> datetime | None:
        """The candidate year (now-1, now, now+1) closest to now, not over 24 h ahead."""
        now = self.now
        candidates = []
        for year in (now.year - 1, now.year, now.year + 1):
            try:
                dt = make(year)
            except ValueError:  # Feb 29 outside a leap year
                continue
            candidates.append(dt.astimezone(_UTC) if dt.tzinfo is not None else self._localize(dt))
        if not candidates:
            return None
        cutoff = now + _FUTURE_TOLERANCE
        reasonable = [c for c in candidates if c <= cutoff] or candidates
        return min(reasonable, key=lambda c: abs((c - now).total_seconds()))

    def parse_format(self, text: str) -> tuple[datetime | None, int]:
        """The parser's own format only, without falling back to the detected layouts
        (``to_datetime(text, fmt)``: Kelora does not fall back there)."""
        if self._custom is None:
            return None, 0
        try:
            return self._with_formats(text.strip(), self._custom)
        except OverflowError:  # (as in parse)
            return None, OUT_OF_RANGE

    def _with_formats(self, s: str, pyfmts: tuple[str, ...]) -> tuple[datetime | None, int]:
        """The strptime variants of one chrono format (see ``strptime_formats``), in turn."""
        for pyfmt in pyfmts:
            hit = self._with_format(s, pyfmt)
            if hit[0] is not None:
                return hit
        return None, 0

    def _with_format(self, s: str, pyfmt: str) -> tuple[datetime | None, int]:
        """One strptime layout (already translated from chrono), as Kelora applies one:
        brackets stripped, ``,``-fractions and over-long fractions cut to microseconds, a
        layout without a year gets one inferred, an offset-less value the default zone."""
        if s[:1] == "[" and s[-1:] == "]":
            s = s[1:-1]
        if pyfmt == "%s":
            return (_unix(s) if s.isdigit() else None), 0
        if "%f" in pyfmt:
            s = _FRACTION.sub(lambda m: m.group(1) + m.group(2)[:6], s)
            if ",%f" in pyfmt:
                pyfmt = pyfmt.replace(",%f", ".%f")
                s = re.sub(r",(\d+)$", r".\1", s)
        has_year = "%Y" in pyfmt or "%y" in pyfmt or "%s" in pyfmt
        has_date = ("%b" in pyfmt or "%B" in pyfmt or "%m" in pyfmt) and "%d" in pyfmt
        if not has_year and has_date:
            def make(year, s=s, f="%Y " + pyfmt):
                return datetime.strptime(f"{year} {s}", f)
            try:
                datetime.strptime(f"2000 {s}", "%Y " + pyfmt)  # does it match at all?
            except ValueError:
                return None, 0
            dt = self._infer_year(make)
            return (dt, NAIVE | YEARLESS) if dt is not None else (None, 0)
        try:
            dt = datetime.strptime(s, pyfmt)
        except ValueError:
            return None, 0
        if dt.tzinfo is not None:
            return dt.astimezone(_UTC), 0
        return self._localize(dt), NAIVE


_SUB_MICRO = re.compile(r"[.,](\d{7,})")


def normalized(text: str | None, dt: datetime) -> str:
    """``--normalize-ts``: *dt* (UTC) as RFC 3339, fractions as chrono's AutoSi (none, 3 or 6
    digits), and 9 when *text*, the value it was read from, has nanoseconds.  A datetime holds
    microseconds, so the 7th to 9th digits of the text's one fraction (or of a 19-digit epoch)
    are written back when the microseconds read agree with the text (no zone shift or rounding
    changed them): normalising must not cut digits off the data."""
    from kelora.values import DateTime

    out = DateTime(dt).iso()
    if text is None or len(text) < 19:
        return out
    if len(text) == 19 and text.isdigit():  # epoch nanoseconds
        micro, nano = text[-9:-3], text[-3:]
    else:
        found = _SUB_MICRO.findall(text)
        if len(found) != 1:
            return out
        micro, nano = found[0][:6], found[0][6:9].ljust(3, "0")
    if nano == "000" or int(micro) != dt.microsecond:
        return out
    base = dt.isoformat(timespec="microseconds")  # "...T10:00:00.123456+00:00"
    return base[:-6] + nano + base[-6:]


def event_time(config) -> "EventTime":
    """The run's timestamp finder, from --ts-field/--ts-format/--input-tz."""
    from kelora.builtins.datetime_fns import zone

    return EventTime(TsParser(config.ts_format, zone(config.input_tz)), config.ts_field)


class EventTime:
    """Finds and parses the timestamp of events: ``of(event) -> (field, datetime, flags)``."""

    def __init__(self, parser: TsParser, field: str | None = None):
        self.parser = parser
        self.field = field
        self.keys = (field,) if field else TS_KEYS

    def of(self, event: dict) -> tuple[str | None, datetime | None, int]:
        for key in self.keys:
            value = event.get(key)
            if value is None:
                continue
            text = value_text(value)
            if text is None:
                continue
            dt, flags = self.parser.parse(text)
            return key, dt, flags
        return None, None, 0


# ---------------------------------------------------------------------------- --since/--until

_UNITS = {}
for _names, _secs in ((("s", "sec", "secs", "second", "seconds"), 1),
                      (("m", "min", "mins", "minute", "minutes"), 60),
                      (("h", "hour", "hours"), 3600),
                      (("d", "day", "days"), 86400),
                      (("w", "week", "weeks"), 604800)):
    for _n in _names:
        _UNITS[_n] = _secs
_RELATIVE = re.compile(r"(\d+)\s*([A-Za-z]+)")


class TimeArgError(ValueError):
    pass


def parse_duration(text: str) -> timedelta:
    """``+30m``, ``-1h``, ``2d`` (unsigned means the past, as ``-``)."""
    sign = -1
    rest = text
    if text[:1] in "+-" and text:
        sign = 1 if text[0] == "+" else -1
        rest = text[1:]
    if not rest:
        raise TimeArgError("Empty relative time")
    m = _RELATIVE.fullmatch(rest)
    if m is None:
        if rest.isdigit():
            raise TimeArgError("Relative time must have a unit (h, m, d, etc.)")
        raise TimeArgError("Relative time must have a valid unit (h, m, d, etc.)")
    unit = _UNITS.get(m.group(2))
    if unit is None:
        raise TimeArgError(f"Unknown time unit: {m.group(2)}")
    try:
        return timedelta(seconds=sign * int(m.group(1)) * unit)
    except OverflowError:
        raise TimeArgError("Relative time is out of supported range") from None


def _shift(base: datetime, delta: timedelta) -> datetime:
    try:
        return base + delta
    except OverflowError:
        raise TimeArgError("Anchored timestamp is out of supported range") from None


def parse_time_arg(text: str, parser: TsParser) -> datetime:
    """One ``--since``/``--until`` value without cross-anchors (``now±D`` included)."""
    s = text.strip()
    now = parser.now
    for prefix in ("now+", "now-"):
        if s.startswith(prefix):
            return _shift(now, parse_duration(s[3:]))
    if s == "now":
        return now
    if s in ("today", "yesterday", "tomorrow"):
        day = now.astimezone().date() + timedelta(days={"today": 0, "yesterday": -1, "tomorrow": 1}[s])
        return datetime.combine(day, time(0), _UTC)  # the local date, at 00:00 UTC (as Kelora)
    if s[:1] in ("+", "-") or (s[:1].isdigit() and _RELATIVE.fullmatch(s) and
                                _RELATIVE.fullmatch(s).group(2) in _UNITS):
        try:
            return _shift(now, parse_duration(s))
        except TimeArgError:
            pass
    dt, flags = parser.parse(s)
    if dt is None:
        if flags & OUT_OF_RANGE:
            raise TimeArgError("Timestamp is out of supported range (years 1 to 9999 in UTC)")
        raise TimeArgError(f"Could not parse timestamp: {text}")
    return dt


def _anchored(text: str, name: str, anchor: datetime | None) -> datetime | None:
    for sign in "+-":
        if text.startswith(name + sign):
            if anchor is None:
                raise TimeArgError(f"'{name}' anchor requires --{name} to be specified")
            return _shift(anchor, parse_duration(text[len(name):]))
    return None


def resolve_time_range(since: str | None, until: str | None, parser: TsParser
                       ) -> tuple[datetime | None, datetime | None]:
    """Kelora's ``resolve_time_range``: errors are ``TimeArgError`` with Kelora's text."""
    since_on_until = since is not None and since.startswith(("until+", "until-"))
    until_on_since = until is not None and until.startswith(("since+", "since-"))
    if since_on_until and until_on_since:
        raise TimeArgError("Cannot use both 'since' and 'until' anchors: --since uses 'until' "
                           "anchor and --until uses 'since' anchor")

    def one(flag: str, text: str | None, since_at=None, until_at=None) -> datetime | None:
        if text is None:
            return None
        try:
            hit = _anchored(text, "since", since_at) if text.startswith(("since+", "since-")) else None
            if hit is None and text.startswith(("until+", "until-")):
                hit = _anchored(text, "until", until_at)
            return hit if hit is not None else parse_time_arg(text, parser)
        except TimeArgError as exc:
            raise TimeArgError(f"Invalid --{flag} timestamp '{text}': {exc}") from None

    if until_on_since:
        lo = one("since", since)
        return lo, one("until", until, since_at=lo)
    if since_on_until:
        hi = one("until", until)
        return one("since", since, until_at=hi), hi
    return one("since", since), one("until", until)
