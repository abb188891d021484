"""Run-time support shared by compiled closures: limits, control-flow signals, callables.

``Runtime`` is one mutable record per compiled program: the current local-variable frame (a
list indexed by slots resolved at compile time), the operations counter and the call depth.
``Program.run`` resets it per invocation; user functions and closures swap frames.
"""
from __future__ import annotations

from kelora.errors import ScriptRuntimeError, Span
from kelora.values import FnPtr

DEFAULT_MAX_OPERATIONS = 10_000_000
DEFAULT_MAX_CALL_DEPTH = 64


class BreakSignal(Exception):
    pass


class ContinueSignal(Exception):
    pass


class ReturnSignal(Exception):
    def __init__(self, value):
        self.value = value


BREAK = BreakSignal()
CONTINUE = ContinueSignal()


def rterr(message: str, span: Span | None, *, missing: bool = False, kind: str = "runtime",
          hint: str | None = None, value=None) -> ScriptRuntimeError:
    return ScriptRuntimeError(message, kind=kind, span=span, missing_field=missing, hint=hint, value=value)


def internal_error(exc: Exception, source) -> ScriptRuntimeError:
    """A bug of ours in a running script: reported as an error of the script, never a traceback."""
    return rterr(f"internal error while running the script: {type(exc).__name__}: {exc}", None,
                 kind="internal").with_source(source)


class Runtime:
    __slots__ = ("frame", "ops", "depth", "max_ops", "max_depth")

    def __init__(self, max_ops: int = DEFAULT_MAX_OPERATIONS, max_depth: int = DEFAULT_MAX_CALL_DEPTH):
        self.frame: list = []
        self.ops = 0
        self.depth = 0
        self.max_ops = max_ops
        self.max_depth = max_depth

    def too_many_ops(self, span: Span | None) -> ScriptRuntimeError:
        return rterr(
            f"script exceeded the limit of {self.max_ops:,} operations (loop iterations and calls)",
            span, kind="limit", hint="check for an endless loop (`while true`, `loop` without `break`)",
        )

    def too_deep(self, span: Span | None) -> ScriptRuntimeError:
        return rterr(f"function calls nested deeper than {self.max_depth} levels", span, kind="limit",
                     hint="check for endless recursion")


class FnInfo:
    """A user `fn` (one per name and arity); body is filled in after compilation (hoisting)."""

    __slots__ = ("name", "params", "nslots", "body", "this_slot", "wrap")

    def __init__(self, name: str, params: tuple[str, ...]):
        self.name = name
        self.params = params
        self.nslots = 0
        self.body = None
        self.this_slot = -1
        self.wrap = None  # set for prelude functions: attaches the include file as error source


def call_user_fn(rt: Runtime, info: FnInfo, args, s, span, this=None):
    rt.ops += 1
    if rt.ops > rt.max_ops:
        raise rt.too_many_ops(span)
    if rt.depth >= rt.max_depth:
        raise rt.too_deep(span)
    frame = [None] * info.nslots
    frame[: len(args)] = args
    if info.this_slot >= 0:
        frame[info.this_slot] = this
    saved = rt.frame
    rt.frame = frame
    rt.depth += 1
    try:
        return info.body(s)
    except ReturnSignal as r:
        return r.value
    except (BreakSignal, ContinueSignal):
        raise rterr("`break`/`continue` outside of a loop", span) from None
    finally:
        rt.frame = saved
        rt.depth -= 1


class UserFnPtr(FnPtr):
    """`Fn("my_fn")`: a pointer to a script function, callable by builtins (map, filter...)."""

    __slots__ = ("rt", "infos", "scope")

    def __init__(self, name, rt, infos, scope):
        super().__init__(name)
        self.rt = rt
        self.infos = infos  # arity -> FnInfo
        self.scope = scope

    @property
    def arity(self) -> int:
        return min(self.infos)

    def __call__(self, *args):
        info = self.infos.get(len(args))
        if info is None:
            raise rterr(f"function {self.name} takes {self.arity} argument(s), got {len(args)}", None)
        return call_user_fn(self.rt, info, args, self.scope, None)


class ScriptClosure(FnPtr):
    """`|x| x * 2`: parameters plus values captured from enclosing locals at creation."""

    __slots__ = ("rt", "body", "nslots", "nparams", "captured", "cap_slots", "scope", "span")

    def __init__(self, rt, body, nslots, nparams, captured, cap_slots, scope, span):
        super().__init__("<closure>")
        self.rt = rt
        self.body = body
        self.nslots = nslots
        self.nparams = nparams
        self.captured = captured
        self.cap_slots = cap_slots
        self.scope = scope
        self.span = span

    @property
    def arity(self) -> int:
        return self.nparams

    def __call__(self, *args):
        rt = self.rt
        rt.ops += 1
        if rt.ops > rt.max_ops:
            raise rt.too_many_ops(self.span)
        if rt.depth >= rt.max_depth:
            raise rt.too_deep(self.span)
        frame = [None] * self.nslots
        n = self.nparams
        frame[: min(n, len(args))] = args[:n]
        for slot, v in zip(self.cap_slots, self.captured):
            frame[slot] = v
        saved = rt.frame
        rt.frame = frame
        rt.depth += 1
        try:
            return self.body(self.scope)
        except ReturnSignal as r:
            return r.value
        except (BreakSignal, ContinueSignal):
            raise rterr("`break`/`continue` outside of a loop", self.span) from None
        finally:
            rt.frame = saved
            rt.depth -= 1
