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


# First characters that can start a Rust number, and the only characters a number has
# (inf/infinity/nan aside): most values are ruled out by one C-level check, no regex.
_DIGIT_START = frozenset("+-.0123456789")
_NUMBER_CHARS = "0123456789.eE+-"
_WORD_START = frozenset("iInNtTfF")  # inf, infinity, nan, true, false


def infer_scalar(text: str):
    """logfmt values: i64, else f64, else true/false (any case), else the string itself."""
    first = text[:1]
    if first in _DIGIT_START:
        if first and not text.strip(_NUMBER_CHARS):
            if _INT_RE.match(text) is not None:
                n = int(text)
                if I64_MIN <= n <= I64_MAX:
                    return n
            if _FLOAT_RE.match(text) is not None:
                return float(text)
        elif text[1:2] in _WORD_START and _FLOAT_RE.match(text) is not None:  # +inf, -nan
            return float(text)
        return text
    if first in _WORD_START:
        low = text.lower()
        if low == "true":
            return True
        if low == "false":
            return False
        if low in ("inf", "infinity", "nan"):
            return float(low)
    return text
