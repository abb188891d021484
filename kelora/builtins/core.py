"""Language-level builtins: output, types, sizes, containers, and functions over arrays.

Array mutators (`push`, `pop`, `insert`, `remove`, `append`, `clear`, `reverse`, `sort`,
`retain`) change the array in place and return `()` as in Rhai (``pop``/``remove`` return the
removed item).  String functions never mutate (COMPAT D3); only `len`, `contains` and
`is_empty` are defined here, the rest live with the string helpers.
"""
from __future__ import annotations

from functools import cmp_to_key

from kelora import values
from kelora.builtins._owned import owned, owned_items
from kelora.builtins.registry import REGISTRY, builtin
from kelora.errors import FunctionError
from kelora.lang import ops as _ops
from kelora.values import FnPtr, to_string, type_name


class BuiltinFnPtr(FnPtr):
    """`Fn("len")`: a pointer to a registered builtin."""

    __slots__ = ("func", "arity")

    def __init__(self, name: str, func, arity: int):
        super().__init__(name)
        self.func = func
        self.arity = arity

    def __call__(self, *args):
        return self.func(*args)


def _arity(f) -> int:
    return getattr(f, "arity", 1)


def _call(f, *args):
    """Call a function pointer with as many of *args* as it takes (`|x|` or `|x, i|`)."""
    n = _arity(f)
    return f(*args[:n]) if n < len(args) else f(*args)


def _grown(a: list) -> None:
    if len(a) > _ops.MAX_ARRAY_LEN:
        raise FunctionError(f"array length exceeds the limit of {_ops.MAX_ARRAY_LEN} items")


# ------------------------------------------------------------------ output and types

@builtin("core", pass_context=True, pure=False, name="print", effects={"print"})
def print_(ctx, value: object = "") -> None:
    """Print a value to stdout (strings as-is, other values in script notation).

    Examples:
        print("hello")  =>  ()
    """
    ctx.diag.print(to_string(value))


@builtin("core", pass_context=True, pure=False, effects={"print"})
def eprint(ctx, value: object = "") -> None:
    """Print a value to stderr.

    Examples:
        eprint("careful")  =>  ()
    """
    ctx.diag.eprint(to_string(value))


@builtin("core")
def type_of(value: object) -> str:
    """The type name of a value: `i64`, `f64`, `string`, `char`, `bool`, `array`, `map`, `()`...

    Examples:
        type_of(42)  =>  "i64"
        type_of("x")  =>  "string"
        type_of(())  =>  "()"
        #{a: 1}.type_of()  =>  "map"
    """
    return type_name(value)


@builtin("core", name="len")
def len_(value: object) -> int:
    """Length of a string (in characters), array or map.

    Examples:
        len("héllo")  =>  5
        [1, 2, 3].len()  =>  3
        #{a: 1}.len()  =>  1
    """
    t = type(value)
    if t is str or t is values.Char or t is list or t is dict or t is range:
        return len(value)
    raise FunctionError(f"len(): expected a string, array or map, got {type_name(value)}",
                        missing_field=value is None)


@builtin("core")
def is_empty(value: object) -> bool:
    """True for an empty string, array or map.

    Examples:
        is_empty("")  =>  true
        [1].is_empty()  =>  false
    """
    t = type(value)
    if t is str or t is values.Char or t is list or t is dict or t is range:
        return len(value) == 0
    raise FunctionError(f"is_empty(): expected a string, array or map, got {type_name(value)}",
                        missing_field=value is None)


@builtin("core")
def contains(container: object, item: object) -> bool:
    """Substring of a string, element of an array (script equality), or key of a map.

    Examples:
        "/api/users".contains("/api")  =>  true
        [1, 2, 3].contains(2)  =>  true
        #{a: 1}.contains("b")  =>  false
    """
    if type(container) is str and type(item) is str:
        return item in container
    if type(container) not in (str, values.Char, list, dict, range):
        raise FunctionError(f"contains(): expected a string, array or map, got {type_name(container)}",
                            missing_field=container is None)
    try:
        return _ops.contains(container, item)
    except _ops.OpError as exc:
        raise FunctionError(f"contains(): {exc.message}", missing_field=exc.missing) from None


