"""Data-driven language compliance suite: tests/compliance/*.json.

Each file holds groups; a group may set `given` (the event), `mode`, `stage`, `meta`, `vars`,
`conf` for its cases.  A case has a `script` and any of:
  result       expected value of the script (JSON; `null` is `()`)
  event        expected event afterwards (`null`: the event was dropped with `e = ()`)
  vars         expected `let` variables (scope.vars) afterwards
  error        expected error kind (syntax, unknown-function, invalid-arity, unknown-variable,
               runtime, limit, conf-readonly, throw, compile)
  missing_field  expected missing_field flag of the error
  printed      lines expected from print()
  flags        expected subset of {mutates_event, mutates_nested, declares_vars}
  calls        builtin names expected in prog.calls
Ids read `file::script` (or `file::name` when the case has one).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from kelora import values
from kelora.context import Diagnostics, RunContext, Scope
from kelora.errors import KeloraError, ScriptError
from kelora.lang import compile_script

CASE_DIR = Path(__file__).resolve().parent.parent / "compliance"
_GROUP_KEYS = ("given", "mode", "stage", "meta", "vars", "conf")


def _load():
    for path in sorted(CASE_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for gi, group in enumerate(data["groups"]):
            for ci, case in enumerate(group["cases"]):
                merged = {k: group[k] for k in _GROUP_KEYS if k in group}
                merged.update(case)
                label = case.get("name") or case["script"].replace("\n", " ")
                if len(label) > 70:
                    label = label[:67] + "..."
                yield pytest.param(merged, id=f"{path.name}::{label}")


CASES = list(_load())


def to_json_value(v):
    """Script value -> comparable JSON-ish value (chars as strings, ranges as lists)."""
    t = type(v)
    if t is values.Char:
        return str(v)
    if t is list:
        return [to_json_value(x) for x in v]
    if t is dict:
        return {k: to_json_value(x) for k, x in v.items()}
    if t is range:
        return list(v)
    if isinstance(v, values.FnPtr):
        return f"Fn({v.name})"
    return v


def same(a, b) -> bool:
    """Equality that tells 1, 1.0 and true apart, and checks key order of maps."""
    if type(a) is not type(b):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if type(a) is float and a != a:
        return b != b
    return a == b


def test_suite_is_large_enough():
    assert len(CASES) >= 300


@pytest.fixture(params=["codegen", "closure"])
def backend(request, monkeypatch):
    """Run every case through the generated fast path and through the closures alone."""
    from kelora.lang import program

    monkeypatch.setattr(program, "_CODEGEN", request.param == "codegen")
    return request.param


@pytest.mark.parametrize("case", CASES)
def test_case(case, backend):
    printed: list[str] = []
    ctx = RunContext(env={}, diagnostics=Diagnostics(printed.append, printed.append))
    ctx.conf.update(case.get("conf", {}))
    stage = case.get("stage", "exec")
    ctx.stage = stage
    event = json.loads(json.dumps(case.get("given", {})))
    scope = Scope(event, dict(case.get("meta", {"line": "raw line", "line_num": 1})), ctx,
                  dict(case.get("vars", {})))
    try:
        prog = compile_script(case["script"], label="test", mode=case.get("mode", "script"), stage=stage)
        result = prog.run(scope)
    except KeloraError as exc:
        if "error" not in case:
            raise
        assert isinstance(exc, ScriptError), exc
        assert exc.kind == case["error"], f"{exc.kind}: {exc.message}"
        if "missing_field" in case:
            assert exc.missing_field is case["missing_field"], exc.message
        span = exc.span
        if span is not None and exc.source is not None:
            assert 0 <= span.start <= span.end <= len(exc.source.text)
        exc.render()
        return
    assert "error" not in case, f"expected error {case['error']}, got result {result!r}"
    if "result" in case:
        got = to_json_value(result)
        assert same(got, case["result"]), f"result {got!r} != {case['result']!r}"
    if "event" in case:
        got = to_json_value(scope.e)
        assert same(got, case["event"]), f"event {got!r} != {case['event']!r}"
    if "expect_vars" in case:
        assert same(to_json_value(scope.vars), case["expect_vars"])
    if "printed" in case:
        assert printed == case["printed"]
    for flag, want in case.get("flags", {}).items():
        assert getattr(prog, flag) is want, flag
    for name in case.get("calls", ()):
        assert name in prog.calls
    if "conf_after" in case:
        assert same(ctx.conf, case["conf_after"])
