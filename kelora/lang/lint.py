"""Compile-time warnings for scripts that run but rarely do what was meant (issue 14).

Each is decided from the shape of the script alone, once, before any input is read: a
comparison whose value an ``-e`` stage throws away (a filter written as ``-e``), ``//`` after an
expression (it starts a comment: ``e.bytes // 3`` is ``e.bytes``), ``${`` in a double-quoted
string (only backtick strings interpolate), a regex-looking pattern given to the literal
``replace``, and assigning to a ``const``.  Warnings never change results or exit codes.
"""
from __future__ import annotations

import re

from kelora.errors import ScriptWarning, Span
from kelora.lang import ast

_CMP = frozenset({"==", "!=", "<", "<=", ">", ">="})
_REGEXY = re.compile(r"\.\*|\.\+|\\[dswDSWb]|\[\^|^\^|[^\\]\$$|\(\?|\[[A-Za-z0-9]-[A-Za-z0-9]\]|\|")
_SLASHES = re.compile(r"//[ \t]*(\d|e\.|\(|[A-Za-z_]\w*\s*[)\];]|[A-Za-z_]\w*\s*$)")
# the operands around a `//` meant as a division: a name, field path, number or call before it;
# a name, field path or number right after it
_OPERAND_BEFORE = re.compile(r"[A-Za-z_0-9.]*\Z")
_OPERAND_AFTER = re.compile(r"[ \t]*([A-Za-z_0-9][A-Za-z_0-9.]*)[ \t]*(?:[;)]|\Z)")


def _operand_before(text: str) -> str:
    """The operand *text* ends with: a name or field path, with the calls and indexes it ends
    with (`len(e.msg)`, `e.tags[0]`); "" when it is not that simple."""
    end = q = len(text)
    while q and text[q - 1] in ")]":  # (back over a balanced (...) or [...])
        depth = 0
        while q:
            q -= 1
            depth += {")": 1, "]": 1, "(": -1, "[": -1}.get(text[q], 0)
            if depth == 0:
                break
        if depth:
            return ""
    head = _OPERAND_BEFORE.search(text, 0, q)
    start = head.start() if head else q
    return text[start:end] if start < end and text[start] != "." else ""


def lint(stages) -> list[ScriptWarning]:
    out: list[ScriptWarning] = []
    for st in stages:
        prog = st.program
        for tree, source in ((prog.ast, prog.source), (prog.prelude_ast, prog.prelude_source)):
            if tree is None or source is None:
                continue
            out.extend(_lint_one(tree, source, st.kind if source is prog.source else "include"))
    return out


def _is_comparison(node) -> bool:
    if isinstance(node, ast.Binary):
        if node.op in _CMP:
            return True
        if node.op in ("&&", "||"):
            return _is_comparison(node.left) or _is_comparison(node.right)
    return isinstance(node, ast.Unary) and node.op == "!" and _is_comparison(node.operand)


def _lint_one(tree, source, kind) -> list[ScriptWarning]:
    text = source.text
    out = []

    def warn(msg, span, hint):
        out.append(ScriptWarning(msg, kind="lint", span=span, source=source, hint=hint))

    if kind == "exec":
        for st in tree.stmts:
            if _is_comparison(st):
                shown = text[st.span.start:st.span.end]
                warn("this comparison's value is thrown away: -e does not drop events",
                     st.span, f"to keep only the events where it holds, use --filter '{shown}'")
    strings: list[Span] = []
    consts: dict[str, Span] = {}
    for root in (*tree.stmts, *tree.fns):
        for n in ast.walk(root):
            if isinstance(n, (ast.Literal, ast.Template)) and (isinstance(getattr(n, "value", None), str)
                                                              or isinstance(n, ast.Template)):
                strings.append(n.span)
            if isinstance(n, ast.Literal) and isinstance(n.value, str) and "${" in n.value \
                    and text[n.span.start:n.span.start + 1] == '"':
                warn("`${...}` is not replaced in a double-quoted string", n.span,
                     "only backtick strings interpolate: `` `hi ${e.user}` ``")
            if isinstance(n, ast.Call) and n.name == "replace" and len(n.args) >= 2:
                pat = n.args[1]
                if isinstance(pat, ast.Literal) and isinstance(pat.value, str) and _REGEXY.search(pat.value):
                    warn(f"replace() is literal: {text[pat.span.start:pat.span.end]} is searched as written",
                         pat.span, "for a regex use `replace_regex(pattern, replacement)`")
            if isinstance(n, ast.Let) and text.startswith("const", n.span.start):
                consts[n.name] = n.span
            if isinstance(n, ast.Assign) and isinstance(n.target, ast.Var) and n.target.name in consts \
                    and n.span.start > consts[n.target.name].start:
                line, col = source.line_col(consts[n.target.name].start)
                warn(f"`{n.target.name}` is a constant (declared with `const` at {line}:{col}) but is assigned here",
                     n.target.span, f"declare it with `let {n.target.name}` if it is meant to change")
    for m in _SLASHES.finditer(text):
        p = m.start()
        if any(s.start <= p < s.end for s in strings):
            continue
        before = text[:p].rstrip(" \t")
        if not before or before[-1] not in ")]_" and not before[-1].isalnum():
            continue
        line_start = text.rfind("\n", 0, p) + 1
        if "//" in text[line_start:p]:  # already inside a comment
            continue
        end = text.find("\n", p)
        end = len(text) if end < 0 else end
        left = _operand_before(before)
        right = _OPERAND_AFTER.match(text, p + 2, end)
        if left and right:  # (what the user wrote, as a division: `e.status / 100`)
            advice = f"if you meant to divide, write `{left} / {right.group(1)}`"
        else:
            advice = "if you meant to divide, write `a / b`"
        warn("`//` starts a comment: the rest of this line is ignored", Span(p, end),
             f"integer division is `/` (on two ints it drops the fraction); {advice}")
    return out
