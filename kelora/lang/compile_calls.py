"""Compiling calls: builtins (specialised by argument count), user `fn`s and function pointers.

Builtin errors are translated here, once, at the call node: ``FunctionError`` and any other
non-kelora exception become a ``ScriptRuntimeError`` carrying the call's span (and
``missing_field`` when a ``()`` argument was involved); kelora's own errors and control flow
(``SkipEvent``, ``ExitRequest``) pass through untouched.
"""
from __future__ import annotations

from kelora.errors import ExitRequest, FunctionError, KeloraError, SkipEvent
from kelora.lang import ast
from kelora.lang.runtime import BreakSignal, ContinueSignal, ReturnSignal, call_user_fn, rterr
from kelora.values import FnPtr, type_name

_PASS = (KeloraError, SkipEvent, ExitRequest, BreakSignal, ContinueSignal, ReturnSignal)
NOT_CONSTANT = object()  # placeholder for non-literal arguments given to compile_literal hooks
_FOLDABLE = (int, float, str, bool, type(None))


def wrap_error(exc: Exception, name: str, args, span):
    if isinstance(exc, FunctionError):
        return rterr(exc.message, span, missing=exc.missing_field, hint=exc.hint, kind=exc.kind)
    if isinstance(exc, RecursionError):
        return rterr(f"{name}(): nested too deeply", span, kind="limit")
    missing = any(a is None for a in args)
    return rterr(f"{name}(): {exc}", span, missing=missing)


def builtin_call(b, argfns: list, span, ctx_getter, literal_args=None, fields=None):
    """Closure calling builtin *b*; *ctx_getter(s)* gives the RunContext for pass_context.

    *literal_args*: per argument its literal value or NOT_CONSTANT; *fields*: per argument the
    event field name when the argument is `e.name` (read inline), else None.
    """
    fn = b.func
    name = b.name
    hook = getattr(fn, "compile_literal", None)
    if hook is not None and literal_args is not None:
        try:
            replacement = hook(tuple(literal_args))
        except FunctionError as exc:
            from kelora.errors import ScriptCompileError

            raise ScriptCompileError(exc.message, kind="invalid-argument", span=span, hint=exc.hint) from None
        if replacement is not None:
            fn = replacement
    n = len(argfns)
    allowed = []
    for i in range(n):
        p = b.params[i] if i < len(b.params) else b.variadic
        allowed.append(p.allowed if p is not None else None)
    typed = any(a is not None for a in allowed)
    check = b.check_types
    ctxp = b.pass_context

    def fail(exc, args):
        return wrap_error(exc, name, args, span)

    def typecheck(args):
        try:
            check(args)
        except FunctionError as exc:
            raise fail(exc, args) from None

    consts = list(literal_args) if literal_args is not None else [NOT_CONSTANT] * n
    fields = list(fields) if fields is not None else [None] * n

    if n == 2 and fields[0] is not None and consts[1] is not NOT_CONSTANT:
        # f(e.name, "literal"): the commonest call shape (pseudonym, contains, hash...)
        field, slow0, c = fields[0], argfns[0], consts[1]
        al0 = allowed[0]
        c_ok = allowed[1] is None or type(c) in allowed[1]
        if not c_ok:
            al0 = frozenset()  # force the full check (and its error) on every call

        if ctxp:
            def call_field_const_ctx(s):
                try:
                    x = s.e.get(field)
                except AttributeError:
                    x = slow0(s)
                if al0 is not None and type(x) not in al0:
                    typecheck((x, c))
                try:
                    return fn(s.ctx, x, c)
                except FunctionError as exc:
                    raise fail(exc, (x, c)) from None
                except _PASS:
                    raise
                except Exception as exc:
                    raise fail(exc, (x, c)) from None
            return call_field_const_ctx

        def call_field_const(s):
            try:
                x = s.e.get(field)
            except AttributeError:
                x = slow0(s)
            if al0 is not None and type(x) not in al0:
                typecheck((x, c))
            try:
                return fn(x, c)
            except FunctionError as exc:
                raise fail(exc, (x, c)) from None
            except _PASS:
                raise
            except Exception as exc:
                raise fail(exc, (x, c)) from None
        return call_field_const

    if n == 1:
        a0 = argfns[0]
        al0 = allowed[0]
        if ctxp:
            def call1_ctx(s):
                x = a0(s)
                if al0 is not None and type(x) not in al0:
                    typecheck((x,))
                try:
                    return fn(s.ctx, x)
                except FunctionError as exc:
                    raise fail(exc, (x,)) from None
                except _PASS:
                    raise
                except Exception as exc:
                    raise fail(exc, (x,)) from None
            return call1_ctx
        if al0 is None:
            def call1(s):
                x = a0(s)
                try:
                    return fn(x)
                except FunctionError as exc:
                    raise fail(exc, (x,)) from None
                except _PASS:
                    raise
                except Exception as exc:
                    raise fail(exc, (x,)) from None
        else:
            def call1(s):
                x = a0(s)
                if type(x) not in al0:
                    typecheck((x,))
                try:
                    return fn(x)
                except FunctionError as exc:
                    raise fail(exc, (x,)) from None
                except _PASS:
                    raise
                except Exception as exc:
                    raise fail(exc, (x,)) from None
        return call1

    if n == 2 and not ctxp:
        a0, a1 = argfns
        al0, al1 = allowed
        if consts[1] is not NOT_CONSTANT:
            c = consts[1]
            c_ok = al1 is None or type(c) in al1

            def call2c(s):
                x = a0(s)
                if not c_ok or (al0 is not None and type(x) not in al0):
                    typecheck((x, c))
                try:
                    return fn(x, c)
                except FunctionError as exc:
                    raise fail(exc, (x, c)) from None
                except _PASS:
                    raise
                except Exception as exc:
                    raise fail(exc, (x, c)) from None
            return call2c

        def call2(s):
            x = a0(s)
            y = a1(s)
            if typed and ((al0 is not None and type(x) not in al0) or (al1 is not None and type(y) not in al1)):
                typecheck((x, y))
            try:
                return fn(x, y)
            except FunctionError as exc:
                raise fail(exc, (x, y)) from None
            except _PASS:
                raise
            except Exception as exc:
                raise fail(exc, (x, y)) from None
        return call2

    def calln(s):
        args = [f(s) for f in argfns]
        if typed:
            for a, al in zip(args, allowed):
                if al is not None and type(a) not in al:
                    typecheck(args)
                    break
        try:
            if ctxp:
                return fn(ctx_getter(s), *args)
            return fn(*args)
        except FunctionError as exc:
            raise fail(exc, args) from None
        except _PASS:
            raise
        except Exception as exc:
            raise fail(exc, args) from None
    return calln


