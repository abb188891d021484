"""What the PII gate looks for: a cheap gate, a candidate pattern and a validator per kind.

Hostile input (a 64 MiB line of ``a``s, of digits, of dots) must not make the scan slow, and
Python's ``re`` backtracks, so every pattern here stays linear in the text length:

* every repetition is bounded (``{1,64}``, never ``+``/``*``), so from any start the engine does
  a constant amount of work before it gives up;
* pieces that repeat next to each other use disjoint character classes (or a separator), so a
  failure never makes the engine try many ways of splitting the same text;
* boundaries ("not in the middle of a word") are checked in Python on the rare candidate, not
  with a leading lookbehind, so ``re`` can use its fast first-character search.

Speed: the scan runs on every string of every event, so each kind is tried only when a
C-speed test on the whole string allows it (``'@' in s``, the number of digits, of dots, of
colons ...).  One combined alternation of all kinds was ~25x slower (it tries every branch at
every position).  Patterns only find candidates; checksums and structure decide (Luhn for cards,
mod 97 for IBANs, ``ipaddress`` for IPv6, a JWT header that decodes to JSON with ``alg``): that
keeps version numbers, dates, order ids and hashes out of the report.
"""
from __future__ import annotations

import base64
import ipaddress
import re

KINDS = ("email", "ipv4", "ipv6", "phone", "card", "iban", "ssn", "jwt", "private-key",
         "aws-key", "github-token", "slack-token", "google-api-key", "mac", "url-credentials")

_NON_DIGITS = bytes(b for b in range(256) if not 48 <= b <= 57)
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_HEXCH = frozenset("0123456789abcdefABCDEF")

_PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY-----")
_URL_CRED = re.compile(r"://[^\s:/?#@\[\]]{0,128}:[^\s/?#@]{1,128}@")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,19}\Z")
_JWT = re.compile(r"eyJ(?<![A-Za-z0-9_-]eyJ)[A-Za-z0-9_-]{8,2048}\.eyJ[A-Za-z0-9_-]{2,8192}\.[A-Za-z0-9_-]{0,1024}")
_AWS = re.compile(r"A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA)[A-Z0-9]{16}")
_GITHUB = re.compile(r"g(?:h[pousr]_[A-Za-z0-9]{36,251}|ithub_pat_[A-Za-z0-9_]{22,255})")
_SLACK = re.compile(r"xox[abposr]-[A-Za-z0-9-]{10,250}")
_GOOGLE = re.compile(r"AIza[0-9A-Za-z_-]{35}")
_EMAIL_DOMAIN = re.compile(r"@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[^\W\d_]{2,24}")
_EMAIL_LOCAL = re.compile(r"[\w%+-][\w.%+-]{0,63}\Z")
_IPV4 = re.compile(r"[0-9][0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")
_IPV6 = re.compile(r"[0-9A-Fa-f:][0-9A-Fa-f:]{1,38}(?:[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})?")
_MAC = re.compile(r"[0-9A-Fa-f][0-9A-Fa-f](?P<sep>[:-])[0-9A-Fa-f]{2}(?:(?P=sep)[0-9A-Fa-f]{2}){4}"
                  r"|[0-9A-Fa-f][0-9A-Fa-f]{3}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}")
_PHONE = re.compile(r"\+[1-9][0-9]{0,3}(?:[ .-]|[ ]?\()?[0-9]{1,4}\)?(?:[ .-]?[0-9]{2,4}){1,5}")
_IBAN = re.compile(r"[A-Z][A-Z][0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?")
_SSN = re.compile(r"[0-9][0-9]{2}-[0-9]{2}-[0-9]{4}")
_CARD = re.compile(r"[2-6][0-9]{3}(?:[ -]?[0-9]{2,4}){2,4}(?:[ -]?[0-9]{1,4})?")
_VERSION_BEFORE = re.compile(r"(?i)(?:version|ver|release|build|firmware|v)[\s:=#]{0,3}\Z")


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


