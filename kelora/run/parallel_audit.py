"""What `--parallel` may run: decided once from the compiled scripts (their ASTs), before any input.

A parallel run must give exactly the sequential result or refuse (COMPAT, "Exactness across
processes").  Workers see batches of lines; whatever carries information from one event to the
next inside a worker would see only its own batch.  So, in the per-event stages (`-e`,
`--filter`, `--assert`; `--begin` and `--end` run once, in the parent):

* ``state`` is refused, with Kelora's own message;
* reading ``metrics`` is refused (a worker holds only its batch's part; ``--end`` sees them all);
* writing files (the builtins with the ``"io"`` effect: ``append_file``, ``truncate_file``,
  ``mkdir``) is refused: workers would write in the order batches finish, not in input order;
* ``sample_every(n)`` (effect ``"count"``) counts calls across events.  Where every call is
  unconditional (at the top level of a stage that every event reaches: no
  `--filter`/`--levels`/`--assert` stage and no stage that may drop an event before it; not
  inside a condition, loop, closure, function, `&&`/`||`/`??`, `try`, nor after a
  `return`/`throw`/`skip()`/`exit()` (effect ``"control"``)) the run is read sequentially
  instead, which gives the sequential result by definition; anywhere else it is refused;
* seeded ``rand``/``rand_int``/``sample_prob`` need nothing here: with ``KELORA_SEED`` they draw
  from a generator per line number (kelora.builtins.mathfns), the same in both runs.

``conf`` is read-only outside ``--begin`` by every route, so it cannot differ either.
"""
from __future__ import annotations

import dataclasses

from kelora.builtins import registry
from kelora.lang import ast

STATE_MESSAGE = ("'state' is not available in --parallel mode. Rerun without --parallel if you need "
                 "shared mutable state; use track_* helpers for parallel-safe aggregation.")


class ParallelRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _children(node):
    if isinstance(node, (list, tuple)):
        for x in node:
            yield from _children(x)
        return
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            if f.name == "span" or f.name == "name_span":
                continue
            value = getattr(node, f.name)
            if isinstance(value, (list, tuple)) or dataclasses.is_dataclass(value):
                yield value


def _effects(name: str) -> frozenset:
    f = registry.facts(name)
    return f.effects if f is not None else frozenset()


def _walk(node, unconditional: bool, found: list) -> None:
    """Collect ``(name, node, unconditional)`` for the calls and special variables of interest."""
    if isinstance(node, (list, tuple)):
        for x in node:
            _walk(x, unconditional, found)
        return
    if isinstance(node, ast.Var) and node.name in ("state", "metrics"):
        found.append((node.name, node, unconditional))
        return
    if isinstance(node, ast.Call):
        effects = _effects(node.name)
        if "count" in effects or "io" in effects:
            found.append((node.name, node, unconditional))
        for arg in node.args:
            _walk(arg, unconditional, found)
        return
    if isinstance(node, ast.Binary) and node.op in ("&&", "||", "??"):
        _walk(node.left, unconditional, found)
        _walk(node.right, False, found)
        return
    if isinstance(node, ast.If):
        _walk(node.cond, unconditional, found)
        _walk(node.then, False, found)
        _walk(node.else_, False, found)
        return
    if isinstance(node, (ast.While, ast.Loop, ast.For, ast.Closure, ast.FnDef, ast.Try, ast.Switch)):
        for child in _children(node):
            _walk(child, False, found)
        return
    for child in _children(node):
        _walk(child, unconditional, found)


def _top_level(prog, stage_kind: str, filtered_before: bool) -> list:
    found: list = []
    script = prog.ast
    stmts = script.stmts if isinstance(script, ast.Script) else (script,)
    # a statement after a `return` or `throw` at the top level may not run; anything after a
    # conditional `return` (inside an if) may not either: later statements count as conditional
    unconditional = not filtered_before
    for stmt in stmts:
        _walk(stmt, unconditional, found)
        if unconditional and _may_end_early(stmt):
            unconditional = False
    fns = getattr(script, "fns", ())
    _walk(list(fns), False, found)
    return found


def _may_end_early(node) -> bool:
    """Whether ``node`` can end the stage (``return``/``throw``/``skip()``/``exit()``) or drop
    the event (``e = ()``); after it, calls are not made for every event."""
    if isinstance(node, (list, tuple)):
        return any(_may_end_early(x) for x in node)
    if isinstance(node, (ast.Return, ast.Throw)):
        return True
    if isinstance(node, ast.Call) and "control" in _effects(node.name):
        return True
    if isinstance(node, ast.Assign) and isinstance(node.target, ast.Var) and node.target.name == "e":
        return True
    return any(_may_end_early(child) for child in _flatten(_children(node)))


def _flatten(children):
    for c in children:
        if isinstance(c, (list, tuple)):
            yield from _flatten(c)
        else:
            yield c


def audit(stages: list[tuple[str, object]]) -> bool:
    """Check the stages ``[(kind, program or None), ...]`` (kind: begin, exec, filter, assert,
    levels, end) in order.  Returns True when the run must be read sequentially (see the
    module docstring); raises ``ParallelRefused`` when it cannot run in parallel at all."""
    sequential = False
    filtered_before = False
    for kind, prog in stages:
        if kind in ("begin", "end"):  # run once, in the parent: only `state` is refused (as Kelora)
            if prog is not None and any(name == "state" for name, _, _ in _top_level(prog, kind, True)):
                raise ParallelRefused(STATE_MESSAGE)
            continue
        if prog is None:  # --levels / --exclude-levels
            filtered_before = True
            continue
        for name, node, unconditional in _top_level(prog, kind, filtered_before):
            if name == "state":
                raise ParallelRefused(STATE_MESSAGE)
            if name == "metrics":
                raise ParallelRefused(
                    "'metrics' can be read only in --end under --parallel (each worker holds only "
                    "its own batches' values). Rerun without --parallel, or read it in --end.")
            if "io" in _effects(name):
                raise ParallelRefused(
                    f"'{name}' is not available in --parallel mode: workers would write in the order "
                    "their batches finish, not in input order. Rerun without --parallel.")
            if not unconditional:
                raise ParallelRefused(
                    f"'{name}' is not available in --parallel mode here: its count runs across "
                    "events, so it is allowed only where every event calls it (at the top level of a "
                    "stage, not inside a condition, with no --filter, --levels or --assert stage "
                    "before it). Rerun without --parallel, or use sample_prob() with KELORA_SEED "
                    "(reproducible per line).")
            sequential = True
        if kind != "exec" or _may_end_early(prog.ast):
            filtered_before = True  # a later stage does not see every event
    return sequential
