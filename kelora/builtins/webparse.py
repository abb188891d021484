"""Parsers for web-ish strings: parse_url, parse_query_params, parse_path, parse_media_type,
parse_content_disposition, parse_jwt.

Key names and presence rules are Kelora's (``user``/``pass``, ``port`` as a string, ``query_map``,
``signature_b64u``...), so scripts move over unchanged.  Input that cannot be parsed gives ``#{}``.
"""
from __future__ import annotations

import base64
import binascii
import re
import urllib.parse

import orjson

from kelora.builtins.registry import builtin

_MAX_LEN = 1 << 20  # Kelora refuses to parse pathological inputs beyond this
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _query_map(query: str) -> dict:
    """form-urlencoded pairs (``+`` is a space); the first occurrence of a key wins."""
    out: dict = {}
    for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
        out.setdefault(k, v)
    return out


def _path_only(text: str) -> dict:
    pre, _, fragment = text.partition("#")
    path, _, query = pre.partition("?")
    out: dict = {"path": path}
    if query:
        out["query"] = query
        qmap = _query_map(query)
        if qmap:
            out["query_map"] = qmap
    if fragment:
        out["fragment"] = fragment
    return out


@builtin("parsing", unit_on_failure=True)
def parse_url(url: str) -> dict:
    """Split a URL into scheme, user, pass, host, port, path, query, query_map, fragment.

    Parts appear only when present; port is a string and left out when it is the scheme's
    default; "//host/x" has no scheme; a bare path ("/x?a=1") gives path/query/fragment only.

    Examples:
        parse_url("https://Api.Example.com:8443/v1/users?id=7#top")  =>  #{"scheme": "https", "host": "api.example.com", "port": "8443", "path": "/v1/users", "query": "id=7", "query_map": #{"id": "7"}, "fragment": "top"}
        parse_url("/search?q=a+b")  =>  #{"path": "/search", "query": "q=a+b", "query_map": #{"q": "a b"}}
        parse_url("not a url")  =>  #{}
    """
    text = url.strip()
    if not text or len(text) > _MAX_LEN:
        return {}
    if "://" in text:
        has_scheme = True
    elif text.startswith("//"):
        text, has_scheme = "http:" + text, False
    elif text.startswith("/") or "?" in text:
        return _path_only(text)
    else:
        return {}
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError:
        return {}
    host = parts.hostname
    if not parts.scheme or not host or any(c in host for c in " <>\\^`{|}"):
        return {}
    scheme = parts.scheme.lower()
    out: dict = {}
    if has_scheme:
        out["scheme"] = scheme
    if parts.username:
        out["user"] = parts.username
    if parts.password:
        out["pass"] = parts.password
    out["host"] = f"[{host}]" if ":" in host else host.lower()
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        out["port"] = str(port)
    path = parts.path or ("/" if scheme in _DEFAULT_PORTS or scheme == "file" else "")
    if path:
        out["path"] = path
    if parts.query:
        out["query"] = parts.query
        qmap = _query_map(parts.query)
        if qmap:
            out["query_map"] = qmap
    if parts.fragment:
        out["fragment"] = parts.fragment
    return out


@builtin("parsing")
def parse_query_params(query: str) -> dict:
    """Decode "a=1&b=x%20y" into a map of strings (a leading "?", or a whole URL, is fine).

    Keys without "=" get ""; + decodes to a space; the first occurrence of a key wins.

    Examples:
        parse_query_params("?a=1&b=x%20y&flag&a=2")  =>  #{"a": "1", "b": "x y", "flag": ""}
        parse_query_params("https://h/p?q=term+two")  =>  #{"q": "term two"}
    """
    text = query.strip()
    if not text or len(text) > _MAX_LEN:
        return {}
    if "?" in text:
        text = text.split("?", 1)[1]
    return _query_map(text)


def _components(path: str) -> list[str]:
    """Rust ``Path::components``: root first, empty and interior "." parts dropped."""
    out = ["/"] if path.startswith("/") else []
    for i, part in enumerate(path.split("/")):
        if not part or (part == "." and (i > 0 or out)):
            continue
        out.append(part)
    return out


@builtin("parsing")
def parse_path(path: str) -> dict:
    """Split a file path: input, is_absolute, is_relative, has_root, parent, file_name, stem,
    extension, components, root (keys only when they apply, as Rust's Path).

    Examples:
        parse_path("/var/log/app.log.gz")  =>  #{"input": "/var/log/app.log.gz", "is_absolute": true, "is_relative": false, "has_root": true, "parent": "/var/log", "file_name": "app.log.gz", "stem": "app.log", "extension": "gz", "components": ["/", "var", "log", "app.log.gz"], "root": "/"}
        parse_path("")  =>  #{}
    """
    text = path.strip()
    if not text or len(text) > _MAX_LEN:
        return {}
    rooted = text.startswith("/")
    comps = _components(text)
    out: dict = {"input": text, "is_absolute": rooted, "is_relative": not rooted, "has_root": rooted}
    if comps and comps[-1] != "/":
        rest = comps[:-1]
        parent = ("/" + "/".join(rest[1:])) if rest[:1] == ["/"] else "/".join(rest)
        if parent:
            out["parent"] = parent
    last = comps[-1] if comps else ""
    if last not in ("", "/", ".", ".."):
        out["file_name"] = last
        stem, dot, ext = last.rpartition(".")
        if dot and stem:
            out["stem"], out["extension"] = stem, ext
        else:
            out["stem"] = last
    if comps:
        out["components"] = comps
    if rooted:
        out["root"] = "/"
    return out


