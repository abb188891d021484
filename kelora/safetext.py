"""Text on its way out: every output, metric, message and file name is valid UTF-8.

Python strings can hold what UTF-8 cannot encode: unpaired surrogates (``to_char(55296)``, a
``\\u{D800}`` escape) and the bytes of a non-UTF-8 file name, environment value or argument
(decoded by Python as ``surrogateescape``, U+DC80..U+DCFF).  Scripts keep such strings as they
are (a file name still opens the file); where text leaves kelora, each unencodable code point
becomes U+FFFD, and a high surrogate followed by a low one becomes the character they spell
(docs/compat.md).  The writers pass the ``ERRORS`` handler to ``str.encode``: it runs only on
such text, so ordinary output pays nothing.
"""
from __future__ import annotations

import codecs

ERRORS = "kelora.fffd"


def _replace(exc: UnicodeError):
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    s, i, end = exc.object, exc.start, exc.end
    out = []
    while i < end:
        c = ord(s[i])
        if 0xD800 <= c <= 0xDBFF and i + 1 < end and 0xDC00 <= ord(s[i + 1]) <= 0xDFFF:
            out.append(chr(0x10000 + ((c - 0xD800) << 10) + (ord(s[i + 1]) - 0xDC00)))
            i += 2
        else:
            out.append("\ufffd")
            i += 1
    return "".join(out).encode("utf-8"), end  # (bytes: the UTF-8 encoder takes only ASCII str back)


codecs.register_error(ERRORS, _replace)


def utf8(text: str) -> bytes:
    """``text`` as UTF-8 bytes, never failing (see the module docstring)."""
    return text.encode("utf-8", ERRORS)


def clean(text: str) -> str:
    """``text`` with every unencodable code point replaced (see the module docstring)."""
    if text.isascii():
        return text
    return text.encode("utf-8", ERRORS).decode("utf-8")


def clean_key(key):
    """A map key for a JSON writer: a plain ``str`` (orjson refuses str subclasses such as a
    ``to_char`` result as keys), ``clean``ed; other keys as they are."""
    if isinstance(key, str):
        return clean(key if type(key) is str else str(key))
    return key


def clean_value(value):
    """A copy of a value (maps, arrays, strings, keys) with every string ``clean``ed; other
    values as they are.  For the slow paths of JSON writers that refused a string."""
    t = type(value)
    if isinstance(value, str):
        return clean(value)
    if t is dict:
        return {clean_key(k): clean_value(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [clean_value(v) for v in value]
    return value


def lines(text: str) -> list[str]:
    """*text* split as Rust's ``str::lines`` splits it: at "\\n", a "\\r" before it dropped, no
    empty last line after a final "\\n".  Never ``str.splitlines()`` for a file kelora reads
    line by line: that also breaks at U+2028, U+2029, U+0085 and \\x0b-\\x1e, so a value holding
    one (a folder name in the trust list, a script in a config file) would become two lines."""
    if not text:
        return []
    parts = text.split("\n")
    last = parts.pop()  # the text after the last "\n" ("" when it ends with one)
    out = [p[:-1] if p.endswith("\r") else p for p in parts]
    if last:
        out.append(last)
    return out


def escape_undecodable(text: str) -> str:
    """A file name or other OS text for a message: the bytes that were not UTF-8 (decoded by
    Python as U+DC80..U+DCFF) shown as ``\\xff``, any other lone surrogate as ``\\u{d800}``,
    so the text can be written and still says which bytes the name holds."""
    if text.isascii() or not any("\ud800" <= c <= "\udfff" for c in text):
        return text
    out = []
    for c in text:
        o = ord(c)
        if 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append(f"\\u{{{o:x}}}")
        else:
            out.append(c)
    return "".join(out)
