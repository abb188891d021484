"""``-f cols:<spec>`` (with ``--cols-sep SEP``): name the columns of a line, as Kelora does.

The spec is a space-separated list of tokens, taken left to right over the line's columns
(runs of spaces/tabs, or the literal ``--cols-sep`` string, which keeps empty columns):

* ``name``       one column;  ``name(N)``  N columns joined (by a space, or by the separator);
* ``-``          skip one column;  ``-(N)``  skip N;
* ``*name``      the rest of the line verbatim (must be last);
* ``name:type``  (also ``name(N):type``, ``*name:type``) converts: int, float, bool, string
  (the CSV annotations); a value that does not convert is ``()`` (null), an error with --strict.

A field with no column left is ``()`` (null); a line with too few columns, or (without a
``*rest``) too many, is fine unless ``--strict``: then ``parse_cols: expected >= N columns (got
M)`` / ``parse_cols: K unconsumed columns; add *field or skip with -`` (Kelora's words).
Names are identifiers (a letter or ``_`` first).  A bad spec is a usage error (exit 2).
"""
from __future__ import annotations

import re

from kelora.errors import InputError, UsageError

from .inputs import Parser
from .scalars import CONVERTERS, FIELD_TYPES

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_WS_COLUMN = re.compile(r"[^ \t]+")


def _spec_error(message: str) -> UsageError:
    return UsageError(f"Invalid cols spec: parse_cols: {message}",
                      hint="tokens: name, name(N), -, -(N), *rest (last), name:int|float|bool|string")


def _count(text: str, kind: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise _spec_error(f"invalid {kind} count '{text}'")
    n = int(text)
    if n < 1:
        raise _spec_error(f"{kind} count must be >= 1 (got {n})")
    return n


def _split_type(token: str) -> tuple[str, str | None]:
    """``name(N):int`` -> (``name(N)``, "int") when the part after the last ':' is a type."""
    colon = token.rfind(":")
    if colon > 0 and colon > token.rfind(")"):
        kind = FIELD_TYPES.get(token[colon + 1:].lower())
        if kind is not None:
            return token[:colon], kind
    return token, None


def parse_cols_spec(spec: str) -> tuple[list[tuple], int]:
    """The plan: (tokens, columns required); tokens are ("field", name, n, type),
    ("skip", n) and ("rest", name, type)."""
    tokens: list[tuple] = []
    need = 0
    for raw in spec.split():
        if tokens and tokens[-1][0] == "rest":
            raise _spec_error("*field must be the final token")
        if raw.startswith("*"):
            name, kind = _split_type(raw[1:])
            if not name:
                raise _spec_error("*field requires a name")
            if not _NAME.match(name):
                raise _spec_error(f"invalid field name '{name}'")
            tokens.append(("rest", name, kind))
            continue
        if raw == "-":
            tokens.append(("skip", 1))
            need += 1
            continue
        if raw.startswith("-(") and raw.endswith(")"):
            n = _count(raw[2:-1], "skip")
            tokens.append(("skip", n))
            need += n
            continue
        token, kind = _split_type(raw)
        n = 1
        if "(" in token:
            if not token.endswith(")"):
                raise _spec_error(f"invalid field token '{token}'")
            token, _, count = token[:-1].partition("(")
            n = _count(count, "field")
        if not _NAME.match(token):
            raise _spec_error(f"invalid field name '{token}'")
        tokens.append(("field", token, n, kind))
        need += n
    if not tokens:
        raise _spec_error("spec must contain at least one token")
    return tokens, need


def make_cols(name: str, rest: str, strict: bool, cols_sep: str | None = None) -> "ColsParser":
    """The registry's factory for ``cols:<spec>``."""
    return ColsParser(rest, cols_sep, strict=strict)


class ColsParser(Parser):
    format_name = "cols"

    def __init__(self, spec: str, sep: str | None = None, strict: bool = False):
        if sep == "":
            raise UsageError("--cols-sep must not be empty")
        self.tokens, self.need = parse_cols_spec(spec)
        self.has_rest = self.tokens[-1][0] == "rest"
        self.sep = sep
        self.strict = strict

    def _columns(self, line: str) -> tuple[list[str], list[int]]:
        if self.sep is None:
            cols, starts = [], []
            for m in _WS_COLUMN.finditer(line):
                cols.append(m.group())
                starts.append(m.start())
            return cols, starts
        cols = line.split(self.sep)
        starts, pos = [], 0
        for c in cols:
            starts.append(pos)
            pos += len(c) + len(self.sep)
        return cols, starts

    def _convert(self, name: str, kind: str | None, value):
        if kind is None or kind == "string" or value is None:
            return value
        out = CONVERTERS[kind](value)
        if out is None and self.strict:
            raise InputError(f"Type conversion error for field '{name}' (value: '{value}'): "
                             f"Cannot convert '{value}' to {kind}")
        return out

    def parse(self, line):
        cols, starts = self._columns(line)
        total = len(cols)
        joiner = " " if self.sep is None else self.sep
        event: dict = {}
        i = 0
        short = False
        for token in self.tokens:
            kind = token[0]
            if kind == "field":
                _, name, n, typ = token
                take = min(n, max(0, total - i))
                value = None
                if take:
                    value = cols[i] if take == 1 else joiner.join(cols[i:i + take])
                short = short or take < n
                i += take
                event[name] = self._convert(name, typ, value)
            elif kind == "skip":
                if total - i < token[1]:
                    short = True
                    i = total
                else:
                    i += token[1]
            else:
                _, name, typ = token
                value = line[starts[i]:] if i < total and starts[i] < len(line) else None
                event[name] = self._convert(name, typ, value)
                i = total
        if self.strict:
            if short or total < self.need:
                raise InputError(f"parse_cols: expected >= {self.need} columns (got {total})")
            if not self.has_rest and total > i:
                raise InputError(f"parse_cols: {total - i} unconsumed columns; add *field or skip with -")
        return event
