"""--parallel gives byte-identical output and identical metrics/stats to a sequential run."""
from __future__ import annotations

import json
import random
import subprocess

import pytest

from tests.conftest import KELORA_BIN
from tests.cli.test_cli_cases import clean_env

SECRET = {"KELORA_SECRET": "kelora-bench-secret"}


@pytest.fixture(scope="module")
def events_file(tmp_path_factory):
    rnd = random.Random(42)
    users = [f"user{i}@example.{rnd.choice(['com', 'org', 'de'])}" for i in range(300)]
    path = tmp_path_factory.mktemp("par") / "events.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(4000):
            ev = {"timestamp": f"2024-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z",
                  "level": rnd.choice(["INFO", "INFO", "WARN", "ERROR"]),
                  "user_email": rnd.choice(users), "session_token": f"{rnd.getrandbits(64):016x}",
                  "status": rnd.choice([200, 200, 201, 404, 500, 503]),
                  "duration_ms": round(rnd.uniform(1, 900), 2), "path": rnd.choice(["/a", "/b", "/api/x"])}
            if i % 97 == 0:
                fh.write("{not json\n")  # parse errors must be counted once, in order
            if i % 250 == 0:
                del ev["user_email"]  # exec errors too
            fh.write(json.dumps(ev) + "\n")
    return path


CASES = {
    "passthrough": ["-F", "json"],
    "filter": ["--filter", "e.status >= 500", "-F", "json"],
    "pseudonymize": ["-e", 'e.user_id = pseudonym(e.user_email, "users")',
                     "-e", 'e.session_id = pseudonym(e.session_token, "sessions")',
                     "-e", "e.user_email = (); e.session_token = ()", "-F", "json"],
    "csv": ["-k", "timestamp,status,duration_ms", "-F", "csv"],
    "metrics": ["-e", 'track_unique("users", pseudonym(e.user_email, "users")); track_freq("status", e.status); '
                      'track_sum("ms", e.duration_ms); track_percentiles("lat", e.duration_ms); '
                      'track_cardinality("paths", e.path); track_top("paths_top", e.path, 2); track_avg("avg", e.duration_ms)',
                "--metrics=json"],
    "stats": ["--filter", "e.level != \"INFO\"", "--stats=json"],
}


def _run(args, path, extra=()):
    proc = subprocess.run([KELORA_BIN, "-j", str(path), *args, *extra], capture_output=True,
                          env=clean_env(SECRET), timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def _strip_throughput(out: bytes) -> object:
    doc = json.loads(out)
    doc.pop("throughput", None)
    return doc


@pytest.mark.parametrize("name", list(CASES))
def test_parallel_equals_sequential(name, events_file):
    args = CASES[name]
    seq = _run(args, events_file)
    par = _run(args, events_file, ["--parallel", "--threads", "2", "--batch-size", "333"])
    assert seq[0] == par[0]
    if name == "stats":
        assert _strip_throughput(seq[1]) == _strip_throughput(par[1])
    else:
        assert seq[1] == par[1]
    assert seq[1], "the case produced no output at all"
    assert seq[2].replace(b"\r", b"") == par[2].replace(b"\r", b"")  # same summary on stderr
