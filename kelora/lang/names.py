"""Names across stages, checked once before any input is read (COMPAT D23).

Every name a script reads or assigns is resolved when it is compiled: a local, a top-level
`let` of its own stage, or one of ``e``/``meta``/``line``/``conf``/``state``/``metrics``.  What
remains (``Compiler.free_refs``) may only be a top-level `let` of an *earlier* exec stage of the
same event (COMPAT D1).  ``check_stages`` looks at every stage of the run together and turns a
name that nothing declares into a compile error (exit 1) with the advice that fits the shape of
the mistake: a bare word compared with a field (``e.level == ERROR``), ``null``/``None``,
``True``, ``e.user-id``, a field without ``e.``, a file name given to ``-e``, ``metrics`` outside
``--end``, a ``--begin`` variable read later.  Kelora reports these per event at run time.
"""
from __future__ import annotations

import re

from kelora.errors import ScriptCompileError, Source, Span
from kelora.lang import ast

NULL_WORDS = frozenset({"null", "None", "nil", "NULL", "Null", "undefined", "nothing", "Nil", "NaN"})
TRUE_WORDS = {"True": "true", "TRUE": "true", "False": "false", "FALSE": "false"}
EVENT_WORDS = frozenset({"event", "evt", "ev", "record", "rec", "row", "log", "entry", "doc", "obj",
                         "msg_", "self", "this", "it", "_", "item", "data", "json", "r", "x_"})
# `-e long.rhai`: the whole stage text is one file-name-like word
_FILE_LIKE = re.compile(r"^\s*[\w.~/-]*\w\.(rhai|kel|kelora|txt|script|rs|js|py|sh|conf|ini)\s*$")
_CMP = frozenset({"==", "!=", "<", "<=", ">", ">="})


class StageInfo:
    """One compiled stage, as ``check_stages`` needs it."""

    __slots__ = ("kind", "program", "flag")

    def __init__(self, kind: str, program, flag: str = ""):
        self.kind = kind  # begin | exec | filter | assert | end
        self.program = program
        self.flag = flag  # "-e" / "--filter" / "-E" ... when known (for the file-name advice)


def check_stages(stages: list[StageInfo], warn=None, warn_once=None) -> None:
    """Raise ``ScriptCompileError`` (with its source) for the first name nothing declares.

    With *warn* (a ``text -> None`` sink, given when warnings are on), also report the silent
    traps that the script's shape shows (lint.py) and watch for those of run time (traps.py),
    through *warn_once* (``(key, text) -> None``) when given.
    """
    _check_names(stages)
    _note_private(stages)
    if warn is not None:
        from kelora.lang import lint, traps

        for w in lint.lint(stages):
            warn(w.render())
        traps.install(warn_once or (lambda key, text: warn(text)))


def _note_private(stages) -> None:
    """Fields a privacy function reads anywhere: diagnostics never show their values (D24)."""
    from kelora.builtins import registry
    from kelora.lang.explain import PRIVATE, field_path

    for st in stages:
        prog = st.program
        for tree in (prog.ast, prog.prelude_ast):
            if tree is None:
                continue
            for root in (*tree.stmts, *tree.fns):
                for n in ast.walk(root):
                    if isinstance(n, ast.Call) and registry.hides_value(n.name):
                        for arg in n.args:
                            for m in ast.walk(arg):
                                p = field_path(m)
                                if p is not None:
                                    PRIVATE.add(p[0])


def _check_names(stages: list[StageInfo]) -> None:
    begin_lets: set[str] = set()
    end_lets: set[str] = set()
    stage_lets: list[tuple[int, frozenset]] = []
    for i, st in enumerate(stages):
        if st.kind == "begin":
            begin_lets |= st.program.top_lets
        elif st.kind == "end":
            end_lets |= st.program.top_lets
        else:
            stage_lets.append((i, st.program.top_lets))
    for i, st in enumerate(stages):
        prog = st.program
        if not prog.free_refs:
            continue
        earlier: set[str] = set()
        if st.kind not in ("begin", "end"):
            for j, lets in stage_lets:
                if j < i and stages[j].kind == "exec":
                    earlier |= lets
        for name, span, mode, source in prog.free_refs:
            if mode != "fn" and name in earlier:
                continue
            later = [stages[j].program.source.label for j, lets in stage_lets if j >= i and name in lets]
            message, hint = advice(name, span, mode, source, st, later, begin_lets, end_lets,
                                   declared=sorted(earlier | prog.top_lets), stages=stages[:i + 1])
            raise ScriptCompileError(message, kind="unknown-variable", span=span,
                                     source=source or prog.source, hint=hint)


