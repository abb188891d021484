"""Map / event helpers: keep, drop, has, get, get_path, merge, flattening.

New maps keep the source's key order (COMPAT D2).  ``get``/``keep``/``drop``/``has`` accept a
``()`` first argument (a missing nested field) and treat it as an empty map.
"""
from __future__ import annotations

import re
from functools import lru_cache

import orjson

from kelora import values
from kelora.builtins.registry import builtin
from kelora.builtins._owned import owned
from kelora.formats.exactjson import exact_text_if_needed
from kelora.errors import FunctionError

_NOTHING = object()
_MISSING = object()  # a path that does not resolve


def _field_names(fields: object, fn: str) -> list[str]:
    if type(fields) is not list or not all(isinstance(f, str) for f in fields):
        raise FunctionError(f"{fn}(fields): fields must be an array of strings")
    return fields  # type: ignore[return-value]


@builtin("maps")
def keep(map: dict | None, fields: object) -> dict:
    """A new map with only the listed keys that exist (in the map's own order).

    fields must be an array of strings.

    Examples:
        keep(#{a: 1, b: 2, c: 3}, ["c", "a", "zz"])  =>  #{"a": 1, "c": 3}
        keep(#{a: 1}, [])  =>  #{}
    """
    wanted = set(_field_names(fields, "keep"))
    if map is None:
        return {}
    return owned({k: v for k, v in map.items() if k in wanted})  # type: ignore[return-value]


@builtin("maps")
def drop(map: dict | None, fields: object) -> dict:
    """A new map without the listed keys (names that are absent are ignored).

    Examples:
        drop(#{a: 1, b: 2, c: 3}, ["b", "zz"])  =>  #{"a": 1, "c": 3}
    """
    unwanted = set(_field_names(fields, "drop"))
    if map is None:
        return {}
    return owned({k: v for k, v in map.items() if k not in unwanted})  # type: ignore[return-value]


@builtin("maps")
def has(map: dict | None, key: str) -> bool:
    """True when key is present and its value is not ().

    Examples:
        has(#{a: 1}, "a")  =>  true
        has(#{a: ()}, "a")  =>  false
        has(#{}, "a")  =>  false
    """
    return map is not None and map.get(key) is not None


@builtin("maps", shares=True, unit_on_failure=True)
def get(map: dict | list | str | None, key: str | int, default: object = None) -> object:
    """Top-level value of key (or array index, or string character), else default (() if not given).

    The default is also used when the value is ().  Negative indexes count from the end.

    Examples:
        get(#{a: 1}, "a")  =>  1
        get(#{a: 1}, "b", 0)  =>  0
        get(#{a: ()}, "a", "none")  =>  "none"
        get([10, 20], -1)  =>  20
        get("abc", 1)  =>  'b'
    """
    if map is None:
        return default
    if isinstance(map, str):
        if type(key) is not int:
            return default
        i = key + len(map) if key < 0 else key
        return values.Char(map[i]) if 0 <= i < len(map) else default
    if type(map) is list:
        if type(key) is not int:
            return default
        n = len(map)
        i = key + n if key < 0 else key
        v = map[i] if 0 <= i < n else None
    else:
        v = map.get(key) if isinstance(key, str) else None
    return default if v is None else v


# --------------------------------------------------------------------------- paths

_PATH_TOKEN = re.compile(r"\[(-?\d+)\]|([^.\[\]]+)")


@lru_cache(maxsize=1024)
def _path_tokens(path: str) -> tuple:
    """"a.b[0].c" -> ("a", "b", 0, "c"); indexes are ints, names strings."""
    out: list = []
    for m in _PATH_TOKEN.finditer(path):
        out.append(int(m.group(1)) if m.group(1) is not None else m.group(2))
    return tuple(out)


