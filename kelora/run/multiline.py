"""`-M/--multiline`: physical lines joined into events before parsing (Kelora's strategies).

``timestamp[:format=FMT]``  a line whose start parses as a timestamp begins an event
``indent``                  a line that does not start with whitespace begins an event
``regex:match=RE[:end=RE]`` a line matching ``match`` begins an event; one matching ``end``
                            closes it (the end line belongs to the event)
``all``                     the whole input is one event (lines joined with newlines)

Options are split on ``:`` (so a pattern cannot contain a literal ``:``; ``\\x3A`` works).
Lines are joined with ``--multiline-join`` (space, newline or empty; default space).  Lines
dropped by line selection (``--skip-lines``, ``--keep-lines``, ``--ignore-lines``, blank lines
of formats other than ``line``) never reach the chunker, as in Kelora.  An event does not span
two input files.  ``MultilineInput.read`` is the read loop used instead of
``InputLoop.read_stream`` when ``-M`` is on, so runs without it pay nothing.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

from kelora.run.ingest import StopInput

JOINS = {"space": " ", "newline": "\n", "empty": ""}
_MAX_PREFIX_CHARS = 64
_MAX_TOKENS = 6
_WS = re.compile(r"\S+")


@dataclass(frozen=True)
class MultilineSpec:
    strategy: str  # "timestamp" | "indent" | "regex" | "all"
    fmt: str | None = None  # timestamp:format=
    start: str | None = None  # regex:match=
    end: str | None = None  # regex:end=
    join: str = "space"


def parse_spec(value: str, join: str = "space") -> MultilineSpec:
    """Kelora's ``MultilineConfig::parse``; a ValueError carries its message."""
    if not value.strip():
        raise ValueError("Empty multiline configuration")
    name, *options = value.split(":")
    if name == "timestamp":
        fmt = None
        for opt in options:
            if opt.startswith("format="):
                if fmt is not None:
                    raise ValueError("timestamp:format specified more than once")
                fmt = opt[len("format="):]
            else:
                raise ValueError(f"Unknown timestamp option: {opt} (supported: format=...)")
        return MultilineSpec("timestamp", fmt=fmt, join=join)
    if name in ("indent", "all"):
        if options:
            raise ValueError(f"{name} does not accept options")
        return MultilineSpec(name, join=join)
    if name == "regex":
        start = end = None
        for opt in options:
            if opt.startswith("match="):
                if start is not None:
                    raise ValueError("regex:match specified more than once")
                start = opt[len("match="):]
            elif opt.startswith("end="):
                if end is not None:
                    raise ValueError("regex:end specified more than once")
                end = opt[len("end="):]
            else:
                raise ValueError(f"Unknown regex option: {opt} (supported: match=..., end=...)")
        if start is None:
            raise ValueError("regex strategy requires match=REGEX (e.g. regex:match=^PID=)")
        return MultilineSpec("regex", start=start, end=end, join=join)
    raise ValueError(f"Unknown multiline strategy: {name} (supported: timestamp, indent, regex, all)")


def compile_patterns(spec: MultilineSpec) -> tuple:
    """The compiled (start, end) patterns of a regex strategy; a ValueError names the bad one."""
    if spec.strategy != "regex":
        return None, None
    out = []
    for what, pattern in (("start", spec.start), ("end", spec.end)):
        if pattern is None:
            out.append(None)
            continue
        try:
            with warnings.catch_warnings():  # (Python's FutureWarnings about sets are not ours to show)
                warnings.simplefilter("ignore")
                out.append(re.compile(pattern))
        except re.error as exc:
            raise ValueError(f"Invalid regex {what} pattern: {exc}") from None
    return tuple(out)


def _prefix_candidates(line: str) -> list[str]:
    """Kelora's ``timestamp_prefix_candidates``: the first 1..6 whitespace tokens (each prefix
    at most 64 characters), with trailing ``:,;-.`` trimmed as a variant, then the first 64
    characters."""
    out: list[str] = []
    tokens = []
    for m in _WS.finditer(line):
        tokens.append(m.end())
        if len(tokens) == _MAX_TOKENS:
            break
    for end in tokens:
        piece = line[:end]
        if len(piece) > _MAX_PREFIX_CHARS:
            continue
        if piece not in out:
            out.append(piece)
        trimmed = piece.rstrip(":,;-.")
        if len(trimmed) < len(piece) and len(trimmed) >= 4 and trimmed not in out:
            out.append(trimmed)
    fallback = line[:_MAX_PREFIX_CHARS]
    if fallback and fallback not in out:
        out.append(fallback)
    return out


