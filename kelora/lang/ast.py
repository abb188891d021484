"""The script AST: frozen, slotted dataclasses, every node with a ``Span``.

lower.py builds it from the Lark tree; check.py reads it (names, arity, mutation analysis);
compile.py turns it into closures.  Expressions and statements share one ``Node`` base because
in Rhai most statements are expressions (``if``, ``switch``, blocks) and a block's value is its
last expression.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from kelora.errors import Span


@dataclass(frozen=True, slots=True)
class Node:
    span: Span


# ------------------------------------------------------------------ expressions

@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: object  # None (unit), int, float, str, Char, bool


@dataclass(frozen=True, slots=True)
class Var(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Template(Node):  # `a ${x} b`: parts are concatenated with to_string
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ArrayLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class MapLit(Node):
    keys: tuple[str, ...]
    values: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Prop(Node):  # obj.name   obj?.name
    obj: Node
    name: str
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Index(Node):  # obj[index]
    obj: Node
    index: Node


@dataclass(frozen=True, slots=True)
class Call(Node):  # f(a, b)   a.f(b) (method=True: args[0] is the receiver)
    name: str
    args: tuple[Node, ...]
    method: bool = False
    name_span: Span | None = None
    optional: bool = False  # a?.f(): () receiver gives ()


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str  # "-", "+", "!"
    operand: Node


@dataclass(frozen=True, slots=True)
class Block(Node):
    stmts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class If(Node):
    cond: Node
    then: Block
    else_: Node | None  # Block, If or None


@dataclass(frozen=True, slots=True)
class Pattern:
    kind: str  # "lit" | "range" | "wild"
    value: object = None
    high: object = None
    inclusive: bool = False


@dataclass(frozen=True, slots=True)
class SwitchArm:
    patterns: tuple[Pattern, ...]
    guard: Node | None
    body: Node


@dataclass(frozen=True, slots=True)
class Switch(Node):
    subject: Node
    arms: tuple[SwitchArm, ...]


@dataclass(frozen=True, slots=True)
class Closure(Node):
    params: tuple[str, ...]
    body: Node


# ------------------------------------------------------------------ statements

@dataclass(frozen=True, slots=True)
class Let(Node):
    name: str
    value: Node | None
    name_span: Span | None = None


@dataclass(frozen=True, slots=True)
class Assign(Node):  # target = value   target op= value (op is "+", "-", ...)
    target: Node  # Var, Prop or Index
    value: Node
    op: str | None = None


@dataclass(frozen=True, slots=True)
class While(Node):
    cond: Node
    body: Block


@dataclass(frozen=True, slots=True)
class Loop(Node):
    body: Block


@dataclass(frozen=True, slots=True)
class For(Node):
    var: str
    index_var: str | None
    iterable: Node
    body: Block


@dataclass(frozen=True, slots=True)
class FnDef(Node):
    name: str
    params: tuple[str, ...]
    body: Block


@dataclass(frozen=True, slots=True)
class Try(Node):
    body: Block
    err_name: str | None
    handler: Block


@dataclass(frozen=True, slots=True)
class Break(Node):
    pass


@dataclass(frozen=True, slots=True)
class Continue(Node):
    pass


@dataclass(frozen=True, slots=True)
class Return(Node):
    value: Node | None


@dataclass(frozen=True, slots=True)
class Throw(Node):
    value: Node | None


@dataclass(frozen=True, slots=True)
class Script(Node):
    stmts: tuple[Node, ...]
    fns: tuple[FnDef, ...] = field(default=())


STATEMENT_TYPES = (Let, Assign, While, Loop, For, FnDef, Try, Break, Continue, Return, Throw)
# Statements that end with a block, after which Rhai does not require a `;`.
BLOCK_ENDED = (If, Switch, While, Loop, For, FnDef, Try, Block)


def children(node: object):
    """Direct child nodes, for generic walks (``walk``)."""
    if isinstance(node, SwitchArm):
        if node.guard is not None:
            yield node.guard
        yield node.body
        return
    for f in _fields(type(node)):
        v = getattr(node, f)
        if isinstance(v, (Node, SwitchArm)):
            yield v
        elif isinstance(v, tuple):
            for x in v:
                if isinstance(x, (Node, SwitchArm)):
                    yield x


def walk(node: object):
    """*node* and every node below it, parents first (the generic walk of the checks)."""
    yield node
    for c in children(node):
        yield from walk(c)


_FIELDS_CACHE: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    got = _FIELDS_CACHE.get(cls)
    if got is None:
        import dataclasses

        got = tuple(f.name for f in dataclasses.fields(cls) if f.name != "span")
        _FIELDS_CACHE[cls] = got
    return got
