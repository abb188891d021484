"""absorb_kv / absorb_json / absorb_regex: parse one field and merge the result into the map.

Called method-style on the event, ``e.absorb_kv("msg")``: the parsed keys are written into ``e``
(overwriting unless ``overwrite: false``) and the source field is removed unless
``keep_source: true`` (absorb_kv keeps the unparsed words in it instead).  The result map reports
what happened: ``#{status, data, written, remainder, removed_source, error}`` with status one of
applied, missing_field, not_string, empty, parse_error, invalid_option.  Invalid options are an
error only with --strict.
"""
from __future__ import annotations

import orjson

from kelora.builtins.rust_regex import compile_regex, regex_error, literal_pattern_hook
from kelora.builtins.registry import builtin
from kelora.errors import FunctionError

_NOTHING = object()


class _Opts:
    __slots__ = ("sep", "kv_sep", "keep_source", "overwrite")

    def __init__(self):
        self.sep: str | None = None  # None = runs of whitespace
        self.kv_sep = "="
        self.keep_source = False
        self.overwrite = True


def _options(opts: object) -> _Opts | str:
    """Parsed options, or the error text of an invalid one."""
    o = _Opts()
    if opts is _NOTHING or opts is None:
        return o
    for key, v in opts.items():  # type: ignore[union-attr]
        if key == "sep":
            if v is None:
                o.sep = None
            elif isinstance(v, str):
                if not v:
                    return "option 'sep' must not be empty"
                o.sep = str(v)
            else:
                return "option 'sep' must be a string or ()"
        elif key == "kv_sep":
            if not isinstance(v, str) or not v:
                return "option 'kv_sep' must be a non-empty string"
            o.kv_sep = str(v)
        elif key in ("keep_source", "overwrite"):
            if type(v) is not bool:
                return f"option '{key}' must be a bool"
            setattr(o, key, v)
        else:
            return f"unknown option '{key}'"
    return o


def _result(status: str, data: dict | None = None, written: bool = False, remainder=None,
            removed: bool = False, error: str | None = None) -> dict:
    return {"status": status, "data": data or {}, "written": written, "remainder": remainder,
            "removed_source": removed, "error": error}


def _finish(ctx, fn: str, result: dict) -> dict:
    if result["status"] == "invalid_option" and ctx.strict:
        raise FunctionError(f"{fn}: {result['error']}")
    return result


def _source(event: dict, field: str) -> str | dict:
    if field not in event:
        return _result("missing_field")
    v = event[field]
    if not isinstance(v, str):
        return _result("not_string")
    return str(v)


def _write(event: dict, data: dict, overwrite: bool) -> bool:
    existing = None if overwrite else set(event)
    wrote = False
    for k, v in data.items():
        if existing is not None and k in existing:
            continue
        event[k] = v
        wrote = True
    return wrote


def _drop_source(event: dict, field: str, opts: _Opts, result: dict) -> dict:
    if not opts.keep_source and event.pop(field, _NOTHING) is not _NOTHING:
        result["removed_source"] = True
    return result