def _before(s: str, i: int, chars) -> bool:
    """True when position *i* starts a run (the character before it is not in *chars*)."""
    return i == 0 or s[i - 1] not in chars


def _after(s: str, j: int, chars) -> bool:
    return j >= len(s) or s[j] not in chars


_W = _WORD
_W_DASH = _WORD | {"-"}
_W_DOT = _WORD | {"."}
_W_DOT_DASH = _WORD | {".", "-"}
_W_COLON_DOT = _WORD | {":", "."}
_ALNUM = _WORD - {"_"}
_B64URL = _WORD | {"-"}
_EMAIL_LOCAL_CH = _WORD | set(".%+-")


def _emails(s: str, out: list) -> None:
    for m in _EMAIL_DOMAIN.finditer(s):
        at, end = m.start(), m.end()
        if not _after(s, end, _W_DASH):
            continue
        local = _EMAIL_LOCAL.search(s, max(0, at - 64), at)
        if local is None:
            continue
        out.append(("email", local.start(), end))


def _urls(s: str, out: list) -> None:
    for m in _URL_CRED.finditer(s):
        scheme = _SCHEME.search(s, max(0, m.start() - 20), m.start())
        if scheme is not None and _before(s, scheme.start(), _ALNUM | set("+.-")):
            out.append(("url-credentials", scheme.start(), m.end()))


def _simple(rx, kind: str, s: str, out: list, before, after) -> None:
    for m in rx.finditer(s):
        i, j = m.span()
        if _before(s, i, before) and _after(s, j, after):
            out.append((kind, i, j))


def _jwt_ok(text: str) -> bool:
    head = text.split(".", 1)[0]
    try:
        data = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    except ValueError:
        return False
    return b'"alg"' in data


_OCTETS = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                     r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")


def _ipv4(s: str, out: list) -> None:
    for m in _IPV4.finditer(s):
        i, j = m.span()
        if i and s[i - 1] in _W_DOT:
            continue
        if j < len(s) and (s[j] in _W or (s[j] == "." and j + 1 < len(s) and s[j + 1].isdigit())):
            continue
        text = m.group()
        if text.endswith(".0") or not _OCTETS.fullmatch(text):
            continue  # (a network address, e.g. what mask_ip() leaves, names no host)
        if i and _VERSION_BEFORE.search(s, max(0, i - 12), i):
            continue
        out.append(("ipv4", i, j))


def _ipv6(s: str, out: list) -> None:
    for m in _IPV6.finditer(s):
        i, j = m.span()
        text = m.group()
        colons = text.count(":")
        if colons < 2 or not _before(s, i, _W_COLON_DOT) or not _after(s, j, _W):
            continue
        if "::" not in text and colons < 6:
            continue
        if len([g for g in text.split(":") if g]) < 2:  # not "::" or "::1"
            continue
        if text.endswith("::") or text.endswith(":0"):
            continue  # a network address (what mask_ip() leaves), as for IPv4
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            continue
        out.append(("ipv6", i, j))


def _macs(s: str, out: list) -> None:
    for m in _MAC.finditer(s):
        i, j = m.span()
        if _before(s, i, _W | set(":.-")) and _after(s, j, _W | set(":.-")) \
                and len({c for c in m.group() if c in _HEXCH}) > 1:
            out.append(("mac", i, j))


def _phones(s: str, out: list) -> None:
    for m in _PHONE.finditer(s):
        i, j = m.span()
        if not (_before(s, i, _W | {"+"}) and _after(s, j, _W)):
            continue
        if 8 <= sum(c.isdigit() for c in m.group()) <= 15:
            out.append(("phone", i, j))


def _ibans(s: str, out: list) -> None:
    for m in _IBAN.finditer(s):
        i, j = m.span()
        if not (_before(s, i, _ALNUM) and _after(s, j, _ALNUM)):
            continue
        text = m.group().replace(" ", "")
        if not 15 <= len(text) <= 34:
            continue
        moved = text[4:] + text[:4]
        if int("".join(str(int(c, 36)) for c in moved)) % 97 == 1:
            out.append(("iban", i, j))


