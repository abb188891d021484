"""``-f auto``: pick the input format from the first non-empty line (Kelora's order).

1. ``json``     — starts with ``{`` and parses as JSON;
2. ``syslog``   — the syslog parser accepts it (RFC 5424 or RFC 3164, ``<pri>`` optional);
3. ``combined`` — the access-log parser accepts it (combined, nginx with request_time, common);
4. ``logfmt``   — the logfmt parser accepts the whole line (so ``a=1 b=2``, not ``some text``);
5. ``tsv``/``tsvnh`` — at least 2 tabs; header (``tsv``) when the first cell has an ASCII letter;
6. ``csv``/``csvnh`` — at least 2 commas; same rule on the first cell (quotes stripped);
7. ``line``     — everything else (also an empty line).

Kelora also detects CEF and lnav-style application formats between these steps; those formats
are out of scope here (COMPAT), so such lines fall through to the later rules.
"""
from __future__ import annotations

import orjson

from kelora.errors import InputError

from .combined import parse_combined
from .inputs import parse_logfmt_pairs
from .syslog import parse_syslog


def _has_letter(text: str) -> bool:
    return any(("a" <= c <= "z") or ("A" <= c <= "Z") for c in text)


def detect_format(line: str) -> str:
    text = line.lstrip("\ufeff").strip()
    if not text:
        return "line"
    if text.startswith("{"):
        try:
            orjson.loads(text)
            return "json"
        except orjson.JSONDecodeError:
            pass
    if parse_syslog(text) is not None:
        return "syslog"
    if parse_combined(text) is not None:
        return "combined"
    try:
        parse_logfmt_pairs(text)
        return "logfmt"
    except InputError:
        pass
    if text.count("\t") >= 2:
        first = text.split("\t", 1)[0]
        return "tsv" if _has_letter(first) else "tsvnh"
    if text.count(",") >= 2:
        first = text.split(",", 1)[0].strip('"').strip()
        return "csv" if _has_letter(first) else "csvnh"
    return "line"
