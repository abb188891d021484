"""`--parallel`: batches of lines processed by worker processes (COMPAT D14).

The parent cuts the inputs into batches of ``--batch-size`` lines (a plain file without that flag
into ~2 MiB ranges, see ``RANGE_BYTES``).  Workers are forked *after*
the scripts are compiled, ``--begin`` has run and (when a script calls ``pseudonym``) the key has
been derived, so they inherit all of it through ``fork`` — the secret and keys never travel over
a pipe.  Each worker runs the very same per-line loop as a sequential run
(``Pipeline.read_stream``) into a private buffer.

Moving bytes through the parent would make it the bottleneck (it cost ~40% of a core on T2), so
for the common case neither input nor output passes through it:

* a plain (uncompressed) regular file is sent as byte ranges: the parent only finds the line
  boundaries (``bytes.count``/``find`` over large blocks) and workers ``pread`` their range;
  stdin, pipes and compressed files are sent as lists of lines;
* when the output is a real file descriptor (stdout or ``-o``), workers write their batch
  themselves, taking turns in input order (``Turns``); otherwise (in-process tests with a
  memory buffer) the batch output comes back to the parent, which writes it.

This module is the parent's side (cutting batches, merging results); ``kelora.run.workers`` is the
workers' side (the processes, their per-batch run and the turns).

Per batch the parent gets back only stats, the error log, filter-stage counts and metrics, and
merges them **in input order**, so output, stats and metrics equal a sequential run's —
``track_unique`` keeps the sequential first-seen order because batch stores are merged in order.
A batch that stops the run (``--strict``, ``exit()``, a failed write) raises the stop flag before
passing its turn on, so no later batch writes anything — as in a sequential run.
``--unordered`` writes and merges batches as they finish (sums and counts are the same,
``track_unique`` order may differ).
"""
from __future__ import annotations

import io
import multiprocessing
import os
import re
import signal
import stat

from kelora.formats import registry
from kelora.run import workers
from kelora.run.batch import SKIPPED, BatchResult, Range, Task
from kelora.run.stages import StageFailed
from kelora.run.workers import Turns, Workers

SCAN_BLOCK = 8 << 20  # bytes the parent reads at a time to find line boundaries
DEFAULT_BATCH_LINES = 1000  # as Kelora's --batch-size
# Without --batch-size a plain file goes in ranges of about 2 MiB (~6000 lines of 330 bytes):
# every batch costs a round trip to the parent, a result to pickle and merge and a turn to
# write, and on T2 (1M events, 2 workers) 1000-line batches gave 1.49x, 5000-line ones 1.63x.
RANGE_BYTES = 2 << 20


def _nth_line_end(block, limit: int, i: int, n: int, guess: int) -> int:
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


class _signals_held:
    """Hold SIGINT and SIGTERM for the block (they are delivered at its end)."""

    SIGNALS = {signal.SIGINT, signal.SIGTERM}

    def __enter__(self):
        self.old = signal.pthread_sigmask(signal.SIG_BLOCK, self.SIGNALS)

    def __exit__(self, *exc):
        signal.pthread_sigmask(signal.SIG_SETMASK, self.old)


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


def _fileno(stream) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return None


def _plain_file(src) -> tuple | None:
    """``(dev, ino)`` when *src* reads a regular file as it is (not decompressed), else None."""
    if src.fd is None or not isinstance(src.stream, io.BufferedReader):
        return None
    if _fileno(src.stream) != src.fd:
        return None  # a decompressor in between
    try:
        st = os.fstat(src.fd)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


