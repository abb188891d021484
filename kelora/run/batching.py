"""Cutting a run's input into batches, and taking their results back in input order.

Both parallel drivers share this: ``--parallel`` (``kelora.run.parallel``, forked workers) and
``--engine dask`` (``kelora.run.dask_engine``).  ``Batcher._batches`` turns the inputs into
``Task``s: a plain regular file into byte ranges (``Range``: the driver only finds line
boundaries, workers ``pread`` the bytes), stdin, pipes and compressed files into lists of lines
(CSV/TSV records with quoted newlines are never split).  The first line chooses the input format
(and a CSV header is read) here, in the driver, before any worker starts.  ``Batcher._absorb``
writes a batch's output (unless its worker did) and merges its ``RunState``: called in input
order, that gives exactly the sequential run's output, stats and metrics.

``--batch-timeout MS``: from a pipe or socket (``tail -f app.log | kelora --parallel``), a partial
batch is sent once no line has arrived for MS milliseconds, so events do not wait for a full
batch.  The pipe is read through ``_IdleRaw``, which raises ``_Idle`` instead of waiting longer
-- only at a line boundary, so no partial line is ever lost in the buffered reader.
"""
from __future__ import annotations

import io
import itertools
import os
import re
import select
import signal
import stat

from kelora.formats import registry
from kelora.report.messages import ONCE_CLOSE, ONCE_KEY, ONCE_OPEN
from kelora.run.batch import SKIPPED, BatchResult, Range, Task
from kelora.run.stages import StageFailed


_ONCE_MARKED = re.compile(f"{ONCE_OPEN}([0-9a-f]*){ONCE_KEY}(.*?){ONCE_CLOSE}", re.S)


class _OneProcess(Exception):
    """Raised by ``Batcher._batches`` before its first task: the run is read in this process
    (``Batcher.first_task``) from *src*, whose lines read so far are put back."""

    def __init__(self, src):
        self.src = src


class _IdleTick:
    def __repr__(self) -> str:
        return "IDLE"


class InputFailed:
    """What ``Batcher._batches`` yields, in input order, for an input that could not be opened
    or read to its end.  The driver takes it in once every earlier batch is absorbed
    (``Batcher.input_failed``), as a sequential run reaches it: an earlier batch that stops the
    run (--strict, exit()) keeps it from being reported, and with --strict the events before it
    are all written."""

    __slots__ = ("label", "message", "shown", "open_failure")

    def __init__(self, label: str, message: str, shown: str, open_failure: bool):
        self.label, self.message, self.shown, self.open_failure = label, message, shown, open_failure


IDLE = _IdleTick()  # what ``Batcher._batches`` yields when a pipe was idle for --batch-timeout
DEFAULT_BATCH_TIMEOUT_MS = 200  # as Kelora's --batch-timeout

SCAN_BLOCK = 8 << 20  # bytes the parent reads at a time to find line boundaries
DEFAULT_BATCH_LINES = 1000  # as Kelora's --batch-size
# Without --batch-size a plain file goes in ranges of about 2 MiB (~6000 lines of 330 bytes):
# every batch costs a round trip to the parent, a result to pickle and merge and a turn to
# write, and on T2 (1M events, 2 workers) 1000-line batches gave 1.49x, 5000-line ones 1.63x.
RANGE_BYTES = 2 << 20


def nth_line_end(block, limit: int, i: int, n: int, guess: int) -> int:
    """The offset just after the *n*-th newline of ``block[i:limit]`` (n >= 1), or -1 if it
    has fewer; *guess* is the expected distance, so only the lines between the guess and the
    answer are stepped over."""
    j = min(i + guess, limit)
    found = block.count(b"\n", i, j)
    if found >= n:  # step back over the extra newlines, then to the n-th
        for _ in range(found - n):
            j = block.rfind(b"\n", i, j)
        return block.rfind(b"\n", i, j) + 1
    for _ in range(n - found):
        k = block.find(b"\n", j, limit)
        if k < 0:
            return -1
        j = k + 1
    return j


