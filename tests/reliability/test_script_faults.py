"""Script faults: each stage kind follows the resilient / --strict / --fail-closed rules
(reference §6.1, COMPAT D1/D11), a failing stage leaks nothing, runaway scripts are stopped."""
from __future__ import annotations

import json
import time

import pytest

from tests.reliability.conftest import assert_accounting, run

EVENTS = b'{"a":1,"n":{"x":1}}\n{"a":2,"n":{"x":2}}\n'
FAIL = "e.bad = e.missing + 1"  # a runtime error (missing field) at the end of a stage


def _json_lines(res):
    return [json.loads(x) for x in res.out.splitlines()]


# ----------------------------------------------------------------------------------- exec

def test_exec_error_rolls_back_fields_nested_fields_lets_and_tracking():
    stage = f'e.b = 2; e.n.x = 99; e.n.y = [1]; e.a = (); let v = 7; track_sum("t", 1); {FAIL}'
    res = run(["-j", "-F", "json", "-e", stage, "-e", "e.v = v", "--end", 'print(metrics.to_json())'], EVENTS)
    assert res.code == 0, res.err
    out = res.text.splitlines()
    assert [json.loads(x) for x in out[:2]] == [{"a": 1, "n": {"x": 1}}, {"a": 2, "n": {"x": 2}}]
    assert json.loads(out[2]) == {}  # no track_* call of the failed stage survived
    assert "Variable not found: v" in res.err  # the failed stage's `let` is gone too
    assert "kelora warning: Exec errors: 4 total, affecting every event" in res.err


def test_exec_error_keeps_earlier_stages():
    res = run(["-j", "-F", "json", "-e", "e.ok = true; let kept = 1", "-e", f"e.b = kept; {FAIL}",
               "-e", "e.k = kept"], EVENTS)
    assert _json_lines(res)[0] == {"a": 1, "n": {"x": 1}, "ok": True, "k": 1}


def test_exec_error_rolls_back_emit_each():
    res = run(["-j", "-F", "json", "-e", f"emit_each([#{{x: 1}}, #{{x: 2}}]); {FAIL}"], EVENTS)
    assert _json_lines(res) == [{"a": 1, "n": {"x": 1}}, {"a": 2, "n": {"x": 2}}]


def test_exec_error_strict_aborts():
    res = run(["-j", "-F", "json", "--strict", "-e", "if e.a == 2 { e.bad = e.missing + 1 }"], EVENTS)
    assert res.code == 1
    assert _json_lines(res) == [{"a": 1, "n": {"x": 1}}]
    assert "kelora: Pipeline error: exec error" in res.err


def test_exec_error_fail_closed_drops_and_counts_the_event():
    args = ["-j", "-F", "json", "--fail-closed", "-e", "if e.a == 2 { e.n.x = 0; e.bad = e.missing + 1 }"]
    res = run(args, EVENTS)
    assert res.code == 0
    assert _json_lines(res) == [{"a": 1, "n": {"x": 1}}]  # the failed event never reaches output
    assert "Exec errors: 1 total" in res.err
    doc = run([*args, "--stats=json"], EVENTS).stats()
    assert doc["events"] == {"created": 2, "output": 1, "filtered": 0, "errored": 1}
    assert_accounting(doc)


def test_fail_closed_with_strict_still_aborts():
    res = run(["-j", "--fail-closed", "--strict", "-e", FAIL], EVENTS)
    assert res.code == 1 and res.out == b""


def test_conf_mutation_outside_begin_is_a_script_error():
    args = ["-j", "-F", "json", "-e", "conf.x = 1"]
    res = run(args, EVENTS)
    assert res.code == 1
    assert res.out == b""
    assert "conf map is read-only outside --begin" in res.err
    doc = run([*args, "--stats=json"], EVENTS).stats()
    assert doc["events"]["errored"] == 2
    assert_accounting(doc)


# ----------------------------------------------------------------------------------- filter

def test_filter_error_counts_as_filtered_and_fails_only_if_never_ok():
    res = run(["-j", "-F", "json", "--filter", "e.a.to_int() + e.missing > 0"], EVENTS)
    assert res.code == 1  # the filter never evaluated cleanly
    assert res.out == b""
    assert "Filter errors: 2 total" in res.err
    mixed = run(["-j", "-F", "json", "--filter", "if e.a == 1 { e.missing + 1 > 0 } else { true }"], EVENTS)
    assert mixed.code == 0
    assert _json_lines(mixed) == [{"a": 2, "n": {"x": 2}}]
    doc = run(["-j", "--filter", "e.a.to_int() + e.missing > 0", "--stats=json"], EVENTS).stats()
    assert doc["events"]["filtered"] == 2
    assert_accounting(doc)


