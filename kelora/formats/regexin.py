"""``-f 'regex:PATTERN'``: the named groups of a regular expression are the event's fields.

As Kelora's regex parser does:

* the pattern is anchored as ``^PATTERN$`` (no group is added: a top-level ``a|b`` is ``^a`` or
  ``b$``, as in Kelora) and written in Rust's regex syntax (``builtins.rust_regex`` translates it);
* a group named ``name:int`` / ``name:float`` / ``name:bool`` converts its text (exact lowercase
  type names); a text that does not convert is ``()`` (null), a parse error with ``--strict``;
* a group that matched nothing, or an empty text, adds no field;
* a line that does not match is a parse error (counted, the run goes on; fatal with --strict);
* names are letters, digits and ``_``; ``original_line``, ``parsed_ts`` and ``fields`` are
  reserved; a named group inside another is refused.  A bad pattern is a usage error (exit 2).

The message for a line that does not match names the pattern but not the line (Kelora's adds
the line): error samples are printed on stderr, and a line is data that may identify someone.

Python's ``re`` backtracks: a pattern with nested quantifiers can take long on a hostile line,
as with the regex builtins (docs/reliability.md); Ctrl-C and SIGTERM still stop it.
"""
from __future__ import annotations

from kelora.builtins.rust_regex import compile_regex
from kelora.errors import FunctionError, InputError, UsageError

from .inputs import Parser
from .scalars import CONVERTERS

_TYPES = ("int", "float", "bool")
_RESERVED = ("original_line", "parsed_ts", "fields")


def make_regex(name: str, rest: str, strict: bool, cols_sep: str | None = None) -> "RegexParser":
    """The registry's factory for ``regex:<pattern>``."""
    return RegexParser(rest, strict=strict)


def _spec_error(message: str) -> UsageError:
    return UsageError(f"Invalid regex input format: {message}",
                      hint="name fields with (?P<name>...), typed as (?P<name:int>...), :float or :bool")


def split_annotations(pattern: str) -> tuple[str, dict[str, str]]:
    """``(?P<code:int>\\d+)`` -> (``(?P<code>\\d+)``, {"code": "int"}), checking each name."""
    out: list[str] = []
    types: dict[str, str] = {}
    i, n = 0, len(pattern)
    depth = 0  # open groups inside the named group we are in (0: in none)
    while i < n:
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        opener = next((p for p in ("(?P<", "(?<") if pattern.startswith(p, i)), None)
        if opener is not None and pattern[i + len(opener):i + len(opener) + 1] not in ("=", "!"):
            if depth:
                raise _spec_error("Nested named capture groups are not supported")
            end = pattern.find(">", i + len(opener))
            if end < 0:
                raise _spec_error("Unclosed named capture group in pattern")
            label = pattern[i + len(opener):end]
            field, colon, kind = label.partition(":")
            if not field:
                raise _spec_error(f"Empty field name in capture group: (?P<{label}>)")
            if not all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in field):
                raise _spec_error(f"Invalid field name '{field}': must contain only alphanumeric "
                                  "characters and underscores")
            if field in _RESERVED:
                raise _spec_error(f"Field name '{field}' is reserved and cannot be used")
            if colon:
                if not kind:
                    raise _spec_error(f"Empty type annotation in capture group: (?P<{field}:>)")
                if kind not in _TYPES:
                    raise _spec_error(f"Unknown type annotation '{kind}' in field '{field}'. "
                                      "Supported types: int, float, bool")
                types[field] = kind
            out.append(f"(?P<{field}>")
            depth = 1
            i = end + 1
            continue
        if c == "[":  # a class: its parentheses are not groups
            j = i + 1
            if pattern[j:j + 1] == "^":
                j += 1
            if pattern[j:j + 1] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            out.append(pattern[i:j + 1])
            i = j + 1
            continue
        if depth:
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
        out.append(c)
        i += 1
    return "".join(out), types


class RegexParser(Parser):
    format_name = "regex"

    def __init__(self, pattern: str, strict: bool = False):
        if not pattern:
            raise _spec_error("the pattern is empty (use -f 'regex:PATTERN')")
        clean, self.types = split_annotations(pattern)
        self.shown = f"^{clean}$"  # (Kelora's message shows the anchored pattern)
        try:
            self.regex = compile_regex(self.shown)
        except FunctionError as exc:
            raise _spec_error(str(exc)) from None
        if not self.regex.groupindex:
            raise _spec_error("the pattern has no named group (?P<name>...): no field would be set")
        self.strict = strict

    def parse(self, line):
        m = self.regex.search(line)
        if m is None:
            raise InputError(f"Line does not match regex pattern '{self.shown}'")
        event: dict = {}
        types = self.types
        for name, value in m.groupdict().items():
            if not value:  # (no match, or an empty text: no field, as in Kelora)
                continue
            kind = types.get(name)
            if kind is not None:
                converted = CONVERTERS[kind](value)
                if converted is None and self.strict:
                    raise InputError(f"Type conversion error for field '{name}' (value: '{value}'): "
                                     f"Cannot convert '{value}' to {kind}")
                value = converted
            event[name] = value
        return event
