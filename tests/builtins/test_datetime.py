from datetime import datetime, timedelta, timezone

import pytest

from kelora.values import DateTime, Duration
from kelora.errors import FunctionError

PARSE = [
    ("2024-01-15T10:00:00Z", "2024-01-15T10:00:00+00:00"),
    ("2024-01-15T10:00:00z", "2024-01-15T10:00:00+00:00"),
    # text with an offset gives the instant in UTC, as event timestamps and Kelora
    ("2024-01-15T10:00:00+02:00", "2024-01-15T08:00:00+00:00"),
    ("2024-01-15T10:00:00+0200", "2024-01-15T08:00:00+00:00"),
    ("2024-01-15T10:00:00", "2024-01-15T10:00:00+00:00"),
    ("2024-01-15 10:00:00", "2024-01-15T10:00:00+00:00"),
    ("2024-01-15 10:00:00.123", "2024-01-15T10:00:00.123+00:00"),
    ("2024-01-15T10:00:00.123456789Z", "2024-01-15T10:00:00.123456+00:00"),
    ("2024-01-15", "2024-01-15T00:00:00+00:00"),
    ("15/Jan/2024:10:00:00 +0100", "2024-01-15T09:00:00+00:00"),
    ("Mon, 15 Jan 2024 10:00:00 +0000", "2024-01-15T10:00:00+00:00"),
    ("  2024-01-15T10:00:00Z  ", "2024-01-15T10:00:00+00:00"),
]


@pytest.mark.parametrize("text,iso", PARSE)
def test_to_datetime_formats(f, text, iso):
    assert f("to_iso", f("to_datetime", text)) == iso


def test_to_datetime_syslog_gets_the_year_that_puts_it_closest_to_now(f):
    dt = f("to_datetime", "Jan 15 10:00:00")
    now = datetime.now(timezone.utc)
    assert (dt.dt.month, dt.dt.day) == (1, 15) and dt.dt.year in (now.year - 1, now.year)
    assert dt.dt <= now + timedelta(hours=24)


@pytest.mark.parametrize(
    "num,iso",
    [
        (0, "1970-01-01T00:00:00+00:00"),
        (1705312800, "2024-01-15T10:00:00+00:00"),
        (1705312800.5, "2024-01-15T10:00:00.500+00:00"),
        (1705312800123, "2024-01-15T10:00:00.123+00:00"),
        (1705312800123456, "2024-01-15T10:00:00.123456+00:00"),
        (1705312800123456789, "2024-01-15T10:00:00.123456+00:00"),
        (-86400, "1969-12-31T00:00:00+00:00"),
    ],
)
def test_to_datetime_epoch(f, num, iso):
    assert f("to_iso", f("to_datetime", num)) == iso


@pytest.mark.parametrize(
    "text,fmt,tz,iso",
    [
        ("15.01.2024 10:00", "%d.%m.%Y %H:%M", None, "2024-01-15T10:00:00+00:00"),
        ("15.01.2024 10:00", "%d.%m.%Y %H:%M", "America/New_York", "2024-01-15T10:00:00-05:00"),
        ("2024-01-15T10:00:00.123456789", "%Y-%m-%dT%H:%M:%S%.f", None, "2024-01-15T10:00:00.123456+00:00"),
        ("10:00:00 2024/01/15 +0530", "%T %Y/%m/%d %z", None, "2024-01-15T04:30:00+00:00"),
        ("1705312800", "%s", None, "2024-01-15T10:00:00+00:00"),
        ("2024-01-15", "%F", "+01:00", "2024-01-15T00:00:00+01:00"),
        ("2024-01-15 10:00", "", "Asia/Tokyo", "2024-01-15T10:00:00+09:00"),
        ("2024-01-15T10:00:00Z", "", "Asia/Tokyo", "2024-01-15T19:00:00+09:00"),  # shown in tz (Kelora)
    ],
)
def test_to_datetime_with_format(f, text, fmt, tz, iso):
    args = (text, fmt) if tz is None else (text, fmt, tz)
    assert f("to_iso", f("to_datetime", *args)) == iso


@pytest.mark.parametrize("bad", ["", "yesterday", "2024-13-45", "12:00 noon", "1h", "7/4/2023 12:34:56 PM"])
def test_to_datetime_invalid(f, bad):
    with pytest.raises(FunctionError) as info:
        f("to_datetime", bad)
    assert "cannot parse" in info.value.message


