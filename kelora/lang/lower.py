"""Lark parse tree -> ``ast`` nodes (with spans), plus the checks the grammar leaves out.

Done here: literal decoding (Rhai string escapes, `_` in numbers, i64 range), template strings
(`${expr}` parts are parsed as expressions at their real offsets), Rhai's statement separator
rule (`;` required except after a block), `fn` only at top level, and the expression-mode
restriction (a filter's blocks hold exactly one expression).
"""
from __future__ import annotations

from kelora import values
from kelora.errors import ScriptSyntaxError, Span
from kelora.lang import ast
from kelora.lang.parser import parse

_SIMPLE_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r", "0": "\0"}
_HEX_LEN = {"x": 2, "u": 4, "U": 8}
_BINOPS = {"or_": "||", "and_": "&&", "bitor": "|", "bitxor": "^", "bitand": "&", "in_": "in",
           "coalesce": "??", "range_excl": "..", "range_incl": "..=", "pow": "**"}
_FILTER_HINT = "a filter is a single expression: no `;`, `let`, assignments or loops"


def _err(msg: str, start: int, end: int, hint: str | None = None, kind: str = "syntax"):
    return ScriptSyntaxError(msg, kind=kind, span=Span(start, max(start, end)), hint=hint)


def decode_escapes(body: str, offset: int, extra: str = "") -> str:
    """Decode Rhai escapes in *body* (which starts at text offset *offset*)."""
    if "\\" not in body:
        return body
    out = []
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= n:
            raise _err("unterminated escape sequence", offset + i, offset + i + 1)
        esc = body[i + 1]
        if esc in _SIMPLE_ESCAPES or esc in extra:
            out.append(_SIMPLE_ESCAPES.get(esc, esc))
            i += 2
            continue
        if esc in _HEX_LEN:
            k = _HEX_LEN[esc]
            digits = body[i + 2 : i + 2 + k]
            if len(digits) != k or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise _err(f"invalid escape `\\{esc}{digits}`: needs {k} hex digits",
                           offset + i, offset + i + 2 + len(digits))
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise _err(f"invalid character code `\\{esc}{digits}`", offset + i, offset + i + 2 + k)
            out.append(chr(code))
            i += 2 + k
            continue
        raise _err(
            f"unknown escape sequence `\\{esc}`",
            offset + i,
            offset + i + 2,
            hint=f'write `\\\\{esc}` for a literal backslash, or use a raw string r"..." (no escapes)',
        )
    return "".join(out)


def parse_int(text: str, start: int, end: int, allow_min: bool = False) -> int:
    t = text.replace("_", "")
    try:
        if t[:2] in ("0x", "0o", "0b"):
            v = int(t[2:], {"0x": 16, "0o": 8, "0b": 2}[t[:2]])
        else:
            v = int(t)
    except ValueError:
        raise _err(f"invalid number `{text}`", start, end) from None
    limit = values.I64_MAX + (1 if allow_min else 0)
    if v > limit:
        raise _err(f"integer literal `{text}` is too large for a 64-bit integer", start, end,
                   hint="write it as a float (e.g. 1.0e19) or a string")
    return v


