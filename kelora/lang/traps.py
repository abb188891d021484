"""Run-time warnings for operators that silently do what a learner rarely means (issue 14).

``"12" + 1`` gives ``"121"``, ``1 / 100`` gives ``0``, ``"12" > 10`` and ``500 == "500"`` are
false.  ``ops`` calls ``TRAP_HOOK`` only in those branches (no cost on the common paths); the
hook finds the script and the event being run from the calling frames, the operator node by its
operator and operand values, and warns once per place (``--no-diagnostics``/``--no-warnings``
turn it off; results and exit codes never change).  Operand values are shown truncated and
escaped, never for a field a privacy function reads (COMPAT D24).
"""
from __future__ import annotations

import sys

from kelora.errors import ScriptWarning, Source
from kelora.lang import ast, ops
from kelora.lang.explain import PRIVATE, field_path, show

_GROUPS = {"==": ("==", "!="), "+": ("+",), "/": ("/",), "<": ("<",), "<=": ("<=",), ">": (">",),
           ">=": (">=",)}
_MAX_LOCATES = 20  # per (operator, types): enough to find several places, bounded per run


_SEEN_PLACES: set = set()  # the places warned about (forget() empties it)


def install(warn_once) -> None:
    """Warn through *warn_once(key, text)* from now on (one hook per process), once per place."""
    seen_places = _SEEN_PLACES
    seen_places.clear()
    tries: dict = {}

    def hook(op, a, b, result):
        if op == "+" and not _numeric_text(a if isinstance(a, str) else b):
            return  # "p" + 1 builds text on purpose; "12" + 1 giving "121" is the trap
        key = (op, type(a), type(b))
        n = tries.get(key, 0)
        if n >= _MAX_LOCATES:
            return
        tries[key] = n + 1
        try:
            found = _locate(op, a, b)
        except Exception:  # pragma: no cover - a warning must never break a run
            found = None
        source, node = found if found else (None, None)
        if a is None or b is None:
            text = _case_miss(node, found_event[0])
            if text is None:
                return
            place = (source.label if source else None, node.span, "case")
            if place not in seen_places:
                seen_places.add(place)
                warn_once(f"trap:{place!r}", text(source))
            return
        place = (source.label if source else None, node.span if node is not None else None, op)
        if place in seen_places:
            return
        seen_places.add(place)
        tries[key] = n + 1
        warn_once(f"trap:{place!r}", _render(op, a, b, result, source, node))

    ops.TRAP_HOOK = hook


def _numeric_text(v) -> bool:
    if not isinstance(v, str):
        return False
    try:
        float(v.strip())
    except ValueError:
        return False
    return bool(v.strip())


def uninstall() -> None:
    ops.TRAP_HOOK = None


def forget() -> None:
    """Warn again about every place (a parallel worker starting a batch; see Diagnostics.forget_once)."""
    _SEEN_PLACES.clear()


class _Ev:
    __slots__ = ("e",)

    def __init__(self, e):
        self.e = e


found_event: list = [None]  # the event of the last _locate (for _case_miss)


def _case_miss(node, event):
    """`e.Status` missing while the event has `status`: a render function, else None."""
    if node is None or not isinstance(event, dict):
        return None
    for n in (getattr(node, "left", None), getattr(node, "right", None)):
        path = field_path(n) if n is not None else None
        if not path or path[0] in event:
            continue
        same = [k for k in event if isinstance(k, str) and k.lower() == path[0].lower()]
        if same:
            def render(source, _n=n, _k=same[0], _p=path[0]):
                return ScriptWarning(
                    f"e.{_p} is missing, but this event has e.{_k}: field names are case-sensitive",
                    kind="trap", span=_n.span, source=source, hint=f"write `e.{_k}`").render()
            return render
    return None


