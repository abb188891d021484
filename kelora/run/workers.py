"""The worker side of `--parallel` (see ``kelora.run.parallel`` for the design): forked worker
processes, what they run per batch, and how they take turns writing the output.

A worker inherits the parent's compiled ``Pipeline`` (``PIPELINE``) and, when workers write the
output themselves, the shared ``Turns`` (``TURNS``); the parent sets both just before forking.
"""
from __future__ import annotations

import collections
import os
import signal
import sys

from kelora.run.batch import SKIPPED, BatchResult, Task, run_batch
from kelora.run.stages import StageFailed

PIPELINE = None  # the Pipeline a forked worker inherited
TURNS = None  # the Turns a forked worker inherited (None: the parent writes the output)




class Turns:
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
        self.written = mp.RawValue("q", 0)  # batches written so far (the parent's count on an interrupt)
        self.out_fd = out_fd
        self.print_fd = print_fd  # script print() output, when events go to an -o file
        self.header = header
        self.ordered = ordered
        self.parent = os.getpid()

    def write(self, seq: int, out: bytes, printed: bytes, stops: bool):
        """Write one batch in its turn; return ``(errno, strerror)`` of a failed write, ``SKIPPED``
        when the run was stopping (nothing written), or None.  Writes happen only while the
        condition's lock is held: a parent holding it knows that no batch is half written."""
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
                    self.written.value += 1
                else:
                    failure = SKIPPED
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


def _init_worker() -> None:
    # Ctrl-C goes to the whole process group: the parent handles it and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


_BATCH_ERR = None  # what this worker writes to stderr during a batch (see _work); False: not kept


def _work(task: Task) -> BatchResult:
    """Run one batch; when workers write the output, the result keeps its bytes for the writer
    thread (``_write_batches``), which writes them in the batch's turn and drops them.  What
    the batch writes to stderr (warnings, ``-v`` errors, ``eprint``) goes back with the result,
    and the parent writes it in input order, as a sequential run would have."""
    global _BATCH_ERR
    if _BATCH_ERR is None:
        _BATCH_ERR = _keep_stderr(PIPELINE.env)
    result = run_batch(PIPELINE, task)
    if _BATCH_ERR:
        result.stderr = _BATCH_ERR.getvalue()
        _BATCH_ERR.seek(0)
        _BATCH_ERR.truncate()
    return result


def _keep_stderr(env):
    """Point the inherited stderr (an ``EscapingStream``: every holder, the reporter among
    them, writes through it) at a buffer of this worker's own; False when it is not one."""
    import io

    from kelora.escape import EscapingStream

    if type(env.stderr) is not EscapingStream:
        return False
    env.stderr.raw = buf = io.StringIO()
    return buf


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


class Workers:
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
        try:
            self.tasks[k].send(task)
        except OSError:  # BrokenPipeError: the worker is gone; not the output's EPIPE (exit 141)
            raise StageFailed(f"worker process {self.pids[k]} died (batch {task.seq + 1})") from None
        self.busy[k] += 1
        self.queued[k].append(task.seq)

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
    turns = TURNS
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


def _write_batches(done, results, turns: Turns, status: list) -> None:
    while True:
        batch = done.get()
        if batch is None:
            return
        stops = batch.failure is not None or batch.exit_request is not None or batch.fatal is not None
        batch.write_failure = turns.write(batch.seq, batch.out, batch.printed, stops)
        batch.out, batch.printed = None, b""  # written: the parent gets only the counts
        try:
            results.send(batch)
        except OSError:
            status[0] = 1
            return
