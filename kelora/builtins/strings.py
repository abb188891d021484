"""Text builtins: search, cut, split, trim, case (regexes: text_regex.py; columns: columns.py).

COMPAT D3: no string function mutates its receiver; each returns the new value, so
``e.msg = e.msg.replace("a", "b")`` and ``e.msg = e.msg.trim()`` do what they say.
Functions annotated ``str`` reject ``()`` (a missing field) through the registry's type check,
which is how Kelora reports field-name typos.  Lengths and indexes count characters.
"""
from __future__ import annotations

from kelora import values
from kelora.builtins.limits import MAX_LIST, want_list, want_ops, want_str
from kelora.builtins.registry import builtin
from kelora.errors import FunctionError

_NOTHING = object()  # "argument not given" for optional parameters that accept any value
# Rust's char::is_whitespace set (Python's str.strip() would also strip \x1c-\x1f)
_WS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


# --------------------------------------------------------------------------- occurrences

def _occurrence(text: str, sub: str, nth: int) -> int:
    """Index of the nth non-overlapping occurrence (1-based; negative from the end), or -1."""
    if nth == 0:
        return -1
    if not sub:
        return 0
    if nth == 1:
        return text.find(sub)
    positions = []
    start = text.find(sub)
    while start != -1:
        positions.append(start)
        start = text.find(sub, start + len(sub))
    if nth < 0:
        return positions[nth] if -nth <= len(positions) else -1
    return positions[nth - 1] if nth <= len(positions) else -1


@builtin("strings")
def after(text: str, delim: str, nth: int = 1) -> str:
    """Text after the first (or nth) occurrence of delim; "" when it does not occur.

    nth counts from 1; a negative nth counts from the end (-1 = last occurrence); 0 or an
    out-of-range nth gives "".  An empty delim gives the whole text.

    Examples:
        after("user=alice id=7", "=")  =>  "alice id=7"
        after("a/b/c", "/", -1)  =>  "c"
        after("a/b/c", "/", 5)  =>  ""
    """
    pos = _occurrence(text, delim, nth)
    return "" if pos < 0 else text[pos + len(delim):]


@builtin("strings")
def before(text: str, delim: str, nth: int = 1) -> str:
    """Text before the first (or nth) occurrence of delim; "" when it does not occur.

    Examples:
        before("user@example.com", "@")  =>  "user"
        before("a/b/c", "/", -1)  =>  "a/b"
        before("abc", "x")  =>  ""
    """
    pos = _occurrence(text, delim, nth)
    return "" if pos < 0 else text[:pos]


@builtin("strings")
def between(text: str, start: str, end: str, nth: int = 1) -> str:
    """Text between an occurrence of start (first, or nth) and the next end.

    end not found gives ""; an empty end means "to the end of the text".

    Examples:
        between("GET /api/users HTTP/1.1", "GET ", " HTTP")  =>  "/api/users"
        between("[a] [b]", "[", "]", 2)  =>  "b"
        between("key=val", "=", "")  =>  "val"
    """
    pos = _occurrence(text, start, nth)
    if pos < 0:
        return ""
    rest = text[pos + len(start):]
    if not end:
        return rest
    stop = rest.find(end)
    return "" if stop < 0 else rest[:stop]


@builtin("strings")
def starting_with(text: str, prefix: str, nth: int = 1) -> str:
    """Text from the first (or nth) occurrence of prefix to the end; "" if absent.

    Examples:
        starting_with("noise ERROR disk full", "ERROR")  =>  "ERROR disk full"
        starting_with("a-b-c", "-", -1)  =>  "-c"
    """
    pos = _occurrence(text, prefix, nth)
    return "" if pos < 0 else text[pos:]


@builtin("strings")
def ending_with(text: str, suffix: str, nth: int = _NOTHING) -> str:  # type: ignore[assignment]
    """Text from the start through the last (or nth) occurrence of suffix; "" if absent.

    Without nth the last occurrence is used; with nth, occurrences count from the start
    (negative from the end).

    Examples:
        ending_with("/var/log/app.log", "/")  =>  "/var/log/"
        ending_with("a.b.c", ".", 1)  =>  "a."
    """
    if nth is _NOTHING:
        pos = text.rfind(suffix)
    else:
        pos = _occurrence(text, suffix, nth)
    return "" if pos < 0 else text[: pos + len(suffix)]


