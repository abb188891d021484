"""Run counters (`--stats`) and the error log behind the end-of-run summary.

Both are plain data with a ``merge`` so worker processes can each count their share and the
parent adds them up (``--parallel``).  Rendering lives in ``report.py``.

Accounting invariant (reference §5.1), checked by the reliability tests:
    lines read = lines filtered + parse errors + blank lines + header lines + events created
                 + joined lines
    events created = events output + events filtered + events errored
where a CSV header line counts as read and as neither filtered nor created, a joined line is a
physical line that continued the record of an earlier one (a CSV quoted newline), and "errored" is an
event dropped because its stage failed (``--fail-closed``, a ``conf`` mutation).  ``emit_each``
replaces an event by the ones it emits, so with it only the first equation holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kelora.formats.fields import LEVEL_KEYS
from kelora.timestamps import NAIVE, YEARLESS


@dataclass
class Stats:
    format_name: str = ""
    format_counts: dict[str, int] = field(default_factory=dict)  # -f auto-per-file: files per format
    lines_read: int = 0
    lines_filtered: int = 0
    lines_blank: int = 0
    lines_header: int = 0
    lines_joined: int = 0  # continuation lines of a record (CSV quoted newlines)
    parse_errors: int = 0
    events_created: int = 0
    events_output: int = 0
    events_filtered: int = 0
    events_errored: int = 0  # dropped by --fail-closed or a conf violation
    fields_withheld: int = 0  # taken out of events by failed privacy stages (COMPAT D17)
    events_withheld: int = 0  # events with fields withheld (kept) by a failed privacy stage
    events_withheld_dropped: int = 0  # events dropped by a failed privacy stage (untraceable targets)
    ragged_extra: int = 0
    ragged_missing: int = 0
    decode_warnings: int = 0
    decode_first: str | None = None
    truncated_lines: int = 0
    assertion_failures: int = 0
    files_processed: int = 0
    files_failed: list[str] = field(default_factory=list)
    # collected only when stats are shown (they cost per event)
    keys_seen: set[str] = field(default_factory=set)
    keys_output: set[str] = field(default_factory=set)
    levels_seen: set[str] = field(default_factory=set)
    levels_output: set[str] = field(default_factory=set)
    # timestamps (counted whenever they are looked at: stats, --since/--until); ts_fields in
    # first-seen order, as Kelora lists them
    ts_fields: dict[str, int] = field(default_factory=dict)
    ts_parsed: int = 0
    ts_missing: int = 0
    ts_yearless: int = 0  # year inferred (BSD syslog)
    ts_naive: int = 0  # no zone offset: the default zone was assumed
    ts_override_field: str | None = None  # --ts-field / --ts-format (for the stats line)
    ts_override_format: str | None = None
    span_in: list = field(default_factory=lambda: [None, None])
    span_out: list = field(default_factory=lambda: [None, None])
    elapsed: float = 0.0
    reveals: int | None = None  # reveal() calls of an --escrow run (None: no escrow)

    def merge(self, other: "Stats") -> None:
        for name in ("lines_read", "lines_filtered", "lines_blank", "lines_header", "lines_joined", "parse_errors",
                     "events_created", "events_output", "events_filtered", "events_errored",
                     "ragged_extra", "ragged_missing", "decode_warnings", "truncated_lines",
                     "assertion_failures", "ts_parsed", "ts_missing", "fields_withheld", "events_withheld",
                     "events_withheld_dropped", "ts_yearless", "ts_naive"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.decode_first = self.decode_first or other.decode_first
        for name in ("keys_seen", "keys_output", "levels_seen", "levels_output"):
            getattr(self, name).update(getattr(other, name))
        for k, v in other.ts_fields.items():
            self.ts_fields[k] = self.ts_fields.get(k, 0) + v
        for mine, theirs in ((self.span_in, other.span_in), (self.span_out, other.span_out)):
            if theirs[0] is not None:
                mine[0] = theirs[0] if mine[0] is None else min(mine[0], theirs[0])
                mine[1] = theirs[1] if mine[1] is None else max(mine[1], theirs[1])

    # ---------------------------------------------------------------- per-event observation
    def observe_time(self, field_name: str | None, ts: datetime | None, flags: int) -> None:
        """The input timestamp of one event (``EventTime.of``)."""
        if field_name is None:
            self.ts_missing += 1
            return
        self.ts_fields[field_name] = self.ts_fields.get(field_name, 0) + 1
        if ts is not None:
            self.ts_parsed += 1
            if flags:
                if flags & YEARLESS:
                    self.ts_yearless += 1
                if flags & NAIVE:
                    self.ts_naive += 1
            span = self.span_in
            if span[0] is None or ts < span[0]:
                span[0] = ts
            if span[1] is None or ts > span[1]:
                span[1] = ts

    def observe_input(self, event: dict) -> None:
        self.keys_seen.update(event)
        level = level_of(event)
        if level is not None:
            self.levels_seen.add(level)

    def observe_output(self, event: dict, ts_of, written: dict | None = None) -> None:
        """*written*: the event as -k/-K/-c left it, whose keys are what really left (issue 11)."""
        self.keys_output.update(event if written is None else written)
        level = level_of(event)
        if level is not None:
            self.levels_output.add(level)
        ts = ts_of(event)[1]
        if ts is not None:
            _widen(self.span_out, ts)

    def mirror_output(self) -> None:
        """The written events' observations are the input's (every non-empty event read was
        counted as written: kelora.run.ingest's count-only loop without stages)."""
        self.keys_output |= self.keys_seen
        self.levels_output |= self.levels_seen
        for ts in self.span_in:
            if ts is not None:
                _widen(self.span_out, ts)

    def ts_override_warning(self) -> str | None:
        """Kelora's warning when --ts-field/--ts-format parsed nothing at all."""
        field_name, fmt = self.ts_override_field, self.ts_override_format
        detected = sum(self.ts_fields.values())
        if (field_name is None and fmt is None) or not self.events_created or self.ts_parsed \
                or (detected == 0 and self.ts_missing == 0):
            return None
        reasons = []
        if field_name is not None:
            reasons.append(f"--ts-field {field_name} was not found in the input" if detected == 0
                           else f"--ts-field {field_name} values could not be parsed")
        if fmt is not None:
            reasons.append(f"--ts-format '{fmt}' had no timestamp fields to apply to" if detected == 0
                           else f"--ts-format '{fmt}' did not match any timestamp values")
        return "; ".join(reasons)


def _widen(span: list, ts: datetime) -> None:
    if span[0] is None or ts < span[0]:
        span[0] = ts
    if span[1] is None or ts > span[1]:
        span[1] = ts


def level_of(event: dict) -> str | None:
    for key in LEVEL_KEYS:
        value = event.get(key)
        if type(value) is str:
            return value
    return None


@dataclass
class ErrorLog:
    """Recorded per-event errors by kind, with the first samples for the summary."""

    counts: dict[str, int] = field(default_factory=dict)
    samples: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, location, message)
    filter_errors: dict[int, int] = field(default_factory=dict)  # stage index -> errors
    filter_ok: dict[int, int] = field(default_factory=dict)  # stage index -> clean evaluations
    script_errors: int = 0  # conf violations: always fatal for the exit code
    first_render: str | None = None  # the first script error with its line and caret

    def record(self, kind: str, location: str, message: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if len(self.samples) < 50:
            self.samples.append((kind, location, message))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def merge(self, other: "ErrorLog") -> None:
        for k, v in other.counts.items():
            self.counts[k] = self.counts.get(k, 0) + v
        self.samples.extend(other.samples[: max(0, 50 - len(self.samples))])
        for mine, theirs in ((self.filter_errors, other.filter_errors), (self.filter_ok, other.filter_ok)):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v
        self.script_errors += other.script_errors
        self.first_render = self.first_render or other.first_render
