"""Python-source fast path for simple scripts (no loops, closures, fns or block locals).

The closure compiler stays the reference; this module turns the hot, straight-line shapes
(`e.name` reads, comparisons with literals, `&&`/`||`, arithmetic, builtin calls, `e.x = ...`,
top-level `let`) into one generated Python function, and embeds the closure of every other node.
Safety: only literals (via ``repr`` of str/int/bool/None), field names (``repr``) and validated
identifiers reach the source; every other value is passed through the namespace.
Errors: a generated statement contains only side-effect-free work, so when anything fails in it
the statement is re-run (with the rest of the script) by the closures, which raise the error
with its exact span.  Statements with side effects are closure calls.
"""
from __future__ import annotations

import math
import re

from kelora.builtins import registry
from kelora.errors import ExitRequest, FunctionError, KeloraError, ScriptError, SkipEvent
from kelora.lang import ast, ops
from kelora.lang.compile import repeat_hint
from kelora.lang.compiler import FnCtx, is_event
from kelora.lang.compile_calls import NOT_CONSTANT, try_fold, wrap_error
from kelora.lang.runtime import ReturnSignal, internal_error, rterr
from kelora.values import type_name

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NUMERIC_TEXT = ops.NUMERIC_TEXT  # (a quoted number: compared through ops.eq, which warns)
_CMP = {"==": "_eq", "!=": "_ne", "<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge"}
_ARITH = {"+": "_add", "-": "_sub", "*": "_mul", "/": "_div", "%": "_mod", "**": "_pow",
          "<<": "_shl", ">>": "_shr", "&": "_band", "|": "_bor", "^": "_bxor"}
_SPECIAL_CODE = {"e": "_e", "meta": "s.meta", "line": "s.meta.get('line')", "conf": "s.ctx.conf",
                 "state": "s.ctx.state"}


class _NoGen(Exception):
    """This node is better left to the closure compiler."""


def _berr(v, span, what):
    raise rterr(f"`{what}` needs bool operands, got {type_name(v)}", span, missing=v is None)


def _iferr(v, span, what):
    raise rterr(f"`if` condition must be a bool, got {type_name(v)}", span, missing=v is None)


