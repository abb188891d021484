"""The API the pipeline uses: compile_script, Program.run and the analysis flags."""
from __future__ import annotations

import pytest

from kelora.builtins import registry
from kelora.context import RunContext, Scope
from kelora.errors import (ExitRequest, FatalError, FunctionError, ScriptCompileError,
                           ScriptRuntimeError, ScriptSyntaxError, SkipEvent)
from kelora.lang import compile_script


def scope(e=None, **kw):
    return Scope({} if e is None else e, kw.pop("meta", {"line": "raw"}), kw.pop("ctx", RunContext(env={})),
                 kw.pop("vars", None))


@pytest.fixture
def temp_builtins():
    """Register throwaway builtins for one test and remove them afterwards."""
    added = []

    def add(func, **kw):
        name = kw.pop("name", func.__name__)
        registry.builtin("test", name=name, **kw)(func)
        added.append(name)
        return func

    yield add
    for name in added:
        registry.REGISTRY.pop(name, None)


def test_program_attributes():
    p = compile_script("e.x = 1", label="exec script 1")
    assert p.source.label == "exec script 1" and p.source.text == "e.x = 1"
    assert p.mutates_event and not p.mutates_nested and not p.declares_vars
    assert p.calls == frozenset()
    p = compile_script("let t = e.a.len(); e.b.c = t; e.tags.push(1)")
    assert p.mutates_event and p.mutates_nested and p.declares_vars
    assert {"len", "push"} <= p.calls
    assert not compile_script("e.a > 1", mode="expression").mutates_event
    assert compile_script("e = ()").mutates_event
    assert compile_script("e.a += 1").mutates_event


def test_vars_are_shared_between_stages_of_one_event():
    s = scope({"u": "ann"})
    compile_script('let token = e.u + "!"').run(s)
    assert compile_script("token", mode="expression").run(s) == "ann!"
    assert s.vars == {"token": "ann!"}


def test_run_returns_last_value_and_none_for_statements():
    assert compile_script("1; 2").run(scope()) == 2
    assert compile_script("let x = 1;").run(scope()) is None


def test_builtin_function_error_gets_span_and_missing_flag(temp_builtins):
    def kl_test_kaboom(x):
        """Fail.

        Examples:
            kl_test_kaboom(1)  =>  null
        """
        raise FunctionError("kl_test_kaboom failed", missing_field=x is None)

    temp_builtins(kl_test_kaboom)
    with pytest.raises(ScriptRuntimeError) as info:
        compile_script("e.y = kl_test_kaboom(e.x)").run(scope())
    assert info.value.message == "kl_test_kaboom failed (e.x is missing)" and info.value.missing_field
    assert info.value.span.start == 6 and info.value.source.label == "script"


def test_builtin_python_exception_is_wrapped(temp_builtins):
    def kl_test_divide_badly(x):
        """Divide.

        Examples:
            kl_test_divide_badly(1)  =>  null
        """
        return 1 / x

    temp_builtins(kl_test_divide_badly)
    with pytest.raises(ScriptRuntimeError) as info:
        compile_script("kl_test_divide_badly(0)").run(scope())
    assert "kl_test_divide_badly()" in info.value.message


@pytest.mark.parametrize("exc", [SkipEvent(), ExitRequest(3), FatalError("stop")])
def test_control_flow_and_fatal_errors_pass_through(temp_builtins, exc):
    def kl_test_control():
        """Raise.

        Examples:
            kl_test_control()  =>  null
        """
        raise exc

    temp_builtins(kl_test_control, pure=False)
    with pytest.raises(type(exc)):
        compile_script("try { kl_test_control() } catch { 1 }").run(scope())


def test_pass_context_builtin_gets_the_run_context(temp_builtins):
    seen = []

    def kl_test_ctx_probe(ctx, x):
        """Probe.

        Examples:
            kl_test_ctx_probe(1)  =>  null
        """
        seen.append((ctx, x))

    temp_builtins(kl_test_ctx_probe, pass_context=True)
    ctx = RunContext(env={})
    compile_script("kl_test_ctx_probe(5); 5.kl_test_ctx_probe()").run(scope(ctx=ctx))
    assert seen == [(ctx, 5), (ctx, 5)]


def test_type_checks_use_annotations(temp_builtins):
    def kl_test_wants_str(s: str) -> str:
        """Echo.

        Examples:
            kl_test_wants_str("a")  =>  "a"
        """
        return s

    temp_builtins(kl_test_wants_str)
    assert compile_script('kl_test_wants_str("a")').run(scope()) == "a"
    with pytest.raises(ScriptRuntimeError) as info:
        compile_script("kl_test_wants_str(e.nope)").run(scope())
    assert info.value.missing_field and "must be string" in info.value.message


def test_compile_literal_hook(temp_builtins):
    def kl_test_matches(text: str, pattern: str) -> bool:
        """Match.

        Examples:
            kl_test_matches("a", "a")  =>  true
        """
        return text == pattern

    def compile_literal(args):
        if isinstance(args[1], str):
            fixed = args[1].upper()
            return lambda text, pattern: text == fixed
        return None

    kl_test_matches.compile_literal = compile_literal
    temp_builtins(kl_test_matches)
    assert compile_script('kl_test_matches(e.t, "ab")').run(scope({"t": "AB"})) is True


