"""Exact renders of script errors: label, line:col, the source line, the caret, the hint.

These pin the user-facing text on purpose (aesthetics §4.7 (4)); change them deliberately.
(Undeclared names became compile errors with COMPAT D23: the three `Variable not found` cases;
missing fields are named (`e.missing is missing`); an unclosed `#{` is shown at the brace.)
"""
from __future__ import annotations

import pytest

from kelora.context import RunContext, Scope
from kelora.errors import KeloraError
from kelora.lang import compile_script
from kelora.lang.names import StageInfo, check_stages

CASES = [
    ('filter', 'expression', 'e.status >=',
     'filter syntax error\n'
     '  At 1:12 in filter\n'
     '  1 | e.status >=\n'
     '    |            ^\n'
     '  Error: unexpected end of script; expected an expression'),
    ('filter', 'expression', 'e.level = "x"',
     'filter syntax error\n'
     '  At 1:9 in filter\n'
     '  1 | e.level = "x"\n'
     '    |         ^\n'
     '  Error: unexpected `=`; expected end of script\n'
     '  Hint: use == to compare; a filter is a single expression and cannot assign'),
    ('exec script 2', 'script', 'e.x = "\\d+"',
     'exec script 2 syntax error\n'
     '  At 1:8 in exec script 2\n'
     '  1 | e.x = "\\d+"\n'
     '    |        ^^\n'
     '  Error: unknown escape sequence `\\d`\n'
     '  Hint: write `\\\\d` for a literal backslash, or use a raw string r"..." (no escapes)'),
    ('exec script 1', 'script', 'let x = 1;\ne.y = y + 1',
     'exec script 1 compile error\n'
     '  At 2:7 in exec script 1\n'
     '  2 | e.y = y + 1\n'
     '    |       ^\n'
     '  Error: Variable not found: y\n'
     '  Hint: event fields are read through `e`: write `e.y`; a variable must be declared with `let y = ...`'),
    ('exec script 1', 'script', 'let count = 1;\ne.y = cout + 1',
     'exec script 1 compile error\n'
     '  At 2:7 in exec script 1\n'
     '  2 | e.y = cout + 1\n'
     '    |       ^^^^\n'
     '  Error: Variable not found: cout\n'
     '  Hint: did you mean `count`?'),
    ('exec script 1', 'script', 'e.a = 1 e.b = 2',
     'exec script 1 syntax error\n'
     '  At 1:9 in exec script 1\n'
     '  1 | e.a = 1 e.b = 2\n'
     '    |         ^^^^^^^\n'
     '  Error: expected `;` before this statement\n'
     '  Hint: statements are separated by `;` (newlines do not end statements)'),
    ('exec script 3', 'script', 'e.x = psuedonym(e.user)',
     'exec script 3 compile error\n'
     '  At 1:7 in exec script 3\n'
     '  1 | e.x = psuedonym(e.user)\n'
     '    |       ^^^^^^^^^\n'
     '  Error: unknown function psuedonym()\n'
     '  Hint: did you mean pseudonym()?'),
    ('filter', 'expression', 'e.status == 500 &&',
     'filter syntax error\n'
     '  At 1:19 in filter\n'
     '  1 | e.status == 500 &&\n'
     '    |                   ^\n'
     '  Error: unexpected end of script; expected an expression'),
    ('exec script 1', 'script', 'e.n = e.missing.len()',
     'exec script 1 runtime error\n'
     '  At 1:17 in exec script 1\n'
     '  1 | e.n = e.missing.len()\n'
     '    |                 ^^^\n'
     '  Error: len(): expected a string, array or map, got () (e.missing is missing)'),
    ('exec script 1', 'script', 'let v = e.missing + 1',
     'exec script 1 runtime error\n'
     '  At 1:9 in exec script 1\n'
     '  1 | let v = e.missing + 1\n'
     '    |         ^^^^^^^^^^^^^\n'
     '  Error: cannot apply `+` to () and i64 (e.missing is missing)'),
    ('begin', 'script', '#{a: 1',
     'begin syntax error\n'
     '  At 1:1 in begin\n'
     '  1 | #{a: 1\n'
     '    | ^^\n'
     '  Error: this `#{` is never closed\n'
     '  Hint: add the matching `}` (the script ended first)'),
    ('exec script 1', 'script', 'e.x = (1 + 2',
     'exec script 1 syntax error\n'
     '  At 1:13 in exec script 1\n'
     '  1 | e.x = (1 + 2\n'
     '    |             ^\n'
     '  Error: unexpected end of script; expected `)`'),
    ('exec script 1', 'script', "e.x = 'ab'",
     'exec script 1 syntax error\n'
     '  At 1:7 in exec script 1\n'
     "  1 | e.x = 'ab'\n"
     '    |       ^^^^\n'
     '  Error: a char literal holds exactly one character\n'
     '  Hint: strings use double quotes: "..."'),
    ('filter', 'expression', 'e.a == 1; e.b',
     'filter syntax error\n'
     '  At 1:9 in filter\n'
     '  1 | e.a == 1; e.b\n'
     '    |         ^\n'
     '  Error: unexpected `;`; expected end of script\n'
     '  Hint: a filter is a single expression: no `;`, `let` or assignments'),
    ('exec script 1', 'script', 'let r = 5 % 0',
     'exec script 1 runtime error\n'
     '  At 1:9 in exec script 1\n'
     '  1 | let r = 5 % 0\n'
     '    |         ^^^^^\n'
     '  Error: Division by zero'),
    ('exec script 1', 'script', 'len(1, 2)',
     'exec script 1 compile error\n'
     '  At 1:1 in exec script 1\n'
     '  1 | len(1, 2)\n'
     '    | ^^^\n'
     '  Error: len() takes 1 argument, got 2\n'
     '  Hint: signature: len(value: any) -> int'),
    ('exec script 1', 'script', 'let x = [1, 2];\nlet y = x[5];',
     'exec script 1 runtime error\n'
     '  At 2:9 in exec script 1\n'
     '  2 | let y = x[5];\n'
     '    |         ^^^^\n'
     '  Error: array index 5 out of bounds (length 2)'),
    ('exec script 1', 'script', 'e.p = r"\\d+" + 1 +',
     'exec script 1 syntax error\n'
     '  At 1:19 in exec script 1\n'
     '  1 | e.p = r"\\d+" + 1 +\n'
     '    |                   ^\n'
     '  Error: unexpected end of script; expected an expression'),
    ('end', 'script', 'let n = 0;\nwhile true { n += 1 }',
     'end runtime error\n'
     '  At 2:1 in end\n'
     '  2 | while true { n += 1 }\n'
     '    | ^^^^^^^^^^^^^^^^^^^^^\n'
     '  Error: script exceeded the limit of 1,000 operations (loop iterations and calls)\n'
     '  Hint: check for an endless loop (`while true`, `loop` without `break`)'),
    ('exec script 1', 'script', 'e.x = 1 @ 2',
     'exec script 1 syntax error\n'
     '  At 1:9 in exec script 1\n'
     '  1 | e.x = 1 @ 2\n'
     '    |         ^\n'
     '  Error: unexpected character `@`'),
    ('filter', 'expression', 'e.msg == "unterminated',
     'filter syntax error\n'
     '  At 1:10 in filter\n'
     '  1 | e.msg == "unterminated\n'
     '    |          ^\n'
     '  Error: unterminated string\n'
     '  Hint: close the string with `"`'),
    ('exec script 1', 'script', 'fn f(level) {\n  e.level == level\n}\nf("x")',
     'exec script 1 compile error\n'
     '  At 2:3 in exec script 1\n'
     '  2 |   e.level == level\n'
     '    |   ^\n'
     '  Error: Variable not found: e\n'
     '  Hint: functions cannot see outer variables (e, meta, conf, let variables): pass them as parameters'),
]


@pytest.mark.parametrize("label,mode,src,expected", CASES, ids=[c[2][:40] for c in CASES])
def test_render(label, mode, src, expected):
    stage = "end" if label == "end" else "exec"
    with pytest.raises(KeloraError) as info:
        prog = compile_script(src, label=label, mode=mode, stage=stage, max_operations=1000)
        check_stages([StageInfo(stage, prog)])  # names across stages (COMPAT D23), as the pipeline does
        prog.run(Scope({"status": 1}, {}, RunContext()))
    assert info.value.render() == expected


def test_at_least_fifteen_pinned():
    assert len(CASES) >= 15


def test_short_form_has_location():
    with pytest.raises(KeloraError) as info:
        compile_script("e.a + 1", label="exec script 1").run(Scope({}, {}, RunContext()))
    assert info.value.short() == "cannot apply `+` to () and i64 (e.a is missing) (at 1:1)"
    assert info.value.missing_field is True