class Gen:
    def __init__(self, comp, stage: str):
        self.comp = comp
        self.stage = stage
        self.n = 0
        self.ns: dict = {
            "_NUM": frozenset({int, float}), "_FE": FunctionError,
            "_PASS": (KeloraError, SkipEvent, ExitRequest), "_SE": ScriptError, "_berr": _berr, "_iferr": _iferr,
            "_RET": ReturnSignal,
            "_in": ops.in_, "_neg": ops.neg, "_pos": ops.pos, "_not": ops.not_, "_cp": lambda v, _rt=comp.rt: ops.deep_copy(v, _rt), "_CONT": frozenset({list, dict}),
        }
        self.ns.update({v: ops.BINARY[k] for k, v in _CMP.items()})
        self.ns.update({v: ops.BINARY[k] for k, v in _ARITH.items()})
        self.declared: set[str] = set()
        self.reassigned: set[str] = set()
        self.last_expr: str | None = None  # the code of the last plain expression statement

    def name(self, prefix: str, value) -> str:
        self.n += 1
        key = f"{prefix}{self.n}"
        self.ns[key] = value
        return key

    def tmp(self) -> str:
        self.n += 1
        return f"_t{self.n}"

    def ctx(self) -> FnCtx:
        cx = FnCtx("top")
        cx.top_lets = set(self.declared)
        return cx

    def closure(self, node) -> str:
        return self.name("_c", self.comp.expr(node, self.ctx())) + "(s)"

    # ------------------------------------------------------------ expressions
    def expr(self, node) -> tuple[str, bool]:
        """(python expression, result is certainly a bool)"""
        try:
            method = getattr(self, "x_" + type(node).__name__)
        except AttributeError:
            return self.closure(node), False
        try:
            return method(node)
        except _NoGen:
            return self.closure(node), False

    def x_Literal(self, node):
        v = node.value
        t = type(v)
        if t in (int, str, bool, type(None)) or (t is float and math.isfinite(v)):
            return repr(v), t is bool
        return self.name("_k", v), False

    def x_Var(self, node):
        kind, _ = self.comp.resolve(node.name, self.ctx())
        if kind == "special" and node.name in _SPECIAL_CODE:
            return _SPECIAL_CODE[node.name], False
        if kind == "top" and node.name not in self.reassigned and _IDENT.match(node.name):
            return f"_l_{node.name}", False
        raise _NoGen

    def x_Prop(self, node):
        if node.optional:
            raise _NoGen
        if is_event(self.comp, node.obj, self.ctx()):
            return f"_e.get({node.name!r})", False
        obj, _ = self.expr(node.obj)
        t = self.tmp()
        return f"({t}.get({node.name!r}) if type({t} := {obj}) is dict else {self.closure(node)})", False

    def x_ArrayLit(self, node):  # items read from a place are copies (as in compile._array)
        return "[" + "".join(self.copied(i) + ", " for i in node.items) + "]", False

    def x_MapLit(self, node):
        return "{" + "".join(f"{k!r}: {self.copied(v)}, " for k, v in zip(node.keys, node.values)) + "}", False

    def x_Unary(self, node):
        code, is_bool = self.expr(node.operand)
        if node.op == "!":
            return (f"(not {code})" if is_bool else f"_not({code})"), True
        return f"{'_neg' if node.op == '-' else '_pos'}({code})", False

    def boolean(self, node, what: str, raiser: str = "_berr") -> str:
        code, is_bool = self.expr(node)
        if is_bool:
            return code
        t = self.tmp()
        span = self.name("_s", node.span)
        return f"(({t} := {code}) is True or ({t} is not False and {raiser}({t}, {span}, {what!r})))"

    def x_If(self, node):
        """`if c { a } else { b }` with one expression per branch: a conditional expression."""
        branches = [node.then, node.else_]
        codes = []
        for br in branches:
            if br is None:
                codes.append("None")
            elif isinstance(br, ast.If):
                codes.append(self.x_If(br)[0])
            elif isinstance(br, ast.Block) and len(br.stmts) == 1 and not isinstance(
                    br.stmts[0], (*ast.STATEMENT_TYPES, ast.Block)):
                codes.append(self.expr(br.stmts[0])[0])
            elif isinstance(br, ast.Block) and not br.stmts:
                codes.append("None")
            else:
                raise _NoGen
        cond = self.boolean(node.cond, "if", "_iferr")
        return f"({codes[0]} if {cond} else {codes[1]})", False

    def x_Binary(self, node):
        op = node.op
        if op in ("&&", "||"):
            if repeat_hint(self.comp, node) is not None:  # `a == "x" || "y"`: the closure's hint
                raise _NoGen
            word = "and" if op == "&&" else "or"
            return f"({self.boolean(node.left, op)} {word} {self.boolean(node.right, op)})", True
        if op == "??":
            t = self.tmp()
            left, _ = self.expr(node.left)
            right, _ = self.expr(node.right)
            return f"({t} if ({t} := {left}) is not None else {right})", False
        if op in ("..", "..="):
            raise _NoGen
        left, _ = self.expr(node.left)
        if op in _CMP:
            if isinstance(node.right, ast.Literal):
                c = node.right.value
                tc = type(c)
                if tc is str and op in ("==", "!=") and not _NUMERIC_TEXT.fullmatch(c):
                    return f"({left} {op} {c!r})", True
                # (`e.status == "500"`: the generic _eq, which warns when a number meets the text)
                if tc is int and op != "!=":
                    # int against int compares exactly; a float goes through the generic
                    # function (Rhai's tolerance, values.float_diff)
                    t = self.tmp()
                    return (f"({t} {op} {c!r} if type({t} := {left}) is int "
                            f"else {_CMP[op]}({t}, {c!r}))"), True
            right, _ = self.expr(node.right)
            return f"{_CMP[op]}({left}, {right})", True
        right, _ = self.expr(node.right)
        if op == "in":
            return f"_in({left}, {right})", True
        return f"{_ARITH[op]}({left}, {right})", False

    def x_Call(self, node):
        comp = self.comp
        argc = len(node.args)
        if (node.name, argc) in comp.fns or node.optional or registry.is_dynamic(node.name):
            raise _NoGen
        b = comp.reg.get(node.name)
        if b is None or not b.accepts_arity(argc):
            raise _NoGen
        func = b.func
        hook = getattr(func, "compile_literal", None)
        if hook is not None:  # same contract as compile_calls.builtin_call: a same-signature stand-in
            try:
                func = hook(tuple(a.value if isinstance(a, ast.Literal) else NOT_CONSTANT
                                  for a in node.args)) or func
            except FunctionError:
                raise _NoGen from None
        folded = try_fold(b, node)
        if folded is not NOT_CONSTANT:
            return self.x_Literal(ast.Literal(node.span, folded))
        fn = self.name("_f", func)
        parts, checks = [], []
        for i, a in enumerate(node.args):
            p = b.params[i] if i < len(b.params) else b.variadic
            allowed = p.allowed if p is not None else None
            code, _ = self.expr(a)
            if isinstance(a, ast.Literal):
                if allowed is not None and type(a.value) not in allowed:
                    raise _NoGen
                parts.append(code)
                continue
            t = self.tmp()
            if allowed is None:
                checks.append(f"(({t} := {code}) is {t})")
            else:
                checks.append(f"type({t} := {code}) in {self.name('_al', allowed)}")
            parts.append(t)
        if b.pass_context:
            parts.insert(0, "s.ctx")
        call = f"{fn}({', '.join(parts)})"
        if not checks:
            return call, False
        # a failed type check takes the closure path, which raises the precise error
        return f"({call} if {' and '.join(checks)} else {self.closure(node)})", False

    # ------------------------------------------------------------ statements
    def effect_call(self, node, k: int) -> list[str] | None:
        """Lines for a top-level call of a builtin with side effects (``track_unique(...)``,
        ``print(...)``) whose arguments are replay-safe: the arguments are computed in a
        replayable block (a failure re-runs statement *k* through the closures, before the
        call), then the call runs exactly once, its errors wrapped as the closure wraps them."""
        comp = self.comp
        argc = len(node.args)
        if (node.name, argc) in comp.fns or node.optional or registry.is_dynamic(node.name):
            return None
        b = comp.reg.get(node.name)
        if b is None or not b.accepts_arity(argc) or getattr(b.func, "compile_literal", None):
            return None
        if b.mutates or not all(_replay_safe(a, comp) for a in node.args):
            return None  # (in-place methods stay closures: they check what they may change)
        parts, checks, arg_lines = [], [], []
        for i, a in enumerate(node.args):
            p = b.params[i] if i < len(b.params) else b.variadic
            allowed = p.allowed if p is not None else None
            code, _ = self.expr(a)
            if isinstance(a, ast.Literal):
                if allowed is not None and type(a.value) not in allowed:
                    return None
                parts.append(code)
                continue
            t = self.tmp()
            arg_lines.append(f"{t} = {code}")
            if allowed is not None:
                checks.append(f"type({t}) in {self.name('_al', allowed)}")
            parts.append(t)
        args = "(" + "".join(x + ", " for x in parts) + ")"
        call = f"{self.name('_f', b.func)}({', '.join(['s.ctx'] + parts if b.pass_context else parts)})"
        name, span = self.name("_n", b.name), self.name("_s", node.span)
        lines = []
        if arg_lines:
            lines.append("  try:")
            lines.extend("   " + line for line in arg_lines)
            lines.append(f"  except _FE:\n   return _from(s, {k})\n  except _PASS:\n   raise\n"
                         f"  except Exception:\n   return _from(s, {k})")
        pad = "  "
        if checks:  # a failed type check: the closures raise the precise error (no call made)
            lines.append(f"  if not ({' and '.join(checks)}):\n   return _from(s, {k})")
        wrap = f" raise _wrap(x, {name}, {args}, {span}) from None"
        lines.append(f"{pad}try:\n{pad} _r = {call}\n{pad}except _FE as x:\n{pad}{wrap}\n{pad}except _PASS:\n"
                     f"{pad} raise\n{pad}except Exception as x:\n{pad}{wrap}")
        return lines

    def copied(self, node) -> str:
        """Value of *node*; arrays/maps read from a place are copied (Rhai value semantics)."""
        code, _ = self.expr(node)
        if not isinstance(node, (ast.Var, ast.Prop, ast.Index)):
            return code
        t = self.tmp()
        return f"(_cp({t}) if type({t} := {code}) in _CONT else {t})"

    def statement(self, st) -> list[str] | None:
        comp = self.comp
        if isinstance(st, ast.Let):
            if st.value is None or not _IDENT.match(st.name):
                return None
            code = self.copied(st.value)
            self.declared.add(st.name)
            if st.name in self.reassigned:
                return [f"s.vars[{st.name!r}] = {code}", "_r = None"]
            return [f"_l_{st.name} = {code}", f"s.vars[{st.name!r}] = _l_{st.name}", "_r = None"]
        if isinstance(st, ast.Assign):
            t = st.target
            if not (isinstance(t, ast.Prop) and not t.optional and is_event(comp, t.obj, self.ctx())):
                return None
            if st.op is None and isinstance(st.value, ast.Literal) and st.value.value is None:
                return [f"_e.pop({t.name!r}, None)", "_r = None"]
            code = self.copied(st.value)
            if st.op is not None:
                if st.op not in _ARITH:
                    return None
                code = f"{_ARITH[st.op]}(_e.get({t.name!r}), {code})"
            return [f"_v = {code}", f"if _v is None:\n    _e.pop({t.name!r}, None)\n   else:\n    _e[{t.name!r}] = _v",
                    "_r = None"]
        if isinstance(st, ast.STATEMENT_TYPES) or isinstance(st, (ast.Block, ast.If, ast.Switch)):
            return None
        code, _ = self.expr(st)
        self.last_expr = code
        return [f"_r = {code}"]