# --------------------------------------------------------------------------- replace / regex

@builtin("strings")
def replace(text: str, find: str, repl: str) -> str:
    """Replace every literal occurrence of find with repl and return the new string.

    Not a regex (use replace_regex for that).  Unlike Rhai, the receiver is not modified
    (COMPAT D3), so `e.msg = e.msg.replace("a", "b")` works.

    Examples:
        replace("a-b-c", "-", "+")  =>  "a+b+c"
        replace("aaa", "a", "")  =>  ""
        replace("1.2", ".", ",")  =>  "1,2"
    """
    if len(repl) > len(find):  # the limit is checked before the string is built
        hits = len(text) + 1 if not find else text.count(find)
        want_str(len(text) + hits * (len(repl) - len(find)), "replace")
    return text.replace(find, repl)

# --------------------------------------------------------------------------- split / join

@builtin("strings")
def split(text: str, sep: str | int = _NOTHING) -> list:  # type: ignore[assignment]
    """Split text: by a separator string or char, by whitespace (no separator), or at an index.

    Follows Rust str::split: every separator produces a boundary, so leading, trailing and
    repeated separators give empty strings.  With an int, splits into 2 parts at that character
    index (negative from the end).

    Examples:
        split("/a/b", "/")  =>  ["", "a", "b"]
        split("a,b,,c", ",")  =>  ["a", "b", "", "c"]
        split("  one two\tthree ")  =>  ["one", "two", "three"]
        split("hello", 2)  =>  ["he", "llo"]
    """
    if sep is _NOTHING:
        return text.split()
    if type(sep) is int:
        n = len(text)
        idx = sep + n if sep < 0 else sep
        idx = max(0, min(idx, n))
        return [text[:idx], text[idx:]]
    if sep == "":
        # Rust: "abc".split("") => ["", "a", "b", "c", ""]
        want_list(len(text) + 2, "split")
        return ["", *text, ""]
    if len(text) >= MAX_LIST:  # (a shorter text cannot give too many parts)
        want_list(text.count(sep) + 1, "split")
    return text.split(sep)


@builtin("strings")
def splitn(text: str, n: int, sep: str) -> list:
    """Split into at most n parts at sep (the last part holds the rest).

    Examples:
        splitn("a=b=c", 2, "=")  =>  ["a", "b=c"]
    """
    if n <= 0:
        return []
    if n > MAX_LIST and len(text) >= MAX_LIST and sep:
        want_list(text.count(sep) + 1, "splitn")
    return text.split(sep, n - 1) if sep else [text]


# --------------------------------------------------------------------------- trimming / case

@builtin("strings")
def strip(text: str, chars: str = _NOTHING) -> str:  # type: ignore[assignment]
    """Remove leading and trailing whitespace (or any of the given chars).

    Examples:
        strip("  hello \\n")  =>  "hello"
        strip("--x--", "-")  =>  "x"
        strip("xyhixy", "yx")  =>  "hi"
    """
    return text.strip(_WS) if chars is _NOTHING else text.strip(chars)


@builtin("strings")
def lstrip(text: str, chars: str = _NOTHING) -> str:  # type: ignore[assignment]
    """Remove leading whitespace (or any of the given chars).

    Examples:
        lstrip("  hi  ")  =>  "hi  "
        lstrip("007", "0")  =>  "7"
    """
    return text.lstrip(_WS) if chars is _NOTHING else text.lstrip(chars)


@builtin("strings")
def rstrip(text: str, chars: str = _NOTHING) -> str:  # type: ignore[assignment]
    """Remove trailing whitespace (or any of the given chars).

    Examples:
        rstrip("  hi  ")  =>  "  hi"
        rstrip("path///", "/")  =>  "path"
    """
    return text.rstrip(_WS) if chars is _NOTHING else text.rstrip(chars)


