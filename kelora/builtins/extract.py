"""Text extraction builtins: e-mails, IPs, URLs, domains, regex captures, and ``parse_email``.

The regexes are Kelora's (reference §2.2), compiled once at import.  ``nth`` is 1-based; negative
counts from the end; 0 or out of range gives ``""``.
"""
from __future__ import annotations

import re

from kelora.builtins.limits import MAX_STR, want_str
from kelora.builtins.registry import builtin

from kelora.builtins.rust_regex import finditer_resuming

try:  # shared Rust-regex translation + cache, when present
    from kelora.builtins.rust_regex import compile_or_warn as _compile_or_warn, literal_pattern_hook
except ImportError:  # pragma: no cover
    _compile_or_warn = None
    _LOCAL: dict[str, re.Pattern | str] = {}

# Linear-time forms of Kelora's patterns.  Python's ``re`` backtracks: `[a-z0-9._%+-]+@`, tried
# from every position of a long run without '@' ('a.' * 500_000), is quadratic.  These start
# only where a run starts (look-behind for the run's own class), scan it once (possessive
# `*+`/`++`) and capture exactly what Kelora's `\b[a-zA-Z0-9._%+-]+@...` matches: from the run's
# first word boundary (group 1; the atomic lazy group commits to it).
EMAIL_RE = re.compile(
    r"(?<![a-zA-Z0-9._%+-])(?>[a-zA-Z0-9._%+-]*?\b)([a-zA-Z0-9._%+-]++@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}\b)"
)
_EMAIL_AT = re.compile(r"\b[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}\b")  # Kelora's, anchored
IPV4_RE = re.compile(
    r"\b(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\b"
)
URL_RE = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;!?]")
URL_HOST_RE = re.compile(r"https?://([^/\s<>\"]+)")
EMAIL_DOMAIN_RE = re.compile(r"(?<![a-zA-Z0-9._%+-])[a-zA-Z0-9._%+-]++@([a-zA-Z0-9.-]+\.[a-zA-Z]{2,})")


def _nth(matches: list[str], nth: int) -> str:
    n = len(matches)
    if nth > 0:
        return matches[nth - 1] if nth <= n else ""
    if nth < 0:
        return matches[n + nth] if -nth <= n else ""
    return ""


def _emails(text: str) -> list[str]:
    return [m.group(1) if m.re is EMAIL_RE else m.group(0)
            for m in finditer_resuming(EMAIL_RE, _EMAIL_AT, text)]


def _first_or_nth(regex: re.Pattern, text: str, nth: int) -> str:
    if nth == 1:
        m = regex.search(text)
        return m.group(0) if m else ""
    return _nth(regex.findall(text), nth)


@builtin("extract")
def extract_email(text: str, nth: int = 1) -> str:
    """The first (or *nth*; negative from the end) e-mail address in *text*, else "".

    Examples:
        extract_email("from ann@example.com to bob@example.org")  =>  "ann@example.com"
        extract_email("from ann@example.com to bob@example.org", 2)  =>  "bob@example.org"
        extract_email("from ann@example.com to bob@example.org", -1)  =>  "bob@example.org"
        extract_email("from ann@example.com", 0)  =>  ""
        extract_email("no address here")  =>  ""
    """
    if nth == 1:
        m = EMAIL_RE.search(text)
        return m.group(1) if m else ""
    return _nth(_emails(text), nth)


@builtin("extract")
def extract_emails(text: str) -> list:
    """Every e-mail address in *text*, in order.

    Examples:
        extract_emails("ann@example.com, bob@example.org")  =>  ["ann@example.com", "bob@example.org"]
        extract_emails("none")  =>  []
    """
    return _emails(text)


@builtin("extract")
def extract_ip(text: str, nth: int = 1) -> str:
    """The first (or *nth*; negative from the end) IPv4 address in *text*, else "".

    Examples:
        extract_ip("client 10.0.0.1 via 192.168.1.1")  =>  "10.0.0.1"
        extract_ip("client 10.0.0.1 via 192.168.1.1", -1)  =>  "192.168.1.1"
        extract_ip("client 10.0.0.1", 3)  =>  ""
    """
    return _first_or_nth(IPV4_RE, text, nth)