def _replay_safe(node, comp) -> bool:
    for n in ast.walk(node):
        if isinstance(n, (ast.Assign, ast.Let, ast.Closure, ast.Throw, ast.Return)):
            return False
        if isinstance(n, ast.Call):
            b = comp.reg.get(n.name)
            if b is None or not b.replay_safe:  # (pure, or declared replay-safe; never mutating)
                return False
    return True


def generate(comp, stmts: list, closures: list, source, slow):
    """A fast ``run(scope)`` for *stmts* (top-level AST), or None when not worth it."""
    for st in stmts:
        for n in ast.walk(st):
            if isinstance(n, ast.Assign) and isinstance(n.target, ast.Var) and n.target.name == "e":
                return None  # `e = ...` changes what _e refers to: leave it to the closures
    g = Gen(comp, comp.stage)
    for st in stmts:
        for n in ast.walk(st):
            if isinstance(n, ast.Assign) and isinstance(n.target, ast.Var):
                g.reassigned.add(n.target.name)
    g.ns.update({"_src": source, "_slow": slow, "_from": _resume(closures), "_internal": internal_error,
                 "_wrap": wrap_error})
    lines = ["def _run(s):", " try:", "  _e = s.e", "  if _e is None:", "   return _slow(s)", "  _r = None"]
    generated = 0
    for k, st in enumerate(stmts):
        checked = st.value if isinstance(st, (ast.Let, ast.Assign)) else st
        body = g.statement(st) if checked is not None and _replay_safe(checked, comp) else None
        if body is None and isinstance(st, ast.Call):
            effect = g.effect_call(st, k)
            if effect is not None:
                generated += 1
                lines.extend(effect)
                continue
        if body is None:
            lines.append(f"  _r = {g.name('_c', closures[k])}(s)")
            if isinstance(st, ast.Let) and _IDENT.match(st.name):
                g.declared.add(st.name)
                if st.name not in g.reassigned:
                    lines.append(f"  _l_{st.name} = s.vars[{st.name!r}]")
            continue
        generated += 1
        lines.append("  try:")
        lines.extend("   " + line for line in body)
        lines.append(f"  except _FE:\n   return _from(s, {k})\n  except _PASS:\n   raise\n"
                     f"  except Exception:\n   return _from(s, {k})")
    lines.append("  return _r")
    lines.append(" except _SE as x:\n  x.with_source(_src, s)\n  raise\n except _RET as r:\n  return r.value\n"
                 " except _PASS:\n  raise\n except Exception as x:\n  raise _internal(x, _src) from x")
    if not generated:
        return None
    code = "\n".join(lines)
    try:
        exec(compile(code, f"<kelora {source.label}>", "exec"), g.ns)  # noqa: S102 - see module doc
    except (SyntaxError, RecursionError, MemoryError):  # e.g. Python's nesting limit: keep closures
        return None
    run = g.ns["_run"]
    run.source_code = code
    if len(stmts) == 1 and generated == 1 and g.last_expr is not None:
        # one replay-safe expression: a caller may evaluate it inline, with `_e` the event and
        # `s` the scope, in a namespace holding g.ns, and call run(s) when it raises
        # (kelora.run.fastloop builds the --filter read loop this way)
        run.inline = (g.last_expr, g.ns)
    return run


def _resume(closures):
    def resume(s, k):
        r = None
        for f in closures[k:]:
            r = f(s)
        return r
    return resume
