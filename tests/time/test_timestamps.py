"""Timestamps: the parser in-process (with an injected "now"), the forms of --since/--until
that are relative to now through the installed command (checked against dates computed
here, as Kelora's own tests do), and the real logs' timestamps in --stats.

Ported from Kelora's tests/timestamp_filtering_tests.rs (the now-relative cases) and
src/timestamp.rs unit tests.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kelora.timestamps import NAIVE, YEARLESS, TimeArgError, TsParser, resolve_time_range
from tests.conftest import KELORA_BIN

UTC = timezone.utc
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
if not REAL.is_dir():
    REAL = Path("/work/shared/data/real")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --------------------------------------------------------------------------- the parser

@pytest.mark.parametrize("text, expected", [
    ("2024-01-15T10:00:00Z", at(2024, 1, 15, 10)),
    ("2024-01-15T10:00:00.123456789Z", at(2024, 1, 15, 10, 0, 0, 123456)),
    ("2024-01-15T12:00:00+02:00", at(2024, 1, 15, 10)),
    ("2024-01-15 10:00:00", at(2024, 1, 15, 10)),
    ("2024-01-15 10:00:00,250", at(2024, 1, 15, 10, 0, 0, 250000)),
    ("2024-01-15 12:00", at(2024, 1, 15, 12)),
    ("2024-01-15T12:00", at(2024, 1, 15, 12)),
    ("2024-01-15T12:00Z", at(2024, 1, 15, 12)),
    ("2024-01-15 12:00+0000", at(2024, 1, 15, 12)),
    ("2024-01-15 12:00:45", at(2024, 1, 15, 12, 0, 45)),
    ("2024-01-15", at(2024, 1, 15)),
    ("17/May/2015:10:05:03 +0000", at(2015, 5, 17, 10, 5, 3)),
    ("[10/Oct/2000:13:55:36 -0700]", at(2000, 10, 10, 20, 55, 36)),
    ("Mon, 15 Jan 2024 10:00:00 +0000", at(2024, 1, 15, 10)),
    ("1735566123", at(2024, 12, 30, 13, 42, 3)),
    ("1735566123000", at(2024, 12, 30, 13, 42, 3)),
    ("1735566123000000", at(2024, 12, 30, 13, 42, 3)),
    ("1735566123000000000", at(2024, 12, 30, 13, 42, 3)),
    ("1735566123.456", at(2024, 12, 30, 13, 42, 3, 456000)),
    ("2024/01/15 10:00:00", at(2024, 1, 15, 10)),
    ("01/15/2024 10:00:00", at(2024, 1, 15, 10)),
    ("15.01.2024 10:00:00", at(2024, 1, 15, 10)),
    ("Mon Jan 15 10:00:00 2024", at(2024, 1, 15, 10)),
    ("Jan 15 2024 10:00:00", at(2024, 1, 15, 10)),
])
def test_recognised_layouts(text, expected):
    dt, _ = TsParser(now=at(2024, 6, 1)).parse(text)
    assert dt == expected


@pytest.mark.parametrize("text", ["", "garbage", "123456.789", "12345", "not-a-timestamp", "2024-13-45T99:00:00Z"])
def test_unrecognised_values(text):
    assert TsParser().parse(text)[0] is None


def test_naive_values_take_the_default_zone():
    from zoneinfo import ZoneInfo

    p = TsParser(tz=ZoneInfo("Europe/Berlin"))
    assert p.parse("2024-01-15 10:00:00") == (at(2024, 1, 15, 9), NAIVE)
    assert p.parse("2024-01-15T10:00:00Z") == (at(2024, 1, 15, 10), 0)  # an offset wins
    assert p.parse("2024-01-15")[0] == at(2024, 1, 15)  # a date alone is UTC midnight (Kelora)


@pytest.mark.parametrize("now, text, expected", [
    # a December line read in January belongs to the previous year
    (at(2026, 1, 2, 12), "Dec 31 23:59:59", at(2025, 12, 31, 23, 59, 59)),
    (at(2026, 1, 2, 12), "Jun 14 15:16:01", at(2025, 6, 14, 15, 16, 1)),
    # up to 24 h ahead is clock skew, not another year
    (at(2025, 12, 31, 12), "Jan  1 00:30:00", at(2026, 1, 1, 0, 30)),
    (at(2026, 1, 2, 12), "Jan  3 11:00:00", at(2026, 1, 3, 11)),
    # more than 24 h ahead: last year
    (at(2026, 1, 2, 12), "Jan  3 13:00:00", at(2025, 1, 3, 13)),
    (at(2026, 7, 1), "Jun 30 10:00:00", at(2026, 6, 30, 10)),
    (at(2024, 3, 1), "Feb 29 10:00:00", at(2024, 2, 29, 10)),
])
def test_year_inference(now, text, expected):
    dt, flags = TsParser(now=now).parse(text)
    assert dt == expected
    assert flags == NAIVE | YEARLESS


def test_yearless_custom_format_infers_the_year():
    dt, flags = TsParser("%b %e %H-%M-%S", now=at(2026, 1, 2)).parse("Dec  5 10-00-00")
    assert dt == at(2025, 12, 5, 10) and flags & YEARLESS


@pytest.mark.parametrize("fmt, text, expected", [
    ("%d.%m.%Y %H:%M", "15.01.2024 10:00", at(2024, 1, 15, 10)),
    ("%Y-%m-%d %H:%M:%S,%3f", "2024-01-15 10:00:00,250", at(2024, 1, 15, 10, 0, 0, 250000)),
    ("%Y-%m-%d %H:%M:%S%.f", "2024-01-15 10:00:00.123456789", at(2024, 1, 15, 10, 0, 0, 123456)),
    ("%d/%b/%Y:%H:%M:%S %z", "[15/Jan/2024:11:00:00 +0100]", at(2024, 1, 15, 10)),
    ("%s", "1705312800", at(2024, 1, 15, 10)),
])
def test_custom_formats(fmt, text, expected):
    assert TsParser(fmt).parse(text)[0] == expected


def test_a_custom_format_that_fails_falls_back_to_detection():
    assert TsParser("%d").parse("2024-01-15T10:00:00Z")[0] == at(2024, 1, 15, 10)


def test_layout_reordering_keeps_results():
    p = TsParser()
    assert p.parse("2024/01/15 10:00:00")[0] == at(2024, 1, 15, 10)
    assert p.parse("15.01.2024 10:00:00")[0] == at(2024, 1, 15, 10)
    assert p.parse("2024/01/16 10:00:00")[0] == at(2024, 1, 16, 10)


# --------------------------------------------------------------------------- outside years 1..9999

@pytest.mark.parametrize("fmt, text, tz", [
    (None, "0001-01-01T00:00:00+14:00", None),  # before year 1 in UTC
    (None, "9999-12-31T23:59:59-01:00", None),  # after 9999 in UTC
    (None, "9999-12-31T23:59:59", "-12:00"),  # a naive value in the --input-tz
    (None, "[01/Jan/0001:00:00:00 +1400]", None),
    (None, "Fri, 31 Dec 9999 23:00:00 -1200", None),
    ("%Y-%m-%d %H:%M:%S %z", "0001-01-01 00:00:00 +1400", None),
])
def test_a_time_outside_years_1_to_9999_in_utc_is_not_parsed(fmt, text, tz):
    from kelora.builtins.datetime_fns import zone
    from kelora.timestamps import OUT_OF_RANGE

    dt, flags = TsParser(fmt, zone(tz) if tz else None).parse(text)
    assert dt is None and flags & OUT_OF_RANGE


@pytest.mark.parametrize("extra", [[], ["--parallel", "--batch-size", "1"]])
def test_an_out_of_range_timestamp_does_not_end_the_run(extra):
    data = events(("2024-01-15T10:00:00Z", "a"), ("0001-01-01T00:00:00+01:00", "b"), ("2024-01-15T10:00:01Z", "c"))
    assert msgs(run(["-j", "-F", "json", "--since", "2024-01-01", *extra], data)) == ["a", "c"]
    r = run(["-j", "-F", "json", "--normalize-ts", "--input-tz", "-12:00"], events(("9999-12-31T23:59:59", "d")))
    assert msgs(r) == ["d"] and json.loads(r.stdout)["ts"] == "9999-12-31T23:59:59"  # left as it is
    r = run(["-j", "-s"], events(("0001-01-01T00:00:00+14:00", "e")))
    assert r.returncode == 0 and b"0/1 parsed" in r.stdout
    r = run(["-f", "line", "-M", "timestamp"], "a\n0001-01-01T00:00:00+14:00 x\n")
    assert r.returncode == 0 and r.stdout.decode().count("line=") == 1  # not a header: one event
    combined = '1.2.3.4 - - [01/Jan/0001:00:00:00 +1400] "GET / HTTP/1.1" 200 1\n'
    assert run(["-f", "combined", "--normalize-ts", "--since", "2020-01-01"], combined).returncode == 0
    syslog = "<34>1 0001-01-01T00:00:00+14:00 host app - - - msg\n"
    assert run(["-f", "syslog", "-s", "--normalize-ts"], syslog).returncode == 0
    assert run(["-f", "logfmt", "--since", "2020-01-01"], "ts=0001-01-01T00:00:00+14:00 a=1\n").returncode == 0


@pytest.mark.parametrize("args", [["--since", "0001-01-01T00:00:00+14:00"],
                                  ["--until", "9999-12-31T23:00:00-12:00"],
                                  ["--since", "9999-12-31T23:00:00", "--input-tz", "-12:00"]])
def test_an_out_of_range_bound_is_a_usage_error(args):
    r = run(["-j", *args], events(("2024-01-15T10:00:00Z", "a")))
    assert r.returncode == 2
    assert b"out of supported range (years 1 to 9999 in UTC)" in r.stderr and b"internal error" not in r.stderr


# --------------------------------------------------------------------------- --since/--until values

NOW = at(2026, 3, 10, 12, 0, 0)


@pytest.mark.parametrize("since, until, expected", [
    ("1h", None, (NOW - timedelta(hours=1), None)),
    ("-30m", None, (NOW - timedelta(minutes=30), None)),
    ("+1h", None, (NOW + timedelta(hours=1), None)),
    ("2 days", None, (NOW - timedelta(days=2), None)),
    ("now", None, (NOW, None)),
    ("now-15m", "now+15m", (NOW - timedelta(minutes=15), NOW + timedelta(minutes=15))),
    ("-2h", "since+1h", (NOW - timedelta(hours=2), NOW - timedelta(hours=1))),
    ("until-1h", "2024-01-15T11:00:00Z", (at(2024, 1, 15, 10), at(2024, 1, 15, 11))),
    ("2024-01-15T10:00:00Z", "since+30m", (at(2024, 1, 15, 10), at(2024, 1, 15, 10, 30))),
    ("1w", None, (NOW - timedelta(weeks=1), None)),
])
def test_relative_and_anchored_bounds(since, until, expected):
    assert resolve_time_range(since, until, TsParser(now=NOW)) == expected


def test_today_yesterday_tomorrow_are_local_dates_at_utc_midnight():
    p = TsParser(now=NOW)
    day = NOW.astimezone().date()
    lo, hi = resolve_time_range("yesterday", "tomorrow", p)
    assert lo == datetime.combine(day - timedelta(days=1), datetime.min.time(), UTC)
    assert hi == datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
    assert resolve_time_range("today", None, p)[0] == datetime.combine(day, datetime.min.time(), UTC)
    assert resolve_time_range("10:30:00", None, p)[0] == datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=10, minutes=30)


@pytest.mark.parametrize("since, until, message", [
    ("until-1h", "since+1h", "Cannot use both 'since' and 'until' anchors"),
    (None, "since+30m", "'since' anchor requires --since"),
    ("until-30m", None, "'until' anchor requires --until"),
    ("since+1h", None, "'since' anchor requires --since"),
    ("invalid-timestamp", None, "Invalid --since timestamp 'invalid-timestamp': Could not parse timestamp"),
    (None, "not-a-date", "Invalid --until timestamp"),
    ("now+5", None, "Relative time must have a unit"),
    ("-", None, "Invalid --since timestamp"),
    ("1 fortnight", None, "Invalid --since timestamp"),
])
def test_bad_bounds(since, until, message):
    with pytest.raises(TimeArgError, match=re.escape(message)):
        resolve_time_range(since, until, TsParser(now=NOW))


# --------------------------------------------------------------------------- through the command

def run(args, stdin: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("KELORA_")}
    full.update({"KELORA_IGNORE_CONFIG": "1", "TZ": "UTC"})
    full.update(env or {})
    return subprocess.run([KELORA_BIN, *args], input=stdin.encode(), capture_output=True, env=full, timeout=60)


def iso(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def events(*pairs) -> str:
    return "".join(json.dumps({"ts": ts, "level": "info", "msg": msg}) + "\n" for ts, msg in pairs)


def msgs(result) -> list[str]:
    assert result.returncode == 0, result.stderr.decode()
    return [json.loads(line)["msg"] for line in result.stdout.decode().splitlines()]


@pytest.mark.parametrize("args, kept", [
    (["--since", "-1h"], ["new"]),
    (["--since=-1h"], ["new"]),
    (["--since", "1h"], ["new"]),
    (["--until=-1h"], ["old"]),
    (["--since", "now-45m"], ["new"]),
    (["--until", "now-45m"], ["old"]),
    (["--since", "-45m", "--until", "since+30m"], ["new"]),
    (["--since", "until-100m", "--until", "now"], ["new"]),
    (["--since", "-3h", "--until", "now-1h"], ["old"]),
    (["--since", "-1h", "--parallel"], ["new"]),
])
def test_relative_bounds_through_the_command(args, kept):
    data = events((iso(-120), "old"), (iso(-30), "new"))
    assert msgs(run(["-j", "-F", "json", *args], data)) == kept


def test_since_today_and_date_of_today():
    today = datetime.now().date()
    noon = lambda d: datetime.combine(d, datetime.min.time(), UTC).replace(hour=12).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = events((noon(today - timedelta(days=1)), "yesterday event"), (noon(today), "today event"))
    assert msgs(run(["-j", "-F", "json", "--since", "today"], data)) == ["today event"]
    assert msgs(run(["-j", "-F", "json", "--since", today.isoformat()], data)) == ["today event"]
    assert msgs(run(["-j", "-F", "json", "--until", "yesterday"], data)) == []
    assert msgs(run(["-j", "-F", "json", "--since", "yesterday"], data)) == ["yesterday event", "today event"]


def test_since_unix_seconds_and_mixed_fields():
    now = int(datetime.now(UTC).timestamp())
    data = (json.dumps({"timestamp": iso(-60), "msg": "iso format"}) + "\n"
            + json.dumps({"ts": (datetime.now(UTC) - timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M:%S"), "msg": "space format"}) + "\n"
            + json.dumps({"time": str(now - 900), "msg": "unix format"}) + "\n")
    assert msgs(run(["-j", "-F", "json", "--since", str(now - 2700)], data)) == ["space format", "unix format"]


def test_time_only_bound_is_accepted():
    assert run(["-j", "--since", "12:00:00"], events((iso(0), "x"))).returncode == 0


def test_year_less_syslog_lands_in_the_past():
    """The spec: the year (current ±1) closest to now, never more than 24 h ahead."""
    now = datetime.now(UTC).replace(microsecond=0)
    lines = []
    for delta in (timedelta(days=-2), timedelta(hours=12), timedelta(days=60), timedelta(days=-300)):
        t = now + delta
        lines.append(f"{t:%b} {t.day:2d} {t:%H:%M:%S} host app: d{int(delta.total_seconds())}")
    out = run(["-f", "syslog", "--normalize-ts", "-F", "json"], "\n".join(lines) + "\n")
    assert out.returncode == 0, out.stderr.decode()
    got = [json.loads(line) for line in out.stdout.decode().splitlines()]
    stamps = [datetime.fromisoformat(next(v for k, v in e.items() if k in ("ts", "timestamp"))) for e in got]
    assert stamps[0] == now - timedelta(days=2)
    assert stamps[1] == now + timedelta(hours=12)
    back = now + timedelta(days=60)
    assert stamps[2] == back.replace(year=back.year - 1) if not (back.month == 2 and back.day == 29) else True
    assert stamps[3] == now - timedelta(days=300)
    assert all(s <= now + timedelta(hours=24) for s in stamps)


# --------------------------------------------------------------------------- real logs

REAL_FILES = [
    # (file, -f, timestamps expected parsed / present)
    ("Linux_2k.log", "syslog", None),
    ("Mac_2k.log", "syslog", None),
    ("apache_access.log", "combined", None),
    ("lnav_logfile_bunyan.0", "json", None),
    ("lnav_logfile_ecs_log.json", "json", None),
    ("lnav_logfile_logfmt.0", "logfmt", None),
    ("lnav_logfile_json.json", "json", (13, 14)),  # line 6 is "ts": "xxx" on purpose
]


@pytest.mark.skipif(not REAL.is_dir(), reason="the shared real logs are not next to the checkout")
@pytest.mark.parametrize("name, fmt, counts", REAL_FILES)
@pytest.mark.parametrize("how", ["auto", "explicit"])
def test_real_log_timestamps_recognised(name, fmt, counts, how):
    args = [str(REAL / name), "--stats=json"] + (["-f", fmt] if how == "explicit" else [])
    out = run(args, "")
    assert out.returncode == 0, out.stderr.decode()
    ts = json.loads(out.stdout)["timestamp"]
    assert ts["detected"] > 0
    if counts is None:
        assert ts["parsed"] == ts["detected"], ts
    else:
        assert (ts["parsed"], ts["detected"]) == counts


# --------------------------------------------------------------------------- format details

@pytest.mark.parametrize("text", ["2024-01-15T10:00:00z", "2024-01-15t10:00:00z", "2024-01-15T10:00:00.5z"])
def test_lowercase_zone_letter_is_utc(text):
    """RFC 3339 allows "t" and "z" in lowercase."""
    dt, flags = TsParser().parse(text)
    assert dt is not None and dt.replace(microsecond=0) == at(2024, 1, 15, 10) and flags == 0


@pytest.mark.parametrize("text, expected", [
    ("15/01/2024 10:00:00", at(2024, 1, 15, 10)),
    ("15/01/2024 10:00:00.5", at(2024, 1, 15, 10, 0, 0, 500000)),
])
def test_ts_format_fraction_is_optional_as_in_chrono(text, expected):
    assert TsParser("%d/%m/%Y %H:%M:%S%.f").parse(text)[0] == expected
    r = run(["-j", "-F", "json", "--ts-field", "when", "--ts-format", "%d/%m/%Y %H:%M:%S%.f", "--normalize-ts"],
            json.dumps({"when": text}) + "\n")
    assert json.loads(r.stdout)["when"] == expected.isoformat(timespec="milliseconds" if expected.microsecond else "seconds")