class Chunker:
    """Physical lines in, ``(event text, first line number)`` out.

    *limit*: the most characters an event holds (``--max-line-bytes``, None: no limit).  The
    lines of an event past it are dropped as they come (its start and end are still looked
    for), so a start pattern that never matches, or ``-M all`` on a large input, holds about
    *limit* characters, not the whole input; ``on_cut(first, dropped)`` reports it."""

    def __init__(self, spec: MultilineSpec, limit: int | None = None, on_cut=None):
        self.spec = spec
        self.lines: list[str] = []
        self.first = 0
        self.limit = limit
        self.on_cut = on_cut
        self.size = 0  # the characters of the event so far (lines and joiners)
        self.dropped = 0  # its lines dropped past the limit
        self.joiner = "\n" if spec.strategy == "all" else JOINS[spec.join]
        self.start_re, self.end_re = compile_patterns(spec)
        strategy = spec.strategy
        if strategy == "timestamp":
            from kelora.timestamps import TsParser

            self._custom = TsParser(spec.fmt) if spec.fmt else None
            self._auto = TsParser()
            self.starts = self._timestamp_header
        elif strategy == "indent":
            self.starts = lambda line: not line[:1].isspace()
        elif strategy == "regex":
            search = self.start_re.search
            self.starts = lambda line: search(line) is not None
        else:
            self.starts = None

    def _timestamp_header(self, line: str) -> bool:
        if not line or line[0].isspace():
            return False
        candidates = [c for c in _prefix_candidates(line) if any(ch.isdigit() for ch in c)]
        for parser in (self._custom, self._auto):
            if parser is None:
                continue
            for cand in candidates:
                if parser.parse(cand)[0] is not None:
                    return True
        return False

    def feed(self, line: str, n: int) -> list[tuple[str, int]]:
        out = []
        if self.lines and self.starts is not None and self.starts(line):
            out.append(self._take())
        lines = self.lines
        if not lines:
            self.first = n
            self.size = -len(self.joiner)
        if self.limit is None or self.size < self.limit:
            lines.append(line)
            self.size += len(self.joiner) + len(line)
        else:
            self.dropped += 1
        if self.end_re is not None and self.end_re.search(line) is not None:
            out.append(self._take())
        return out

    def flush(self) -> tuple[str, int] | None:
        return self._take() if self.lines else None

    def _take(self) -> tuple[str, int]:
        text = self.joiner.join(self.lines)
        self.lines = []
        if self.dropped or (self.limit is not None and self.size > self.limit):
            text = text[:self.limit]
            dropped, self.dropped = self.dropped, 0
            if self.on_cut is not None:
                self.on_cut(self.first, dropped)
        return text, self.first


class MultilineInput:
    """Mixed into ``Pipeline`` (with ``InputLoop``): the read loop of ``-M`` runs."""

    def _event_cut(self, first: int, dropped: int) -> None:
        """An event over --max-line-bytes was cut (``Chunker``), reported as a long line is."""
        more = f", {dropped} more line{'s' if dropped != 1 else ''} dropped" if dropped else ""
        self._truncated(f"multiline event at line {first} is over --max-line-bytes "
                        f"{self.config.max_line_bytes}; truncated{more}")

    def _read_multiline(self, src) -> None:
        c = self.config
        stats = self.stats
        head = c.head
        max_bytes = c.max_line_bytes
        keep_re = re.compile(c.keep_lines).search if c.keep_lines else None
        ignore_re = re.compile(c.ignore_lines).search if c.ignore_lines else None
        line_format = c.input_format == "line"
        chunker = Chunker(c.multiline, max_bytes, self._event_cut)
        record = self._record
        meta_name = src.meta_name
        gate = self._input_gate(c.collects_stats)
        stop = False
        for raw in src.lines:  # (mirrors InputLoop.read_stream; lines of bounded length)
            self.line_num += 1
            n = self.line_num
            stats.lines_read += 1
            if head is not None and n > head:
                stats.lines_read -= 1
                stop = True
                break
            if raw[-1:] == b"\n":
                raw = raw[:-1]
                if raw[-1:] == b"\r":
                    raw = raw[:-1]
            if n <= c.skip_lines:
                stats.lines_filtered += 1
                continue
            if max_bytes is not None and len(raw) > max_bytes:
                raw = self._too_long(raw, n, src)  # (a capped reader's piece: the rest is dropped unread)
            if not line_format and not raw.strip():
                stats.lines_blank += 1
                continue
            text = self.decode(raw, n)
            if keep_re is not None and not keep_re(text):
                stats.lines_filtered += 1
                continue
            if ignore_re is not None and ignore_re(text):
                stats.lines_filtered += 1
                continue
            for text, first in chunker.feed(text, n):
                record(text, first, meta_name, gate)
        rec = chunker.flush()
        if rec is not None:
            record(rec[0], rec[1], meta_name, gate)
        if stop:
            raise StopInput()
