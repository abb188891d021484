"""The grammar: named terminals only, shipped with the package, parser built lazily."""
from __future__ import annotations

import subprocess
import sys

import pytest

from kelora.errors import KeloraError
from kelora.lang import compile_script
from kelora.lang.parser import TERMINAL_TEXT, get_parser, grammar_text, terminal_text


def test_grammar_has_no_anonymous_terminals():
    parser = get_parser()
    names = [t.name for t in parser.terminals]
    assert not [n for n in names if n.startswith("__ANON")], names


def test_every_terminal_has_readable_text():
    for t in get_parser().terminals:
        text = terminal_text(t.name)
        assert "ANON" not in text and text, t.name
        if not (t.name.isalpha() and t.name.isupper()) or t.name in TERMINAL_TEXT:
            assert t.name in TERMINAL_TEXT or t.name in ("COMMENT", "BLOCK_COMMENT", "WS"), t.name


@pytest.mark.parametrize("src", ["e.a ==", "e.a = = 1", "1 +", "(", "#{a:", "e.x = [1,", "if x {", "|x", "e.a @"])
def test_error_messages_never_show_terminal_names(src):
    for mode in ("script", "expression"):
        with pytest.raises(KeloraError) as info:
            compile_script(src, mode=mode)
        msg = info.value.render()
        assert "__ANON" not in msg and "$END" not in msg
        for name in ("LPAR", "RPAR", "NAME", "SEMI", "COMMA", "ADD_OP", "CMP_OP", "RBRACE", "OROR"):
            assert name not in msg, msg


def test_grammar_text_is_loadable():
    assert "expression: expr" in grammar_text()


def test_importing_the_language_does_not_import_lark():
    code = "import kelora.lang, sys; print('lark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
