"""bench/ceiling_t1_canon.py, the fair T1 ceiling of `make bench`, does kelora's T1 job: its
output equals kelora's byte for byte (events in Kelora's canonical key order), so the ratio
against it measures kelora's overhead, not a different job."""
from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

from tests.cli.test_cli_cases import clean_env
from tests.conftest import KELORA_BIN

ROOT = Path(__file__).resolve().parent.parent


def test_fair_t1_ceiling_output_equals_kelora(tmp_path):
    rnd = random.Random(3)
    keys = ["timestamp", "level", "service", "event", "message", "status", "ts", "msg", "severity", "user"]
    lines = []
    for i in range(400):
        shape = rnd.sample(keys, rnd.randrange(1, len(keys)))
        ev = {k: (rnd.choice([200, 404, 500, 503]) if k == "status" else f"{k}-{i % 7}") for k in shape}
        ev.setdefault("status", 500 + i % 3)
        lines.append(json.dumps(ev, separators=(",", ":")))
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    ceiling = subprocess.run([sys.executable, str(ROOT / "bench" / "ceiling_t1_canon.py"), str(path)],
                             capture_output=True, check=True, timeout=60).stdout
    kelora = subprocess.run([KELORA_BIN, "-j", str(path), "--filter", "e.status >= 500", "-F", "json"],
                            capture_output=True, env=clean_env(), timeout=60)
    assert kelora.returncode == 0
    assert ceiling.count(b"\n") > 100
    assert kelora.stdout == ceiling


def test_t1_stats_ceiling_output_and_stats_equal_kelora(tmp_path):
    """bench/ceiling_t1_stats.py (the T1 ceiling with its stats, beside which `make bench` shows
    what the stats cost a hand-written program): the same events, and the same stats lines but
    for Throughput, as kelora --with-stats, on data of the benchmark's kind (every event with a
    level and a timestamp of the one layout) whose shapes vary."""
    rnd = random.Random(5)
    extra = ["service", "event", "message", "user", "ts_note"]
    lines = []
    for i in range(500):
        ev = {"timestamp": f"2024-06-0{1 + i % 3}T{rnd.randrange(24):02d}:{rnd.randrange(60):02d}:"
                           f"{rnd.randrange(60):02d}.{rnd.choice([0, 80, 999]):03d}Z",
              "level": rnd.choice(["INFO", "WARN", "ERROR", "DEBUG"])}
        ev.update((k, f"{k}-{i % 5}") for k in rnd.sample(extra, rnd.randrange(len(extra))))
        # (errors and warnings only among those written, `path` only among those filtered out)
        failed = ev["level"] in ("ERROR", "WARN") and rnd.random() < 0.6
        ev["status"] = rnd.choice([500, 503]) if failed else rnd.choice([200, 404])
        if not failed:
            ev["path"] = "/"
        lines.append(json.dumps(ev, separators=(",", ":")))
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    ceiling = subprocess.run([sys.executable, str(ROOT / "bench" / "ceiling_t1_stats.py"), str(path)],
                             capture_output=True, check=True, timeout=60, cwd=tmp_path)
    kelora = subprocess.run([KELORA_BIN, "-j", str(path), "--filter", "e.status >= 500", "-F", "json",
                             "--with-stats"], capture_output=True, env=clean_env(), timeout=60)
    assert kelora.returncode == 0
    assert ceiling.stdout.count(b"\n") > 100
    assert kelora.stdout == ceiling.stdout
    stats = [line for line in kelora.stderr.decode().split("\n") if not line.startswith("Throughput:")]
    for differs in ("Input time span (before filtering):", "Levels output:", "Keys output:"):
        assert differs in kelora.stderr.decode()
    assert "\n".join(stats) == ceiling.stderr.decode()
