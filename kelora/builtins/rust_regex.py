"""Rust-regex patterns on Python's ``re``: one translating, caching compile helper for all builtins.

Scripts are written against Rust's ``regex`` crate.  Most syntax is shared; the differences that
matter in log scripts are translated here once per distinct pattern:

* ``(?<name>...)`` named groups  -> ``(?P<name>...)`` (Python 3.11 only knows the ``P`` form);
* ``\\z`` (end of text)           -> ``\\Z``, and ``$`` too unless ``(?m)`` (Python's ``$`` would
  also match before a trailing newline);
* POSIX classes ``[[:alpha:]]``   -> explicit ASCII ranges;
* ``\\pL`` / ``\\p{L}`` / ``\\p{N}`` ... (a few common Unicode classes) -> ``re`` equivalents;
* inline flags in mid-pattern ``a(?i)b`` -> scoped ``a(?i:b)`` (``re`` rejects the former).

Replacement strings use Rust's ``$1`` / ``${1}`` / ``$name`` / ``${name}`` / ``$$`` syntax;
``rust_template`` turns them into a Python ``re.sub`` template (unknown groups expand to ``""`` as
in Rust).

Public API (other builtin modules import these):

``compile_regex(pattern, ignore_case=False) -> re.Pattern``
    cached; raises ``FunctionError("Invalid regex pattern '<p>': <err>")`` when invalid.
``regex_error(pattern) -> str | None``
    the error text for an invalid pattern, else None (uses the same cache).
``compile_or_warn(ctx, pattern) -> re.Pattern | None``
    for the "invalid regex => fallback + one warning" builtins: warns once per pattern with
    ``invalid regex '<p>': <err>`` through ``ctx.diag.warn_once`` and returns None.
``rust_template(compiled, repl) -> str``
    a Rust replacement string as a Python template for ``compiled.sub``.
``rust_sub(compiled, repl, text) -> str``
    Rust ``replace_all``.
"""
from __future__ import annotations

import re
from functools import lru_cache

from kelora.errors import FunctionError

_MAX_CACHE = 4096
# pattern text (+ case flag) -> compiled pattern, or the error text when invalid
_CACHE: dict[tuple[str, bool], re.Pattern | str] = {}

_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7F",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1F\\x7F",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}

# \p{X} inside and outside a class (the inside form must not itself be bracketed)
_UNICODE_CLASSES = {
    "L": ("[^\\W\\d_]", None),
    "Letter": ("[^\\W\\d_]", None),
    "Alphabetic": ("[^\\W\\d_]", None),
    "N": ("\\d", "\\d"),
    "Nd": ("\\d", "\\d"),
    "Digit": ("\\d", "\\d"),
    "Z": ("\\s", "\\s"),
    "Zs": ("\\s", "\\s"),
    "White_Space": ("\\s", "\\s"),
    "Lu": ("[A-Z]", "A-Z"),
    "Ll": ("[a-z]", "a-z"),
}
_UNICODE_NEGATED = {"L": "[\\W\\d_]", "N": "\\D", "Nd": "\\D", "Z": "\\S", "White_Space": "\\S"}

_FLAG_GROUP = re.compile(r"\(\?([imsxU-]+)\)")
_MULTILINE = re.compile(r"\(\?[a-zA-Z]*m[a-zA-Z-]*[:)]")


