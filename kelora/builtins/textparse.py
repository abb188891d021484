"""Structured-text parsers for scripts: JSON, key=value, logfmt, URLs, paths, JWTs, user agents.

Except parse_json (an error on invalid input, as Rhai's), parsers return an empty map ``#{}``
for input they cannot make sense of, so ``.field`` reads ``()``.
"""
from __future__ import annotations

import base64
import binascii
import json
import posixpath
import re
import urllib.parse

import orjson

from kelora.builtins.registry import builtin
from kelora.errors import FunctionError
from kelora.formats.combined import parse_combined as _combined
from kelora.formats.syslog import parse_syslog as _syslog

_NOTHING = object()


@builtin("parsing")
def parse_json(text: str) -> object:
    """Parse JSON text into a map, array, string, number, bool or () (null).

    Invalid JSON is a runtime error.

    Examples:
        parse_json("{\\"a\\": [1, 2.5, null]}")  =>  {"a": [1, 2.5, null]}
        parse_json("42")  =>  42
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as err:
        raise FunctionError(f"parse_json(): invalid JSON: {err}") from None


@builtin("parsing")
def parse_kv(text: str, sep: str = _NOTHING, kv_sep: str = "=") -> dict:  # type: ignore[assignment]
    """Parse "k1=v1 k2=v2" pairs; sep (default whitespace) splits pairs, kv_sep key from value.

    Parts without kv_sep are skipped; values stay strings; the last duplicate wins.

    Examples:
        parse_kv("user=alice status=200")  =>  {"user": "alice", "status": "200"}
        parse_kv("a:1;b:2", ";", ":")  =>  {"a": "1", "b": "2"}
        parse_kv("novalue x=1")  =>  {"x": "1"}
    """
    parts = text.split() if sep is _NOTHING or sep == "" else text.split(sep)
    out: dict = {}
    for part in parts:
        if not kv_sep or kv_sep not in part:
            continue
        k, _, v = part.partition(kv_sep)
        k = k.strip()
        if k:
            out[k] = v.strip() if sep is not _NOTHING else v
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
        parse_logfmt("level=info msg=\\"disk full\\" code=7")  =>  {"level": "info", "msg": "disk full", "code": "7"}
    """
    return logfmt_pairs(text)


# --------------------------------------------------------------------------- URLs and paths

_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}


@builtin("parsing")
def parse_url(url: str) -> dict:
    """Split an absolute URL into scheme, user, password, host, port, path, query, fragment.

    Keys are present only when the part is; port is an int; scheme and host are lower-cased.
    A URL without scheme and host gives #{}.

    Examples:
        parse_url("https://Api.Example.com:8443/v1/users?id=7#top")  =>  {"scheme": "https", "host": "api.example.com", "port": 8443, "path": "/v1/users", "query": "id=7", "fragment": "top"}
        parse_url("not a url")  =>  {}
    """
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return {}
    if not parts.scheme or not parts.netloc or not parts.hostname:
        return {}
    out: dict = {"scheme": parts.scheme.lower()}
    if parts.username:
        out["user"] = urllib.parse.unquote(parts.username)
    if parts.password is not None:
        out["password"] = urllib.parse.unquote(parts.password)
    out["host"] = parts.hostname.lower()
    if port is not None:
        out["port"] = port
    out["path"] = parts.path or ("/" if parts.scheme.lower() in _DEFAULT_PORTS else "")
    if parts.query:
        out["query"] = parts.query
    if parts.fragment:
        out["fragment"] = parts.fragment
    return out


@builtin("parsing")
def parse_query_params(query: str) -> dict:
    """Decode "a=1&b=x%20y" (a leading "?" or a whole URL is fine) into a map of strings.

    Keys without "=" get ""; + decodes to a space; the last duplicate wins.

    Examples:
        parse_query_params("?a=1&b=x%20y&flag")  =>  {"a": "1", "b": "x y", "flag": ""}
        parse_query_params("https://h/p?q=term+two")  =>  {"q": "term two"}
    """
    if "?" in query:
        query = query.split("?", 1)[1]
    query = query.split("#", 1)[0]
    out: dict = {}
    for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
        out[k] = v
    return out


@builtin("parsing")
def parse_path(path: str) -> dict:
    """Split a file path: is_absolute, parent, file_name, stem, extension, components.

    Examples:
        parse_path("/var/log/app.log.gz")  =>  {"is_absolute": true, "parent": "/var/log", "file_name": "app.log.gz", "stem": "app.log", "extension": "gz", "components": ["/", "var", "log", "app.log.gz"]}
        parse_path("")  =>  {}
    """
    if not path:
        return {}
    norm = path.rstrip("/") or "/"
    name = posixpath.basename(norm) if norm != "/" else ""
    parent = posixpath.dirname(norm) if norm != "/" else ""
    out: dict = {"is_absolute": path.startswith("/"), "parent": parent, "file_name": name}
    stem, dot, ext = name.rpartition(".")
    if dot and stem:
        out["stem"], out["extension"] = stem, ext
    else:
        out["stem"] = name
    comps = [c for c in norm.split("/") if c and c != "."]
    out["components"] = (["/"] if path.startswith("/") else []) + comps
    return out


