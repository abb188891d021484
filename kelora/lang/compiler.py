"""The compiler's core, shared by the node compilers: ``Compiler`` (name resolution, dispatch),
``FnCtx``, the ``compiles`` registry and the helpers the expression (compile.py), statement
(compile_stmts.py) and place (places.py) compilers all use.

Kept apart so that those modules import it and not each other: ``compile.py`` imports the
statement and place compilers, which register themselves here.  Use ``Compiler`` through
``compile.py`` (importing it loads every node compiler).
"""
from __future__ import annotations

from kelora.builtins import registry
from kelora.errors import Span
from kelora.lang import ast, ops
from kelora.lang.check import SPECIALS
from kelora.lang.runtime import FnInfo, rterr

UNCATCHABLE = frozenset({"limit", "conf-readonly"})


class FnCtx:
    """Compile-time view of one function body (the stage itself, a `fn`, or a closure)."""

    def __init__(self, kind: str, parent: "FnCtx | None" = None):
        self.kind = kind  # "top" | "fn" | "closure"
        self.parent = parent
        self.scopes: list[dict[str, int]] = [{}]
        self.nslots = 0
        self.captures: list[tuple[int, int]] = []  # (slot in parent frame, slot here)
        self.top_lets: set[str] = set()

    def alloc(self, name: str) -> int:
        slot = self.nslots
        self.nslots += 1
        self.scopes[-1][name] = slot
        return slot


class Compiler:
    def __init__(self, stage: str, rt, fns: dict[tuple[str, int], FnInfo]):
        self.stage = stage
        self.rt = rt
        self.fns = fns
        self.reg = registry.REGISTRY  # loads the builtin modules at its first lookup
        # Names this program reads or assigns that no `let` of its own declares, with where
        # (names.py checks them against every stage before any input is read: COMPAT D23).
        self.free_refs: list[tuple[str, Span, str, object]] = []
        self.cur_source = None  # the Source being compiled (script or include)

    # ------------------------------------------------------------ names
    def resolve(self, name: str, cx: FnCtx) -> tuple[str, object]:
        for scope in reversed(cx.scopes):
            if name in scope:
                return "local", scope[name]
        if cx.kind == "closure":
            kind, ref = self.resolve(name, cx.parent)
            if kind == "local":
                saved = cx.scopes
                cx.scopes = [cx.scopes[0]]
                slot = cx.alloc(name)
                cx.scopes = saved
                cx.captures.append((ref, slot))
                return "local", slot
            return kind, ref
        if cx.kind == "fn":
            return "unknown", name
        if name in cx.top_lets:
            return "top", name
        if name in SPECIALS and (name != "metrics" or self.stage == "end"):
            return "special", name
        return "dynamic", name

    def visible_names(self, cx: FnCtx) -> list[str]:
        out = []
        while cx is not None:
            for sc in cx.scopes:
                out.extend(sc)
            out.extend(cx.top_lets)
            if cx.kind == "top":
                out.extend(SPECIALS)
            cx = cx.parent if cx.kind == "closure" else None
        return out

    def read_var(self, name: str, span: Span, cx: FnCtx):
        kind, ref = self.resolve(name, cx)
        rt = self.rt
        if kind == "local":
            slot = ref
            return lambda s: rt.frame[slot]
        if kind == "special":
            return SPECIAL_READERS[name]
        known = self.visible_names(cx)
        in_fn = kind == "unknown"
        if kind != "top":
            self.free_refs.append((name, span, "fn" if in_fn else "read", self.cur_source))

        def missing(s):
            pool = known + ([] if in_fn else list(s.vars))
            sug = registry.suggest(name, pool) if pool else None
            if in_fn:
                hint = "functions cannot see outer variables (e, meta, conf, let variables): pass them as parameters"
            elif sug:
                hint = f"did you mean `{sug}`?"
            else:
                hint = f"declare it first with `let {name} = ...`"
            return rterr(f"Variable not found: {name}", span, kind="unknown-variable", hint=hint)

        if in_fn:
            def unknown(s):
                raise missing(s)
            return unknown

        def lookup(s):
            try:
                return s.vars[name]
            except KeyError:
                raise missing(s) from None
        return lookup

    # ------------------------------------------------------------ dispatch
    def expr(self, node: ast.Node, cx: FnCtx):
        return _COMPILERS[type(node)](self, node, cx)

    def block(self, node: ast.Block, cx: FnCtx, scope: dict | None = None):
        cx.scopes.append(scope if scope is not None else {})
        try:
            fs = [self.expr(st, cx) for st in node.stmts]
        finally:
            cx.scopes.pop()
        return seq(fs)

    # ------------------------------------------------------------ user functions
    def compile_fn(self, fn: ast.FnDef, info: FnInfo, wrap=None):
        cx = FnCtx("fn")
        for p in fn.params:
            cx.alloc(p)
        info.this_slot = cx.alloc("this")
        body = self.block(fn.body, cx)
        info.nslots = cx.nslots
        info.body = wrap(body) if wrap else body


def seq(fs: list):
    if not fs:
        return lambda s: None
    if len(fs) == 1:
        return fs[0]
    if len(fs) == 2:
        f0, f1 = fs

        def run2(s):
            f0(s)
            return f1(s)
        return run2
    head, last = tuple(fs[:-1]), fs[-1]

    def run(s):
        for f in head:
            f(s)
        return last(s)
    return run


def _line(s):
    return s.meta.get("line")


SPECIAL_READERS = {
    "e": lambda s: s.e,
    "meta": lambda s: s.meta,
    "line": _line,
    "conf": lambda s: s.ctx.conf,
    "state": lambda s: s.ctx.state,
    "metrics": lambda s: s.ctx.metrics_view,
}

_COMPILERS: dict = {}


def compiles(node_type):
    def register(fn):
        _COMPILERS[node_type] = fn
        return fn
    return register


def is_event(c: Compiler, node: ast.Node, cx: FnCtx) -> bool:
    return isinstance(node, ast.Var) and node.name == "e" and c.resolve("e", cx) == ("special", "e")


def is_place(node: ast.Node) -> bool:
    return isinstance(node, (ast.Var, ast.Prop, ast.Index))


def value_of(c: Compiler, node: ast.Node, cx: FnCtx):
    """Compile an assigned value; arrays/maps read from a place are copied (Rhai value semantics)."""
    f = c.expr(node, cx)
    if not is_place(node):
        return f
    copy = ops.deep_copy
    rt = c.rt

    def copied(s):
        v = f(s)
        t = type(v)
        return copy(v, rt) if t is list or t is dict else v
    return copied


def conf_readonly(span):
    """A closure that fails as a write to ``conf`` outside --begin does (uncatchable)."""
    def fail(s):
        raise rterr("conf map is read-only outside --begin; modifications are not allowed", span,
                    kind="conf-readonly")
    return fail
