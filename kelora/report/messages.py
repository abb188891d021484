"""Everything kelora tells the user besides events: diagnostics, stats, error summaries.

``Reporter`` owns the suppression rules of reference §4.8 (``-q``, ``-s``/``-m``, ``--silent``,
``--no-diagnostics``, ``--no-warnings``, ``--no-hints``) and the plain/emoji prefixes, so no other
module decides whether a line is shown.  Stats render as the plain lines of §5.1 (or JSON); on a
terminal they become a rich table (COMPAT D13), imported only then.
"""
from __future__ import annotations

import json
from datetime import datetime

from kelora.config import Config
from kelora.escape import escape_json_text, escape_line
from kelora.report.stats import ErrorLog, Stats
from kelora.values import DateTime, Duration

PLAIN = {"error": "kelora: ", "warning": "kelora warning: ", "hint": "kelora hint: ", "status": "kelora: "}
EMOJI = {"error": "⚠️  ", "warning": "🔸 ", "hint": "💡 ", "status": "🔹 "}


def use_color(config: Config, env) -> bool:
    """--force-color/--no-color, else FORCE_COLOR (any value), else NO_COLOR, else stdout is a TTY."""
    if config.color is not None:
        return config.color
    if env.environ.get("FORCE_COLOR") is not None:
        return True
    if env.environ.get("NO_COLOR") is not None:
        return False
    return env.stdout_isatty


ONCE_OPEN, ONCE_KEY, ONCE_CLOSE = "\x00", "\x01", "\x02"  # (escaped text never holds them)


class Reporter:
    def __init__(self, config: Config, env):
        self.config = config
        self.err = env.stderr
        environ = env.environ
        color = use_color(config, env)
        emoji = config.emoji
        if emoji is None:
            emoji = color and environ.get("NO_EMOJI") is None
        self.color = color
        self.emoji = bool(emoji and color) if config.emoji is None else bool(config.emoji)
        self.prefix = EMOJI if self.emoji else PLAIN
        self.metrics_mode = config.metrics is not None
        # the derived "quiet level" of Kelora 2.x: 0 = everything, 1 = no diagnostics, 3 = data only
        if not config.script_output or config.data_only:
            self.quiet_level = 3
        elif config.silent or not (config.warnings or config.hints):
            self.quiet_level = 1
        else:
            self.quiet_level = 0

    # ------------------------------------------------------------------ what may be shown
    @property
    def warnings_on(self) -> bool:
        return self.config.warnings and not self.config.silent

    @property
    def hints_on(self) -> bool:
        if self.config.silent or not self.config.hints:
            return False
        if self.metrics_mode and not self.config.hints_forced:
            return False
        return True

    @property
    def verbose_errors(self) -> bool:
        """-v per-error lines: need verbosity and the quiet level 0."""
        return self.config.verbose > 0 and self.quiet_level == 0

    # ------------------------------------------------------------------ writers
    def write(self, text: str) -> None:
        self.err.write(text if text.endswith("\n") else text + "\n")
        self.err.flush()

    def error(self, message: str) -> None:
        if not self.config.silent:
            self.write(self.prefix["error"] + message)

    def fatal(self, message: str) -> None:
        """Errors that end the run are shown even under --silent (as its one line)."""
        self.write(self.prefix["error"] + message)

    def warning(self, message: str) -> None:
        if self.warnings_on:
            self.write(self.prefix["warning"] + message)

    # A batch run on its own (a --parallel worker, a Dask task) marks its once-only warnings,
    # so that the driver, which writes the batches' stderr in input order, keeps the first of
    # each (kelora.run.batching.first_warnings).  Each batch reports its own first occurrences.
    mark_once = False

    def warning_once(self, key: str, message: str) -> None:
        """A warning given once per run for *key* (``Diagnostics.warn_once``, traps)."""
        if not self.warnings_on:
            return
        if not self.mark_once:
            self.warning(message)
            return
        from kelora.escape import escape_diag, raw_stream

        raw = raw_stream(self.err)
        raw.write(ONCE_OPEN + key.encode("utf-8", "surrogatepass").hex() + ONCE_KEY)
        self.warning(escape_diag(message))
        raw.write(ONCE_CLOSE)

    def hint(self, message: str, *, survives_metrics: bool = False) -> None:
        if self.config.silent or not self.config.hints:
            return
        if self.metrics_mode and not self.config.hints_forced and not survives_metrics:
            return
        self.write(self.prefix["hint"] + message)

    def status(self, message: str) -> None:
        if self.config.verbose > 0 and self.quiet_level == 0:
            self.write(self.prefix["status"] + message)


