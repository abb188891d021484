"""Line-oriented input formats: json, line, raw, logfmt; the ``-f`` spec parser and auto-detection.

A parser turns one physical line (newline already stripped) into an event dict, returns None
when the line was consumed without producing an event (a CSV header), or raises ``InputError``
with the message the user sees.  The pipeline handles blank lines, decoding and line counting.
"""
from __future__ import annotations

import re

import orjson

from kelora.errors import InputError

from .exactjson import exact_if_needed, exact_refused, exact_text_if_needed
from .scalars import infer_scalar

_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


class Parser:
    """Base: ``parse(str)``, plus ``parse_bytes(bytes)`` for pipelines that read bytes."""

    format_name = "line"
    ragged_extra = 0
    ragged_missing = 0

    def parse(self, line: str):  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def start_file(self) -> None:
        """Called by the pipeline when the next input file begins (CSV re-reads its header)."""

    def parse_bytes(self, raw: bytes):
        """Decode (strict UTF-8; a ``UnicodeDecodeError`` is left to the pipeline) and parse."""
        if raw.endswith(b"\n"):
            raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
        return self.parse(raw.decode("utf-8"))


# --------------------------------------------------------------------------- json

# orjson's wording -> the serde_json wording Kelora users see (reference §6.1:
# "Invalid JSON: expected value at column 1").  Unknown messages pass through unchanged.
_SERDE_WORDING = (
    ("unexpected character, expected a JSON value", "expected value"),
    ("Input is a zero-length, empty document", "EOF while parsing a value"),
    ("unexpected end of data", "EOF while parsing a value"),
    ("trailing comma is not allowed", "trailing comma"),
    ("unexpected character, expected a string key", "key must be a string"),
    ("unexpected content after document", "trailing characters"),
    ("unexpected character, expected ':' after key", "expected `:`"),
    ("invalid literal", "expected ident"),
    ("invalid escaped sequence in string", "invalid escape"),
    ("number is infinity when parsed as double", "number out of range"),
)
# an integer too long even for a float (300+ digits): orjson refuses the line, the exact reader
# keeps its digits (COMPAT D20; integers past Python's 4300-digit limit stay an error)
_OUT_OF_RANGE = "Invalid JSON: number out of range"
_ORJSON_POS = re.compile(r":? line (\d+) column (\d+) \(char \d+\)$")


def json_error_message(exc: Exception) -> str:
    """``Invalid JSON: <what> at column N`` from an orjson decode error."""
    text = str(exc)
    col = None
    m = _ORJSON_POS.search(text)
    if m:
        col = m.group(2)
        text = text[: m.start()]
    for theirs, ours in _SERDE_WORDING:
        if text.startswith(theirs):
            text = ours
            break
    return f"Invalid JSON: {text} at column {col}" if col else f"Invalid JSON: {text}"


def _not_object(value) -> InputError:
    from .render import json_text  # serde_json's text: ``1e16``, not orjson's ``1e+16``

    return InputError(f"Expected JSON object, got: {json_text(value)}")


class JsonParser(Parser):
    """One JSON object per line (orjson): key order kept, ``null`` kept as None (COMPAT D6)."""

    format_name = "json"

    def parse(self, line):
        try:
            obj = _loads(line)
        except _JSONDecodeError as exc:
            message = json_error_message(exc)  # (the error holds a copy of the line: let it go)
            if message.startswith(_OUT_OF_RANGE):
                obj = exact_refused(line)
                if type(obj) is dict:
                    return obj
        else:
            if type(obj) is not dict:
                raise _not_object(obj)
            return exact_text_if_needed(line, obj)
        if line.startswith("\ufeff"):  # a UTF-8 BOM before the first line of a file
            return self.parse(line[1:])
        raise InputError(message)

    def parse_bytes(self, raw: bytes):
        """The hot path: orjson reads bytes directly (a trailing newline is JSON whitespace)."""
        try:
            obj = _loads(raw)
        except _JSONDecodeError as exc:
            message = json_error_message(exc)  # (the error holds a copy of the line: let it go)
            if message.startswith(_OUT_OF_RANGE):
                obj = exact_refused(raw)
                if type(obj) is dict:
                    return obj
        else:
            if type(obj) is not dict:
                raise _not_object(obj)
            return exact_if_needed(raw, obj)
        if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 BOM before the first line of a file
            return self.parse_bytes(raw[3:])
        # Invalid UTF-8 is the pipeline's business (lossy decode + warning): hand it back.
        if not raw.isascii():
            raw.decode("utf-8")
        raise InputError(message)


# --------------------------------------------------------------------------- line / raw

class LineParser(Parser):
    """``{"line": text}``; the one format where blank lines are events too."""

    format_name = "line"

    def parse(self, line):
        return {"line": line}


class RawParser(Parser):
    """``{"raw": text}`` with the text exactly as read (minus the line terminator)."""

    format_name = "raw"

    def parse(self, line):
        return {"raw": line}


# --------------------------------------------------------------------------- logfmt

_SPACE = " \t"
_UNQUOTED = re.compile(r"[^ \t]*")
_KEY = re.compile(r"[^= \t]*")
_KEY_SHOWN = 200  # a key quoted in an error message is cut here (a whole line may be one word)
_SIMPLE_QUOTED = re.compile(r'"([^"\\]*)"')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"'}