# A line with an odd number of double quotes: in CSV/TSV it opens (or closes) a quoted field
# that holds a newline (Kelora's parity rule, kelora.formats.csvin.record_complete).
_ODD_QUOTES = re.compile(rb'^[^"\n]*"(?:[^"\n]*"[^"\n]*")*[^"\n]*$', re.MULTILINE)


def _quoted_newline(src) -> bool:
    """Whether a plain CSV/TSV file may hold a record spanning lines (one C-speed scan; byte
    ranges cut at line ends would split such a record)."""
    import mmap

    try:
        with mmap.mmap(src.fd, 0, access=mmap.ACCESS_READ) as mm:
            return mm.find(b'"') >= 0 and _ODD_QUOTES.search(mm) is not None
    except (OSError, ValueError):  # empty or unmappable: the lines path is always exact
        return True


def fd_of(stream) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return None


def _plain_file(src) -> tuple | None:
    """``(dev, ino)`` when *src* reads a regular file as it is (not decompressed), else None."""
    if src.fd is None or not isinstance(src.stream, io.BufferedReader):
        return None
    if fd_of(src.stream) != src.fd:
        return None  # a decompressor in between
    try:
        st = os.fstat(src.fd)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None



class _Idle(Exception):
    """No byte arrived for the batch timeout, at a line boundary (``_IdleRaw``)."""


class _IdleRaw(io.RawIOBase):
    """A pipe's raw reader that gives up waiting after *timeout* seconds once ``armed`` -- but
    only when the bytes it handed out so far end with a newline: the buffered reader above
    then holds no partial line that an exception could lose.  *prefix*: bytes read before."""

    def __init__(self, fd: int, prefix: bytes, timeout: float):
        self.fd = fd
        self.prefix = prefix
        self.timeout = timeout
        self.armed = False
        self.at_line_end = True
        self.peeking = False  # detection looking ahead: take only bytes already there

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def readinto(self, b) -> int:
        if self.prefix:
            data, self.prefix = self.prefix[:len(b)], self.prefix[len(b):]
        else:
            if self.peeking and not select.select([self.fd], [], [], 0)[0]:
                return 0  # (a peek then gives what is buffered: the first line is not held back)
            if self.armed and self.at_line_end and not select.select([self.fd], [], [], self.timeout)[0]:
                raise _Idle
            data = os.read(self.fd, len(b))
        n = len(data)
        if n:
            b[:n] = data
            self.at_line_end = data[-1:] == b"\n"
        return n


def _idle_ticks(lines):
    """*lines*, with ``IDLE`` whenever the source stayed silent for the batch timeout."""
    it = iter(lines)
    while True:
        try:
            raw = next(it)
        except _Idle:
            yield IDLE
            continue
        except StopIteration:
            return
        yield raw


class signals_held:
    """Hold SIGINT and SIGTERM for the block (they are delivered at its end)."""

    SIGNALS = {signal.SIGINT, signal.SIGTERM}

    def __enter__(self):
        self.old = signal.pthread_sigmask(signal.SIG_BLOCK, self.SIGNALS)

    def __exit__(self, *exc):
        signal.pthread_sigmask(signal.SIG_SETMASK, self.old)


