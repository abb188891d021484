"""Array builtins that return new arrays or summaries: sorted, unique, pluck, join, statistics.

The mutating array methods (push, sort, reverse...) are language core (``core.py``).
"""
from __future__ import annotations

import functools
import math

from kelora import values
from kelora.builtins.conversion import float_from
from kelora.builtins.limits import want_str
from kelora.builtins.registry import builtin
from kelora.errors import FunctionError

_NOTHING = object()


def _cmp(fn: str):
    def cmp(a, b):
        c = values.compare(a, b)
        if c is None:
            raise FunctionError(
                f"{fn}(): cannot compare {values.type_name(a)} with {values.type_name(b)}"
            )
        return c

    return functools.cmp_to_key(cmp)


@builtin("arrays", name="sorted", shares=True)
def sorted_(items: list, descending: bool = False) -> list:
    """A sorted copy of the array (numbers numerically, strings by code point).

    Mixed types that cannot be compared (a string and a number) are an error.

    Examples:
        sorted([3, 1, 2])  =>  [1, 2, 3]
        sorted(["b", "a"], true)  =>  ["b", "a"]
        sorted([2, 1.5])  =>  [1.5, 2]
    """
    return sorted(items, key=_cmp("sorted"), reverse=descending)


@builtin("arrays", name="reversed", shares=True)
def reversed_(items: list) -> list:
    """A reversed copy of the array.

    Examples:
        reversed([1, 2, 3])  =>  [3, 2, 1]
    """
    return items[::-1]


def _unique_key(v: object) -> object:
    t = type(v)
    if t is int or t is float:
        return ("num", v)
    if t is str or t is values.Char:
        return ("str", str(v))
    if t is list or t is dict:
        return ("deep", values.type_name(v), values.debug_string(v))
    try:
        hash(v)
    except TypeError:
        return ("other", id(v))
    return (t, v)


@builtin("arrays", shares=True)
def unique(items: list) -> list:
    """Copy of the array without repeated values (keeps the first occurrence).

    Examples:
        unique([1, 2, 1, 3, 2])  =>  [1, 2, 3]
        unique(["a", "a"])  =>  ["a"]
    """
    seen: set = set()
    out = []
    for v in items:
        k = _unique_key(v)
        if k not in seen:
            seen.add(k)
            out.append(v)
    return out


@builtin("arrays", shares=True)
def sorted_by(items: list, field: str, descending: bool = False) -> list:
    """Copy of an array of maps sorted by one field; items without it go last.

    Examples:
        sorted_by([#{n: 2}, #{n: 1}, #{x: 0}], "n")  =>  [#{"n": 1}, #{"n": 2}, #{"x": 0}]
        sorted_by([#{n: 1}, #{n: 2}], "n", true)  =>  [#{"n": 2}, #{"n": 1}]
    """
    have = [v for v in items if isinstance(v, dict) and v.get(field) is not None]
    rest = [v for v in items if not (isinstance(v, dict) and v.get(field) is not None)]
    key = _cmp("sorted_by")
    have.sort(key=lambda m: key(m[field]), reverse=descending)
    return have + rest


@builtin("arrays", shares=True)
def pluck(items: list, field: str) -> list:
    """The values of field from each map in the array (missing and () are skipped).

    Examples:
        pluck([#{u: "a"}, #{u: "b"}, #{x: 1}], "u")  =>  ["a", "b"]
    """
    return [v[field] for v in items if isinstance(v, dict) and v.get(field) is not None]


@builtin("arrays")
def pluck_as_nums(items: list, field: str) -> list:
    """Like pluck() but converts to floats and skips values that are not numbers.

    Examples:
        pluck_as_nums([#{ms: 5}, #{ms: "7.5"}, #{ms: "n/a"}], "ms")  =>  [5.0, 7.5]
    """
    out = []
    for v in items:
        if isinstance(v, dict):
            x = float_from(v.get(field), None, None)
            if x is not None:
                out.append(x)
    return out


@builtin("arrays")
def join(items: list | str, sep: str | list) -> str:
    """Join the string elements with sep; elements that are not strings are dropped.

    The separator may also come first (`", ".join(arr)`, as in Python).

    Examples:
        join(["a", "b", "c"], ", ")  =>  "a, b, c"
        join(["a", 1, "b"], "-")  =>  "a-b"
        join("+", ["x", "y"])  =>  "x+y"
    """
    if isinstance(items, str) and type(sep) is list:
        items, sep = sep, items
    if type(items) is not list or not isinstance(sep, str):
        raise FunctionError("join(): expected an array and a separator string")
    parts = [str(v) for v in items if isinstance(v, str)]
    if sep and len(parts) > 1:
        want_str(sum(map(len, parts)) + len(sep) * (len(parts) - 1), "join")
    return str(sep).join(parts)


