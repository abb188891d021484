"""AST -> Python closures, compiled once per script; each closure takes the event's ``Scope``.

Names are resolved here, once: block-scoped locals become slots in ``Runtime.frame``; a `let` at
the top level of a stage lives in ``scope.vars`` (shared with later stages of the event, COMPAT
D1); ``e``/``meta``/``line``/``conf``/``state``/``metrics`` read the scope and run context; other
names are looked up in ``scope.vars`` at run time (set by an earlier stage) and fail there with
"Variable not found".  User ``fn``s get their own frame and see none of the outer names.
Common shapes are specialised (``e.name``, ``e.name OP literal``, calls by argument count).
"""
from __future__ import annotations

from kelora.lang import ast, ops
from kelora.lang.check import root_of
from kelora.lang.compile_calls import NOT_CONSTANT, builtin_call, dynamic_call, try_fold, user_call
# (importing the statement compilers registers them; Compiler and the shared helpers live in
# compiler.py, re-exported here for the modules that compile scripts)
from kelora.lang import compile_stmts  # noqa: F401
from kelora.lang.compiler import (UNCATCHABLE, Compiler, FnCtx, compiles, conf_readonly, is_event,  # noqa: F401
                                  is_place, seq, value_of)
from kelora.lang.places import get_index, get_prop, no_property
from kelora.lang.runtime import ScriptClosure, UserFnPtr, rterr
from kelora.values import to_string, type_name


# ------------------------------------------------------------------ expressions

@compiles(ast.Literal)
def _literal(c, node, cx):
    v = node.value
    return lambda s: v


@compiles(ast.Var)
def _var(c, node, cx):
    return c.read_var(node.name, node.span, cx)


@compiles(ast.Template)
def _template(c, node, cx):
    parts = [c.expr(p, cx) for p in node.parts]
    limit = ops.MAX_STRING_LEN
    span = node.span

    def template(s):
        out = "".join([to_string(p(s)) for p in parts])
        if len(out) > limit:
            raise rterr(f"string length exceeds the limit of {limit} characters", span, kind="limit")
        return out
    return template


@compiles(ast.ArrayLit)
def _array(c, node, cx):
    if all(isinstance(i, ast.Literal) for i in node.items):
        const = [i.value for i in node.items]
        return lambda s: list(const)
    # items read from a place are copies (Rhai value semantics; also no shared sub-containers
    # whose copies could grow exponentially, see ops.MAX_COPY_ITEMS)
    items = [value_of(c, i, cx) for i in node.items]
    return lambda s: [f(s) for f in items]


@compiles(ast.MapLit)
def _map(c, node, cx):
    pairs = [(k, value_of(c, v, cx)) for k, v in zip(node.keys, node.values)]
    return lambda s: {k: f(s) for k, f in pairs}


def _property_getter(c, name: str, span):
    """``x.name`` on a value that is not a map calls the one-argument builtin ``name`` (Rhai's
    property syntax: ``s.len``).  Looked up at the first such use, not when compiling: a
    script reading event fields then never loads the builtin modules."""
    built: list = []

    def getter(v):
        if not built:
            b = c.reg.get(name)
            if b is not None and b.accepts_arity(1) and not b.pass_context:
                built.append(builtin_call(b, [lambda s, _v=None: s], span, lambda s: s.ctx))
            else:
                built.append(None)
        if built[0] is None:
            raise no_property(v, name, span)
        return built[0](v)
    return getter


@compiles(ast.Prop)
def _prop(c, node, cx):
    name, span, optional = node.name, node.span, node.optional
    getter = _property_getter(c, name, span)
    if is_event(c, node.obj, cx):
        def event_field(s):
            try:
                return s.e.get(name)
            except AttributeError:
                return get_prop(s.e, name, span, optional, getter)
        return event_field
    obj = c.expr(node.obj, cx)

    def prop(s):
        v = obj(s)
        if type(v) is dict:
            return v.get(name)
        return get_prop(v, name, span, optional, getter)
    return prop


@compiles(ast.Index)
def _index(c, node, cx):
    obj = c.expr(node.obj, cx)
    span = node.span
    if isinstance(node.index, ast.Literal) and isinstance(node.index.value, str):
        key = node.index.value

        def index_key(s):
            v = obj(s)
            if type(v) is dict:
                return v.get(key)
            return get_index(v, key, span)
        return index_key
    idx = c.expr(node.index, cx)
    return lambda s: get_index(obj(s), idx(s), span)


@compiles(ast.Unary)
def _unary(c, node, cx):
    op = ops.UNARY[node.op]
    f = c.expr(node.operand, cx)
    span = node.span

    def unary(s):
        try:
            return op(f(s))
        except ops.OpError as x:
            raise rterr(x.message, span, missing=x.missing, kind=x.kind) from None
    return unary