@builtin("strings")
def trim(text: str) -> str:
    """Remove leading and trailing whitespace and return the new string (COMPAT D3).

    Examples:
        trim("  padded  ")  =>  "padded"
    """
    return text.strip(_WS)


def _clip_left(text: str) -> str:
    i = 0
    while i < len(text) and not text[i].isalnum():
        i += 1
    return text[i:]


def _clip_right(text: str) -> str:
    j = len(text)
    while j > 0 and not text[j - 1].isalnum():
        j -= 1
    return text[:j]


@builtin("strings")
def clip(text: str) -> str:
    """Remove non-alphanumeric characters from both ends.

    Examples:
        clip("(hello!)")  =>  "hello"
        clip("--")  =>  ""
    """
    return _clip_right(_clip_left(text))


@builtin("strings")
def lclip(text: str) -> str:
    """Remove non-alphanumeric characters from the start.

    Examples:
        lclip("...x.")  =>  "x."
    """
    return _clip_left(text)


@builtin("strings")
def rclip(text: str) -> str:
    """Remove non-alphanumeric characters from the end.

    Examples:
        rclip("[word]!")  =>  "[word"
    """
    return _clip_right(text)


@builtin("strings", aliases=("upper", "make_upper"))
def to_upper(text: str) -> str:
    """Upper-case copy of the text (Unicode).

    Examples:
        to_upper("warn")  =>  "WARN"
        upper("straße")  =>  "STRASSE"
    """
    return text.upper()


@builtin("strings", aliases=("lower", "make_lower"))
def to_lower(text: str) -> str:
    """Lower-case copy of the text (Unicode).

    Examples:
        to_lower("ERROR")  =>  "error"
        lower("ÄB")  =>  "äb"
    """
    return text.lower()


# --------------------------------------------------------------------------- tests on text

@builtin("strings")
def starts_with(text: str, prefix: str) -> bool:
    """True when text starts with prefix.

    Examples:
        starts_with("/api/users", "/api")  =>  true
        starts_with("abc", "")  =>  true
    """
    return text.startswith(prefix)


@builtin("strings")
def ends_with(text: str, suffix: str) -> bool:
    """True when text ends with suffix.

    Examples:
        ends_with("app.log", ".log")  =>  true
        ends_with("app.log", ".txt")  =>  false
    """
    return text.endswith(suffix)


@builtin("strings")
def is_digit(text: str) -> bool:
    """True when text is non-empty and all ASCII digits.

    Examples:
        is_digit("0123")  =>  true
        is_digit("12a")  =>  false
        is_digit("")  =>  false
    """
    return text.isascii() and text.isdigit()


@builtin("strings")
def count(text: str, sub: str) -> int:
    """Number of non-overlapping occurrences of sub (0 for an empty sub).

    Examples:
        count("a,b,c", ",")  =>  2
        count("aaaa", "aa")  =>  2
        count("abc", "")  =>  0
    """
    return text.count(sub) if sub else 0


def _seq_contains_any(seq, needles: list, test) -> bool:
    return any(test(item, n) for item in seq for n in needles)


@builtin("strings")
def contains_any(haystack: str | list, needles: list) -> bool:
    """True when the text contains any of the substrings (or the array any of the values).

    Examples:
        contains_any("disk failure on sda", ["fail", "panic"])  =>  true
        contains_any(["a", "b"], ["c", "b"])  =>  true
        contains_any("ok", [])  =>  false
    """
    if type(haystack) is list:
        return _seq_contains_any(haystack, needles, values.equals)
    return any(isinstance(n, str) and n in haystack for n in needles)


@builtin("strings")
def starts_with_any(haystack: str | list, prefixes: list) -> bool:
    """True when the text starts with any of the prefixes (for an array: any string element does).

    Examples:
        starts_with_any("/api/v2/x", ["/admin", "/api"])  =>  true
        starts_with_any("GET", ["POST", "PUT"])  =>  false
    """
    strs = tuple(str(p) for p in prefixes if isinstance(p, str))
    if not strs:
        return False
    if type(haystack) is list:
        return any(isinstance(x, str) and x.startswith(strs) for x in haystack)
    return haystack.startswith(strs)


