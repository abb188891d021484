"""Habits from other languages, recognised where the parser gives up (issue 14).

A syntax error is first found by the parser (``parser.py``/``lower.py``); ``refine`` then looks at
the text around its position and, when it sees a construct from Python, JavaScript, jq, Miller,
SQL or C, replaces Lark's token list with what the user wrote and how to write it here.  The
one table ``TOKENS`` holds every entry (its ``what`` and ``advice`` are also the documentation:
docs/language.md "Coming from another language").  ``FUNCTIONS`` does the same for calls of
functions this language names differently (used by ``check.resolve_calls``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from kelora.errors import ScriptSyntaxError, Span

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Foreign:
    name: str  # what the user wrote (for the table)
    message: str  # replaces the parser's "unexpected ..." line
    advice: str  # the hint
    detect: Callable  # (text, pos) -> Span | None: where the foreign construct is


def _word_at(text: str, p: int) -> tuple[str, int, int]:
    m = _WORD.match(text, p)
    return (m.group(), m.start(), m.end()) if m else ("", p, p)


def _prev_word(text: str, p: int) -> tuple[str, int, int]:
    """The identifier right before *p* (spaces skipped), or ''."""
    q = p
    while q > 0 and text[q - 1] in " \t\r\n":
        q -= 1
    end = q
    while q > 0 and (text[q - 1].isalnum() or text[q - 1] == "_"):
        q -= 1
    word = text[q:end]
    if word and not word[0].isdigit() and (q == 0 or text[q - 1] != "."):
        return word, q, end
    return "", p, p


def _next_word(text: str, p: int) -> tuple[str, int, int]:
    q = p
    while q < len(text) and text[q] in " \t\r\n":
        q += 1
    return _word_at(text, q)


def _stmt_start(text: str, p: int) -> int:
    """Start of the statement around *p* (after the last `;`, `{` or `}` before it)."""
    cut = max(text.rfind(";", 0, p), text.rfind("{", 0, p), text.rfind("}", 0, p))
    return cut + 1


def _open_bracket(text: str, p: int, open_: str, close: str) -> bool:
    """Is there an unclosed *open_* in the statement before *p*?"""
    depth = 0
    for ch in reversed(text[:p]):
        if ch == close:
            depth += 1
        elif ch == open_:
            if depth == 0:
                return True
            depth -= 1
        elif ch == ";":
            return False
    return False


def _word_rule(*words: str, before: bool = False, after: str | None = None):
    """The error is at (or, with before=True, right after) one of *words*."""
    def detect(text, p):
        w, s, e = _prev_word(text, p) if before else _word_at(text, p)
        if w not in words and not before:  # the parser may stop at the word after it
            w, s, e = _prev_word(text, p)
        if w in words:
            if after is not None:
                w2, _, e2 = _next_word(text, e)
                if w2 != after:
                    return None
                return Span(s, e2)
            return Span(s, e)
        return None
    return detect


def _at(s: str):
    def detect(text, p):
        for q in ((p, p - 1, p - 2) if len(s) > 1 else (p,)):
            if q >= 0 and text.startswith(s, q):
                return Span(q, q + len(s))
        return None
    return detect


def _incr(text, p):
    q = p
    while q > 0 and text[q - 1] in " \t":
        q -= 1
    for op in ("++", "--"):
        if text.startswith(op, q - 2) and q >= 2:
            return Span(q - 2, q)
        if text.startswith(op, p):
            return Span(p, p + 2)
    return None


def _jq_dot(text, p):
    if p < len(text) - 1 and text[p] == "." and (text[p + 1].isalpha() or text[p + 1] == "_"):
        q = p
        while q > 0 and text[q - 1] in " \t\r\n":
            q -= 1
        if q == 0 or text[q - 1] in "=(,[{:&|!<>+-*/%?":
            w, _, e = _word_at(text, p + 1)
            return Span(p, e)
    return None


def _dollar(text, p):
    if p < len(text) and text[p] == "$" and not text.startswith("${", p):
        w, _, e = _word_at(text, p + 1)
        return Span(p, e if w else p + 1)
    return None


def _dollar_brace(text, p):
    if text.startswith("${", p):
        end = text.find("}", p)
        return Span(p, end + 1 if end > 0 else p + 2)
    return None


def _slice(text, p):
    if p < len(text) and text[p] == ":" and _open_bracket(text, p, "[", "]"):
        return Span(p, p + 1)
    return None


def _map_brace(text, p):
    m = re.compile(r"\{\s*(\"[^\"]*\"|[A-Za-z_]\w*)\s*:").match(text, p)
    if m and (p == 0 or text[p - 1] != "#"):
        return Span(p, p + 1)
    if p < len(text) and text[p] == ":":
        q = text.rfind("{", 0, p)
        if q >= 0 and (q == 0 or text[q - 1] != "#") and re.fullmatch(r"\{\s*(\"[^\"]*\"|[A-Za-z_]\w*)\s*", text[q:p]):
            return Span(q, q + 1)
    return None


_BLOCKS = {"if": "if cond { ... } else { ... }", "elif": "if cond { ... } else if cond { ... }",
           "else": "if cond { ... } else { ... }", "while": "while cond { ... }",
           "for": "for x in array { ... }", "def": "fn name(x) { ... }", "loop": "loop { ... }",
           "try": "try { ... } catch (err) { ... }", "except": "try { ... } catch (err) { ... }"}


def _block_head(text: str, p: int) -> str:
    """The keyword that starts the statement holding *p* (`for` in `for x in xs:`)."""
    m = re.match(r"\s*([a-z]+)", text[_stmt_start(text, p):p])
    return m.group(1) if m else ""


def _open_comment(text, p):
    for q in (p, p - 1):
        if q >= 0 and text.startswith("/*", q) and "*/" not in text[q + 2:]:
            return Span(q, q + 2)
    return None


def _block_colon(text, p):
    if p < len(text) and text[p] == ":":
        head = text[_stmt_start(text, p):p].lstrip()
        if re.match(r"(if|else|elif|while|for|def|try|except|loop)\b", head):
            return Span(p, p + 1)
    return None


def _comment(text, p):
    if p < len(text) and text[p] == "#" and not text.startswith(("#{", '#"', "##"), p):
        end = text.find("\n", p)
        return Span(p, end if end >= 0 else len(text))
    return None


def _fstring(text, p):
    for q in (p, p - 1):
        if 0 < q < len(text) and text[q] in "\"'" and text[q - 1] in "fF" and (q < 2 or not (text[q - 2].isalnum() or text[q - 2] == "_")):
            return Span(q - 1, q)
    return None


def _call_without_parens(text, p):
    w, s, e = _prev_word(text, p)
    if w in ("print", "eprint", "echo", "puts", "printf", "say", "console"):
        if p < len(text) and text[p] != "(":
            return Span(s, e)
    return None


def _c_for(text, p):
    found = None
    for found in re.finditer(r"\bfor\s*\(", text[:p + 1]):
        pass
    if found is not None and ";" in text[found.end():]:
        return Span(found.start(), found.end())
    return None


def _comprehension(text, p):
    w, s, e = _word_at(text, p)
    if w == "for" and _open_bracket(text, p, "[", "]"):
        return Span(s, e)
    return None


def _regex_literal(text, p):
    if p < len(text) and text[p] == "/":
        m = re.compile(r"/[^/\n]+/[a-z]*").match(text, p)
        if m:
            return Span(m.start(), m.end())
    return None


# The table: first match wins, so specific shapes come before general ones.
TOKENS: tuple[Foreign, ...] = (
    Foreign("not in", "`not in` is not an operator here", "write `!(x in list)`, or `!list.contains(x)`",
            _word_rule("not", after="in")),
    Foreign("is not None", "`is not` is not an operator here",
            "test for a missing value with `!= ()` (e.g. `e.user != ()`), or `e.has(\"user\")`",
            _word_rule("is", after="not")),
    Foreign("is None", "`is` is not an operator here",
            "test for a missing value with `== ()` (e.g. `e.user == ()`), or `!e.has(\"user\")`",
            _word_rule("is")),
    Foreign("and", "`and` is not an operator here", "write `&&`: `e.a > 1 && e.b < 2`", _word_rule("and")),
    Foreign("or", "`or` is not an operator here", "write `||`: `e.a == 1 || e.b == 2`", _word_rule("or")),
    Foreign("not", "`not` is not an operator here", "write `!`: `!e.ok`, `!(e.a == 1)`", _word_rule("not")),
    Foreign("x ? a : b", "there is no `? :` operator", "write `if cond { a } else { b }` (an if is an expression)",
            _at("?")),
    Foreign("=~", "there is no `=~` operator", "match a regex with `e.msg.matches(\"re\")`", _at("=~")),
    Foreign("!~", "there is no `!~` operator", "write `!e.msg.matches(\"re\")`", _at("!~")),
    Foreign("===", "there is no `===` operator", "write `==` (values of different types are never equal)",
            _at("===")),
    Foreign("!==", "there is no `!==` operator", "write `!=`", _at("!==")),
    Foreign("<>", "there is no `<>` operator", "write `!=`", _at("<>")),
    Foreign(":=", "there is no `:=` operator", "declare with `let x = ...`; assign with `=`", _at(":=")),
    Foreign("x => ...", "arrow functions are not supported", "closures are written `|x| x * 2`", _at("=>")),
    Foreign("lambda", "`lambda` is not a keyword here", "closures are written `|x| x * 2`",
            _word_rule("lambda")),
    Foreign("[x for x in xs]", "list comprehensions are not supported",
            "write `xs.map(|x| x * 2)` or `xs.filter(|x| x > 1)`", _comprehension),
    Foreign("for (i = 0; ...)", "C-style `for` loops are not supported",
            "write `for i in 0..10 { ... }` (or `for x in array { ... }`)", _c_for),
    Foreign("{a: 1}", "a map literal starts with `#{`", "write `#{a: 1}` (a bare `{` starts a block)", _map_brace),
    Foreign("def", "`{word}` is not a keyword here", "functions are defined as `fn name(x) { ... }`",
            _word_rule("def", "function", "func", "fun", "sub", "defn", before=True)),
    Foreign("var", "variables are declared with `let`", "write `let x = 1;` (not `{word}`)",
            _word_rule("var", "val", "my", "local", "auto", "dim", before=True)),
    Foreign("x++", "there is no `++`/`--` operator", "write `x += 1` (or `x -= 1`)", _incr),
    Foreign(".status (jq)", "a field is read from the event `e`", "write `e.status` (jq's `.status`)", _jq_dot),
    Foreign("${x} outside a string", "`${...}` works inside backtick strings only",
            "write `` `user ${e.user}` `` (a template), or just `e.user`", _dollar_brace),
    Foreign("$status (Miller/awk)", "a field is read from the event `e`", "write `e.status` (Miller's `$status`)",
            _dollar),
    Foreign("[0:2]", "slices are not written `[a:b]`",
            "write `x.slice(\"0:2\")` (text or array, Python's start:stop:step in a string) or, for text, `s.sub_string(0, 2)` (start, length)",
            _slice),
    Foreign("if x:", "blocks are written with braces", "write `{block}`", _block_colon),
    Foreign("elif", "`{word}` is not a keyword here", "write `else if`", _word_rule("elif", "elsif", "elseif")),
    Foreign("then", "`then` is not a keyword here", "write `if cond { ... }`", _word_rule("then")),
    Foreign("switch … case", "`{word}` is not a keyword here",
            "switch arms are written `switch x { 1 => ..., 2 | 3 => ..., _ => ... }`",
            _word_rule("case", "default", before=True)),
    Foreign("except", "`except` is not a keyword here", "write `try { ... } catch (err) { ... }`",
            _word_rule("except")),
    Foreign("/* ...", "this `/*` comment is never closed", "end it with `*/`", _open_comment),
    Foreign("# comment", "comments start with `//`", "write `// comment` (or `/* ... */`)", _comment),
    Foreign("f\"...\"", "f-strings are not supported",
            "use a backtick template: `` `hi ${e.user}` ``", _fstring),
    Foreign("/regex/", "regexes are written as strings", "write `e.msg.matches(\"err.*\")` (or a raw string `r\"\\d+\"`)",
            _regex_literal),
    Foreign("print x", "a function call needs parentheses", "write `print(x)`", _call_without_parens),
)

# Functions other languages have under another name: name -> advice (check.resolve_calls).
FUNCTIONS: dict[str, str] = {
    "emit": "to emit events use `emit_each(array_of_maps)`",
    "str": "convert with `x.to_string()`",
    "string": "convert with `x.to_string()`",
    "tostring": "convert with `x.to_string()`",
    "toString": "convert with `x.to_string()`",
    "float": "convert with `x.to_float()` (or `to_float_or(x, 0.0)`)",
    "parseFloat": "convert with `x.to_float()`",
    "parseInt": "convert with `x.to_int()` (or `to_int_or(x, 0)`)",
    "tonumber": "convert with `x.to_int()` or `x.to_float()`",
    "to_number": "convert with `x.to_int()` or `x.to_float()`",
    "number": "convert with `x.to_int()` or `x.to_float()`",
    "length": "the length is `x.len()`",
    "size": "the length is `x.len()`",
    "strlen": "the length is `x.len()`",
    "substr": "write `s.sub_string(start, length)`",
    "substring": "write `s.sub_string(start, length)`",
    "strftime": "write `e.ts.to_datetime().format(\"%Y-%m-%d\")`",
    "format_datetime": "write `dt.format(\"%Y-%m-%d\")`",
    "has_key": "write `e.has(\"key\")` or `\"key\" in e`",
    "haskey": "write `e.has(\"key\")` or `\"key\" in e`",
    "has_field": "write `e.has(\"key\")` or `\"key\" in e`",
    "exists": "write `e.has(\"key\")` or `\"key\" in e`",
    "contains_key": "write `e.has(\"key\")` or `\"key\" in e`",
    "find": "write `s.index_of(\"x\")`",
    "indexOf": "write `s.index_of(\"x\")`",
    "test": "match a regex with `s.matches(\"re\")`",
    "select": "keep events with `--filter 'expr'`",
    "startswith": "write `s.starts_with(\"x\")`",
    "endswith": "write `s.ends_with(\"x\")`",
    "startsWith": "write `s.starts_with(\"x\")`",
    "endsWith": "write `s.ends_with(\"x\")`",
    "toLowerCase": "write `s.to_lower()`",
    "toUpperCase": "write `s.to_upper()`",
    "ascii_downcase": "write `s.to_lower()`",
    "ascii_upcase": "write `s.to_upper()`",
    "tolower": "write `s.to_lower()`",
    "toupper": "write `s.to_upper()`",
    "strptime": "write `s.to_datetime(\"%d/%m/%Y\")`",
    "del": "remove a field by assigning `()`: `e.field = ()`",
    "delete": "remove a field by assigning `()`: `e.field = ()`",
    "isnull": "test for a missing value with `x == ()`",
    "is_null": "test for a missing value with `x == ()`",
    "isinstance": "ask the type with `type_of(x)`, or `x.is_string()`, `x.is_int()`...",
    "type": "ask the type with `type_of(x)`",
    "typeof": "ask the type with `type_of(x)`",
    "console": "write `print(x)`",
    "echo": "write `print(x)`",
    "puts": "write `print(x)`",
    "printf": "write `print(`${x}`)` with a template string",
    "sprintf": "format with a template string: `` `${a}-${b}` ``",
    "gsub": "write `s.replace(\"a\", \"b\")` (literal) or `s.replace_regex(\"re\", \"b\")`",
    "sub": "write `s.replace(\"a\", \"b\")` (literal) or `s.replace_regex(\"re\", \"b\")`",
    "regex_replace": "write `s.replace_regex(\"re\", \"b\")`",
    "re_match": "write `s.matches(\"re\")`",
    "regex": "write `s.matches(\"re\")` or `s.extract_regex(\"re\")`",
    "append_to": "write `arr.push(x)`",
    "count_distinct": "count distinct values with `track_unique(\"name\", value)`",
    "distinct": "count distinct values with `track_unique(\"name\", value)`",
    "uniq": "write `arr.unique()`, or `track_unique(\"name\", value)` across events",
    "includes": "write `x.contains(y)` (text or array)",
    "include": "write `x.contains(y)` (text or array)",
    "stringify": "serialize with `to_json(x)`",
    "dumps": "serialize with `to_json(x)`",
    "json_encode": "serialize with `to_json(x)`",
    "tojson": "serialize with `to_json(x)`",
    "fromjson": "parse with `parse_json(s)`",
    "loads": "parse with `parse_json(s)`",
    "json_decode": "parse with `parse_json(s)`",
    "search": "find text with `s.contains(\"x\")` or `s.index_of(\"x\")`; a regex with `s.matches(\"re\")`",
    "title": "there is no title case; `s.to_upper()` / `s.to_lower()` change the case",
    "capitalize": "there is no capitalize; `s.sub_string(0, 1).to_upper() + s.sub_string(1)` does it",
}


def unclosed(text: str) -> int | None:
    """Offset of the innermost `{` never closed (strings, chars and comments skipped)."""
    stack: list[tuple[str, int]] = []
    i, n = 0, len(text)
    pairs = {")": "(", "]": "[", "}": "{"}
    while i < n:
        ch = text[i]
        if ch in "\"`":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        if ch in "([{":
            stack.append((ch, i))
        elif ch in ")]}":
            if stack and stack[-1][0] == pairs[ch]:
                stack.pop()
            else:
                return None  # unbalanced the other way: the parser's message is better
        i += 1
    for ch, pos in reversed(stack):
        if ch == "{":
            return pos
    return None


def refine(text: str, err: ScriptSyntaxError) -> ScriptSyntaxError:
    """Replace *err*'s message, hint and span when its position shows a foreign habit."""
    if err.span is None or err.kind == "limit":
        return err
    if err.message.startswith("unexpected end of script"):
        pos = unclosed(text)
        if pos is not None:
            brace = "#{" if pos > 0 and text[pos - 1] == "#" else "{"
            start = pos - 1 if brace == "#{" else pos
            err.message = f"this `{brace}` is never closed"
            err.hint = "add the matching `}` (the script ended first)"
            err.span = Span(start, pos + 1)
            return err
    positions = [err.span.start]
    if err.span.start >= len(text.rstrip()):  # "unexpected end of script": look at the end
        positions.append(len(text.rstrip()))
    for p in positions:
        for f in TOKENS:
            try:
                span = f.detect(text, p)
            except IndexError:
                span = None
            if span is not None:
                # ({word}: what the user wrote there; {block}: the block form of the keyword
                # before the colon, `for x in xs { ... }` for a Python `for x in xs:`)
                word = text[span.start:span.end]
                block = _BLOCKS.get(_block_head(text, span.start), _BLOCKS["if"])
                err.message = f.message.replace("{word}", word)
                err.hint = f.advice.replace("{word}", word).replace("{block}", block)
                err.span = span
                return err
    return err
