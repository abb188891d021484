"""Fuzzing: the input parsers and the script language never fail with anything but their own
errors, and whole runs keep the accounting invariant on arbitrary bytes.

`make test` runs a bounded number of examples per test; `make fuzz` sets KELORA_FUZZ_EXAMPLES
(e.g. 20000) for the long run and prints hypothesis statistics and any falsifying example.
"""
from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kelora.context import RunContext, Scope
from kelora.errors import ExitRequest, InputError, ScriptError, SkipEvent
from kelora.formats import make_formatter
from kelora.formats.select_input import make_input_parser
from kelora.lang import compile_script
from tests.reliability.conftest import assert_accounting, run

EXAMPLES = int(os.environ.get("KELORA_FUZZ_EXAMPLES", "0")) or None
compile_script("1")  # sets the recursion limit once, before hypothesis records it


def fuzz_settings(default: int):
    return settings(max_examples=EXAMPLES or default, deadline=None, derandomize=EXAMPLES is None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


FORMATS = ["json", "logfmt", "csv", "tsv", "syslog", "combined", "line", "raw", "auto"]
to_json = make_formatter("json")
to_default = make_formatter("default")
to_logfmt = make_formatter("logfmt")

# Lines that look like log formats, mutated, plus arbitrary text.
SEEDS = [
    '{"ts":"2024-01-15T10:00:00Z","level":"INFO","msg":"hi","n":1,"f":1.5,"a":[1,{"b":null}]}',
    'ts=2024-01-15T10:00:00Z level=info msg="quoted \\"x\\" value" n=1 empty= k="a=b"',
    "a,b,c",
    '"q,1","he said ""hi""",3',
    "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\"] msg",
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "http://x/" "Mozilla/4.08"',
]


@st.composite
def log_lines(draw):
    base = draw(st.sampled_from(SEEDS))
    ops = draw(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 8), st.text(max_size=6)), max_size=4))
    for pos, cut, insert in ops:
        pos %= len(base) + 1
        base = base[:pos] + insert + base[pos + cut:]
    return base


LINES = st.one_of(log_lines(), st.text(max_size=200).map(lambda s: s.replace("\n", " ").replace("\r", " ")))


def _check_event(event):
    assert event is None or type(event) is dict
    if event:
        for fmt in (to_json, to_default, to_logfmt):
            out = fmt(event)
            assert isinstance(out, bytes)
        json.loads(to_json(event))


@fuzz_settings(300)
@given(fmt=st.sampled_from(FORMATS), lines=st.lists(LINES, min_size=1, max_size=5))
def test_input_parsers_raise_only_input_errors(fmt, lines):
    parser = make_input_parser(fmt)
    for line in lines:
        for fn, arg in ((parser.parse, line), (parser.parse_bytes, line.encode("utf-8", "surrogatepass"))):
            try:
                event = fn(arg)
            except InputError as err:
                assert err.message
                continue
            except UnicodeError:
                assert fn == parser.parse_bytes  # left to the pipeline's lossy decode
                continue
            _check_event(event)


@fuzz_settings(60)
@given(fmt=st.sampled_from(FORMATS),
       data=st.lists(st.one_of(LINES.map(lambda s: s.encode("utf-8", "surrogatepass")),
                               st.binary(max_size=60), st.just(b""), st.just(b"  ")), max_size=12),
       crlf=st.booleans(), eol=st.booleans())
def test_runs_on_arbitrary_bytes_keep_the_accounting(fmt, data, crlf, eol):
    blob = (b"\r\n" if crlf else b"\n").join(x.replace(b"\n", b" ").replace(b"\r", b" ") for x in data)
    if eol and blob:
        blob += b"\n"
    res = run(["-f", fmt, "--stats=json"], blob)
    assert res.code in (0, 1), res.err
    doc = res.stats()
    assert_accounting(doc)
    expected = blob.count(b"\n") + (1 if blob and not blob.endswith(b"\n") else 0)
    assert doc["lines"]["read"] == expected


# ----------------------------------------------------------------------------------- script parser

TOKENS = ["e", "e.a", "e.s", "e.m", "x", "let x =", "let y =", "=", "+=", "+", "-", "*", "/", "%", "**",
          "==", "!=", "<", ">", "&&", "||", "!", "(", ")", "[", "]", "{", "}", "#{", ":", ",", ";", ".",
          "?.", "??", "1", "0", "-1", "2.5", "1e400", '"s"', "'c'", "`t ${x}`", 'r"\\d"', "true", "false",
          "()", "if", "else", "while", "loop", "for", "in", "break", "continue", "return", "fn f(a)",
          "f(1)", "|v| v", "len()", ".len()", ".to_upper()", ".split(\",\")", "parse_json(e.s)",
          "to_json(e)", "e.a.to_int()", "skip()", "emit_each([e])", "track_sum(\"n\", 1)", "try", "catch",
          "switch", "=>", "_", "0..3", "..", "this", "Fn(\"len\")", "call", "type_of(x)", "\n"]


@fuzz_settings(400)
@given(st.one_of(st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join), st.text(max_size=80)),
       st.sampled_from(["script", "expression"]))
def test_script_parser_raises_only_script_errors(text, mode):
    try:
        prog = compile_script(text, mode=mode, stage="exec" if mode == "script" else "filter",
                              max_operations=20_000)
    except ScriptError as err:
        assert err.render()  # renders a diagnostic, never crashes
        return
    ctx = RunContext(env={})
    event = {"a": 1, "s": '{"k":[1,2]}', "m": {"x": "y"}}
    try:
        prog.run(Scope(event, {"line": "", "line_num": 1}, ctx, {}))
    except (ScriptError, SkipEvent, ExitRequest):
        pass
    _check_event(event)
