"""Reading and writing places: `x.name`, `x[i]`, and every assignment form.

Event rules (reference §3.5 with COMPAT D2/D6): `e.x = ()` deletes the field (no-op when
absent); new keys are appended in assignment order (plain dict insertion); `e = ()` drops the
event (``scope.e = None``); `e = <map>` replaces it; `e = <other>` is ignored.  `conf` is
writable only in --begin; writes below `meta` have no effect.
"""
from __future__ import annotations

from kelora.errors import ScriptCompileError
from kelora.lang import ast, ops
from kelora.lang.check import root_of
from kelora.lang.compiler import conf_readonly, is_event, value_of
from kelora.lang.runtime import rterr
from kelora.values import Char, type_name


def get_prop(v, name, span, optional=False, getter=None):
    if type(v) is dict:
        return v.get(name)
    if v is None:
        if optional:
            return None
        raise rterr(f"cannot read property `{name}` of ()", span, missing=True,
                    hint="a field on the way is missing; use `?.` or check with `has`")
    if getter is not None:
        return getter(v)
    raise no_property(v, name, span)


_PROPERTY_ADVICE = {"length": "the length is `x.len()`", "size": "the length is `x.len()`",
                    "count": "the length is `x.len()`", "lower": "write `x.to_lower()`",
                    "upper": "write `x.to_upper()`"}


def no_property(v, name, span):
    hint = _PROPERTY_ADVICE.get(name)
    if hint is None and type(v) in (list, str):
        hint = "arrays and strings have no fields; call a function: `x.len()`, `x.contains(...)`"
    return rterr(f"{type_name(v)} has no property `{name}`", span, hint=hint)


def _norm_index(n: int, i: int, span, what: str) -> int:
    j = i + n if i < 0 else i
    if 0 <= j < n:
        return j
    raise rterr(f"{what} index {i} out of bounds (length {n})", span)


def get_index(v, i, span):
    t = type(v)
    if t is list:
        if type(i) is not int:
            raise rterr(f"array index must be an int, got {type_name(i)}", span, missing=i is None)
        return v[_norm_index(len(v), i, span, "array")]
    if t is dict:
        if not isinstance(i, str):
            raise rterr(f"map key must be a string, got {type_name(i)}", span, missing=i is None)
        return v.get(i)
    if t is str or t is Char:
        if type(i) is not int:
            raise rterr(f"string index must be an int, got {type_name(i)}", span, missing=i is None)
        return Char(v[_norm_index(len(v), i, span, "string")])
    if v is None:
        raise rterr("cannot index into ()", span, missing=True)
    raise rterr(f"cannot index into {type_name(v)}", span)


def set_index(c, key, v, span):
    t = type(c)
    if t is dict:
        if not isinstance(key, str):
            raise rterr(f"map key must be a string, got {type_name(key)}", span, missing=key is None)
        c[str(key)] = v
        return
    if t is list:
        if type(key) is not int:
            raise rterr(f"array index must be an int, got {type_name(key)}", span, missing=key is None)
        c[_norm_index(len(c), key, span, "array")] = v
        return
    if c is None:
        raise rterr(f"cannot set `{key}` on ()", span, missing=True)
    if t is str or t is Char:
        raise rterr("strings cannot be changed in place; build a new string", span)
    raise rterr(f"cannot set `{key}` on {type_name(c)}", span)