# ---------------------------------------------------------------------------- stats

def _pct(part: int, whole: int) -> str:
    return f" ({part / whole * 100:.1f}%)" if whole else ""


def rfc3339(dt: datetime) -> str:
    """chrono's to_rfc3339 (the value model's datetime display)."""
    return DateTime(dt).iso()


def _span_text(span: list) -> str | None:
    first, last = span
    if first is None:
        return None
    if first == last:
        return f"{rfc3339(first)} (single timestamp)"
    secs = int((last - first).total_seconds())
    return f"{rfc3339(first)} to {rfc3339(last)} ({Duration(secs * 1_000_000_000).display()})"


def _throughput(stats: Stats) -> str | None:
    if not stats.lines_read:
        return None
    elapsed = max(stats.elapsed, 1e-9)
    rate = stats.lines_read / elapsed
    when = f"{elapsed:.2f}s" if elapsed >= 1 else f"{int(elapsed * 1000)}ms"
    return f"{rate:.0f} lines/s in {when}"


def _ts_descriptor(stats: Stats) -> str:
    """Kelora's timestamp line (stats.rs ``format_timestamp_summary``)."""
    field_name = stats.ts_override_field
    detected = sum(stats.ts_fields.values())
    parsed = stats.ts_parsed
    if not stats.events_created and not detected and not stats.ts_missing:
        if field_name is not None:
            return f"Timestamp: {field_name} (--ts-field) - no events processed."
        return "Timestamp: no events processed."
    if field_name is not None:
        if detected == 0:
            descriptor, hint = f"{field_name} (--ts-field) - not found", "Verify the field name or remove --ts-field to auto-detect."
        else:
            descriptor, hint = f"{field_name} (--ts-field)", "Adjust --ts-format." if parsed < detected else None
    elif not stats.ts_fields:
        events = stats.ts_missing or stats.events_created
        descriptor = f"(none found, {events} events)" if events else "(none found)"
        hint = "Try --ts-field or --ts-format."
    else:
        descriptor = f"{', '.join(stats.ts_fields)} (auto-detected)"
        hint = "Try --ts-field or --ts-format." if parsed < detected else None
    pct = parsed / detected * 100 if detected else 0.0
    text = f"Timestamp: {descriptor} - {parsed}/{detected} parsed ({pct:.1f}%)"
    if stats.ts_missing:
        text += f"; {stats.ts_missing} missing"
    text += "."
    if hint:
        text += f" Hint: {hint}"
    return text


# --stats[=FORMAT] and --scan-pii[=FORMAT] values
STATS_FORMATS = ("table", "json")


def stats_lines(stats: Stats, reporter: Reporter | None = None) -> list[str]:
    """The plain stats block of reference §5.1."""
    out = []
    if stats.format_counts:
        out.append("Detected formats: " + ", ".join(
            f"{name}={n} file{'s' if n != 1 else ''}" for name, n in stats.format_counts.items()))
    elif stats.format_name:
        out.append(f"Detected format: {stats.format_name}")
    out.append(
        f"Lines processed: {stats.lines_read} total, {stats.lines_filtered} filtered"
        f"{_pct(stats.lines_filtered, stats.lines_read)}, {stats.parse_errors} errors"
        f"{_pct(stats.parse_errors, stats.lines_read)}"
    )
    if stats.ragged_extra or stats.ragged_missing:
        parts = []
        if stats.ragged_extra:
            parts.append(f"{stats.ragged_extra} row{'s' if stats.ragged_extra != 1 else ''} with more columns than expected (extras kept as cN)")
        if stats.ragged_missing:
            parts.append(f"{stats.ragged_missing} row{'s' if stats.ragged_missing != 1 else ''} with fewer columns than expected (missing fields left absent)")
        out.append("Ragged rows: " + ", ".join(parts))
    out.append(
        f"Events created: {stats.events_created} total, {stats.events_output} output, "
        f"{stats.events_filtered} filtered{_pct(stats.events_filtered, stats.events_created)}"
    )
    tp = _throughput(stats)
    if tp:
        out.append(f"Throughput: {tp}")
    if stats.reveals is not None:  # --escrow runs: audits see every reveal()
        out.append(f"reveals: {stats.reveals}")
    out.append(_ts_descriptor(stats))
    override = stats.ts_override_warning()
    if override:
        out.append(f"Warning: {override}")
    if stats.files_failed:
        n = len(stats.files_failed)
        out.append(f"kelora: Failed to open {n} file{'s' if n != 1 else ''}")
    if stats.decode_warnings:
        n = stats.decode_warnings
        out.append(f"kelora warning: {n} line{'s' if n != 1 else ''} contained invalid UTF-8, "
                   f"decoded with U+FFFD substitution (first: {stats.decode_first})")
    if stats.ts_yearless:
        n = stats.ts_yearless
        out.append(f"kelora warning: Year-less timestamps detected ({n} parse{'s' if n != 1 else ''}): "
                   "year guessed via ±1yr heuristic, >18mo old may be wrong")
    span_in, span_out = _span_text(stats.span_in), _span_text(stats.span_out)
    if span_in and span_out and span_in != span_out:
        out.append(f"Input time span (before filtering): {span_in}")
        out.append(f"Output time span (after filtering): {span_out}")
    elif span_in:
        out.append(f"Time span: {span_in}")
    if stats.levels_seen:
        out.append("Levels seen: " + ",".join(sorted(stats.levels_seen)))
        if stats.levels_output and stats.levels_output != stats.levels_seen:
            out.append("Levels output: " + ",".join(sorted(stats.levels_output)))
    if stats.keys_seen:
        out.append("Keys seen: " + ",".join(sorted(stats.keys_seen)))
        if stats.keys_output and stats.keys_output != stats.keys_seen:  # empty lists print nothing
            out.append("Keys output: " + ",".join(sorted(stats.keys_output)))
    # key and level names, file names and samples come from the data: no raw controls (D18)
    return [escape_line(line) for line in out]