# ------------------------------------------------------------------ maps

@builtin("core")
def keys(m: dict) -> list:
    """The keys of a map, in order.

    Examples:
        #{a: 1, b: 2}.keys()  =>  ["a", "b"]
    """
    return list(m)


@builtin("core", name="values", shares=True)
def values_(m: dict) -> list:
    """The values of a map, in order.

    Examples:
        #{a: 1, b: 2}.values()  =>  [1, 2]
    """
    return list(m.values())


# ------------------------------------------------------------------ array mutators

@builtin("core", pure=False, mutates=True)
def push(array: list, item: object) -> None:
    """Append an item to an array in place.

    Examples:
        let a = [1, 2]; a.push(3); a  =>  [1, 2, 3]
        [1, 2].push(3)  =>  ()
    """
    array.append(owned(item))
    _grown(array)


@builtin("core", pure=False, mutates=True)
def pop(array: list) -> object:
    """Remove and return the last item of an array (`()` if empty).

    Examples:
        [1, 2, 3].pop()  =>  3
        [].pop()  =>  ()
    """
    return array.pop() if array else None


@builtin("core", pure=False, mutates=True)
def insert(array: list, index: int, item: object) -> None:
    """Insert an item at a position (negative counts from the end; past the end appends).

    Examples:
        let a = [1, 3]; a.insert(1, 2); a  =>  [1, 2, 3]
        [1, 3].insert(1, 2)  =>  ()
    """
    n = len(array)
    if index < 0:
        index = max(0, n + index)
    array.insert(min(index, n), owned(item))
    _grown(array)


@builtin("core", pure=False, mutates=True)
def remove(container: list | dict, key: object) -> object:
    """Remove and return an array item by index, or a map entry by key (`()` if absent).

    Examples:
        [1, 2, 3].remove(0)  =>  1
        #{a: 1, b: 2}.remove("a")  =>  1
        [1].remove(5)  =>  ()
    """
    if type(container) is dict:
        if not isinstance(key, str):
            raise FunctionError(f"remove(): map keys are strings, got {type_name(key)}",
                                missing_field=key is None)
        return container.pop(key, None)
    if type(key) is not int:
        raise FunctionError(f"remove(): array index must be an int, got {type_name(key)}",
                            missing_field=key is None)
    n = len(container)
    i = key + n if key < 0 else key
    return container.pop(i) if 0 <= i < n else None


@builtin("core", pure=False, mutates=True)
def append(array: list, other: object) -> None:
    """Append every item of another array (or a single value) in place.

    Examples:
        let a = [1]; a.append([2, 3]); a  =>  [1, 2, 3]
        [1].append([2, 3])  =>  ()
    """
    if type(other) is list:
        array.extend(owned_items(other))
    else:
        array.append(owned(other))
    _grown(array)


@builtin("core", pure=False, mutates=True)
def clear(container: list | dict) -> None:
    """Remove every item of an array or map in place.

    Examples:
        let a = [1, 2]; a.clear(); a  =>  []
        [1, 2].clear()  =>  ()
    """
    container.clear()


@builtin("core", pure=False, mutates=True)
def reverse(array: list) -> None:
    """Reverse an array in place.

    Examples:
        let a = [1, 2]; a.reverse(); a  =>  [2, 1]
        [1, 2].reverse()  =>  ()
    """
    array.reverse()


def _sort_key(f=None):
    def cmp(a, b):
        if f is not None:
            r = _call(f, a, b)
            if type(r) is not int:
                raise FunctionError(f"sort(): the comparer must return an int, got {type_name(r)}")
            return r
        c = values.compare(a, b)
        if c is None:
            if a is None and b is None:
                return 0
            raise FunctionError(f"sort(): cannot compare {type_name(a)} with {type_name(b)}")
        return c
    return cmp_to_key(cmp)


