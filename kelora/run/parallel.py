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

This module is the parent's side (sending batches to the forked workers, taking results back);
cutting the input into batches and absorbing results in order is shared with the Dask engine
(``kelora.run.batching``); ``kelora.run.workers`` is the workers' side (the processes, their
per-batch run and the turns).

Per batch the parent gets back only stats, the error log, filter-stage counts and metrics, and
merges them **in input order**, so output, stats and metrics equal a sequential run's —
``track_unique`` keeps the sequential first-seen order because batch stores are merged in order.
A batch that stops the run (``--strict``, ``exit()``, a failed write) raises the stop flag before
passing its turn on, so no later batch writes anything — as in a sequential run.
``--unordered`` writes and merges batches as they finish (sums and counts are the same,
``track_unique`` order may differ).
"""
from __future__ import annotations

import multiprocessing
import os

from kelora.builtins import registry as builtin_registry
from kelora.run import workers
from kelora.run.batching import IDLE, Batcher, InputFailed, fd_of, signals_held
from kelora.run.stages import StageFailed
from kelora.run.workers import Turns, Workers

class ParallelReader(Batcher):
    """Drives the forked workers for ``Pipeline``; called instead of ``Pipeline._read_inputs``.
    Cutting the input into tasks and absorbing results: ``kelora.run.batching.Batcher``."""

    def __init__(self, pipeline):
        super().__init__(pipeline)
        self.workers = pipeline.config.threads or os.cpu_count() or 2

    def _turns(self, mp):
        """Workers write the output when it is a real descriptor (stdout or an -o file)."""
        sink = self.p.sink
        out_fd = fd_of(sink.out)
        print_fd = fd_of(sink.printed) if sink.prints_apart else None
        if out_fd is None or (sink.prints_apart and print_fd is None):
            return None
        return Turns(mp, out_fd, print_fd, self._header, self.ordered)

    def read_inputs(self) -> None:
        p = self.p
        batches = self._batches()
        first = self.first_task(batches)  # primes the parser before the fork
        if first is None:
            return
        from kelora.keyring import ensure_keyring, finish_prefetch

        if builtin_registry.needs_key(p.called_functions):
            ensure_keyring(p.ctx)  # derive once, here; workers inherit it through fork
        finish_prefetch()
        self.note_begin_metrics()
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
                if task is IDLE:  # a quiet pipe: take in what is ready meanwhile
                    self._collect(pool, 0)
                    continue
                if type(task) is InputFailed:  # in its place: after every batch before it
                    while pool.pending():
                        self._collect(pool)
                    self.input_failed(task)
                    continue
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

    def _collect(self, pool: Workers, timeout: float = 0.2) -> None:
        """Wait for finished batches and absorb them: in input order, or as they come with
        --unordered.  (Short waits keep Ctrl-C responsive.)  Signals are held meanwhile: a
        result taken off its pipe is always absorbed (or kept in ``done``), so the counts of an
        interrupted run are exact; the signal arrives when this returns."""
        with signals_held():
            self._collect_held(pool, timeout)

    def _collect_held(self, pool: Workers, timeout: float) -> None:
        for seq, result in pool.receive(timeout):
            if not self.ordered:
                self._absorb(result)
                continue
            self.done[seq] = result
            while self.next_seq in self.done:
                self._absorb(self.done.pop(self.next_seq))
                self.next_seq += 1
