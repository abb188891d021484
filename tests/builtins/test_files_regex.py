import os
import re

import pytest

from kelora.builtins import rust_regex as _regex
from kelora.context import RunContext
from kelora.errors import FunctionError
from tests.builtins._mini import call


def test_get_env_reads_the_run_environment():
    ctx = RunContext(env={"APP_ENV": "prod", "EMPTY": ""})
    assert call("get_env", ["APP_ENV"], ctx) == "prod"
    assert call("get_env", ["EMPTY", "d"], ctx) == ""
    assert call("get_env", ["MISSING"], ctx) == ""
    assert call("get_env", ["MISSING", 5], ctx) == 5
    with pytest.raises(FunctionError):
        call("get_env", [None], ctx)


@pytest.fixture
def begin_ctx():
    ctx = RunContext(env={})
    ctx.stage = "begin"
    return ctx


def test_read_file_and_lines(tmp_path, begin_ctx):
    p = tmp_path / "t.txt"
    p.write_bytes("\ufeffa,b\r\nc\n\nd".encode())
    assert call("read_file", [str(p)], begin_ctx) == "a,b\r\nc\n\nd"
    assert call("read_lines", [str(p)], begin_ctx) == ["a,b", "c", "", "d"]
    (tmp_path / "e.txt").write_text("")
    assert call("read_lines", [str(tmp_path / "e.txt")], begin_ctx) == []
    (tmp_path / "one.txt").write_text("x\n")
    assert call("read_lines", [str(tmp_path / "one.txt")], begin_ctx) == ["x"]


def test_read_lines_ends_lines_at_newline_only(tmp_path, begin_ctx):
    # as Kelora (Rust's str::lines): form feed, U+2028, U+0085, \x1d stay in their line; a
    # "\r" is dropped only before "\n"
    p = tmp_path / "t.txt"
    p.write_bytes("a\x0cb\nc\u2028d\r\ne\x1df\u0085g\nlast\r".encode())
    assert call("read_lines", [str(p)], begin_ctx) == ["a\x0cb", "c\u2028d", "e\x1df\u0085g", "last\r"]


def test_read_file_refuses_a_fifo_instead_of_waiting(tmp_path, begin_ctx):
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    for fn in ("read_file", "read_lines"):
        with pytest.raises(FunctionError, match="not a regular file"):
            call(fn, [str(fifo)], begin_ctx)


def test_read_file_past_the_string_limit_is_a_limit_error(tmp_path, begin_ctx):
    from kelora.builtins.limits import MAX_STR

    big = tmp_path / "big"
    with open(big, "wb") as fh:
        fh.truncate(MAX_STR + 1)  # (sparse: no disk used)
    with pytest.raises(FunctionError, match="exceeds the limit") as err:
        call("read_file", [str(big)], begin_ctx)
    assert err.value.kind == "limit"


@pytest.mark.parametrize("stage", ["exec", "filter", "end"])
@pytest.mark.parametrize("fn", ["read_file", "read_lines"])
def test_read_only_in_begin(tmp_path, fn, stage):
    p = tmp_path / "t.txt"
    p.write_text("x")
    ctx = RunContext(env={})
    ctx.stage = stage
    with pytest.raises(FunctionError) as info:
        call(fn, [str(p)], ctx)
    assert info.value.message == f"{fn}() can only be called during --begin phase"


def test_read_missing_file(begin_ctx, tmp_path):
    with pytest.raises(FunctionError) as info:
        call("read_file", [str(tmp_path / "nope")], begin_ctx)
    assert "cannot read" in info.value.message and "nope" in info.value.message


@pytest.mark.parametrize("fn,args", [("append_file", ["x"]), ("truncate_file", []), ("mkdir", [])])
def test_writes_need_the_flag(tmp_path, fn, args):
    target = tmp_path / "out"
    with pytest.raises(FunctionError) as info:
        call(fn, [str(target), *args], RunContext(env={}))
    assert "--allow-fs-writes" in info.value.message
    assert not target.exists()


