"""What the PII gate looks for: one combined pattern, and a validator per kind.

Hostile input (a 64 MiB line of ``a``s, of digits, of dots) must not make the scan slow, and
Python's ``re`` backtracks, so every pattern here is built to stay linear in the text length:

* each branch starts at a *run boundary* (a one-character lookbehind: a match never starts in the
  middle of a word, a number or an address), so most positions fail at once;
* every repetition is bounded (``{1,64}``, never ``+``/``*``), so from any start the engine does
  at most a constant amount of work before it gives up;
* adjacent pieces use disjoint character classes where they repeat, so a failure does not make
  the engine try exponentially many splits.

Regular expressions only find candidates; checksums and structure decide (Luhn for cards, mod-97
for IBANs, ``ipaddress`` for IPv6, the JWT header decodes to JSON with ``alg``).  That is what
keeps version numbers, dates, order ids and hashes from being reported.

The kinds and their names (as shown in the report and accepted by ``--pii-allow FIELD:KIND``)
are in ``KINDS``.
"""
from __future__ import annotations

import base64
import ipaddress
import re

KINDS = ("email", "ipv4", "ipv6", "phone", "card", "iban", "ssn", "jwt", "private-key",
         "aws-key", "github-token", "slack-token", "google-api-key", "mac", "url-credentials")

_OCT = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_HEX4 = r"[0-9A-Fa-f]{1,4}"

# Order matters where branches overlap at one position: the first that matches wins, so the more
# specific ones come first (URL credentials before e-mail, MAC before IPv6, JWT and keys before
# the generic number kinds).
_BRANCHES = (
    ("private_key", r"-----BEGIN (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY-----"),
    ("url_credentials",
     r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,19}://[^\s:/?#@\[\]]{1,128}:[^\s/?#@]{1,128}@"),
    ("jwt", r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,2048}\.eyJ[A-Za-z0-9_-]{2,8192}\.[A-Za-z0-9_-]{0,1024}"
            r"(?![A-Za-z0-9_-])"),
    ("aws_key", r"(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
    ("github_token", r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,255})"
                     r"(?![A-Za-z0-9_])"),
    ("slack_token", r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,250}(?![A-Za-z0-9-])"),
    ("google_api_key", r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])"),
    ("email", r"(?<![\w.%+-])[\w%+-][\w.%+-]{0,63}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}"
              r"\.[A-Za-z]{2,24}(?![\w-])"),
    ("mac", r"(?<![\w:.-])[0-9A-Fa-f]{2}(?P<macsep>[:-])[0-9A-Fa-f]{2}(?:(?P=macsep)[0-9A-Fa-f]{2}){4}(?![\w:-])"
            r"|(?<![\w.])[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}(?![\w.])"),
    # a candidate (hex digits and colons, perhaps an IPv4 tail); ``ipaddress`` decides
    ("ipv6", rf"(?<![\w:.])(?=[0-9A-Fa-f]{{0,4}}:[0-9A-Fa-f]{{0,4}}:)[0-9A-Fa-f:]{{2,39}}"
             rf"(?:(?<=:)(?:{_OCT}\.){{3}}{_OCT})?(?![\w:]|\.[0-9])"),
    ("ipv4", rf"(?<![\w.])(?:{_OCT}\.){{3}}{_OCT}(?![\w]|\.[0-9])"),
    ("phone", r"(?<![\w+])\+[1-9][0-9]{0,3}(?:[ .-]|[ ]?\()?[0-9]{1,4}\)?(?:[ .-]?[0-9]{2,4}){1,5}(?![\w])"),
    ("iban", r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"),
    ("ssn", r"(?<![\w-])[0-9]{3}-[0-9]{2}-[0-9]{4}(?![\w-])"),
    ("card", r"(?<![\w.-])[2-6][0-9]{3}(?:[ -]?[0-9]{2,4}){2,4}(?:[ -]?[0-9]{1,4})?(?![\w]|[.-][0-9])"),
)

GROUP_KIND = {name: name.replace("_", "-") for name, _ in _BRANCHES}
GROUP_KIND["google_api_key"] = "google-api-key"
COMBINED = re.compile("|".join(f"(?P<{name}>{rx})" for name, rx in _BRANCHES))

_VERSION_BEFORE = re.compile(r"(?i)(?:version|ver|release|build|firmware|v)[\s:=#]{0,3}$")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i & 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card(text: str, before: str) -> bool:
    digits = text.replace(" ", "").replace("-", "")
    if not 13 <= len(digits) <= 19:
        return False
    seps = {c for c in text if c in " -"}
    if len(seps) > 1:
        return False
    if seps:  # grouped: 4-4-4-4(-3), 4-6-5 (Amex), 4-4-4-4-... -- no 2-digit groups
        groups = re.split(r"[ -]", text)
        if any(len(g) < 4 for g in groups[:-1]) or len(groups[0]) != 4:
            return False
    return _luhn(digits)


def _iban(text: str, before: str) -> bool:
    s = text.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in moved))
    except ValueError:
        return False
    return number % 97 == 1


def _ssn(text: str, before: str) -> bool:
    area, group, serial = text.split("-")
    return not (area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000")


def _phone(text: str, before: str) -> bool:
    n = sum(c.isdigit() for c in text)
    return 8 <= n <= 15


def _ipv4(text: str, before: str) -> bool:
    return not _VERSION_BEFORE.search(before[-12:])


def _ipv6(text: str, before: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    groups = [g for g in text.split(":") if g]
    return len(groups) >= 2


def _jwt(text: str, before: str) -> bool:
    head = text.split(".", 1)[0]
    try:
        data = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    except ValueError:
        return False
    return b'"alg"' in data or b"'alg'" in data


def _mac(text: str, before: str) -> bool:
    return len({c for c in text if c in "0123456789abcdefABCDEF"}) > 1  # not 00:00:00:00:00:00


VALIDATE = {"card": _card, "iban": _iban, "ssn": _ssn, "phone": _phone, "ipv4": _ipv4,
            "ipv6": _ipv6, "jwt": _jwt, "mac": _mac}


def find(text: str):
    """``(kind, start, end)`` of every PII match in *text* (the scanner's core, also the
    reference for tests)."""
    for m in COMBINED.finditer(text):
        kind = GROUP_KIND[m.lastgroup]
        check = VALIDATE.get(kind)
        if check is not None and not check(m.group(), text[max(0, m.start() - 12):m.start()]):
            continue
        yield kind, m.start(), m.end()