# --------------------------------------------------------------------------- min / max

def _extreme(fn: str, items: object, other: object, pick_max: bool) -> object:
    if other is not _NOTHING:
        c = values.compare(items, other)
        if c is None:
            raise FunctionError(
                f"{fn}(): cannot compare {values.type_name(items)} with {values.type_name(other)}"
            )
        return (items if c >= 0 else other) if pick_max else (items if c <= 0 else other)
    if type(items) is not list:
        raise FunctionError(f"{fn}(): expected an array or two values, got {values.type_name(items)}")
    if not items:
        return None
    kinds = {("num" if type(v) in (int, float) else values.type_name(v)) for v in items}
    if len(kinds) > 1:
        raise FunctionError(f"{fn}(): array has mixed types ({', '.join(sorted(kinds))})")
    key = _cmp(fn)
    return max(items, key=key) if pick_max else min(items, key=key)


@builtin("arrays", name="min", shares=True)
def min_(items: object, other: object = _NOTHING) -> object:
    """Smallest element of an array (() if empty), or the smaller of two values.

    Mixed element types are an error.

    Examples:
        min([3, 1, 2])  =>  1
        min(4, 2.5)  =>  2.5
        min([])  =>  ()
    """
    return _extreme("min", items, other, False)


@builtin("arrays", name="max", shares=True)
def max_(items: object, other: object = _NOTHING) -> object:
    """Largest element of an array (() if empty), or the larger of two values.

    Examples:
        max([3, 1, 2])  =>  3
        max("a", "b")  =>  "b"
    """
    return _extreme("max", items, other, True)


# --------------------------------------------------------------------------- statistics

def _numbers(fn: str, items: list) -> list[float]:
    if not items:
        raise FunctionError(f"{fn}(): array is empty")
    for v in items:
        if type(v) is not int and type(v) is not float:
            raise FunctionError(f"{fn}(): array must contain only numbers, found {values.type_name(v)}")
    return items


@builtin("arrays", name="sum")
def sum_(items: list) -> float | None:
    """Sum of a numeric array as a float; () when empty or any element is not a number.

    Examples:
        sum([1, 2, 3.5])  =>  6.5
        sum([])  =>  ()
        sum([1, "2"])  =>  ()
    """
    if not items or any(type(v) is not int and type(v) is not float for v in items):
        return None
    return float(math.fsum(items))


@builtin("arrays")
def mean(items: list) -> float:
    """Arithmetic mean of a numeric array (empty or non-numeric is an error).

    Examples:
        mean([1, 2, 3, 4])  =>  2.5
    """
    nums = _numbers("mean", items)
    return math.fsum(nums) / len(nums)


@builtin("arrays")
def variance(items: list) -> float:
    """Population variance of a numeric array.

    Examples:
        variance([2, 4, 4, 4, 5, 5, 7, 9])  =>  4.0
    """
    nums = _numbers("variance", items)
    m = math.fsum(nums) / len(nums)
    return math.fsum((x - m) ** 2 for x in nums) / len(nums)


@builtin("arrays")
def stddev(items: list) -> float:
    """Population standard deviation of a numeric array.

    Examples:
        stddev([2, 4, 4, 4, 5, 5, 7, 9])  =>  2.0
    """
    return math.sqrt(variance(items))


@builtin("arrays")
def percentile(items: list, p: int | float) -> float:
    """The p-th percentile (0..100) with linear interpolation between closest ranks.

    Examples:
        percentile([1, 2, 3, 4, 5], 50)  =>  3.0
        percentile([10, 20], 25)  =>  12.5
        percentile([1, 2, 3, 4], 100)  =>  4.0
    """
    nums = sorted(_numbers("percentile", items))
    if not 0 <= p <= 100:
        raise FunctionError(f"percentile(): p must be between 0 and 100, got {values.to_string(p)}")
    rank = (len(nums) - 1) * (p / 100.0)
    lo = math.floor(rank)
    hi = min(lo + 1, len(nums) - 1)
    return float(nums[lo] + (nums[hi] - nums[lo]) * (rank - lo))


@builtin("arrays")
def median(items: list) -> float:
    """The median of a numeric array (percentile 50).

    Examples:
        median([3, 1, 2, 10])  =>  2.5
    """
    return percentile(items, 50)