@builtin("core", pure=False, mutates=True)
def sort(array: list, comparer: FnPtr | None = None) -> None:
    """Sort an array in place (numbers, strings...), or with a comparer `|a, b| ...` returning an int.

    Examples:
        let a = [3, 1, 2]; a.sort(); a  =>  [1, 2, 3]
        [3, 1, 2].sort()  =>  ()
    """
    array.sort(key=_sort_key(comparer))


@builtin("core", pure=False, mutates=True)
def retain(array: list, predicate: FnPtr) -> None:
    """Keep only the items for which the predicate is true, in place.

    Examples:
        let a = [1, 2, 3]; a.retain(|x| x > 1); a  =>  [2, 3]
        [1, 2, 3].retain(|x| x > 1)  =>  ()
    """
    array[:] = [x for i, x in enumerate(array) if _truth(_call(predicate, x, i), "retain")]


# ------------------------------------------------------------------ functional helpers

def _truth(v, name: str) -> bool:
    if v is True or v is False:
        return v
    raise FunctionError(f"{name}(): the function must return a bool, got {type_name(v)}",
                        missing_field=v is None)


@builtin("core", name="map", shares=True)
def map_(array: list, f: FnPtr) -> list:
    """A new array with the function applied to every item (`|x|` or `|x, index|`).

    Examples:
        [1, 2, 3].map(|x| x * 2)  =>  [2, 4, 6]
    """
    return [_call(f, owned(x), i) for i, x in enumerate(array)]


@builtin("core", name="filter", shares=True)
def filter_(array: list, predicate: FnPtr) -> list:
    """A new array with the items for which the predicate is true.

    Examples:
        [1, 2, 3, 4].filter(|x| x % 2 == 0)  =>  [2, 4]
    """
    return [x for i, x in enumerate(array) if _truth(_call(predicate, owned(x), i), "filter")]


@builtin("core", shares=True)
def reduce(array: list, f: FnPtr, initial: object = None) -> object:
    """Fold the array: `f(acc, item)` from the initial value (`()` when not given).

    Examples:
        [1, 2, 3].reduce(|sum, x| sum + x, 0)  =>  6
    """
    acc = initial
    for i, x in enumerate(array):
        acc = _call(f, acc, owned(x), i)
    return acc


@builtin("core", name="all")
def all_(array: list, predicate: FnPtr) -> bool:
    """True when the predicate holds for every item (true for an empty array).

    Examples:
        [2, 4].all(|x| x % 2 == 0)  =>  true
    """
    return all(_truth(_call(predicate, owned(x), i), "all") for i, x in enumerate(array))


@builtin("core")
def some(array: list, predicate: FnPtr) -> bool:
    """True when the predicate holds for at least one item.

    Examples:
        [1, 2].some(|x| x > 1)  =>  true
    """
    return any(_truth(_call(predicate, owned(x), i), "some") for i, x in enumerate(array))


@builtin("core", name="Fn", dynamic=True)
def fn_ptr(name: str) -> FnPtr:
    """A function pointer to a builtin or a script `fn`, for `call` or `map`/`filter`.

    Examples:
        Fn("len").call("abc")  =>  3
    """
    b = REGISTRY.get(name)
    if b is None:
        raise FunctionError(f"Fn(): unknown function {name}")
    if b.pass_context:
        raise FunctionError(f"Fn(): {name} cannot be used as a function pointer")
    return BuiltinFnPtr(name, b.func, max(1, b.min_args))


@builtin("core", pure=False, shares=True, dynamic=True)
def call(f: FnPtr, *args: object) -> object:
    """Call a function pointer (closure or `Fn("name")`) with arguments.

    Examples:
        call(|x| x + 1, 1)  =>  2
        Fn("type_of").call(1.5)  =>  "f64"
    """
    return f(*args)


@builtin("core", name="range")
def range_(start: int, end: int) -> object:
    """The integers from *start* up to (not including) *end*, for `for` loops and `in`.

    Examples:
        3 in range(1, 5)  =>  true
    """
    return range(start, end)