def test_to_datetime_unit_and_bad_zone(f):
    with pytest.raises(FunctionError) as info:
        f("to_datetime", None)
    assert info.value.missing_field
    with pytest.raises(FunctionError) as info:
        f("to_datetime", "2024-01-15", "%Y-%m-%d", "Mars/Olympus")
    assert info.value.message == "Invalid timezone 'Mars/Olympus'"
    with pytest.raises(FunctionError):
        f("to_datetime", "2024-01-15", "%d.%m.%Y")


def test_to_datetime_passes_datetimes_through(f):
    dt = f("now")
    assert f("to_datetime", dt) is dt
    assert type(dt) is DateTime and dt.dt.tzinfo is not None


FORMAT = [
    ("%Y-%m-%d %H:%M:%S", "2024-03-05 07:08:09"),
    ("%.3f|%.6f|%.9f|%.f", ".123|.123456|.123456000|.123456"),
    ("%3f", "123"),
    ("%s", "1709622489"),
    ("%:z %z %Z", "+00:00 +0000 UTC"),
    ("%-d/%-m %e %k %l%P", "5/3  5  7  7am"),
    ("%a %A %b %B %j %%", "Tue Tuesday Mar March 065 %"),
    ("%F %T %D %R", "2024-03-05 07:08:09 03/05/24 07:08"),
    ("plain", "plain"),
]


@pytest.mark.parametrize("fmt,want", FORMAT)
def test_format(f, fmt, want):
    dt = f("to_datetime", "2024-03-05T07:08:09.123456Z")
    assert f("format", dt, fmt) == want


def test_parts_and_zones(f):
    dt = f("to_datetime", "2024-07-01T23:30:05Z")
    assert [f(p, dt) for p in ("year", "month", "day", "hour", "minute", "second", "weekday")] == [
        2024, 7, 1, 23, 30, 5, 1]
    berlin = f("to_timezone", dt, "Europe/Berlin")
    assert f("to_iso", berlin) == "2024-07-02T01:30:05+02:00"
    assert f("day", berlin) == 2
    assert berlin == f("to_utc", berlin) or berlin.dt == f("to_utc", berlin).dt
    assert f("to_iso", f("to_utc", berlin)) == "2024-07-01T23:30:05+00:00"
    assert f("to_iso", f("to_timezone", dt, "-03:30")) == "2024-07-01T20:00:05-03:30"
    assert f("to_local", dt).dt == dt.dt
    with pytest.raises(FunctionError):
        f("to_timezone", dt, "Nowhere/Special")
    with pytest.raises(FunctionError):
        f("year", "2024-01-01")


def test_epoch_accessors(f):
    dt = f("to_datetime", "2024-01-15T10:00:00.123456Z")
    assert f("timestamp", dt) == 1705312800
    assert f("ts_millis", dt) == 1705312800123
    assert f("ts_nanos", dt) == 1705312800123456000
    assert f("timestamp", f("to_datetime", "1969-12-31T23:59:59.5Z")) == -1


DURATIONS = [
    ("1h30m", 5400 * 10**9),
    ("1h 30m", 5400 * 10**9),
    ("90s", 90 * 10**9),
    ("1.5s", 1_500_000_000),
    ("250ms", 250_000_000),
    ("3us", 3000),
    ("3µs", 3000),
    ("7ns", 7),
    ("2d", 2 * 86400 * 10**9),
    ("1w", 7 * 86400 * 10**9),
    ("-5m", -300 * 10**9),
    ("10 minutes", 600 * 10**9),
    ("1H", 3600 * 10**9),
]


@pytest.mark.parametrize("text,nanos", DURATIONS)
def test_to_duration(f, text, nanos):
    assert f("to_duration", text) == Duration(nanos)


@pytest.mark.parametrize("bad", ["", "5", "h", "5 parsecs", "1h x", "--1h", "1h-2m"])
def test_to_duration_invalid(f, bad):
    with pytest.raises(FunctionError):
        f("to_duration", bad)


