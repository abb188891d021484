"""T6 ceiling: the PII leak gate written by hand, in one pass, without kelora's pipeline.

    python bench/pii_ceiling.py FILE      # prints the findings per (field path, kind); exit 1 if any

The least a Python program doing the same job has to do: read each line, parse it with orjson,
walk every string (and 13+ digit integer) with its field path, look for the same kinds with the
same detector (``kelora.privacy.pii_patterns.find``, including its per-string result cache),
and count findings with their first three line numbers.  kelora's ``--scan-pii`` is measured
against this in ``make bench`` (T6): the ratio is what kelora's reading, event model, output
selection and reporting cost on top of the detection itself.  The detector's own speed is the
absolute events/s figure.
"""
import sys

import orjson

from kelora.privacy.pii_patterns import TIMESTAMP, find

CACHE_LIMIT = 200_000


def main(path: str) -> int:
    findings: dict = {}
    cache: dict = {}

    def text(s: str, where: str, n: int) -> None:
        found = cache.get(s)
        if found is None:
            found = find(s)
            if found is not TIMESTAMP:
                if len(cache) >= CACHE_LIMIT:
                    cache.clear()
                cache[s] = found
        for kind, _, _ in found:
            entry = findings.get((where, kind))
            if entry is None:
                findings[(where, kind)] = [1, [n]]
            else:
                entry[0] += 1
                if len(entry[1]) < 3:
                    entry[1].append(n)

    def walk(v, where: str, n: int) -> None:
        t = type(v)
        if t is str:
            if len(v) >= 7:
                text(v, where, n)
        elif t is dict:
            for k, x in v.items():
                walk(x, f"{where}.{k}", n)
        elif t is list:
            for x in v:
                walk(x, where + "[]", n)
        elif t is int and abs(v) > 999_999_999_999:
            text(str(v), where, n)

    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            event = orjson.loads(line)
            for k, v in event.items():
                t = type(v)
                if t is str:
                    if len(v) >= 7:
                        text(v, k, n)
                elif t is dict or t is list or t is int:
                    walk(v, k, n)
    for (where, kind), (count, lines) in sorted(findings.items()):
        print(f"{where}\t{kind}\t{count}\t{','.join(map(str, lines))}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