_MEDIA_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _params(items: list[str]) -> dict:
    out: dict = {}
    for item in items:
        k, eq, v = item.strip().partition("=")
        k = k.strip().lower()
        if not k or not eq:
            continue
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] == '"':
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        out[k] = v
    return out


@builtin("parsing")
def parse_media_type(text: str) -> dict:
    """Parse a Content-Type: type, subtype (lower-cased), optional suffix, params map.

    Examples:
        parse_media_type("Text/HTML; charset=\\"UTF-8\\"")  =>  {"type": "text", "subtype": "html", "params": {"charset": "UTF-8"}}
        parse_media_type("application/vnd.api+json")  =>  {"type": "application", "subtype": "vnd.api+json", "suffix": "json", "params": {}}
        parse_media_type("nonsense")  =>  {}
    """
    head, *rest = text.split(";")
    typ, slash, sub = head.strip().partition("/")
    if not slash or not _MEDIA_TOKEN.match(typ) or not _MEDIA_TOKEN.match(sub):
        return {}
    out: dict = {"type": typ.lower(), "subtype": sub.lower()}
    if "+" in sub:
        out["suffix"] = sub.rsplit("+", 1)[1].lower()
    out["params"] = _params(rest)
    return out


@builtin("parsing")
def parse_content_disposition(text: str) -> dict:
    """Parse a Content-Disposition header: type (lower-cased) and params (filename...).

    Examples:
        parse_content_disposition("attachment; filename=\\"a b.txt\\"")  =>  {"type": "attachment", "params": {"filename": "a b.txt"}}
    """
    head, *rest = text.split(";")
    typ = head.strip().lower()
    if not typ or not _MEDIA_TOKEN.match(typ):
        return {}
    return {"type": typ, "params": _params(rest)}


# --------------------------------------------------------------------------- JWT

def _b64url_json(part: str) -> object:
    raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    return orjson.loads(raw)


@builtin("parsing")
def parse_jwt(token: str) -> dict:
    """Decode a JWT's header and claims WITHOUT verifying the signature.

    Returns #{header, claims, signature}; anything that is not header.claims.signature with
    base64url JSON objects gives #{}.

    Examples:
        parse_jwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln")  =>  {"header": {"alg": "HS256"}, "claims": {"sub": "alice"}, "signature": "c2ln"}
        parse_jwt("not.a.jwt")  =>  {}
    """
    tok = token.strip()
    if tok.lower().startswith("bearer "):
        tok = tok[7:].strip()
    parts = tok.split(".")
    if len(parts) != 3:
        return {}
    try:
        header = _b64url_json(parts[0])
        claims = _b64url_json(parts[1])
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return {}
    if type(header) is not dict or type(claims) is not dict:
        return {}
    return {"header": header, "claims": claims, "signature": parts[2]}


# --------------------------------------------------------------------------- log lines

@builtin("parsing")
def parse_syslog(line: str) -> dict:
    """Parse an RFC 5424 or RFC 3164 syslog line (the fields -f syslog gives); else #{}.

    Examples:
        parse_syslog("<34>Oct 11 22:14:15 host su[42]: failed").prog  =>  "su"
        parse_syslog("nope")  =>  {}
    """
    return _syslog(line) or {}


@builtin("parsing")
def parse_combined(line: str) -> dict:
    """Parse an Apache/Nginx common or combined access-log line (as -f combined); else #{}.

    Examples:
        parse_combined("1.2.3.4 - - [15/Jan/2024:10:00:00 +0000] \\"GET /x HTTP/1.1\\" 200 512").status  =>  200
        parse_combined("nope")  =>  {}
    """
    return _combined(line) or {}


_DECODER = json.JSONDecoder()


def _embedded_json(text: str) -> list:
    """Every JSON object/array embedded in text, left to right, not overlapping."""
    out = []
    i = 0
    n = len(text)
    while i < n:
        j = min((p for p in (text.find("{", i), text.find("[", i)) if p != -1), default=-1)
        if j == -1:
            break
        try:
            value, end = _DECODER.raw_decode(text, j)
        except ValueError:
            i = j + 1
            continue
        out.append(value)
        i = end
    return out


@builtin("parsing")
def extract_json(text: str, nth: int = 1) -> object:
    """The nth JSON object or array embedded in text (parsed); "" when there is none.

    nth counts from 1; negative counts from the end.

    Examples:
        extract_json("payload={\\"id\\": 7} tail")  =>  {"id": 7}
        extract_json("a [1] b [2]", -1)  =>  [2]
        extract_json("no json here")  =>  ""
    """
    found = _embedded_json(text)
    if nth == 0 or not found or abs(nth) > len(found):
        return ""
    return found[nth - 1] if nth > 0 else found[nth]
