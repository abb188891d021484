"""Value rendering shared by the output formats: JSON bytes, Rhai-style text, flattening."""
from __future__ import annotations

import re
import sys

import orjson

from kelora.safetext import clean, clean_key
from kelora.values import BIG_FLOAT_WRITTEN, I64_MAX, DateTime, Duration, FnPtr, format_float, to_string

_dumps = orjson.dumps
_JSONEncodeError = orjson.JSONEncodeError
U64_MAX = 2**64 - 1


def fast_float(x: float) -> str:
    """``values.format_float`` with a shortcut: in [1e-4, 1e13] Python's repr is already Rhai's."""
    a = x if x >= 0 else -x
    if 1e-4 <= a <= 1e13:
        return repr(x)
    return format_float(x)


def json_default(v):
    """orjson ``default=``: the values JSON has no type for."""
    t = type(v)
    if t is DateTime:
        return v.iso()
    if t is Duration:
        return v.display()
    if isinstance(v, FnPtr):
        return f"Fn({v.name})"
    return clean(to_string(v))


def json_safe(v):
    """Copy of ``v`` where ints beyond 64 bits (orjson refuses them) are written as their exact
    digits (``orjson.Fragment``: raw JSON), a number as in the input (COMPAT D20)."""
    t = type(v)
    if t is int:
        return v if -(2**63) <= v <= U64_MAX else _big_int(v)
    if isinstance(v, str):
        return clean(v)  # unpaired surrogates -> U+FFFD (kelora.safetext)
    if t is dict:
        return {clean_key(k): json_safe(x) for k, x in v.items()}
    if t is list:
        return [json_safe(x) for x in v]
    return v


def _big_int(v: int):
    try:
        return orjson.Fragment(str(v).encode())
    except ValueError:  # past Python's 4300-digit conversion limit: the nearest float
        return float(v) if abs(v) < 2**1023 else str(v)


# ryu (serde_json) writes 1e16 where orjson writes 1e+16; fix numbers only, never strings.
_EXP_FIX = re.compile(rb'"(?:[^"\\]|\\.)*"|(?<=[0-9])e\+')


def _exp_repl(m: re.Match) -> bytes:
    return b"e" if m.group(0) == b"e+" else m.group(0)


def fix_exponents(data: bytes) -> bytes:
    return _EXP_FIX.sub(_exp_repl, data)


def json_float_text(x: float) -> str:
    """A finite float's JSON text as kelora writes it (``json_bytes``, ``to_json``): ``1.5``,
    ``1e20`` (not orjson's ``1e+20``).  What pseudonym(), hash() and bucket() hash (COMPAT D5)."""
    data = _dumps(x)
    return (data.replace(b"e+", b"e") if 0x2B in data else data).decode()


def json_bytes(obj, option: int = 0) -> bytes:
    """Compact JSON like serde_json: insertion order, raw UTF-8, NaN/inf as null, ``1e16``."""
    try:
        data = _dumps(obj, default=json_default, option=option)
    except _JSONEncodeError:
        try:
            data = _dumps(json_safe(obj), default=json_default, option=option)
        except (_JSONEncodeError, RecursionError):
            # orjson stops at 255 levels, but valid input may nest deeper (orjson reads 1024):
            # build those levels here rather than lose the event
            if sys.getrecursionlimit() < 3 * DEEP_JSON_LIMIT:  # two frames per level, plus the caller's
                sys.setrecursionlimit(3 * DEEP_JSON_LIMIT)
            try:
                data = _deep_json(obj, 0)
                if option & orjson.OPT_APPEND_NEWLINE:
                    data += b"\n"
            except RecursionError:  # a map that contains itself
                data = _dumps("<unserializable>", option=option)
    if 0x2B in data and b"e+" in data:  # memchr for "+" first: ``e+`` is a slower search
        data = fix_exponents(data)
        BIG_FLOAT_WRITTEN[0] = True  # (1e16 and up: the read loop checks the line's integers)
    return data


DEEP_JSON_LIMIT = 5000


def _deep_json(v, depth: int) -> bytes:
    """Compact JSON, container by container, for values nested beyond orjson's limit."""
    if depth > DEEP_JSON_LIMIT:
        raise RecursionError
    t = type(v)
    if t is dict:
        # list comprehensions, not generators: Python-to-Python calls use no C stack
        return b"{" + b",".join([_dumps(clean(k if type(k) is str else str(k))) + b":" + _deep_json(x, depth + 1)
                                 for k, x in v.items()]) + b"}"
    if t is list:
        return b"[" + b",".join([_deep_json(x, depth + 1) for x in v]) + b"]"
    return _dumps(json_safe(v), default=json_default)


def json_text(obj) -> str:
    return json_bytes(obj).decode()


def display(v) -> str:
    """Rhai ``to_string`` (strings raw, ``()`` empty, floats ``1.0``), JSON for maps/arrays."""
    t = type(v)
    if t is str:
        return v
    if t is float:
        return fast_float(v)
    if t is dict or t is list:
        return json_text(v)
    return to_string(v)


MAX_DEPTH = 100  # deeper nesting (or a map that contains itself) is cut, never a crash
TOO_DEEP = "<nested too deep>"


def flatten(value, prefix: str = "", out: list | None = None, depth: int = 0) -> list:
    """Underscore-style flattening (``a_b_0``) of a map/array into (key, scalar) pairs.

    Empty maps/arrays become a ``()`` leaf; a bare scalar is keyed ``value`` (Kelora's rules).
    """
    if out is None:
        out = []
    t = type(value)
    if (t is dict or t is list) and depth >= MAX_DEPTH:
        out.append((prefix or "value", TOO_DEEP))
    elif t is dict:
        if not value:
            out.append((prefix or "value", None))
        for k, v in value.items():
            flatten(v, f"{prefix}_{k}" if prefix else str(k), out, depth + 1)
    elif t is list:
        if not value:
            out.append((prefix or "value", None))
        for i, v in enumerate(value):
            flatten(v, f"{prefix}_{i}" if prefix else str(i), out, depth + 1)
    else:
        out.append((prefix or "value", value))
    return out


def leaf_text(v) -> str:
    """Text of a flattened leaf: Rhai display."""
    if type(v) is float:
        return fast_float(v)
    return to_string(v)