def _locate(op, a, b):
    """(Source, node) of the operator being evaluated, from the calling frames."""
    from kelora.lang.explain import tree_of
    from kelora.lang.program import Program

    frame = sys._getframe(3)
    source = scope = None
    for _ in range(40):
        if frame is None:
            break
        loc = frame.f_locals
        cand = loc.get("source")
        if isinstance(loc.get("self"), Program):
            cand = loc["self"].source
        if not isinstance(cand, Source):
            cand = frame.f_globals.get("_src")
        if scope is None:
            sc = loc.get("scope", loc.get("s"))
            if hasattr(sc, "e") and hasattr(sc, "vars"):
                scope = sc
                if isinstance(loc.get("_e"), dict):  # the generated read loop's event
                    scope = _Ev(loc["_e"])
        if isinstance(cand, Source):
            source = cand
            break
        frame = frame.f_back
    found_event[0] = getattr(scope, "e", None)
    if source is None:
        return None
    tree = tree_of(source.text)
    if not tree:
        return source, None
    ops_wanted = _GROUPS.get(op, (op,))
    cands = []
    for root in (*tree.stmts, *tree.fns):
        for n in ast.walk(root):
            if isinstance(n, ast.Binary) and n.op in ops_wanted:
                cands.append((n, n.left, n.right))
            elif isinstance(n, ast.Assign) and n.op in ops_wanted:
                cands.append((n, n.target, n.value))
    if not cands:
        return source, None
    event = getattr(scope, "e", None)
    for node, left, right in cands:
        if _value(left, event) == (True, a) and _value(right, event) == (True, b):
            return source, node
    for node, left, right in cands:  # one side known: the other computed
        lv, rv = _value(left, event), _value(right, event)
        if lv == (True, a) or rv == (True, b) or lv == (True, b) or rv == (True, a):
            return source, node
    return source, cands[0][0] if len(cands) == 1 else None


def _value(node, event):
    if isinstance(node, ast.Literal):
        return True, node.value
    path = field_path(node)
    if path is not None and isinstance(event, dict):
        v = event
        for k in path:
            if not isinstance(v, dict) or k not in v:
                return False, None
            v = v[k]
        return True, v
    return False, None


def _private(node) -> bool:
    if node is None:
        return False

    for n in ast.walk(node):
        p = field_path(n)
        if p is not None and p[0] in PRIVATE:
            return True
    return False


def _render(op, a, b, result, source, node) -> str:
    hide = node is None and bool(PRIVATE) or _private(node)
    sa, sb = ("…", "…") if hide else (show(a), show(b))
    text = source.text if source is not None else ""
    lhs = rhs = None
    if isinstance(node, ast.Binary):
        lhs, rhs = node.left, node.right
    elif isinstance(node, ast.Assign):
        lhs, rhs = node.target, node.value

    def src(n, fallback):
        return text[n.span.start:n.span.end] if n is not None else fallback

    if op == "+":
        msg = f"`+` joined text and a number: {sa} + {sb} gave {'…' if hide else show(result)}"
        stext = lhs if isinstance(a, str) else rhs
        hint = (f"convert the text first: `{src(stext, 'x')}.to_int()` (or `.to_float()`); "
                f"to build text on purpose, use a template: `` `${{a}}${{b}}` ``")
    elif op == "/":
        msg = f"integer division: {sa} / {sb} gave 0 (both are integers, the fraction is dropped)"
        hint = f"make one a float: `{src(lhs, 'a')}.to_float() / {src(rhs, 'b')}`, or multiply first"
    elif op == "==":
        msg = f"`{getattr(node, 'op', '==')}` compared text with a number ({sa} and {sb}): never equal"
        hint = ("values of different types are never equal: compare like with like "
                "(convert with `.to_int()` or `.to_string()`)")
        for lit, other in ((rhs, lhs), (lhs, rhs)):
            if isinstance(lit, ast.Literal) and isinstance(lit.value, str) and other is not None:
                hint = f"drop the quotes: `{src(other, '')} {node.op} {lit.value}`"
                break
            if isinstance(lit, ast.Literal) and isinstance(lit.value, (int, float)) and other is not None:
                hint = f"convert the text first: `{src(other, '')}.to_int() {node.op} {lit.value}`"
                break
    else:
        msg = f"`{op}` compared text with a number ({sa} {op} {sb}): always false"
        stext = lhs if isinstance(a, str) else rhs
        hint = f"convert the text first: `{src(stext, 'x')}.to_int()` (or `.to_float()`)"
    w = ScriptWarning(msg, kind="trap", span=node.span if node is not None else None, source=source,
                      hint=hint)
    return w.render()
