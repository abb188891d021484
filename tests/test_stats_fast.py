"""--stats/--with-stats keep the JSON fast loops (the generated one observes the events as read
in chunks: kelora/report/observe.py): the stats must be exactly those of the general per-event
path (`--take` with a limit no input reaches sends a run there), on varied inputs: timestamps
missing, null, numeric, in other layouts, invalid dates and times, under several keys; levels
missing, null, numeric, maps, under other keys; lines that are not objects, blank lines, a BOM;
more events than one chunk; filters, exec stages, --parallel."""
from __future__ import annotations

import json
import random
import subprocess

import pytest

from tests.cli.test_cli_cases import clean_env
from tests.conftest import KELORA_BIN


def _data(seed: int, n: int = 1500, mixed_keys: bool = True) -> bytes:
    rnd = random.Random(seed)
    good = lambda: (f"2024-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T{rnd.randint(0, 23):02d}:"
                    f"{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}.{rnd.randint(0, 999):03d}Z")
    odd_ts = [None, 1717200000, 1717200000123, 1717200000.5, "2024-02-30T10:00:00.000Z", "2024-06-01T24:00:00.000Z",
              "2024-06-01T10:00:60.000Z", "2024-06-01t10:00:00.000z", "2024-06-01T10:00:00.000+02:00",
              "2024-06-01 10:00:00", "2024-06-01T10:00:00Z", "not a time", "", True, [1], {"a": 1},
              "२०२४-06-01T10:00:00.000Z", "0999-06-01T10:00:00.000Z", 123456789012345678901234567890]
    odd_level = [None, 3, "", "warn", ["x"], {"a": 1}, True, 2.5]
    lines = []
    for i in range(n):
        ev = {}
        r = rnd.random()
        if r < 0.85 or not mixed_keys:
            ev["timestamp"] = good() if rnd.random() < 0.97 else rnd.choice(odd_ts)
        elif r < 0.9:
            ev["ts"] = rnd.choice([good(), rnd.choice(odd_ts)])
        elif r < 0.95 and mixed_keys:
            ev["time"] = good()
            ev["timestamp"] = good()
        r = rnd.random()
        if r < 0.9:
            ev["level"] = rnd.choice(["INFO", "WARN", "ERROR", "debug"])
        elif r < 0.95:
            ev["level"] = rnd.choice(odd_level)
            ev["severity"] = rnd.choice(["crit", 7])
        elif mixed_keys:
            ev["lvl"] = rnd.choice(["trace", None])
        ev["status"] = rnd.choice([200, 404, 500, 503, "500", None])
        ev[f"k{rnd.randrange(30)}"] = i
        lines.append(json.dumps(ev, ensure_ascii=False))
        if i % 97 == 0:
            lines.append("not json")
        if i % 211 == 0:
            lines.append("")
        if i % 307 == 0:
            lines.append("\ufeff" + json.dumps({"timestamp": good(), "level": "BOM", "bom": 1}))
        if i % 401 == 0:
            lines.append("[1, 2]")
    return ("\n".join(lines) + "\n").encode()


def _one_key_each(seed: int, n: int = 1500) -> bytes:
    """One timestamp key and one level key for a long stretch (a ValueObserver then keeps only
    their values), with odd values and events lacking either key; then, inside a chunk, events
    with a second timestamp key that comes first in the search order ("ts" before "timestamp")
    and a second level key, which change what an event's timestamp and level are."""
    rnd = random.Random(seed)
    odd_ts = [None, 1717200000, 1717200000.5, "2024-02-30T10:00:00.000Z", "not a time", "", [1], {"a": 1},
              "2024-06-01T10:00:00Z", 123456789012345678901234567890]
    odd_level = [None, 3, "", ["x"], {"a": 1}, True]
    lines = []
    for i in range(n):
        ev = {"status": rnd.choice([200, 500, 503])}
        r = rnd.random()
        if r < 0.9:
            ev["timestamp"] = f"2024-06-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{rnd.randint(0, 999):03d}Z"
        elif r < 0.97:
            ev["timestamp"] = rnd.choice(odd_ts)
        r = rnd.random()
        if r < 0.9:
            ev["level"] = rnd.choice(["INFO", "WARN", "ERROR"])
        elif r < 0.97:
            ev["level"] = rnd.choice(odd_level)
        if i > 1100 and i % 5 == 0:
            ev["ts"] = f"2023-01-01T00:00:{i % 60:02d}.000Z"
        if i > 1300 and i % 7 == 0:
            ev["lvl"] = "TRACE"
            ev["level"] = None
        lines.append(json.dumps(ev))
        if i % 401 == 0:
            lines.append("not json")
    return ("\n".join(lines) + "\n").encode()


