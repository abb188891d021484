"""`--parallel`: batches of lines processed by worker processes (COMPAT D14).

The parent cuts the inputs into batches of ``--batch-size`` lines.  Workers are forked *after*
the scripts are compiled, ``--begin`` has run and (when a script calls ``pseudonym``) the key has
been derived, so they inherit all of it through ``fork`` — the secret and keys never travel over
a pipe.  Each worker runs the very same per-line loop as a sequential run
(``Pipeline._read_stream``) into a private buffer.

Moving bytes through the parent would make it the bottleneck (it cost ~40% of a core on T2), so
for the common case neither input nor output passes through it:

* a plain (uncompressed) regular file is sent as byte ranges: the parent only finds the line
  boundaries (``bytes.count``/``find`` over large blocks) and workers ``pread`` their range;
  stdin, pipes and compressed files are sent as lists of lines;
* when the output is a real file descriptor (stdout or ``-o``), workers write their batch
  themselves, taking turns in input order (``_Turns``); otherwise (in-process tests with a
  memory buffer) the batch output comes back to the parent, which writes it.

Per batch the parent gets back only stats, the error log, filter-stage counts and metrics, and
merges them **in input order**, so output, stats and metrics equal a sequential run's —
``track_unique`` keeps the sequential first-seen order because batch stores are merged in order.
A batch that stops the run (``--strict``, ``exit()``, a failed write) raises the stop flag before
passing its turn on, so no later batch writes anything — as in a sequential run.
``--unordered`` writes and merges batches as they finish (sums and counts are the same,
``track_unique`` order may differ).
"""
from __future__ import annotations

import collections
import io
import multiprocessing
import os
import signal
import stat
import sys

from kelora.metrics import MetricStore
from kelora.stages import StageFailed
from kelora.stats import ErrorLog, Stats

_WORKER = None  # the Pipeline a forked worker inherited
_TURNS = None  # the _Turns a forked worker inherited (None: the parent writes the output)
_FILES: dict = {}  # a worker's open input files, by (path, dev, ino)

SCAN_BLOCK = 8 << 20  # bytes the parent reads at a time to find line boundaries
DEFAULT_BATCH_LINES = 1000  # as Kelora's --batch-size
# Without --batch-size a plain file goes in ranges of about 2 MiB (~6000 lines of 330 bytes):
# every batch costs a round trip to the parent, a result to pickle and merge and a turn to
# write, and on T2 (1M events, 2 workers) 1000-line batches gave 1.49x, 5000-line ones 1.63x.
RANGE_BYTES = 2 << 20


class _Batch:
    __slots__ = ("stream", "meta_name")

    def __init__(self, stream, meta_name):
        self.stream = stream
        self.meta_name = meta_name


class _Range:
    """Lines ``[offset, offset + length)`` of a regular file (picklable: four ints and a path)."""
    __slots__ = ("path", "ident", "offset", "length")

    def __init__(self, path: str, ident: tuple, offset: int, length: int):
        self.path, self.ident, self.offset, self.length = path, ident, offset, length

    def __getstate__(self):
        return (self.path, self.ident, self.offset, self.length)

    def __setstate__(self, state):
        self.path, self.ident, self.offset, self.length = state

    def read(self) -> bytes:
        key = (self.path, self.ident)
        fd = _FILES.get(key)
        if fd is None:
            fd = os.open(self.path, os.O_RDONLY)
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) != self.ident:
                os.close(fd)
                raise OSError(f"the file was replaced during the run")
            _FILES[key] = fd
        parts, offset, left = [], self.offset, self.length
        while left > 0:
            chunk = os.pread(fd, left, offset)
            if not chunk:
                raise OSError("the file was truncated during the run")
            parts.append(chunk)
            offset += len(chunk)
            left -= len(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)


