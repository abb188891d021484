"""Structured-text parsers for scripts: JSON, key=value, logfmt, syslog/access lines, embedded JSON.

URLs, paths, media types and JWTs are in webparse.py; user agents in useragent.py.

Except parse_json (an error on invalid input, as Rhai's), parsers return an empty map ``#{}``
for input they cannot make sense of, so ``.field`` reads ``()``.
"""
from __future__ import annotations

import json
import re

import orjson

from kelora.builtins.limits import MAX_OPS, want_ops
from kelora.formats.exactjson import exact_refused, exact_text_if_needed
from kelora.builtins.registry import builtin
from kelora.errors import FunctionError
from kelora.formats.combined import parse_combined as _combined
from kelora.formats.syslog import parse_syslog as _syslog

@builtin("parsing", unit_on_failure=True)
def parse_json(text: str) -> object:
    """Parse JSON text into a map, array, string, number, bool or () (null).

    Invalid JSON is a runtime error.

    Examples:
        parse_json("{\\"a\\": [1, 2.5, null]}")  =>  #{"a": [1, 2.5, ()]}
        parse_json("42")  =>  42
    """
    try:
        return exact_text_if_needed(text, orjson.loads(text))
    except orjson.JSONDecodeError as err:
        if str(err).startswith("number is infinity"):  # an integer longer than a float holds
            value = exact_refused(text)
            if value is not None:
                return value
        from kelora.formats.inputs import json_error_message

        # (the input parser's wording, serde's: "Invalid JSON: key must be a string at column 2")
        raise FunctionError(f"parse_json(): {json_error_message(err)}") from None


@builtin("parsing", unit_on_failure=True)
def parse_kv(text: str, sep: str | None = None, kv_sep: str = "=") -> dict:
    """Parse "k1=v1 k2=v2" pairs; sep (default whitespace) splits pairs, kv_sep key from value.

    Parts without kv_sep are skipped; keys and values are trimmed and stay strings; the last
    duplicate wins.  sep () means whitespace (so kv_sep can be given alone).

    Examples:
        parse_kv("user=alice status=200")  =>  #{"user": "alice", "status": "200"}
        parse_kv("a:1;b:2", ";", ":")  =>  #{"a": "1", "b": "2"}
        parse_kv("novalue x=1")  =>  #{"x": "1"}
    """
    parts = text.split() if sep is None or sep == "" else text.split(sep)
    out: dict = {}
    for part in parts:
        if not kv_sep or kv_sep not in part:
            continue
        k, _, v = part.partition(kv_sep)
        k = k.strip()
        if k:
            out[k] = v.strip()
    return out


_LOGFMT_ESC = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def logfmt_pairs(text: str) -> dict:
    """Parse a logfmt line: ``k=v``, ``k="quoted \\" value"``, bare ``k`` (value "")."""
    out: dict = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            break
        start = i
        while i < n and text[i] not in "= \t\r\n":
            i += 1
        key = text[start:i]
        if i < n and text[i] == "=":
            i += 1
            if i < n and text[i] == '"':
                i += 1
                buf = []
                while i < n and text[i] != '"':
                    if text[i] == "\\" and i + 1 < n:
                        buf.append(_LOGFMT_ESC.get(text[i + 1], "\\" + text[i + 1]))
                        i += 2
                    else:
                        buf.append(text[i])
                        i += 1
                i += 1  # closing quote
                value = "".join(buf)
            else:
                vstart = i
                while i < n and text[i] not in " \t\r\n":
                    i += 1
                value = text[vstart:i]
        else:
            value = ""
        if key:
            out[key] = value
        else:
            i += 1
    return out


@builtin("parsing")
def parse_logfmt(text: str) -> dict:
    """Parse a logfmt line into a map of strings (quoted values unescaped; bare keys give "").

    Examples:
        parse_logfmt("level=info msg=\\"disk full\\" code=7")  =>  #{"level": "info", "msg": "disk full", "code": "7"}
    """
    return logfmt_pairs(text)


# --------------------------------------------------------------------------- log lines

@builtin("parsing")
def parse_syslog(line: str) -> dict:
    """Parse an RFC 5424 or RFC 3164 syslog line (the fields -f syslog gives); else #{}.

    Examples:
        parse_syslog("<34>Oct 11 22:14:15 host su[42]: failed").prog  =>  "su"
        parse_syslog("nope")  =>  #{}
    """
    return _syslog(line) or {}


