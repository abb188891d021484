"""Shell words for config values: ``shlex`` rules plus bash's ``$'...'`` (ANSI-C) quoting.

Config values (``defaults``, ``[aliases]``) are one line each, so a word holding a newline (a
multi-line ``-e`` script saved with ``--save-alias``) cannot be written in plain quotes: the
newline would end the value and the rest would be read as new config lines.  ``quote`` writes
such words as ``$'...\\n...'``, which bash reads back as the same word (a saved alias can be
pasted into a shell), and ``split`` reads both forms.  Without ``$'`` the rules are exactly
``shlex.split(text, comments=False)`` (POSIX mode), so existing config files mean the same.
"""
from __future__ import annotations

import re

_SAFE = re.compile(r"[\w@%+=:,./-]+\Z", re.ASCII)
# Characters that must never be written raw into a one-line config value or a terminal line:
# C0, DEL, C1 and the Unicode line/paragraph separators (str.splitlines() breaks on them).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\x85]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\", "'": "\\'",
          "\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v", "\x1b": "\\E"}
_UNNAMED = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
            "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}
_WHITESPACE = " \t\r\n"


def quote(word: str) -> str:
    """One word, quoted so that ``split`` (and bash) read it back unchanged, on one line."""
    if not word:
        return "''"
    if _SAFE.match(word):
        return word
    if _CONTROL.search(word):
        out = []
        for ch in word:
            if ch in _NAMED:
                out.append(_NAMED[ch])
            elif _CONTROL.match(ch):
                out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x80 else f"\\u{ord(ch):04x}")
            else:
                out.append(ch)
        return "$'" + "".join(out) + "'"
    return "'" + word.replace("'", "'\"'\"'") + "'"


def join(words) -> str:
    return " ".join(quote(w) for w in words)


def split(text: str) -> list[str]:
    """Split like ``shlex.split(text)`` (POSIX), also reading ``$'...'`` words.  ValueError on an
    unterminated quote or a trailing backslash (shlex's messages)."""
    words: list[str] = []
    word: list[str] = []
    in_word = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _WHITESPACE:
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            i += 1
        elif ch == "\\":
            if i + 1 >= n:
                raise ValueError("No escaped character")
            word.append(text[i + 1])
            in_word = True
            i += 2
        elif ch == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise ValueError("No closing quotation")
            word.append(text[i + 1:end])
            in_word = True
            i = end + 1
        elif ch == '"':
            i += 1
            while True:
                if i >= n:
                    raise ValueError("No closing quotation")
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n and text[i + 1] in '"\\':
                    word.append(text[i + 1])
                    i += 2
                    continue
                word.append(c)
                i += 1
            in_word = True
        elif ch == "$" and i + 1 < n and text[i + 1] == "'":
            i = _ansi_c(text, i + 2, word)
            in_word = True
        else:
            word.append(ch)
            in_word = True
            i += 1
    if in_word:
        words.append("".join(word))
    return words


def _ansi_c(text: str, i: int, word: list[str]) -> int:
    """Read the body of ``$'...'`` from ``i``; returns the index after the closing quote."""
    n = len(text)
    while True:
        if i >= n:
            raise ValueError("No closing quotation")
        c = text[i]
        if c == "'":
            return i + 1
        if c != "\\" or i + 1 >= n:
            word.append(c)
            i += 1
            continue
        e = text[i + 1]
        if e in _UNNAMED:
            word.append(_UNNAMED[e])
            i += 2
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            j = i + 2
            while j < n and j < i + 2 + width and text[j] in "0123456789abcdefABCDEF":
                j += 1
            if j == i + 2:  # no digits: bash keeps the text
                word.append(text[i:i + 2])
            else:
                word.append(chr(min(int(text[i + 2:j], 16), 0x10FFFF)))
            i = j
        elif e in "01234567":
            j = i + 1
            while j < n and j < i + 4 and text[j] in "01234567":
                j += 1
            word.append(chr(int(text[i + 1:j], 8) & 0xFF))
            i = j
        else:
            word.append(text[i:i + 2])
            i += 2
