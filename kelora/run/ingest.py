"""Reading input for a run: sources in order, line selection, decoding, parsing, and the loop.

``InputLoop`` is the part of ``Pipeline`` that turns lines into events and hands them to the
stages.  ``read_stream`` is the general per-line loop; ``_read_json_fast`` is the same loop
specialised, once per file, for plain JSON lines (the common case of scheduled exports).
Both run millions of times, so their locals are bound before the loop.
"""
from __future__ import annotations

import re

from kelora.builtins import registry
from kelora.context import Scope
from kelora.errors import FatalError, InputError
from kelora.run.stages import StageFailed
from kelora.run.heap import plug_holes
from kelora.run.reader import record_bytes
from kelora.values import DateTime

WHITESPACE = frozenset(b" \t\r\n\x0b\x0c")
AUTO_FORMATS = ("auto", "auto-per-file")
# Kelora's hint when auto-detection keeps whole lines (its cascade and regex: advice left out:
# those inputs are not supported here).
LINE_FALLBACK_HINT = ("No input format detected; keeping whole lines as 'line'. For 'timestamp LEVEL "
                      "message' app logs, extract fields with -f 'cols:ts(2) level *msg'.")
# Kelora's end-of-run warning when an auto-detected format failed on many lines.
MOSTLY_FAILED = ("Parsing mostly failed. The input may use the wrong format, contain mixed formats, "
                 "or require multiline parsing. Try -f line or specify -f <fmt>.")

NO_LIMIT = 1 << 62  # "no --max-line-bytes": an int, as int-to-float comparisons cost more per line


class StopInput(Exception):
    """--take reached or --head exhausted: stop reading, finish normally."""