def _ssns(s: str, out: list) -> None:
    for m in _SSN.finditer(s):
        i, j = m.span()
        if not (_before(s, i, _W_DASH) and _after(s, j, _W_DASH)):
            continue
        area, group, serial = m.group().split("-")
        if not (area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000"):
            out.append(("ssn", i, j))


def _cards(s: str, out: list) -> None:
    for m in _CARD.finditer(s):
        i, j = m.span()
        if not _before(s, i, _W_DOT_DASH):
            continue
        if j < len(s) and (s[j] in _W or (s[j] in ".-" and j + 1 < len(s) and s[j + 1].isdigit())):
            continue
        text = m.group()
        digits = text.replace(" ", "").replace("-", "")
        if not 13 <= len(digits) <= 19:
            continue
        seps = {c for c in text if c in " -"}
        if len(seps) > 1:
            continue
        if seps:  # grouped like 4-4-4-4 or 4-6-5: no group shorter than 4 but the last
            groups = re.split(r"[ -]", text)
            if len(groups[0]) != 4 or any(len(g) < 4 for g in groups[:-1]):
                continue
        if _luhn(digits):
            out.append(("card", i, j))


_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?"
                        r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?")


_LONG_RUN = re.compile(r"[A-Za-z0-9_-]{16}")


# What ``find`` returns for a timestamp: callers that cache results per string skip these
# (they never repeat, and would only push useful entries out of the cache).
TIMESTAMP: list = []


def find(s: str) -> list[tuple[str, int, int]]:
    """``(kind, start, end)`` of every PII finding in *s*."""
    if s[4:5] == "-" and _TIMESTAMP.fullmatch(s):  # the most common string of all: no PII
        return TIMESTAMP
    out: list = []
    if "@" in s:
        if "://" in s:
            _urls(s, out)
        _emails(s, out)
        if out and any(k == "url-credentials" for k, _, _ in out):  # user:pass@host is no e-mail
            spans = [(a, b) for k, a, b in out if k == "url-credentials"]
            out = [f for f in out if f[0] != "email" or not any(a <= f[1] < b for a, b in spans)]
    colons = s.count(":")
    if colons >= 5 or (colons == 0 and s.count("-") >= 5):
        _macs(s, out)
    nd = len(s.encode("utf-8", "surrogatepass").translate(None, _NON_DIGITS))
    if nd >= 4:
        dots = s.count(".")
        if dots >= 3:
            _ipv4(s, out)
        if colons >= 2 and ("::" in s or colons >= 6):
            _ipv6(s, out)
        if dots >= 2 and colons < 5:
            _macs(s, out)  # the aabb.ccdd.eeff form
        if nd >= 8:
            if "+" in s:
                _phones(s, out)
            if nd >= 13:
                _cards(s, out)
            if "-" in s:
                _ssns(s, out)
            if len(s) >= 15 and not s.islower():
                _ibans(s, out)
    if "eyJ" in s:
        for m in _JWT.finditer(s):
            if _before(s, m.start(), _B64URL) and _after(s, m.end(), _B64URL) and _jwt_ok(m.group()):
                out.append(("jwt", m.start(), m.end()))
    if "PRIVATE KEY-----" in s:
        _simple(_PRIVATE_KEY, "private-key", s, out, (), ())
    if len(s) >= 20 and _LONG_RUN.search(s) is not None:  # every API key has such a run
        if "A" in s:
            _simple(_AWS, "aws-key", s, out, _ALNUM, _ALNUM)
            if "AIza" in s:
                _simple(_GOOGLE, "google-api-key", s, out, _B64URL, _B64URL)
        if "_" in s and "g" in s:
            _simple(_GITHUB, "github-token", s, out, _W, _W)
        if "xox" in s:
            _simple(_SLACK, "slack-token", s, out, _ALNUM, _B64URL)
    return out
