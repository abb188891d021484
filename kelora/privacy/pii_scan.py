"""``--scan-pii``: the PII leak gate over what a run would write.

A data-only mode (like ``-s``): each event that would be written (after every stage and
``-k``/``-K``/``-c``) is walked; every string (and every integer long enough to be a card
number) is searched with the patterns of ``pii_patterns``; findings are counted per field path
and kind with the first three line numbers.  Values are never shown (COMPAT D24): a map key that
itself looks like PII appears as ``<key>`` in paths.

The report stays bounded on maps keyed by ids (one path per user would be one row per user): a
key shaped like an id (mostly digits: ``12345``, ``u123``, a UUID) appears as ``<id>`` in paths,
and at most ``MAX_ROWS`` field/kind pairs are kept; findings in further pairs are counted per
kind on an ``(other field paths)`` row (memory bounded by the number of kinds).

Not reported: tokens that ``pseudonym()`` produced in this run (the scanner wraps the keyring
and remembers the rare token that happens to look like PII, e.g. 13 digits in a row), and fields
allowed with ``--pii-allow FIELD[:KIND]`` (FIELD covers its sub-fields).

State is mergeable (``take``/``merge``) for ``--parallel``; batches merge in input order, and the
first three line numbers are kept as the three smallest, so the report equals a sequential run's.
"""
from __future__ import annotations

import os

import orjson

from kelora.errors import UsageError
from kelora.escape import escape_json_text, escape_line
from kelora.safetext import clean_value, utf8
from kelora.privacy.pii_patterns import KINDS, TIMESTAMP, find

MIN_TEXT = 7  # the shortest finding: "1.2.3.4"
TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
KEY_CACHE_LIMIT = 10_000
# Findings per string value: log fields repeat (users, IPs, event names, messages), so most
# strings are looked up, not scanned.  Cleared wholesale when full (as the keyring's token cache).
TEXT_CACHE_LIMIT = 200_000
MAX_ROWS = 1_000  # field/kind pairs kept; the rest are counted per kind (see the module docstring)
OTHER = "(other field paths)"


def id_like(key: str) -> bool:
    """A map key that names one record rather than a field: more than half digits (``12345``,
    ``u123``, ``550e8400-e29b-41d4-a716-446655440000``), at least 3 of them.  Field names with a
    digit or two (``ipv4``, ``sha256``, ``http2``, ``line_1``) are not."""
    digits = sum(c.isdigit() for c in key)
    return digits >= 3 and 2 * digits > len(key)


def check_allow(item: str) -> tuple[str, str | None]:
    """``FIELD`` or ``FIELD:KIND`` -> (field, kind or None); a bad kind is a usage error."""
    field, sep, kind = item.rpartition(":")
    if sep and kind in KINDS:
        if not field:
            raise UsageError(f"--pii-allow '{item}': name a field before ':{kind}'")
        return field, kind
    if sep and kind and " " not in kind and kind.replace("-", "").isalpha() and kind.islower():
        raise UsageError(f"--pii-allow '{item}': unknown kind '{kind}'",
                         hint="kinds: " + ", ".join(KINDS))
    if not item:
        raise UsageError("--pii-allow needs a field name")
    return item, None


PRINTED = "print()"  # the field path of what scripts print

