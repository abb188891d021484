"""Control characters never reach a terminal raw (COMPAT D18).

Data may carry C0 controls, DEL and C1 controls (``ESC ] 0 ; … BEL`` retitles a terminal,
``ESC [ 2 J`` clears it, U+009B is a one-character CSI).  Wherever kelora writes text meant to be
read (the default, logfmt and inspect formats, csv/tsv on a terminal, every diagnostic and
summary line, ``print()`` on a terminal), such characters are written in the language's own
notation, ``\\u{1b}`` (lowercase hex, as Rhai and Rust's ``escape_debug`` write them).

Each entry point first runs one precompiled ``search`` and returns the text unchanged when it
finds nothing, so clean text (nearly all of it) costs one regex scan.
"""
from __future__ import annotations

import re

# Everything but TAB, LF and CR, which the formats escape themselves (\t \n \r) and which
# diagnostics use for their own layout (LF, TAB).
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# All C0 (TAB, LF and CR included), DEL and C1: for text that must stay on one line (keys).
ALL_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
# Diagnostics keep LF and TAB (their own layout) but not CR, which would let data overwrite
# the start of a line on a terminal.
DIAG_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _hex(m: re.Match) -> str:
    return f"\\u{{{ord(m.group()):x}}}"


def escape_controls(text: str, pattern: re.Pattern = CONTROLS) -> str:
    """*text* with every character *pattern* matches written as ``\\u{hex}``."""
    if pattern.search(text) is None:
        return text
    return pattern.sub(_hex, text)


def escape_line(text: str) -> str:
    """One-line text (keys, file names, raw input lines): every control escaped, TAB/LF/CR too."""
    if ALL_CONTROLS.search(text) is None:
        return text
    return ALL_CONTROLS.sub(_hex, text)


def escape_diag(text: str) -> str:
    """A diagnostic or summary block: controls escaped, its own LF/TAB kept."""
    if DIAG_CONTROLS.search(text) is None:
        return text
    return DIAG_CONTROLS.sub(_hex, text)


_JSON_C1 = re.compile("[\x7f-\x9f]")


def escape_json_text(text: str) -> str:
    """JSON text with DEL and C1 written as ``\\u009b`` (JSON escapes C0 itself): still valid JSON."""
    if _JSON_C1.search(text) is None:
        return text
    return _JSON_C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class EscapingStream:
    """A text stream (stderr) that escapes controls in everything written through ``write``.

    ``raw`` is the wrapped stream, for output that carries kelora's own terminal codes (rich
    tables and the progress bar, whose data is escaped before rendering)."""

    __slots__ = ("raw",)

    def __init__(self, raw):
        self.raw = raw

    def write(self, text: str) -> int:
        if DIAG_CONTROLS.search(text) is not None:
            text = DIAG_CONTROLS.sub(_hex, text)
        return self.raw.write(text)

    def __getattr__(self, name):  # flush, isatty, fileno, getvalue (tests), encoding...
        return getattr(self.raw, name)


def raw_stream(stream):
    """The stream under an :class:`EscapingStream` (or *stream* itself)."""
    return stream.raw if type(stream) is EscapingStream else stream