def try_fold(b, node: ast.Call):
    """Value of a pure builtin over literal arguments, or NOT_CONSTANT."""
    if not b.pure or b.pass_context or not all(isinstance(a, ast.Literal) for a in node.args):
        return NOT_CONSTANT
    args = [a.value for a in node.args]
    try:
        b.check_types(args)
        v = b.func(*args)
    except Exception:  # fold failed: let it fail (with its span) at run time instead
        return NOT_CONSTANT
    return v if type(v) in _FOLDABLE else NOT_CONSTANT


def user_call(rt, info, argfns, span, this_fn=None):
    if this_fn is not None:
        def call_this(s):
            this = this_fn(s)
            return call_user_fn(rt, info, [f(s) for f in argfns], s, span, this)
        return call_this
    if len(argfns) == 1:
        a0 = argfns[0]
        return lambda s: call_user_fn(rt, info, (a0(s),), s, span)
    return lambda s: call_user_fn(rt, info, [f(s) for f in argfns], s, span)


def dynamic_call(name, getter, argfns, span):
    """`f(x)` where `f` is a variable holding a function pointer."""
    def call(s):
        f = getter(s)
        if not isinstance(f, FnPtr):
            raise rterr(f"{name} is a {type_name(f)}, not a function", span, missing=f is None)
        args = [a(s) for a in argfns]
        try:
            return f(*args)
        except _PASS:
            raise
        except Exception as exc:
            raise wrap_error(exc, name, args, span) from None
    return call
