"""``normalized()``: replace variable parts of log text (IPs, e-mails, UUIDs...) with ``<name>``.

Patterns are applied in the order given.  Each match is first replaced by a private-use marker
character and only at the end by ``<name>``, so a later pattern never matches inside an earlier
placeholder (``<ipv4>`` must not become ``<<fqdn>>``).  Opt-in PII patterns are validated beyond the
regex: credit cards by the Luhn checksum, SSNs by the SSA rules, phone numbers by NANP rules.
"""
from __future__ import annotations

import re
from functools import partial
from typing import Callable

from kelora.builtins.registry import builtin
from kelora.errors import FunctionError
from kelora.builtins.rust_regex import sub_resuming
from kelora.builtins.limits import check_str
from kelora.values import type_name

_OCTET = r"(?:25[0-5]|2[0-4]\d|[01]?\d?\d)"  # 0..255, zero-padded too (192.168.001.1)
_IPV4 = rf"\b{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}\b"
_PORT = r"(?:0|[1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])"
_HEX4 = "[0-9A-Fa-f]"
# Why these patterns look the way they do: Python's ``re`` backtracks, so a pattern that scans
# a long run and then fails, tried again from every position of that run, is quadratic
# ('a.' * 500_000 took minutes).  Each pattern below either starts only where a run starts
# (a look-behind for the run's own class) and scans it possessively (``*+``), or scans a
# bounded number of characters per start; `_normalize_text` also skips a pattern whose
# required literal ('@', '://', '(' ...) is not in the text.
# A URL: scheme (at most 32 characters: a bounded scan per start), userinfo, host, port, path,
# query and fragment; the userinfo and query values end up inside <url>.
_URL = (
    r"\b[a-z][a-z0-9+.-]{0,31}+://(?:(?:[^\s:@]+(?::[^\s:@]*)?@)?(?:[^\s:/?#]+)(?::\d+)?"
    r"(?:/[^\s?#]*)?(?:\?[^\s#]*)?(?:#[^\s]*)?)\b"
)
_EMAIL_DOMAIN = r"@[\w.-]+\.[^\W\d_]{2,}\b"
# Unquoted local part: the match starts at the first word character of a [\w.%+-] run (as
# Kelora's `\b[\w.%+-]+@`), the leading punctuation is kept outside the placeholder (group
# "pre"); the run is scanned once.  Quoted local parts ("carol smith"@x.org): at most 64 chars.
_EMAIL = (
    r'"(?:[^"\\\r\n]|\\.){1,64}"' + _EMAIL_DOMAIN
    + r"|(?<![\w.%+-])(?P<pre>[.%+-]*+)\w[\w.%+-]*+" + _EMAIL_DOMAIN
)
# Kelora's own pattern, tried anchored where the previous e-mail ended (see `sub_resuming`)
_EMAIL_AT = re.compile(r"\b[\w.%+-]+" + _EMAIL_DOMAIN)
# IPv6 candidates (hex groups and colons, optional zone), checked by `ipaddress`: the longest
# run is taken whole (2001:db8:85a3::8a2e:370:7334, fe80::1ff:fe23:4567:890a%eth2).
_IPV6_CAND = (
    rf"(?<![0-9A-Fa-f:])(?:{_HEX4}{{1,4}}|(?=:))(?::{_HEX4}{{0,4}}){{2,7}}(?![0-9A-Fa-f:])"
    r"(?:%[0-9A-Za-z](?:[0-9A-Za-z._~-]{0,62}[0-9A-Za-z])?)?"
)