def _split_params(text: str) -> list[str]:
    """Split ``a=1; b="x;y"`` on semicolons outside double quotes."""
    parts, buf, quoted, escaped = [], [], False, False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            parts.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    parts.append("".join(buf))
    return [p for p in (x.strip() for x in parts) if p]


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw


@builtin("parsing")
def parse_media_type(text: str) -> dict:
    """Parse a Content-Type: type, subtype (lower-cased), tree, suffix and a params map.

    Examples:
        parse_media_type("Text/HTML; charset=\\"UTF-8\\"")  =>  #{"type": "text", "subtype": "html", "params": #{"charset": "UTF-8"}}
        parse_media_type("application/vnd.api+json")  =>  #{"type": "application", "subtype": "vnd.api+json", "tree": "vnd", "suffix": "json", "params": #{}}
        parse_media_type("nonsense")  =>  #{}
    """
    t = text.strip()
    if not t or len(t) > _MAX_LEN or "," in t:
        return {}
    head, _, rest = t.partition(";")
    typ, _, sub = head.strip().partition("/")
    typ, sub = typ.strip(), sub.strip()
    if not _TOKEN.fullmatch(typ) or not _TOKEN.fullmatch(sub):
        return {}
    typ, sub = typ.lower(), sub.lower()
    out: dict = {"type": typ, "subtype": sub}
    dot = sub.find(".")
    if dot > 0:
        out["tree"] = sub[:dot]
    plus = sub.rfind("+")
    if 0 <= plus < len(sub) - 1 and _TOKEN.fullmatch(sub[plus + 1 :]):
        out["suffix"] = sub[plus + 1 :]
    params: dict = {}
    for item in _split_params(rest):
        key, _, raw = item.partition("=")
        key = key.strip()
        if not key or not _TOKEN.fullmatch(key):
            continue
        params.setdefault(key.lower(), _unquote(raw.strip()))
    out["params"] = params
    return out


def _rfc5987(raw: str) -> str | None:
    """``UTF-8''n%C3%A4me.txt`` -> ``näme.txt`` (None when not decodable)."""
    pos = raw.find("''")
    if pos < 0:
        return None
    try:
        return urllib.parse.unquote_to_bytes(raw[pos + 2 :]).decode("utf-8")
    except UnicodeDecodeError:
        return None


@builtin("parsing")
def parse_content_disposition(text: str) -> dict:
    """Parse a Content-Disposition header: disposition, params, and filename (filename* wins).

    Examples:
        parse_content_disposition("attachment; filename=\\"a b.txt\\"")  =>  #{"disposition": "attachment", "params": #{"filename": "a b.txt"}, "filename": "a b.txt"}
        parse_content_disposition("")  =>  #{}
    """
    t = text.strip()
    if not t or len(t) > _MAX_LEN:
        return {}
    head, _, rest = t.partition(";")
    disposition = head.strip()
    if not _TOKEN.fullmatch(disposition):
        return {}
    params: dict = {}
    plain = star = None
    for item in _split_params(rest):
        key, _, raw = item.partition("=")
        key = key.strip().lower()
        raw = raw.strip()
        if not key or key in params:
            continue
        params[key] = _unquote(raw)
        if key == "filename" and plain is None:
            plain = params[key]
        elif key == "filename*" and star is None:
            star = _rfc5987(raw)
    out: dict = {"disposition": disposition.lower(), "params": params}
    name = star if star is not None else plain
    if name:
        out["filename"] = name
    return out


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


def _segment_map(segment: str) -> dict:
    try:
        raw = base64.urlsafe_b64decode(segment.rstrip("=") + "=" * (-len(segment.rstrip("=")) % 4))
        value = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return {}
    return value if type(value) is dict else {}


@builtin("parsing")
def parse_jwt(token: str) -> dict:
    """Decode a JWT's header and claims WITHOUT verifying the signature.

    Returns #{header, claims, signature_b64u} plus alg, kid and typ when the header has them;
    a "Bearer " prefix is ignored; a token that is not two or three base64url parts gives #{}.

    Examples:
        parse_jwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln")  =>  #{"header": #{"alg": "HS256"}, "claims": #{"sub": "alice"}, "signature_b64u": "c2ln", "alg": "HS256"}
        parse_jwt("not-a-jwt")  =>  #{}
    """
    tok = token.strip()
    if tok[:7].lower() == "bearer ":
        tok = tok[7:].strip()
    if not tok or len(tok) > _MAX_LEN:
        return {}
    parts = tok.split(".")
    if not 2 <= len(parts) <= 3 or not parts[0] or not parts[1]:
        return {}
    if not set(parts[0]) <= _B64URL or not set(parts[1]) <= _B64URL:
        return {}
    header = _segment_map(parts[0])
    out: dict = {"header": header, "claims": _segment_map(parts[1]),
                 "signature_b64u": parts[2] if len(parts) == 3 else ""}
    for key in ("alg", "kid", "typ"):
        if isinstance(header.get(key), str):
            out[key] = header[key]
    return out