@builtin("extract")
def extract_ips(text: str) -> list:
    """Every IPv4 address in *text*, in order.

    Examples:
        extract_ips("10.0.0.1 -> 10.0.0.2")  =>  ["10.0.0.1", "10.0.0.2"]
    """
    return IPV4_RE.findall(text)


@builtin("extract")
def extract_url(text: str, nth: int = 1) -> str:
    """The first (or *nth*) http(s) URL in *text*, without trailing punctuation, else "".

    Examples:
        extract_url("see https://example.com/a?b=1.")  =>  "https://example.com/a?b=1"
        extract_url("no link")  =>  ""
    """
    return _first_or_nth(URL_RE, text, nth)


@builtin("extract")
def extract_urls(text: str) -> list:
    """Every http(s) URL in *text*, in order.

    Examples:
        extract_urls("http://a.com and https://b.org/x")  =>  ["http://a.com", "https://b.org/x"]
    """
    return URL_RE.findall(text)


@builtin("extract")
def extract_domain(text: str) -> str:
    """The host of the first URL in *text* (with subdomains and port), else the first e-mail domain, else "".

    Examples:
        extract_domain("https://api.example.com/path")  =>  "api.example.com"
        extract_domain("http://localhost:8080/x")  =>  "localhost:8080"
        extract_domain("mail ann@example.org")  =>  "example.org"
        extract_domain("nothing")  =>  ""
    """
    m = URL_HOST_RE.search(text)
    if m:
        return m.group(1)
    m = EMAIL_DOMAIN_RE.search(text)
    return m.group(1) if m else ""


def _compile(ctx, pattern: str) -> re.Pattern | None:
    if _compile_or_warn is not None:
        return _compile_or_warn(ctx, pattern)
    hit = _LOCAL.get(pattern)  # pragma: no cover - fallback without _regex
    if hit is None:
        try:
            hit = re.compile(pattern)
        except re.error as err:
            hit = str(err)
        _LOCAL[pattern] = hit
    if type(hit) is str:
        ctx.diag.warn_once(f"invalid-regex:{pattern}", f"invalid regex '{pattern}': {hit}")
        return None
    return hit


def _group_text(m: re.Match, group: int) -> str:
    if group > m.re.groups:
        return ""
    return m.group(group) or ""


@builtin("extract", pass_context=True, unit_on_failure=True)
def extract_regex(ctx, text: str, pattern: str, group: int | None = None) -> str:
    """The first match of regex *pattern* in *text*: capture 1 if it has groups, else the whole match.

    With *group*, that capture group (0 = whole match; negative means 0).  No match or a
    missing group gives "".  An invalid literal pattern stops the script at compile time; one
    computed at run time gives "" and one warning.

    Examples:
        extract_regex("user=alice id=7", "user=(\\\\w+)")  =>  "alice"
        extract_regex("user=alice id=7", "id=\\\\d+")  =>  "id=7"
        extract_regex("user=alice id=7", "(\\\\w+)=(\\\\w+)", 2)  =>  "alice"
        extract_regex("abc", "x(y)")  =>  ""
        let p = "("; extract_regex("abc", p)  =>  ""
    """
    regex = _compile(ctx, pattern)
    if regex is None:
        return ""
    m = regex.search(text)
    if m is None:
        return ""
    if group is None:
        group = 1 if regex.groups else 0
    elif group < 0:
        group = 0
    return _group_text(m, group)


@builtin("extract", pass_context=True)
def extract_regexes(ctx, text: str, pattern: str, group: int | None = None) -> list:
    """Every match of regex *pattern* in *text*.

    Without *group*: whole matches when the pattern has no groups, else one array of its
    groups per match.  With *group*: that group of every match.  Invalid pattern: [] and a warning.

    Examples:
        extract_regexes("a=1 b=2", "\\\\w=\\\\d")  =>  ["a=1", "b=2"]
        extract_regexes("a=1 b=2", "(\\\\w)=(\\\\d)")  =>  [["a", "1"], ["b", "2"]]
        extract_regexes("a=1 b=2", "(\\\\w)=(\\\\d)", 2)  =>  ["1", "2"]
    """
    regex = _compile(ctx, pattern)
    if regex is None:
        return []
    if group is None:
        if not regex.groups:
            return [m.group(0) for m in regex.finditer(text)]
        return [[g or "" for g in m.groups()] for m in regex.finditer(text)]
    if group < 0:
        group = 0
    return [_group_text(m, group) for m in regex.finditer(text)]