class Scanner:
    def __init__(self, pipeline, allow: tuple[str, ...] = ()):
        self.p = pipeline
        self.format = pipeline.config.scan_pii
        self.allow: list[tuple[str, str | None]] = [check_allow(a) for a in allow]
        self._allowed: dict[tuple[str, str], bool] = {}
        self.findings: dict[tuple[str, str], list] = {}  # (path, kind) -> [count, [lines]]
        self.other: dict[str, list] = {}  # kind -> [count, [lines]] past MAX_ROWS pairs
        self.exempt: set[str] = set()  # this run's tokens that look like PII
        self._checked: set[str] = set()
        self._clean_keys: dict[str, str] = {}  # key -> as shown in paths (itself or <id>)
        self._cache: dict[str, list] = {}
        # the cap applies where findings are final: a sequential run, or the parent merging the
        # workers' batches in input order (a worker keeps its whole batch, so both agree)
        self._pid = os.getpid()

    # ------------------------------------------------------------------ own tokens
    def wrap(self, domain: str, fn):
        checked, exempt = self._checked, self.exempt

        def scanned(value: str) -> str:
            token = fn(value)
            if token not in checked:
                if len(checked) >= 100_000:
                    checked.clear()
                checked.add(token)
                if find(token):
                    exempt.add(token)
            return token

        return scanned

    # ------------------------------------------------------------------ per event
    def scan(self, event: dict) -> None:
        line = self.p.line_num
        text = self._text
        shown = self._clean_keys.get
        for key, value in event.items():
            key = shown(key) or self._key(key, "", line)
            t = type(value)
            if t is str:
                if len(value) >= MIN_TEXT:
                    text(value, key, line)
            elif t is dict or t is list:
                self._walk(value, key, line)
            elif t is int and (value > 999_999_999_999 or value < -999_999_999_999):
                text(str(value), key, line)

    def scan_printed(self, text: str) -> None:
        """Text a script printed (``print``): it is written too, beside the events or the export;
        reported under the field ``print()``."""
        if len(text) >= MIN_TEXT:
            self._text(text, PRINTED, self.p.line_num)

    def scan_metrics(self, doc: dict) -> bool:
        """The metrics as ``--metrics``/``--metrics-file`` write them (their JSON form), under
        ``metrics.NAME``; True when they hold anything found.  (No input line: line 0.)"""
        before = self._total()
        self._walk(doc, "metrics", 0)
        return self._total() > before

    def _total(self) -> int:
        return sum(e[0] for e in self.findings.values()) + sum(e[0] for e in self.other.values())

    def _walk(self, value, path: str, line: int) -> None:
        if type(value) is dict:
            shown = self._clean_keys.get
            for key, v in value.items():
                key = shown(key) or self._key(key, path, line)
                sub = f"{path}.{key}"
                t = type(v)
                if t is str:
                    if len(v) >= MIN_TEXT:
                        self._text(v, sub, line)
                elif t is dict or t is list:
                    self._walk(v, sub, line)
                elif t is int and (v > 999_999_999_999 or v < -999_999_999_999):
                    self._text(str(v), sub, line)
        else:
            sub = path + "[]"
            for v in value:
                t = type(v)
                if t is str:
                    if len(v) >= MIN_TEXT:
                        self._text(v, sub, line)
                elif t is dict or t is list:
                    self._walk(v, sub, line)
                elif t is int and (v > 999_999_999_999 or v < -999_999_999_999):
                    self._text(str(v), sub, line)

    def _key(self, key: str, parent: str, line: int) -> str:
        """A map key as shown in paths: itself, or ``<key>`` when it looks like PII (which is
        then reported under the parent's path)."""
        kinds = self._kinds(key)
        if not kinds:
            if len(self._clean_keys) >= KEY_CACHE_LIMIT:
                self._clean_keys.clear()
            shown = "<id>" if id_like(key) else key
            if shown:  # ("" is not cached: a falsy entry would look missing)
                self._clean_keys[key] = shown
            return shown
        shown = f"{parent}.<key>" if parent else "<key>"
        for kind in kinds:
            self._record(shown, kind, line)
        return "<key>"

    def _kinds(self, text: str) -> list[str]:
        return [kind for kind, start, end in find(text)
                if not (self.exempt and self._own_token(text, start, end))]

    def _text(self, text: str, path: str, line: int) -> None:
        found = self._cache.get(text)
        if found is None:
            found = find(text)
            if found is not TIMESTAMP:
                cache = self._cache
                if len(cache) >= TEXT_CACHE_LIMIT:
                    cache.clear()
                cache[text] = found
        if not found:
            return
        exempt = self.exempt
        for kind, start, end in found:
            if exempt and self._own_token(text, start, end):
                continue
            self._record(path, kind, line)

    def _own_token(self, text: str, start: int, end: int) -> bool:
        """Whether the match lies inside a token pseudonym() produced in this run."""
        while start > 0 and text[start - 1] in TOKEN_CHARS:
            start -= 1
        n = len(text)
        while end < n and text[end] in TOKEN_CHARS:
            end += 1
        return text[start:end] in self.exempt

    def _record(self, path: str, kind: str, line: int) -> None:
        key = (path, kind)
        entry = self.findings.get(key)
        if entry is None:
            if self._is_allowed(path, kind):
                return
            if len(self.findings) < MAX_ROWS or os.getpid() != self._pid:
                self.findings[key] = [1, [line]]
                return
            entry = self.other.get(kind)
            if entry is None:
                self.other[kind] = [1, [line]]
                return
        entry[0] += 1
        lines = entry[1]
        if len(lines) < 3 and lines[-1] != line:
            lines.append(line)

    def _is_allowed(self, path: str, kind: str) -> bool:
        hit = self._allowed.get((path, kind))
        if hit is None:
            hit = False
            for field, k in self.allow:
                if (k is None or k == kind) and (
                        path == field or path.startswith(field + ".") or path.startswith(field + "[")):
                    hit = True
                    break
            if len(self._allowed) >= KEY_CACHE_LIMIT:  # (one entry per path: bounded)
                self._allowed.clear()
            self._allowed[(path, kind)] = hit
        if hit:
            return True
        return False

    # ------------------------------------------------------------------ --parallel
    def take(self):
        found = self.findings
        self.findings = {}
        return found or None

    def merge(self, part) -> None:
        if not part:
            return
        for key, (count, lines) in part.items():  # (in the batch's first-seen order)
            entry = self.findings.get(key)
            if entry is None:
                if len(self.findings) < MAX_ROWS:
                    self.findings[key] = [count, list(lines)]
                    continue
                entry = self.other.get(key[1])
                if entry is None:
                    self.other[key[1]] = [count, list(lines)[:3]]
                    continue
            entry[0] += count
            entry[1] = sorted(set(entry[1]) | set(lines))[:3]

    # ------------------------------------------------------------------ report
    def report(self, pipeline) -> bool:
        """Print the findings on stdout; True when anything was found."""
        # (line 0: found in the metrics, which no input line wrote)
        rows = sorted((path, kind, entry[0], [n for n in entry[1][:3] if n])
                      for (path, kind), entry in self.findings.items() if entry[0])
        rows += sorted((OTHER, kind, entry[0], [n for n in entry[1][:3] if n]) for kind, entry in self.other.items())
        out = pipeline.env.stdout
        scanned = pipeline.stats.events_output
        if self.format == "json":
            doc = {"clean": not rows, "events_scanned": scanned,
                   "findings": [{"field": p, "kind": k, "count": n, "lines": ls}
                                for p, k, n, ls in rows if p is not OTHER]}
            if self.other:  # past MAX_ROWS field/kind pairs: counted per kind
                doc["other_field_paths"] = [{"kind": k, "count": n, "lines": ls}
                                            for p, k, n, ls in rows if p is OTHER]
            try:
                data = orjson.dumps(doc)
            except orjson.JSONEncodeError:  # a field path UTF-8 cannot hold: U+FFFD (safetext)
                data = orjson.dumps(clean_value(doc))
            # (DEL and C1 in a field path as JSON escapes, as the metrics JSON writes them: D18)
            out.write(escape_json_text(data.decode()).encode() + b"\n")
        elif not rows:
            out.write(f"PII scan: clean ({scanned} events scanned)\n".encode())
        else:
            # (a field path is data: its control characters shown as escapes, D18)
            rows = [(p if p is OTHER else escape_line(p), k, n, ls) for p, k, n, ls in rows]
            width_f = max(5, *(len(r[0]) for r in rows))
            width_k = max(4, *(len(r[1]) for r in rows))
            lines = [f"{'field':<{width_f}}  {'kind':<{width_k}}  {'count':>7}  first lines"]
            for p, k, n, ls in rows:
                lines.append(f"{p:<{width_f}}  {k:<{width_k}}  {n:>7}  {', '.join(map(str, ls)) or '-'}")
            total = sum(r[2] for r in rows)
            pairs = len(rows) - len(self.other)
            more = (f"; more than {MAX_ROWS} field/kind pairs: the first {MAX_ROWS} are listed, "
                    f"the others counted per kind as {OTHER}") if self.other else ""
            lines.append(f"PII scan: {total} finding{'s' if total != 1 else ''} in {pairs} "
                         f"field/kind pair{'s' if pairs != 1 else ''}{more} ({scanned} events scanned)")
            out.write(utf8("\n".join(lines) + "\n"))
        out.flush()
        return bool(rows)
