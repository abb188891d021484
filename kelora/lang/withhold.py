"""What a failing privacy stage withholds (COMPAT D17), computed once from the AST.

An ``-e`` stage is a *privacy stage* when it may call a value-hiding builtin (``@builtin(...,
hides_value=True)``: ``pseudonym``, ``hash``, ``mask_ip``, ...) directly, through a user ``fn``
(followed by name, include files too), inside a closure, or through a dynamic call (``Fn(...)``,
``call``, a variable holding a function), which counts as one because what it calls is unknown.

When such a stage fails for an event, the event is not restored to its raw values: every field
the stage may assign or remove is *withheld* (taken out) instead.  The targets are syntactic, so
branches that did not run count too:

* ``e.a.b = …``, ``e["a"]["b"] = …``, ``e.a.b += …``, ``e.a.push(…)``: the deepest literal key
  path (``a.b``); an array index or a computed key ends the path (``e.list[0].x`` -> ``list``).
* Changes made through a local variable that shares data with the event: a ``for`` variable over
  ``e.P`` withholds ``P``; a closure parameter, a value taken from a function or a coalesce
  (``e.a ?? …``), or a variable set by an earlier stage, cannot be traced: the event is dropped.
* The whole event as the target (``e = …``, ``e += …``, ``e.merge(…)``, ``e.remove(…)``,
  ``e[name] = …``, ``set_path(e, …)``): the event is dropped.

Locals built from literals, copies of places (``let u = e.user`` copies, as in Rhai), function
parameters (passed by value) and values of builtins that return scalars are not the event.
"""
from __future__ import annotations

from dataclasses import dataclass

from kelora.builtins import registry
from kelora.lang import ast
from kelora.lang.check import SPECIALS

# calls whose callee is only known at run time
_SCALAR_RETURNS = frozenset({"string", "int", "float", "bool", "()", "number", "datetime", "duration",
                             "string|int", "int|float", "float|int"})
_FRESH_VALUES = (ast.Literal, ast.MapLit, ast.ArrayLit, ast.Template, ast.Unary, ast.Closure)

FRESH = "fresh"
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Targets:
    """The event fields a stage may change: literal key paths, or ``whole`` (cannot be listed)."""

    paths: tuple[tuple[str, ...], ...]
    whole: bool
    via_alias: bool  # changes the event through a local variable (analyze() does not see these)


def is_privacy_stage(top_stmts, fns: dict[tuple[str, int], ast.FnDef]) -> bool:
    """Does the stage (top statements + user fns it reaches) call a value-hiding or dynamic function?"""
    hiding = registry.hides_value
    by_name: dict[str, list[ast.FnDef]] = {}
    for (name, _), f in fns.items():
        by_name.setdefault(name, []).append(f)
    seen: set[str] = set()
    todo = list(top_stmts)
    while todo:
        for node in ast.walk(todo.pop()):
            if not isinstance(node, ast.Call):
                continue
            name = node.name
            if name in by_name:
                if name not in seen:
                    seen.add(name)
                    todo.extend(by_name[name])
                continue
            if registry.is_dynamic(name) or hiding(name):
                return True
            if registry.REGISTRY.get(name) is None:
                return True  # a variable holding a function pointer: a dynamic call
    return False


def event_targets(top_stmts, fns) -> Targets:
    """Every place in *top_stmts* and *fns* (all of them) where the event may be changed."""
    nodes = [n for root in (*top_stmts, *fns) for n in ast.walk(root)]
    user_names = {f.name for f in fns}
    origins = _origins(nodes)
    paths: set[tuple[str, ...]] = set()
    whole = via_alias = False

    def place(target: ast.Node, rebind_ok: bool) -> None:
        nonlocal whole, via_alias
        name, keys = _literal_path(target)
        if name is None:
            base = target
            while isinstance(base, (ast.Prop, ast.Index)):
                base = base.obj
            if _binding_origin("value", base, lambda v: UNKNOWN) != FRESH:
                # rooted at a value that may be the event's (`e.get("a").push(…)`): untraceable
                whole = via_alias = True
            return
        if name == "e":
            if keys:
                paths.add(tuple(keys))
            else:
                whole = True
            return
        if name in SPECIALS:
            return
        if rebind_ok and isinstance(target, ast.Var):
            return  # `x = …`, `x += …` rebind the local; they change no value it held
        origin = origins.get(name, UNKNOWN)
        if origin == FRESH:
            return
        via_alias = True
        if origin == UNKNOWN:
            whole = True
            return
        for p in origin:  # a for variable over e.P: its items live under P
            if p:
                paths.add(p)
            else:
                whole = True

    for node in nodes:
        if isinstance(node, ast.Assign):
            place(node.target, rebind_ok=True)
        elif isinstance(node, ast.Call) and node.args and node.name not in user_names \
                and registry.mutates(node.name):
            place(node.args[0], rebind_ok=False)
    return Targets(tuple(sorted(paths)), whole, via_alias)


