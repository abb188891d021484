"""Integers keep their exact digits (COMPAT D20; issue 12, item 8).

orjson reads integers up to 64 bits exactly and anything longer as a float
(``123456789012345678901234567890`` -> ``1.2345678901234568e29``): two different ids would
share a pseudonym.  Such a number has at least 20 digits in a row (or 19 and a minus sign), so a line is re-read with
the standard ``json`` module (exact Python ints, the same strings, floats and key order) only
when its bytes hold a run of 20 digits: one ``translate`` and one substring search per line,
no Python-level work for the other lines.  Integers past Python's 4300-digit conversion limit
stay orjson's float (converting them would be quadratic work).

Where the check runs: a read loop whose stages may change the event (exec stages, or events
handed on without a writer) checks every line when it is read, except the generated loop when
the stages name every key they read (``Program.event_reads``): it checks a line only when one of
those keys holds a float or a container, and an output that shows a huge float gets the other
keys' exact values where the stages left them as read (``unread_exact``).  A loop with no exec stage
(passthrough, filters, `-k`) checks only the lines whose output contains a float of 64-bit size
or more (the float writers raise ``values.BIG_FLOAT_WRITTEN``) and then writes the exact
reading instead: the common line pays one list lookup, not a scan.
"""
from __future__ import annotations

import json
import re

# 2**64 has 20 digits: shorter integers are exact in orjson, but for the negative ones below
# -2**63 (19 digits and a minus sign): the minus counts as a digit here (a run of digits and
# dashes that is no number, such as 2024-06-01-..., only costs a needless exact reading)
DIGITS = bytes.maketrans(b"0123456789-", b"00000000000")
RUN = b"0" * 20
_RUN_TEXT = re.compile(r"[0-9-]{20}")


def exact(raw, parsed):
    """*raw* (bytes or str) re-read with exact integers; *parsed* when that fails."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return parsed


def _finite(text: str) -> float:
    value = float(text)
    if value - value != 0.0:  # inf (NaN cannot come from a number's text)
        raise ValueError("number out of range")
    return value


def _no_constant(name: str):
    raise ValueError(f"invalid literal {name}")


def exact_refused(raw):
    """*raw*, which orjson refused as "number out of range", read exactly when the number is an
    integer (more digits than a float holds, fewer than Python's 4300-digit limit); None when it
    is a float out of range or the line is not JSON as orjson reads it (no NaN/Infinity)."""
    try:
        return json.loads(raw, parse_float=_finite, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None


def exact_if_needed(raw: bytes, parsed):
    """*parsed* (orjson's reading of *raw* bytes), or the exact reading when *raw* has a long
    digit run."""
    if RUN in raw.translate(DIGITS):
        return exact(raw, parsed)
    return parsed


def exact_text_if_needed(text: str, parsed):
    """Same for a str (builtins, slow paths)."""
    if _RUN_TEXT.search(text) is not None:
        return exact(text, parsed)
    return parsed


def refmt(raw: bytes, data, fmt):
    """*data* (the formatted event) again from the exact reading of *raw* when the line has a
    long digit run (a stage-free loop: the event is the line as read)."""
    from kelora.values import BIG_FLOAT_WRITTEN

    BIG_FLOAT_WRITTEN[0] = False
    if RUN in raw.translate(DIGITS):
        event = exact(raw, None)
        if type(event) is dict:
            data = fmt(event)
            BIG_FLOAT_WRITTEN[0] = False  # (a float of that size in the line itself sets it again)
    return data


def unread_exact(raw: bytes, event: dict, data, fmt, reads: frozenset):
    """*data* (the formatted *event*, which shows a float of 64-bit size) again, after each key
    no stage reads (not in *reads*) whose value is still the one orjson read takes the exact
    reading's value: what reading the line exactly first would have given.  (Equal counts as
    unchanged: a stage that wrote the same value, to float precision, gets the exact digits.)"""
    from orjson import loads

    from kelora.values import BIG_FLOAT_WRITTEN

    BIG_FLOAT_WRITTEN[0] = False
    if RUN not in raw.translate(DIGITS):
        return data
    exact_event = exact(raw, None)
    if type(exact_event) is not dict:
        return data
    as_read = loads(raw)
    changed = False
    for key, value in exact_event.items():
        # (not `!=` against the exact value: 2**64 as a float equals the int 2**64)
        if key not in reads and key in event and event[key] is not value and event[key] == as_read.get(key):
            event[key] = value
            changed = True
    if changed:
        data = fmt(event)
        BIG_FLOAT_WRITTEN[0] = False  # (a float of that size in the event sets it again)
    return data
