"""Type conversion builtins: to_int, to_float, to_bool, to_string, or_empty, status_class.

These take any value (Kelora registers them for ``Dynamic``) so a missing field ``()`` converts
to ``()`` or the default instead of failing.  String parsing follows Rust's ``i64::from_str`` and
``f64::from_str``: no surrounding spaces, no underscores, no hex.
"""
from __future__ import annotations

import math
import re

from kelora import values
from kelora.builtins.registry import builtin
from kelora.errors import FunctionError

_NOTHING = object()

_INT_RE = re.compile(r"[+-]?[0-9]+")
_FLOAT_RE = re.compile(
    r"[+-]?(?:[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)",
    re.IGNORECASE,
)
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


def parse_int_text(text: str) -> int | None:
    """Rust ``i64::from_str``: optional sign and ASCII digits, within i64; else None."""
    if _INT_RE.fullmatch(text) is None:
        return None
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > 19:  # beyond i64 (Python's int() refuses over 4,300 digits: make fuzz found it)
        return None
    n = int(digits) if digits else 0
    if text[:1] == "-":
        n = -n
    return n if values.I64_MIN <= n <= values.I64_MAX else None


def parse_float_text(text: str) -> float | None:
    """Rust ``f64::from_str`` (accepts ``1e3``, ``.5``, ``5.``, ``inf``, ``NaN``); else None."""
    if _FLOAT_RE.fullmatch(text) is None:
        return None
    return float(text)


def float_to_int(x: float) -> int:
    """Rhai ``to_int`` on a float: truncate toward zero; out of range is an error."""
    if math.isnan(x) or math.isinf(x) or not (values.I64_MIN <= math.trunc(x) <= values.I64_MAX):
        raise FunctionError(f"Integer overflow: to_int({values.format_float(x)})")
    return math.trunc(x)


def _remove_chars(text: str, chars: str) -> str:
    return text.translate({ord(c): None for c in chars}) if chars else text


def _int_from(v: object, thousands: str | None) -> int | None:
    t = type(v)
    if t is int:
        return v  # type: ignore[return-value]
    if t is str or t is values.Char:
        return parse_int_text(_remove_chars(v, thousands) if thousands else v)  # type: ignore[arg-type]
    return None


def float_from(v: object, thousands: str | None, decimal: str | None) -> float | None:
    """``to_float``'s conversion (None where it gives ``()``): also pluck_as_nums's."""
    t = type(v)
    if t is float:
        return v  # type: ignore[return-value]
    if t is int:
        return float(v)  # type: ignore[arg-type]
    if t is str or t is values.Char:
        text = v
        if thousands:
            text = _remove_chars(text, thousands)  # type: ignore[arg-type]
        if decimal is not None:
            if len(decimal) > 1:
                return None
            if decimal and decimal != ".":
                text = text.replace(decimal, ".")  # type: ignore[union-attr]
        return parse_float_text(text)  # type: ignore[arg-type]
    return None


@builtin("conversion", unit_on_failure=True)
def to_int(value: object, thousands: str = _NOTHING) -> int | None:  # type: ignore[assignment]
    """Convert to an integer, or () when it cannot be converted.

    Ints stay; strings must be an optional sign and digits ("12", "-3", not "1.5" or " 7");
    floats are truncated toward zero; anything else (bool, (), map...) gives ().  With
    thousands, every character of it is removed from a string first.

    Examples:
        to_int("12")  =>  12
        to_int("1.5")  =>  ()
        to_int(3.7)  =>  3
        to_int(())  =>  ()
        to_int("1,234,567", ",")  =>  1234567
    """
    if type(value) is float:
        return float_to_int(value)  # type: ignore[arg-type]
    return _int_from(value, None if thousands is _NOTHING else thousands)