def resolve_path(root: object, path: str) -> object:
    """The value at path, or the _MISSING sentinel."""
    cur = root
    for tok in _path_tokens(path):
        if type(tok) is int:
            if type(cur) is not list:
                return _MISSING
            i = tok + len(cur) if tok < 0 else tok
            if not 0 <= i < len(cur):
                return _MISSING
            cur = cur[i]
        else:
            if isinstance(cur, dict):
                if tok not in cur:
                    return _MISSING
                cur = cur[tok]
            elif type(cur) is list and tok.lstrip("-").isdigit():
                i = int(tok)
                i = i + len(cur) if i < 0 else i
                if not 0 <= i < len(cur):
                    return _MISSING
                cur = cur[i]
            else:
                return _MISSING
    return cur


def _path_root(value: object) -> object:
    if isinstance(value, str):
        try:
            return exact_text_if_needed(value, orjson.loads(value))
        except orjson.JSONDecodeError:
            return _MISSING
    return value


@builtin("maps", shares=True, unit_on_failure=True)
def get_path(map: object, path: str, default: object = None) -> object:
    """Nested value by path "a.b[0].c" (negative [i] from the end), else default.

    The first argument may also be a JSON string, parsed first (invalid JSON gives default).

    Examples:
        get_path(#{user: #{roles: ["a", "b"]}}, "user.roles[-1]")  =>  "b"
        get_path(#{a: 1}, "a.b.c", "none")  =>  "none"
        get_path("{\\"x\\": {\\"y\\": 5}}", "x.y")  =>  5
    """
    root = _path_root(map)
    if root is _MISSING:
        return default
    v = resolve_path(root, path)
    return default if v is _MISSING or v is None else v


@builtin("maps")
def has_path(map: object, path: str) -> bool:
    """True when path resolves (even to ()).

    Examples:
        has_path(#{a: #{b: ()}}, "a.b")  =>  true
        has_path(#{a: 1}, "a.b")  =>  false
    """
    root = _path_root(map)
    return root is not _MISSING and resolve_path(root, path) is not _MISSING


@builtin("maps")
def path_equals(map: object, path: str, expected: object) -> bool:
    """True when the value at path has the same type and display text as expected.

    Examples:
        path_equals(#{a: #{b: 200}}, "a.b", 200)  =>  true
        path_equals(#{a: #{b: 200}}, "a.b", "200")  =>  false
    """
    root = _path_root(map)
    if root is _MISSING:
        return False
    v = resolve_path(root, path)
    if v is _MISSING:
        return False
    return values.type_name(v) == values.type_name(expected) and values.to_string(
        v
    ) == values.to_string(expected)


# --------------------------------------------------------------------------- mutation

@builtin("maps", pure=False, mutates=True)
def rename_field(map: dict, old: str, new: str) -> bool:
    """Rename key old to new in place (overwriting new); true if old existed.

    The renamed key keeps old's position.

    Examples:
        rename_field(#{a: 1}, "a", "b")  =>  true
        rename_field(#{a: 1}, "x", "y")  =>  false
    """
    if old not in map:
        return False
    if old == new:
        return True
    items = [(new if k == old else k, v) for k, v in map.items() if k != new]
    map.clear()
    map.update(items)
    return True


@builtin("maps", pure=False, mutates=True)
def merge(map: dict, other: dict) -> None:
    """Copy every key of other into map (overwriting); mutates map, returns ().

    Examples:
        let m = #{a: 1}; m.merge(#{a: 2, b: 3}); m  =>  #{"a": 2, "b": 3}
        merge(#{a: 1}, #{a: 2, b: 3})  =>  ()
    """
    map.update(owned(other))  # type: ignore[arg-type]


@builtin("maps", pure=False)
def enrich(map: dict, other: dict) -> None:
    """Copy the keys of other that map lacks (existing keys win); mutates map, returns ().

    Examples:
        let m = #{a: 1}; m.enrich(#{a: 2, b: 3}); m  =>  #{"a": 1, "b": 3}
        enrich(#{a: 1}, #{a: 2, b: 3})  =>  ()
    """
    for k, v in other.items():
        if k not in map:
            map[k] = owned(v)


# --------------------------------------------------------------------------- flattening

_STYLES = {"dot": ".", "underscore": "_", "bracket": "."}


