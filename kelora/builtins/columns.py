"""Column and slice builtins: col, cols, slice (Python-style "start:stop:step").

Columns are 0-based; without a separator text splits on runs of whitespace.
"""
from __future__ import annotations

from kelora import values
from kelora.builtins.registry import builtin
from kelora.errors import FunctionError


def _slice_indices(n: int, spec: str) -> list[int]:
    """Python-style ``start:stop:step`` over n items (Kelora clamps like Python does)."""
    parts = spec.split(":")

    def num(i: int) -> int | None:
        if len(parts) <= i or not parts[i].strip():
            return None
        try:
            return int(parts[i].strip())
        except ValueError:
            return None

    step = num(2)
    if step == 0:
        return []
    return list(range(n))[slice(num(0), num(1) if len(parts) > 1 else None, step or 1)]


@builtin("strings", name="slice", shares=True)
def slice_(value: str | list, spec: str) -> str | list:
    """Python-style slice "start:stop:step" of a string (by characters) or an array.

    Examples:
        slice("hello", "1:3")  =>  "el"
        slice("hello", "-3:")  =>  "llo"
        slice("hello", "::-1")  =>  "olleh"
        slice([1, 2, 3, 4], ":2")  =>  [1, 2]
    """
    idx = _slice_indices(len(value), spec)
    if type(value) is list:
        return [value[i] for i in idx]
    return "".join(value[i] for i in idx)


# --------------------------------------------------------------------------- columns

def _columns(text: str, sep: str) -> list[str]:
    if sep == " " or sep == "":
        return text.split()
    return text.split(sep)


def _select(cols: list[str], selector: str) -> list[str]:
    out: list[str] = []
    n = len(cols)
    for part in selector.split(","):
        part = part.strip()
        if not part:
            continue
        if ":" in part:
            out.extend(cols[i] for i in _slice_indices(n, part))
            continue
        try:
            i = int(part)
        except ValueError:
            continue
        if i < 0:
            i += n
        if 0 <= i < n:
            out.append(cols[i])
    return out


@builtin("strings")
def col(text: str, selector: str | int, sep: str = " ", outsep: str = " ") -> str:
    """Columns of text by 0-based index: "2", "-1", "1,3", "2:" or "1:3"; joined with outsep.

    Splits on runs of whitespace unless sep is given.  Missing columns are left out.

    Examples:
        col("GET /x 200 15ms", 2)  =>  "200"
        col("a b c d", "1:3")  =>  "b c"
        col("a,b,c", "-1", ",")  =>  "c"
        col("a b", 7)  =>  ""
    """
    return outsep.join(_select(_columns(text, sep), str(selector)))


@builtin("strings")
def cols(text: str, *selectors: object) -> list:
    """Several columns at once: cols(text, i, j, ... [, sep]) or cols(text, ["0", "2:"] [, sep]).

    Each selector gives one string (see col()); a trailing string argument is the separator.

    Examples:
        cols("GET /x 200", 0, 2)  =>  ["GET", "200"]
        cols("a|b|c", 0, -1, "|")  =>  ["a", "c"]
        cols("a b c", ["0", "1:"])  =>  ["a", "b c"]
    """
    sels = list(selectors)
    sep = " "
    if len(sels) >= 2 and isinstance(sels[-1], str) and type(sels[0]) is not list and all(
        type(s) is int for s in sels[:-1]
    ):
        sep = sels.pop()
    elif len(sels) >= 2 and type(sels[0]) is list and isinstance(sels[1], str):
        sep = sels[1]
        sels = sels[:1]
    if len(sels) == 1 and type(sels[0]) is list:
        sels = [s for s in sels[0] if isinstance(s, str)]
    columns = _columns(text, sep)
    out = []
    for s in sels:
        if type(s) not in (int, str, values.Char):
            raise FunctionError(f"cols(): selectors must be ints or strings, got {values.type_name(s)}")
        out.append(" ".join(_select(columns, str(s))))
    return out
