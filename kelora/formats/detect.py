"""``-f auto``: pick the input format, from the first non-empty line and the lines after it.

``detect_format(line)`` is Kelora's rule for one line, in its order:

1. ``json``     — starts with ``{`` and parses as JSON;
2. ``syslog``   — the syslog parser accepts it (RFC 5424 or RFC 3164, ``<pri>`` optional);
3. ``combined`` — the access-log parser accepts it (combined, nginx with request_time, common);
4. ``logfmt``   — the logfmt parser accepts the whole line (so ``a=1 b=2``, not ``some text``);
5. ``tsv``/``tsvnh`` — at least 2 tabs; header (``tsv``) when the first cell has an ASCII letter;
6. ``csv``/``csvnh`` — at least 2 commas; same rule on the first cell (quotes stripped);
7. ``line``     — everything else (also an empty line).

``detect_sample(lines)`` is what a run uses (Kelora looks at the first line only, so a plain
log whose first line has two commas came out as CSV nonsense): the first line's format is kept
when it also fits the sample — it parses at least half of the sampled lines, and for CSV/TSV
at least half of the rows have the header's number of columns (quoted newlines allowed; plain
text with commas has rows of every width).  Otherwise the other formats are tried in the order
above, and ``line`` wins when none fits.

Kelora also detects CEF and lnav-style application formats between these steps; those formats
are out of scope here (COMPAT), so such lines fall through to the later rules.
"""
from __future__ import annotations

import orjson

from kelora.errors import InputError

from . import registry
from .combined import parse_combined
from .inputs import parse_logfmt_pairs
from .syslog import parse_syslog

SAMPLE_LINES = 50  # non-blank lines looked at by detect_sample


def _has_letter(text: str) -> bool:
    return any(("a" <= c <= "z") or ("A" <= c <= "Z") for c in text)


def _is_json(text: str) -> bool:
    if not text.startswith("{"):
        return False
    try:
        return type(orjson.loads(text)) is dict
    except orjson.JSONDecodeError as exc:
        if "number is infinity when parsed as double" not in str(exc):
            return False
    # (an integer longer than a float holds, which orjson refuses: the JSON reader reads it
    # exactly, COMPAT D20, so the line is JSON)
    from .exactjson import exact_refused

    return type(exact_refused(text)) is dict


def _is_logfmt(text: str) -> bool:
    try:
        return bool(parse_logfmt_pairs(text))
    except InputError:
        return False


def _csv_variant(text: str, sep: str) -> str | None:
    if text.count(sep) < 2:
        return None
    kind = "tsv" if sep == "\t" else "csv"
    first = text.split(sep, 1)[0].strip('"').strip()
    return kind if _has_letter(first) else kind + "nh"


def detect_format(line: str) -> str:
    text = line.lstrip("\ufeff").strip()
    if not text:
        return "line"
    for fmt in registry.detection_order():
        if _LINE_TESTS[fmt](text):
            return fmt
    return _csv_variant(text, "\t") or _csv_variant(text, ",") or "line"


_LINE_TESTS = {
    "json": _is_json,
    "syslog": lambda t: parse_syslog(t) is not None,
    "combined": lambda t: parse_combined(t) is not None,
    "logfmt": _is_logfmt,
}


def _mostly(ok: int, total: int) -> bool:
    """At least half of the lines fit."""
    return total > 0 and ok * 2 >= total


def _fits_csv(fmt: str, lines: list[str]) -> bool:
    import csv

    sep = "\t" if fmt.startswith("tsv") else ","
    if _csv_variant(lines[0], sep) is None:
        return False
    # The sample may end inside a quoted field: that last record is left out.
    try:
        rows = list(csv.reader(lines, delimiter=sep, strict=False))
    except csv.Error:
        return False
    if len(rows) > 1 and sum(r.count('"') for r in lines) % 2:
        rows.pop()
    width = len(rows[0])
    data = rows[1:] if not fmt.endswith("nh") else rows
    if not data:
        return True
    return _mostly(sum(1 for r in data if len(r) == width), len(data))


def _fits(fmt: str, lines: list[str]) -> bool:
    test = _LINE_TESTS.get(fmt)
    if test is None:
        return _fits_csv(fmt, lines)
    return _mostly(sum(1 for t in lines if test(t)), len(lines))


def detect_sample(lines: list[str]) -> str:
    """The format for a stream starting with *lines* (the first one first; blank ones ignored)."""
    texts = []
    for line in lines:
        text = line.lstrip("\ufeff").strip() if not texts else line.strip()
        if text:
            texts.append(text)
            if len(texts) >= SAMPLE_LINES:
                break
    if not texts:
        return "line"
    first = detect_format(texts[0])
    if len(texts) == 1 or (first != "line" and _fits(first, texts)):
        return first
    for fmt in registry.detection_order():
        if fmt != first and _fits(fmt, texts):
            return fmt
    for sep in ("\t", ","):
        fmt = _csv_variant(texts[0], sep)
        if fmt is not None and fmt != first and _fits(fmt, texts):
            return fmt
    return "line"
