"""`--parallel`: batches of lines processed by worker processes (COMPAT D14).

The parent reads the inputs and cuts them into batches of ``--batch-size`` lines.  Workers are
forked *after* the scripts are compiled, ``--begin`` has run and (when a script calls
``pseudonym``) the key has been derived, so they inherit all of it through ``fork`` — the
secret and keys never travel over a pipe.  Each worker runs the very same per-line loop as a
sequential run (``Pipeline._read_stream``) into a private buffer and returns, per batch: the
output bytes, its stats, its error log, its filter-stage counts and its metrics.  The parent
writes outputs and merges everything **in input order** (``imap``), so output, stats and metrics
equal a sequential run's — ``track_unique`` keeps the sequential first-seen order because batch
stores are merged in order.  ``--unordered`` takes results as they finish (metrics are then
merged in completion order: sums and counts are the same, ``track_unique`` order may differ).
"""
from __future__ import annotations

import collections
import io
import multiprocessing
import os
import signal

from kelora.metrics import MetricStore
from kelora.stages import StageFailed
from kelora.stats import ErrorLog, Stats

_WORKER = None  # the Pipeline a forked worker inherited


class _Batch:
    __slots__ = ("stream", "meta_name")

    def __init__(self, lines, meta_name):
        self.stream = lines
        self.meta_name = meta_name


def _init_worker() -> None:
    # Ctrl-C goes to the whole process group: the parent handles it and stops the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _work(task):
    lines, first_line, label, meta_name = task
    pipe = _WORKER
    buf = io.BytesIO()
    pipe.env.stdout = buf
    sink = pipe.sink
    if getattr(sink.formatter, "header", None) is not None:
        sink.formatter.header = None  # the parent writes the CSV header once
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
        pipe._read_stream(_Batch(lines, meta_name))
    except StageFailed as fail:
        failure = fail.message
    except Exception as exc:  # noqa: BLE001 - reported by the parent, never a traceback
        from kelora.errors import ExitRequest

        if isinstance(exc, ExitRequest):
            exit_request = (exc.code, exc.message)
        else:
            failure = f"worker failed: {type(exc).__name__}: {exc}"
    return (buf.getvalue(), pipe.stats, pipe.errors, dict(filter_ok), pipe.ctx.metrics,
            failure, exit_request)


def _widen_pipes(pool) -> None:
    """Give the pool's task and result pipes 1 MiB buffers (Linux ``F_SETPIPE_SZ``).

    A batch's input (~330 KB per 1000 JSON lines) and output cross these pipes; with the
    default 64 KiB the sender and the receiver take turns for every 64 KiB.  Measured on T2
    (1M events, 2 workers): 7.2 -> 6.1 s.  Best effort: private attributes of
    ``multiprocessing.Pool``, and a system may cap the size (``/proc/sys/fs/pipe-max-size``).
    """
    try:
        import fcntl

        setsize = getattr(fcntl, "F_SETPIPE_SZ", 1031)
        for conn in (pool._outqueue._reader, pool._inqueue._reader):
            fcntl.fcntl(conn.fileno(), setsize, 1 << 20)
    except (ImportError, AttributeError, OSError, ValueError):
        pass


class ParallelReader:
    """Drives the workers for ``Pipeline``; called instead of ``Pipeline._read_inputs``."""

    def __init__(self, pipeline):
        self.p = pipeline
        c = pipeline.config
        self.batch_size = c.batch_size
        self.workers = c.threads or os.cpu_count() or 2
        self.ordered = not c.unordered

    def _batches(self):
        """Yield (lines, first_line_number, label, meta_name); handles --skip-lines and --head."""
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
                    if len(batch) >= self.batch_size:
                        yield batch, first, src.label, src.meta_name
                        batch, first = [], p.line_num + 1
            except (OSError, EOFError, ValueError) as exc:
                if isinstance(exc, BrokenPipeError):
                    raise
                message = f"Failed to read '{src.label}': {exc}"
                stats.files_failed.append(src.label)
                p.reporter.error(message)
                if c.strict:
                    raise StageFailed(message)
            if batch:
                yield batch, first, src.label, src.meta_name
            if c.head is not None and p.line_num >= c.head:
                return

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

    def read_inputs(self) -> None:
        global _WORKER
        p = self.p
        batches = self._batches()
        first = next(batches, None)  # primes the parser before the fork
        if first is None:
            return
        if any("pseudonym" in fn for fn in getattr(p, "called_functions", ())):
            from kelora.keyring import ensure_keyring

            ensure_keyring(p.ctx)  # derive once, here; workers inherit it through fork
        p.sink.flush()
        _WORKER = p
        pool = multiprocessing.get_context("fork").Pool(self.workers, initializer=_init_worker)
        _widen_pipes(pool)
        # Batches are read and submitted from this (the main) thread, a bounded number at a
        # time: a signal then interrupts the read or the wait here, and terminate() never
        # waits on a helper thread stuck reading an open stdin pipe.
        inflight: collections.deque = collections.deque()
        limit = self.workers * 4
        self._header = getattr(p.sink.formatter, "header", None)
        try:
            inflight.append(pool.apply_async(_work, (first,)))
            for task in batches:
                inflight.append(pool.apply_async(_work, (task,)))
                while len(inflight) >= limit:
                    self._absorb(self._next(inflight))
            while inflight:
                self._absorb(self._next(inflight))
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
            _WORKER = None

    def _next(self, inflight: collections.deque):
        """The next finished batch: the oldest (input order), or any with --unordered."""
        while True:
            if not self.ordered:
                for i, res in enumerate(inflight):
                    if res.ready():
                        del inflight[i]
                        return res.get()
            head = inflight[0]
            head.wait(0.2)  # short waits keep Ctrl-C responsive
            if head.ready():
                inflight.popleft()
                return head.get()

    def _absorb(self, result) -> None:
        """Write a batch's output and merge its counters, stats and metrics into the run."""
        p = self.p
        out, stats, errors, filter_ok, metrics, failure, exit_request = result
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
        if exit_request is not None:
            from kelora.errors import ExitRequest

            raise ExitRequest(*exit_request)
        if failure is not None:
            raise StageFailed(failure)