def test_duration_constructors_and_accessors(f):
    assert f("duration_from_seconds", 1.5) == Duration(1_500_000_000)
    assert f("duration_from_ms", 5) == Duration(5_000_000)
    assert f("duration_from_millis", 5) == Duration(5_000_000)
    assert f("duration_from_minutes", 1) == Duration(60 * 10**9)
    assert f("duration_from_hours", 0.5) == Duration(1800 * 10**9)
    assert f("duration_from_days", 1) == Duration(86400 * 10**9)
    assert f("duration_from_nanos", 9) == Duration(9)
    d = Duration(-90_500_000_000)
    assert f("as_seconds", d) == -90
    assert f("as_milliseconds", d) == -90500
    assert f("as_millis", d) == -90500
    assert f("as_microseconds", d) == -90500000
    assert f("as_minutes", d) == -1
    assert f("as_hours", d) == 0
    assert f("as_days", Duration(3 * 86400 * 10**9)) == 3
    assert f("as_seconds_f", d) == -90.5
    assert f("as_nanos", d) == -90_500_000_000
    with pytest.raises(FunctionError):
        f("duration_from_seconds", float("nan"))
    with pytest.raises(FunctionError):
        f("as_seconds", 5)


def test_datetime_arithmetic_helpers(f):
    a = f("to_datetime", "2024-01-15T10:00:00Z")
    b = f("add_duration", a, f("to_duration", "1d 2h"))
    assert f("to_iso", b) == "2024-01-16T12:00:00+00:00"
    assert f("diff", b, a) == Duration(26 * 3600 * 10**9)
    assert f("diff", a, b) == Duration(-26 * 3600 * 10**9)
    assert f("sub_duration", b, f("diff", b, a)) == a
    with pytest.raises(FunctionError):
        f("add_duration", a, 5)
    with pytest.raises(FunctionError):
        f("add_duration", a, Duration(10**30))


def test_add_duration_and_diff_work_on_instants_across_dst(f):
    a = f("to_timezone", f("to_datetime", "2024-03-31T00:30:00Z"), "Europe/Berlin")
    b = f("add_duration", a, f("to_duration", "1h"))
    assert f("to_iso", b) == "2024-03-31T03:30:00+02:00"  # 02:30 does not exist that day
    assert f("diff", b, a) == Duration(3600 * 10**9)
    with pytest.raises(FunctionError, match="out of range"):
        f("add_duration", f("to_datetime", "9999-12-31T23:00:00Z"), f("to_duration", "2h"))


@pytest.mark.parametrize("text, iso", [
    # the layouts event timestamps are read in (Kelora's to_datetime is its event parser)
    ("1705312800", "2024-01-15T10:00:00+00:00"),
    ("1705312800123", "2024-01-15T10:00:00.123+00:00"),
    ("01/15/2024 10:00:00", "2024-01-15T10:00:00+00:00"),
    ("15.01.2024 10:00:00", "2024-01-15T10:00:00+00:00"),
    ("2024/01/15", "2024-01-15T00:00:00+00:00"),
    ("2024/01/15 10:00:00", "2024-01-15T10:00:00+00:00"),
    ("Mon Jan 15 10:00:00 2024", "2024-01-15T10:00:00+00:00"),
    ("[15/Jan/2024:11:00:00 +0100]", "2024-01-15T10:00:00+00:00"),
])
def test_to_datetime_reads_what_event_timestamps_read(f, text, iso):
    assert f("to_iso", f("to_datetime", text)) == iso


def test_to_datetime_infers_a_missing_year_as_event_timestamps_do(f):
    now = datetime.now(timezone.utc)
    dt = f("to_datetime", "Dec 31 23:59:59")  # never a year ahead (Kelora's ±1 year / 24 h rule)
    assert dt.dt <= now + timedelta(hours=24) and dt.dt.year in (now.year - 1, now.year)


def test_to_datetime_with_a_yearless_format_on_a_leap_day(f, monkeypatch):
    from kelora.builtins import datetime_fns
    from kelora.timestamps import TsParser

    monkeypatch.setattr(datetime_fns, "_parser", lambda tz, fmt: TsParser(
        fmt, tz, now=datetime(2024, 6, 1, tzinfo=timezone.utc)))
    # (strptime's own default year, 1900, has no Feb 29; the year rule picks 2024 here)
    assert f("to_iso", f("to_datetime", "Feb 29 10:00", "%b %d %H:%M")) == "2024-02-29T10:00:00+00:00"
    assert f("to_iso", f("to_datetime", "Dec 31 23:59:59")) == "2023-12-31T23:59:59+00:00"


def test_to_datetime_out_of_range_is_a_clear_error(f):
    with pytest.raises(FunctionError, match=r"out of supported range \(years 1 to 9999 in UTC\)"):
        f("to_datetime", "0001-01-01T00:00:00+14:00")