class InputLoop:
    """Mixed into ``Pipeline``: uses its config, env, stats, errors, reporter, ctx and sink."""

    def _read_inputs(self) -> None:
        # (the sink writes out what it holds whenever a pipe is about to be waited for)
        self.read_sources(self.sources(idle=self.sink.flush_waiting))

    def read_sources(self, sources) -> None:
        """Read *sources* (``sources()``, or what a parallel driver hands back to be read in
        this process) one after the other."""
        from kelora.run import reader

        c = self.config
        for src in sources:
            if isinstance(src, reader.OpenFailure):
                self.stats.files_failed.append(src.path)
                if c.strict:  # the "Pipeline error" line says it once
                    raise StageFailed(src.message)
                self.reporter.error(src.message + self.format_as_file_hint(src.path))
                continue
            self.stats.files_processed += 1
            self.current_label = src.label
            self.current_source = src
            if c.input_format == "auto-per-file":
                self.parser = None  # each file is detected on its own
            if self.parser is not None:
                self.parser.start_file()  # CSV: each file brings its own header
            sample = self.sample_for_hints()
            if sample is not None:  # the first lines, for the end-of-run hints (hints.py)
                if src.cap or src.lines is not src.stream:  # capped pieces (a pipe, a decompressed
                    # stream), or lines a parallel driver had begun to read
                    src.lines = sample.wrap(src.lines)
                else:
                    src.stream = src.lines = sample.wrap(src.stream)
            try:
                self.read_stream(src)
            except (OSError, EOFError, ValueError) as exc:
                if isinstance(exc, (BrokenPipeError, UnicodeError)):
                    raise  # a closed pipe, or text that is no input's fault: not a failed read
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

    def sources(self, idle=None):
        """The inputs in order; with a progress bar on a terminal for runs over files.
        *idle*: see ``reader.sources``."""
        from kelora.run import reader

        c = self.config
        sources = reader.sources(c.files, self.env.stdin, reader.line_cap(c.max_line_bytes), idle)
        if self.env.stderr_isatty and c.files and not c.silent:
            from kelora.report.progress import FileProgress

            self.progress = FileProgress(c.files, self.env.stderr)
            return self.progress.track(sources)
        return sources

    def format_as_file_hint(self, path: str) -> str:
        """`-s json` / `-m json`: the format was taken as an input file (the value needs '=')."""
        from kelora.metrics.render import FORMATS as METRICS_FORMATS
        from kelora.report.messages import STATS_FORMATS

        c = self.config
        for flag, used, formats in (("--stats", c.stats, STATS_FORMATS), ("--metrics", c.metrics, METRICS_FORMATS)):
            if used is not None and path in formats:
                return f". If you meant an output format, attach it with '=': {flag}={path}"
        if any(ch in path for ch in "*?[") and "No such file" in self._open_reason(path):
            return (". Shell glob patterns must be expanded by the shell; remove the quotes or use "
                    "interactive mode for glob expansion")
        return ""

    @staticmethod
    def _open_reason(path: str) -> str:
        import os

        return "" if os.path.exists(path) else "No such file"

    def make_parser(self, first_line: str, sample=()):
        """The parser for the run (for this file with ``-f auto-per-file``); auto-detection looks
        at *first_line* and the *sample* lines after it (``formats.detect.detect_sample``)."""
        from kelora.formats import make_input_parser

        fmt = self.config.input_format
        if fmt in AUTO_FORMATS:
            from kelora.formats.detect import detect_sample

            fmt = detect_sample([first_line, *sample])
            self.detected_formats.append(fmt)
            if self.config.input_format == "auto-per-file":
                counts = self.stats.format_counts
                counts[fmt] = counts.get(fmt, 0) + 1
                self.reporter.status(f"Auto-detected format: {fmt} ({self.current_label})")
            else:
                self.reporter.status(f"Auto-detected format: {fmt}")
            if fmt == "line":
                self.reporter.hint(LINE_FALLBACK_HINT)
        parser = make_input_parser(fmt, strict=self.config.strict, cols_sep=self.config.cols_sep)
        self.stats.format_name = getattr(parser, "format_name", fmt)
        self.input_spec = fmt  # the format as decided (a RunPlan carries it to other processes)
        return parser

    def _detect_ahead(self, src):
        """``-f auto``: choose the parser before the first line is read, from the lines the stream
        has buffered (line selection applied), so that leading blank lines of a ``line`` input
        are events too, as in Kelora.  None when nothing usable is buffered yet (the loop then
        detects at the first non-blank line)."""
        from kelora.run.reader import peek_lines

        c = self.config
        lines = peek_lines(src.stream)[max(0, c.skip_lines - self.line_num):]
        texts = [raw.decode("utf-8", "replace") for raw in lines]
        if c.keep_lines:
            texts = [t for t in texts if re.search(c.keep_lines, t)]
        if c.ignore_lines:
            texts = [t for t in texts if not re.search(c.ignore_lines, t)]
        texts = [t for t in texts if t.strip()]
        if not texts:
            return None
        return self.make_parser(texts[0], texts[1:])

    def read_stream(self, src) -> None:
        """The per-line loop.  Kept in one function: it runs millions of times."""
        c = self.config
        if c.multiline is not None:
            return self._read_multiline(src)  # kelora.run.multiline
        stats = self.stats
        head = c.head
        max_bytes = c.max_line_bytes
        keep_re = re.compile(c.keep_lines).search if c.keep_lines else None
        ignore_re = re.compile(c.ignore_lines).search if c.ignore_lines else None
        auto = c.input_format in AUTO_FORMATS
        needs_meta = self.needs_meta
        collect = c.collects_stats
        ws = WHITESPACE
        meta_name = src.meta_name
        deliver = self._deliver
        parser = self.parser
        start = 0  # the first line of a CSV record that spans lines
        if parser is None and c.input_format in AUTO_FORMATS:
            parser = self.parser = self._detect_ahead(src)
        line_format = c.input_format == "line" or getattr(parser, "format_name", None) == "line"
        # CSV/TSV: a quoted field may hold newlines (RFC 4180), so a record may span several
        # physical lines: `pending` collects them (Kelora's CsvChunker: an odd number of double
        # quotes on a line opens or closes a field).  Continuation lines skip line selection.
        chunk = getattr(parser, "records_span_lines", False)
        pending = None
        pending_size = 0  # its bytes (each line at most --max-line-bytes, and its line end)
        parse_bytes = getattr(parser, "parse_bytes", None) if parser else None
        ragged = (getattr(parser, "ragged_extra", 0), getattr(parser, "ragged_missing", 0)) if parser else (0, 0)
        take = c.take
        gate = self._input_gate(collect)  # timestamps for stats and --since/--until
        # (a gate that only observes, for the stats, does not keep a run off the fast loops)
        if (head is None and keep_re is None and ignore_re is None and not needs_meta and take is None and not c.skip_lines
                and (gate is None or not c.time_window) and c.input_format == "json" and self.context is None):
            if parser is None:
                parser = self.parser = self.make_parser("")
            from kelora.formats.inputs import JsonParser

            if type(parser) is JsonParser:
                return self._read_json_fast(src, gate)
        for raw in src.lines:
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
            if pending is not None:  # inside an open quoted CSV field: this line continues it
                if max_bytes is not None and len(raw) > max_bytes:
                    raw = self._too_long(raw, n, src)
                pending.append(raw)
                pending_size += record_bytes(raw, max_bytes)
                stats.lines_joined += 1
                if not raw.count(b'"') & 1:
                    if max_bytes is not None and pending_size > max_bytes:
                        # the field is still open past the longest line allowed: most likely an
                        # unbalanced quote, which would else hold the rest of the input in memory
                        pending = None
                        self._record_too_long(start, n, max_bytes)
                    continue
                # the whole record, named by its first line (meta, errors), as multiline events are
                self._record(self.decode(b"\n".join(pending), start), start, meta_name, gate)
                pending = None
                continue
            else:
                if n <= c.skip_lines:  # the global line number: --parallel workers see later lines only
                    stats.lines_filtered += 1
                    continue
                if max_bytes is not None and len(raw) > max_bytes:
                    raw = self._too_long(raw, n, src)
                if not line_format and (not raw or raw[0] in ws) and not raw.strip():
                    stats.lines_blank += 1
                    continue
                if parser is None and not auto:  # (the first line: no text needed to choose the parser)
                    parser = self.parser = self.make_parser("")
                    parse_bytes = getattr(parser, "parse_bytes", None)
                    chunk = getattr(parser, "records_span_lines", False)
                text = None
                if needs_meta or keep_re or ignore_re or parse_bytes is None:
                    text = self.decode(raw, n)
                    if keep_re is not None and not keep_re(text):
                        stats.lines_filtered += 1
                        continue
                    if ignore_re is not None and ignore_re(text):
                        stats.lines_filtered += 1
                        continue
                if parser is None:
                    from kelora.run.reader import peek_lines

                    sample = [line.decode("utf-8", "replace") for line in peek_lines(src.stream)]
                    parser = self.parser = self.make_parser(text if text is not None else self.decode(raw, n), sample)
                    parse_bytes = getattr(parser, "parse_bytes", None)
                    chunk = getattr(parser, "records_span_lines", False)
                    if parse_bytes is not None and not (needs_meta or keep_re or ignore_re) and raw.isascii():
                        # decoded only to choose the parser: parsed from its bytes as the next lines
                        # are (a line cut at --max-line-bytes was else held three times: its
                        # bytes, its text and the copy in the parser's error; a gzip bomb's
                        # 64 MiB line peaked at 226 MB).  (ASCII: no decode warning counted twice)
                        text = None
                if chunk and raw.count(b'"') & 1:
                    pending = [raw]
                    pending_size = record_bytes(raw, max_bytes)
                    start = n
                    continue
            try:
                if text is None:
                    try:
                        event = parse_bytes(raw)
                    except UnicodeError:
                        text = self.decode(raw, n)
                        event = parser.parse(text)
                else:
                    event = parser.parse(text)
            except InputError as err:
                self._parse_error(err, raw if text is None else text)
                continue
            deliver(event, text, n, meta_name, gate)
        if pending is not None:  # the input ended inside a quoted field: the parser reports it
            # (Kelora's "Unterminated quoted field"), or, resilient, it is a parse error
            self._record(self.decode(b"\n".join(pending), start), start, meta_name, gate)
        if parser is not None:
            stats.ragged_extra += getattr(parser, "ragged_extra", 0) - ragged[0]
            stats.ragged_missing += getattr(parser, "ragged_missing", 0) - ragged[1]

    def _input_gate(self, collect: bool):
        """``gate(event) -> keep`` run on each parsed event before the stages, or None: counts
        its timestamp (and keys, levels) for the stats, and applies --since/--until (bounds
        inclusive; an event without a usable timestamp is dropped, or stops a --strict run).
        Kelora drops out-of-range events after the scripts; here they never reach them
        (docs/compat.md)."""
        c = self.config
        window = c.time_window
        if not (collect or window or c.ts_field or c.ts_format or c.normalize_ts):
            return None
        of = self.event_time.of
        stats = self.stats
        observe_time = stats.observe_time
        observe_input = stats.observe_input
        if not window:
            def gate(event):
                observe_input(event)
                observe_time(*of(event))
                return True
            return gate
        lo, hi, strict = c.since, c.until, c.strict

        def gate(event):
            if collect:
                observe_input(event)
            found = of(event)
            observe_time(*found)
            ts = found[1]
            if ts is None:
                if strict:
                    raise StageFailed("Event has no valid timestamp for --since/--until filtering")
                return False
            return (lo is None or ts >= lo) and (hi is None or ts <= hi)
        return gate

    def _deliver(self, event, text, n: int, meta_name, gate) -> None:
        """A parsed record's way on, in every read loop but the generated one: counted, seen by
        the input gate (stats, --since/--until), given its meta, run through the stages;
        ``--take`` ends the input."""
        stats = self.stats
        if event is None:
            stats.lines_header += 1
            return
        stats.events_created += 1
        if gate is not None and not gate(event):
            stats.events_filtered += 1
            return
        meta = None
        if self.needs_meta:
            meta = {"line": text, "line_num": n}
            if meta_name is not None:
                meta["filename"] = meta_name
            if self.meta_time is not None:
                ts = self.meta_time(event)[1]
                if ts is not None:
                    meta["parsed_ts"] = DateTime(ts)
        self._process(Scope(event, meta, self.ctx, {}), 0)
        take = self.config.take
        if take is not None and stats.events_output >= take:
            raise StopInput()

    def _record(self, text: str, first: int, meta_name, gate) -> None:
        """One record of several physical lines (a multiline event, a CSV record with quoted
        newlines) parsed and delivered; its first line names it in meta and messages."""
        current = self.line_num
        self.line_num = first
        try:
            if self.parser is None:
                self.parser = self.make_parser(text)
            try:
                event = self.parser.parse(text)
            except InputError as err:
                self._parse_error(err, text)
                return
            self._deliver(event, text, first, meta_name, gate)
        finally:
            self.line_num = current

    def _read_json_fast(self, src, gate=None) -> None:
        """`read_stream` for the common case, chosen once per file: JSON lines with no line
        selection (--head/--skip-lines/--keep-lines/--ignore-lines/--max-line-bytes), no meta,
        no --take and no stats.  orjson takes the raw line (its newline is JSON whitespace);
        any line it does not turn into an object (blank, BOM, bad JSON, invalid UTF-8) goes to
        `_json_slow_line`, which does what the general loop does, as does a line longer than
        --max-line-bytes.  Line and event counts are
        kept in locals and added to the stats when the file ends (or the run stops).
        *gate*: ``_input_gate``'s function when it only observes (stats): called with each
        event as created (or, in the generated loop, chunks of them: report.observe)."""
        from orjson import JSONDecodeError, loads

        from kelora.formats.exactjson import DIGITS as digits, RUN as big, exact, refmt
        from kelora.values import BIG_FLOAT_WRITTEN as written

        stats = self.stats
        ctx = self.ctx
        fns = self.stage_fns
        process = self._process
        # an emit_each stage replaces the event by a list: the general _process handles that
        general = registry.has_effect(self.called_functions, "emit")
        writer = self.sink.fast_writer(observing=True)
        self.fast_gate = gate  # (_json_slow_line observes the events it creates with it)
        emit = self.sink.emit
        fmt, write = writer if writer is not None else (None, None)
        write_error = self.sink.write_error
        slow = self._json_slow_line
        # One Scope for every event when no stage can keep a reference to it (closures and
        # function pointers capture their scope): saves building one per event.
        shared = Scope(None, None, ctx, {}) if self.scope_reusable else None
        if shared is not None and not general and (writer is not None or self.sink.counts_only):
            from kelora.run.fastloop import lean_steps

            lean = lean_steps(fns)
            if lean is not None:
                return self._read_json_lean(src, lean, fmt, write, gate)
        if writer is not None and self.sink.collect:  # (the loop below writes through emit then)
            fmt = write = None
        # integers beyond 64 bits: checked as each line is read when stages may change the event
        # or it goes on without a writer; else only for lines whose output shows a huge float
        check_in = bool(fns) or fmt is None
        written[0] = False
        max_bytes = self.config.max_line_bytes
        if max_bytes is None:
            max_bytes = NO_LIMIT
        first = n = self.line_num
        created = 0
        try:
            for raw in src.lines:
                n += 1
                event = None
                if len(raw) <= max_bytes:  # (with its newline: the slow path checks exactly)
                    try:
                        event = loads(raw)
                        if check_in and big in raw.translate(digits):  # an int orjson read as a float
                            event = exact(raw, event)
                    except JSONDecodeError:
                        pass
                if type(event) is not dict:  # too long, not JSON, or not an object
                    self.line_num = n  # stored only before calls that may report this line
                    if len(raw) > max_bytes:
                        raw = self._cut_line(raw, n)
                    slow(raw, n)
                    continue
                created += 1
                if gate is not None:
                    gate(event)
                if fns:
                    if shared is not None:
                        scope = shared
                        scope.e = event
                        if scope.vars:  # `let` values of the previous event
                            scope.vars = {}
                    else:
                        scope = Scope(event, None, ctx, {})
                    if general:
                        self.line_num = n
                        process(scope, 0)
                        continue
                    # (runs whose stages are all lean take the generated loop instead)
                    self.line_num = n
                    for fn in fns:
                        result = fn(scope)
                        if result is not True:
                            break
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
                    self.line_num = n  # (--scan-pii reports line numbers)
                    emit(event, None)
                    continue
                data = fmt(event)
                if written[0]:  # a huge float was written: was it an integer of the line?
                    if check_in:  # (no: the line was read exactly, and stages may have changed
                        written[0] = False  # the event: the line read again would undo that)
                    else:
                        data = refmt(raw, data, fmt)
                if data:
                    try:
                        write(data)
                    except OSError as exc:
                        write_error(exc)
                    stats.events_output += 1
                else:
                    stats.events_filtered += 1
        finally:
            self.line_num = n
            stats.lines_read += n - first
            stats.events_created += created

    def _read_json_lean(self, src, steps: list, fmt, write, gate=None) -> None:
        """`_read_json_fast` when every stage is lean: a loop generated for these stages
        (kelora.run.fastloop), once per run.  With stats, the events as read are observed in
        chunks (report.observe.ChunkObserver) when no stage may change them, else as each is read
        (report.observe.ValueObserver: its keys, and its timestamp and level values)."""
        loop = self.lean_loop
        observe_in = observe = None
        # filters that cannot change the event (and no stage at all) leave it as read
        unchanged = all(st[0] == "filter" and getattr(fn, "program", None) is not None
                        and not fn.program.mutates_event and not fn.program.mutates_nested
                        for st, fn in zip(steps, self.stage_fns))
        # (a filter that changes the event: see build_loop's *changes*)
        changes = not unchanged and any(st[0] == "filter" for st in steps)
        if gate is not None:  # (it only observes: the observers here do the same work)
            from kelora.report.observe import ChunkObserver, ValueObserver

            if unchanged:
                observe_in, observe = ChunkObserver(self.stats, self.event_time), "chunk"
            else:  # (stages may change the events: what is observed is taken as they are read)
                observe_in, observe = ValueObserver(self.stats, self.event_time), "values"
        # Counted, not written, without stages (`kelora -j FILE --stats`): every non-empty event
        # read counts as written, so the written events' keys, levels and time span are those
        # observed on input (an empty one has none): taken from them after the loop, not observed
        # a second time.  (Lines the loop hands to the slow path are observed there, both ways.)
        mirror = (observe == "chunk" and not steps and fmt is None and self.sink.collect
                  and not self.sink.selects)
        if (loop is None or loop.observe != observe or loop.changes != changes
                or loop.observe_written == mirror):  # (the same for every file of a run)
            from kelora.run.fastloop import build_loop

            keys: frozenset | None = frozenset()
            exact: frozenset | None = frozenset()
            for fn in self.stage_fns:  # the event keys any stage may read (None: any key)
                program = getattr(fn, "program", None)
                used = getattr(program, "event_reads", None)
                keys = None if used is None or keys is None else keys | used
                used = getattr(program, "exact_reads", None)  # (those whose digits can matter)
                exact = None if used is None or exact is None else exact | used
            loop = self.lean_loop = build_loop(steps, writes=fmt is not None, observe=observe, changes=changes,
                                               keys=keys, observe_written=not mirror, exact_keys=exact)
        observe_out = None
        if gate is not None and not mirror:  # (a gate for --ts-field/--ts-format alone, without stats: nothing out)
            observe_out = self.sink.output_observer(self.event_time) or _ignore
        max_bytes = self.config.max_line_bytes
        tally: list = []
        plugs = plug_holes()  # noqa: F841 - held while the loop runs (kelora.run.heap)
        try:
            loop(src.lines, self.line_num, self, Scope(None, None, self.ctx, {}), fmt, write,
                 self.sink.write_error, self._json_slow_line, NO_LIMIT if max_bytes is None else max_bytes, tally,
                 observe_in, observe_out)
        finally:
            # A signal that came as the input ended is raised at the first call here (the read
            # returned the end of the pipe, not EINTR: kelora.run.fastloop's module doc), maybe
            # on entering _add_tally, before it did anything: then it is called again.
            stop = None
            while tally:
                try:
                    self._add_tally(tally, loop.filter_indexes)
                except KeyboardInterrupt as exc:
                    stop = exc
            for observer in (observe_in, observe_out):  # (a ChunkObserver keeps its time span as texts)
                close = getattr(type(observer), "close", None)
                if close is not None:
                    close(observer)
            if mirror:
                self.stats.mirror_output()
            if stop is not None:
                raise stop

    def _add_tally(self, tally: list, filter_indexes) -> None:
        """The generated loop's counts into the stats, once: the counts by code that makes no
        call (nothing can interrupt it half-way), then *tally* is emptied."""
        read, created, output, errored, oks = tally
        stats = self.stats
        stats.lines_read += read
        stats.events_created += created
        stats.events_output += output
        stats.events_errored += errored
        stats.events_filtered += created - output - errored
        del tally[:]
        filter_ok = self.builder.filter_ok
        for index, ok in zip(filter_indexes, oks):
            filter_ok[index] += ok

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
            raw = self._too_long(raw, n, self.current_source)
        if (not raw or raw[0] in WHITESPACE) and not raw.strip():
            stats.lines_blank += 1
            return
        parser = self.parser
        text = None
        try:
            try:
                event = parser.parse_bytes(raw)
            except UnicodeError:
                text = self.decode(raw, n)
                event = parser.parse(text)
        except InputError as err:
            self._parse_error(err, raw if text is None else text)
            return
        self._deliver(event, text, n, None, self.fast_gate)  # (no meta, --take or window here)

    def _too_long(self, raw: bytes, n: int, src, length: int | None = None) -> bytes:
        """A line over --max-line-bytes (*raw* without its line ending, or *length* given):
        warn (or stop with --strict) and keep its first bytes.  A piece cut by a capped reader
        (``reader.capped``) is a line longer still: the rest of it is read and dropped here,
        never held."""
        from kelora.run.reader import rest_of_line

        max_bytes = self.config.max_line_bytes
        if src is not None and src.cap and len(raw) == src.cap and raw[-1:] != b"\n":
            length = rest_of_line(raw, src.stream)
        elif length is None:
            length = getattr(raw, "length", None) or len(raw)  # reader.LongLine from --parallel
        self._truncated(f"line {n} is {length} bytes, over --max-line-bytes {max_bytes}; truncated")
        return raw[:max_bytes]

    def _truncated(self, message: str) -> None:
        """A line or a multiline event cut at --max-line-bytes: counted, and a warning (the end
        of the run with --strict)."""
        self.stats.truncated_lines += 1
        if self.config.strict:
            raise StageFailed(message)
        self.reporter.warning(message)

    def _cut_line(self, raw: bytes, n: int) -> bytes:
        """The JSON fast loops' way to `_json_slow_line` for a line longer than --max-line-bytes
        with its line ending: truncated here, so that the caller's reference to the long line is
        gone before it is parsed (a 64 MiB line costs two copies of it, not three)."""
        end = len(raw)
        if raw[-1:] == b"\n":
            end -= 1
            if raw[end - 1:end] == b"\r":
                end -= 1
        if end <= self.config.max_line_bytes:
            return raw  # long only with its line ending
        return self._too_long(raw, n, self.current_source, None if end == len(raw) else end)

    def decode(self, raw: bytes, n: int) -> str:
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

    def _record_too_long(self, start: int, n: int, max_bytes: int) -> None:
        """A CSV record whose quoted field was still open at line *n*, past --max-line-bytes:
        a parse error at its first line; its lines are dropped and the next line starts a
        record."""
        current, self.line_num = self.line_num, start
        try:
            self._parse_error(InputError(
                f"a quoted field opened on line {start} is still open on line {n}, past "
                f"--max-line-bytes {max_bytes}: lines {start}-{n} dropped (an unbalanced quote?)"), b"")
        finally:
            self.line_num = current

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


def _ignore(events) -> None:
    pass