def advice(name: str, span: Span, mode: str, source: Source | None, st: StageInfo, later: list,
           begin_lets: set, end_lets: set, declared: list, stages=()) -> tuple[str, str]:
    """The message and hint for an undeclared *name* read (or assigned) at *span*."""
    text = source.text if source is not None else ""
    parent, other = _context(st.program, source, span)
    msg = f"Variable not found: {name}"
    if mode == "fn":
        return msg, ("functions cannot see outer variables (e, meta, conf, let variables): "
                     "pass them as parameters")
    if name in NULL_WORDS:
        if isinstance(parent, ast.Binary) and parent.op in ("==", "!=") and _is_field(other):
            test = "!" if parent.op == "==" else ""
            field = _field_name(other)
            return msg, (f"the missing value is written `()`, not `{name}`: "
                         f"`{_src(text, other)} {parent.op} ()`, or `{test}e.has(\"{field}\")`")
        return msg, f"the missing value (null/None) is written `()`, not `{name}`"
    if name in TRUE_WORDS:
        return msg, f"booleans are lowercase: write `{TRUE_WORDS[name]}`"
    if name == "metrics" and st.kind != "end":
        return ("`metrics` is only available in --end",
                "metrics are complete only after the last event: read them in --end, "
                "e.g. --end 'print(metrics.count)'; track_*() calls record them in -e")
    if st.kind == "exec" and st.flag in ("", "-e", "--exec") and _FILE_LIKE.match(st.program.source.text):
        fname = st.program.source.text.strip()
        return msg, f"-e takes script text; to run the script file {fname}, use -E {fname}"
    if name in begin_lets and st.kind != "begin":
        return msg, (f"`{name}` was declared with `let` in --begin, and --begin's variables end "
                     f"with it; pass values on through `conf`: --begin 'conf.{name} = ...' "
                     f"and read `conf.{name}`")
    if name in end_lets and st.kind != "end":
        return msg, f"`{name}` is declared in --end, which runs after the last event"
    if later:
        where = later[0]
        if where == st.program.source.label:
            return msg, f"`{name}` is used before its `let`: declare it first"
        return msg, (f"`{name}` is declared in {where}, which runs after this stage; "
                     f"stages run in command-line order")
    inner = next((w for w in (_block_let(x, name) for x in reversed(stages or [st])) if w), None)
    if inner is not None:
        return msg, (f"`{name}` is declared inside a block ({inner}); a `let` in `{{ }}` ends with "
                     f"its block: declare it before the block (`let {name} = ();`) and assign it inside")
    from kelora.lang.foreign import FUNCTIONS

    if name in FUNCTIONS and mode == "read":  # jq's `.x | tostring`, a function named alone
        return msg, f"`{name}` is not a function here: {FUNCTIONS[name]}"
    hyphen = _hyphenated(text, parent, other, span)
    if hyphen is not None:
        return msg, (f"`-` subtracts here; a field name with a dash is written "
                     f"`e[\"{hyphen}\"]`")
    if mode == "write":
        from kelora.builtins.registry import suggest

        sug = suggest(name, declared) if declared else None
        if sug:
            return msg, f"did you mean `{sug}`?"
        return msg, f"declare it first with `let {name} = ...`, or write a field: `e.{name} = ...`"
    if name in EVENT_WORDS:
        return msg, "the current event is `e`: write `e.field`"
    if isinstance(parent, ast.Binary) and parent.op in _CMP and _is_field(other):
        return msg, (f"to compare with the text {name}, quote it: "
                     f"`{_src(text, other)} {parent.op} \"{name}\"`")
    from kelora.builtins.registry import suggest

    sug = suggest(name, declared) if declared else None
    if sug:
        return msg, f"did you mean `{sug}`?"
    if name.isupper() and len(name) > 1 and not (isinstance(parent, ast.Binary) and parent.op in _CMP):
        return msg, f"to use the text {name}, quote it: \"{name}\"; event fields are read as `e.field`"
    return msg, (f"event fields are read through `e`: write `e.{name}`; "
                 f"a variable must be declared with `let {name} = ...`")


def _block_let(st: StageInfo, name: str) -> str | None:
    """Where a block-scoped `let name` of this stage (or an earlier one) is, if any."""

    prog = st.program
    for root in prog.ast.stmts:
        for n in ast.walk(root):  # (a top-level `let` is `root` itself)
            if isinstance(n, ast.Let) and n.name == name and n is not root:
                line, col = prog.source.line_col(n.span.start)
                return f"{prog.source.label} at {line}:{col}"
    return None


def _src(text: str, node) -> str:
    return text[node.span.start:node.span.end] if node is not None else ""


def _is_field(node) -> bool:
    from kelora.lang.check import root_of

    if not isinstance(node, (ast.Prop, ast.Index)):
        return False
    root, _ = root_of(node)
    return root == "e"


def _field_name(node) -> str:
    if isinstance(node, ast.Prop):
        return node.name
    if isinstance(node, ast.Index) and isinstance(node.index, ast.Literal):
        return str(node.index.value)
    return "field"


def _hyphenated(text: str, parent, other, span: Span) -> str | None:
    """`e.user-id`: a field minus a name written with no spaces around the `-`."""
    if not (isinstance(parent, ast.Binary) and parent.op == "-" and isinstance(other, ast.Prop)
            and _is_field(other) and parent.right.span == span):
        return None
    if text[other.span.end:span.start] != "-":
        return None
    return f"{other.name}-{text[span.start:span.end]}"


def _context(prog, source, span: Span):
    """The node right above the Var at *span*, and the other operand when it is a Binary."""
    roots = []
    if source is not None and prog.prelude_source is not None and source is prog.prelude_source:
        roots = [*prog.prelude_ast.stmts, *prog.prelude_ast.fns]
    else:
        roots = [*prog.ast.stmts, *prog.ast.fns]
    stack = [(r, None) for r in roots]
    while stack:
        node, parent = stack.pop()
        if isinstance(node, (ast.Var, ast.Assign)) and node.span == span:
            if isinstance(parent, ast.Binary):
                other = parent.left if parent.right is node else parent.right
                return parent, other
            return parent, None
        for c in ast.children(node):
            stack.append((c, node))
    return None, None