def _bool_err(op, v, span, hint=None):
    return rterr(f"`{op}` needs bool operands, got {type_name(v)}", span, missing=v is None, hint=hint)


def repeat_hint(c, node) -> str | None:
    """`e.level == "INFO" || "WARN"`: each side of `||` is its own test (Python's `or` habit)."""
    left, right = node.left, node.right
    src = getattr(c.cur_source, "text", None)
    if src is None or not (isinstance(right, ast.Literal) and not isinstance(right.value, bool)):
        return None
    if not (isinstance(left, ast.Binary) and left.op in ("==", "!=")):
        return None
    lhs = src[left.left.span.start:left.left.span.end]
    first = src[left.right.span.start:left.right.span.end]
    other = src[right.span.start:right.span.end]
    return (f"each side of `{node.op}` is a test of its own: write `{lhs} {left.op} {first} {node.op} "
            f"{lhs} {left.op} {other}`" + (f", or `{lhs} in [{first}, {other}]`" if node.op == "||"
                                            and left.op == "==" else ""))


@compiles(ast.Binary)
def _binary(c, node, cx):
    op_name, span = node.op, node.span
    left = c.expr(node.left, cx)
    if op_name in ("&&", "||"):
        right = c.expr(node.right, cx)
        lspan, rspan = node.left.span, node.right.span
        rhint = repeat_hint(c, node)
        if op_name == "||":
            def or_(s):
                a = left(s)
                if a is True:
                    return True
                if a is not False:
                    raise _bool_err("||", a, lspan)
                b = right(s)
                if b is True or b is False:
                    return b
                raise _bool_err("||", b, rspan, rhint)
            return or_

        def and_(s):
            a = left(s)
            if a is False:
                return False
            if a is not True:
                raise _bool_err("&&", a, lspan)
            b = right(s)
            if b is True or b is False:
                return b
            raise _bool_err("&&", b, rspan, rhint)
        return and_
    if op_name == "??":
        right = c.expr(node.right, cx)

        def coalesce(s):
            a = left(s)
            return right(s) if a is None else a
        return coalesce
    if op_name in ("..", "..="):
        right = c.expr(node.right, cx)
        incl = op_name == "..="

        def rng(s):
            try:
                return ops.make_range(left(s), right(s), incl)
            except ops.OpError as x:
                raise rterr(x.message, span, missing=x.missing) from None
        return rng
    op = ops.BINARY[op_name]
    if isinstance(node.right, ast.Literal) and op_name in ops.NEVER_RAISE:
        const = node.right.value
        if is_event(c, getattr(node.left, "obj", None), cx) and isinstance(node.left, ast.Prop):
            return _event_compare(node.left.name, op_name, op, const, left)
        return lambda s: op(left(s), const)
    if isinstance(node.right, ast.Literal):
        const = node.right.value

        def binary_const(s):
            a = left(s)
            try:
                return op(a, const)
            except ops.OpError as x:
                raise rterr(x.message, span, missing=x.missing, kind=x.kind) from None
        return binary_const
    right = c.expr(node.right, cx)
    if op_name in ops.NEVER_RAISE:
        return lambda s: op(left(s), right(s))

    def binary(s):
        a = left(s)
        b = right(s)
        try:
            return op(a, b)
        except ops.OpError as x:
            raise rterr(x.message, span, missing=x.missing, kind=x.kind) from None
    return binary


def _event_compare(name, op_name, op, const, slow):
    """`e.name OP literal`: the most common filter shape, without generic dispatch."""
    tc = type(const)
    if tc is str and op_name in ("==", "!=") and const[:1].isdigit() and const.replace(".", "", 1).isdigit():
        return lambda s: op(slow(s), const)  # `e.status == "500"`: ops.eq warns on a number
    if op_name == "==" and tc is str:
        def eq_str(s):
            try:
                return s.e.get(name) == const
            except AttributeError:
                return op(slow(s), const)
        return eq_str
    if op_name == "!=" and tc is str:
        def ne_str(s):
            try:
                return s.e.get(name) != const
            except AttributeError:
                return op(slow(s), const)
        return ne_str
    if tc is int:  # (a float on either side: ops' comparisons, with Rhai's tolerance)
        if op_name == ">=":
            def ge_num(s):
                try:
                    v = s.e.get(name)
                except AttributeError:
                    return op(slow(s), const)
                t = type(v)
                if t is int:
                    return v >= const
                return op(v, const)
            return ge_num
        if op_name == ">":
            def gt_num(s):
                try:
                    v = s.e.get(name)
                except AttributeError:
                    return op(slow(s), const)
                t = type(v)
                if t is int:
                    return v > const
                return op(v, const)
            return gt_num
        if op_name == "==":
            def eq_num(s):
                try:
                    v = s.e.get(name)
                except AttributeError:
                    return op(slow(s), const)
                t = type(v)
                if t is int:
                    return v == const
                return op(v, const)
            return eq_num

    def generic(s):
        try:
            v = s.e.get(name)
        except AttributeError:
            v = slow(s)
        return op(v, const)
    return generic


