#!/usr/bin/env python3
"""T1 filter with Kelora's canonical key order: keep events with status >= 500 and write them with
the timestamp-, level-, message-family keys first, then the rest in input order (orjson).  The
fair T1 ceiling for `kelora -j FILE --filter 'e.status >= 500' -F json`, whose output it equals
byte for byte; the same style as shared/bench/ref/py_orjson_t0_canon.py (a per-shape cache from
the key tuple to "already canonical" or a reorder list), which it copies to stand alone."""
import sys
from orjson import OPT_APPEND_NEWLINE as NL, dumps, loads

TS = ("ts", "_ts", "timestamp", "at", "time", "@timestamp", "log_timestamp", "event_time",
      "datetime", "date_time", "created_at", "logged_at", "_t", "@t", "t")
LV = ("level", "lvl", "severity", "log_level", "loglevel", "priority", "sev", "@level",
      "log_severity", "error_level", "event_level", "_level", "@l")
MS = ("msg", "message", "content", "data", "log", "text", "description", "details", "body",
      "payload", "event_message", "log_message", "_message", "@message", "@m", "event")


def order_for(keys):
    first = [k for fam in (TS, LV, MS) for k in fam if k in keys]  # every present family key
    rest = [k for k in keys if k not in first]
    order = first + rest
    return None if order == list(keys) else order


def canonical(o, cache):
    """*o* in canonical key order (*cache*: key tuple -> reorder list, or None when in order)."""
    shape = tuple(o)
    try:
        order = cache[shape]
    except KeyError:
        order = cache[shape] = order_for(shape)
    return o if order is None else {k: o[k] for k in order}


def main():
    out = sys.stdout.buffer.write
    cache = {}
    with open(sys.argv[1], "rb") as f:
        for line in f:
            o = loads(line)
            if o["status"] >= 500:
                out(dumps(canonical(o, cache), option=NL))


if __name__ == "__main__":
    main()
