"""`make bench`: kelora against the hand-written Python+orjson ceiling, jq and Miller.

    .venv/bin/python bench/run_bench.py            # 1M events (minutes), writes docs/benchmarks.md
    BENCH_SIZE=100k .venv/bin/python bench/run_bench.py   # quick mode: 100k events, fewer runs

Method (as in shared/bench/RESULTS.md): every figure is a whole process (start-up included),
input from a file argument, stdout to /dev/null.  kelora and the ceiling script of the same task
run alternately (A B A B ...) after one warm-up pair; "ratio" is kelora's throughput over the
ceiling's, the median of the pair-by-pair ratios (robust when the machine's speed drifts).
Peak RSS is each child's own ``ru_maxrss`` (``os.wait4``).  Both sides get
``KELORA_SECRET=kelora-bench-secret``.

Each task also runs its *fair* ceiling (FAIR: kelora's actual job, canonical key order and a
token memo, byte-identical output) in the same rotation; the targets are against it.

Environment knobs: BENCH_SIZE (1m | 100k), BENCH_REPS (rounds per task), BENCH_JQ_REPS,
BENCH_TASKS (e.g. "T0,T2"), BENCH_REF (the shared/bench directory), BENCH_NO_DOC=1 (print only),
BENCH_PARALLEL=0 / BENCH_WITH_STATS=0 / BENCH_DASK=0 (skip those sections), BENCH_BASELINE (a git revision of kelora
run in the same rotation, "none" to skip; default: the last commit before the second wave of work,
so every task is compared with kelora as it was before the restructure).
The data (``bench/data/``, git-ignored) is generated on first use with the shared generator.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench", "data")
REF = os.environ.get("BENCH_REF") or os.path.join(os.path.dirname(ROOT), "shared", "bench")
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
PY = os.path.join(ROOT, ".venv", "bin", "python")
if not os.path.exists(PY):
    PY = sys.executable
KELORA = [PY, "-m", "kelora"]
if os.path.exists(os.path.join(ROOT, ".venv", "bin", "kelora")):
    KELORA = [os.path.join(ROOT, ".venv", "bin", "kelora")]
SECRET = "kelora-bench-secret"
TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
SIZES = {"1m": 1_000_000, "100k": 100_000}

T2_SCRIPT = ["-e", 'e.user_id = pseudonym(e.user_email, "users")',
             "-e", 'e.session_id = pseudonym(e.session_token, "sessions")',
             "-e", "e.user_email = (); e.session_token = ()"]
TASKS = {
    # name: (title, kelora args before/after FILE, target ratio, jq program + flags, miller verb)
    "T0": ("passthrough", ["-F", "json"], 0.85, (["-c"], "."),
           ["--ijson", "--ojsonl", "cat"]),
    "T1": ("filter status >= 500", ["--filter", "e.status >= 500", "-F", "json"], 0.85,
           (["-c"], "select(.status >= 500)"),
           ["--ijson", "--ojsonl", "filter", "$status >= 500"]),
    "T2": ("pseudonymize (headline)", T2_SCRIPT + ["-F", "json"], 0.80,
           (["-c"], '.user_id = ("users" + .user_email | @base64 | .[0:24])'
                    ' | .session_id = ("sessions" + .session_token | @base64 | .[0:24])'
                    ' | del(.user_email, .session_token)'),
           None),
    "T3": ("unique users", ["-e", 'track_unique("users", pseudonym(e.user_email, "users"))', "-m"], 0.80,
           (["-n"], 'reduce inputs as $e ({}; .["users" + $e.user_email | @base64] = 1) | length'),
           None),
    "T4": ("CSV export", ["-k", "timestamp,user_id,status,duration_ms", "-F", "csv"], 0.75,
           (["-r"], '[.timestamp, .user_id, .status, .duration_ms] | @csv'),
           ["--ijson", "--ocsv", "cut", "-o", "-f", "timestamp,user_id,status,duration_ms"]),
    "T5": ("scrub free text", ["-e", "e.message = normalized(e.message)", "-F", "json"], 0.50,
           None, None),
    # the PII leak gate (no jq/Miller equivalent); its ceiling lives in bench/ (CEILINGS)
    "T6": ("PII leak gate (--scan-pii)", ["--scan-pii"], 0.70, None, None),
}
# ceiling scripts that are not in the shared kit
CEILINGS = {"T5": os.path.join(ROOT, "bench", "ceiling_t5.py"),
            "T6": os.path.join(ROOT, "bench", "pii_ceiling.py")}
# The *fair* ceiling of each task: the best hand-written program for kelora's actual job (Kelora's
# canonical key order, a token memo), byte-identical output (shared/bench/RESULTS.md, "Fair
# ceilings"), and kelora's target against it (issue 17).  The plain scripts above write keys in
# input order and hash every value: less work than kelora must do.  None: the plain ceiling is
# already fair (T4: CSV has no key order; T5/T6: written for kelora's job).
FAIR = {"T0": ("ref/py_orjson_t0_canon.py", 1.10),
        "T1": (os.path.join(ROOT, "bench", "ceiling_t1_canon.py"), 0.95),
        "T2": ("ref/py_orjson_t2_canon_memo.py", 1.00),
        "T3": ("ref/py_orjson_t3_memo.py", 0.85),
        "T4": (None, 0.90)}
PARALLEL_TARGET = 1.8   # T2 --parallel --threads 2 over the fair single-core ceiling (issue 17)
DASK_TARGET = 1.4  # T2 --engine dask on a local 2-worker cluster over the fair single-core ceiling (issue 17)
WITH_STATS_TARGET = 1.15  # T1 --with-stats over T1 without, at most (issue 16)
# exit codes that are a normal end of a task: the gate exits 1 when it finds PII (it does here)
OK_CODES = {"T6": (0, 1)}
# kelora before the second wave (restructure, hardening, parity): "no task slower than before"
# (issues 13, 16, 17) is this comparison, made in the same rotation as everything else
BASELINE = os.environ.get("BENCH_BASELINE", "dc60243")
STREAMING = ("T0", "T1", "T2", "T4")  # peak RSS must not grow with the input


# --------------------------------------------------------------------------- running

def run_once(argv: list[str], env: dict | None = None, stdin=None, ok=(0,)) -> dict:
    """One whole process: wall s, cpu s, peak RSS MiB, exit code (stdout to /dev/null)."""
    # ru_maxrss of a child forked from this Python process would include the pre-exec copy of
    # this process: /usr/bin/time (a small C program) reports the command's own peak instead.
    rss_file = os.path.join(DATA, ".rss")
    timed = ([TIME, "-f", "%M", "-o", rss_file] + argv) if TIME else argv
    with open(os.devnull, "wb") as null:
        t0 = time.perf_counter()
        proc = subprocess.Popen(timed, stdout=null, stderr=subprocess.PIPE, stdin=stdin, env=env)
        err = proc.stderr.read()
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n{err.decode(errors='replace')[-2000:]}")
    rss = ru.ru_maxrss / 1024
    if TIME:
        with open(rss_file) as f:
            rss = int(f.read().split()[-1]) / 1024
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss": rss}


def paired(a: list[str], b: list[str], reps: int, warmup: bool, env: dict, ok=(0,)) -> tuple[list, list]:
    """A B A B ...: returns (runs of a, runs of b)."""
    if warmup:
        run_once(a, env, ok=ok)
        run_once(b, env, ok=ok)
    ra, rb = [], []
    for _ in range(reps):
        ra.append(run_once(a, env, ok=ok))
        rb.append(run_once(b, env, ok=ok))
    return ra, rb


def runs_ok(argv: list[str], env: dict, ok=(0,)) -> bool:
    """Whether *argv* (the baseline kelora) can do this task at all: a task added after the
    baseline (e.g. --scan-pii) has no before/after figure."""
    head = argv[:argv.index("-j") + 1] + [ten_lines()] + argv[argv.index("-j") + 2:]
    return subprocess.run(head, env=env, capture_output=True).returncode in ok


def rotated(argvs: list[list[str]], reps: int, warmup: bool, env: dict, ok=(0,)) -> list[list]:
    """A B C A B C ...: the runs of each command, in the order given."""
    if warmup:
        for argv in argvs:
            run_once(argv, env, ok=ok)
    runs: list[list] = [[] for _ in argvs]
    for _ in range(reps):
        for argv, out in zip(argvs, runs):
            out.append(run_once(argv, env, ok=ok))
    return runs


def summary(runs: list[dict], events: int) -> dict:
    wall = statistics.median(r["wall"] for r in runs)
    return {"wall": wall, "cpu": statistics.median(r["cpu"] for r in runs),
            "rss": statistics.median(r["rss"] for r in runs), "eps": events / wall, "n": len(runs)}


def cpu_ratio(tool: list[dict], base: list[dict]) -> tuple[float, float, float]:
    """As :func:`ratio`, from CPU seconds (less sensitive to other load on the machine)."""
    rs = [b["cpu"] / t["cpu"] for t, b in zip(tool, base)]
    return statistics.median(rs), min(rs), max(rs)


def ratio(tool: list[dict], ceiling: list[dict]) -> tuple[float, float, float]:
    """Throughput of *tool* over the ceiling's: median (min, max) of the pairwise ratios."""
    rs = [c["wall"] / t["wall"] for t, c in zip(tool, ceiling)]
    return statistics.median(rs), min(rs), max(rs)