def translate_pattern(pattern: str) -> str:
    """Rewrite Rust-regex syntax that Python's ``re`` spells differently (see module doc)."""
    if not any(c in pattern for c in "\\[($"):
        return pattern
    # Rust's `$` is end of text unless (?m); Python's also matches before a final "\n"
    multiline = _MULTILINE.search(pattern) is not None
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_start, class_negated, class_alts = 0, False, []  # the open [...] class
    # per open group: how many scoped-flag groups we opened inside it and must close with it
    pending: list[int] = [0]
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "z" and not in_class:
                out.append("\\Z")
                i += 2
                continue
            if nxt in "pP":
                name, end = _unicode_name(pattern, i + 2)
                if name is not None:
                    rep = _unicode_class(name, nxt == "P", in_class)
                    if rep is not None:
                        out.append(rep)
                        i = end
                        continue
                    if in_class and not class_negated and nxt == "p":
                        alt = _unicode_class(name, False, False)
                        if alt is not None:  # e.g. [\p{L}_]: becomes (?:[_]|[^\W\d_])
                            class_alts.append(alt)
                            i = end
                            continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                if end != -1:
                    name = pattern[i + 2 : end]
                    negate = name.startswith("^")
                    body = _POSIX.get(name.lstrip("^"))
                    if body is not None and not negate:
                        out.append(body)
                        i = end + 2
                        continue
            if c == "[":
                out.append("\\[")  # Rust nested classes are rare; keep Python from warning
                i += 1
                continue
            if c == "]":
                in_class = False
                if class_alts:
                    body = "".join(out[class_start + 1 :])
                    del out[class_start:]
                    members = [f"[{body}]"] if body else []
                    out.append("(?:" + "|".join(members + class_alts) + ")")
                    i += 1
                    continue
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            class_start, class_negated, class_alts = len(out), False, []
            out.append(c)
            i += 1
            # a leading ']' or '^]' is a literal member
            if pattern.startswith("^", i):
                out.append("^")
                class_negated = True
                i += 1
            if pattern.startswith("]", i):
                out.append("\\]")
                i += 1
            continue
        if c == "(":
            if pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
                out.append("(?P<")
                i += 3
                pending.append(0)
                continue
            m = _FLAG_GROUP.match(pattern, i)
            if m:
                if all(_FLAG_GROUP.fullmatch(piece) for piece in out):
                    out.append(m.group(0))
                else:
                    out.append(f"(?{m.group(1)}:")
                    pending[-1] += 1
                i = m.end()
                continue
            pending.append(0)
            out.append(c)
            i += 1
            continue
        if c == "$" and not multiline:
            out.append("\\Z")
            i += 1
            continue
        if c == ")":
            out.append(")" * pending.pop() if len(pending) > 1 else "")
            if not pending:
                pending.append(0)
            out.append(")")
            i += 1
            continue
        out.append(c)
        i += 1
    out.append(")" * pending[0])
    return "".join(out)


def _unicode_name(pattern: str, j: int) -> tuple[str | None, int]:
    if j < len(pattern) and pattern[j] == "{":
        end = pattern.find("}", j)
        if end == -1:
            return None, j
        return pattern[j + 1 : end], end + 1
    if j < len(pattern):
        return pattern[j], j + 1
    return None, j


def _unicode_class(name: str, negated: bool, in_class: bool) -> str | None:
    if negated:
        return None if in_class else _UNICODE_NEGATED.get(name)
    outside, inside = _UNICODE_CLASSES.get(name, (None, None))
    return inside if in_class else outside


def _lookup(pattern: str, ignore_case: bool) -> re.Pattern | str:
    key = (pattern, ignore_case)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    try:
        result: re.Pattern | str = re.compile(
            translate_pattern(pattern), re.IGNORECASE if ignore_case else 0
        )
    except re.error as err:
        result = str(err)
    except (RecursionError, OverflowError, ValueError) as err:
        result = str(err)
    if len(_CACHE) >= _MAX_CACHE:
        _CACHE.clear()  # patterns built per event (rare) must not grow memory without bound
    _CACHE[key] = result
    return result


def compile_regex(pattern: str, ignore_case: bool = False) -> re.Pattern:
    """Compiled, cached pattern; FunctionError ``Invalid regex pattern '<p>': <err>`` if invalid."""
    hit = _lookup(pattern, ignore_case)
    if type(hit) is str:
        raise FunctionError(f"Invalid regex pattern '{pattern}': {hit}")
    return hit  # type: ignore[return-value]


def literal_pattern_hook(index: int):
    """A ``compile_literal`` hook: a pattern given as a literal (argument *index* of the script
    call) is compiled when the script is compiled, so an invalid one stops the run before any
    input is read, with the script's line and caret; patterns computed at run time are
    compiled (once each, cached) on first use."""

    def hook(args: tuple):
        if len(args) > index and type(args[index]) is str:
            compile_regex(args[index])  # FunctionError -> ScriptCompileError
        return None  # keep the function; the cache now holds the compiled pattern

    return hook


def regex_error(pattern: str) -> str | None:
    """The compile error of an invalid pattern, else None."""
    hit = _lookup(pattern, False)
    return hit if type(hit) is str else None  # type: ignore[return-value]


def compile_or_warn(ctx, pattern: str, ignore_case: bool = False) -> re.Pattern | None:
    """Compiled pattern, or None after one warning ``invalid regex '<p>': <err>`` per pattern."""
    hit = _lookup(pattern, ignore_case)
    if type(hit) is str:
        if ctx is not None:
            ctx.diag.warn_once(f"invalid-regex:{pattern}", f"invalid regex '{pattern}': {hit}")
        return None
    return hit  # type: ignore[return-value]


_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


