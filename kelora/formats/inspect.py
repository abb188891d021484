"""``-F inspect`` (reference §4.6): one aligned ``name | type | value`` line per field.

Per event: ``---``, the fields (names padded to the longest name of their group, capped at 40,
types padded to the widest type of the group; nested maps/arrays open ``{``/``[`` and list their
children indented two spaces), then a separately aligned ``meta.*`` group (``parsed_ts``,
``line_num``, ``filename``: only those present).  Strings are shown quoted with ``\\\\ \\n \\r \\t
\\xNN`` escapes and cut to 80 characters (``-v`` 160, ``-vv`` unlimited) plus ``...``.
"""
from __future__ import annotations

from kelora.safetext import ERRORS

import re
from datetime import datetime, timezone

from kelora.escape import escape_line
from kelora.values import Char, DateTime, Duration, FnPtr, format_float_rust, to_string

from .render import MAX_DEPTH, TOO_DEEP

_NAME_CAP = 40
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_repl(m: re.Match) -> str:
    ch = m.group()
    return _ESCAPES.get(ch) or f"\\x{ord(ch):02X}"


def escape_for_display(text: str) -> str:
    return _CONTROL.sub(_escape_repl, text)


def type_label(v) -> str:
    t = type(v)
    if t is dict:
        return f"map({len(v)})"
    if t is list:
        return f"array({len(v)})"
    if t is str:
        return "string"
    if t is bool:
        return "bool"
    if t is int:
        return "int"
    if t is float:
        return "float"
    if t is Char:
        return "char"
    if v is None:
        return "null"
    if t is DateTime:
        return "datetime"
    if t is Duration:
        return "duration"
    if isinstance(v, FnPtr):
        return "Fn"
    return type(v).__name__


def make_inspect(select, verbose: int = 0):
    limit = 80 if verbose <= 0 else 160 if verbose == 1 else None

    def clip(text: str, quote: str = "") -> str:
        """Quote and cut: Kelora puts the ``...`` after the closing quote."""
        if limit is not None and len(text) > limit:
            return quote + text[:limit] + quote + "..."
        return quote + text + quote

    def scalar(v) -> str:
        t = type(v)
        if t is str:
            return clip(escape_for_display(v), '"')
        if t is bool:
            return "true" if v else "false"
        if t is int:
            return str(v)
        if t is float:
            return format_float_rust(v)
        if t is Char:
            return "'" + escape_for_display(v) + "'"
        if v is None:
            return "null"
        if t is DateTime:
            text = v.iso()
        elif t is Duration:
            text = v.display()
        else:
            text = to_string(v)  # (Fn(name), a range as 1..3: the language's notation)
        return clip(escape_for_display(text))

    def group(lines: list, entries: list, indent: int) -> None:
        if not entries:
            return
        entries = [(escape_line(k), v) for k, v in entries]  # names from data (D18)
        name_w = min(max(len(k) for k, _ in entries), _NAME_CAP)
        type_w = max(len(type_label(v)) for _, v in entries)
        pad = "  " * indent
        for name, v in entries:
            label = type_label(v)
            t = type(v)
            if (t is dict or t is list) and indent >= MAX_DEPTH:
                lines.append(f"{pad}{name:<{name_w}} | {label:<{type_w}} | {TOO_DEEP}")
            elif t is dict:
                lines.append(f"{pad}{name:<{name_w}} | {label:<{type_w}} | {{")
                group(lines, [(str(k), x) for k, x in v.items()], indent + 1)
                lines.append(pad + "}")
            elif t is list:
                lines.append(f"{pad}{name:<{name_w}} | {label:<{type_w}} | [")
                group(lines, [(f"[{i}]", x) for i, x in enumerate(v)], indent + 1)
                lines.append(pad + "]")
            else:
                lines.append(f"{pad}{name:<{name_w}} | {label:<{type_w}} | {scalar(v)}")

    def meta_entries(meta) -> list:
        if not meta:
            return []
        out = []
        ts = meta.get("parsed_ts")
        if ts is not None:
            dt = ts.dt if type(ts) is DateTime else ts
            if isinstance(dt, datetime):
                if dt.tzinfo is None:
                    dt = dt.replace(tzinfo=timezone.utc)
                try:  # (isoformat: strftime writes year 5 as "5", not "0005")
                    text = dt.astimezone(timezone.utc).isoformat(timespec="seconds")[:19] + "Z"
                except OverflowError:  # a wall time whose UTC instant is past year 9999
                    text = dt.isoformat(timespec="seconds")
                out.append(("meta.parsed_ts", "datetime", text))
        line_num = meta.get("line_num")
        if line_num is not None:
            out.append(("meta.line_num", "int", str(line_num)))
        filename = meta.get("filename")
        if filename is not None:
            out.append(("meta.filename", "string", '"' + escape_for_display(str(filename)) + '"'))
        return out

    def fmt_inspect(event, meta=None):
        fields = select(event)
        if not fields:
            return b""
        lines = ["---"]
        group(lines, list(fields.items()), 0)
        extra = meta_entries(meta)
        if extra:
            name_w = min(max(len(n) for n, _, _ in extra), _NAME_CAP)
            type_w = max(len(t) for _, t, _ in extra)
            for name, label, value in extra:
                lines.append(f"{name:<{name_w}} | {label:<{type_w}} | {value}")
        lines.append("")
        return "\n".join(lines).encode("utf-8", ERRORS)

    return fmt_inspect