def _literal_path(node: ast.Node) -> tuple[str | None, tuple[str, ...]]:
    """(root variable, literal key path up to the first index or computed key) of a place."""
    keys: list[str] = []
    while isinstance(node, (ast.Prop, ast.Index)):
        if isinstance(node, ast.Prop):
            keys.append(node.name)
        elif isinstance(node.index, ast.Literal) and isinstance(node.index.value, str):
            keys.append(str(node.index.value))
        else:
            keys = ["\0stop"]
        node = node.obj
    keys.reverse()
    if "\0stop" in keys:
        keys = keys[: keys.index("\0stop")]
    return (node.name if isinstance(node, ast.Var) else None), tuple(keys)


def _origins(nodes) -> dict[str, object]:
    """name -> FRESH | UNKNOWN | frozenset of event paths whose items the variable may hold."""
    bindings: dict[str, list] = {}

    def bind(name: str, how) -> None:
        bindings.setdefault(name, []).append(how)

    for n in nodes:
        if isinstance(n, ast.Let):
            bind(n.name, ("value", n.value))
        elif isinstance(n, ast.Assign) and isinstance(n.target, ast.Var) and n.op is None:
            bind(n.target.name, ("value", n.value))
        elif isinstance(n, ast.For):
            bind(n.var, ("iter", n.iterable))
            if n.index_var:
                bind(n.index_var, ("fresh", None))
        elif isinstance(n, ast.FnDef):
            for p in n.params:  # script fns take their arguments by value
                bind(p, ("fresh", None))
        elif isinstance(n, ast.Closure):
            for p in n.params:  # a closure's items may be the event's (`e.list.map(|x| …)`)
                bind(p, ("unknown", None))
        elif isinstance(n, ast.Try) and n.err_name:
            bind(n.err_name, ("fresh", None))

    memo: dict[str, object] = {}

    def origin(name: str, busy: frozenset) -> object:
        if name in memo:
            return memo[name]
        if name in busy or name not in bindings:
            return UNKNOWN  # a cycle, or a variable from an earlier stage (D1)
        result: object = FRESH
        for kind, node in bindings[name]:
            got = _binding_origin(kind, node, lambda v: origin(v, busy | {name}))
            result = _merge(result, got)
            if result == UNKNOWN:
                break
        memo[name] = result
        return result

    return {name: origin(name, frozenset()) for name in bindings}


def _binding_origin(kind: str, node, origin_of) -> object:
    if kind == "fresh":
        return FRESH
    if kind == "unknown":
        return UNKNOWN
    if kind == "value":
        if node is None or isinstance(node, (*_FRESH_VALUES, ast.Var, ast.Prop, ast.Index)):
            return FRESH  # literals, and places (copied when assigned, as in Rhai)
        if isinstance(node, ast.Binary) and node.op != "??":
            return FRESH
        if isinstance(node, ast.Call):
            b = registry.REGISTRY.get(node.name)
            if b is not None and not b.dynamic and b.returns in _SCALAR_RETURNS:
                return FRESH
        return UNKNOWN
    # "iter": a for loop's items are not copied
    if isinstance(node, (ast.Literal, ast.ArrayLit)):
        return FRESH  # array literals copy their items
    if isinstance(node, (ast.Var, ast.Prop, ast.Index)):
        root, path = _literal_path(node)
        if root == "e":
            return frozenset({path})
        if root is None or root in SPECIALS:
            return UNKNOWN if root is None else FRESH
        return origin_of(root)
    if isinstance(node, ast.Call) and node.name == "range":
        return FRESH
    return UNKNOWN


def _merge(a, b):
    if a == UNKNOWN or b == UNKNOWN:
        return UNKNOWN
    if a == FRESH:
        return b
    if b == FRESH:
        return a
    return a | b
