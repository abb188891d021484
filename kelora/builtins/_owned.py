"""Values returned by builtins never alias the event or `conf` (issue 12, item 5).

Scripts have value semantics (Rhai clones on assignment): `let m = e.n` copies.  Builtins get
their arguments without a copy (it would cost every call), so one that returns a part of an
argument (`get`, `get_path`, `values`, `keep`, `drop`, `sorted`, `filter`...) or stores one into
another container (`push`, `merge`...) copies the arrays/maps it hands over: otherwise
`let m = e.keep(["n"]); m.n.a = 5` would change the event behind the stage's snapshot (a failed
stage would not be rolled back) and `let l = conf.get("seen"); l.push(1)` would change `conf`.
Scalars are immutable and never copied.
"""
from __future__ import annotations

from kelora.lang.ops import deep_copy


def owned(v: object) -> object:
    """*v*, or a deep copy of it when it is an array or a map."""
    t = type(v)
    return deep_copy(v) if t is list or t is dict else v


def owned_items(items) -> list:
    """A list of the items, each array/map among them deep-copied."""
    return [deep_copy(x) if type(x) is list or type(x) is dict else x for x in items]