@builtin("conversion", shares=True)
def to_int_or(value: object, thousands_or_default: object, default: object = _NOTHING) -> object:
    """Like to_int but returns default instead of (): to_int_or(v, default) or (v, thousands, default).

    Floats, bools and () give the default (only ints and numeric strings convert).

    Examples:
        to_int_or("42", 0)  =>  42
        to_int_or("n/a", -1)  =>  -1
        to_int_or((), 0)  =>  0
        to_int_or("1 000", " ", 0)  =>  1000
    """
    if default is _NOTHING:
        thousands, default = None, thousands_or_default
    elif isinstance(thousands_or_default, str):
        thousands = str(thousands_or_default)
    else:
        raise FunctionError("to_int_or(): thousands separator must be a string")
    n = _int_from(value, thousands)
    return default if n is None else n


@builtin("conversion", unit_on_failure=True)
def to_float(value: object, thousands: str = _NOTHING, decimal: str = _NOTHING) -> float | None:  # type: ignore[assignment]
    """Convert to a float, or () when it cannot be converted.

    Floats stay, ints widen, strings parse as Rust f64 ("1e3", ".5", "inf", "NaN").  With
    thousands/decimal, thousands characters are removed and the (single-character) decimal
    mark becomes ".".

    Examples:
        to_float("3.14")  =>  3.14
        to_float(2)  =>  2.0
        to_float("abc")  =>  ()
        to_float("1.234,5", ".", ",")  =>  1234.5
    """
    th = None if thousands is _NOTHING else thousands
    dec = None if decimal is _NOTHING else decimal
    return float_from(value, th, dec)  # type: ignore[arg-type]


@builtin("conversion", shares=True)
def to_float_or(value: object, a: object, b: object = _NOTHING, c: object = _NOTHING) -> object:
    """Like to_float but returns default instead of (): (v, default) or (v, thousands, decimal, default).

    Examples:
        to_float_or("2.5", 0.0)  =>  2.5
        to_float_or("x", 0.0)  =>  0.0
        to_float_or("1 234,5", " ", ",", 0.0)  =>  1234.5
    """
    if b is _NOTHING:
        th, dec, default = None, None, a
    elif c is _NOTHING:
        raise FunctionError("to_float_or() takes 2 or 4 arguments: (value, default) or (value, thousands, decimal, default)")
    elif isinstance(a, str) and isinstance(b, str):
        th, dec, default = str(a), str(b), c
    else:
        raise FunctionError("to_float_or(): thousands and decimal must be strings")
    x = float_from(value, th, dec)
    return default if x is None else x


def _bool_from(v: object) -> bool | None:
    t = type(v)
    if t is bool:
        return v  # type: ignore[return-value]
    if t is str or t is values.Char:
        low = v.strip().lower()  # type: ignore[union-attr]
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        return None
    if t is int or t is float:
        return v != 0
    return None


@builtin("conversion", unit_on_failure=True)
def to_bool(value: object) -> bool | None:
    """Convert to a bool, or ().

    Strings (any case) true/yes/1/on and false/no/0/off; numbers are true when non-zero.

    Examples:
        to_bool("yes")  =>  true
        to_bool("OFF")  =>  false
        to_bool(0)  =>  false
        to_bool("maybe")  =>  ()
    """
    return _bool_from(value)


@builtin("conversion", shares=True)
def to_bool_or(value: object, default: object) -> object:
    """Like to_bool but returns default instead of ().

    Examples:
        to_bool_or("on", false)  =>  true
        to_bool_or((), false)  =>  false
    """
    b = _bool_from(value)
    return default if b is None else b


@builtin("conversion")
def to_string(value: object) -> str:
    """The display text of any value: () is "", floats "1.0", maps #{"a": 1}.

    Examples:
        to_string(42)  =>  "42"
        to_string(1.0)  =>  "1.0"
        to_string(())  =>  ""
        to_string([1, "a"])  =>  "[1, \\"a\\"]"
    """
    return values.to_string(value)


@builtin("conversion", shares=True)
def or_empty(value: object) -> object:
    """Turn "", [] and #{} into () (so the field is dropped); other values pass through.

    Examples:
        or_empty("")  =>  ()
        or_empty("x")  =>  "x"
        or_empty([])  =>  ()
        or_empty(5)  =>  5
    """
    if value == "" or value == [] or value == {}:
        return None
    return value