CASES = {
    "passthrough": [],
    "filter": ["--filter", "e.status >= 500"],
    "filter that raises": ["--filter", "e.status > 300 && e.level.len() > 3"],
    "two filters": ["--filter", "e.status != ()", "--filter", "e.level != ()"],
    "exec": ["-e", "e.x = e.status", "-F", "json"],
    "exec removing the timestamp": ["-e", "e.timestamp = (); e.level = ()"],
    "filter that changes the event": ["--filter", 'e.remove("level") != 42'],
    "-k": ["-k", "timestamp,status"],
}


def _stats(args, data, extra=()):
    proc = subprocess.run([KELORA_BIN, "-j", *args, "--stats=json", *extra], input=data, capture_output=True,
                          env=clean_env(), timeout=120)
    out = proc.stdout
    start = out.rfind(b"\n{")
    stats = json.loads(out[start + 1:] if start >= 0 else out)
    stats.pop("throughput", None)
    return proc.returncode, stats, proc.stderr


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("seed", [1, 2])
def test_stats_from_the_fast_loops_equal_the_general_path(name, seed):
    data = _data(seed, mixed_keys=seed == 1)
    fast = _stats(CASES[name], data)
    general = _stats([*CASES[name], "--take", "100000000"], data)
    assert fast == general
    assert fast[1]["events"]["created"] > 1000 if "events" in fast[1] else True


def test_with_stats_summary_equal_and_parallel():
    data = _data(3)
    args = ["--filter", "e.status >= 500", "-F", "json", "--with-stats"]
    run = lambda extra: subprocess.run([KELORA_BIN, "-j", *args, *extra], input=data, capture_output=True,
                                       env=clean_env(), timeout=120)
    fast, general = run([]), run(["--take", "100000000"])
    strip = lambda err: b"\n".join(l for l in err.splitlines() if b"Throughput" not in l)
    assert fast.stdout == general.stdout and fast.returncode == general.returncode
    assert strip(fast.stderr) == strip(general.stderr)
    assert b"Keys seen" in fast.stderr
    par = _stats(CASES["filter"], data, ("--parallel", "--threads", "2", "--batch-size", "300"))
    assert par[:2] == _stats(CASES["filter"], data)[:2]  # (warnings are per worker)



def _with_stats(args, data):
    """(exit code, the --with-stats summary without its throughput line)"""
    proc = subprocess.run([KELORA_BIN, "-j", *args, "--with-stats"], input=data, capture_output=True,
                          env=clean_env(), timeout=120)
    return proc.returncode, [l for l in proc.stderr.splitlines() if b"Throughput" not in l]


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("seed", [1, 2])
def test_with_stats_from_the_generated_loop_equal_the_general_path(name, seed):
    """--with-stats (events written: the generated loop observes chunks) against the general path."""
    data = _data(seed, mixed_keys=seed == 1)
    fast = _with_stats(CASES[name], data)
    assert fast == _with_stats([*CASES[name], "--take", "100000000"], data)
    assert any(l.startswith(b"Keys seen") for l in fast[1])


def _minute_runs() -> bytes:
    """Timestamps in order within one minute per chunk (the shortcut that checks a chunk's minute
    once), with odd texts among them: a second of 60-69, a text holding the separator the
    observer joins with, an invalid date for a whole chunk, a text one character short."""
    lines = []
    for i in range(400):
        ts = f"2024-06-01T10:{i // 64:02d}:{(i % 64) * 0.9:06.3f}Z"
        if i == 70:
            ts = "2024-06-01T10:01:61.000Z"
        elif i == 140:
            ts = "2024-06-01T10:02:00.000Z|2024-06-01T10:02:01.000Z"
        elif 192 <= i < 256:
            ts = f"2024-02-30T10:03:{(i % 64) * 0.9:06.3f}Z"
        elif i == 300:
            ts = "2024-06-01T10:04:03.000"
        lines.append(json.dumps({"timestamp": ts, "level": "INFO", "status": 500 + i % 2}))
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("name", ["passthrough", "filter", "exec", "exec removing the timestamp",
                                  "filter that changes the event"])
@pytest.mark.parametrize("seed", [4, 5])
def test_stats_with_one_timestamp_and_level_key_equal_the_general_path(name, seed):
    """The values-only observation (stages that change events) and the chunked one, against the
    general path, on data that keeps one timestamp and one level key for most of the input."""
    data = _one_key_each(seed)
    fast = _stats(CASES[name], data)
    assert fast == _stats([*CASES[name], "--take", "100000000"], data)
    assert _with_stats(CASES[name], data) == _with_stats([*CASES[name], "--take", "100000000"], data)
    fields = fast[1]["timestamp"] if "timestamp" in fast[1] else fast[1]
    assert "ts" in json.dumps(fields)  # (the late key was seen)


