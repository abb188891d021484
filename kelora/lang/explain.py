"""Run-time errors that say which field is missing, or which call gave `()` (issue 14).

``enrich(err, scope)`` runs once per raised error (a cold path), when a program attaches its
source: if the failing expression reads event fields, the first one absent from *this* event is
named (``e.latency is missing``, ``e.request is missing``, ``e.request.headers is missing``,
with a did-you-mean among the event's keys); if instead a conversion such as ``to_int`` returned
``()`` (``"abc".to_int() + 1``), the error says so and stops calling it a missing field.

Values are shown truncated and escaped, and never for a field that a privacy function reads
anywhere in the run (COMPAT D24: ``PRIVATE`` is filled by ``names.check_stages``).
"""
from __future__ import annotations

import json

from kelora.builtins import registry
from kelora.lang import ast

# Field names read by a privacy function in some stage of this run (names.check_stages).
PRIVATE: set[str] = set()

_AST_CACHE: dict[str, object] = {}


def show(value, limit: int = 40) -> str:
    """A value as the user would write it, truncated and escaped (one line)."""
    if value is None:
        return "()"
    if isinstance(value, str):
        cut = value if len(value) <= limit else value[:limit] + "…"
        return json.dumps(cut, ensure_ascii=False)
    try:
        from kelora.values import to_string

        text = to_string(value)
    except Exception:  # pragma: no cover - display only
        text = repr(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit] + "…"


def tree_of(text: str):
    got = _AST_CACHE.get(text)
    if got is None:
        from kelora.errors import ScriptError
        from kelora.lang.lower import to_ast

        try:
            got = to_ast(text, "script")
        except ScriptError:
            try:
                got = to_ast(text, "expression")
            except ScriptError:
                got = False
        if len(_AST_CACHE) > 64:
            _AST_CACHE.clear()
        _AST_CACHE[text] = got
    return got


def node_at(text: str, span):
    """The innermost node of *text* whose span is *span* (or None)."""
    tree = tree_of(text)
    if not tree:
        return None
    best = None
    for root in (*tree.stmts, *tree.fns):
        for n in ast.walk(root):
            if isinstance(n, ast.Node) and (n.span == span or getattr(n, "name_span", None) == span):
                best = n
    return best


def field_path(node) -> list[str] | None:
    """``e.a.b["c"]`` -> ["a", "b", "c"]; None when *node* is not such a chain."""
    path = []
    while isinstance(node, (ast.Prop, ast.Index)):
        if isinstance(node, ast.Prop):
            path.append(node.name)
        elif isinstance(node.index, ast.Literal) and isinstance(node.index.value, str):
            path.append(node.index.value)
        else:
            return None
        node = node.obj
    if isinstance(node, ast.Var) and node.name == "e" and path:
        return path[::-1]
    return None


def _paths(node) -> list[list[str]]:
    out = []
    for n in ast.walk(node):
        p = field_path(n)
        if p is not None and not any(q[:len(p)] == p for q in out):
            out = [q for q in out if p[:len(q)] != q]
            out.append(p)
    return out


def _dotted(path: list[str]) -> str:
    parts = ["e"]
    for k in path:
        parts.append(f".{k}" if k.isidentifier() else f"[{json.dumps(k)}]")
    return "".join(parts)


def missing_in(event, path: list[str]) -> str | None:
    """Describe the first step of *path* absent from *event*, or None when all are there."""
    cur = event
    for i, key in enumerate(path):
        if not isinstance(cur, dict):
            return None
        if key not in cur:
            where = _dotted(path[:i + 1])
            note = f"{where} is missing"
            if i == 0:
                from kelora.builtins.registry import suggest

                sug = suggest(key, [k for k in cur if isinstance(k, str)])
                if sug:
                    note += f"; did you mean {_dotted([sug])}?"
            return note
        cur = cur[key]
        if cur is None:
            return f"{_dotted(path[:i + 1])} is null"
    return None


def enrich(err, scope) -> None:
    """Add to *err* what was missing (see the module doc).  Never raises."""
    if getattr(err, "explained", False):
        return
    err.explained = True
    if not err.missing_field or err.source is None or err.span is None:
        return
    try:
        _enrich(err, scope)
    except Exception:  # pragma: no cover - an explanation must never hide the error
        return


def _root(node):
    """What a chain of properties, indexes and method calls starts from (``x`` in ``x.a[0].f()``)."""
    while True:
        if isinstance(node, (ast.Prop, ast.Index)):
            node = node.obj
        elif isinstance(node, ast.Call) and node.method and node.args:
            node = node.args[0]
        else:
            return node


# what a script reads the event and run data through: () from these is a field that is missing
_FIELD_ROOTS = ("e", "meta", "line", "conf", "state")


def _enrich(err, scope) -> None:
    node = node_at(err.source.text, err.span)
    if node is None:
        return
    root = _root(node)
    if root is not node and (isinstance(root, (ast.Literal, ast.MapLit, ast.ArrayLit)) or (
            isinstance(root, ast.Var) and root.name not in _FIELD_ROOTS)):
        # (`().to_upper()`, `let x; x.f()`, `#{a: 1}.b.c`: a () value, but no field of the event)
        err.missing_field = False
        err.hint = err.hint or "the value is () (unit, nothing); give a default with `x ?? default`"
        return
    event = getattr(scope, "e", None)
    if isinstance(event, dict):
        for path in _paths(node):
            note = missing_in(event, path)
            if note is not None:
                err.message = f"{err.message} ({note})"
                return
    for n in ast.walk(node):
        # a builtin that gives () for input it cannot convert (@builtin(unit_on_failure=True))
        if isinstance(n, ast.Call) and n.args and (f := registry.facts(n.name)) is not None \
                and f.unit_on_failure:
            arg = n.args[0]
            if isinstance(arg, ast.Literal):
                value, private = arg.value, False
            else:
                path = field_path(arg)
                if path is None or not isinstance(event, dict):
                    continue
                value = event
                for k in path:
                    value = value.get(k) if isinstance(value, dict) else None
                private = path[0] in PRIVATE
            if value is None:
                continue
            from kelora.builtins.registry import REGISTRY

            b = REGISTRY.get(n.name)
            if b is None:
                continue
            try:
                result = b.func(value) if not b.pass_context else None
            except Exception:
                continue
            if result is None:
                shown = "a value not shown (a privacy function reads it)" if private else show(value)
                err.missing_field = False
                err.hint = (f"`{n.name}()` returned () for {shown}; give a default with "
                            f"`{n.name}_or(x, default)` or `x.{n.name}() ?? default`"
                            if n.name in ("to_int", "to_float", "to_bool") else
                            f"`{n.name}()` returned () for {shown}; use `?? default` for a fallback")
                return