def compile_assign(c, node: ast.Assign, cx):
    target, span = node.target, node.span
    value = value_of(c, node.value, cx)
    if node.op == "??":
        op = _coalesce
    else:
        op = ops.BINARY[node.op] if node.op else None

    def combine(old, v):
        try:
            return op(old, v)
        except ops.OpError as x:
            raise rterr(x.message, span, missing=x.missing, kind=x.kind) from None

    root, depth = root_of(target)
    root_kind = c.resolve(root, cx)[0] if root is not None else None
    if root_kind == "special" and depth > 0:
        if root == "conf" and c.stage != "begin":
            return conf_readonly(target.span)
        if root in ("meta", "line", "metrics"):
            return lambda s: (value(s), None)[1]  # writing meta has no effect

    if isinstance(target, ast.Var):
        return _assign_var(c, target, value, op and combine, cx, span)

    # e.x / e["x"]: delete on (), append new keys in assignment order.
    if is_event(c, target.obj, cx) and op is None and isinstance(target, ast.Prop):
        return _set_event_field(target.name, node.value, value, span)
    if is_event(c, target.obj, cx):
        key_fn = _key_fn(c, target, cx)

        def set_event(s):
            v = value(s)
            ev = s.e
            key = key_fn(s)
            if ev is None:
                raise rterr(f"cannot set field `{key}`: the event was removed (e = ())", span)
            if type(key) is not str and not isinstance(key, str):
                raise rterr(f"event field names are strings, got {type_name(key)}", span, missing=key is None)
            if op is not None:
                v = combine(ev.get(key), v)
            if v is None:
                ev.pop(key, None)
            else:
                ev[key] = v
        return set_event

    container = c.expr(target.obj, cx)
    key_fn = _key_fn(c, target, cx)
    is_prop = isinstance(target, ast.Prop)
    tspan = target.span

    def set_place(s):
        v = value(s)
        cont = container(s)
        key = key_fn(s)
        if op is not None:
            old = get_prop(cont, key, tspan) if is_prop else _get_for_update(cont, key, tspan)
            v = combine(old, v)
        set_index(cont, key, v, tspan)
    return set_place


def _set_event_field(name, value_node, value, span):
    """`e.name = value`, the commonest statement: no key expression, no compound operator."""
    def removed():
        return rterr(f"cannot set field `{name}`: the event was removed (e = ())", span)

    if isinstance(value_node, ast.Literal) and value_node.value is None:
        def delete_field(s):
            try:
                s.e.pop(name, None)
            except AttributeError:
                raise removed() from None
        return delete_field

    def set_field(s):
        v = value(s)
        if v is None:
            try:
                s.e.pop(name, None)
            except AttributeError:
                raise removed() from None
            return
        try:
            s.e[name] = v
        except TypeError:
            raise removed() from None
    return set_field


def _coalesce(a, b):
    return b if a is None else a


def _get_for_update(cont, key, span):
    from kelora.lang.places import get_index

    return get_index(cont, key, span)


def _key_fn(c, target, cx):
    if isinstance(target, ast.Prop):
        name = target.name
        return lambda s: name
    if isinstance(target.index, ast.Literal):
        k = target.index.value
        return lambda s: k
    return c.expr(target.index, cx)


def _assign_var(c, target: ast.Var, value, combine, cx, span):
    name = target.name
    kind, ref = c.resolve(name, cx)
    rt = c.rt
    read = c.read_var(name, target.span, cx) if combine else None

    def compute(s):
        v = value(s)
        return combine(read(s), v) if combine else v

    if kind == "local":
        slot = ref

        def set_local(s):
            rt.frame[slot] = compute(s)
        return set_local
    if kind == "top":
        def set_top(s):
            s.vars[name] = compute(s)
        return set_top
    if kind == "special":
        if name == "e":
            def set_e(s):
                v = compute(s)
                if v is None:
                    s.e = None
                elif type(v) is dict:
                    s.e = v
                # any other value is ignored (reference §3.5 rule 3)
            return set_e
        if name == "conf":
            if c.stage != "begin":
                return conf_readonly(target.span)

            def set_conf(s):
                v = compute(s)
                if type(v) is not dict:
                    raise rterr(f"conf must be a map, got {type_name(v)}", span)
                s.ctx.conf.clear()
                s.ctx.conf.update(v)
            return set_conf
        raise ScriptCompileError(f"`{name}` cannot be assigned", kind="compile", span=target.span,
                                 hint=f"declare your own variable: let my_{name} = ...")

    hint_fn = kind == "unknown"
    c.free_refs.append((name, target.span, "fn" if hint_fn else "write", c.cur_source))

    def set_outer(s):
        if not hint_fn and name in s.vars:
            s.vars[name] = compute(s)
            return
        raise rterr(f"Variable not found: {name}", target.span, kind="unknown-variable",
                    hint=(f"declare it first with `let {name} = ...`" if not hint_fn else
                          "functions cannot see outer variables: pass them as parameters"))
    return set_outer