class _Turns:
    """Workers write their batches to the output themselves, one at a time, in input order.

    ``next`` is the sequence number of the batch whose turn it is; a worker waits on the
    condition until it is its own, writes, and passes the turn on.  ``stop`` set by a batch
    that ended the run (or failed to write) makes every later batch skip its write.  With
    ``--unordered`` the lock alone keeps batches from interleaving."""

    def __init__(self, mp, out_fd: int, print_fd: int | None, header: bytes | None, ordered: bool):
        self.cond = mp.Condition()
        self.next = mp.RawValue("q", 0)
        self.stop = mp.RawValue("b", 0)
        self.header_done = mp.RawValue("b", 0)
        self.out_fd = out_fd
        self.print_fd = print_fd  # script print() output, when events go to an -o file
        self.header = header
        self.ordered = ordered
        self.parent = os.getpid()

    def write(self, seq: int, out: bytes, printed: bytes, stops: bool):
        """Write one batch in its turn; return ``(errno, strerror)`` of a failed write or None."""
        failure = None
        with self.cond:
            if self.ordered:
                while self.next.value != seq:
                    # a parent killed outright never passes the turn on: do not wait forever
                    if not self.cond.wait(1.0) and os.getppid() != self.parent:
                        return (None, "the parent process went away")
            try:
                if not self.stop.value:
                    if out and self.header is not None and not self.header_done.value:
                        self.header_done.value = 1
                        out = self.header + out
                    _write_all(self.out_fd, out)
                    if printed:
                        _write_all(self.print_fd, printed)
            except OSError as exc:
                failure = (exc.errno, exc.strerror or str(exc))
                stops = True
            finally:
                if stops:
                    self.stop.value = 1
                if self.ordered:
                    self.next.value = seq + 1
                    self.cond.notify_all()
        return failure


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


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


def _init_worker() -> None:
    # Ctrl-C goes to the whole process group: the parent handles it and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _work(task):
    seq, source, first_line, label, meta_name = task
    pipe = _WORKER
    turns = _TURNS
    buf = io.BytesIO()
    sink = pipe.sink
    # script print() shares the event buffer, unless events go to an -o file (then it is stdout)
    printed = io.BytesIO() if sink._file is not None else buf
    pipe.env.stdout = printed
    if getattr(sink.formatter, "header", None) is not None:
        sink.formatter.header = None  # written once, before the first row of the run
    sink.out = buf
    sink._write = buf.write
    pipe.stats = sink.stats = Stats(format_name=pipe.stats.format_name)
    pipe.errors = ErrorLog()
    pipe.ctx.metrics = MetricStore()
    filter_ok = pipe.builder.filter_ok
    for k in filter_ok:
        filter_ok[k] = 0
    pipe.line_num = first_line - 1
    pipe.current_label = label
    failure = None
    exit_request = None
    try:
        stream = io.BytesIO(source.read()) if type(source) is _Range else source
        pipe._read_stream(_Batch(stream, meta_name))
    except StageFailed as fail:
        failure = fail.message
    except OSError as exc:  # reading a byte range
        failure = f"Failed to read '{label}': {exc.strerror or exc}"
    except Exception as exc:  # noqa: BLE001 - reported by the parent, never a traceback
        from kelora.errors import ExitRequest

        if isinstance(exc, ExitRequest):
            exit_request = (exc.code, exc.message)
        else:
            failure = f"worker failed: {type(exc).__name__}: {exc}"
    result = (pipe.stats, pipe.errors, dict(filter_ok), pipe.ctx.metrics, failure, exit_request)
    if turns is None:
        return (buf.getvalue(), *result, None)
    extra = printed.getvalue() if printed is not buf else b""
    return _Written(seq, buf.getvalue(), extra, failure is not None or exit_request is not None, result)


class _Written:
    """A batch done by a worker whose writer thread still has to write it in its turn."""
    __slots__ = ("seq", "out", "printed", "stops", "result")

    def __init__(self, seq, out, printed, stops, result):
        self.seq, self.out, self.printed, self.stops, self.result = seq, out, printed, stops, result


