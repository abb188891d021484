"""Statement compilers: `let`, assignment, loops, `try`, and the control-flow statements.

Loops count one operation per iteration against ``Runtime.max_ops`` (so `while true {}` stops);
`break`/`continue`/`return` are exceptions caught by the enclosing loop or function.
"""
from __future__ import annotations

from kelora.errors import ScriptCompileError, ScriptRuntimeError
from kelora.lang import ast
from kelora.lang.compiler import UNCATCHABLE, compiles, value_of
from kelora.lang.ops import deep_copy
from kelora.lang.places import compile_assign
from kelora.lang.runtime import BREAK, CONTINUE, BreakSignal, ContinueSignal, ReturnSignal, rterr
from kelora.values import Char, to_string, type_name


@compiles(ast.Block)
def _block(c, node, cx):
    return c.block(node, cx)


@compiles(ast.Let)
def _let(c, node, cx):
    value = value_of(c, node.value, cx) if node.value is not None else (lambda s: None)
    if cx.kind == "top" and len(cx.scopes) == 1:
        cx.top_lets.add(node.name)
        name = node.name

        def let_top(s):
            s.vars[name] = value(s)
        return let_top
    slot = cx.alloc(node.name)
    rt = c.rt

    def let_local(s):
        rt.frame[slot] = value(s)
    return let_local


@compiles(ast.Assign)
def _assign(c, node, cx):
    return compile_assign(c, node, cx)


@compiles(ast.While)
def _while(c, node, cx):
    cond = c.expr(node.cond, cx)
    body = c.block(node.body, cx)
    rt, span = c.rt, node.span
    cspan = node.cond.span

    def while_(s):
        while True:
            v = cond(s)
            if v is not True:
                if v is False:
                    return None
                raise rterr(f"`while` condition must be a bool, got {type_name(v)}", cspan, missing=v is None)
            rt.ops += 1
            if rt.ops > rt.max_ops:
                raise rt.too_many_ops(span)
            try:
                body(s)
            except BreakSignal:
                return None
            except ContinueSignal:
                pass
    return while_


@compiles(ast.Loop)
def _loop(c, node, cx):
    body = c.block(node.body, cx)
    rt, span = c.rt, node.span

    def loop(s):
        while True:
            rt.ops += 1
            if rt.ops > rt.max_ops:
                raise rt.too_many_ops(span)
            try:
                body(s)
            except BreakSignal:
                return None
            except ContinueSignal:
                pass
    return loop


@compiles(ast.For)
def _for(c, node, cx):
    iterable = c.expr(node.iterable, cx)
    scope: dict[str, int] = {}
    cx.scopes.append(scope)
    var_slot = cx.alloc(node.var)
    idx_slot = cx.alloc(node.index_var) if node.index_var else -1
    cx.scopes.pop()
    body = c.block(node.body, cx, scope)
    rt, span, ispan = c.rt, node.span, node.iterable.span

    def for_(s):
        v = iterable(s)
        t = type(v)
        if t is list:
            items = list(v)
        elif t is range:
            items = v
        elif t is str or t is Char:
            items = [Char(ch) for ch in v]
        else:
            hint = "iterate over m.keys() or m.values()" if t is dict else None
            raise rterr(f"cannot iterate over {type_name(v)}", ispan, missing=v is None, hint=hint)
        frame = rt.frame
        for i, x in enumerate(items):
            rt.ops += 1
            if rt.ops > rt.max_ops:
                raise rt.too_many_ops(span)
            # the loop variable is a copy (Rhai clones): `for x in conf.l { x.push(1) }` must not
            # change conf, nor `x.a = 1` the event behind the stage's snapshot
            frame[var_slot] = x if type(x) is not list and type(x) is not dict else deep_copy(x, rt)
            if idx_slot >= 0:
                frame[idx_slot] = i
            try:
                body(s)
            except BreakSignal:
                return None
            except ContinueSignal:
                pass
        return None
    return for_


@compiles(ast.Try)
def _try(c, node, cx):
    body = c.block(node.body, cx)
    scope: dict[str, int] = {}
    slot = -1
    if node.err_name:
        cx.scopes.append(scope)
        slot = cx.alloc(node.err_name)
        cx.scopes.pop()
    handler = c.block(node.handler, cx, scope)
    rt = c.rt

    def try_(s):
        frame = rt.frame
        try:
            return body(s)
        except ScriptRuntimeError as x:
            if x.kind in UNCATCHABLE:
                raise
            rt.frame = frame
            if slot >= 0:
                frame[slot] = x.value if x.kind == "throw" else x.message
            return handler(s)
    return try_


@compiles(ast.Break)
def _break(c, node, cx):
    def break_(s):
        raise BREAK
    return break_


@compiles(ast.Continue)
def _continue(c, node, cx):
    def continue_(s):
        raise CONTINUE
    return continue_


@compiles(ast.Return)
def _return(c, node, cx):
    value = c.expr(node.value, cx) if node.value is not None else (lambda s: None)

    def return_(s):
        raise ReturnSignal(value(s))
    return return_


@compiles(ast.Throw)
def _throw(c, node, cx):
    value = c.expr(node.value, cx) if node.value is not None else (lambda s: None)
    span = node.span

    def throw(s):
        v = value(s)
        raise rterr(to_string(v) if v is not None else "exception thrown", span, kind="throw", value=v)
    return throw


@compiles(ast.FnDef)
def _fndef(c, node, cx):  # pragma: no cover - lower.py hoists every fn
    raise ScriptCompileError("functions can only be defined at the top level", kind="syntax", span=node.span)