@pytest.mark.parametrize("fmt, text, iso", [
    # chrono's %.f, %.3f, %.6f, %.9f take the dot and the digits only when they are there
    ("%d/%m/%Y %H:%M:%S%.f", "15/01/2024 10:00:00", "2024-01-15T10:00:00+00:00"),
    ("%d/%m/%Y %H:%M:%S%.f", "15/01/2024 10:00:00.5", "2024-01-15T10:00:00.500+00:00"),
    ("%d/%m/%Y %H:%M:%S%.f", "15/01/2024 10:00:00.123456789", "2024-01-15T10:00:00.123456+00:00"),
    ("%Y-%m-%d %H:%M:%S%.3f", "2024-01-15 10:00:00", "2024-01-15T10:00:00+00:00"),
    ("%Y-%m-%d %H:%M:%S%.3f", "2024-01-15 10:00:00.250", "2024-01-15T10:00:00.250+00:00"),
    ("%Y-%m-%d %H:%M:%S%.6f %z", "2024-01-15 10:00:00 +0000", "2024-01-15T10:00:00+00:00"),
    ("%Y-%m-%d %H:%M:%S%.9f", "2024-01-15 10:00:00.000000001", "2024-01-15T10:00:00+00:00"),
])
def test_optional_fractions_in_a_format(f, fmt, text, iso):
    assert f("to_iso", f("to_datetime", text, fmt)) == iso


@pytest.mark.parametrize("fn, text, interval, iso", [
    # ported from Kelora's src/rhai_functions/datetime.rs tests (round_to/ceil_to)
    ("round_to", "2024-01-15T10:37:42Z", "5m", "2024-01-15T10:35:00+00:00"),
    ("round_to", "2024-01-15T10:37:42Z", "1h", "2024-01-15T10:00:00+00:00"),
    ("round_to", "2024-01-15T10:37:42Z", "1d", "2024-01-15T00:00:00+00:00"),
    ("round_to", "2024-01-15T10:37:42.789Z", "1s", "2024-01-15T10:37:42+00:00"),
    ("round_to", "2024-01-15T10:35:00Z", "5m", "2024-01-15T10:35:00+00:00"),
    ("round_to", "1969-12-31T23:59:30Z", "1m", "1969-12-31T23:59:00+00:00"),  # floor, not toward 0
    ("round_to", "2024-01-15T10:37:42.789Z", "250ms", "2024-01-15T10:37:42.750+00:00"),
    ("ceil_to", "2024-01-15T10:37:42Z", "5m", "2024-01-15T10:40:00+00:00"),
    ("ceil_to", "2024-01-15T10:40:00Z", "5m", "2024-01-15T10:40:00+00:00"),
    ("ceil_to", "2024-01-15T10:00:01Z", "1h", "2024-01-15T11:00:00+00:00"),
    ("ceil_to", "2024-01-15T11:00:00Z", "1h", "2024-01-15T11:00:00+00:00"),
    ("ceil_to", "2024-01-15T00:00:01Z", "1d", "2024-01-16T00:00:00+00:00"),
    ("ceil_to", "1969-12-31T23:59:30Z", "1m", "1970-01-01T00:00:00+00:00"),
])
def test_round_to_and_ceil_to(f, fn, text, interval, iso):
    assert f("to_iso", f(fn, f("to_datetime", text), interval)) == iso


@pytest.mark.parametrize("fn", ["round_to", "ceil_to"])
def test_round_to_and_ceil_to_keep_the_zone_and_refuse_bad_intervals(f, fn):
    dt = f("to_timezone", f("to_datetime", "2024-01-15T10:37:42Z"), "Asia/Kolkata")
    out = f(fn, dt, "1h")  # boundaries in UTC, shown in dt's zone
    assert f("to_iso", out) == ("2024-01-15T15:30:00+05:30" if fn == "round_to" else "2024-01-15T16:30:00+05:30")
    for bad, message in (("0s", "interval must be positive"), ("-1h", "interval must be positive"),
                         ("soon", "invalid interval 'soon'"), ("1000000000d", "interval out of range")):
        with pytest.raises(FunctionError, match=message):
            f(fn, dt, bad)
    with pytest.raises(FunctionError, match="timestamp out of range"):
        f(fn, f("to_datetime", "2500-01-01T00:00:00Z"), "1h")


def test_format_pads_years_to_four_digits_as_chrono(f):
    dt = f("to_datetime", "0001-01-05T00:00:00Z")
    assert f("format", dt, "%Y|%F|%C|%G|%v") == "0001|0001-01-05|00|0001| 5-Jan-0001"
