"""Regex and glob builtins: replace_regex, matches, split_regex, like, ilike.

Patterns use Rust regex syntax, translated and cached once per distinct pattern by ``_regex``.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from kelora.builtins.rust_regex import compile_or_warn, compile_regex, rust_sub, literal_pattern_hook
from kelora.builtins.registry import builtin


@builtin("strings", pass_context=True)
def replace_regex(ctx, text: str, pattern: str, repl: str) -> str:
    r"""Replace every match of a regex; repl may use $1, ${1}, $name, ${name} and $$.

    An invalid pattern leaves the text unchanged and prints one warning per pattern.

    Examples:
        replace_regex("user=alice id=42", "\\d+", "N")  =>  "user=alice id=N"
        replace_regex("2024-01-15", "(\\d+)-(\\d+)-(\\d+)", "$3/$2/$1")  =>  "15/01/2024"
        replace_regex("ab", "(?P<x>a)", "[${x}]")  =>  "[a]b"
    """
    compiled = compile_or_warn(ctx, pattern)
    if compiled is None:
        return text
    return rust_sub(compiled, repl, text)


@builtin("strings")
def matches(text: str, pattern: str) -> bool:
    r"""True when the regex matches anywhere in text (unanchored search).

    An invalid pattern is a runtime error `Invalid regex pattern '<p>': <err>`.

    Examples:
        matches("error 500 at /api", "\\d{3}")  =>  true
        matches("hello", "^ell")  =>  false
        matches("Hello", "(?i)^hello$")  =>  true
    """
    return compile_regex(pattern).search(text) is not None


@builtin("strings", pass_context=True)
def split_regex(ctx, text: str, pattern: str) -> list:
    r"""Split text at every regex match (groups are not included).

    An invalid pattern gives [text] and one warning.

    Examples:
        split_regex("a1b22c", "\\d+")  =>  ["a", "b", "c"]
        split_regex("a, b;c", "[,;]\\s*")  =>  ["a", "b", "c"]
    """
    compiled = compile_or_warn(ctx, pattern)
    if compiled is None:
        return [text]
    out, last = [], 0
    for m in compiled.finditer(text):
        out.append(text[last : m.start()])
        last = m.end()
    out.append(text[last:])
    return out


@lru_cache(maxsize=512)
def _glob_plan(glob: str) -> tuple:
    """The glob split at its stars: per piece a literal string (found with ``str.find``) or,
    when it has '?', a fixed-width regex.  Matching places the pieces greedily left to right:
    O(len(text) * len(glob)), where the equivalent `.*a.*b...` regex backtracks polynomially."""
    pieces = []
    for part in glob.split("*"):
        if "?" in part:
            piece = re.compile("".join("." if c == "?" else re.escape(c) for c in part), re.DOTALL)
        else:
            piece = part
        pieces.append((piece, len(part)))
    return tuple(pieces), len(pieces) > 1


def _piece_at(piece, text: str, pos: int) -> bool:
    if type(piece) is str:
        return text.startswith(piece, pos)
    return piece.match(text, pos) is not None


def _piece_find(piece, text: str, pos: int, end: int) -> int:
    if type(piece) is str:
        return text.find(piece, pos, end)
    m = piece.search(text, pos, end)
    return -1 if m is None else m.start()


def _glob_match(text: str, glob: str) -> bool:
    plan, starred = _glob_plan(glob)
    pieces = [p for p, _ in plan]
    widths = [w for _, w in plan]
    if not starred:
        return len(text) == widths[0] and _piece_at(pieces[0], text, 0)
    first, last = pieces[0], pieces[-1]
    if len(text) < widths[0] + widths[-1]:
        return False
    if not _piece_at(first, text, 0):
        return False
    tail_start = len(text) - widths[-1]
    if not _piece_at(last, text, tail_start):
        return False
    pos = widths[0]
    for piece, w in zip(pieces[1:-1], widths[1:-1]):
        if w == 0:
            continue
        at = _piece_find(piece, text, pos, tail_start)
        if at < 0:
            return False
        pos = at + w
    return True


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@builtin("strings")
def like(text: str, glob: str) -> bool:
    """Whole-text glob match: `*` any run of characters, `?` one character.

    Examples:
        like("api-server-01", "api-*")  =>  true
        like("abc", "a?c")  =>  true
        like("abc", "b*")  =>  false
    """
    return _glob_match(text, glob)


@builtin("strings")
def ilike(text: str, glob: str) -> bool:
    """Case-insensitive like() (Unicode case folding).

    Examples:
        ilike("ERROR: Disk", "error*")  =>  true
        ilike("Straße", "STRASSE")  =>  true
    """
    return _glob_match(_fold(text), _fold(glob))


# literal patterns are compiled (and checked) when the script is compiled
matches.compile_literal = literal_pattern_hook(1)  # type: ignore[attr-defined]
replace_regex.compile_literal = literal_pattern_hook(1)  # type: ignore[attr-defined]
split_regex.compile_literal = literal_pattern_hook(1)  # type: ignore[attr-defined]
