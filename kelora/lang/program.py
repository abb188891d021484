"""``compile_script``: text -> ``Program``, the one entry point the pipeline uses.

Parsing, lowering, checking and closure compilation all happen here, once per script, before
any input is read; ``Program.run(scope)`` is the per-event call.
"""
from __future__ import annotations

import os
import sys

from kelora.builtins import registry
from kelora.errors import (ExitRequest, KeloraError, ScriptCompileError, ScriptError, ScriptSyntaxError,
                           SkipEvent, Source, Span)
from kelora.lang import ast, ops
from kelora.lang.check import analyze, resolve_calls
from kelora.lang.compile import Compiler, FnCtx, seq
from kelora.lang.lower import to_ast
from kelora.lang.runtime import (DEFAULT_MAX_CALL_DEPTH, DEFAULT_MAX_OPERATIONS, BreakSignal,
                                 ContinueSignal, FnInfo, ReturnSignal, Runtime, internal_error, rterr)

MODES = ("script", "expression")
STAGES = ("begin", "exec", "filter", "assert", "end")
# Deep script recursion (64 calls of nested expressions) needs more Python frames than the
# default limit of 1000; closures are plain Python calls, so this is cheap.
_RECURSION_LIMIT = 20000
# KELORA_BACKEND=closure turns the generated fast path off (tests run the suite both ways).
_CODEGEN = os.environ.get("KELORA_BACKEND", "") != "closure"


class Program:
    """A compiled script.  ``run(scope)`` returns the value of the last expression (or None)."""

    __slots__ = ("source", "mode", "stage", "mutates_event", "mutates_nested", "declares_vars",
                 "calls", "uses", "ast", "_body", "_rt", "_nslots", "run", "writes_last", "tracks_last",
                 "privacy", "targets", "free_refs", "top_lets", "prelude_ast", "prelude_source", "event_reads",
                 "exact_reads")

    def __init__(self, source, mode, stage, analysis, script_ast, body, rt, nslots, simple=False, stmts=()):
        self.source = source
        self.mode = mode
        self.stage = stage
        self.mutates_event = analysis.mutates_event
        self.mutates_nested = analysis.mutates_nested
        self.declares_vars = analysis.declares_vars
        self.calls = analysis.calls
        self.uses = analysis.uses  # special names referred to (check.SPECIALS): meta, line, ...
        self.writes_last = False  # see _writes_last (set by _compile)
        self.tracks_last = False  # see _tracks_last (set by _compile)
        self.privacy = False  # an exec stage that may call a value-hiding function (D17; withhold.py)
        self.targets = None  # withhold.Targets of an exec stage: what it may change in the event
        self.event_reads = None  # the event's top-level keys it may read (event_reads), None: any
        self.exact_reads = None  # those whose exact digits can matter (exact_reads), None: any
        self.free_refs = ()  # (name, span, "read" | "write" | "fn", source): see names.py
        self.top_lets = frozenset()  # names its top level declares (visible to later stages)
        self.prelude_ast = None
        self.prelude_source = None
        self.ast = script_ast
        self._body = body
        self._rt = rt
        self._nslots = nslots
        if simple is not False and simple is not True:
            self.run = simple  # generated fast path (codegen.py)
        elif simple:
            self.run = _simple_runner(stmts, source)
        else:
            self.run = self._run

    def _run(self, scope):
        rt = self._rt
        rt.frame = [None] * self._nslots
        rt.ops = 0
        rt.depth = 0
        try:
            return self._body(scope)
        except ReturnSignal as r:
            return r.value
        except ScriptError as x:
            x.with_source(self.source, scope)
            raise
        except (BreakSignal, ContinueSignal):
            raise rterr("`break`/`continue` outside of a loop", None).with_source(self.source) from None
        except RecursionError:
            raise rterr("script nested too deeply (recursion limit)", None, kind="limit").with_source(
                self.source) from None
        except _CONTROL:
            raise
        except Exception as exc:  # a bug of ours: still no traceback for the user
            raise internal_error(exc, self.source) from exc


