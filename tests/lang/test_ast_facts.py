"""What a run needs is read from its scripts' ASTs, never from their text (issue 16).

A comment or a string that mentions ``meta``, ``line`` or ``pseudonym`` changes nothing: the run
still takes the fast JSON read loop (no ``meta`` built per line) and derives no key.
"""
from __future__ import annotations

import pytest

from kelora import keyring
from kelora.cli.app import run_command
from kelora.lang import compile_script
from kelora.run import ingest
from kelora.run.env import Env

DATA = b'{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n'


def _run(monkeypatch, args, environ=None):
    """Run in-process; report whether the fast JSON loop ran and whether the key was prefetched."""
    seen = {"fast": 0, "prefetch": 0}
    fast = ingest.InputLoop._read_json_fast
    prefetch = keyring.prefetch

    def spy_fast(self, src, *rest):
        seen["fast"] += 1
        return fast(self, src, *rest)

    def spy_prefetch(ctx):
        seen["prefetch"] += 1
        return prefetch(ctx)

    monkeypatch.setattr(ingest.InputLoop, "_read_json_fast", spy_fast)
    monkeypatch.setattr(keyring, "prefetch", spy_prefetch)
    env = Env.for_test(stdin=DATA, environ=environ or {})
    code = run_command(["-j", "-F", "json", *args], env=env)
    assert code == 0, env.stderr.getvalue()
    return seen, env.stdout.getvalue().decode()


@pytest.mark.parametrize("script", [
    "// meta\ne.c = 1",
    "/* line */ e.c = 1",
    'e.c = 1; e.d = "meta line"',
    "e.line = 1; e.c = 1; e.line = ()",  # a field called line is not the line
])
def test_a_mention_of_meta_keeps_the_fast_path(monkeypatch, script):
    seen, out = _run(monkeypatch, ["-e", script])
    assert seen["fast"] == 1, script
    assert out.count('"c":1') == 2


@pytest.mark.parametrize("script", ["e.c = meta.line_num", "e.c = line.len()", "e.c = `${meta.line_num}`",
                                    "fn f(m) { m.line_num } e.c = f(meta)"])
def test_a_use_of_meta_builds_it(monkeypatch, script):
    seen, out = _run(monkeypatch, ["-e", script])
    assert seen["fast"] == 0, script
    assert '"c":' in out and '"c":()' not in out


def test_meta_used_by_an_include_file(monkeypatch, tmp_path):
    inc = tmp_path / "inc.rhai"
    inc.write_text("fn n() { 7 }\nlet num = meta.line_num;\n")
    seen, out = _run(monkeypatch, ["-I", str(inc), "-e", "e.c = num"])
    assert seen["fast"] == 0
    assert '"c":1' in out and '"c":2' in out


@pytest.mark.parametrize("script", ['// pseudonym(e.b, "users")\ne.c = 1', 'e.c = "pseudonym"',
                                    "e.pseudonym = 1"])
def test_a_mention_of_pseudonym_derives_no_key(monkeypatch, script):
    seen, _ = _run(monkeypatch, ["-e", script], environ={"KELORA_SECRET": "facts test secret"})
    assert seen["prefetch"] == 0, script


@pytest.mark.parametrize("args", [["-e", 'e.c = pseudonym(e.b, "users")'],
                                  ["--filter", 'pseudonym(e.b, "users") != ""'],
                                  ["--end", 'print(pseudonym("x", "users"))']])
def test_a_call_of_pseudonym_prefetches_the_key(monkeypatch, args):
    seen, _ = _run(monkeypatch, args, environ={"KELORA_SECRET": "facts test secret"})
    assert seen["prefetch"] == 1


def test_program_uses_lists_the_special_names():
    assert compile_script("e.a = meta.line; // conf\n").uses == {"e", "meta"}
    assert compile_script('e.a = "state"').uses == {"e"}
    assert compile_script("fn f() { line } f()").uses == {"line"}
    assert compile_script("conf.x > 1 && metrics.n == ()", mode="expression", stage="filter").uses == {
        "conf", "metrics"}


def _hints(args):
    env = Env.for_test(stdin=DATA, environ={})
    run_command(["-j", *args], env=env)
    return env.stderr.getvalue()


def test_end_of_run_hints_read_the_filter_ast_not_its_text():
    # a field named only in a comment is not "referenced"
    assert "unseen field" not in _hints(["--filter", "e.a > 5 // was e.zzz"])
    assert "unseen field: zzz" in _hints(["--filter", "e.zzz > 5"])
    assert "unseen field: zzz" in _hints(["--filter", 'e.a > 5 && `${e.zzz}` == "1"'])
    # an assignment in a comment does not make a field "present" for -k
    assert "names field 'zz'" in _hints(["-e", "// e.zz = 1", "-k", "zz"])
    assert "names field 'zz'" not in _hints(["-e", "e.zz = 1", "-k", "zz"])
    # the quoted-number hint comes from the comparison itself
    assert 'compares e.a to the string "7"' in _hints(["--filter", 'e.a == "7"'])
    assert "compares e.a" not in _hints(["--filter", 'e.a == 7 // not e.a == "7"'])
