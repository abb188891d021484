"""Value serializers for scripts: to_json (serde_json style), to_logfmt, to_kv.

Compact JSON and logfmt reuse the output formatters' writers, so ``to_json(e)`` and
``to_logfmt(e)`` give exactly what ``-F json`` / ``-F logfmt`` print for the same map.

``json_dumps`` and ``format_float_json`` are importable by the output formatters: floats print as
Rust's ryu does (``1.0``, ``1e16``, ``1e-7``; not Python's ``1e+16``), strings are escaped like
serde_json (control characters escaped, non-ASCII raw, ``/`` not escaped).
"""
from __future__ import annotations

import math

import orjson

from kelora import values
from kelora.builtins.limits import check_str, want_str
from kelora.formats.outputs import logfmt_key, logfmt_value
from kelora.formats.render import json_text
from kelora.builtins.registry import builtin
from kelora.safetext import clean


def format_float_json(x: float) -> str:
    """ryu / serde_json float text; NaN and infinities have no JSON form and print ``null``."""
    if math.isnan(x) or math.isinf(x):
        return "null"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    digits, point = values.decimal_parts(x)  # value = 0.DIGITS * 10**point
    sign = "-" if x < 0 else ""
    n = len(digits)
    if 0 < point <= 16:
        if point >= n:
            return f"{sign}{digits}{'0' * (point - n)}.0"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    if -5 < point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    exp = point - 1
    mant = digits if n == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{sign}{mant}e{exp}"


def json_str(s: str) -> str:
    """JSON string literal of *s*, quotes included (escape_json drops them)."""
    try:
        return orjson.dumps(str(s)).decode()
    except orjson.JSONEncodeError:  # lone surrogates (undecodable input bytes): U+FFFD, as the
        return orjson.dumps(clean(str(s))).decode()  # compact form and every writer (safetext)


def json_dumps(v: object, indent: int = 0, _level: int = 0) -> str:
    """Compact (indent 0) or pretty JSON text of a script value, keys in map order."""
    t = type(v)
    if t is str or t is values.Char:
        return json_str(v)  # type: ignore[arg-type]
    if v is None:
        return "null"
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return str(v)
    if t is float:
        return format_float_json(v)  # type: ignore[arg-type]
    if t is list or t is dict:
        if not v:
            return "[]" if t is list else "{}"
        if t is list:
            parts = [json_dumps(x, indent, _level + 1) for x in v]  # type: ignore[union-attr]
            open_, close = "[", "]"
        else:
            sep = ": " if indent else ":"
            parts = [
                json_str(k) + sep + json_dumps(x, indent, _level + 1)
                for k, x in v.items()  # type: ignore[union-attr]
            ]
            open_, close = "{", "}"
        if not indent:
            return open_ + ",".join(parts) + close
        pad = " " * (indent * (_level + 1))
        end_pad = " " * (indent * _level)
        return open_ + "\n" + ",\n".join(pad + p for p in parts) + "\n" + end_pad + close
    if t is values.DateTime:
        return json_str(v.iso())  # type: ignore[union-attr]
    return json_str(values.to_string(v))


@builtin("serializers")
def to_json(value: object, indent: int = 0) -> str:
    """JSON text of any value: compact (no spaces) or pretty with indent > 0 spaces.

    Examples:
        to_json(#{a: 1, b: [true, ()]})  =>  "{\\"a\\":1,\\"b\\":[true,null]}"
        to_json(1.0)  =>  "1.0"
        to_json("x")  =>  "\\"x\\""
    """
    if indent <= 0:
        text = json_text(value)  # the -F json writer: same bytes as serde_json, and fast
        if text != '"<unserializable>"':
            return text
    indent = max(0, indent)
    if indent:  # the indentation alone must fit the string limit before anything is built
        want_str(indent * _pad_units(value, 0), "to_json")
    return check_str(json_dumps(value, indent), "to_json")


def _pad_units(v: object, level: int) -> int:
    """How many indent widths of padding pretty JSON of *v* at *level* writes."""
    t = type(v)
    if (t is not list and t is not dict) or not v:
        return 0
    items = v if t is list else v.values()  # type: ignore[union-attr]
    return len(v) * (level + 1) + level + sum(_pad_units(x, level + 1) for x in items)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- logfmt / kv

@builtin("serializers")
def to_logfmt(map: dict) -> str:
    """The map as one logfmt line: key=value, strings quoted only when needed.

    Examples:
        to_logfmt(#{level: "info", msg: "disk full", code: 7})  =>  "level=info msg=\\"disk full\\" code=7"
        to_logfmt(#{a: (), b: ""})  =>  "a= b=\\"\\""
    """
    # a string for the script, not terminal output: control characters stay as they are;
    # text UTF-8 cannot hold becomes U+FFFD, as in -F logfmt and to_json (kelora.safetext)
    return clean(" ".join(f"{logfmt_key(k, False)}={logfmt_value(v, False)}" for k, v in map.items()))


@builtin("serializers")
def to_kv(map: dict, sep: str = " ", kv_sep: str = "=") -> str:
    """The map as key=value pairs joined by sep (values as their display text, unquoted).

    Examples:
        to_kv(#{a: 1, b: "x y"})  =>  "a=1 b=x y"
        to_kv(#{a: 1, b: 2}, "&", ":")  =>  "a:1&b:2"
    """
    return clean(sep.join(f"{k}{kv_sep}{values.to_string(v)}" for k, v in map.items()))
