"""Rust-compatible parsing of text into numbers, as Kelora's parsers do it.

Rust's ``str::parse::<i64>`` accepts an optional sign and ASCII digits only (no spaces, no
underscores, which Python's ``int()`` would accept); ``parse::<f64>`` also takes ``inf``,
``infinity`` and ``nan`` in any case.  Both return None when the text is not a number.
"""
from __future__ import annotations

import re

from kelora.values import I64_MAX, I64_MIN

_INT_RE = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT_RE = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)\Z",
    re.IGNORECASE,
)

_BOOL_WORDS = {
    "true": True, "t": True, "yes": True, "y": True, "1": True,
    "false": False, "f": False, "no": False, "n": False, "0": False,
}


def parse_i64(text: str) -> int | None:
    if _INT_RE.match(text) is None:
        return None
    n = int(text)
    return n if I64_MIN <= n <= I64_MAX else None


def parse_f64(text: str) -> float | None:
    if _FLOAT_RE.match(text) is None:
        return None
    return float(text)


def parse_bool_word(text: str) -> bool | None:
    """CSV ``:bool`` annotation words (true/t/yes/y/1, false/f/no/n/0, any case)."""
    return _BOOL_WORDS.get(text.lower())


# Field type annotations (CSV ``-f 'csv status:int'`` and ``cols:name:int``): every spelling
# Kelora accepts -> its type, and the converter of each type (string fields stay as read).
FIELD_TYPES = {
    "int": "int", "i64": "int", "integer": "int",
    "float": "float", "f64": "float", "double": "float",
    "bool": "bool", "boolean": "bool",
    "string": "string", "str": "string",
}
CONVERTERS = {"int": parse_i64, "float": parse_f64, "bool": parse_bool_word}


# Kelora types a logfmt value as a number only when it is a JSON number (RFC 8259 §6: optional
# ``-``, no leading zero, no ``+``, no inf/nan), so zip codes (``02134``), ids (``007``), phone
# numbers (``+1555``) and ``inf``/``nan`` stay the strings they were (its looks_like_json_number).
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?\Z")
_DIGIT_START = frozenset("-0123456789")


def infer_scalar(text: str):
    """logfmt values: a JSON-number text becomes i64 (else f64), true/false (any case) a bool,
    anything else stays the string itself."""
    first = text[:1]
    if first in _DIGIT_START:
        if first:
            m = _JSON_NUMBER.match(text)
            if m is not None:
                if m.lastindex is None:  # no fraction, no exponent
                    try:
                        return int(text)  # exact, also beyond 64 bits (COMPAT D20)
                    except ValueError:  # past Python's 4300-digit conversion limit
                        return text
                return float(text)
        return text
    if first == "t" or first == "T" or first == "f" or first == "F":
        low = text.lower()
        if low == "true":
            return True
        if low == "false":
            return False
    return text