def test_filter_non_bool_and_strict():
    res = run(["-j", "--filter", "e.a"], EVENTS)
    assert res.code == 1 and "the filter must return a bool, got i64" in res.err
    strict = run(["-j", "--strict", "--filter", "e.a.to_int() + e.missing > 0"], EVENTS)
    assert strict.code == 1 and "kelora: Pipeline error: Filter error" in strict.err


# ----------------------------------------------------------------------------------- assert / begin / end

def test_assert_error_is_a_violation():
    res = run(["-j", "-F", "json", "--assert", "e.missing + 1 > 0"], EVENTS)
    assert res.code == 1
    assert len(_json_lines(res)) == 2  # events are still emitted
    assert "kelora: assert failed: e.missing + 1 > 0" in res.err
    strict = run(["-j", "-F", "json", "--strict", "--assert", "e.a < 2"], EVENTS)
    assert strict.code == 1 and len(_json_lines(strict)) == 1


@pytest.mark.parametrize("flag, label", [("--begin", "Begin"), ("--end", "End")])
def test_begin_end_runtime_errors_are_fatal(flag, label):
    res = run(["-j", "-F", "json", flag, "let x = 1 / 0"], EVENTS)
    assert res.code == 1
    assert f"kelora: Pipeline error: {label} stage error: Division by zero" in res.err
    if flag == "--begin":
        assert res.out == b""  # nothing read


@pytest.mark.parametrize("args", [["-e", "e.x = "], ["--filter", "e.a >"], ["--begin", "let = 1"],
                                  ["-e", "e.x = nosuchfn(1)"]])
def test_compile_errors_read_nothing(args):
    res = run(["-j", *args], EVENTS)
    assert res.code == 1 and res.out == b""
    assert res.err.startswith("kelora: Pipeline error:")


def test_exit_in_script():
    res = run(["-j", "-F", "json", "-e", "if e.a == 2 { exit(7) }"], EVENTS)
    assert res.code == 7
    assert _json_lines(res) == [{"a": 1, "n": {"x": 1}}]


# ----------------------------------------------------------------------------------- runaway

@pytest.mark.parametrize("flag", ["-e", "--filter", "--begin", "--end", "--assert"])
def test_endless_loop_is_stopped_by_the_operation_limit(flag, tmp_path):
    include = tmp_path / "spin.rhai"
    include.write_text("fn spin() { loop {} true }")
    if flag in ("-e", "--begin", "--end"):
        args = [flag, "while true {}"]
    elif flag == "--filter":
        args = ["-I", str(include), flag, "spin()"]
    else:  # --assert takes no include: an endless chain of closure calls instead
        args = [flag, "range(0, 9000000).filter(|x| true).len() + range(0, 9000000).filter(|x| true).len() > 0"]
    t0 = time.monotonic()
    res = run(["-j", *args], b'{"a":1}\n')
    assert time.monotonic() - t0 < 30
    if flag == "--assert":  # an erroring assertion is reported as a violation (reference §6.1)
        assert "kelora: assert failed" in res.err
    else:
        assert "exceeded the limit of 10,000,000 operations" in res.err, res.err
    assert res.code == (0 if flag == "-e" else 1)


@pytest.mark.parametrize("script", [
    "fn f(x) { f(x + 1) } e.r = f(1)",
    "fn f(x) { if x > 0 { 1 + f(x + 1) } else { 0 } } e.r = f(1)",
    "let g = |x| x; fn f(x) { [f(x)] } e.r = f(1)",
])
def test_deep_recursion_is_stopped_by_the_depth_limit(script):
    res = run(["-j", "-F", "json", "-e", script], b'{"a":1}\n')
    assert res.code == 0
    assert json.loads(res.out) == {"a": 1}
    assert "nested deeper than 64 levels" in res.err


def test_deeply_nested_script_text_is_a_clear_error():
    for text in ("(" * 5000 + "1" + ")" * 5000, "[" * 5000 + "]" * 5000, "-" * 20000 + "1",
                 "if true {" * 3000 + "}" * 3000):
        res = run(["-j", "-e", f"e.x = {text}"], b'{"a":1}\n')
        assert res.code in (0, 1), res.err
        if res.code == 1:
            assert "nested too deeply" in res.err, res.err


def test_accounting_with_script_faults_everywhere():
    data = b"".join(b'{"a":%d}\n' % i for i in range(30)) + b"{bad\n\n"
    args = ["-j", "--fail-closed", "--filter", "if e.a % 7 == 0 { e.zz + 1 > 0 } else { e.a % 5 != 0 }",
            "-e", "if e.a % 3 == 0 { e.q = e.zz + 1 }", "-e", "if e.a == 11 { skip() }"]
    doc = run([*args, "--stats=json"], data).stats()
    assert_accounting(doc)
    assert doc["lines"] == {"read": 32, "filtered": 0, "errors": 1, "blank": 1, "header": 0}
    assert doc["events"]["errored"] > 0 and doc["events"]["filtered"] > 0