def _widen(conn) -> None:
    """Give a worker pipe a 1 MiB buffer (Linux ``F_SETPIPE_SZ``).

    A batch's input (~330 KB per 1000 JSON lines) and output cross these pipes when they pass
    through the parent (stdin input, in-memory output); with the default 64 KiB the sender and
    the receiver take turns for every 64 KiB.  Best effort: a system may cap the size
    (``/proc/sys/fs/pipe-max-size``)."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError, ValueError):
        pass


class _Workers:
    """Forked worker processes, each with its own task pipe and result pipe.

    Hand-rolled rather than ``multiprocessing.Pool``: the pool's three helper threads, shared
    queue locks and per-task bookkeeping cost the parent ~0.6 ms of CPU per batch, which on a
    2-core machine is taken from the workers.  Here the parent's main thread does everything:
    it sends each task to the least busy worker and waits on the result pipes.  A worker that
    dies shows as end-of-file on its result pipe (the pool would wait forever)."""

    PER_WORKER = 3  # tasks queued per worker: keeps it busy while the parent is slow to reply

    def __init__(self, count: int):
        from multiprocessing.connection import Pipe

        self.pids: list[int] = []
        self.tasks: list = []  # parent ends
        self.results: list = []
        self.busy: list[int] = []  # tasks sent and not yet answered, per worker
        self.queued: list[collections.deque] = []  # their sequence numbers, per worker
        for _ in range(count):
            task_r, task_w = Pipe(duplex=False)
            result_r, result_w = Pipe(duplex=False)
            for conn in (task_w, result_w):
                _widen(conn)
            pid = os.fork()
            if pid == 0:  # the worker
                code = 0
                try:
                    for conn in (*self.tasks, *self.results, task_w, result_r):
                        conn.close()
                    _init_worker()
                    code = _serve(task_r, result_w)
                finally:
                    os._exit(code)
            task_r.close()
            result_w.close()
            self.pids.append(pid)
            self.tasks.append(task_w)
            self.results.append(result_r)
            self.busy.append(0)
            self.queued.append(collections.deque())

    def full(self) -> bool:
        return min(self.busy) >= self.PER_WORKER

    def pending(self) -> int:
        return sum(self.busy)

    def send(self, task) -> None:
        k = self.busy.index(min(self.busy))
        self.tasks[k].send(task)
        self.busy[k] += 1
        self.queued[k].append(task[0])

    def receive(self, timeout: float):
        """``[(seq, result)]`` of the batches finished within *timeout* seconds."""
        from multiprocessing.connection import wait

        out = []
        for conn in wait([c for c, n in zip(self.results, self.busy) if n], timeout):
            k = self.results.index(conn)
            seq = self.queued[k].popleft()
            try:
                result = conn.recv()
            except (EOFError, OSError):
                raise StageFailed(f"worker process {self.pids[k]} died (batch {seq + 1})") from None
            self.busy[k] -= 1
            out.append((seq, result))
        return out

    def close(self) -> None:
        """Tell the workers to finish and wait for them."""
        for conn in self.tasks:
            try:
                conn.send(None)
                conn.close()
            except OSError:
                pass
        self._reap()

    def kill(self) -> None:
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        for conn in (*self.tasks, *self.results):
            conn.close()
        self._reap()

    def _reap(self) -> None:
        for pid in self.pids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        self.pids = []


def _serve(tasks, results) -> int:
    """A worker's loop: run tasks until the parent sends None or goes away.

    When workers write the output, a writer thread waits for each batch's turn and writes it
    (then reports the batch to the parent), while this thread goes on with the next batch: a
    worker that finishes before its turn does not sit idle (waiting for turns cost ~8% of the
    wall time on T2).  The writer mostly waits on a semaphore or in ``write``, both without
    the GIL."""
    turns = _TURNS
    if turns is None:
        while True:
            task = _next_task(tasks)
            if task is None:
                return 0
            try:
                results.send(_work(task))
            except OSError:
                return 1
    import queue
    import threading

    # The writer needs the GIL for a moment when its turn comes; by default it would wait up
    # to 5 ms for this thread to let go, and every later batch's turn waits behind it.
    sys.setswitchinterval(0.0005)
    done: queue.SimpleQueue = queue.SimpleQueue()
    status = [0]
    writer = threading.Thread(target=_write_batches, args=(done, results, turns, status), daemon=True)
    writer.start()
    try:
        while status[0] == 0:
            task = _next_task(tasks)
            if task is None:
                break
            done.put(_work(task))
    finally:
        done.put(None)
        writer.join()
    return status[0]


def _next_task(tasks):
    try:
        return tasks.recv()
    except (EOFError, OSError):  # the parent went away
        return None


def _write_batches(done, results, turns: _Turns, status: list) -> None:
    while True:
        batch = done.get()
        if batch is None:
            return
        failure = turns.write(batch.seq, batch.out, batch.printed, batch.stops)
        try:
            results.send((None, *batch.result, failure))
        except OSError:
            status[0] = 1
            return


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

    def _task(self, source, first: int, src) -> tuple:
        self.seq += 1
        return (self.seq - 1, source, first, src.label, src.meta_name)

    def _batches(self):
        """Yield tasks ``(seq, lines or _Range, first_line_number, label, meta_name)``;
        handles --skip-lines and --head."""
        from kelora import reader

        p, c = self.p, self.p.config
        stats = p.stats
        for src in p._sources():
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
            try:
                for raw in src.stream:
                    if c.head is not None and p.line_num >= c.head:
                        break
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
                        self._prime_parser(raw, p.line_num)
                        if p.parser_consumed_first:
                            stats.lines_read += 1
                            stats.lines_header += 1
                            first = p.line_num + 1
                            continue
                    batch.append(raw)
                    if ident is not None:
                        break  # the format is known: the rest of the file goes by byte ranges
                    if len(batch) >= self.batch_size:
                        yield self._task(batch, first, src)
                        batch, first = [], p.line_num + 1
                if ident is not None:
                    if batch:
                        yield self._task(batch, first, src)
                        batch = []
                    yield from self._ranges(src, ident)
            except (OSError, EOFError, ValueError) as exc:
                if isinstance(exc, BrokenPipeError):
                    raise
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
                yield self._task(_Range(src.label, ident, start, pos + end - start), first, src)
                per_line = (pos + end - start) / count
                start, lines, i = pos + end, 0, end
            pos += limit
        if pos > start:  # the last batch (its last line may lack a newline)
            first = p.line_num + 1
            p.line_num += lines + (0 if self._ends_with_newline(src, pos) else 1)
            yield self._task(_Range(src.label, ident, start, pos - start), first, src)

    @staticmethod
    def _ends_with_newline(src, size: int) -> bool:
        return size == 0 or os.pread(src.fd, 1, size - 1) == b"\n"

    def _prime_parser(self, raw: bytes, n: int) -> None:
        """Choose the format (and read a CSV header) in the parent, before the fork."""
        p = self.p
        text = p._decode(raw.rstrip(b"\r\n"), n)
        p.parser = p._make_parser(text)
        p.parser_consumed_first = False
        if p.stats.format_name in ("csv", "tsv") or getattr(p.parser, "has_header", False):
            try:
                consumed = p.parser.parse(text) is None
            except Exception:  # noqa: BLE001 - a bad first line is handled by the workers
                consumed = False
            p.parser_consumed_first = consumed

    def _turns(self, mp):
        """Workers write the output when it is a real descriptor (stdout or an -o file)."""
        sink = self.p.sink
        out_fd = _fileno(sink.out)
        print_fd = _fileno(self.p.env.stdout) if sink._file is not None else None
        if out_fd is None or (sink._file is not None and print_fd is None):
            return None
        return _Turns(mp, out_fd, print_fd, self._header, self.ordered)

    def read_inputs(self) -> None:
        global _WORKER, _TURNS
        p = self.p
        batches = self._batches()
        first = next(batches, None)  # primes the parser before the fork
        if first is None:
            return
        if any("pseudonym" in fn for fn in getattr(p, "called_functions", ())):
            from kelora.keyring import ensure_keyring

            ensure_keyring(p.ctx)  # derive once, here; workers inherit it through fork
        p.sink.flush()
        self._header = getattr(p.sink.formatter, "header", None)
        _WORKER = p
        _TURNS = self.turns = self._turns(multiprocessing.get_context("fork"))
        workers = _Workers(self.workers)
        # Batches are read and sent from this (the main) thread, a bounded number at a time: a
        # signal then interrupts the read or the wait here.
        self.done: dict[int, tuple] = {}  # finished batches waiting for an earlier one
        self.next_seq = 0
        try:
            workers.send(first)
            for task in batches:
                while workers.full():
                    self._collect(workers)
                workers.send(task)
            while workers.pending():
                self._collect(workers)
            workers.close()
        except BaseException:
            workers.kill()
            raise
        finally:
            _WORKER = _TURNS = None
            if self.turns is not None and self.turns.header_done.value:
                p.sink.formatter.header = None

    def _collect(self, workers: _Workers) -> None:
        """Wait for finished batches and absorb them: in input order, or as they come with
        --unordered.  (Short waits keep Ctrl-C responsive.)"""
        for seq, result in workers.receive(0.2):
            if not self.ordered:
                self._absorb(result)
                continue
            self.done[seq] = result
            while self.next_seq in self.done:
                self._absorb(self.done.pop(self.next_seq))
                self.next_seq += 1

    def _absorb(self, result) -> None:
        """Write a batch's output (unless its worker did) and merge its counters, stats and
        metrics into the run."""
        p = self.p
        out, stats, errors, filter_ok, metrics, failure, exit_request, write_failure = result
        if out:
            if self._header is not None:
                p.sink.write_raw(self._header)
                p.sink.formatter.header = self._header = None
            p.sink.write_raw(out)
        p.stats.merge(stats)
        p.errors.merge(errors)
        for k, v in filter_ok.items():
            p.builder.filter_ok[k] = p.builder.filter_ok.get(k, 0) + v
        p.ctx.metrics.merge(metrics)
        if write_failure is not None:
            p.sink.write_error(OSError(*write_failure))  # EPIPE comes back as BrokenPipeError
        if exit_request is not None:
            from kelora.errors import ExitRequest

            raise ExitRequest(*exit_request)
        if failure is not None:
            raise StageFailed(failure)