def test_prelude_functions_and_statements():
    prelude = 'fn shout(s) { s + "!" }\nlet greeting = "hi";'
    p = compile_script("e.x = shout(greeting)", prelude=prelude)
    s = scope()
    p.run(s)
    assert s.e == {"x": "hi!"}
    assert compile_script("shout(e.a) == \"a!\"", mode="expression",
                          prelude='fn shout(s) { s + "!" }').run(scope({"a": "a"})) is True


def test_prelude_with_statements_rejected_for_filters():
    with pytest.raises(ScriptCompileError) as info:
        compile_script("true", mode="expression", prelude="let x = 1;")
    assert info.value.message == (
        "--include file cannot contain statements when used with --filter; "
        "only function definitions are allowed")


def test_prelude_errors_point_into_the_include_file():
    with pytest.raises(ScriptSyntaxError) as info:
        compile_script("1", label="exec script 1", prelude="fn f( {")
    assert info.value.source.label == "exec script 1 (include)"
    with pytest.raises(ScriptRuntimeError) as info:
        compile_script("f()", label="exec script 1", prelude="fn f() { 1 / 0 }").run(scope())
    assert info.value.source.label == "exec script 1 (include)"


def test_compile_errors_carry_source():
    with pytest.raises(ScriptCompileError) as info:
        compile_script("nosuch()", label="filter", mode="expression")
    assert info.value.source.label == "filter" and info.value.kind == "unknown-function"


def test_limits_are_configurable_and_deep_recursion_is_safe():
    with pytest.raises(ScriptRuntimeError) as info:
        compile_script("loop { }", max_operations=100).run(scope())
    assert info.value.kind == "limit"
    with pytest.raises(ScriptRuntimeError) as info:
        compile_script("fn f(n) { f(n + 1) } f(0)", max_call_depth=10).run(scope())
    assert info.value.kind == "limit"
    # the default depth works without a Python RecursionError
    assert compile_script("fn d(n) { if n == 0 { 0 } else { 1 + d(n - 1) } } d(60)").run(scope()) == 60


def test_string_and_array_growth_limits():
    with pytest.raises(ScriptRuntimeError) as info:
        compile_script('let s = "x"; loop { s += s }').run(scope())
    assert info.value.kind == "limit" and "string length" in info.value.message


@pytest.mark.parametrize("n", [300, 5000])
@pytest.mark.parametrize("shape", ["({}1{})", "[{}]", "-{}1", "if true {{{}1}}"])
def test_deeply_nested_source_is_a_kelora_error(shape, n):
    if shape == "({}1{})":
        text = "(1 + " * n + "1" + ")" * n
    elif shape == "[{}]":
        text = "[" * n + "]" * n
    elif shape == "-{}1":
        text = "-" * n + "1"
    else:
        text = "if true {" * n + "1" + "}" * n
    try:
        compile_script(text).run(scope())
    except (ScriptSyntaxError, ScriptCompileError) as exc:
        assert exc.kind == "limit"


def test_no_python_attribute_access():
    s = scope({"a": "x"})
    for src in ("e.__class__", "e.a.__class__", "len.__globals__", "e.keys", '"".__doc__'):
        try:
            v = compile_script(src).run(s)
        except (ScriptRuntimeError, ScriptCompileError, ScriptSyntaxError):
            continue
        assert v is None or isinstance(v, (int, str, list)), (src, v)


def test_e_assignment_rules():
    s = scope({"a": 1})
    compile_script("e = ()").run(s)
    assert s.e is None
    s = scope({"a": 1})
    compile_script('e = #{b: 2}').run(s)
    assert s.e == {"b": 2}


def test_builtins_can_declare_they_mutate_their_receiver(temp_builtins):
    def kl_test_stamp(m: dict) -> None:
        """Stamp.

        Examples:
            kl_test_stamp(#{})  =>  null
        """
        m["stamped"] = True

    temp_builtins(kl_test_stamp, pure=False, mutates=True)
    p = compile_script("e.kl_test_stamp()")
    assert p.mutates_event and not p.mutates_nested
    p = compile_script("e.inner.kl_test_stamp()")
    assert p.mutates_event and p.mutates_nested
    assert not compile_script("#{}.kl_test_stamp()").mutates_event


def test_a_script_without_calls_loads_no_builtin_module():
    """Start-up: the ~25 builtin modules load at the first function lookup, not before."""
    import subprocess
    import sys

    code = ("import sys; from kelora.lang.program import compile_script; "
            "p = compile_script('e.status >= 500 && e.path != \"/\"', mode='expression', stage='filter'); "
            "assert p.run(type('S', (), {'e': {'status': 503, 'path': '/x'}})()) is True; "
            "print(sorted(m for m in sys.modules if m.startswith('kelora.builtins.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['kelora.builtins.registry']"
    code = ("import sys; from kelora.lang.program import compile_script; "
            "compile_script('e.n = e.s.len()'); print('kelora.builtins.strings' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"
