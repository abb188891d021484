#!/usr/bin/env python3
"""Instructions and first-level cache misses per event, today's kelora against kelora before the
second wave, counted by valgrind's cachegrind: `make bench-count`.

Wall and CPU times on this shared 2-core host move by 10-40 % from one run to the next, so
"no task slower than before" cannot be read from `make bench` alone when the true difference is
a few per cent.  cachegrind counts what the program does (the same number on every run, however
busy the machine): each task runs on the first N and the first 3N events of the benchmark file,
and the difference divided by 2N is the cost per event; the run on N events minus N times that
is the fixed cost (start-up).  Cache misses come from cachegrind's simulated caches (32 KiB L1).
An instruction count is not a time, but a per-event count that is lower on both counts (and a
lower fixed cost) is a program that is not slower.

Environment: COUNT_EVENTS (N, default 10000), COUNT_TASKS (e.g. "T0,T2"), BENCH_BASELINE (as
run_bench.py), COUNT_JOBS (valgrind runs at once, default 2).  Needs valgrind.
"""
from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench as rb  # noqa: E402  (the tasks, the baseline export, the data)

N = int(os.environ.get("COUNT_EVENTS", "10000"))
JOBS = int(os.environ.get("COUNT_JOBS", "2"))
FIELDS = {"I   refs": "ir", "D1  misses": "d1"}


def count(argv: list[str], env: dict) -> dict:
    """Instructions and L1 data misses of one whole run under cachegrind."""
    if argv[0] == "env":  # (the baseline's command sets PYTHONPATH through env(1): valgrind would count env)
        argv = argv[1:]
        env = dict(env)
        while "=" in argv[0]:
            name, value = argv.pop(0).split("=", 1)
            env[name] = value
    proc = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=yes", "--cachegrind-out-file=/dev/null",
                           *argv], capture_output=True, env=env)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr.decode(errors='replace')[-2000:]}")
    out: dict = {}
    for line in proc.stderr.decode(errors="replace").splitlines():
        for label, key in FIELDS.items():
            m = re.search(re.escape(label) + r":\s+([\d,]+)", line)
            if m:
                out[key] = int(m.group(1).replace(",", ""))
    if set(out) != set(FIELDS.values()):
        raise SystemExit(f"no cachegrind summary for: {' '.join(argv)}\n{proc.stderr.decode(errors='replace')[-2000:]}")
    return out


def main() -> int:
    if shutil.which("valgrind") is None:
        print("bench-count: valgrind is not installed", file=sys.stderr)
        return 1
    tasks = [t for t in os.environ.get("COUNT_TASKS", "T0,T1,T2,T3,T4,T5").split(",") if t]
    base = rb.baseline_kelora(rb.BASELINE)
    if base is None:
        return 1
    now = [rb.PY, "-m", "kelora"]
    src = rb.ensure_data("100k")
    tmp = tempfile.mkdtemp(prefix="kelora-count-")
    files = {}
    with open(src, "rb") as f:
        lines = [f.readline() for _ in range(3 * N)]
    for n in (N, 3 * N):
        files[n] = os.path.join(tmp, f"events_{n}.jsonl")
        with open(files[n], "wb") as out:
            out.writelines(lines[:n])
    env = dict(os.environ, KELORA_SECRET=rb.SECRET)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(JOBS) as pool:
        for task in tasks:
            args = rb.TASKS[task][1]
            for who, cmd in (("before", base), ("now", now)):
                for n, path in files.items():
                    jobs[task, who, n] = pool.submit(count, cmd + ["-j", path] + args, env)
        results = {k: f.result() for k, f in jobs.items()}
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"Per event: (count on {3 * N:,} events - count on {N:,}) / {2 * N:,}; fixed: the count on {N:,} "
          f"events minus {N:,} per-event costs. before = {rb.BASELINE}.\n")
    print("| task | instructions/event before | now | ratio | L1 misses/event before | now | "
          "fixed instructions before (M) | now (M) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for task in tasks:
        row = {}
        for who in ("before", "now"):
            small, big = results[task, who, N], results[task, who, 3 * N]
            per = {k: (big[k] - small[k]) / (2 * N) for k in ("ir", "d1")}
            row[who] = (per, (small["ir"] - N * per["ir"]) / 1e6)
        (pb, fb), (pn, fn) = row["before"], row["now"]
        print(f"| {task} {rb.TASKS[task][0]} | {pb['ir']:,.0f} | {pn['ir']:,.0f} | {pn['ir'] / pb['ir']:.3f} | "
              f"{pb['d1']:.0f} | {pn['d1']:.0f} | {fb:,.0f} | {fn:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