@builtin("extract", pass_context=True, aliases=("extract_re_maps",))
def extract_regex_maps(ctx, text: str, pattern: str, field: str) -> list:
    """Every match of regex *pattern* in *text* as a map `#{field: match}`, for `emit_each`.

    The match is capture group 1 when the pattern has groups ("" when it did not take part),
    else the whole match.  No match: [].  Invalid pattern: [] and a warning.

    Examples:
        extract_regex_maps("a@x.io, b@y.org", "\\\\w+@\\\\w+\\\\.\\\\w+", "email")  =>  [#{"email": "a@x.io"}, #{"email": "b@y.org"}]
        extract_regex_maps("user=alice user=bob", "user=(\\\\w+)", "user")  =>  [#{"user": "alice"}, #{"user": "bob"}]
        extract_regex_maps("nothing", "\\\\d+", "n")  =>  []
    """
    regex = _compile(ctx, pattern)
    if regex is None:
        return []
    # Each map repeats *field*: a 1 MB field name over a million matches is small in memory (one
    # shared string) but a terabyte written out (make fuzz: the OOM killer at 24 GB).  The maps
    # as written count as one text against the string limit.
    out, total, per = [], 0, len(field) + 8
    group = 1 if regex.groups else 0
    for m in regex.finditer(text):
        value = m.group(group) or ""
        total += per + len(value)
        if total > MAX_STR:
            want_str(total, "extract_regex_maps")
        out.append({field: value})
    return out


# --------------------------------------------------------------------------- parse_email

_LOCAL_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~."
)
_DOMAIN_LABEL_RE = re.compile(r"[A-Za-z0-9-]+")


def _parse_local(local: str) -> str | None:
    if not local:
        return None
    if len(local) >= 2 and local[0] == '"' and local[-1] == '"':
        out = []
        body = local[1:-1]
        i = 0
        while i < len(body):
            c = body[i]
            if c == "\\":
                if i + 1 >= len(body):
                    return None
                out.append(body[i + 1])
                i += 2
                continue
            if c == '"':
                return None
            out.append(c)
            i += 1
        return "".join(out) if out else None
    if not all(c in _LOCAL_CHARS for c in local):
        return None
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    return local


def _parse_domain(domain: str) -> bool:
    if not domain:
        return False
    for label in domain.split("."):
        if not _DOMAIN_LABEL_RE.fullmatch(label) or label[0] == "-" or label[-1] == "-":
            return False
    return True


def _parse_address(addr: str) -> dict | None:
    if addr.count("@") != 1:
        return None
    local, _, domain = addr.partition("@")
    local_value = _parse_local(local)
    if local_value is None or not _parse_domain(domain):
        return None
    return {"local": local_value, "domain": domain}


@builtin("extract")
def parse_email(text: str) -> dict:
    """Split an e-mail address into ``#{local, domain}``; ``#{}`` when it is not one.

    Also accepts the display form ``Name <addr>`` and then adds ``name``.  Quoted local parts
    (``"a b"@x.org``) are unquoted.  The domain keeps its case.

    Examples:
        parse_email("ann@example.com")  =>  #{"local": "ann", "domain": "example.com"}
        parse_email("Ann Lee <ann@example.com>")  =>  #{"local": "ann", "domain": "example.com", "name": "Ann Lee"}
        parse_email("not an address")  =>  #{}
        parse_email("a..b@example.com")  =>  #{}
    """
    text = text.strip()
    parsed = _parse_address(text)
    if parsed is not None:
        return parsed
    # "Name <addr>": the address between the last '<' and a final '>' (a scan from the end
    # instead of the backtracking `^(.*?)\s*<([^<>]*)>$`, quadratic on long whitespace runs)
    lt = text.rfind("<")
    if lt < 0 or not text.endswith(">") or ">" in text[lt + 1 : -1]:
        return {}
    parsed = _parse_address(text[lt + 1 : -1].strip())
    if parsed is None:
        return {}
    name = text[:lt].strip()
    if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if name:
        parsed["name"] = name
    return parsed


# literal patterns are compiled (and checked) when the script is compiled
extract_regex.compile_literal = literal_pattern_hook(1)  # type: ignore[attr-defined]
extract_regexes.compile_literal = literal_pattern_hook(1)  # type: ignore[attr-defined]
