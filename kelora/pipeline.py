"""The run: compile every script, read lines, run stages in order, write events, report.

``run(config, env) -> exit code`` is the whole program behind the flags.  It never touches
``sys``: input, output, terminal facts and environment variables come in through ``Env``.

Order of a run (reference §4-§6): compile all scripts (nothing is read if one fails) → open the
output → ``--begin`` → for each line: line selection → parse → stages → output → ``--end`` →
metrics → stats → error summary → exit code.  Ctrl-C / SIGTERM still flush metrics and stats.
"""
from __future__ import annotations

import os
import re
import time

from kelora.config import Config
from kelora.context import Diagnostics, RunContext, Scope
from kelora.errors import (ExitRequest, FatalError, InputError, KeloraError, ScriptError,
                           ScriptRuntimeError, SkipEvent, UsageError)
from kelora.output import OutputSink
from kelora.report import Reporter, error_summary, silent_fatal_line, stats_json, stats_lines, stats_rich
from kelora.stages import StageBuilder, StageFailed
from kelora.stats import ErrorLog, Stats
from kelora.status import ExitStatus

_META_WORDS = re.compile(r"\b(meta|line)\b")
WHITESPACE = frozenset(b" \t\r\n\x0b\x0c")


class StopInput(Exception):
    """--take reached or --head exhausted: stop reading, finish normally."""


