"""Every builtin documents itself: a docstring, at least one example, and the examples hold.

Examples are `SCRIPT  =>  EXPECTED` lines in the docstring's `Examples:` section.  SCRIPT runs
as an -e stage against an empty event with KELORA_SECRET=kelora-bench-secret; EXPECTED is written
in the language's own notation (`()`, `#{"a": 1}`, `[1, 2]`, `'c'` for a char) and evaluated as an
expression, or `!skip` / `!exit N` for the pipeline-control functions, or
`!error TEXT` when the call must fail with a message containing TEXT.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kelora.builtins.registry import load_all
from kelora.context import RunContext, Scope
from kelora.errors import ExitRequest, SkipEvent
from kelora.lang import compile_script
from kelora.values import DateTime, Duration

REGISTRY = load_all()
SECRET_ENV = {"KELORA_SECRET": "kelora-bench-secret"}
_CTX: dict = {}


def _context() -> RunContext:
    # one context for the whole module: the Argon2id key is derived once
    if "ctx" not in _CTX:
        _CTX["ctx"] = RunContext(env=SECRET_ENV)
    return _CTX["ctx"]


def _jsonable(v):
    if isinstance(v, DateTime):
        return v.iso()
    if isinstance(v, Duration):
        return v.display()
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    return v


def _examples():
    for name in sorted(REGISTRY):
        b = REGISTRY[name]
        if b.name != name:
            continue  # aliases share the original's examples
        for i, (script, expected) in enumerate(b.examples()):
            yield pytest.param(name, script, expected, id=f"{name}[{i}]")


@pytest.mark.parametrize("name", sorted(n for n, b in REGISTRY.items() if b.name == n))
def test_every_builtin_has_docs_and_examples(name):
    b = REGISTRY[name]
    assert b.summary, f"{name} has no one-line summary"
    assert b.examples(), f"{name} has no Examples: section with 'script => result' lines"


@pytest.mark.parametrize("name,script,expected", list(_examples()))
def test_docstring_example(name, script, expected):
    ctx = _context()
    ctx.stage = "exec"
    ctx.pending = []
    ctx.emitted = []
    prog = compile_script(script, label=f"{name} example", mode="script", stage="exec")
    scope = Scope({}, {"line": "", "line_num": 1}, ctx)
    if expected.startswith("!skip"):
        with pytest.raises(SkipEvent):
            prog.run(scope)
        return
    if expected.startswith("!error"):
        from kelora.errors import ScriptRuntimeError

        with pytest.raises(ScriptRuntimeError) as info:
            prog.run(scope)
        needle = expected[len("!error"):].strip()
        assert needle in info.value.message
        return
    if expected.startswith("!exit"):
        with pytest.raises(ExitRequest) as info:
            prog.run(scope)
        assert info.value.code == int(expected.split()[1])
        return
    got = _jsonable(prog.run(scope))
    want = _jsonable(compile_script(expected, label="expected", mode="expression").run(Scope({}, {}, ctx)))
    assert got == want and type(got) is type(want), f"{script} gave {got!r}, docstring says {expected}"


def _json_shaped(text: str) -> bool:
    return bool(re.search(r"\bnull\b", text) or re.search(r"(?<!#){", text))


def test_examples_are_written_in_the_language_notation():
    """`()` and `#{...}`, never JSON's `null` and `{...}` (issue 14)."""
    bad = [f"{name}: {script} => {expected}" for name, b in REGISTRY.items() if b.name == name
           for script, expected in b.examples()
           if not expected.startswith("!") and _json_shaped(re.sub(r'"(?:[^"\\]|\\.)*"', '""', expected))]
    assert not bad, bad


def test_rendered_docs_show_no_test_markers():
    from kelora.cli.docs import functions_help, markdown

    texts = [markdown(), functions_help("skip"), functions_help("exit"), functions_help("parse_json")]
    for text in texts:
        assert "!skip" not in text and "!exit" not in text and "!error" not in text
    assert "skip()  // drops the event" in functions_help("skip")


def test_function_reference_is_current():
    from kelora.cli.docs import markdown

    path = Path(__file__).resolve().parent.parent / "docs" / "functions.md"
    assert path.exists(), "docs/functions.md is missing: run `make docs`"
    assert path.read_text(encoding="utf-8") == markdown(), "docs/functions.md is stale: run `make docs`"