@builtin("maps", pass_context=True, pure=False, mutates=True)
def absorb_kv(ctx, event: dict, field: str, opts: dict = _NOTHING) -> dict:  # type: ignore[assignment]
    """Parse key=value words of a field into the map; unparsed words stay in the field.

    Options: sep (default whitespace), kv_sep ("="), keep_source (false), overwrite (true).

    Examples:
        absorb_kv(#{msg: "user=alice id=7 login ok"}, "msg")  =>  #{"status": "applied", "data": #{"user": "alice", "id": "7"}, "written": true, "remainder": "login ok", "removed_source": false, "error": ()}
        absorb_kv(#{}, "msg").status  =>  "missing_field"
    """
    o = _options(opts)
    if isinstance(o, str):
        return _finish(ctx, "absorb_kv", _result("invalid_option", error=o))
    text = _source(event, field)
    if isinstance(text, dict):
        return text
    tokens = text.split() if o.sep is None else text.split(o.sep)
    if o.sep is not None:
        tokens = [t for t in tokens if t.strip()]
    pairs: dict = {}
    rest: list[str] = []
    for tok in tokens:
        key, found, val = tok.partition(o.kv_sep)
        key = key.strip()
        if not found or not key:
            rest.append(tok)
            continue
        pairs[key] = val.strip()
    remainder = ((" " if o.sep is None else o.sep).join(rest)) if rest else None
    result = _result("applied" if pairs else "empty", dict(pairs), remainder=remainder)
    if not pairs:
        if not o.keep_source and remainder is None and not tokens:
            _drop_source(event, field, o, result)
        return result
    result["written"] = _write(event, pairs, o.overwrite)
    if not o.keep_source:
        if remainder is not None:
            event[field] = remainder
        else:
            _drop_source(event, field, o, result)
    return result


@builtin("maps", pass_context=True, pure=False, mutates=True)
def absorb_json(ctx, event: dict, field: str, opts: dict = _NOTHING) -> dict:  # type: ignore[assignment]
    """Parse a field holding a JSON object and merge its keys into the map.

    Options: keep_source (false), overwrite (true).  Non-object JSON is a parse_error.

    Examples:
        absorb_json(#{p: "{\\"a\\": 1}"}, "p")  =>  #{"status": "applied", "data": #{"a": 1}, "written": true, "remainder": (), "removed_source": true, "error": ()}
        absorb_json(#{p: "[1]"}, "p").error  =>  "absorb_json expects a JSON object, got array"
    """
    o = _options(opts)
    if isinstance(o, str):
        return _finish(ctx, "absorb_json", _result("invalid_option", error=o))
    text = _source(event, field)
    if isinstance(text, dict):
        return text
    if not text.strip():
        return _drop_source(event, field, o, _result("empty"))
    try:
        parsed = orjson.loads(text.strip())
    except orjson.JSONDecodeError as err:
        from kelora.formats.inputs import json_error_message

        return _result("parse_error", error=json_error_message(err))
    if type(parsed) is not dict:
        kind = {list: "array", str: "string", int: "number", float: "number", bool: "bool"}.get(
            type(parsed), "null")
        return _result("parse_error", error=f"absorb_json expects a JSON object, got {kind}")
    result = _result("applied", dict(parsed))
    result["written"] = _write(event, parsed, o.overwrite)
    return _drop_source(event, field, o, result)


@builtin("maps", pass_context=True, pure=False, mutates=True)
def absorb_regex(ctx, event: dict, field: str, pattern: str, opts: dict = _NOTHING) -> dict:  # type: ignore[assignment]
    """Match a regex against a field and merge its named groups into the map.

    Options: keep_source (false), overwrite (true).  No match gives status "empty".

    Examples:
        absorb_regex(#{m: "GET /x 200"}, "m", "(?P<method>\\\\w+) (?P<path>\\\\S+)").data  =>  #{"method": "GET", "path": "/x"}
    """
    o = _options(opts)
    if isinstance(o, str):
        return _finish(ctx, "absorb_regex", _result("invalid_option", error=o))
    text = _source(event, field)
    if isinstance(text, dict):
        return text
    err = regex_error(pattern)
    if err is not None:
        return _result("parse_error", error=f"Invalid regex pattern: {err}")
    m = compile_regex(pattern).search(text)
    data = {k: v for k, v in m.groupdict().items() if v is not None} if m else {}
    if not data:
        return _drop_source(event, field, o, _result("empty"))
    result = _result("applied", dict(data))
    result["written"] = _write(event, data, o.overwrite)
    return _drop_source(event, field, o, result)


# literal patterns are compiled (and checked) when the script is compiled
absorb_regex.compile_literal = literal_pattern_hook(2)  # type: ignore[attr-defined]
