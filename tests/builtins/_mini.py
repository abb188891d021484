"""A tiny evaluator for docstring examples: the real parser, literals, calls, try/catch.

It lets these tests check every example of the general-purpose builtins before (and
independently of) the script compiler; tests/test_builtin_docs.py runs them for real.
"""
from __future__ import annotations

from kelora import values
from kelora.builtins.registry import load_all
from kelora.errors import FunctionError
from kelora.lang import ast
from kelora.lang.lower import to_ast

REGISTRY = load_all()


class Unsupported(Exception):
    """The example needs a language feature or a builtin this evaluator does not have."""


def call(name: str, args: list, ctx):
    entry = REGISTRY.get(name)
    if entry is None:
        raise Unsupported(f"no builtin {name}")
    if not entry.accepts_arity(len(args)):
        raise FunctionError(f"{name}() takes {entry.arity_text()} arguments, got {len(args)}")
    entry.check_types(args)
    return entry.func(ctx, *args) if entry.pass_context else entry.func(*args)


def evaluate(node, ctx):
    t = type(node)
    if t is ast.Literal:
        return node.value
    if t is ast.ArrayLit:
        return [evaluate(x, ctx) for x in node.items]
    if t is ast.MapLit:
        return {k: evaluate(v, ctx) for k, v in zip(node.keys, node.values)}
    if t is ast.Call:
        return call(node.name, [evaluate(a, ctx) for a in node.args], ctx)
    if t is ast.Prop:
        obj = evaluate(node.obj, ctx)
        return obj.get(node.name) if isinstance(obj, dict) else call(node.name, [obj], ctx)
    if t is ast.Unary and node.op == "-":
        return -evaluate(node.operand, ctx)
    if t is ast.Block or t is ast.Script:
        result = None
        for s in node.stmts:
            result = evaluate(s, ctx)
        return result
    if t is ast.Try:
        try:
            return evaluate(node.body, ctx)
        except FunctionError:
            return evaluate(node.handler, ctx)
    raise Unsupported(type(node).__name__)


def run(script: str, ctx):
    return evaluate(to_ast(script, "script"), ctx)


def jsonable(v):
    if isinstance(v, values.DateTime):
        return v.iso()
    if isinstance(v, values.Duration):
        return v.display()
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, values.Char):
        return str(v)
    return v