@compiles(ast.If)
def _if(c, node, cx):
    cond = c.expr(node.cond, cx)
    then = c.block(node.then, cx)
    other = None
    if node.else_ is not None:
        other = c.block(node.else_, cx) if isinstance(node.else_, ast.Block) else c.expr(node.else_, cx)
    span = node.cond.span

    def if_(s):
        v = cond(s)
        if v is True:
            return then(s)
        if v is False:
            return other(s) if other is not None else None
        raise rterr(f"`if` condition must be a bool, got {type_name(v)}", span, missing=v is None)
    return if_


@compiles(ast.Switch)
def _switch(c, node, cx):
    subject = c.expr(node.subject, cx)
    arms = []
    for arm in node.arms:
        guard = c.expr(arm.guard, cx) if arm.guard is not None else None
        body = c.block(arm.body, cx) if isinstance(arm.body, ast.Block) else c.expr(arm.body, cx)
        arms.append((arm.patterns, guard, body))

    def matches(p: ast.Pattern, v) -> bool:
        if p.kind == "wild":
            return True
        if p.kind == "lit":
            return ops.eq(v, p.value)
        if p.inclusive:
            return ops.ge(v, p.value) and ops.le(v, p.high)
        return ops.ge(v, p.value) and ops.lt(v, p.high)

    def switch(s):
        v = subject(s)
        for pats, guard, body in arms:
            for p in pats:
                if matches(p, v):
                    break
            else:
                continue
            if guard is not None and guard(s) is not True:
                continue
            return body(s)
        return None
    return switch


@compiles(ast.Closure)
def _closure(c, node, cx):
    inner = FnCtx("closure", cx)
    for p in node.params:
        inner.alloc(p)
    body = c.block(node.body, inner) if isinstance(node.body, ast.Block) else c.expr(node.body, inner)
    rt = c.rt
    caps = inner.captures  # filled while compiling the body
    nparams, span = len(node.params), node.span

    def make(s):
        frame = rt.frame
        return ScriptClosure(rt, body, inner.nslots, nparams, [frame[o] for o, _ in caps],
                             [i for _, i in caps], s, span)
    return make


@compiles(ast.Call)
def _call(c, node, cx):
    name, span, argc = node.name, node.name_span or node.span, len(node.args)
    info = c.fns.get((name, argc))
    if info is not None:  # script fns take their arguments by value, as in Rhai
        return user_call(c.rt, info, [value_of(c, a, cx) for a in node.args], span)
    if node.method and (name, argc - 1) in c.fns:
        this = value_of(c, node.args[0], cx)
        return user_call(c.rt, c.fns[(name, argc - 1)], [value_of(c, a, cx) for a in node.args[1:]], span, this)
    if name == "Fn" and argc == 1 and isinstance(node.args[0], ast.Literal):
        target = node.args[0].value
        infos = {a: i for (n, a), i in c.fns.items() if n == target}
        if infos:
            rt = c.rt
            return lambda s: UserFnPtr(target, rt, infos, s)
    b = c.reg.get(name)
    if b is None or not b.accepts_arity(argc):
        return dynamic_call(name, c.read_var(name, node.span, cx), [c.expr(a, cx) for a in node.args], span)
    if node.args and b.mutates:
        root, _ = root_of(node.args[0])
        if root is not None and c.resolve(root, cx) == ("special", root):
            if root == "conf" and c.stage != "begin":
                return conf_readonly(span)
    folded = try_fold(b, node)
    if folded is not NOT_CONSTANT:
        return lambda s: folded
    argfns = [c.expr(a, cx) for a in node.args]
    literal_args = [a.value if isinstance(a, ast.Literal) else NOT_CONSTANT for a in node.args]
    fields = [a.name if isinstance(a, ast.Prop) and not a.optional and is_event(c, a.obj, cx) else None
              for a in node.args]
    call = builtin_call(b, argfns, span, _ctx_of, literal_args, fields)
    if node.optional:
        recv = argfns[0]

        def optional_call(s):
            return None if recv(s) is None else call(s)
        return optional_call
    return call


def _ctx_of(s):
    return s.ctx