@pytest.mark.parametrize("args", [[], ["--filter", "e.status >= 501"]])
def test_with_stats_in_order_within_a_minute_equal_the_general_path(args):
    data = _minute_runs()
    fast = _with_stats(args, data)
    assert fast == _with_stats([*args, "--take", "100000000"], data)
    assert any(b"334/400 parsed" in l for l in fast[1])


def _one_odd_text_per_chunk() -> bytes:
    """Chunks of 64 events with layout timestamps (in one minute, or across two), each with one
    text changed at one place: every place of the layout, each time to a character that is
    another digit, the next character below or above the digits, a layout character, a letter,
    the observer's separator, non-ASCII digits; and texts one character short or long."""
    base = "2024-06-01T10:{m:02d}:{s:02d}.{ms:03d}Z"
    subs = "0569/:- .TZa|\u0663\u00b2"
    odd = [(p, c) for p in range(24) for c in subs] + [("short", ""), ("long", "0")]
    lines = []
    for k, (place, char) in enumerate(odd):
        for i in range(64):
            minute = (k % 50) + (i >= 32 if k % 2 else 0)  # (odd blocks span two minutes)
            ts = base.format(m=minute, s=i % 60, ms=(k * 7 + i) % 1000)
            if i == 17:
                ts = ts[:-1] if place == "short" else ts + char if place == "long" else ts[:place] + char + ts[place + 1:]
            lines.append(json.dumps({"timestamp": ts, "level": "INFO", "status": 500 + i % 2}))
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("args", [[], ["--filter", "e.status >= 501"], ["-e", "e.x = 1"]])
def test_one_odd_text_at_any_place_of_the_layout_equal_the_general_path(args):
    """The chunk observer's layout check (the whole chunk against the layout, the date, hour and
    minute with the parser once per distinct minute) against the general path, which parses
    every text: a chunk holding one text off the layout anywhere is observed event by event."""
    data = _one_odd_text_per_chunk()
    fast = _with_stats(args, data)  # (--with-stats: the generated loop, which observes chunks)
    assert fast == _with_stats([*args, "--take", "100000000"], data)
    parsed = next(line for line in fast[1] if line.startswith(b"Timestamp:")).split()[4]
    assert parsed.endswith(b"/23168")
    # (some of the 362 odd texts still parse, most do not)
    assert 23168 - 362 < int(parsed.split(b"/")[0]) < 23168 - 200


@pytest.mark.parametrize("sep", [" ", "t"])
@pytest.mark.parametrize("args", [[], ["-e", "e.x = 1"]])
def test_a_text_the_parser_takes_off_the_layout_is_not_ordered_as_text(sep, args):
    """A timestamp the parser accepts with another separator than "T" sorts before the layout's
    texts of the same day whatever its time: taken in text order it would be the earliest.  Here
    it is the latest; the chunk holding it is observed event by event."""
    lines = [json.dumps({"timestamp": f"2024-06-01T10:{5 + i // 64:02d}:{i % 60:02d}.000Z", "level": "INFO"})
             for i in range(192)]
    lines[100] = json.dumps({"timestamp": f"2024-06-01{sep}10:09:00.000Z", "level": "INFO"})
    data = ("\n".join(lines) + "\n").encode()
    fast = _with_stats(args, data)
    assert fast == _with_stats([*args, "--take", "100000000"], data)
    assert b"Time span: 2024-06-01T10:05:00+00:00 to 2024-06-01T10:09:00+00:00 (4m)" in fast[1]


@pytest.mark.parametrize("args, observe", [(["--stats=json"], "chunk"), (["-q", "--stats"], "chunk"),
                                           (["--filter", "e.status >= 500", "--stats"], "chunk"),
                                           (["-e", "e.x = 1", "--stats=json"], "values")])
def test_stats_without_output_take_the_generated_loop(tmp_path, monkeypatch, capfd, args, observe):
    """`--stats` (events not written, only counted and observed as written) runs the generated
    loop, which observes chunks, as --with-stats does; it used to take a per-event loop that
    parsed every timestamp (2.4x the time on 1M events)."""
    import kelora
    from kelora.run import fastloop

    built = []
    real = fastloop.build_loop

    def spy(steps, writes=True, observe=None, **kw):
        built.append((writes, observe))
        return real(steps, writes=writes, observe=observe, **kw)

    monkeypatch.setattr(fastloop, "build_loop", spy)
    path = tmp_path / "e.jsonl"
    path.write_bytes(_data(6, n=300))
    assert kelora.main(["--ignore-config", "-j", str(path), *args]) == 0
    assert built == [(False, observe)]
    assert "Keys" in capfd.readouterr().out.replace("keys", "Keys")