def flatten_into(
    out: dict, value: object, prefix: str, style: str, depth: int | None, level: int = 0
) -> None:
    """Flatten nested maps/arrays under prefix into out (``a.b``, ``a_0``, ``a[0]``)."""
    sep = _STYLES[style]
    nested = (type(value) is dict or type(value) is list) and value
    if not nested or (depth is not None and level >= depth):
        out[prefix] = value
        return
    items = value.items() if type(value) is dict else enumerate(value)  # type: ignore[union-attr]
    for k, v in items:
        if type(value) is list and style == "bracket":
            key = f"{prefix}[{k}]" if prefix else f"[{k}]"
        else:
            key = f"{prefix}{sep}{k}" if prefix else str(k)
        flatten_into(out, v, key, style, depth, level + 1)


def _check_style(style: str) -> str:
    if style not in _STYLES:
        raise FunctionError(
            f"flattened(): unknown style '{style}' (expected \"dot\", \"bracket\" or \"underscore\")"
        )
    return style


@builtin("maps", shares=True)
def flattened(map: dict, style: str = "dot", depth: int = _NOTHING) -> dict:  # type: ignore[assignment]
    """A flat copy of a nested map: keys "a.b" ("dot"), "a_b" ("underscore") or "a[0]" ("bracket").

    depth limits how many levels are flattened (deeper values stay maps/arrays).

    Examples:
        flattened(#{a: #{b: 1, c: [2, 3]}})  =>  #{"a.b": 1, "a.c.0": 2, "a.c.1": 3}
        flattened(#{a: #{b: 1}}, "underscore")  =>  #{"a_b": 1}
        flattened(#{a: [#{b: 1}]}, "bracket")  =>  #{"a[0].b": 1}
        flattened(#{a: #{b: #{c: 1}}}, "dot", 1)  =>  #{"a.b": #{"c": 1}}
    """
    out: dict = {}
    lim = None if depth is _NOTHING else depth + 1
    for k, v in map.items():
        flatten_into(out, v, k, _check_style(style), lim, 1)
    return out


@builtin("maps", shares=True)
def flatten_field(map: dict, field: str, style: str = "dot") -> dict:
    """The flattened form of one field, keys prefixed with the field name (new map).

    A missing field gives #{}; a scalar gives #{field: value}.

    Examples:
        flatten_field(#{req: #{h: #{ua: "x"}}, n: 1}, "req")  =>  #{"req.h.ua": "x"}
    """
    if field not in map:
        return {}
    out: dict = {}
    flatten_into(out, map[field], field, _check_style(style), None)
    return out


@builtin("maps", shares=True)
def unflatten(map: dict, sep: str = ".") -> dict:
    """Rebuild nested maps from flat keys split on sep ("a.b" => #{a: #{b: ..}}).

    Examples:
        unflatten(#{"a.b": 1, "a.c": 2, d: 3})  =>  #{"a": #{"b": 1, "c": 2}, "d": 3}
        unflatten(#{"a_b": 1}, "_")  =>  #{"a": #{"b": 1}}
    """
    if not sep:
        return dict(map)
    out: dict = {}
    for key, v in map.items():
        parts = key.split(sep)
        cur = out
        for p in parts[:-1]:
            nxt = cur.get(p)
            if type(nxt) is not dict:
                nxt = {}
                cur[p] = nxt
            cur = nxt
        cur[parts[-1]] = v
    return out


@builtin("maps", pass_context=True, pure=False, name="set")
def state_set(ctx, state: dict, key: str, value: object) -> None:
    """Store a value in the run's `state` map: `state.set(key, value)` is `state[key] = value`.

    As in Kelora, `set` exists on `state` only (on another map it is an error: use
    `m[key] = value`), and `state` is refused under --parallel.

    Examples:
        state.set("seen", 3); state.get("seen")  =>  3
        state.set("n", state.get("n", 0) + 1)  =>  ()
        #{a: 1}.set("a", 2)  =>  !error set() is for `state` only
    """
    if state is not ctx.state:
        raise FunctionError("set() is for `state` only (state.set(key, value)); on a map use m[key] = value")
    state[key] = owned(value)