@lru_cache(maxsize=1024)
def rust_template(compiled: re.Pattern, repl: str) -> str:
    """Translate a Rust replacement (``$1``, ``${name}``, ``$$``) into a ``re.sub`` template."""
    if "$" not in repl and "\\" not in repl:
        return repl
    out: list[str] = []
    i, n = 0, len(repl)
    while i < n:
        c = repl[i]
        if c == "\\":
            out.append("\\\\")
            i += 1
            continue
        if c != "$":
            out.append(c)
            i += 1
            continue
        if i + 1 < n and repl[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        if i + 1 < n and repl[i + 1] == "{":
            end = repl.find("}", i + 2)
            if end == -1:
                out.append("$")
                i += 1
                continue
            ref = repl[i + 2 : end]
            i = end + 1
        else:
            j = i + 1
            while j < n and repl[j] in _NAME_CHARS:
                j += 1
            if j == i + 1:
                out.append("$")
                i += 1
                continue
            ref = repl[i + 1 : j]
            i = j
        out.append(_group_ref(compiled, ref))
    return "".join(out)


def _group_ref(compiled: re.Pattern, ref: str) -> str:
    if ref.isdigit() and ref.isascii():
        num = int(ref)
        return f"\\g<{num}>" if num <= compiled.groups else ""
    if ref in compiled.groupindex:
        return f"\\g<{ref}>"
    return ""  # Rust expands unknown groups to the empty string


def rust_sub(compiled: re.Pattern, repl: str, text: str, count: int = 0) -> str:
    """Rust ``Regex::replace_all`` (or the first ``count`` matches), within the string limit.

    The result is at most ``len(text)`` plus, per match (at most ``len(text) + 1`` of them, empty
    matches included), the template's length, plus each group reference once over the text
    (matches do not overlap).  When that bound fits the limit ``re.sub`` runs as is; otherwise the
    exact size is measured first, at C speed (``_sub_size``), and a result past the limit is the
    limit error, never built (``replace_regex(s, "", s)`` on a 1 MB line would be a terabyte)."""
    from kelora.builtins.limits import MAX_STR, want_str

    template = rust_template(compiled, repl)
    n = len(text)
    # (over-estimated: the template's whole length counts as literal, any "g<" as a reference)
    if n + (n + 1) * len(template) + template.count("g<") * n > MAX_STR:
        want_str(_sub_size(compiled, template, text, count), "replace_regex")
    return compiled.sub(template, text, count=count)


_TEMPLATE_PART = re.compile(r"\\\\|\\g<([^>]*)>|[^\\]+")


def _sub_size(compiled: re.Pattern, template: str, text: str, count: int) -> int:
    """The exact length of ``compiled.sub(template, text, count)`` without building it: the text
    without its matches (``subn`` with "" also counts them), the literal part of the template per
    match, and per group reference the total length of that group over the matches (a ``sub``
    with the reference alone).  Each pass builds at most ``len(text)`` characters."""
    literal = 0
    refs: dict[str, int] = {}
    for m in _TEMPLATE_PART.finditer(template):  # (rust_template escapes every backslash)
        if m.group(1) is not None:
            refs[m.group(1)] = refs.get(m.group(1), 0) + 1
        else:
            literal += 1 if m.group() == "\\\\" else len(m.group())
    rest, matches = compiled.subn("", text, count=count)
    size = len(rest) + matches * literal
    for ref, times in refs.items():
        size += times * (len(compiled.sub(f"\\g<{ref}>", text, count=count)) - len(rest))
    return size


def finditer_resuming(search_re: re.Pattern, at_re: re.Pattern, text: str):
    """Matches of a run-start pattern (*search_re*: a look-behind keeps it from starting inside
    a run, so a failed scan is never repeated from each position of the run — linear time),
    with the backtracking original's one extra case: right where the previous match ended, the
    original may start again mid-run (``ann@x.com-bob@y.org``: ``-bob@y.org``).  *at_re* is
    the original pattern, tried anchored there once per match (still linear)."""
    pos, resume, n = 0, False, len(text)
    while pos <= n:
        m = at_re.match(text, pos) if resume else None
        if m is None:
            m = search_re.search(text, pos)
            if m is None:
                return
        yield m
        pos = m.end() if m.end() > m.start() else m.end() + 1
        resume = True


def sub_resuming(search_re: re.Pattern, at_re: re.Pattern, repl, text: str) -> str:
    """``re.sub`` with *repl(match)* over `finditer_resuming` matches."""
    out, last = [], 0
    for m in finditer_resuming(search_re, at_re, text):
        out.append(text[last : m.start()])
        out.append(repl(m))
        last = m.end()
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)