class Batcher:
    """The driver's side of a parallel run of ``Pipeline`` *pipeline*: cutting and absorbing.
    Subclasses send the tasks somewhere (``read_inputs``)."""

    range_bytes = RANGE_BYTES  # a plain file's byte ranges without --batch-size (see _ranges)

    def __init__(self, pipeline):
        self.p = pipeline
        c = pipeline.config
        self.batch_size = c.batch_size or DEFAULT_BATCH_LINES  # batches of lines (stdin, pipes, gzip)
        self.range_lines = c.batch_size  # None: byte ranges of ~range_bytes (see _ranges)
        self.ordered = not c.unordered
        self.seq = 0
        self.absorbed_written = 0  # batches written by workers whose results were merged
        self.draining = False  # after an interrupt: merge what was written, raise nothing
        self._header = None  # csv/tsv output header: written once, before the first row

    def _task(self, source, first: int, src) -> Task:
        self.seq += 1
        return Task(self.seq - 1, source, first, src.label, src.meta_name)

    def _batches(self):
        """Yield the ``Task`` of each batch in input order; handles --skip-lines and --head.
        From a pipe, also ``IDLE`` when no line came for ``--batch-timeout`` ms (after sending
        the partial batch): the driver then takes in the results that are ready."""
        from kelora.run import reader

        from kelora.report.hints import MAX_PER_SOURCE

        p, c = self.p, self.p.config
        stats = p.stats
        sample = p.sample_for_hints()
        self.sources = p.sources()
        for src in self.sources:
            if isinstance(src, reader.OpenFailure):
                yield InputFailed(src.path, src.message, src.message + p.format_as_file_hint(src.path), True)
                continue
            stats.files_processed += 1
            p.current_label = src.label  # (what this process says about a line names its input)
            kept = sample.new_source() if sample is not None else None  # (the end-of-run hints)
            batch: list[bytes] = []
            first = p.line_num + 1
            ident = _plain_file(src) if c.head is None else None
            spans = False  # CSV/TSV: a batch is cut only where no quoted field is open
            odd = 0  # parity of the double quotes since the last cut
            size, max_bytes = 0, c.max_line_bytes  # the open record's bytes, as read_stream counts them
            timed = self._timed(src) if ident is None else None
            lines = src.lines if timed is None else _idle_ticks(src.lines)
            try:
                cap = src.cap
                for raw in lines:
                    if raw is IDLE:  # --batch-timeout: no line for a while; send what we have
                        if batch and not odd:
                            yield self._task(batch, first, src)
                            batch, first = [], p.line_num + 1
                        yield IDLE
                        continue
                    if c.head is not None and p.line_num >= c.head:
                        break
                    if cap and len(raw) == cap and raw[-1:] != b"\n":
                        raw = reader.LongLine(raw, reader.rest_of_line(raw, src.stream))  # workers warn and cut
                    if kept is not None:
                        if len(kept) < MAX_PER_SOURCE:
                            kept.append(raw)
                        else:
                            sample.truncated, kept = True, None
                    p.line_num += 1
                    if p.line_num <= c.skip_lines:
                        stats.lines_read += 1
                        stats.lines_filtered += 1
                        first = p.line_num + 1
                        continue
                    if p.parser is None:
                        if not raw.strip():
                            batch.append(raw)
                            if len(batch) * 2 > reader.SAMPLE_BYTES:  # (more than detection looks at)
                                batch = self._blank_before_format(batch)
                                if batch:  # (a format named by -f: a worker makes the same parser)
                                    yield self._task(batch, first, src)
                                    batch, first = [], p.line_num + 1
                            continue
                        if timed is not None:
                            timed.peeking = True
                        try:
                            self._prime_parser(raw, p.line_num, src)
                        finally:
                            if timed is not None:
                                timed.peeking = False
                        if self._header_per_file():
                            # each input brings its own header, which a batch cannot carry: the
                            # whole run is read here (as with -f csv over several files)
                            p.parser.start_file()
                            p.header_line = None
                            p.line_num -= len(batch) + 1
                            stats.files_processed -= 1
                            if kept is not None:  # (read_sources keeps this input's lines itself)
                                sample.sources.remove(kept)
                            src.lines = itertools.chain(batch, [raw], src.lines)
                            raise _OneProcess(src)
                        if timed is not None:
                            timed.armed = True  # (detection has peeked at the buffered lines)
                        spans = getattr(p.parser, "records_span_lines", False)
                        if spans and ident is not None and _quoted_newline(src):
                            ident = None  # records span lines: cut batches of lines, by quotes
                        if p.parser_consumed_first:
                            stats.lines_read += 1
                            stats.lines_header += 1
                            first = p.line_num + 1
                            continue
                    batch.append(raw)
                    if ident is not None:
                        break  # the format is known: the rest of the file goes by byte ranges
                    if spans:
                        was = odd
                        odd ^= raw.count(b'"') & 1
                        if odd:
                            size = (size if was else 0) + reader.record_bytes(raw, max_bytes)
                            if not was or max_bytes is None or size <= max_bytes:
                                continue
                            odd = 0  # (dropped past --max-line-bytes, as InputLoop does it)
                    if len(batch) >= self.batch_size:
                        yield self._task(batch, first, src)
                        batch, first = [], p.line_num + 1
                if ident is not None:
                    batch = self._blank_before_format(batch)
                    if batch:
                        yield self._task(batch, first, src)
                        batch = []
                    yield from self._ranges(src, ident, kept)
            except (OSError, EOFError, ValueError) as exc:
                if isinstance(exc, (BrokenPipeError, UnicodeError)):
                    raise  # a closed pipe, or text that is no input's fault: not a failed read
                batch = self._blank_before_format(batch)
                if batch:  # (the lines read before the failure)
                    yield self._task(batch, first, src)
                    batch = []
                message = f"Failed to read '{src.label}': {exc}"
                yield InputFailed(src.label, message, message, False)
            batch = self._blank_before_format(batch)
            if batch:
                yield self._task(batch, first, src)
            if c.head is not None and p.line_num >= c.head:
                return

    def _blank_before_format(self, batch: list) -> list:
        """*batch*, or [] when it holds only blank lines read before -f auto chose the format:
        those are counted here, as blank, as a sequential run counts them when its detection
        found nothing to look at (a task sent now would reach workers, or a Dask plan, with no
        format yet; they would choose their own)."""
        p = self.p
        if batch and p.parser is None and p.config.input_format in ("auto", "auto-per-file"):
            p.stats.lines_read += len(batch)
            p.stats.lines_blank += len(batch)
            return []
        return batch

    def _header_per_file(self) -> bool:
        """Several inputs, in a format detected as one with a header line (-f auto chose CSV)."""
        p = self.p
        return len(p.config.files) > 1 and (registry.has_header(p.stats.format_name)
                                            or getattr(p.parser, "has_header", False))

    def first_task(self, batches):
        """The first ``Task`` of *batches* (primes the parser; inputs that failed before it are
        taken in); None when there is no input, or when the input was read here, in one process
        (see ``_header_per_file``)."""
        try:
            for task in batches:
                if type(task) is InputFailed:
                    self.input_failed(task)
                elif task is not IDLE:
                    return task
            return None
        except _OneProcess as one:
            self.p.read_sources(itertools.chain([one.src], self.sources))
            return None

    def input_failed(self, failed: InputFailed) -> None:
        """Take in an input that failed, as ``InputLoop.read_sources`` does when it reaches it
        (call once every earlier batch is absorbed)."""
        p = self.p
        p.stats.files_failed.append(failed.label)
        if failed.open_failure and p.config.strict:  # (the "Pipeline error" line says it once)
            raise StageFailed(failed.message)
        p.reporter.error(failed.shown)
        if p.config.strict:
            raise StageFailed(failed.message)

    def _timed(self, src):
        """A pipe or socket source read with the ``--batch-timeout`` idle flush: its stream is
        replaced by one over an ``_IdleRaw``; None for anything else (files never wait)."""
        timeout = self.p.config.batch_timeout
        if not timeout:
            return None
        fd = src.fd if src.fd is not None else (fd_of(self.p.env.stdin) if src.label == "stdin" else None)
        stream = src.stream
        if fd is None or not isinstance(stream, io.BufferedReader) or fd_of(stream) != fd:
            return None  # a decompressor in between (or an in-memory stream)
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            return None
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
            return None
        from kelora.run import reader

        # What the old reader buffered (it peeked at the magic bytes: at least one byte unless
        # at end of input, so this read never waits) comes first.
        buffered = len(stream.peek(1))
        raw = _IdleRaw(fd, stream.read1(buffered) if buffered else b"", timeout / 1000)
        src.stream = io.BufferedReader(raw, reader.READ_BUFFER)
        reader.capped(src, src.cap)
        return raw

    def _ranges(self, src, ident: tuple, kept: list | None = None):
        """The rest of a regular file as byte ranges: of ``--batch-size`` lines each when given,
        else of about ``range_bytes`` each (cut after a newline).

        The parent reads the file in large blocks only to find where batches end and how many
        lines they hold; workers read the bytes again (from the page cache) with ``pread``.  An
        exact line count is found from a guess (the previous batch's bytes per line) corrected
        by a few ``find``/``rfind`` calls, so the parent does no per-line work in Python."""
        p = self.p
        stream, size = src.stream, self.range_lines
        start = stream.tell()  # the first byte of the next batch
        pos = start  # the file offset of block[0]
        lines = 0  # complete lines in [start, pos)
        per_line = 0.0  # bytes per line, from the last full batch
        block = bytearray(SCAN_BLOCK)  # reused: a fresh 8 MiB per read costs page faults
        while True:
            limit = stream.readinto(block)
            if not limit:
                break
            if kept is not None:  # the first lines, for the end-of-run hints
                self._keep_head(kept, block, limit)
                kept = None
            if not per_line:
                per_line = limit / (block.count(b"\n", 0, limit) + 1)
            i = 0
            while True:
                if size is None:  # by bytes: the first line end past range_bytes
                    end = block.find(b"\n", max(i, start + self.range_bytes - pos - 1), limit) + 1
                    if end == 0:
                        lines += block.count(b"\n", i, limit)
                        break
                    count = lines + block.count(b"\n", i, end)
                else:
                    need = size - lines
                    end = nth_line_end(block, limit, i, need, int(need * per_line))
                    if end < 0:  # the block runs out first
                        lines += block.count(b"\n", i, limit)
                        break
                    count = size
                first = p.line_num + 1
                p.line_num += count
                yield self._task(Range(src.label, ident, start, pos + end - start), first, src)
                per_line = (pos + end - start) / count
                start, lines, i = pos + end, 0, end
            pos += limit
        if pos > start:  # the last batch (its last line may lack a newline)
            first = p.line_num + 1
            p.line_num += lines + (0 if self._ends_with_newline(src, pos) else 1)
            yield self._task(Range(src.label, ident, start, pos - start), first, src)

    def _keep_head(self, kept: list, block, limit: int) -> None:
        from kelora.report.hints import MAX_PER_SOURCE

        need = MAX_PER_SOURCE - len(kept)
        if need <= 0:
            self.p.hint_sample.truncated = True
            return
        parts = bytes(block[:limit]).split(b"\n", need)
        rest = parts.pop()
        kept.extend(part + b"\n" for part in parts)
        if len(parts) == need and rest:
            self.p.hint_sample.truncated = True
        elif rest and limit < len(block):  # (the whole file: its last line has no newline)
            kept.append(rest)

    @staticmethod
    def _ends_with_newline(src, size: int) -> bool:
        return size == 0 or os.pread(src.fd, 1, size - 1) == b"\n"

    def _prime_parser(self, raw: bytes, n: int, src) -> None:
        """Choose the format (and read a CSV header) in the parent, before the fork."""
        from kelora.run.reader import peek_lines

        p = self.p
        # (read quietly: a line that goes on to a worker is decoded, warned about or refused by
        # --strict-utf8 there, once; only a header this process keeps is decoded as the run's)
        line = raw.rstrip(b"\r\n")
        text = line.decode("utf-8", "replace")
        p.parser = p.make_parser(text, [line.decode("utf-8", "replace") for line in peek_lines(src.stream)])
        p.parser_consumed_first = False
        if registry.has_header(p.stats.format_name) or getattr(p.parser, "has_header", False):
            try:
                consumed = p.parser.parse(text) is None
            except Exception:  # noqa: BLE001 - a bad first line is handled by the workers
                consumed = False
            p.parser_consumed_first = consumed
            p.header_line = p.decode(line, n) if consumed else None

    def note_begin_metrics(self) -> None:
        """Remember the metrics --begin tracked, by function: a worker cannot see them (see
        ``_metric_conflicts``).  Called before the first batch is sent."""
        self.begin_fns = {name: m.fn for name, m in self.p.ctx.metrics.metrics.items()}

    def _metric_conflicts(self) -> None:
        """A metric name tracked by different functions in different batches (or in --begin and
        in the event stages): a sequential run reports each later call as an error, a worker
        cannot see the other batches, and the merge kept the first one.  Kelora warns here."""
        conflicts = self.p.ctx.metrics.conflicts
        if not conflicts:
            return
        parts = []
        for name, fns in sorted(conflicts.items()):
            begin = self.begin_fns.get(name)
            if begin is not None:
                later = ", ".join(f for f in fns if f != begin)
                parts.append(f"'{name}' ({begin} in --begin, {later} in the event stages)")
            else:
                parts.append(f"'{name}' ({' and '.join(fns)} in different batches)")
        self.p.reporter.warning(
            "metric name used by different track functions across stages: " + ", ".join(parts)
            + "; the merged value is unreliable — use a distinct name per track function")

    def first_warnings(self, text: str) -> str:
        """A batch's stderr *text* without the once-only warnings shown already: of each, the
        first in input order is kept (``Reporter.warning_once`` marks them in a batch)."""
        if ONCE_OPEN not in text:
            return text
        first_time = self.p.ctx.diag.first_time

        def keep(m) -> str:
            key = bytes.fromhex(m.group(1)).decode("utf-8", "surrogatepass")
            return m.group(2) if first_time(key) else ""
        return _ONCE_MARKED.sub(keep, text)

    def _merged_limits(self) -> None:
        """Warnings on the merged metrics: a set past its limit in the whole run, which no
        batch's share may reach on its own (track_unique)."""
        from kelora.metrics.store import UNIQUE_WARN_LIMIT, UniqueMetric

        p = self.p
        for name, m in p.ctx.metrics.metrics.items():
            if type(m) is UniqueMetric and len(m.order) > UNIQUE_WARN_LIMIT:
                p.ctx.diag.warn_once(*m.limit_warning(name))

    def _absorb(self, result: BatchResult) -> None:
        """Write a batch's output (unless its worker did) and merge its state into the run's."""
        p = self.p
        if result.write_failure == SKIPPED:
            return  # not written (the run was stopping): not counted either
        if result.stderr:  # (escaped by the worker; raw keeps the reporter's colours)
            from kelora.escape import raw_stream

            p.sink.flush()
            err = raw_stream(p.env.stderr)
            err.write(self.first_warnings(result.stderr))
            err.flush()
        if result.out is None:
            self.absorbed_written += 1
        elif result.out:
            if self._header is not None:
                p.sink.write_raw(self._header)
                self._header = None
            p.sink.write_raw(result.out)
        if result.printed:
            p.sink.printed.write(result.printed)
        p.state.merge(result.state)
        self._merged_limits()
        if self.draining:
            return
        write_failure, exit_request, failure = result.write_failure, result.exit_request, result.failure
        if write_failure is not None:
            p.sink.write_error(OSError(*write_failure))  # EPIPE comes back as BrokenPipeError
        if exit_request is not None:
            from kelora.errors import ExitRequest

            raise ExitRequest(*exit_request)
        if failure is not None:
            raise StageFailed(failure)
        if result.fatal is not None:
            from kelora.errors import FatalError

            message, hint, code = result.fatal
            raise FatalError(message, hint=hint, exit_code=code)
