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