def test_writes_with_the_flag(tmp_path):
    ctx = RunContext(env={}, allow_fs_writes=True)
    d = tmp_path / "a" / "b"
    call("mkdir", [str(d), True], ctx)
    assert d.is_dir()
    call("mkdir", [str(d)], ctx)  # existing is fine
    f = d / "log.txt"
    call("append_file", [str(f), "one"], ctx)
    call("append_file", [str(f), "two\n"], ctx)
    call("append_file", [str(f), ["x", 1, None]], ctx)
    assert f.read_text() == "one\ntwo\nx\n1\n\n"
    call("truncate_file", [str(f)], ctx)
    assert f.read_text() == ""
    with pytest.raises(FunctionError):
        call("mkdir", [str(tmp_path / "x" / "y")], ctx)  # parent missing, not recursive
    with pytest.raises(FunctionError):
        call("append_file", [str(tmp_path / "no" / "f")], ctx)


# ----------------------------------------------------------------- the regex helper

@pytest.mark.parametrize(
    "rust,python",
    [
        ("abc", "abc"),
        ("(?<y>\\d+)", "(?P<y>\\d+)"),
        ("(?<=a)b(?<!c)", "(?<=a)b(?<!c)"),
        ("(?P<n>x)", "(?P<n>x)"),
        ("a\\z", "a\\Z"),
        ("[[:digit:][:upper:]]", "[0-9A-Z]"),
        ("[]x]", "[\\]x]"),
        ("[^]x]", "[^\\]x]"),
        ("\\p{N}", "\\d"),
        ("\\PL", "[\\W\\d_]"),
        ("(?i)a", "(?i)a"),
        ("a(?i)b", "a(?i:b)"),
        ("(a(?s)b)c", "(a(?s:b))c"),
        ("\\(x\\)", "\\(x\\)"),
        ("[\\p{L}_-]+", "(?:[_-]|[^\\W\\d_])+"),
        ("[\\p{L}]", "(?:[^\\W\\d_])"),
        ("[a\\p{Lu}]", "[aA-Z]"),
    ],
)
def test_translate_pattern(rust, python):
    assert _regex.translate_pattern(rust) == python
    re.compile(python)


def test_compile_regex_caches_and_reports():
    a = _regex.compile_regex("x+y")
    assert _regex.compile_regex("x+y") is a
    assert _regex.compile_regex("X", ignore_case=True).match("x")
    with pytest.raises(FunctionError) as info:
        _regex.compile_regex("a{2,1}")
    assert info.value.message.startswith("Invalid regex pattern 'a{2,1}': ")
    assert _regex.regex_error("(") is not None and _regex.regex_error("ok") is None


def test_compile_or_warn():
    warnings = []
    from kelora.context import Diagnostics

    ctx = RunContext(env={}, diagnostics=Diagnostics(warn_fn=warnings.append))
    assert _regex.compile_or_warn(ctx, "[") is None
    assert _regex.compile_or_warn(ctx, "[") is None
    assert _regex.compile_or_warn(ctx, "a").pattern == "a"
    assert warnings == ["invalid regex '[': unterminated character set at position 0"]
    assert _regex.compile_or_warn(None, "[") is None


@pytest.mark.parametrize(
    "repl,want",
    [("$1", "\\g<1>"), ("${1}x", "\\g<1>x"), ("$1x", ""), ("$name", "\\g<name>"), ("${name}", "\\g<name>"),
     ("$$", "$"), ("a\\b", "a\\\\b"), ("$", "$"), ("${", "${"), ("$7", ""), ("$0", "\\g<0>"), ("plain", "plain")],
)
def test_rust_template(repl, want):
    assert _regex.rust_template(_regex.compile_regex("(?P<name>a)(b)"), repl) == want


def test_rust_sub_literal_backslashes():
    c = _regex.compile_regex("(\\w+)@(\\w+)")
    assert _regex.rust_sub(c, "$2\\$1", "me@host") == "host\\me"
    assert _regex.rust_sub(c, "[$0]", "a@b c@d", count=1) == "[a@b] c@d"


def test_dollar_is_end_of_text_like_rust():
    assert _regex.translate_pattern("a$") == "a\\Z"
    assert _regex.compile_regex("a$").search("a\n") is None
    assert _regex.compile_regex("(?m)^a$").search("a\nb")
    assert _regex.translate_pattern("[$]\\$") == "[$]\\$"
