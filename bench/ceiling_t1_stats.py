#!/usr/bin/env python3
"""T1 with its stats, hand-written: the T1 ceiling (ceiling_t1_canon.py: keep events with
status >= 500, write them in Kelora's canonical key order) that also prints, on stderr, the stats
block of `kelora -j FILE --filter 'e.status >= 500' -F json --with-stats` for the benchmark data
(every line a JSON object with a `level` text and a `timestamp` text like
2024-06-01T00:00:00.080Z).  Its stdout equals kelora's byte for byte and its stats lines equal
kelora's but for Throughput (tests/test_bench_ceiling.py).

`make bench` runs it beside the plain ceiling to show what exact stats cost a Python program that
does nothing else: the union of every event's keys, the levels seen and written, the input and
output time spans.  It is generous to itself where kelora cannot be: it knows every event has
both keys and that every timestamp has the one layout (kelora checks each text, and looks for
the first of 15 timestamp and 13 level keys), so it only compares texts, which sort as the times
do, and parses the earliest and latest at the end.  It reads 64 events at a time and observes
them with one C call each (keys, levels, the sorted timestamps): its fastest form (making the
observations one event at a time cost it ~25 % in place of ~15 %; docs/benchmarks.md)."""
import sys
from datetime import datetime
from itertools import islice
from operator import itemgetter

from orjson import OPT_APPEND_NEWLINE as NL, dumps, loads

from ceiling_t1_canon import canonical


def main():
    out = sys.stdout.buffer.write
    cache = {}
    keys, levels, keys_out, levels_out = set(), set(), set(), set()
    lo = lo_out = "~"  # (after every digit: any timestamp text is earlier)
    hi = hi_out = ""
    lines = written = 0
    level, timestamp = itemgetter("level"), itemgetter("timestamp")
    with open(sys.argv[1], "rb") as f:
        while True:
            events = list(map(loads, islice(f, 64)))
            if not events:
                break
            lines += len(events)
            keys.update(*events)
            levels.update(map(level, events))
            times = sorted(map(timestamp, events))
            lo, hi = min(lo, times[0]), max(hi, times[-1])
            for o in events:
                if o["status"] >= 500:
                    keys_out.update(o)
                    levels_out.add(o["level"])
                    ts = o["timestamp"]
                    if ts < lo_out:
                        lo_out = ts
                    if ts > hi_out:
                        hi_out = ts
                    out(dumps(canonical(o, cache), option=NL))
                    written += 1
    sys.stderr.write(report(lines, written, (lo, hi), (lo_out, hi_out), keys, levels, keys_out, levels_out))


def report(lines, written, span_in, span_out, keys, levels, keys_out, levels_out) -> str:
    """The stats block as kelora prints it for this data (no Throughput line)."""
    dropped = lines - written
    rows = ["kelora: Stats:", "Detected format: json",
            f"Lines processed: {lines} total, 0 filtered{pct(0, lines)}, 0 errors{pct(0, lines)}",
            f"Events created: {lines} total, {written} output, {dropped} filtered{pct(dropped, lines)}",
            f"Timestamp: timestamp (auto-detected) - {lines}/{lines} parsed (100.0%)."]
    span_in, span_out = span(*span_in), span(*span_out)
    if span_in and span_out and span_in != span_out:
        rows += [f"Input time span (before filtering): {span_in}", f"Output time span (after filtering): {span_out}"]
    elif span_in:
        rows.append(f"Time span: {span_in}")
    for name, seen, output in (("Levels", levels, levels_out), ("Keys", keys, keys_out)):
        if seen:
            rows.append(f"{name} seen: " + ",".join(sorted(seen)))
            if output and output != seen:
                rows.append(f"{name} output: " + ",".join(sorted(output)))
    return "\n" + "\n".join(rows) + "\n"


def pct(part, whole):
    return f" ({part / whole * 100:.1f}%)" if whole else ""


def span(lo, hi):
    if not hi:
        return None
    if lo == hi:
        return f"{rfc3339(lo)} (single timestamp)"
    secs = int((parse(hi) - parse(lo)).total_seconds())
    days, rem = divmod(secs, 86400)
    hours, rem = divmod(rem, 3600)
    mins, s = divmod(rem, 60)
    for big, small, units in ((days, hours, "dh"), (hours, mins, "hm"), (mins, s, "ms")):
        if big:
            return f"{rfc3339(lo)} to {rfc3339(hi)} ({big}{units[0]}" + (f" {small}{units[1]})" if small else ")")
    return f"{rfc3339(lo)} to {rfc3339(hi)} ({s}s)"


def parse(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def rfc3339(text):
    """2024-06-01T00:00:00.080Z as chrono's to_rfc3339 shows it (no fraction when it is zero)."""
    return text[:19] + ("" if text[20:23] == "000" else text[19:23]) + "+00:00"


if __name__ == "__main__":
    main()
