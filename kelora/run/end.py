"""The end of a run: commit the output, print metrics, stats and the error summary, exit code.

``RunEnd`` is mixed into ``Pipeline``.  Order (reference §5): metrics (after ``--end``), then
stats, then the error summary; ``--metrics-file`` is written atomically whatever else is shown.
"""
from __future__ import annotations

from kelora.safetext import ERRORS

from kelora.atomicfile import write_atomic
from kelora.escape import escape_line
from kelora.formats.select_input import split_spec
from kelora.report.messages import error_summary, silent_fatal_line, stats_json, stats_lines, stats_rich
from kelora.status import ExitStatus


class RunEnd:
    """Mixed into ``Pipeline``: uses its config, env, stats, errors, reporter, ctx and sink."""

    def _finish_outputs(self, commit: bool, report: bool = True, summary: bool = True) -> None:
        progress = self.progress
        if progress is not None:
            progress.stop()  # the bar goes away before metrics and stats are printed
        self._scan_metrics()
        if commit and self.privacy is not None and self.privacy.blocks_export(self):
            commit = False  # --scan-pii -o found PII: the export is not written
        try:
            self.sink.close(commit=commit)
        finally:
            if self.privacy is not None:  # escrow rows, the rotation map (kelora.privacy)
                self.privacy.finish(self, commit=commit)
        if not report:
            return
        self._write_metrics()
        self._write_stats()
        if self.privacy is not None:
            self.privacy.report_scan(self)  # --scan-pii: the findings, and exit 1 when any
        if summary:
            self._write_summary()
            self._write_hints()
        self._detection_warning()

    def _scan_metrics(self) -> None:
        """--scan-pii: the metrics a run writes or shows are scanned too (under metrics.NAME),
        before the gate decides: any finding keeps both the -o export and the --metrics-file
        from being written."""
        c = self.config
        scanner = self.privacy.scanner if self.privacy is not None else None
        if scanner is not None and (c.metrics_file or c.metrics is not None or c.with_metrics):
            import orjson

            from kelora.metrics import render as metrics_render

            scanner.scan_metrics(orjson.loads(metrics_render.render(self.ctx.metrics, "json") or "{}"))

    def write_diagnostics(self) -> None:
        """What a run that is not stopped early prints after its metrics and stats: the error
        summary, the end-of-run hints and the detection warning (the Python API, whose metrics
        and stats are read rather than printed, calls it alone)."""
        self._write_summary()
        self._write_hints()
        self._detection_warning()

    def _detection_warning(self) -> None:
        """Kelora's warning when an auto-detected format (not ``line``) failed on many lines:
        at least 10 parse errors and a third of the lines, or no event at all after 3."""
        from kelora.run.ingest import MOSTLY_FAILED

        if not any(fmt != "line" for fmt in self.detected_formats):
            return
        errors, created = self.stats.parse_errors, self.stats.events_created
        seen = max(1, errors + created)
        if (errors >= 10 and errors * 3 >= seen) or (created == 0 and errors >= 3):
            self.reporter.warning(MOSTLY_FAILED)

    def _write_metrics(self) -> None:
        from kelora.metrics import render as metrics_render

        c = self.config
        store = self.ctx.metrics
        scanner = self.privacy.scanner if self.privacy is not None else None
        blocked = scanner is not None and bool(scanner.findings or scanner.other) and c.metrics_file
        if blocked:  # (--scan-pii: a gated file, as the -o export)
            self.reporter.write(f"kelora: --scan-pii found personal data: '{escape_line(c.metrics_file)}' not written")
        if c.metrics_file and not blocked:
            text = metrics_render.render(store, "json").rstrip("\n")
            try:
                write_atomic(c.metrics_file, text, prefix=".kelora-metrics-")
            except OSError as exc:
                # a requested output that was not written fails the run (like an -o failure)
                self.reporter.fatal(f"Failed to write metrics file '{c.metrics_file}': {exc.strerror or exc}")
                self.exit_override = ExitStatus.ERROR
        shown = False
        if c.metrics is not None and not c.silent:
            fmt = c.metrics
            if fmt == "auto":
                fmt = "full" if self.env.stdout_isatty else "tsv"
            if fmt == "full" and self.env.stdout_isatty:
                self.env.stdout.write(_rich_text(metrics_render.rich_table(store, "full")).encode("utf-8", ERRORS))
                self.env.stdout.flush()
            else:
                text = metrics_render.render(store, fmt)
                if text and not text.endswith("\n"):
                    text += "\n"
                if text:
                    self.env.stdout.write(text.encode("utf-8", ERRORS))
                    self.env.stdout.flush()
            shown = True
        if c.with_metrics and not c.silent:
            text = metrics_render.render(store, "full")
            if not text.endswith("\n"):
                text += "\n"
            lead = "\n" if self._events_on_terminal() else ""
            self.env.stderr.write(f"{lead}{self.reporter.prefix['status'] if self.reporter.emoji else 'kelora: '}Tracked metrics:\n{text}")
            self.env.stderr.flush()
            shown = True
        hint = store.skipped_hint()
        if hint:
            self.reporter.hint(hint, survives_metrics=True)
        if not shown and not c.metrics_file and c.end is None and not store.is_empty():
            self.reporter.hint("Metrics recorded; rerun with -m or --metrics=json to view them.")

    def _write_stats(self) -> None:
        c = self.config
        if c.silent:
            return
        if not self.stats.format_name and c.input_format != "auto":  # no line was read
            self.stats.format_name = split_spec(c.input_format)[0]
        if c.stats is not None:
            if c.stats == "json":
                self.env.stdout.write(stats_json(self.stats).encode("utf-8", ERRORS))
            elif self.env.stdout_isatty:  # COMPAT D13: a rich table on a terminal
                import io

                buf = io.StringIO()
                stats_rich(self.stats, buf, terminal=True)
                self.env.stdout.write(buf.getvalue().encode("utf-8", ERRORS))
            else:
                self.env.stdout.write(("\n".join(stats_lines(self.stats)) + "\n").encode("utf-8", ERRORS))
            self.env.stdout.flush()
        if c.with_stats:
            lead = "\n" if self._events_on_terminal() else ""
            head = "📈 Stats:" if self.reporter.emoji else "kelora: Stats:"
            if self.env.stderr_isatty:
                from kelora.escape import raw_stream

                self.env.stderr.write(f"{lead}{head}\n")
                stats_rich(self.stats, raw_stream(self.env.stderr))  # its lines are escaped
            else:
                self.env.stderr.write(f"{lead}{head}\n" + "\n".join(stats_lines(self.stats)) + "\n")
            self.env.stderr.flush()

    def _events_on_terminal(self) -> bool:
        """Whether events were printed to stdout (then stderr blocks start with a blank line)."""
        return bool(self.stats.events_output) and not self.sink.suppressed and not self.config.output_file

    def _write_summary(self) -> None:
        c = self.config
        code = self.exit_code()
        if c.silent:
            if code != 0:
                self.reporter.fatal(silent_fatal_line(self.errors))
            return
        self._time_hints()
        if c.stats is not None:
            return
        if self.stats.decode_warnings and not c.with_stats:  # (the stats block carries it otherwise)
            n = self.stats.decode_warnings
            self.reporter.warning(f"{n} line{'s' if n != 1 else ''} contained invalid UTF-8, decoded "
                                  f"with U+FFFD substitution (first: {self.stats.decode_first})")
        summary = error_summary(self.errors, self.stats, strict=c.strict,
                                hints=self.reporter.hints_on)
        if summary is None:
            return
        level, text = summary
        if level == "warning":
            self.reporter.warning(text)
        else:
            self.reporter.error(text)

    def _time_hints(self) -> None:
        """Kelora's timestamp diagnostics at the end of a run: --ts-field/--ts-format that
        parsed nothing (an error under --strict, shown when the stats do not show it), the
        silent UTC assumption behind a time filter or --normalize-ts, and a --since/--until
        that matched nothing because no timestamp parsed."""
        c, stats = self.config, self.stats
        override = stats.ts_override_warning()
        if override and c.strict and c.stats is None:
            self.reporter.error(override)
        if stats.ts_naive and c.tz_assumed and (c.time_window or c.normalize_ts):
            if c.normalize_ts:
                self.reporter.hint("Timestamps carry no zone offset; assuming UTC, and --normalize-ts writes "
                                   "that offset into the output. Pass --input-tz <zone> if your source is not UTC.")
            else:
                self.reporter.hint("Timestamps carry no zone offset; assuming UTC. Pass --input-tz <zone> "
                                   "if your source is not UTC.")
        if (c.time_window and stats.events_created and not stats.events_output and not stats.ts_parsed
                and not self.errors.total):
            self.reporter.hint(f"0 events matched. --since/--until is set, but no timestamps were parsed "
                               f"({stats.ts_parsed}/{stats.events_created} events). Set --ts-field/--ts-format; "
                               "see --help-time.")

    # ------------------------------------------------------------------ hints (hints.py)
    def sample_for_hints(self):
        """The Sample of input lines for the end-of-run hints, or None when none can be due."""
        if not self.hint_sample_ready:
            from kelora.report import hints

            on = self.reporter.hints_on and not self.config.silent and hints.wanted(self.config)
            self.hint_sample = hints.Sample() if on else None
            self.hint_sample_ready = True
        return self.hint_sample

    def _write_hints(self) -> None:
        from kelora.report import hints

        c, stats = self.config, self.stats
        if not self.reporter.hints_on or c.silent:
            return
        # (an interrupted run did not find stdin empty: Ctrl-C stopped it while it waited for
        # input; its lines read are counted even when the signal came as the pipe ended)
        if (not c.files and not c.no_input and not self.env.stdin_isatty and self.interrupted is None
                and stats.lines_read == 0 and not stats.files_failed  # (unreadable: said already)
                and stats.events_created == 0 and stats.parse_errors == 0 and c.head != 0
                and c.stats is None and c.metrics is None):
            self.reporter.hint(hints.NO_INPUT)
            return
        ragged = hints.ragged_rows(stats)
        if ragged and not c.with_stats and c.stats is None:
            self.reporter.hint(ragged)
        sample = self.hint_sample
        if sample is None and not stats.keys_seen:
            return
        if c.has_scripts:  # (the fields a privacy function reads: kelora.lang.names fills it)
            from kelora.lang.explain import PRIVATE
        else:
            PRIVATE = frozenset()
        fields = set(hints.filter_fields(c))
        fmt = stats.format_name or c.input_format
        seen = hints.observe(sample, fmt, c.strict, fields)
        message = hints.zero_results(c, stats, self.errors.total, seen, PRIVATE)
        if message:
            self.reporter.hint(message)
        for message in hints.key_typos(c, stats, seen):
            self.reporter.hint(message)

    def exit_code(self) -> int:
        if self.exit_override is not None:
            return self.exit_override
        s, e = self.stats, self.errors
        if e.counts.get("parse") and s.events_created == 0:
            return ExitStatus.ERROR
        for index, count in e.filter_errors.items():
            if count and not self.builder.filter_ok.get(index):
                return ExitStatus.ERROR
        if s.assertion_failures or s.files_failed or e.script_errors:
            return ExitStatus.ERROR
        if self.config.strict and s.ts_override_warning():
            return ExitStatus.ERROR
        return ExitStatus.OK



def _rich_text(renderable) -> str:
    """Render a rich object to text for a terminal (rich is imported only here)."""
    import io
    import shutil

    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, force_terminal=True, width=shutil.get_terminal_size((100, 20)).columns).print(renderable)
    return buf.getvalue()