class ParallelReader:
    """Drives the workers for ``Pipeline``; called instead of ``Pipeline._read_inputs``."""

    def __init__(self, pipeline):
        self.p = pipeline
        c = pipeline.config
        self.batch_size = c.batch_size or DEFAULT_BATCH_LINES  # batches of lines (stdin, pipes, gzip)
        self.range_lines = c.batch_size  # None: byte ranges of ~RANGE_BYTES (see _ranges)
        self.workers = c.threads or os.cpu_count() or 2
        self.ordered = not c.unordered
        self.seq = 0
        self.absorbed_written = 0  # batches written by workers whose results were merged
        self.draining = False  # after an interrupt: merge what was written, raise nothing

    def _task(self, source, first: int, src) -> Task:
        self.seq += 1
        return Task(self.seq - 1, source, first, src.label, src.meta_name)

    def _batches(self):
        """Yield the ``Task`` of each batch in input order; handles --skip-lines and --head."""
        from kelora.run import reader

        p, c = self.p, self.p.config
        stats = p.stats
        for src in p.sources():
            if isinstance(src, reader.OpenFailure):
                stats.files_failed.append(src.path)
                p.reporter.error(src.message)
                if c.strict:
                    raise StageFailed(src.message)
                continue
            stats.files_processed += 1
            batch: list[bytes] = []
            first = p.line_num + 1
            ident = _plain_file(src) if c.head is None else None
            spans = False  # CSV/TSV: a batch is cut only where no quoted field is open
            odd = 0  # parity of the double quotes since the last cut
            try:
                cap = src.cap
                for raw in src.lines:
                    if c.head is not None and p.line_num >= c.head:
                        break
                    if cap and len(raw) == cap and raw[-1:] != b"\n":
                        raw = reader.LongLine(raw, reader.rest_of_line(raw, src.stream))  # workers warn and cut
                    p.line_num += 1
                    if p.line_num <= c.skip_lines:
                        stats.lines_read += 1
                        stats.lines_filtered += 1
                        first = p.line_num + 1
                        continue
                    if p.parser is None:
                        if not raw.strip():
                            batch.append(raw)
                            continue
                        self._prime_parser(raw, p.line_num, src)
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
                        odd ^= raw.count(b'"') & 1
                        if odd:
                            continue
                    if len(batch) >= self.batch_size:
                        yield self._task(batch, first, src)
                        batch, first = [], p.line_num + 1
                if ident is not None:
                    if batch:
                        yield self._task(batch, first, src)
                        batch = []
                    yield from self._ranges(src, ident)
            except (OSError, EOFError, ValueError) as exc:
                if isinstance(exc, (BrokenPipeError, UnicodeError)):
                    raise  # a closed pipe, or text that is no input's fault: not a failed read
                message = f"Failed to read '{src.label}': {exc}"
                stats.files_failed.append(src.label)
                p.reporter.error(message)
                if c.strict:
                    raise StageFailed(message)
            if batch:
                yield self._task(batch, first, src)
            if c.head is not None and p.line_num >= c.head:
                return

    def _ranges(self, src, ident: tuple):
        """The rest of a regular file as byte ranges: of ``--batch-size`` lines each when given,
        else of about ``RANGE_BYTES`` each (cut after a newline).

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
            if not per_line:
                per_line = limit / (block.count(b"\n", 0, limit) + 1)
            i = 0
            while True:
                if size is None:  # by bytes: the first line end past RANGE_BYTES
                    end = block.find(b"\n", max(i, start + RANGE_BYTES - pos - 1), limit) + 1
                    if end == 0:
                        lines += block.count(b"\n", i, limit)
                        break
                    count = lines + block.count(b"\n", i, end)
                else:
                    need = size - lines
                    end = _nth_line_end(block, limit, i, need, int(need * per_line))
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

    @staticmethod
    def _ends_with_newline(src, size: int) -> bool:
        return size == 0 or os.pread(src.fd, 1, size - 1) == b"\n"

    def _prime_parser(self, raw: bytes, n: int, src) -> None:
        """Choose the format (and read a CSV header) in the parent, before the fork."""
        from kelora.run.reader import peek_lines

        p = self.p
        text = p.decode(raw.rstrip(b"\r\n"), n)
        p.parser = p.make_parser(text, [line.decode("utf-8", "replace") for line in peek_lines(src.stream)])
        p.parser_consumed_first = False
        if registry.has_header(p.stats.format_name) or getattr(p.parser, "has_header", False):
            try:
                consumed = p.parser.parse(text) is None
            except Exception:  # noqa: BLE001 - a bad first line is handled by the workers
                consumed = False
            p.parser_consumed_first = consumed
            p.header_line = text if consumed else None

    def _turns(self, mp):
        """Workers write the output when it is a real descriptor (stdout or an -o file)."""
        sink = self.p.sink
        out_fd = _fileno(sink.out)
        print_fd = _fileno(sink.printed) if sink.prints_apart else None
        if out_fd is None or (sink.prints_apart and print_fd is None):
            return None
        return Turns(mp, out_fd, print_fd, self._header, self.ordered)

    def read_inputs(self) -> None:
        p = self.p
        batches = self._batches()
        first = next(batches, None)  # primes the parser before the fork
        if first is None:
            return
        from kelora.keyring import ensure_keyring, finish_prefetch

        if "pseudonym" in p.called_functions:
            ensure_keyring(p.ctx)  # derive once, here; workers inherit it through fork
        finish_prefetch()
        # metrics --begin tracked, by function: a worker cannot see them (see _metric_conflicts)
        self.begin_fns = {name: m.fn for name, m in p.ctx.metrics.metrics.items()}
        p.sink.flush()
        self._header = p.sink.take_header()  # csv/tsv: written once, before the first row
        # what the forked workers inherit (kelora.run.workers)
        workers.PIPELINE = p
        workers.TURNS = self.turns = self._turns(multiprocessing.get_context("fork"))
        pool = Workers(self.workers)
        # Batches are read and sent from this (the main) thread, a bounded number at a time: a
        # signal then interrupts the read or the wait here.
        self.done: dict[int, tuple] = {}  # finished batches waiting for an earlier one
        self.next_seq = 0
        try:
            pool.send(first)
            for task in batches:
                while pool.full():
                    self._collect(pool)
                pool.send(task)
            while pool.pending():
                self._collect(pool)
            pool.close()
            self._metric_conflicts()
        except KeyboardInterrupt:
            self._stop_at_a_batch_boundary(pool)
            pool.kill()
            raise
        except BaseException:
            pool.kill()
            raise
        finally:
            workers.PIPELINE = workers.TURNS = None

    def _stop_at_a_batch_boundary(self, pool: Workers) -> None:
        """Ctrl-C / SIGTERM: stop the workers between two batches, so the output ends with a
        whole event, and merge the counts of every batch that was written (and only those), so
        --stats counts exactly what was written.  (Killing workers mid-write cut an event.)"""
        turns = self.turns
        if turns is None:  # the parent writes whole batches itself
            return
        import time

        # Workers write only while holding the turn lock: once the parent holds it, none is
        # writing, and with the stop flag set none starts.  (A write stuck on a full pipe
        # holds the lock: then stop anyway after a while.)
        if not turns.cond.acquire(timeout=5):
            return
        try:
            turns.stop.value = 1
            written = turns.written.value
        finally:
            turns.cond.release()
        self.draining = True
        deadline = time.monotonic() + 30
        try:
            while self.absorbed_written < written and pool.pending() and time.monotonic() < deadline:
                self._collect(pool)
        except (KeyboardInterrupt, StageFailed):  # a second signal, a dead worker: stop now
            pass

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

    def _collect(self, pool: Workers) -> None:
        """Wait for finished batches and absorb them: in input order, or as they come with
        --unordered.  (Short waits keep Ctrl-C responsive.)  Signals are held meanwhile: a
        result taken off its pipe is always absorbed (or kept in ``done``), so the counts of an
        interrupted run are exact; the signal arrives when this returns."""
        with _signals_held():
            self._collect_held(pool)

    def _collect_held(self, pool: Workers) -> None:
        for seq, result in pool.receive(0.2):
            if not self.ordered:
                self._absorb(result)
                continue
            self.done[seq] = result
            while self.next_seq in self.done:
                self._absorb(self.done.pop(self.next_seq))
                self.next_seq += 1

    def _absorb(self, result: BatchResult) -> None:
        """Write a batch's output (unless its worker did) and merge its state into the run's."""
        p = self.p
        if result.write_failure == SKIPPED:
            return  # not written (the run was stopping): not counted either
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