class Lowerer:
    def __init__(self, text: str, mode: str):
        self.text = text
        self.mode = mode  # "script" | "expression"
        self.fns: list[ast.FnDef] = []

    # ------------------------------------------------------------ helpers
    def span(self, tree) -> Span:
        from lark import Token

        if isinstance(tree, Token):
            return Span(tree.start_pos, tree.end_pos)
        m = tree.meta
        if getattr(m, "empty", True):
            return Span(0, 0)
        return Span(m.start_pos, m.end_pos)

    def lower(self, tree):
        from lark import Token

        if isinstance(tree, Token):
            raise _err(f"unexpected `{tree}`", tree.start_pos, tree.end_pos)  # pragma: no cover
        method = getattr(self, "l_" + tree.data, None)
        if method is None:  # pragma: no cover - grammar and lowerer out of sync
            raise _err(f"unsupported construct {tree.data}", *self._pos(tree))
        return method(tree)

    def _pos(self, tree) -> tuple[int, int]:
        s = self.span(tree)
        return s.start, s.end

    # ------------------------------------------------------------ top level
    def l_script(self, tree) -> ast.Script:
        stmts = self.items(tree.children, top=True)
        return ast.Script(self.span(tree) if tree.children else Span(0, 0), stmts, tuple(self.fns))

    def l_expression(self, tree) -> ast.Script:
        expr = self.lower(tree.children[0])
        return ast.Script(expr.span, (expr,), tuple(self.fns))

    def items(self, children, top: bool = False) -> tuple[ast.Node, ...]:
        """Statements of a script or block, enforcing Rhai's `;` rule."""
        from lark import Token

        out: list[ast.Node] = []
        need_sep = False
        for child in children:
            if isinstance(child, Token):  # SEMI
                need_sep = False
                continue
            if child.data == "fn_def" and not top:
                s, e = self._pos(child)
                raise _err("functions can only be defined at the top level of a script", s, min(e, s + 2))
            node = self.lower(child)
            if need_sep:
                raise _err("expected `;` before this statement", node.span.start, node.span.end,
                           hint="statements are separated by `;` (newlines do not end statements)")
            if isinstance(node, ast.FnDef):
                self.fns.append(node)
                need_sep = False
                continue
            out.append(node)
            need_sep = not isinstance(node, ast.BLOCK_ENDED)
        return tuple(out)

    def l_block(self, tree) -> ast.Block:
        stmts = self.items(tree.children)
        if self.mode == "expression":
            from lark import Token

            semis = [c for c in tree.children if isinstance(c, Token)]
            bad = [s for s in stmts if isinstance(s, ast.STATEMENT_TYPES) or isinstance(s, ast.Block)]
            if semis or len(stmts) != 1 or bad:
                s, e = self._pos(tree)
                raise _err("a block in a filter must hold exactly one expression", s, e, hint=_FILTER_HINT)
        return ast.Block(self.span(tree), stmts)

    # ------------------------------------------------------------ statements
    def l_expr_stmt(self, tree):
        return self.lower(tree.children[0])

    def l_block_stmt(self, tree):
        return self.lower(tree.children[0])

    def l_let_stmt(self, tree):
        name, value = tree.children
        return ast.Let(self.span(tree), str(name), self.lower(value) if value is not None else None,
                       self.span(name))

    def l_assign(self, tree):
        target, value = tree.children
        return ast.Assign(self.span(tree), self.target(target), self.lower(value), None)

    def l_op_assign(self, tree):
        target, op, value = tree.children
        return ast.Assign(self.span(tree), self.target(target), self.lower(value), str(op)[:-1])

    def target(self, tree) -> ast.Node:
        node = self.lower(tree)
        if not isinstance(node, (ast.Var, ast.Prop, ast.Index)) or (
            isinstance(node, ast.Prop) and node.optional
        ):
            raise _err("cannot assign to this expression", node.span.start, node.span.end,
                       hint="assign to a variable (`x = ...`), a field (`e.name = ...`) or an index (`a[0] = ...`)")
        return node

    def l_while_stmt(self, tree):
        cond, body = tree.children
        return ast.While(self.span(tree), self.lower(cond), self.lower(body))

    def l_loop_stmt(self, tree):
        return ast.Loop(self.span(tree), self.lower(tree.children[0]))

    def l_for_stmt(self, tree):
        fv, iterable, body = tree.children
        names = [str(t) for t in fv.children]
        return ast.For(self.span(tree), names[0], names[1] if len(names) > 1 else None,
                       self.lower(iterable), self.lower(body))

    def l_fn_def(self, tree):
        name, params, body = tree.children
        ps = tuple(str(p) for p in params.children) if params is not None else ()
        if len(set(ps)) != len(ps):
            s, e = self._pos(tree)
            raise _err(f"duplicate parameter name in fn {name}", s, e)
        return ast.FnDef(self.span(tree), str(name), ps, self.lower(body))

    def l_try_stmt(self, tree):
        body, name, handler = tree.children
        return ast.Try(self.span(tree), self.lower(body), str(name) if name is not None else None,
                       self.lower(handler))

    def l_break_stmt(self, tree):
        return ast.Break(self.span(tree))

    def l_continue_stmt(self, tree):
        return ast.Continue(self.span(tree))

    def l_return_stmt(self, tree):
        v = tree.children[0]
        return ast.Return(self.span(tree), self.lower(v) if v is not None else None)

    def l_throw_stmt(self, tree):
        v = tree.children[0]
        return ast.Throw(self.span(tree), self.lower(v) if v is not None else None)

    # ------------------------------------------------------------ operators
    def _bin(self, tree):
        left, right = tree.children
        return ast.Binary(self.span(tree), _BINOPS[tree.data], self.lower(left), self.lower(right))

    l_or_ = l_and_ = l_bitor = l_bitxor = l_bitand = l_in_ = l_coalesce = _bin
    l_range_excl = l_range_incl = l_pow = _bin

    def l_binop(self, tree):
        left, op, right = tree.children
        return ast.Binary(self.span(tree), str(op), self.lower(left), self.lower(right))

    def l_sign(self, tree):
        op, operand = tree.children
        if str(op) == "-" and operand.data in ("int", "float"):
            tok = operand.children[0]
            if operand.data == "int":
                v = -parse_int(str(tok), tok.start_pos, tok.end_pos, allow_min=True)
            else:
                v = -float(str(tok).replace("_", ""))
            return ast.Literal(self.span(tree), v)
        return ast.Unary(self.span(tree), str(op), self.lower(operand))

    def l_not_(self, tree):
        return ast.Unary(self.span(tree), "!", self.lower(tree.children[0]))

    # ------------------------------------------------------------ postfix
    def l_prop(self, tree, optional=False):
        obj, name = tree.children
        return ast.Prop(self.span(tree), self.lower(obj), str(name), optional)

    def l_prop_opt(self, tree):
        return self.l_prop(tree, optional=True)

    def l_method(self, tree, optional=False):
        obj, name, args = tree.children
        argl = self.args(args)
        return ast.Call(self.span(tree), str(name), (self.lower(obj), *argl), True, self.span(name), optional)

    def l_method_opt(self, tree):
        return self.l_method(tree, optional=True)

    def l_index(self, tree):
        obj, idx = tree.children
        return ast.Index(self.span(tree), self.lower(obj), self.lower(idx))

    def l_call(self, tree):
        name, args = tree.children
        return ast.Call(self.span(tree), str(name), self.args(args), False, self.span(name))

    def args(self, args) -> tuple[ast.Node, ...]:
        if args is None:
            return ()
        return tuple(self.lower(a) for a in args.children)

    # ------------------------------------------------------------ atoms
    def l_var(self, tree):
        return ast.Var(self.span(tree), str(tree.children[0]))

    def l_int(self, tree):
        tok = tree.children[0]
        return ast.Literal(self.span(tree), parse_int(str(tok), tok.start_pos, tok.end_pos))

    def l_float(self, tree):
        return ast.Literal(self.span(tree), float(str(tree.children[0]).replace("_", "")))

    def l_string(self, tree):
        tok = tree.children[0]
        return ast.Literal(self.span(tree), decode_escapes(str(tok)[1:-1], tok.start_pos + 1))

    def l_raw_string(self, tree):
        return ast.Literal(self.span(tree), raw_body(str(tree.children[0])))

    def l_char(self, tree):
        tok = tree.children[0]
        s = decode_escapes(str(tok)[1:-1], tok.start_pos + 1)
        if len(s) != 1:
            raise _err("a char literal holds exactly one character", tok.start_pos, tok.end_pos,
                       hint='strings use double quotes: "..."')
        return ast.Literal(self.span(tree), values.Char(s))

    def l_true(self, tree):
        return ast.Literal(self.span(tree), True)

    def l_false(self, tree):
        return ast.Literal(self.span(tree), False)

    def l_unit(self, tree):
        return ast.Literal(self.span(tree), None)

    def l_array(self, tree):
        return ast.ArrayLit(self.span(tree), self.args(tree.children[0]))

    def l_map(self, tree):
        items = tree.children[0]
        keys, vals = [], []
        seen = set()
        for it in items.children if items is not None else ():
            k, v = it.children
            key = str(k)
            if k.type == "STRING":
                key = decode_escapes(key[1:-1], k.start_pos + 1)
            if key in seen:
                raise _err(f"duplicate key `{key}` in map literal", k.start_pos, k.end_pos)
            seen.add(key)
            keys.append(key)
            vals.append(self.lower(v))
        return ast.MapLit(self.span(tree), tuple(keys), tuple(vals))

    def l_if_expr(self, tree):
        cond, then, other = tree.children
        else_ = None
        if other is not None:
            else_ = self.lower(other.children[0]) if other.data == "else_branch" else self.lower(other)
        return ast.If(self.span(tree), self.lower(cond), self.lower(then), else_)

    def l_else_branch(self, tree):
        return self.lower(tree.children[0])

    def l_closure(self, tree):
        if len(tree.children) == 2:
            params, body = tree.children
            ps = tuple(str(p) for p in params.children) if params is not None else ()
        else:
            ps, body = (), tree.children[0]
        return ast.Closure(self.span(tree), ps, self.lower(body.children[0]))

    def l_switch_expr(self, tree):
        subject, *arms = tree.children
        out = []
        for arm in arms:
            *pats, guard, body = arm.children
            out.append(ast.SwitchArm(tuple(self.pattern(p) for p in pats),
                                     self.lower(guard) if guard is not None else None, self.lower(body)))
        return ast.Switch(self.span(tree), self.lower(subject), tuple(out))

    def pattern(self, tree) -> ast.Pattern:
        if tree.data == "pat_wild":
            tok = tree.children[0]
            if str(tok) != "_":
                raise _err("switch patterns must be literals, ranges or `_`", tok.start_pos, tok.end_pos)
            return ast.Pattern("wild")
        if tree.data in ("pat_range_excl", "pat_range_incl"):
            lo, hi = tree.children
            return ast.Pattern("range", self.lit_pat(lo), self.lit_pat(hi), tree.data == "pat_range_incl")
        return ast.Pattern("lit", self.lit_pat(tree))

    def lit_pat(self, tree):
        toks = tree.children
        if not toks:  # true/false/() are filtered keywords: read the text
            s, e = self._pos(tree)
            word = self.text[s:e].strip()
            return {"true": True, "false": False}.get(word)
        neg = len(toks) == 2 and str(toks[0]) == "-"
        tok = toks[-1]
        if tok.type == "INT":
            v = parse_int(str(tok), tok.start_pos, tok.end_pos, allow_min=neg)
        elif tok.type == "FLOAT":
            v = float(str(tok).replace("_", ""))
        elif tok.type == "STRING":
            return decode_escapes(str(tok)[1:-1], tok.start_pos + 1)
        elif tok.type == "RAW_STRING":
            return raw_body(str(tok))
        elif tok.type == "CHAR":
            return values.Char(decode_escapes(str(tok)[1:-1], tok.start_pos + 1))
        else:  # pragma: no cover
            raise _err("invalid pattern", tok.start_pos, tok.end_pos)
        return -v if neg else v

    def l_template(self, tree):
        tok = tree.children[0]
        parts = self.template_parts(str(tok)[1:-1], tok.start_pos + 1)
        return ast.Template(self.span(tree), tuple(parts))

    def template_parts(self, body: str, offset: int) -> list[ast.Node]:
        parts: list[ast.Node] = []
        lit: list[str] = []
        lit_start = 0
        i, n = 0, len(body)
        while i < n:
            if body[i] == "\\":
                i += 2
                continue
            if body.startswith("${", i):
                if i > lit_start:
                    raw = body[lit_start:i]
                    parts.append(ast.Literal(Span(offset + lit_start, offset + i),
                                             decode_escapes(raw, offset + lit_start, extra="`$")))
                j = _matching_brace(body, i + 2)
                if j < 0:
                    raise _err("unterminated `${` in template string", offset + i, offset + i + 2)
                inner = body[i + 2 : j]
                if not inner.strip():
                    raise _err("empty `${}` in template string", offset + i, offset + j + 1)
                sub_text = " " * (offset + i + 2) + inner  # padding keeps spans absolute
                sub_tree = parse(sub_text, "expression")
                sub = Lowerer(sub_text, "expression")
                parts.append(sub.lower(sub_tree).stmts[0])
                i = lit_start = j + 1
                continue
            i += 1
        if lit_start < n:
            parts.append(ast.Literal(Span(offset + lit_start, offset + n),
                                     decode_escapes(body[lit_start:], offset + lit_start, extra="`$")))
        del lit
        return parts