@builtin("strings")
def ends_with_any(haystack: str, suffixes: list) -> bool:
    """True when the text ends with any of the suffixes.

    Examples:
        ends_with_any("x.gz", [".zip", ".gz"])  =>  true
    """
    strs = tuple(str(p) for p in suffixes if isinstance(p, str))
    return bool(strs) and haystack.endswith(strs)


@builtin("strings")
def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings (in characters).

    Examples:
        edit_distance("kitten", "sitting")  =>  3
        edit_distance("", "abc")  =>  3
    """
    if a == b:
        return 0
    if not a or not b:
        return len(a) + len(b)
    # quadratic work: one call may not do more than a whole script (the operation limit)
    want_ops(len(a) * len(b), "edit_distance")
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(cur[j - 1] + 1, prev[j] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


# --------------------------------------------------------------------------- positions / pieces

@builtin("strings")
def sub_string(text: str, start: int, length: int = _NOTHING) -> str:  # type: ignore[assignment]
    """Characters from start (negative counts from the end), up to length of them.

    Examples:
        sub_string("hello world", 6)  =>  "world"
        sub_string("hello", 1, 3)  =>  "ell"
        sub_string("hello", -3, 2)  =>  "ll"
        sub_string("hi", 5)  =>  ""
    """
    n = len(text)
    if start < 0:
        start = max(0, n + start)
    if start >= n:
        return ""
    if length is _NOTHING:
        return text[start:]
    if length <= 0:
        return ""
    return text[start : start + length]


@builtin("strings", mutates=True)
def crop(text: str, start: int, length: int = _NOTHING) -> str:  # type: ignore[assignment]
    """Rhai's crop(), returning the new string (COMPAT D3): same as sub_string().

    Examples:
        crop("hello world", 6)  =>  "world"
    """
    return sub_string(text, start, length)


@builtin("strings")
def index_of(haystack: str | list, needle: object, start: int = 0) -> int:
    """Character index of the first occurrence of needle at or after start, or -1.

    For an array, the index of the first element equal to needle.  A negative start counts
    from the end.

    Examples:
        index_of("hello", "l")  =>  2
        index_of("hello", "l", 3)  =>  3
        index_of("hello", "z")  =>  -1
        index_of([1, 2, 3], 2)  =>  1
    """
    n = len(haystack)
    if start < 0:
        start = max(0, n + start)
    if type(haystack) is list:
        for i in range(start, n):
            if values.equals(haystack[i], needle):
                return i
        return -1
    if not isinstance(needle, str):
        raise FunctionError(f"index_of(): needle must be a string, got {values.type_name(needle)}")
    if start > n:
        return -1
    return haystack.find(needle, start)

@builtin("strings")
def to_chars(text: str) -> list:
    """The characters of the text as an array of chars (`'a'`; `c == "a"` is true and
    `c.to_string()` gives the one-character text).

    Examples:
        to_chars("abc")  =>  ['a', 'b', 'c']
        to_chars("ab")[0] == "a"  =>  true
        type_of(to_chars("ab")[0])  =>  "char"
    """
    want_list(len(text), "to_chars")
    return [values.Char(c) for c in text]


@builtin("strings", mutates=True)
def pad(text: str, length: int, fill: str = " ") -> str:
    """Pad the end of text with fill (first char) up to length characters; returns the new string.

    Examples:
        pad("ab", 4, "-")  =>  "ab--"
        pad("abcdef", 3)  =>  "abcdef"
    """
    ch = fill[:1] or " "
    if length > len(text):
        want_str(length, "pad")
    return text + ch * max(0, length - len(text))


@builtin("strings", mutates=True)
def truncate(text: str, length: int) -> str:
    """The first length characters of text (returns the new string).

    Examples:
        truncate("hello", 3)  =>  "hel"
        truncate("hi", 10)  =>  "hi"
    """
    return text[: max(0, length)]
