"""Encoding builtins: base64, hex, URL percent-encoding, HTML and JSON string escaping.

Decoders raise a runtime error on malformed input (the caller can ``try``/``catch``); decoded
bytes that are not UTF-8 are decoded lossily (U+FFFD), as Rust's ``String::from_utf8_lossy``.
"""
from __future__ import annotations

import base64
import binascii
import html
import re
import urllib.parse

import orjson

from kelora.builtins.limits import check_str, want_str
from kelora.builtins.registry import builtin
from kelora.errors import FunctionError
from kelora.safetext import utf8


@builtin("codecs")
def encode_b64(text: str) -> str:
    """Standard base64 (with = padding) of the UTF-8 bytes of text.

    Examples:
        encode_b64("hello")  =>  "aGVsbG8="
        encode_b64("")  =>  ""
    """
    raw = utf8(text)  # (lone surrogates: U+FFFD, kelora.safetext)
    want_str(4 * ((len(raw) + 2) // 3), "encode_b64")
    return base64.b64encode(raw).decode("ascii")


@builtin("codecs")
def decode_b64(text: str) -> str:
    """Decode base64 (standard or URL-safe alphabet, padding optional) to text.

    Examples:
        decode_b64("aGVsbG8=")  =>  "hello"
        decode_b64("aGVsbG8")  =>  "hello"
    """
    s = text.strip().replace("-", "+").replace("_", "/")
    s += "=" * (-len(s.rstrip("=")) % 4) if "=" not in s else ""
    try:
        return base64.b64decode(s, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        raise FunctionError(f"decode_b64(): invalid base64 input '{text}'") from None


@builtin("codecs")
def encode_hex(text: str) -> str:
    """Lower-case hex of the UTF-8 bytes of text.

    Examples:
        encode_hex("Hi")  =>  "4869"
    """
    raw = utf8(text)  # (lone surrogates: U+FFFD, kelora.safetext)
    want_str(2 * len(raw), "encode_hex")
    return raw.hex()


@builtin("codecs")
def decode_hex(text: str) -> str:
    """Decode hex digits (any case) to text.

    Examples:
        decode_hex("4869")  =>  "Hi"
    """
    try:
        return bytes.fromhex(text.strip()).decode("utf-8", "replace")
    except ValueError:
        raise FunctionError(f"decode_hex(): invalid hex input '{text}'") from None


@builtin("codecs")
def encode_url(text: str) -> str:
    """Percent-encode everything except ASCII letters, digits and - _ . ~ .

    Examples:
        encode_url("a b&c=d/é")  =>  "a%20b%26c%3Dd%2F%C3%A9"
    """
    return check_str(urllib.parse.quote(utf8(text), safe="-_.~"), "encode_url")


@builtin("codecs")
def decode_url(text: str) -> str:
    """Decode %XX escapes (and + as a space) to text.

    Examples:
        decode_url("a%20b+c%C3%A9")  =>  "a b cé"
    """
    return urllib.parse.unquote_plus(text, errors="replace")


@builtin("codecs")
def escape_html(text: str) -> str:
    """Escape & < > " ' as HTML entities.

    Examples:
        escape_html("<a href='x'>&</a>")  =>  "&lt;a href=&#x27;x&#x27;&gt;&amp;&lt;/a&gt;"
    """
    return check_str(html.escape(text, quote=True), "escape_html")


@builtin("codecs")
def unescape_html(text: str) -> str:
    """Replace HTML entities (named, &#NN; and &#xHH;) with their characters.

    Examples:
        unescape_html("&lt;b&gt; &amp; &#39;")  =>  "<b> & '"
    """
    return html.unescape(text)


@builtin("codecs")
def escape_json(text: str) -> str:
    """Escape text for use inside a JSON string (no surrounding quotes).

    Examples:
        escape_json("say \\"hi\\"\\n")  =>  "say \\\\\\"hi\\\\\\"\\\\n"
    """
    from kelora.builtins.serializers import json_str

    return check_str(json_str(text)[1:-1], "escape_json")


_BAD_ESCAPE = re.compile(r'(?<!\\)"')


@builtin("codecs")
def unescape_json(text: str) -> str:
    """Undo JSON string escapes (\\n, \\", \\uXXXX ...) in text without surrounding quotes.

    Examples:
        unescape_json("a\\\\nb")  =>  "a\\nb"
    """
    try:
        return orjson.loads('"' + _BAD_ESCAPE.sub('\\"', text) + '"')
    except orjson.JSONDecodeError:
        raise FunctionError(f"unescape_json(): invalid JSON escapes in '{text}'") from None
