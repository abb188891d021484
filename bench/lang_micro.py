"""Micro-benchmark of the script language (not a test): per-event cost against plain Python.

    .venv/bin/python bench/lang_micro.py [N]

Runs a typical filter and a typical 5-statement exec over N (default 100k) events, each next to
a hand-written Python function doing the same work, and prints µs/event and the ratio
(target: within 2x).  Also times the T2 pseudonymisation script when `pseudonym` is available.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from kelora.context import RunContext, Scope  # noqa: E402
from kelora.lang import compile_script  # noqa: E402


def make_events(n: int) -> list[dict]:
    paths = ["/api/users", "/static/app.js", "/api/orders", "/health"]
    levels = ["INFO", "WARN", "ERROR", "DEBUG"]
    return [
        {"ts": "2024-01-01T00:00:00Z", "status": 200 + (i * 37) % 400, "path": paths[i % 4],
         "level": levels[i % 4], "user_email": f"user{i % 500}@example.com", "bytes": i * 13 % 9000,
         "msg": "request done"}
        for i in range(n)
    ]


FILTER = 'e.status >= 500 && e.path.contains("/api") || e.level == "ERROR"'


def py_filter(e: dict) -> bool:
    status = e.get("status")
    path = e.get("path")
    return (type(status) is int and status >= 500 and "/api" in path) or e.get("level") == "ERROR"


EXEC = ('e.kb = e.bytes / 1024; e.slow = e.status >= 500; e.area = if e.path.contains("/api") '
        '{ "api" } else { "web" }; e.msg = (); let n = e.level.len(); e.n = n')


def py_exec(e: dict, vars: dict) -> None:
    e["kb"] = e["bytes"] // 1024
    e["slow"] = e["status"] >= 500
    e["area"] = "api" if "/api" in e["path"] else "web"
    e.pop("msg", None)
    n = len(e["level"])
    vars["n"] = n
    e["n"] = n


def bench(label, run_script, run_python, events) -> None:
    def timed(fn):
        best = float("inf")
        for _ in range(3):
            evs = [dict(e) for e in events]
            t0 = time.perf_counter()
            fn(evs)
            best = min(best, time.perf_counter() - t0)
        return best / len(events) * 1e6

    s_us = timed(run_script)
    p_us = timed(run_python)
    print(f"{label:<10} script {s_us:6.2f} µs/event   python {p_us:6.2f} µs/event   ratio {s_us / p_us:4.2f}x")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    events = make_events(n)
    ctx = RunContext(env={"KELORA_SECRET": "bench-secret-bench-secret"})
    meta = {"line": "", "line_num": 1}

    filt = compile_script(FILTER, label="filter", mode="expression", stage="filter")
    ex = compile_script(EXEC, label="exec script 1")

    def script_filter(evs):
        run = filt.run
        s = Scope(None, meta, ctx)
        for e in evs:
            s.e = e
            run(s)

    def python_filter(evs):
        s = Scope(None, meta, ctx)
        for e in evs:
            s.e = e
            py_filter(s.e)

    def script_exec(evs):
        run = ex.run
        for e in evs:
            run(Scope(e, meta, ctx))

    def python_exec(evs):
        for e in evs:
            s = Scope(e, meta, ctx)
            py_exec(s.e, s.vars)

    bench("filter", script_filter, python_filter, events)
    bench("exec", script_exec, python_exec, events)

    try:
        from kelora.builtins.registry import lookup

        pseudo = lookup("pseudonym")
    except Exception:  # noqa: BLE001 - optional part of the benchmark
        pseudo = None
    if pseudo is None:
        print("T2        (pseudonym not available)")
        return
    t2 = compile_script('e.user_id = pseudonym(e.user_email, "users"); e.user_email = ()', label="exec script 1")
    fn = pseudo.func

    def script_t2(evs):
        run = t2.run
        for e in evs:
            run(Scope(e, meta, ctx))

    def python_t2(evs):
        for e in evs:
            s = Scope(e, meta, ctx)
            ev = s.e
            ev["user_id"] = fn(ctx, ev.get("user_email"), "users") if pseudo.pass_context else fn(ev.get("user_email"), "users")
            ev.pop("user_email", None)

    bench("T2", script_t2, python_t2, events[: max(1, n // 5)])


if __name__ == "__main__":
    main()