class Pipeline:
    def __init__(self, config: Config, env):
        self.config = config
        self.env = env
        self.reporter = Reporter(config, env)
        self.stats = Stats()
        self.errors = ErrorLog()
        self.sink: OutputSink | None = None
        self.line_num = 0
        self.current_label = "stdin"
        self.exit_override: int | None = None
        self.interrupted: int | None = None
        self.parser = None
        self.parser_consumed_first = False
        self.called_functions: frozenset[str] = frozenset()
        self.ctx = RunContext(
            env=env.environ,
            diagnostics=Diagnostics(self._script_print, self._script_eprint, self.reporter.warning),
            allow_fs_writes=config.allow_fs_writes,
            strict=config.strict,
            secret_file=config.secret_file,
            pseudonym_notice=self._pseudonym_notice,
        )

    # ------------------------------------------------------------------ script output
    def _script_print(self, text: str) -> None:
        if self.config.script_output and not self.config.data_only:
            if self.sink is not None:
                self.sink.script_print(text)
            else:
                self.env.stdout.write((text + "\n").encode("utf-8", "replace"))

    def _script_eprint(self, text: str) -> None:
        if self.config.script_output and not self.config.data_only:
            if self.sink is not None:
                self.sink.flush()
            self.env.stderr.write(text + "\n")
            self.env.stderr.flush()

    def _pseudonym_notice(self, kind: str, text: str) -> None:
        if kind == "warning":
            # shown only at quiet level 0 (hidden by -s, -m, --silent, --no-diagnostics,
            # --no-script-output) but not by -q (reference §7)
            if self.reporter.quiet_level == 0 and self.config.warnings and not self.config.silent:
                self.reporter.write(self.reporter.prefix["error"] + text)
        elif self.config.verbose >= 2 and self.reporter.quiet_level == 0:
            self.reporter.write(self.reporter.prefix["status"] + text)

    # ------------------------------------------------------------------ compile
    def compile(self) -> None:
        from kelora.lang import compile_script

        c = self.config
        self.begin = self.end = None
        if c.begin is not None:
            self.begin = compile_script(c.begin, label="begin", mode="script", stage="begin",
                                        prelude=c.begin_prelude)
        calls: set[str] = set()
        if self.begin is not None:
            calls |= self.begin.calls
        builder = StageBuilder(self.ctx, self._record_error, strict=c.strict,
                               fail_closed=c.fail_closed, assert_failed=self._assert_failed)
        self.builder = builder
        fns = []
        needs_meta = c.output_format == "inspect"
        reusable = True  # may one Scope object serve every event? (see _read_json_fast)
        filter_index = 0
        for stage in c.stages:
            if stage.kind in ("levels", "exclude_levels"):
                fns.append(builder.levels_stage(stage.text, keep=stage.kind == "levels"))
                continue
            mode = "script" if stage.kind == "exec" else "expression"
            kind = "exec" if stage.kind == "exec" else ("filter" if stage.kind == "filter" else "assert")
            prog = compile_script(stage.text, label=stage.label, mode=mode, stage=kind,
                                  prelude=stage.prelude)
            calls |= prog.calls
            if stage.prelude or _captures_scope(prog):
                reusable = False
            if _META_WORDS.search(stage.text) or (stage.prelude and _META_WORDS.search(stage.prelude)):
                needs_meta = True
            if kind == "exec":
                fns.append(builder.exec_stage(prog))
            elif kind == "filter":
                fns.append(builder.filter_stage(prog, filter_index))
                filter_index += 1
            else:
                needs_meta = True
                fns.append(builder.assert_stage(prog))
        if c.end is not None:
            self.end = compile_script(c.end, label="end", mode="script", stage="end",
                                      prelude=c.end_prelude)
        if self.end is not None:
            calls |= self.end.calls
        self.called_functions = frozenset(calls)
        self.stage_fns = tuple(fns)
        self.needs_meta = needs_meta
        self.scope_reusable = reusable

    # ------------------------------------------------------------------ errors
    def _location(self) -> str:
        if self.current_label == "stdin":
            return f"line {self.line_num}"
        return f"{self.current_label}:{self.line_num}"

    def _verbose_location(self) -> str:
        """-v lines: in multi-file runs `<basename>:<n>` when basenames are unique (reference §6.1)."""
        files = [f for f in self.config.files if f != "-"]
        if self.current_label == "stdin" or len(self.config.files) < 2:
            return self._location()
        names = [os.path.basename(f) for f in files]
        label = os.path.basename(self.current_label) if len(names) == len(set(names)) else self.current_label
        return f"{label}:{self.line_num}"

    def _record_error(self, kind: str, scope: Scope | None, message: str, filter_index: int | None) -> None:
        loc = self._location()
        self.errors.record(kind, loc, message)
        if kind == "script":  # reported by the end-of-run summary (and by -v as it happens)
            self.errors.script_errors += 1
        if filter_index is not None:
            self.errors.filter_errors[filter_index] = self.errors.filter_errors.get(filter_index, 0) + 1
        if self.reporter.verbose_errors:
            self.reporter.write(f"{self.reporter.prefix['error']}{self._verbose_location()}: {kind} - {message}")

    def _assert_failed(self, text: str, scope: Scope) -> None:
        from kelora.formats import make_formatter

        self.stats.assertion_failures += 1
        rendered = make_formatter("default")(scope.e or {}).decode("utf-8", "replace").rstrip("\n")
        loc = self._location()
        if not self.config.silent:
            self.reporter.write(f"kelora: assert failed: {text}\n  {loc}: {rendered}")
        if self.config.strict:
            raise StageFailed(f"assert failed: {text}")

    # ------------------------------------------------------------------ the run
    def run(self) -> int:
        c = self.config
        started = time.perf_counter()
        try:
            self.compile()
        except ScriptError as err:
            self.reporter.fatal(f"Pipeline error: {err.render()}")
            return ExitStatus.ERROR
        from kelora.formats import keys_required_error, needs_keys

        if needs_keys(c.output_format) and not c.keys:
            raise FatalError(f"Pipeline error: {keys_required_error(c.output_format).message}")
        for hint in c.extra.get("hints", ()):
            self.reporter.hint(hint)
        if c.config_path:
            self.reporter.status(f"Config loaded: {c.config_path}")
        self.sink = OutputSink(c, self.env, self.stats)
        status = ExitStatus.OK
        try:
            try:
                self.sink.open()
                self._run_begin()
                if not c.no_input:
                    # --take stops after N events, and CSV headers are per file: sequential
                    per_file_header = len(c.files) > 1 and c.input_format.split(":")[0].split()[0] in ("csv", "tsv")
                    if c.parallel and c.take is None and not per_file_header:
                        from kelora.parallel import ParallelReader

                        ParallelReader(self).read_inputs()
                    else:
                        self._read_inputs()
                self._run_end()
            except StopInput:
                self._run_end()
        except StageFailed as fail:
            self.sink.flush()
            self.reporter.fatal(f"Pipeline error: {fail.message}")
            self.stats.elapsed = time.perf_counter() - started
            # --strict stopped the run: no partial -o export (docs/compat.md), and the
            # "Pipeline error" line already is the summary
            self._finish_outputs(commit=False, summary=False)
            return ExitStatus.ERROR
        except ExitRequest as req:
            self.sink.flush()
            if req.message:
                self.env.stderr.write(req.message + "\n")
            # exit(0) is a normal early end; exit(n > 0) reports a failure: no -o export
            self._finish_outputs(commit=req.code == 0, report=False)
            return req.code
        except KeyboardInterrupt as intr:
            from kelora.cli import Terminated

            status = ExitStatus.SIGTERM if isinstance(intr, Terminated) else ExitStatus.SIGINT
            self.interrupted = status
        except FatalError:
            self.sink.abort()
            raise
        except BrokenPipeError:
            self.sink.abort()
            return ExitStatus.BROKEN_PIPE
        self.stats.elapsed = time.perf_counter() - started
        try:
            self._finish_outputs(commit=self.interrupted is None)
        except BrokenPipeError:
            return ExitStatus.BROKEN_PIPE
        if self.interrupted is not None:
            return self.interrupted
        return self._exit_code()

    def _run_begin(self) -> None:
        if self.begin is None:
            return
        self.ctx.stage = "begin"
        scope = Scope({}, {}, self.ctx)
        try:
            self.begin.run(scope)
        except ScriptRuntimeError as err:
            raise FatalError(f"Pipeline error: Begin stage error: {err.short()}")
        finally:
            self.ctx.stage = "exec"

    def _run_end(self) -> None:
        if self.end is None:
            return
        self.ctx.stage = "end"
        self.ctx.metrics_view = self.ctx.metrics.finalize()
        self.sink.flush()
        scope = Scope({}, {}, self.ctx)
        try:
            self.end.run(scope)
        except ScriptRuntimeError as err:
            raise FatalError(f"Pipeline error: End stage error: {err.short()}")

    # ------------------------------------------------------------------ input
    def _read_inputs(self) -> None:
        from kelora import reader

        c = self.config
        for src in reader.sources(c.files, self.env.stdin):
            if isinstance(src, reader.OpenFailure):
                self.stats.files_failed.append(src.path)
                if c.strict:  # the "Pipeline error" line says it once
                    raise StageFailed(src.message)
                self.reporter.error(src.message + self._format_as_file_hint(src.path))
                continue
            self.stats.files_processed += 1
            self.current_label = src.label
            if self.parser is not None:
                self.parser.start_file()  # CSV: each file brings its own header
            try:
                self._read_stream(src)
            except (OSError, EOFError, ValueError) as exc:
                if isinstance(exc, BrokenPipeError):
                    raise
                message = f"Failed to read '{src.label}': {exc}"
                self.stats.files_failed.append(src.label)
                self.reporter.error(message)
                if c.strict:
                    raise StageFailed(message)
            finally:
                try:
                    src.stream.close() if src.label != "stdin" else None
                except OSError:
                    pass

    def _format_as_file_hint(self, path: str) -> str:
        """`-s json` / `-m json`: the format was taken as an input file (the value needs '=')."""
        c = self.config
        for flag, used, formats in (("--stats", c.stats, ("table", "json")),
                                    ("--metrics", c.metrics, ("short", "full", "tsv", "json"))):
            if used is not None and path in formats:
                return f". If you meant an output format, attach it with '=': {flag}={path}"
        return ""

    def _make_parser(self, first_line: str):
        from kelora.formats import detect_format, make_input_parser

        fmt = self.config.input_format
        if fmt == "auto":
            fmt = detect_format(first_line)
            self.reporter.status(f"Auto-detected format: {fmt}")
        parser = make_input_parser(fmt, strict=self.config.strict)
        self.stats.format_name = getattr(parser, "format_name", fmt)
        return parser

    def _read_stream(self, src) -> None:
        """The per-line loop.  Kept in one function: it runs millions of times."""
        c = self.config
        stats = self.stats
        head = c.head
        max_bytes = c.max_line_bytes
        keep_re = re.compile(c.keep_lines).search if c.keep_lines else None
        ignore_re = re.compile(c.ignore_lines).search if c.ignore_lines else None
        line_format = c.input_format == "line"
        needs_meta = self.needs_meta
        collect = c.stats is not None or c.with_stats
        ws = WHITESPACE
        meta_name = src.meta_name
        process = self._process
        parser = self.parser
        parse_bytes = getattr(parser, "parse_bytes", None) if parser else None
        ragged = (getattr(parser, "ragged_extra", 0), getattr(parser, "ragged_missing", 0)) if parser else (0, 0)
        take = c.take
        if (head is None and keep_re is None and ignore_re is None and not needs_meta and not collect and take is None and not c.skip_lines
                and c.input_format == "json"):
            if parser is None:
                parser = self.parser = self._make_parser("")
            from kelora.formats.inputs import JsonParser

            if type(parser) is JsonParser:
                return self._read_json_fast(src)
        for raw in src.stream:
            self.line_num += 1
            n = self.line_num
            stats.lines_read += 1
            if head is not None and n > head:
                stats.lines_read -= 1
                raise StopInput()
            if raw[-1:] == b"\n":
                raw = raw[:-1]
                if raw[-1:] == b"\r":
                    raw = raw[:-1]
            if n <= c.skip_lines:  # the global line number: --parallel workers see later lines only
                stats.lines_filtered += 1
                continue
            if max_bytes is not None and len(raw) > max_bytes:
                stats.truncated_lines += 1
                message = f"line {n} is {len(raw)} bytes, over --max-line-bytes {max_bytes}; truncated"
                if c.strict:
                    raise StageFailed(message)
                self.reporter.warning(message)
                raw = raw[:max_bytes]
            if not line_format and (not raw or raw[0] in ws) and not raw.strip():
                stats.lines_blank += 1
                continue
            text = None
            if needs_meta or keep_re or ignore_re or parse_bytes is None:
                text = self._decode(raw, n)
                if keep_re is not None and not keep_re(text):
                    stats.lines_filtered += 1
                    continue
                if ignore_re is not None and ignore_re(text):
                    stats.lines_filtered += 1
                    continue
            if parser is None:
                parser = self.parser = self._make_parser(text if text is not None else self._decode(raw, n))
                parse_bytes = getattr(parser, "parse_bytes", None)
            try:
                if text is None:
                    try:
                        event = parse_bytes(raw)
                    except UnicodeError:
                        text = self._decode(raw, n)
                        event = parser.parse(text)
                else:
                    event = parser.parse(text)
            except InputError as err:
                self._parse_error(err, raw if text is None else text)
                continue
            if event is None:
                stats.lines_header += 1
                continue
            stats.events_created += 1
            if collect:
                stats.observe_input(event)
            if needs_meta:
                meta = {"line": text, "line_num": n}
                if meta_name is not None:
                    meta["filename"] = meta_name
            else:
                meta = None
            process(Scope(event, meta, self.ctx, {}), 0)
            if take is not None and stats.events_output >= take:
                raise StopInput()
        if parser is not None:
            stats.ragged_extra += getattr(parser, "ragged_extra", 0) - ragged[0]
            stats.ragged_missing += getattr(parser, "ragged_missing", 0) - ragged[1]

    def _read_json_fast(self, src) -> None:
        """`_read_stream` for the common case, chosen once per file: JSON lines with no line
        selection (--head/--skip-lines/--keep-lines/--ignore-lines/--max-line-bytes), no meta,
        no --take and no stats.  orjson takes the raw line (its newline is JSON whitespace);
        any line it does not turn into an object (blank, BOM, bad JSON, invalid UTF-8) goes to
        `_json_slow_line`, which does what the general loop does, as does a line longer than
        --max-line-bytes.  Line and event counts are
        kept in locals and added to the stats when the file ends (or the run stops)."""
        from orjson import JSONDecodeError, loads

        stats = self.stats
        ctx = self.ctx
        fns = self.stage_fns
        # (stage, run, failed): lean exec stages expose their program's run and error path so
        # the loop calls the program directly (one Python call less per stage and event)
        steps = tuple((fn, *getattr(fn, "lean", (None, None))) for fn in fns)
        process = self._process
        # an emit_each stage replaces the event by a list: the general _process handles that
        general = "emit_each" in self.called_functions
        writer = self.sink.fast_writer()
        emit = self.sink.emit
        fmt, write = writer if writer is not None else (None, None)
        write_error = self.sink.write_error
        slow = self._json_slow_line
        # One Scope for every event when no stage can keep a reference to it (closures and
        # function pointers capture their scope): saves building one per event.
        shared = Scope(None, None, ctx, {}) if getattr(self, "scope_reusable", False) else None
        max_bytes = self.config.max_line_bytes
        if max_bytes is None:
            max_bytes = float("inf")
        first = n = self.line_num
        created = 0
        try:
            for raw in src.stream:
                n += 1
                self.line_num = n
                if len(raw) > max_bytes:  # (with its newline: the slow path checks exactly)
                    slow(raw, n)
                    continue
                try:
                    event = loads(raw)
                except JSONDecodeError:
                    slow(raw, n)
                    continue
                if type(event) is not dict:
                    slow(raw, n)
                    continue
                created += 1
                if fns:
                    if shared is not None:
                        scope = shared
                        scope.e = event
                        if scope.vars:  # `let` values of the previous event
                            scope.vars = {}
                    else:
                        scope = Scope(event, None, ctx, {})
                    if general:
                        process(scope, 0)
                        continue
                    for fn, run, failed in steps:
                        if run is None:
                            result = fn(scope)
                            if result is not True:
                                break
                            continue
                        try:  # a lean exec stage, inlined (see StageBuilder.exec_stage)
                            run(scope)
                        except SkipEvent:
                            result = False
                            break
                        except ScriptRuntimeError as err:
                            result = failed(scope, err)
                            if result is not True:
                                break
                            continue
                        if scope.e is None:
                            scope.e = {}
                    else:
                        event = scope.e
                        result = True
                    if result is not True:
                        if result is False:
                            stats.events_filtered += 1
                        else:  # DROPPED_BY_ERROR
                            stats.events_errored += 1
                        continue
                if fmt is None:
                    emit(event, None)
                    continue
                data = fmt(event)
                if data:
                    try:
                        write(data)
                    except OSError as exc:
                        write_error(exc)
                    stats.events_output += 1
                else:
                    stats.events_filtered += 1
        finally:
            stats.lines_read += n - first
            stats.events_created += created

    def _json_slow_line(self, raw: bytes, n: int) -> None:
        """One line `_read_json_fast` could not parse directly, as the general loop treats it
        (the caller counts it as read)."""
        stats = self.stats
        if raw[-1:] == b"\n":
            raw = raw[:-1]
            if raw[-1:] == b"\r":
                raw = raw[:-1]
        max_bytes = self.config.max_line_bytes
        if max_bytes is not None and len(raw) > max_bytes:
            stats.truncated_lines += 1
            message = f"line {n} is {len(raw)} bytes, over --max-line-bytes {max_bytes}; truncated"
            if self.config.strict:
                raise StageFailed(message)
            self.reporter.warning(message)
            raw = raw[:max_bytes]
        if (not raw or raw[0] in WHITESPACE) and not raw.strip():
            stats.lines_blank += 1
            return
        parser = self.parser
        text = None
        try:
            try:
                event = parser.parse_bytes(raw)
            except UnicodeError:
                text = self._decode(raw, n)
                event = parser.parse(text)
        except InputError as err:
            self._parse_error(err, raw if text is None else text)
            return
        if event is None:
            stats.lines_header += 1
            return
        stats.events_created += 1
        self._process(Scope(event, None, self.ctx, {}), 0)

    def _decode(self, raw: bytes, n: int) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if self.config.strict_utf8:
                raise FatalError(f"invalid UTF-8 at {self._location()} (byte {exc.start}); "
                                 "--strict-utf8 stops here")
            self.stats.decode_warnings += 1
            if self.stats.decode_first is None:
                self.stats.decode_first = self._location()
            return raw.decode("utf-8", "replace")

    def _parse_error(self, err: InputError, line) -> None:
        self.stats.parse_errors += 1
        loc = self._location()
        self.errors.record("parse", loc, err.message)
        if self.config.strict:
            raise StageFailed(err.message)
        if self.reporter.verbose_errors:
            fmt = self.stats.format_name or self.config.input_format
            self.reporter.write(f"{self.reporter.prefix['error']}{self._verbose_location()} (format: {fmt}): {err.message}")
            if self.config.verbose >= 2:
                text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
                self.reporter.write(f"  {text}")

    # ------------------------------------------------------------------ stages
    def _process(self, scope: Scope, start: int) -> None:
        fns = self.stage_fns
        for i in range(start, len(fns)):
            result = fns[i](scope)
            if result is True:
                continue
            if result is False:
                self.stats.events_filtered += 1
                return
            if result is None:  # DROPPED_BY_ERROR: the stage failed and the event is not passed on
                self.stats.events_errored += 1
                return
            # emit_each: the event is replaced by the emitted ones
            if not result:
                self.stats.events_filtered += 1
                return
            for event in result:
                self._process(Scope(event, scope.meta, self.ctx, scope.vars.copy()), i + 1)
            return
        self.sink.emit(scope.e, scope.meta)

    # ------------------------------------------------------------------ end of run
    def _finish_outputs(self, commit: bool, report: bool = True, summary: bool = True) -> None:
        c = self.config
        self.sink.close(commit=commit)
        if not report:
            return
        self._write_metrics()
        self._write_stats()
        if summary:
            self._write_summary()

    def _write_metrics(self) -> None:
        from kelora import metrics_render

        c = self.config
        store = self.ctx.metrics
        if c.metrics_file:
            text = metrics_render.render(store, "json").rstrip("\n")
            try:
                _atomic_write(c.metrics_file, text)
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
                self.env.stdout.write(_rich_text(metrics_render.rich_table(store, "full")).encode("utf-8"))
                self.env.stdout.flush()
            else:
                text = metrics_render.render(store, fmt)
                if text and not text.endswith("\n"):
                    text += "\n"
                if text:
                    self.env.stdout.write(text.encode("utf-8"))
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
            self.stats.format_name = c.input_format.split(":")[0].split()[0]
        if c.stats is not None:
            if c.stats == "json":
                self.env.stdout.write(stats_json(self.stats).encode("utf-8"))
            else:
                self.env.stdout.write(("\n".join(stats_lines(self.stats)) + "\n").encode("utf-8"))
            self.env.stdout.flush()
        if c.with_stats:
            lead = "\n" if self._events_on_terminal() else ""
            head = "📈 Stats:" if self.reporter.emoji else "kelora: Stats:"
            if self.env.stderr_isatty:
                self.env.stderr.write(f"{lead}{head}\n")
                stats_rich(self.stats, self.env.stderr)
            else:
                self.env.stderr.write(f"{lead}{head}\n" + "\n".join(stats_lines(self.stats)) + "\n")
            self.env.stderr.flush()

    def _events_on_terminal(self) -> bool:
        """Whether events were printed to stdout (then stderr blocks start with a blank line)."""
        return bool(self.stats.events_output) and not self.sink.suppressed and not self.config.output_file

    def _write_summary(self) -> None:
        c = self.config
        code = self._exit_code()
        if c.silent:
            if code != 0:
                self.reporter.fatal(silent_fatal_line(self.errors))
            return
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

    def _exit_code(self) -> int:
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
        return ExitStatus.OK


def _captures_scope(prog) -> bool:
    """Whether a compiled stage may keep its Scope beyond the event (closures, Fn pointers)."""
    from kelora.lang import ast
    from kelora.lang.check import _walk

    return any(isinstance(n, ast.Closure) or (isinstance(n, ast.Call) and n.name in ("Fn", "call"))
               for st in (*prog.ast.stmts, *prog.ast.fns) for n in _walk(st))


def _rich_text(renderable) -> str:
    """Render a rich object to text for a terminal (rich is imported only here)."""
    import io
    import shutil

    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, force_terminal=True, width=shutil.get_terminal_size((100, 20)).columns).print(renderable)
    return buf.getvalue()


def _atomic_write(path: str, text: str) -> None:
    import os
    import tempfile

    from kelora.output import is_regular_target, keep_mode

    if not is_regular_target(path):  # /dev/stdout, a FIFO: a rename would replace the node
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        return
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".kelora-metrics-", dir=folder)
    try:
        keep_mode(fd, path)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def run(config: Config, env) -> int:
    return Pipeline(config, env).run()
