"""The beginner-mistake corpus (issue 14): each mistake in beginner_mistakes.toml is run through
the installed `kelora`, and its position, caret, message and advice are checked; for each silent
trap, the warning.  BEGINNER_MISTAKES.md rates every case (0-3); a test keeps both in step."""
from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.conftest import KELORA_BIN

HERE = Path(__file__).parent
DATA = tomllib.loads((HERE / "beginner_mistakes.toml").read_text(encoding="utf-8"))
CASES = DATA["case"]
SAMPLE = DATA["sample"] + "\n"


def run(case) -> tuple[int, str, str]:
    args = ([] if case.get("no_j") else ["-j"]) + list(case["args"])
    stdin = case.get("stdin", SAMPLE)
    p = subprocess.run([KELORA_BIN, *args], input=stdin.encode(), capture_output=True, timeout=60,
                       env={"PATH": "/usr/bin:/bin", "KELORA_SECRET": "test-secret", "NO_COLOR": "1",
                            "HOME": "/nonexistent"})
    return p.returncode, p.stdout.decode(), p.stderr.decode()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_mistake(case):
    code, out, err = run(case)
    ctx = f"\nargs: {case['args']}\n--- stderr ---\n{err}"
    assert "Traceback" not in err, ctx
    assert code == case["exit"], ctx
    if "at" in case:
        assert re.search(rf"^\s+At {case['at']} in ", err, re.M), ctx
        col = int(case["at"].split(":")[1])
        if "caret" in case:
            assert re.search(r"^\s+\| " + re.escape(" " * (col - 1) + case["caret"]) + "$", err, re.M), ctx
        if "caret_line" in case:
            assert re.search(r"^\s+\| " + re.escape(case["caret_line"]) + "$", err, re.M), ctx
    if case.get("error"):
        assert f"Error: {case['error']}" in err, ctx
    if "warning" in case:
        assert f"kelora warning: {case['warning']}" in err, ctx
    if "hint" in case:
        hints = [ln for ln in err.splitlines() if ln.strip().startswith("Hint:")]
        assert any(case["hint"] in h for h in hints), ctx
    for text in case.get("contains", ()):
        assert text in err, ctx
    for text in case.get("absent", ()):
        assert text not in err, ctx
    for text in case.get("stdout_contains", ()):
        assert text in out, ctx + f"\n--- stdout ---\n{out}"


def test_warnings_never_change_results():
    """A silent trap is warned about; the output and exit code are what they were without it."""
    for case in CASES:
        if "warning" not in case:
            continue
        code, out, _ = run(case)
        quiet = dict(case, args=[*case["args"], "--no-diagnostics"])
        code2, out2, err2 = run(quiet)
        assert (code, out) == (code2, out2), case["id"]
        assert "warning" not in err2, case["id"]


def test_corpus_size_and_ratings():
    """>= 80 cases; every case rated in BEGINNER_MISTAKES.md; average >= 2.6; none silent (0)."""
    assert len(CASES) >= 80
    table = (HERE / "BEGINNER_MISTAKES.md").read_text(encoding="utf-8")
    ratings = dict(re.findall(r"^\| `([\w-]+)` \| .*? \| ([0-3]) \|", table, re.M))
    ids = [c["id"] for c in CASES]
    assert sorted(ratings) == sorted(ids), set(ratings) ^ set(ids)
    scores = [int(ratings[i]) for i in ids]
    assert min(scores) >= 1
    assert sum(scores) / len(scores) >= 2.6


def test_diagnostics_never_echo_values_a_privacy_function_reads():
    """COMPAT D24: `lat` is pseudonymized (or hashed) in some stage: the warnings and hints about
    it say what happened without its value; another field's value is shown."""
    args = ["-e", 'e.p = pseudonym(e.lat, "u"); e.y = e.lat + 1', "-e", "e.z = e.other + 1"]
    code, out, err = run({"args": args, "stdin": '{"lat":"4242","other":"77"}\n'})
    assert err.count("`+` joined text and a number") == 2, err
    assert "4242" not in err and '"77" + 1 gave "771"' in err, err
    code, out, err = run({"args": ["-e", 'e.y = e.lat.to_int() + 1; e.p = hash(e.lat)'],
                          "stdin": '{"lat":"secret-42"}\n'})
    assert "`to_int()` returned () for a value not shown" in err, err
    assert "secret" not in err, err
    code, out, err = run({"args": ["--filter", 'e.lat == "x"', "-e", "e.h = hash(e.lat)"],
                          "stdin": '{"lat":"secret-42"}\n'})
    assert code == 0 and "secret" not in err, err