# --------------------------------------------------------------------------- data

def ensure_data(size: str) -> str:
    os.makedirs(DATA, exist_ok=True)
    path = os.path.join(DATA, f"events_{size}.jsonl")
    if not os.path.exists(path):
        gen = os.path.join(REF, "gen_events.py")
        print(f"generating {path} ...", file=sys.stderr)
        tmp = path + ".tmp"
        with open(tmp, "wb") as out:
            subprocess.run([sys.executable, gen, str(SIZES[size])], stdout=out, check=True)
        os.replace(tmp, path)
    return path


def count_lines(path: str) -> int:
    with open(path, "rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))


def baseline_kelora(rev: str) -> list[str] | None:
    """The command that runs kelora at git revision *rev*: its source exported (git archive) under
    bench/data/ and run with this checkout's interpreter and dependencies."""
    if not rev or rev.lower() == "none":
        return None
    full = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", rev + "^{commit}"],
                          capture_output=True, text=True)
    if full.returncode != 0:
        print(f"bench: baseline revision {rev!r} not found; the before/after table is skipped", file=sys.stderr)
        return None
    short = full.stdout.strip()
    dest = os.path.join(DATA, f"baseline-{short}")
    if not os.path.isdir(os.path.join(dest, "kelora")):
        tmp = dest + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        archive = subprocess.run(["git", "-C", ROOT, "archive", "--format=tar", short], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        os.replace(tmp, dest)
    # env(1) sets PYTHONPATH for that command only: the exported kelora wins over the editable install
    # (-P: the current folder, maybe this checkout, does not come before PYTHONPATH)
    return ["env", f"PYTHONPATH={dest}", PY, "-P", "-m", "kelora"]


# --------------------------------------------------------------------------- facts

def machine_line() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
            if m:
                cpu = m.group(1).strip()
    except OSError:
        pass
    ram = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
            ram = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    osname = platform.system()
    try:
        with open("/etc/os-release") as f:
            m = re.search(r'^PRETTY_NAME="?([^"\n]+)', f.read(), re.M)
            if m:
                osname = m.group(1)
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {ram} RAM, {osname}, Linux {platform.release()}"


def versions() -> str:
    def out(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    py = out([PY, "-c", "import sys, orjson; print(sys.version.split()[0], orjson.__version__)"]).split()
    kel = out(KELORA + ["--version"])
    commit = out(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = out(["git", "-C", ROOT, "status", "--porcelain", "--", "kelora"])
    jq = out(["jq", "--version"]) if shutil.which("jq") else "jq not installed"
    mlr = out(["mlr", "--version"]) if shutil.which("mlr") else "Miller not installed"
    parts = [f"{kel} (commit {commit}{' + local changes' if dirty else ''})"]
    if len(py) == 2:
        parts.append(f"CPython {py[0]}, orjson {py[1]}")
    return ", ".join(parts + [jq, mlr])


# --------------------------------------------------------------------------- the benchmark

def bench_tasks(size: str, path: str, events: int, reps: int, jq_reps: int, tasks: list[str],
                base: list[str] | None = None) -> dict:
    env = dict(os.environ, KELORA_SECRET=SECRET)
    results = {}
    for name in tasks:
        title, args, target, jq_prog, mlr_args = TASKS[name]
        ref = [PY, CEILINGS.get(name) or os.path.join(REF, "ref", f"py_orjson_{name.lower()}.py"), path]
        kel = KELORA + ["-j", path] + args
        ok = OK_CODES.get(name, (0,))
        fair_script, fair_target = FAIR.get(name, (None, None))
        fair = [PY, fair_script if os.path.isabs(fair_script) else os.path.join(REF, fair_script), path] if fair_script else None
        print(f"{name} {title}: kelora vs ceiling{' vs fair ceiling' if fair else ''}, {reps} rounds ...",
              file=sys.stderr, flush=True)
        before = base + ["-j", path] + args if base and runs_ok(base + ["-j", path] + args, env, ok) else None
        runs = rotated([kel, ref] + ([fair] if fair else []) + ([before] if before else []), reps, True, env, ok)
        rk, rc = runs[0], runs[1]
        row = {"title": title, "target": target, "kelora": summary(rk, events), "ceiling": summary(rc, events),
               "ratio": ratio(rk, rc), "fair_target": fair_target}
        if fair:
            row["fair"] = summary(runs[2], events)
            row["fair_ratio"] = ratio(rk, runs[2])
        if before:
            row["before"] = summary(runs[-1], events)
            row["vs_before"] = ratio(rk, runs[-1])
            row["vs_before_cpu"] = cpu_ratio(rk, runs[-1])
        if jq_reps and jq_prog is not None and shutil.which("jq"):
            flags, prog = jq_prog
            print(f"{name}: jq vs ceiling, {jq_reps} pairs ...", file=sys.stderr, flush=True)
            rj, rc2 = paired(["jq"] + flags + [prog, path], ref, jq_reps, False, env)
            row["jq"] = summary(rj, events)
            row["jq_ratio"] = ratio(rj, rc2)
        if jq_reps and mlr_args and shutil.which("mlr"):
            rm, rc3 = paired(["mlr"] + mlr_args + [path], ref, jq_reps, False, env)
            row["mlr"] = summary(rm, events)
            row["mlr_ratio"] = ratio(rm, rc3)
        row["has_mlr"] = mlr_args is not None
        results[name] = row
        k = row["kelora"]
        print(f"  kelora {k['wall']:.2f}s {k['eps']:,.0f} ev/s rss {k['rss']:.0f} MiB; "
              f"ceiling {row['ceiling']['wall']:.2f}s; ratio {row['ratio'][0]:.2f}"
              + (f"; fair {row['fair']['wall']:.2f}s, ratio {row['fair_ratio'][0]:.2f}" if "fair" in row else ""),
              file=sys.stderr, flush=True)
    return results


def bench_rss_small(tasks: list[str]) -> dict:
    """Peak RSS of kelora on the 100k file (compared with the big run: streaming must not grow)."""
    env = dict(os.environ, KELORA_SECRET=SECRET)
    path = ensure_data("100k")
    out = {}
    for name in tasks:
        runs = [run_once(KELORA + ["-j", path] + TASKS[name][1], env) for _ in range(2)]
        out[name] = statistics.median(r["rss"] for r in runs)
    return out


def bench_parallel_t6(path: str, events: int, reps: int) -> dict:
    """--scan-pii with --parallel --threads 2 vs one process (it should scale as T2 does)."""
    env = dict(os.environ, KELORA_SECRET=SECRET)
    single = KELORA + ["-j", path] + TASKS["T6"][1]
    par = KELORA + ["-j", path, "--parallel", "--threads", "2"] + TASKS["T6"][1]
    print(f"T6 --parallel --threads 2 vs single process, {reps} pairs ...", file=sys.stderr, flush=True)
    rp, rs = paired(par, single, reps, True, env, OK_CODES["T6"])
    return {"single": summary(rs, events), "parallel": summary(rp, events), "speedup": ratio(rp, rs)}


def bench_parallel(path: str, events: int, reps: int) -> dict:
    """T2 with --parallel --threads 2, against one kelora process and the fair single-core
    ceiling (target: PARALLEL_TARGET times its throughput)."""
    env = dict(os.environ, KELORA_SECRET=SECRET)
    single = KELORA + ["-j", path] + TASKS["T2"][1]
    par = KELORA + ["-j", path, "--parallel", "--threads", "2"] + TASKS["T2"][1]
    big = par[:-len(TASKS["T2"][1])] + ["--batch-size", "5000"] + TASKS["T2"][1]
    fair = [PY, os.path.join(REF, FAIR["T2"][0]), path]
    print(f"T2 --parallel --threads 2 (default and --batch-size 5000) vs single process vs fair ceiling, "
          f"{reps} rounds ...", file=sys.stderr, flush=True)
    rp, rs, rc, rb = rotated([par, single, fair, big], reps, True, env)
    return {"single": summary(rs, events), "parallel": summary(rp, events), "speedup": ratio(rp, rs),
            "fair": summary(rc, events), "fair_ratio": ratio(rp, rc),
            "parallel_5000": summary(rb, events), "speedup_5000": ratio(rb, rs), "fair_ratio_5000": ratio(rb, rc)}


def bench_dask(path: str, events: int, reps: int) -> dict | None:
    """T2 on Dask with 2 worker processes, against one kelora process and the fair single-core
    ceiling (target: DASK_TARGET times its throughput), two ways: ``--engine dask --threads 2``
    (kelora starts its own local cluster in every run: the start-up is in the figure, as a user
    of that command pays it), and ``--scheduler`` to a local 2-worker cluster that is already
    running (this process holds its scheduler; results fetched straight from the workers, as
    docs/dask.md describes).  None when Dask is not installed (the optional extra)."""
    env = dict(os.environ, KELORA_SECRET=SECRET)
    try:
        import logging

        from distributed import LocalCluster
    except ImportError:
        print("T2 --engine dask: skipped (Dask is not installed: pip install 'kelora[dask]')", file=sys.stderr)
        return None
    single = KELORA + ["-j", path] + TASKS["T2"][1]
    own = KELORA + ["-j", path, "--engine", "dask", "--threads", "2"] + TASKS["T2"][1]
    fair = [PY, os.path.join(REF, FAIR["T2"][0]), path]
    print(f"T2 --engine dask (own cluster, running cluster) vs single process vs fair ceiling, {reps} rounds ...",
          file=sys.stderr, flush=True)
    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                           dashboard_address=None, silence_logs=logging.CRITICAL, env={"KELORA_SECRET": SECRET})
    try:
        running = own[:own.index("--threads")] + ["--scheduler", cluster.scheduler_address] + TASKS["T2"][1]
        env["DASK_DISTRIBUTED__CLIENT__DIRECT_TO_WORKERS"] = "True"  # only read with --scheduler
        ro, rr, rs, rc = rotated([own, running, single, fair], reps, True, env)
    finally:
        cluster.close()
    return {"single": summary(rs, events), "dask": summary(ro, events), "speedup": ratio(ro, rs),
            "fair": summary(rc, events), "fair_ratio": ratio(ro, rc),
            "running": summary(rr, events), "running_fair_ratio": ratio(rr, rc), "running_speedup": ratio(rr, rs)}


def bench_with_stats(path: str, events: int, reps: int) -> dict:
    """T1 with --with-stats against T1 without (issue 16: at most WITH_STATS_TARGET), and in the
    same rotation the hand-written T1 ceiling with its stats (bench/ceiling_t1_stats.py) against
    the plain one: what the same stats cost a Python program that does nothing else."""
    env = dict(os.environ, KELORA_SECRET=SECRET)
    plain = KELORA + ["-j", path] + TASKS["T1"][1]
    stats = plain + ["--with-stats"]
    ceiling = [PY, os.path.join(ROOT, "bench", "ceiling_t1_canon.py"), path]
    ceiling_stats = [PY, os.path.join(ROOT, "bench", "ceiling_t1_stats.py"), path]
    print(f"T1 --with-stats vs T1, and the T1 ceiling with and without its stats, {reps} rounds ...",
          file=sys.stderr, flush=True)
    rs, rp, cs, cp = rotated([stats, plain, ceiling_stats, ceiling], reps, True, env)

    def cost(with_, without, key="wall"):
        rs_ = [a[key] / b[key] for a, b in zip(with_, without)]
        return statistics.median(rs_), min(rs_), max(rs_)

    return {"plain": summary(rp, events), "stats": summary(rs, events), "cost": cost(rs, rp),
            "cpu_cost": cost(rs, rp, "cpu"), "ceiling": summary(cp, events),
            "ceiling_stats": summary(cs, events), "ceiling_cost": cost(cs, cp),
            "ceiling_cpu_cost": cost(cs, cp, "cpu")}


def ten_lines() -> str:
    ten = os.path.join(DATA, "events_10.jsonl")
    if not os.path.exists(ten):
        with open(ensure_data("100k"), "rb") as src, open(ten, "wb") as dst:
            for _ in range(10):
                dst.write(src.readline())
    return ten


def bench_startup(reps: int) -> dict:
    ten = ten_lines()
    env = dict(os.environ, KELORA_SECRET=SECRET)
    cases = {
        "python -c pass": [PY, "-c", "pass"],
        "kelora --version": KELORA + ["--version"],
        "kelora -j 10 lines -F json": KELORA + ["-j", ten, "-F", "json"],
        "kelora -j 10 lines --filter 'e.status >= 500'": KELORA + ["-j", ten, "--filter", "e.status >= 500", "-F", "json"],
        "kelora -j 10 lines, T2 script (Argon2id)": KELORA + ["-j", ten] + TASKS["T2"][1],
    }
    out = {}
    for label, argv in cases.items():
        run_once(argv, env)
        runs = [run_once(argv, env) for _ in range(reps)]
        out[label] = {"wall": statistics.median(r["wall"] for r in runs), "rss": statistics.median(r["rss"] for r in runs)}
    return out


# --------------------------------------------------------------------------- report

def fmt_ratio(r) -> str:
    return f"{r[0]:.2f} ({r[1]:.2f}–{r[2]:.2f})"


def render(meta: dict, res: dict, rss_small: dict, par: dict | None, start: dict, par6: dict | None = None,
           wstats: dict | None = None, dask: dict | None = None) -> str:
    size = meta["size"]
    lines = [
        f"Measured {meta['date']} with `make bench` (BENCH_SIZE={size}, {meta['reps']} rounds per task after "
        f"one warm-up round (kelora, plain ceiling, fair ceiling in turn); jq {meta['jq_reps']} pairs).",
        "",
        f"**Machine:** {meta['machine']}.",
        "",
        f"**Versions:** {meta['versions']}.",
        "",
        f"**Input:** `bench/data/events_{size}.jsonl`, {meta['events']:,} events, {meta['bytes']:,} bytes.",
        "",
        "### Against the fair ceilings (one core): the targets",
        "",
        "The **fair** ceiling is the best hand-written Python+orjson program for kelora's actual job: "
        "Kelora's canonical key order (timestamp-, level-, message-family keys first) and a per-value "
        "token memo, output byte-identical to kelora's (`ref/py_orjson_t0_canon.py`, "
        "`bench/ceiling_t1_canon.py`, `ref/py_orjson_t2_canon_memo.py`, `ref/py_orjson_t3_memo.py`; T4's "
        "plain ceiling is already fair). These ratios are the ones that say how close kelora is to the "
        "limit. ratio = kelora's throughput / the ceiling's: median of the round-by-round wall ratios "
        "(min–max); cpu s are medians too (less sensitive to a loaded machine).",
        "",
        "| task | kelora wall s | kelora cpu s | fair ceiling | ceiling wall s | ceiling cpu s | ratio vs fair | target | met |",
        "|---|---:|---:|---|---:|---:|---:|---:|:---:|",
    ]
    for name, row in res.items():
        k, target = row["kelora"], row.get("fair_target")
        if target is None:
            continue
        fair, fr = (row["fair"], row["fair_ratio"]) if "fair" in row else (row["ceiling"], row["ratio"])
        script = os.path.basename(FAIR[name][0]) if FAIR[name][0] else f"{os.path.basename(CEILINGS.get(name) or f'py_orjson_{name.lower()}.py')} (plain = fair)"
        met = "yes" if fr[0] >= target else "**no**"
        lines.append(f"| {name} {row['title']} | {k['wall']:.2f} | {k['cpu']:.2f} | `{script}` | {fair['wall']:.2f} | "
                     f"{fair['cpu']:.2f} | **{fmt_ratio(fr)}** | ≥ {target:.2f} | {met} |")
    lines += [
        "",
        "### Against the plain ceilings (one core)",
        "",
        "The plain scripts (`ref/py_orjson_t*.py`) write keys in input order and hash every value: less "
        "work than kelora's job, so this ratio understates kelora (kept for continuity with earlier runs). "
        "jq/Miller rows give their own ratio to the plain ceiling.",
        "",
        "| task | tool | wall s | events/s | peak RSS MiB | cpu s | ratio vs plain ceiling | target | met |",
        "|---|---|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for name, row in res.items():
        k, c = row["kelora"], row["ceiling"]
        met = "yes" if row["ratio"][0] >= row["target"] else "**no**"
        lines.append(f"| {name} {row['title']} | **kelora** | {k['wall']:.2f} | {k['eps']:,.0f} | {k['rss']:.0f} | "
                     f"{k['cpu']:.2f} | **{fmt_ratio(row['ratio'])}** | ≥ {row['target']:.2f} | {met} |")
        lines.append(f"| {name} | Python+orjson ceiling | {c['wall']:.2f} | {c['eps']:,.0f} | {c['rss']:.0f} | "
                     f"{c['cpu']:.2f} | 1.00 | | |")
        for tool, key in (("jq", "jq"), ("Miller", "mlr")):
            if key in row:
                j = row[key]
                faster = "kelora faster" if k["wall"] < j["wall"] else "**jq faster**"
                lines.append(f"| {name} | {tool} | {j['wall']:.2f} | {j['eps']:,.0f} | {j['rss']:.0f} | {j['cpu']:.2f} | "
                             f"{fmt_ratio(row[key + '_ratio'])} | | {faster} |")
        if "mlr" not in row and row.get("has_mlr", True):
            lines.append(f"| {name} | Miller | — | — | — | — | not installed | | |")
    befores = {n: r for n, r in res.items() if "before" in r}
    if befores:
        lines += ["", f"### Against kelora before the second wave (commit {meta.get('baseline', '?')})", "",
                  "The same task run by kelora as it was before the restructure, hardening and parity work "
                  "(`BENCH_BASELINE`, exported from git and run in the same rotation). ratio = today's "
                  "throughput / the baseline's, from wall and from CPU seconds (round by round, median "
                  "(min–max)); ≥ 1.00 means not slower (a spread that straddles 1.00 is a tie within noise).",
                  "", "| task | today wall s | today cpu s | before wall s | before cpu s | ratio (wall) | ratio (cpu) |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for name, row in befores.items():
            k, b = row["kelora"], row["before"]
            lines.append(f"| {name} {row['title']} | {k['wall']:.2f} | {k['cpu']:.2f} | {b['wall']:.2f} | "
                         f"{b['cpu']:.2f} | **{fmt_ratio(row['vs_before'])}** | {fmt_ratio(row['vs_before_cpu'])} |")
    lines += ["", "### Memory: peak RSS of kelora, 100k vs 1M events (streaming tasks must not grow)", ""]
    if rss_small:
        lines += ["| task | 100k MiB | " + f"{size} MiB | growth |", "|---|---:|---:|---:|"]
        for name, small in rss_small.items():
            big = res[name]["kelora"]["rss"] if name in res else float("nan")
            lines.append(f"| {name} | {small:.0f} | {big:.0f} | {big - small:+.0f} MiB |")
    else:
        lines.append("(quick mode: run `make bench` at 1M for this table)")
    if par:
        s, p, f = par["single"], par["parallel"], par["fair"]
        met = "yes" if par["fair_ratio"][0] >= PARALLEL_TARGET else "**no**"
        lines += ["", "### T2 with `--parallel --threads 2` (2 cores)", "",
                  "| mode | wall s | events/s | peak RSS MiB | cpu s |", "|---|---:|---:|---:|---:|",
                  f"| fair single-core ceiling (`py_orjson_t2_canon_memo.py`) | {f['wall']:.2f} | {f['eps']:,.0f} | {f['rss']:.0f} | {f['cpu']:.2f} |",
                  f"| kelora, single process | {s['wall']:.2f} | {s['eps']:,.0f} | {s['rss']:.0f} | {s['cpu']:.2f} |",
                  f"| kelora --parallel --threads 2 | {p['wall']:.2f} | {p['eps']:,.0f} | {p['rss']:.0f} | {p['cpu']:.2f} |"]
        b = par["parallel_5000"]
        lines.append(f"| kelora --parallel --threads 2 --batch-size 5000 | {b['wall']:.2f} | {b['eps']:,.0f} | "
                     f"{b['rss']:.0f} | {b['cpu']:.2f} |")
        lines += ["", f"Throughput over the fair single-core ceiling (median of round-by-round wall ratios): default "
                      f"batch size **{fmt_ratio(par['fair_ratio'])}**, target ≥ {PARALLEL_TARGET}: {met}; "
                      f"--batch-size 5000: **{fmt_ratio(par['fair_ratio_5000'])}**. Over the single kelora process: "
                      f"{fmt_ratio(par['speedup'])} (--batch-size 5000: {fmt_ratio(par['speedup_5000'])})."]
    if dask:
        s, d, f, r = dask["single"], dask["dask"], dask["fair"], dask["running"]
        met = "yes" if dask["fair_ratio"][0] >= DASK_TARGET else "**no**"
        met_r = "yes" if dask["running_fair_ratio"][0] >= DASK_TARGET else "**no**"
        lines += ["", "### T2 on Dask with 2 worker processes (2 cores)", "",
                  "`--engine dask --threads 2` starts a local cluster in every run: its start-up and shutdown "
                  "(worker processes that import Dask and kelora, derive the key, compile the scripts) are in "
                  "the figure. `--scheduler` sends the same run to a local 2-worker cluster that is already "
                  "running (results fetched from the workers directly, docs/dask.md). The driver cuts the file, "
                  "the workers `pread` their byte ranges and send back formatted output. cpu s is the driver's "
                  "(with its own cluster's workers, which it starts and reaps; without the running cluster's).", "",
                  "| mode | wall s | events/s | peak RSS MiB | cpu s | ratio vs fair | target | met |",
                  "|---|---:|---:|---:|---:|---:|---:|:---:|",
                  f"| fair single-core ceiling (`py_orjson_t2_canon_memo.py`) | {f['wall']:.2f} | {f['eps']:,.0f} | {f['rss']:.0f} | {f['cpu']:.2f} | 1.00 | | |",
                  f"| kelora, single process | {s['wall']:.2f} | {s['eps']:,.0f} | {s['rss']:.0f} | {s['cpu']:.2f} | | | |",
                  f"| kelora --engine dask --threads 2 (own cluster) | {d['wall']:.2f} | {d['eps']:,.0f} | {d['rss']:.0f} | "
                  f"{d['cpu']:.2f} | **{fmt_ratio(dask['fair_ratio'])}** | ≥ {DASK_TARGET} | {met} |",
                  f"| kelora --engine dask --scheduler (running 2-worker cluster) | {r['wall']:.2f} | {r['eps']:,.0f} | "
                  f"{r['rss']:.0f} | {r['cpu']:.2f} | **{fmt_ratio(dask['running_fair_ratio'])}** | ≥ {DASK_TARGET} | {met_r} |",
                  "", f"Over the single kelora process: own cluster {fmt_ratio(dask['speedup'])}, running cluster "
                      f"{fmt_ratio(dask['running_speedup'])} (medians of round-by-round wall ratios)."]
    if wstats:
        p, w = wstats["plain"], wstats["stats"]
        met = "yes" if wstats["cost"][0] <= WITH_STATS_TARGET else "**no**"
        lines += ["", "### T1 with `--with-stats`", "",
                  "| mode | wall s | events/s | cpu s |", "|---|---:|---:|---:|",
                  f"| T1 | {p['wall']:.2f} | {p['eps']:,.0f} | {p['cpu']:.2f} |",
                  f"| T1 --with-stats | {w['wall']:.2f} | {w['eps']:,.0f} | {w['cpu']:.2f} |",
                  "", f"Cost of the stats (time with / without, median of round-by-round ratios): wall "
                      f"**{fmt_ratio(wstats['cost'])}**, cpu {fmt_ratio(wstats['cpu_cost'])}; target ≤ "
                      f"{WITH_STATS_TARGET:.2f}: {met}."]
        if "ceiling_cost" in wstats:
            c, cs = wstats["ceiling"], wstats["ceiling_stats"]
            lines += ["", "The same stats in the hand-written T1 ceiling, in the same rotation "
                          "(`ceiling_t1_stats.py` against `ceiling_t1_canon.py`: the same output and stats "
                          "lines as kelora, observing 64 events at a time with one C call each, and trusting "
                          "the data's keys and timestamp layout where kelora checks every value):", "",
                      "| mode | wall s | events/s | cpu s |", "|---|---:|---:|---:|",
                      f"| ceiling | {c['wall']:.2f} | {c['eps']:,.0f} | {c['cpu']:.2f} |",
                      f"| ceiling with stats | {cs['wall']:.2f} | {cs['eps']:,.0f} | {cs['cpu']:.2f} |",
                      "", f"Its cost of the stats: wall **{fmt_ratio(wstats['ceiling_cost'])}**, cpu "
                          f"{fmt_ratio(wstats['ceiling_cpu_cost'])}."]
    if par6:
        s, p = par6["single"], par6["parallel"]
        lines += ["", "### T6 (`--scan-pii`) with `--parallel --threads 2` (2 cores)", "",
                  "| mode | wall s | events/s | peak RSS MiB | cpu s |", "|---|---:|---:|---:|---:|",
                  f"| single process | {s['wall']:.2f} | {s['eps']:,.0f} | {s['rss']:.0f} | {s['cpu']:.2f} |",
                  f"| --parallel --threads 2 | {p['wall']:.2f} | {p['eps']:,.0f} | {p['rss']:.0f} | {p['cpu']:.2f} |",
                  "", f"Speed-up over the single process: **{fmt_ratio(par6['speedup'])}**."]
    lines += ["", "### Start-up (whole process, medians)", "",
              "| command | wall ms | peak RSS MiB | target |", "|---|---:|---:|---|"]
    targets = {"kelora --version": 0.150, "kelora -j 10 lines --filter 'e.status >= 500'": 0.250}
    for label, v in start.items():
        t = targets.get(label)
        mark = "" if t is None else (f"< {t * 1000:.0f} ms: " + ("yes" if v["wall"] < t else "**no**"))
        lines.append(f"| `{label}` | {v['wall'] * 1000:.0f} | {v['rss']:.0f} | {mark} |")
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def write_doc(text: str) -> None:
    """Replace the generated section of docs/benchmarks.md; the hand-written rest stays."""
    old = open(DOC, encoding="utf-8").read() if os.path.exists(DOC) else ""
    block = f"{BEGIN}\n{text}{END}"
    if BEGIN in old and END in old:
        new = old[: old.index(BEGIN)] + block + old[old.index(END) + len(END):]
    else:
        new = (old or "# Benchmarks\n\n") + "\n" + block + "\n"
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(new)


def main() -> None:
    size = os.environ.get("BENCH_SIZE", "1m").lower()
    if size not in SIZES:
        raise SystemExit(f"BENCH_SIZE must be one of {', '.join(SIZES)}")
    if not os.path.isfile(os.path.join(REF, "gen_events.py")):
        raise SystemExit(f"bench: the shared benchmark kit is not at {REF} (it holds gen_events.py and "
                         "ref/); point BENCH_REF at it, e.g. BENCH_REF=/path/to/shared/bench make bench")
    # kelora as installed: its modules' bytecode cached (a session may set this for its own tools)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    quick = size != "1m"
    reps = int(os.environ.get("BENCH_REPS", "3" if quick else "5"))
    jq_reps = int(os.environ.get("BENCH_JQ_REPS", "1" if quick else "2"))
    tasks = [t.strip() for t in os.environ.get("BENCH_TASKS", ",".join(TASKS)).split(",") if t.strip()]
    path = ensure_data(size)
    events = count_lines(path)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "size": size, "reps": reps, "jq_reps": jq_reps, "machine": machine_line(),
            "versions": versions(), "events": events, "bytes": os.path.getsize(path)}
    base = baseline_kelora(BASELINE)
    if base:
        meta["baseline"] = base[1].rsplit("-", 1)[-1]
    res = bench_tasks(size, path, events, reps, jq_reps, tasks, base)
    rss_small = bench_rss_small([t for t in STREAMING if t in res]) if not quick else {}
    par = bench_parallel(path, events, max(2, reps - 2)) if "T2" in tasks and os.environ.get("BENCH_PARALLEL", "1") != "0" else None
    par6 = (bench_parallel_t6(path, events, max(2, reps - 2))
            if "T6" in tasks and os.environ.get("BENCH_PARALLEL", "1") != "0" else None)
    wstats = (bench_with_stats(path, events, max(2, reps - 2))
              if "T1" in tasks and os.environ.get("BENCH_WITH_STATS", "1") != "0" else None)
    dask = (bench_dask(path, events, max(2, reps - 2))
            if "T2" in tasks and os.environ.get("BENCH_DASK", "1") != "0" else None)
    start = bench_startup(10)
    text = render(meta, res, rss_small, par, start, par6, wstats, dask)
    with open(os.path.join(DATA, f"results_{size}.json"), "w") as f:
        json.dump({"meta": meta, "tasks": res, "rss_100k": rss_small, "parallel": par, "parallel_t6": par6,
                   "with_stats": wstats, "dask": dask, "startup": start}, f, indent=1)
    print(text)
    if os.environ.get("BENCH_NO_DOC") != "1":
        write_doc(text)
        print(f"(written to {os.path.relpath(DOC, ROOT)})", file=sys.stderr)


if __name__ == "__main__":
    main()