@builtin("conversion")
def status_class(code: int) -> str:
    """HTTP status class: 404 => "4xx"; outside 100..599 => "unknown".

    Examples:
        status_class(404)  =>  "4xx"
        status_class(200)  =>  "2xx"
        status_class(42)  =>  "unknown"
    """
    if 100 <= code <= 599:
        return f"{code // 100}xx"
    return "unknown"


@builtin("conversion", unit_on_failure=True)
def parse_int(text: str, radix: int = 10) -> int:
    """Parse an integer (optional radix 2..36); invalid text is an error (unlike to_int).

    Examples:
        parse_int("42")  =>  42
        parse_int("ff", 16)  =>  255
    """
    if not 2 <= radix <= 36:
        raise FunctionError(f"parse_int(): invalid radix {radix}")
    stripped = text.strip()
    try:
        if radix == 10:
            n = parse_int_text(stripped)
            if n is None:
                raise ValueError
            return n
        if "_" in stripped or not stripped:
            raise ValueError
        if len(stripped.lstrip("+-").lstrip("0")) > 64:  # more digits than any i64 has in any radix
            raise ValueError
        n = int(stripped, radix)
        if not values.I64_MIN <= n <= values.I64_MAX:  # (Rust's from_str_radix: overflow)
            raise ValueError
        return n
    except ValueError:
        raise FunctionError(f"Error parsing integer number '{text}'") from None


@builtin("conversion", unit_on_failure=True)
def parse_float(text: str) -> float:
    """Parse a float; invalid text is an error (unlike to_float).

    Examples:
        parse_float("2.5")  =>  2.5
    """
    x = parse_float_text(text.strip())
    if x is None:
        raise FunctionError(f"Error parsing floating-point number '{text}'")
    return x


@builtin("conversion")
def to_hex(n: int) -> str:
    """Lower-case hexadecimal digits of an int (two's complement for negatives, as Rhai).

    Examples:
        to_hex(255)  =>  "ff"
    """
    return format(n & 0xFFFFFFFFFFFFFFFF if n < 0 else n, "x")


@builtin("conversion")
def to_binary(n: int) -> str:
    """Binary digits of an int.

    Examples:
        to_binary(5)  =>  "101"
    """
    return format(n & 0xFFFFFFFFFFFFFFFF if n < 0 else n, "b")


@builtin("conversion")
def to_octal(n: int) -> str:
    """Octal digits of an int.

    Examples:
        to_octal(8)  =>  "10"
    """
    return format(n & 0xFFFFFFFFFFFFFFFF if n < 0 else n, "o")


@builtin("conversion")
def to_char(n: int) -> str:
    """The character with this Unicode code point.

    Examples:
        to_char(65)  =>  'A'
    """
    try:
        return values.Char(chr(n))
    except (ValueError, OverflowError):
        raise FunctionError(f"to_char(): {n} is not a valid code point") from None


# --------------------------------------------------------------------------- type checks
# Not in Kelora 2.0, whose docs use `e.level.is_string()` anyway (reference §8 #8); they take any
# value, () included, so `--assert 'e.level.is_string()'` does what the docs say.

def _type_check(name: str, types: tuple, example: str):
    def check(value: object) -> bool:
        return type(value) in types

    check.__name__ = name
    check.__doc__ = f"""True when the value is {name[3:].replace("_", " ")} (any value accepted, () included).

    Examples:
        {example}
    """
    builtin("conversion", name=name)(check)


for _name, _types, _example in (
    ("is_string", (str, values.Char), 'is_string("x")  =>  true'),
    ("is_int", (int,), 'is_int(1.0)  =>  false'),
    ("is_float", (float,), 'is_float(1.0)  =>  true'),
    ("is_number", (int, float), 'is_number(3)  =>  true'),
    ("is_bool", (bool,), 'is_bool(1)  =>  false'),
    ("is_array", (list,), 'is_array([])  =>  true'),
    ("is_map", (dict,), 'is_map(#{})  =>  true'),
    ("is_unit", (type(None),), 'is_unit(())  =>  true'),
    ("is_datetime", (values.DateTime,), 'is_datetime("2024-01-01")  =>  false'),
    ("is_duration", (values.Duration,), 'is_duration(to_duration("1s"))  =>  true'),
):
    _type_check(_name, _types, _example)