def stats_json(stats: Stats) -> str:
    def span(s):
        if s[0] is None:
            return None
        return {"start": rfc3339(s[0]), "end": rfc3339(s[1]),
                "duration_seconds": (s[1] - s[0]).total_seconds()}

    doc: dict = {
        "format": {"detected": stats.format_name,
                   **({"per_file": dict(stats.format_counts)} if stats.format_counts else {})},
        # blank/header/errored are additive keys (not in Kelora) so the accounting invariant of
        # stats.py can be checked from the JSON alone
        "lines": {"read": stats.lines_read, "filtered": stats.lines_filtered, "errors": stats.parse_errors,
                  "blank": stats.lines_blank, "header": stats.lines_header,
                  **({"joined": stats.lines_joined} if stats.lines_joined else {})},
        "events": {"created": stats.events_created, "output": stats.events_output,
                   "filtered": stats.events_filtered, "errored": stats.events_errored},
        "throughput": {
            "lines_per_second": round(stats.lines_read / stats.elapsed, 1) if stats.lines_read and stats.elapsed else None,
            "duration_ms": int(stats.elapsed * 1000),
        },
        "timestamp": {"fields": [stats.ts_override_field] if stats.ts_override_field else list(stats.ts_fields),
                      "overridden": stats.ts_override_field is not None,
                      "detected": sum(stats.ts_fields.values()), "parsed": stats.ts_parsed,
                      "absent": stats.ts_missing, "yearless_inferred": stats.ts_yearless},
    }
    if stats.reveals is not None:
        doc["reveals"] = stats.reveals
    if stats.span_in[0] is not None:
        doc["time_span"] = {"input": span(stats.span_in), "output": span(stats.span_out)}
    if stats.levels_seen:
        doc["levels"] = {"seen": sorted(stats.levels_seen)}
        if stats.levels_output != stats.levels_seen:
            doc["levels"]["output"] = sorted(stats.levels_output)
    if stats.keys_seen:
        doc["keys"] = {"seen": sorted(stats.keys_seen)}
        if stats.keys_output != stats.keys_seen:
            doc["keys"]["output"] = sorted(stats.keys_output)
    if stats.ragged_extra or stats.ragged_missing:
        doc["ragged_rows"] = {"extra_columns": stats.ragged_extra, "missing_columns": stats.ragged_missing}
    if stats.decode_warnings:
        doc["decode_warnings"] = stats.decode_warnings
    if stats.assertion_failures:
        doc["assertion_failures"] = stats.assertion_failures
    if stats.fields_withheld or stats.events_withheld_dropped:
        doc["withheld"] = {"fields": stats.fields_withheld, "events": stats.events_withheld,
                           "events_dropped": stats.events_withheld_dropped}
    doc["files"] = {"processed": stats.files_processed, "failed_to_open": len(stats.files_failed)}
    return escape_json_text(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n"


def stats_rich(stats: Stats, file, terminal: bool = False) -> None:
    """Terminal rendering (COMPAT D13): the same facts as a rich table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="kelora stats", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    for line in stats_lines(stats):
        key, _, value = line.partition(": ")
        table.add_row(key, value)
    Console(file=file, force_terminal=terminal or None).print(table)


# ---------------------------------------------------------------------------- error summary

KIND_TITLES = {"parse": "Parse", "exec": "Exec", "filter": "Filter", "assert": "Assert", "script": "Script"}


def error_summary(errors: ErrorLog, stats: Stats, *, strict: bool, hints: bool) -> tuple[str, str] | None:
    """(level, text) for the end-of-run summary, or None.  level is "warning" or "error"."""
    parts: list[str] = []
    total = errors.total
    recovered_only = total > 0 and set(errors.counts) <= {"exec", "filter"} and not strict
    if total:
        kinds = list(errors.counts)
        if len(kinds) == 1:
            kind = kinds[0]
            head = f"{KIND_TITLES.get(kind, kind.capitalize())} errors: {total} total"
        else:
            kind = None
            head = f"Mixed errors: {total} total"
        created = stats.events_created
        every = False
        if kind in ("exec", "filter") and not strict and created:
            if total >= created:
                head += ", affecting every event"
                every = True
            elif total / created >= 0.9:
                head += f", affecting {total / created * 100:.1f}% of events"
        lines = [head]
        if every and hints:
            lines.append("  This usually means a script bug or field-name typo. Use --strict to fail "
                         "immediately, or --verbose to inspect each error.")
        for i, (kind_i, loc, msg) in enumerate(errors.samples[:3]):
            lines.append(f"  {loc}: {msg}")
            if i == 0 and errors.first_render and kind_i in ("exec", "filter"):
                # where the first one happened: the source line and a caret (as compile errors)
                shown = [ln for ln in errors.first_render.split("\n")[1:]
                         if not ln.startswith(("  Error:", "  Hint:"))]
                lines.extend("  " + ln for ln in shown)
        if total > 3:
            lines.append(f"  [+{total - 3} more. Use -v to see each error or --no-diagnostics to suppress this summary.]")
        lines.extend(withheld_lines(stats))
        parts.append("\n".join(lines))
    recap = []
    if stats.parse_errors:
        recap.append(f"{stats.parse_errors} parse error{'s' if stats.parse_errors != 1 else ''}")
    if recap or stats.files_failed or stats.assertion_failures:
        if stats.events_filtered:
            recap.append(f"{stats.events_filtered} event{'s' if stats.events_filtered != 1 else ''} filtered")
        if stats.files_failed:
            n = len(stats.files_failed)
            recap.append(f"{n} file{'s' if n != 1 else ''} failed to open ({', '.join(stats.files_failed)})")
        if stats.assertion_failures:
            n = stats.assertion_failures
            recap.append(f"{n} assertion failure{'s' if n != 1 else ''}")
        parts.append("Processing completed with " + ", ".join(recap))
        recovered_only = False
    if not parts:
        return None
    joiner = "\n" if "\n" in parts[0] else "; "
    return ("warning" if recovered_only else "error"), joiner.join(parts)


def withheld_lines(stats: Stats) -> list[str]:
    """What failed privacy stages took out of the output instead of restoring it (COMPAT D17)."""
    out = []
    n, events = stats.fields_withheld, stats.events_withheld
    if n:
        out.append(f"  Privacy stage failures: {n} field{'s' if n != 1 else ''} withheld from "
                   f"{events} event{'s' if events != 1 else ''} (left out, not restored raw; "
                   f"--fail-open restores them, --fail-closed drops the events)")
    dropped = stats.events_withheld_dropped
    if dropped:
        out.append(f"  Privacy stage failures: {dropped} event{'s' if dropped != 1 else ''} dropped "
                   f"(the stage changes fields that cannot be listed, e.g. e[name] = … or e.merge(…))")
    return out


def silent_fatal_line(errors: ErrorLog) -> str:
    """The single line --silent prints when the run fails (reference §6.4)."""
    total = errors.total
    if not total:
        return "fatal error encountered"
    kinds = list(errors.counts)
    if len(kinds) == 1:
        kind = kinds[0]
        locs = [loc for _, loc, _ in errors.samples]
        if total == 1:
            msg = errors.samples[0][2] if errors.samples else ""
            return f"1 {kind} error: {msg[:80]}"
        if total <= 3 and locs:
            return f"{total} {kind} errors at {', '.join(locs[:3])}"
        return f"{total} {kind} errors (first at: {locs[0] if locs else '?'})"
    if len(kinds) <= 10:
        return f"{total} errors: " + ", ".join(f"{errors.counts[k]} {k}" for k in kinds)
    return f"{total} errors (mixed types)"
