"""The script language's size limits, applied inside builtins (issue 12, item 3).

A builtin that can build a large value (`pad`, `repeat`-like functions, `to_chars`, `split`,
`to_json` with an indent...) or do super-linear work (`edit_distance`) checks the limit BEFORE
doing the work, so `pad("", 1000000000)` is a normal runtime error instead of a 1 GB string.
The errors are kind "limit" like the operators' own (`"a" + s` past 16 MiB): a script cannot
`try`/`catch` them, resilient mode skips the event and counts the error (the usual summary).
"""
from __future__ import annotations

from kelora.errors import FunctionError
from kelora.lang.ops import MAX_ARRAY_LEN, MAX_STRING_LEN
from kelora.lang.runtime import DEFAULT_MAX_OPERATIONS

MAX_STR = MAX_STRING_LEN
MAX_LIST = MAX_ARRAY_LEN
MAX_OPS = DEFAULT_MAX_OPERATIONS


def _limit(message: str) -> FunctionError:
    err = FunctionError(message)
    err.kind = "limit"
    return err


def want_str(n: int, name: str = "") -> None:
    """Raise before building a string of *n* characters past the string limit."""
    if n > MAX_STR:
        raise _limit(f"{name + '(): ' if name else ''}string length exceeds the limit of {MAX_STR} characters")


def want_list(n: int, name: str = "") -> None:
    """Raise before building an array of *n* items past the array limit."""
    if n > MAX_LIST:
        raise _limit(f"{name + '(): ' if name else ''}array length exceeds the limit of {MAX_LIST} items")


def want_ops(n: int, name: str) -> None:
    """Raise before a call doing *n* elementary steps past the operation limit (one call may not
    exceed what a whole script may do)."""
    if n > MAX_OPS:
        raise _limit(f"{name}(): would take {n:,} operations, over the limit of {MAX_OPS:,}")


def check_str(s: str, name: str = "") -> str:
    want_str(len(s), name)
    return s


def check_list(a: list, name: str = "") -> list:
    want_list(len(a), name)
    return a