def _matching_brace(body: str, i: int) -> int:
    depth = 1
    n = len(body)
    while i < n:
        c = body[i]
        if c == '"':
            i += 1
            while i < n and body[i] != '"':
                i += 2 if body[i] == "\\" else 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def raw_body(tok: str) -> str:
    if tok.startswith("r"):
        return tok[2:-1]
    hashes = len(tok) - len(tok.lstrip("#"))
    return tok[hashes + 1 : -(hashes + 1)]


# Parsed scripts by (text, mode): the pipeline looks at the ASTs of a run's scripts before it
# compiles them (does any call a builtin that needs the pseudonym key?).  The AST is frozen, so
# one copy serves both.
_PARSED: dict[tuple[str, str], ast.Script] = {}


def to_ast(text: str, mode: str) -> ast.Script:
    """Parse and lower *text*; mode "script" or "expression"."""
    from kelora.errors import ScriptSyntaxError

    got = _PARSED.get((text, mode))
    if got is not None:
        return got
    try:
        tree = parse(text, "script" if mode == "script" else "expression")
        got = Lowerer(text, mode).lower(tree)
        if len(_PARSED) >= 32:
            _PARSED.clear()
        _PARSED[(text, mode)] = got
        return got
    except ScriptSyntaxError as err:
        from kelora.lang.foreign import refine

        raise refine(text, err) from None
    except RecursionError:
        raise _err("script is nested too deeply", 0, min(1, len(text)), kind="limit") from None
