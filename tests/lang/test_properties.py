"""Property tests: whatever the text, compile_script raises only KeloraError, with sane spans."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kelora.context import RunContext, Scope
from kelora.errors import KeloraError, ScriptError
from kelora.lang import compile_script

TOKENS = [
    "e", "e.a", "e.b", "x", "let", "x", "=", "==", "!=", "+", "-", "*", "/", "%", "**", "&&", "||",
    "!", "<", ">=", "<<", "&", "|", "^", "??", "..", "..=", "in", "(", ")", "[", "]", "{", "}", "#{",
    ",", ":", ";", ".", "?.", "1", "0", "-1", "2.5", '"s"', '"\\d"', "'c'", "r\"x\"", '#"r"#', "`t${1}`",
    "true", "false", "()", "if", "else", "for", "while", "loop", "break", "continue", "return",
    "fn", "f", "switch", "=>", "_", "try", "catch", "throw", "len", "push", "map", "|x|", "x + 1",
    "+=", "??=", "//c\n", "/* c */", "\n", "`", '"', "'", "@", "$", "\\",
]

token_scripts = st.lists(st.sampled_from(TOKENS), max_size=14).map(" ".join)
random_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


def _check(text: str, mode: str) -> None:
    try:
        prog = compile_script(text, label="prop", mode=mode, max_operations=2000)
    except KeloraError as exc:
        _check_span(exc, text)
        return
    try:
        prog.run(Scope({"a": 1, "b": "x"}, {"line": ""}, RunContext(env={})))
    except KeloraError as exc:
        _check_span(exc, None)


def _check_span(exc: KeloraError, text: str | None) -> None:
    if isinstance(exc, ScriptError) and exc.span is not None:
        src = exc.source.text if exc.source is not None else text
        assert src is not None
        assert 0 <= exc.span.start <= exc.span.end <= len(src), (exc.span, len(src), exc.message)
        exc.render()


compile_script("1")  # sets the recursion limit once, before hypothesis records it

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(token_scripts, st.sampled_from(["script", "expression"]))
def test_token_soup_only_raises_kelora_errors(text, mode):
    _check(text, mode)


@_SETTINGS
@given(random_text, st.sampled_from(["script", "expression"]))
def test_random_text_only_raises_kelora_errors(text, mode):
    _check(text, mode)