_CONTROL = (KeloraError, SkipEvent, ExitRequest)


def _simple_runner(stmts, source):
    """``run`` for scripts without locals, loops, closures or user fns: no per-run reset."""
    if len(stmts) == 1:
        only = stmts[0]

        def run1(scope):
            try:
                return only(scope)
            except ScriptError as x:
                x.with_source(source, scope)
                raise
            except ReturnSignal as r:
                return r.value
            except _CONTROL:
                raise
            except Exception as exc:
                raise internal_error(exc, source) from exc
        return run1
    head, last = tuple(stmts[:-1]), stmts[-1]

    def run(scope):
        try:
            for f in head:
                f(scope)
            return last(scope)
        except ScriptError as x:
            x.with_source(source, scope)
            raise
        except ReturnSignal as r:
            return r.value
        except _CONTROL:
            raise
        except Exception as exc:
            raise internal_error(exc, source) from exc
    return run


def _with_source(f, source):
    """Attach *source* to errors raised by code from an include file (its spans point there)."""
    def run(s):
        try:
            return f(s)
        except ScriptError as x:
            x.with_source(source, s)
            raise
    return run


def compile_script(text: str, label: str = "script", mode: str = "script", stage: str = "exec",
                   prelude: str | None = None, *, max_operations: int = DEFAULT_MAX_OPERATIONS,
                   max_call_depth: int = DEFAULT_MAX_CALL_DEPTH) -> Program:
    """Compile *text*; raise ScriptSyntaxError / ScriptCompileError (with source attached)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}")
    if sys.getrecursionlimit() < _RECURSION_LIMIT:
        sys.setrecursionlimit(_RECURSION_LIMIT)
    source = Source(label, text)
    pre_source = Source(f"{label} (include)", prelude) if prelude is not None else None
    pre_ast = None
    try:
        if prelude is not None:
            try:
                pre_ast = to_ast(prelude, "script")
            except ScriptError as x:
                raise x.with_source(pre_source) from None
            if mode == "expression" and pre_ast.stmts:
                raise ScriptCompileError(
                    "--include file cannot contain statements when used with --filter; "
                    "only function definitions are allowed",
                    kind="compile", span=pre_ast.stmts[0].span, source=pre_source)
        script = to_ast(text, mode)
        return _compile(script, pre_ast, source, pre_source, mode, stage,
                        Runtime(max_operations, max_call_depth))
    except ScriptError as x:
        raise x.with_source(source) from None
    except RecursionError:
        raise ScriptSyntaxError("script is nested too deeply", kind="limit", span=Span(0, min(1, len(text))),
                                source=source) from None


def _compile(script: ast.Script, pre_ast, source, pre_source, mode, stage, rt) -> Program:
    fn_defs: dict[tuple[str, int], ast.FnDef] = {}
    fn_src: dict[tuple[str, int], Source] = {}
    for fns, src in ((pre_ast.fns if pre_ast else (), pre_source), (script.fns, source)):
        for f in fns:
            key = (f.name, len(f.params))
            fn_defs[key] = f  # a later definition replaces an earlier one (Rhai)
            fn_src[key] = src
    # Check each text separately so error spans point into the right source.
    if pre_ast is not None:
        try:
            resolve_calls([*pre_ast.stmts, *pre_ast.fns], fn_defs)
        except ScriptError as x:
            raise x.with_source(pre_source) from None
    resolve_calls([*script.stmts, *script.fns], fn_defs)
    infos = {k: FnInfo(f.name, f.params) for k, f in fn_defs.items()}
    comp = Compiler(stage, rt, infos)
    for key, f in fn_defs.items():
        src = fn_src[key]
        comp.cur_source = src
        try:
            comp.compile_fn(f, infos[key], wrap=(lambda b, _s=src: _with_source(b, _s)) if src is pre_source else None)
        except ScriptError as x:
            raise x.with_source(src) from None
    top = FnCtx("top")
    parts = []
    if pre_ast is not None and pre_ast.stmts:
        comp.cur_source = pre_source
        try:
            pre_body = seq([comp.expr(st, top) for st in pre_ast.stmts])
        except ScriptError as x:
            raise x.with_source(pre_source) from None
        parts.append(_with_source(pre_body, pre_source))
    comp.cur_source = source
    parts.extend(comp.expr(st, top) for st in script.stmts)
    body = seq(parts)
    simple = (bool(parts) and top.nslots == 0 and not fn_defs and not _needs_runtime(script.stmts)
              and not (pre_ast is not None and _needs_runtime(pre_ast.stmts)))
    top_stmts = (*(pre_ast.stmts if pre_ast else ()), *script.stmts)
    analysis = analyze(top_stmts, tuple(fn_defs.values()))
    if simple and pre_ast is None and _CODEGEN:
        from kelora.lang.codegen import generate

        seen = len(comp.free_refs)  # the generator recompiles pieces: its lookups are not new
        fast = generate(comp, list(script.stmts), parts, source, body)
        del comp.free_refs[seen:]
        if fast is not None:
            simple = fast
    prog = Program(source, mode, stage, analysis, script, body, rt, top.nslots, simple, parts)
    if stage == "exec":
        from kelora.lang.withhold import event_targets, is_privacy_stage

        targets = prog.targets = event_targets(top_stmts, tuple(fn_defs.values()))
        prog.privacy = is_privacy_stage(top_stmts, fn_defs)
        if targets.via_alias:
            # a for variable or closure parameter changes the event in place: snapshot it whole,
            # so a failing run is rolled back (analyze() sees only places rooted at `e`)
            prog.mutates_event = prog.mutates_nested = True
    prog.event_reads = event_reads((*top_stmts, *fn_defs.values()))
    prog.exact_reads = exact_reads((*top_stmts, *fn_defs.values()), prog.event_reads)
    plain = not fn_defs and not (pre_ast is not None and pre_ast.stmts)
    prog.writes_last = plain and _writes_last(script.stmts)
    prog.tracks_last = plain and _tracks_last(script.stmts)
    prog.free_refs = tuple(comp.free_refs)
    prog.top_lets = frozenset(top.top_lets)
    prog.prelude_ast = pre_ast
    prog.prelude_source = pre_source
    return prog


def event_reads(roots) -> frozenset[str] | None:
    """The event's top-level keys the code under *roots* can read: every ``e.NAME`` and
    ``e["NAME"]`` except as the whole target of a plain assignment (``e.NAME = ...`` only
    writes); None when ``e`` is used any other way (passed whole, ``e.keys()``, ``e[expr]``,
    ``e = ...``), so that any key may be read.  Over-approximate on purpose (a closure parameter
    named ``e`` counts too).  The generated read loop reads a line exactly (integers beyond 64
    bits) only when one of these keys may hold such a number (kelora.run.fastloop)."""
    from kelora.lang import ast

    nodes = [n for root in roots for n in ast.walk(root)]
    written = {id(n.target) for n in nodes if type(n) is ast.Assign and n.op is None}
    keys: set[str] = set()
    named: set[int] = set()  # the `e` of each e.NAME / e["NAME"]
    for n in nodes:
        key = _event_key(n)
        if key is None:
            continue
        named.add(id(n.obj))
        if id(n) not in written:
            keys.add(key)
    for n in nodes:
        if type(n) is ast.Var and n.name == "e" and id(n) not in named:
            return None
    return frozenset(keys)


_ORDER = frozenset(("==", "!=", "<", "<=", ">", ">="))


def _blind_operand(op: str, other) -> bool:
    """Whether ``X op other`` gives the same result, and says nothing, whether X is an integer
    beyond 64 bits or the float orjson reads for it (at least 2**63 in magnitude): *other* a
    number literal below 2**62 in magnitude (the order and the inequality hold either way), or
    a text that is no number under ``==``/``!=`` (never equal; ordering a number against text
    warns, quoting the number, and a numeric text warns under ``==`` too)."""
    if type(other) is not ast.Literal:
        return False
    v = other.value
    if type(v) in (int, float):
        return abs(v) < 2 ** 62  # (NaN: False)
    return type(v) is str and op in ("==", "!=") and not ops.NUMERIC_TEXT.fullmatch(v)


def exact_reads(roots, reads: frozenset[str] | None) -> frozenset[str] | None:
    """*reads* (:func:`event_reads`) less the keys read only as one side of a comparison that
    cannot tell an integer beyond 64 bits from its float (:func:`_blind_operand`): the generated
    read loop need not read a line exactly for them (``--filter 'e.status >= 500'`` costs T1 no
    check).  A container or a text there compares as it would exactly too."""
    if reads is None:
        return None
    nodes = [n for root in roots for n in ast.walk(root)]
    blind = set()
    for n in nodes:
        if type(n) is ast.Binary and n.op in _ORDER:
            if _blind_operand(n.op, n.right):
                blind.add(id(n.left))
            if _blind_operand(n.op, n.left):
                blind.add(id(n.right))
    seen = {_event_key(n) for n in nodes if id(n) not in blind}
    return frozenset(k for k in reads if k in seen)


def _event_key(n) -> str | None:
    """NAME when *n* is ``e.NAME`` or ``e["NAME"]``."""
    obj = getattr(n, "obj", None)
    if type(obj) is not ast.Var or obj.name != "e":
        return None
    if type(n) is ast.Prop:
        return n.name
    if type(n) is ast.Index and type(n.index) is ast.Literal and type(n.index.value) is str:
        return n.index.value
    return None


def called_names(text: str, mode: str = "script") -> frozenset[str]:
    """The names of the functions *text* calls, from its AST (builtins and user fns alike);
    empty when it does not parse (compiling it reports why)."""
    if sys.getrecursionlimit() < _RECURSION_LIMIT:
        sys.setrecursionlimit(_RECURSION_LIMIT)
    try:
        tree = to_ast(text, mode)
    except (ScriptError, RecursionError):
        return frozenset()
    return frozenset(n.name for root in (*tree.stmts, *tree.fns) for n in ast.walk(root)
                     if isinstance(n, ast.Call))


def _tracks_last(stmts) -> bool:
    """True when the script is one ``track_*(...)`` call with no other track call inside it: its
    arguments are computed before it records anything, so a failing run records nothing and
    the exec stage can let the op apply at once instead of queueing it for commit (T3)."""
    if len(stmts) != 1 or not isinstance(stmts[0], ast.Call) \
            or not registry.has_effect((stmts[0].name,), "metrics"):
        return False
    inner = analyze(tuple(stmts[0].args), ())
    return not registry.has_effect(inner.calls, "metrics")


def _writes_last(stmts) -> bool:
    """True when a run can only fail before its first write to the event, so a failing run
    leaves the event as it was and the exec stage needs no snapshot of it: every statement is
    ``e.NAME = value``, and either there is one statement whose value changes nothing by itself
    (it is computed before the write: T2's ``e.user_id = pseudonym(e.user_email, "users")``) or
    every value is a literal (nothing can fail once the first write succeeded: ``e.a = (); e.b = ()``)."""
    if not stmts:
        return False
    for st in stmts:
        t = st.target if isinstance(st, ast.Assign) else None
        if not (isinstance(t, ast.Prop) and st.op is None and not t.optional
                and isinstance(t.obj, ast.Var) and t.obj.name == "e"):
            return False
        if len(stmts) > 1 and not isinstance(st.value, ast.Literal):
            return False
    value = analyze((stmts[-1].value,), ())
    return not value.mutates_event and not value.declares_vars


_RUNTIME_NODES = (ast.While, ast.Loop, ast.For, ast.Closure, ast.Break, ast.Continue)


def _needs_runtime(stmts) -> bool:
    """True when the code counts operations or uses frames (so run() must reset them)."""
    return any(isinstance(n, _RUNTIME_NODES) or (isinstance(n, ast.Call) and registry.is_dynamic(n.name))
               for st in stmts for n in ast.walk(st))
