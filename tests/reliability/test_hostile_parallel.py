"""`--parallel` gives exactly the sequential result or refuses clearly (issue 12, item 6).

What carries information from one event to the next inside a worker would see only its batch:
``state``, reading ``metrics``, file writes, a conditional ``sample_every`` are refused (decided from
the compiled scripts, kelora/run/parallel_audit.py); an unconditional ``sample_every`` makes the run
sequential; seeded ``sample_prob``/``rand*`` draw per line number, the same in both runs.
"""
from __future__ import annotations

import pytest

from tests.reliability.conftest import assert_no_traceback, run_bin

STATE_MESSAGE = ("'state' is not available in --parallel mode. Rerun without --parallel if you need shared "
                 "mutable state; use track_* helpers for parallel-safe aggregation.")


@pytest.fixture
def data(tmp_path):
    f = tmp_path / "data.jsonl"
    lines = []
    for i in range(400):
        if i % 37 == 5:
            lines.append(b"not json")
        elif i % 41 == 7:
            lines.append(b"")
        else:
            lines.append(b'{"i":%d,"a":%d}' % (i, i % 7))
    f.write_bytes(b"\n".join(lines) + b"\n")
    return f


def _both(args, data, environ=None):
    seq = run_bin(["-j", str(data), *args], environ=environ)
    par = run_bin(["-j", str(data), "--parallel", "--threads", "2", "--batch-size", "7", *args], environ=environ)
    for r in (seq, par):
        assert_no_traceback(r)
    return seq, par


@pytest.mark.parametrize("args", [
    ["-e", 'state["n"] = 1'],
    ["-e", 'let n = state.len(); e.n = n'],
    ["--filter", 'state.contains("x")'],
    ["--begin", 'state["x"] = 1', "-e", "e.z = 1"],
])
def test_state_is_refused_as_kelora_does(data, args):
    res = run_bin(["-j", str(data), "--parallel", *args, "-F", "json"])
    assert_no_traceback(res)
    assert res.code == 1, res.err
    assert STATE_MESSAGE in res.err and res.out == b""


def test_state_still_works_without_parallel(data):
    res = run_bin(["-j", str(data), "-e", 'state["n"] = (state.get("n") ?? 0) + 1; e.n = state["n"]', "-F", "json"])
    events = [x for x in res.out.splitlines() if x.startswith(b"{")]
    assert res.code == 0 and events[-1].endswith(b',"n":%d}' % len(events)), res.out[-200:]


@pytest.mark.parametrize("args, word", [
    (["-e", 'e.n = metrics.len()'], "metrics"),
    (["--allow-fs-writes", "-e", 'append_file("x.txt", "a")'], "'append_file'"),
    (["-e", 'if e.a > 2 { e.s = sample_every(3) }'], "'sample_every'"),
    (["-e", 'e.s = e.a > 2 && sample_every(3)'], "'sample_every'"),
    (["--filter", "e.a > 2", "-e", "e.s = sample_every(3)"], "'sample_every'"),
    (["-e", "if e.a == 1 { return; } e.s = sample_every(3)"], "'sample_every'"),
    (["-e", "fn f() { sample_every(3) } e.s = f()"], "'sample_every'"),
    (["-e", "for x in [1, 2] { e.s = sample_every(3) }"], "'sample_every'"),
])
def test_what_would_differ_is_refused_before_reading(data, tmp_path, args, word):
    res = run_bin(["-j", str(data), "--parallel", *args, "-F", "json"], cwd=tmp_path)
    assert_no_traceback(res)
    assert res.code == 1, res.err
    # metrics in -e is also a compile error of its own (D23 advice: read them in --end); either
    # way the run is refused before reading any input
    assert word in res.err and res.out == b""
    assert "--parallel" in res.err or (word == "metrics" and "compile error" in res.err), res.err
    assert not (tmp_path / "x.txt").exists()


@pytest.mark.parametrize("args", [
    ["-e", "e.s = sample_every(3)"],
    ["--filter", "sample_every(4)"],
    ["-e", "e.x = 1", "--filter", "sample_every(5) || false"],
    ["-e", "e.s = sample_every(3); e.t = sample_every(3)", "-e", "e.u = sample_every(2)"],
])
def test_unconditional_sample_every_gives_the_sequential_result(data, args):
    seq, par = _both([*args, "-F", "json"], data)
    assert seq.code == par.code
    assert seq.out == par.out and 20 < seq.out.count(b"\n") < 380


@pytest.mark.parametrize("script", [
    "sample_prob(0.3)",
    "rand() < 0.5",
    "rand_int(1, 6) == 3 || sample_prob(0.1)",
])
def test_seeded_sampling_decides_per_line_like_the_sequential_run(data, script):
    environ = {"KELORA_SEED": "7"}
    seq, par = _both(["--filter", script, "-e", "e.r = rand_int(1, 1000)", "-F", "json"], data, environ)
    assert seq.code == par.code == 0
    assert seq.out == par.out and 10 < seq.out.count(b"\n") < 350
    again = run_bin(["-j", str(data), "--parallel", "--batch-size", "3", "--filter", script,
                     "-e", "e.r = rand_int(1, 1000)", "-F", "json"], environ=environ)
    assert again.out == seq.out
    other = run_bin(["-j", str(data), "--filter", script, "-F", "json"], environ={"KELORA_SEED": "8"})
    assert other.out != seq.out.replace(b',"r":', b'')  # (another seed, another sample)


def test_seeded_draws_in_begin_and_end_match_too(data):
    environ = {"KELORA_SEED": "11"}
    args = ["--begin", 'print(rand_int(1, 10 ** 9))', "-e", "e.r = rand()",
            "--end", 'print(rand_int(1, 10 ** 9))', "-F", "json"]
    seq, par = _both(args, data, environ)
    assert seq.out == par.out