@builtin("parsing")
def parse_combined(line: str) -> dict:
    """Parse an Apache/Nginx common or combined access-log line (as -f combined); else #{}.

    Examples:
        parse_combined("1.2.3.4 - - [15/Jan/2024:10:00:00 +0000] \\"GET /x HTTP/1.1\\" 200 512").status  =>  200
        parse_combined("nope")  =>  #{}
    """
    return _combined(line) or {}


_DECODER = json.JSONDecoder()


# what can follow '{' / '[' in JSON (json also reads NaN and Infinity)
_CAN_START = re.compile(r'\{\s*["}]|\[\s*[\]"{\[\-0-9tfnNI]')


def _decode_at(text: str, j: int) -> tuple:
    """``raw_decode(text, j)`` on a growing window copied from j: a JSONDecodeError computes its
    line number from the start of the string it was given, so a failure deep in a long line
    would cost O(position) (quadratic over all the brackets of a crafted line).  Returns
    (value, end), or (None, characters scanned) on failure; RecursionError passes through."""
    size = 1024
    n = len(text)
    while True:
        window = text[j : j + size] if j + size < n else text[j:] if j else text
        try:
            value, end = _DECODER.raw_decode(window)
        except ValueError as err:
            pos = getattr(err, "pos", 0)
            if j + len(window) >= n or pos < len(window) - 1:
                return None, max(1, pos)
            size *= 8  # it ran out of window: the value may go on
            continue
        if end == len(window) and j + len(window) < n:
            size *= 8  # a number cut at the window's edge ("[1] 12" is not at issue: arrays end)
            continue
        return value, j + end


def _embedded_json(text: str, raw: bool = False) -> list:
    """Every JSON object/array embedded in text, left to right, not overlapping.

    A failed parse from one bracket is retried from the next one, so crafted text ('[1,' * N)
    costs the sum of the failed attempts' lengths: that work counts against the operation
    limit (a limit error instead of minutes of CPU), as does nesting deeper than Python's
    recursion limit."""
    out = []
    i = 0
    n = len(text)
    brace = bracket = -1  # next '{' / '[' at or after i (-2: none left)
    work = 0
    while i < n:
        if -2 < brace < i:
            brace = text.find("{", i)
            brace = -2 if brace < 0 else brace
        if -2 < bracket < i:
            bracket = text.find("[", i)
            bracket = -2 if bracket < 0 else bracket
        if brace == -2 and bracket == -2:
            break
        j = bracket if brace == -2 else brace if bracket == -2 else min(brace, bracket)
        if _CAN_START.match(text, j) is None:  # cheap: '{x', '[,' never start a value
            i = j + 1
            continue
        try:
            value, end = _decode_at(text, j)
        except RecursionError:
            value, end = None, 100_000
        if value is None:  # (a value starting at '{' or '[' is never null)
            # each failed attempt costs a Python exception: at least 64 "operations"
            work += max(64, end)
            if work > MAX_OPS:
                want_ops(work, "extract_json")
            i = j + 1
            continue
        out.append(text[j:end] if raw else value)
        i = end
    return out


@builtin("parsing")
def extract_jsons(text: str) -> list:
    """Every JSON object or array embedded in *text*, as its text (left to right, not nested).

    The same values `extract_json` finds, unparsed (`parse_json` each to read it).

    Examples:
        extract_jsons("a {\\"id\\":1} b [1, 2] c")  =>  ["{\\"id\\":1}", "[1, 2]"]
        extract_jsons("no json here")  =>  []
    """
    return _embedded_json(text, raw=True)


@builtin("parsing")
def extract_json(text: str, nth: int = 1) -> object:
    """The nth JSON object or array embedded in text (parsed); "" when there is none.

    nth counts from 1; negative counts from the end.

    Examples:
        extract_json("payload={\\"id\\": 7} tail")  =>  #{"id": 7}
        extract_json("a [1] b [2]", -1)  =>  [2]
        extract_json("no json here")  =>  ""
    """
    found = _embedded_json(text)
    if nth == 0 or not found or abs(nth) > len(found):
        return ""
    return found[nth - 1] if nth > 0 else found[nth]