def parse_logfmt_pairs(text: str) -> list[tuple[str, str]]:
    """Split ``k=v k2="v 2"`` into raw (key, value) strings, Kelora's rules.

    Keys run up to ``=``; a space or tab inside a key, an empty key or a key without ``=`` is
    an error.  Quoted values take ``\\n \\t \\r \\\\ \\"`` escapes and ``\\u{1b}`` (the
    form kelora writes control characters in, COMPAT D18; other escapes stay as written) and ``""`` as a literal quote; an unterminated quote runs to the end of the line.
    """
    pairs = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n:
            break
        j = _KEY.match(text, i).end()  # (one C scan: a 64 MB word took minutes char by char)
        if j < n and text[j] != "=":
            raise InputError("Key cannot contain spaces")
        if j == i:
            raise InputError("Empty key found")
        if j >= n:
            key = text[i:j] if j - i <= _KEY_SHOWN else text[i:i + _KEY_SHOWN] + "…"
            raise InputError(f"Expected '=' after key '{key}'")
        key = text[i:j]
        j += 1
        if j < n and text[j] == '"':
            m = _SIMPLE_QUOTED.match(text, j)
            if m is not None and not text.startswith('"', m.end()):
                value = m.group(1)
                i = m.end()
            else:
                value, i = _quoted_value(text, j + 1)
        else:
            m = _UNQUOTED.match(text, j)
            value = m.group()
            i = m.end()
        pairs.append((key, value))
    return pairs


def _quoted_value(text: str, i: int) -> tuple[str, int]:
    out = []
    n = len(text)
    while i < n:
        ch = text[i]
        i += 1
        if ch == '"':
            if i < n and text[i] == '"':
                out.append('"')
                i += 1
                continue
            break
        if ch == "\\":
            if i < n:
                esc = text[i]
                i += 1
                if esc == "u":
                    m = _BRACED_HEX.match(text, i)
                    char = _code_point(m.group(1)) if m is not None else None
                    if char is not None:
                        out.append(char)
                        i = m.end()
                        continue
                out.append(_ESCAPES.get(esc, "\\" + esc))
            continue
        out.append(ch)
    return "".join(out), i


# Fast path: a line made only of simple pairs is split by one C-level findall; anything else
# (``""`` inside quotes, text glued to a closing quote, errors) goes through the exact scanner.
_PAIR = r'[ \t]*([^= \t]+)=(?:(")((?:[^"\\]|\\.)*)"(?=[ \t]|\Z)|([^ \t"]*)(?=[ \t]|\Z))'
_PAIR_RE = re.compile(_PAIR, re.DOTALL)
_PAIRS_LINE = re.compile(f"(?:{_PAIR})*[ \t]*", re.DOTALL)
_BACKSLASH_ESC = re.compile(r"\\(u\{[0-9a-fA-F]{1,6}\}|.)", re.DOTALL)


def _unescape_match(m: re.Match) -> str:
    ch = m.group(1)
    if len(ch) > 1:  # \u{1b}: the escape kelora's logfmt output writes controls with (D18)
        return _code_point(ch[2:-1]) or "\\" + ch
    return _ESCAPES.get(ch, "\\" + ch)


def _code_point(hex_digits: str) -> str | None:
    n = int(hex_digits, 16)
    if n > 0x10FFFF or 0xD800 <= n <= 0xDFFF:
        return None  # not a character: the text stays as written
    return chr(n)


_BRACED_HEX = re.compile(r"\{([0-9a-fA-F]{1,6})\}")


def _split_simple_quoted(text: str) -> dict | None:
    """Fast path for lines with quotes but no backslash: split on ``"``, odd parts are values.

    Returns None when the line is anything but plain ``key="value"`` pairs (quote not right
    after ``key=``, text glued to a closing quote, ``""`` inside quotes, unbalanced quotes), so
    the exact scanner decides.
    """
    parts = text.split('"')
    n = len(parts)
    if n % 2 == 0:
        return None
    event = {}
    for idx in range(0, n, 2):
        seg = parts[idx]
        if idx:
            if seg:
                if seg[0] != " " and seg[0] != "\t":
                    return None
            elif idx != n - 1:
                return None
        words = (seg.replace("\t", " ") if "\t" in seg else seg).split(" ")
        opens = idx != n - 1  # the last word of this segment opens a quoted value
        last = len(words) - 1
        for j, word in enumerate(words):
            if not word:
                if opens and j == last:
                    return None
                continue
            key, sep, value = word.partition("=")
            if not sep or not key:
                return None
            if opens and j == last:
                if value:
                    return None
                event[key] = infer_scalar(parts[idx + 1])
            else:
                event[key] = infer_scalar(value)
    return event


class LogfmtParser(Parser):
    """``key=value`` pairs; values typed like Kelora: i64, f64, true/false, else string."""

    format_name = "logfmt"

    def parse(self, line):
        text = line.strip()
        if '"' not in text:
            # No quotes: pairs are the space/tab separated words; a word without ``=`` (or
            # starting with one) is an error the exact scanner reports.
            event = {}
            for word in (text.replace("\t", " ").split(" ") if "\t" in text else text.split(" ")):
                if not word:
                    continue
                key, sep, value = word.partition("=")
                if not sep or not key:  # the exact scanner reports the precise error
                    return {k: infer_scalar(v) for k, v in parse_logfmt_pairs(text)}
                event[key] = infer_scalar(value)
            return event
        if "\\" not in text:
            event = _split_simple_quoted(text)
            if event is not None:
                return event
        if _PAIRS_LINE.fullmatch(text) is None:
            return {k: infer_scalar(v) for k, v in parse_logfmt_pairs(text)}
        event = {}
        for key, quote, quoted, bare in _PAIR_RE.findall(text):
            if quote:
                if "\\" in quoted:
                    quoted = _BACKSLASH_ESC.sub(_unescape_match, quoted)
                event[key] = infer_scalar(quoted)
            else:
                event[key] = infer_scalar(bare)
        return event