_PATTERN_SOURCES: dict[str, tuple[str, ...]] = {
    "ipv4_port": (rf"\b{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}:{_PORT}\b",),
    "ipv4": (_IPV4,),
    "ipv6": (_IPV6_CAND,),
    # Unicode letters too (José.Müller@exämple.de): scrubbing must not miss non-ASCII addresses
    "email": (_EMAIL,),
    "url": (_URL,),
    "fqdn": (r"\b(?:[a-z](?:[a-z0-9-]{0,63}[a-z0-9])?\.){2,}[a-z0-9][a-z0-9-]{0,8}\b",),
    "uuid": (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",),
    "mac": (
        r"\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b",
        r"\b(?:[0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}\b",
    ),
    "md5": (r"\b[a-fA-F0-9]{32}\b",),
    "sha1": (r"\b[a-fA-F0-9]{40}\b",),
    "sha256": (r"\b[a-fA-F0-9]{64}\b",),
    "path": (r"\B(/[\w./-]+)",),
    "oauth": (r"\bya29\.[0-9A-Za-z_-]+\b",),
    # Kelora's `\b[\w\.]+\([^)]*\)`: starts at the first word character of a [\w.] run (leading
    # dots stay outside, group "pre"); `_normalize_text` cuts the text after its last ')', so the
    # argument scan always finds one.
    "function": (r"(?<![\w.])(?P<pre>\.*+)\w[\w.]*+\([^)]*+\)",),
    "hexcolor": (r"#[0-9A-Fa-f]{6}\b",),
    "version": (r"\b[vV]\d+\.\d+(?:\.\d+)?(?:-[a-zA-Z0-9]+)?\b",),
    # opt-in
    "hexnum": (r"\b0x[0-9a-fA-F]+\b",),
    "duration": (
        r"\b\d+(?:\.\d+)?(?:us|ms|[smhd])\b",
        r"\b\d+(?:\.\d+)?\s*(?:microsecond|millisecond|second|minute|hour|day|week|month|year)s?\b",
        r"\b(?:\d+h\d+m\d+s|\d+h\d+m|\d+h\d+s|\d+m\d+s)\b",
    ),
    "num": (r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?",),
    "credit_card": (r"\b\d(?:[ -]?\d){12,18}\b",),
    "ssn": (r"\b\d{3}-\d{2}-\d{4}\b",),
    "phone": (
        r"\+\d{1,3}[-.\s]?\(?\d{1,4}\)?[-.\s]?\d{1,4}[-.\s]?\d{1,9}",
        r"\(\d{3}\)[-.\s]?\d{3}[-.\s]?\d{4}",
        r"\b\d{3}[-.\s]\d{3}[-.\s]\d{4}\b",
    ),
}
# A pattern can only match text containing all of these literals (checked with `in`, which is
# far cheaper than a regex scan; most log lines have no '@', '://' or '(').
_NEEDS: dict[str, tuple[str, ...]] = {
    "ipv4_port": (".", ":"), "ipv4": (".",), "ipv6": (":",), "email": ("@",), "url": ("://",),
    "fqdn": (".",), "uuid": ("-",), "path": ("/",), "oauth": ("ya29.",),
    "function": ("(", ")"), "hexcolor": ("#",), "version": (".",), "hexnum": ("0x",),
    "ssn": ("-",),
}

DEFAULT_PATTERNS = (
    "ipv4_port", "ipv4", "ipv6", "email", "url", "fqdn", "uuid", "mac", "md5", "sha1", "sha256",
    "path", "oauth", "function", "hexcolor", "version",
)
OPT_IN_PATTERNS = ("hexnum", "duration", "num", "credit_card", "ssn", "phone")

# \d and \w in Rust's regex are Unicode-aware like Python's, but `\d` digits must be ASCII for
# the validators; they only look at ASCII digits.
# (compiled when a pattern set is first used: compiling all 27 at import cost every start-up)


def _digits(text: str) -> list[int]:
    return [ord(c) - 48 for c in text if "0" <= c <= "9"]


def is_valid_luhn(text: str) -> bool:
    """Luhn checksum over the ASCII digits (13..19 of them, not all zero)."""
    digits = _digits(text)
    if not 13 <= len(digits) <= 19 or not any(digits):
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def is_valid_ssn(text: str) -> bool:
    """SSA rules: area not 000/666/900-999, group not 00, serial not 0000."""
    parts = text.split("-")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
        return False
    area, group, serial = (int(p) for p in parts)
    return area != 0 and area != 666 and area < 900 and group != 0 and serial != 0


def is_valid_phone(text: str) -> bool:
    """NANP rules for 10/11-digit numbers; other international numbers need >= 7 digits."""
    digits = _digits(text)
    if len(digits) == 11 and digits[0] == 1:
        national = digits[1:]
    elif len(digits) == 10:
        national = digits
    else:
        return len(digits) >= 7
    if national[0] < 2 or national[3] < 2:
        return False
    if national[:5] == [5, 5, 5, 0, 1] and national[5] < 2:  # fictional 555-0100..0199
        return False
    return True


_VALIDATORS: dict[str, Callable[[str], bool]] = {
    "credit_card": is_valid_luhn,
    "ssn": is_valid_ssn,
    "phone": is_valid_phone,
}
_ALL_NAMES = ", ".join((*DEFAULT_PATTERNS, *OPT_IN_PATTERNS))


def _ipv6_repl(marker: str):
    from ipaddress import IPv6Address  # lazy: only runs that scrub IPv6 pay for the import

    def repl(m, _mk=marker):
        s = m.group(0)
        core, pct, zone = s.partition("%")
        # "addr:2001:db8::1" / "at 2001:db8::1:": a lone colon before or after is punctuation
        head = tail = ""
        if core[:1] == ":" and core[1:2] != ":":
            head, core = ":", core[1:]
        if core[-1:] == ":" and core[-2:-1] != ":" and not pct:
            tail, core = ":", core[:-1]
        # cheap pre-checks first: times ("10:30:00") and MACs are the common candidates
        if ("::" not in core and core.count(":") != 7) or not core.strip(":"):
            return s
        try:
            IPv6Address(core + pct + zone)
        except ValueError:
            return s
        return head + _mk + tail
    return repl


def _steps(names: tuple[str, ...]) -> tuple:
    """(sub, marker, placeholder, needed literals, cut) per regex, for an ordered set of names:
    *sub(text)* replaces the matches by the marker; *cut*: only the text up to the last
    occurrence of it can match."""
    steps = []
    for idx, name in enumerate(names):
        marker = chr(0xE000 + idx)
        validate = _VALIDATORS.get(name)
        needs = _NEEDS.get(name, ())
        cut = ")" if name == "function" else None
        for source in _PATTERN_SOURCES[name]:
            repl: object = marker
            if name == "email":
                if "url" in names[idx + 1:]:
                    # a URL with userinfo (https://alice:pw@host/) is left whole for the url step
                    source = f"(?P<u>{_URL})|{source}"

                def repl(m, _mk=marker):  # noqa: E731
                    if m.re is _EMAIL_AT:
                        return _mk
                    return m.group(0) if m.groupdict().get("u") is not None else (m.group("pre") or "") + _mk
                sub = partial(sub_resuming, re.compile(source), _EMAIL_AT, repl)
                steps.append((sub, marker, f"<{name}>", needs, cut))
                continue
            if name == "function":
                repl = "\\g<pre>" + marker  # leading dots stay outside the placeholder
            elif name == "ipv6":
                repl = _ipv6_repl(marker)
            elif validate is not None:
                def repl(m, _v=validate, _mk=marker):  # noqa: E731 - closure per validator
                    return _mk if _v(m.group(0)) else m.group(0)
            steps.append((partial(re.compile(source).sub, repl), marker, f"<{name}>", needs, cut))
    return tuple(steps)


_STEP_CACHE: dict[tuple[str, ...], tuple] = {}


def _steps_for(spec: object) -> tuple:
    if type(spec) is str or isinstance(spec, str):
        names = tuple(p.strip() for p in str(spec).split(","))
    elif type(spec) is list:
        if not all(isinstance(p, str) for p in spec):
            raise FunctionError("normalized(): patterns must be strings")
        names = tuple(str(p).strip() for p in spec)
    else:
        raise FunctionError(
            f"normalized(): patterns must be a CSV string or an array, got {type_name(spec)}",
            missing_field=spec is None,
        )
    names = tuple(n for n in names if n)  # "ipv4," and "" name nothing extra
    steps = _STEP_CACHE.get(names)
    if steps is None:
        unknown = [n for n in names if n not in _PATTERN_SOURCES]
        if unknown:
            raise FunctionError(
                f"normalized(): unknown pattern '{unknown[0]}'. Valid patterns: {_ALL_NAMES}"
            )
        steps = _STEP_CACHE[names] = _steps(names)
    return steps


def _normalize_text(text: str, steps: tuple) -> str:
    used = []
    for sub, marker, placeholder, needs, cut in steps:
        for lit in needs:
            if lit not in text:
                break
        else:
            if cut is None:
                new = sub(text)
            else:
                end = text.rfind(cut) + 1
                new = sub(text[:end]) + text[end:]
            if new != text:
                used.append((marker, placeholder))
                text = new
    for marker, placeholder in used:
        text = text.replace(marker, placeholder)
    return check_str(text)


def _normalize_value(value: object, steps: tuple) -> object:
    t = type(value)
    if t is str or isinstance(value, str):
        return _normalize_text(str(value), steps)
    if t is dict:
        return {k: _normalize_value(v, steps) for k, v in value.items()}  # type: ignore[union-attr]
    if t is list:
        return [_normalize_value(v, steps) for v in value]  # type: ignore[union-attr]
    return value


@builtin("extract", hides_value=True)
def normalized(text: str | dict, patterns: str | list | None = None) -> object:
    """Replace variable parts of text (IPs, e-mails, URLs, UUIDs, hashes...) with ``<name>`` placeholders.

    Default patterns: ipv4_port, ipv4, ipv6, email, url, fqdn, uuid, mac, md5, sha1, sha256,
    path, oauth, function, hexcolor, version.  Opt-in: hexnum, duration, num, credit_card
    (Luhn-checked), ssn, phone.  *patterns* is a CSV string or an array of names, applied in that
    order.  On a map, every string inside it is normalized.

    Examples:
        normalized("Server at 192.168.1.100 failed")  =>  "Server at <ipv4> failed"
        normalized("user ann@example.com from 10.0.0.1:8080")  =>  "user <email> from <ipv4_port>"
        normalized("für José.Müller@exämple.de")  =>  "für <email>"
        normalized("card 4111 1111 1111 1111", "credit_card")  =>  "card <credit_card>"
        normalized("took 250ms", ["duration"])  =>  "took <duration>"
    """
    steps = _STEP_CACHE.get(DEFAULT_PATTERNS) if patterns is None else _steps_for(patterns)
    if steps is None:  # the first call with the default set builds (and caches) its steps
        steps = _steps_for(list(DEFAULT_PATTERNS))
    return _normalize_value(text, steps)
