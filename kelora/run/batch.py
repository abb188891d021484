"""One batch of lines run on its own, and what it gives back to the driver.

Both parallel drivers use this: ``--parallel`` workers (forked processes, ``kelora.run.workers``)
and the Dask engine (``kelora.run.dask_engine``).  A task names its lines and where they sit in
the input; ``run_batch`` runs them through the pipeline's ordinary per-line loop with a fresh
``RunState`` and returns a ``BatchResult``, which the driver merges in input order.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass

from kelora.run.state import RunState
from kelora.run.stages import StageFailed

_FILES: dict = {}  # this process's open input files, by (path, (dev, ino))


class Range:
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
            dev, ino = self.ident  # dev None: another machine's mount of a shared file (Dask)
            if st.st_ino != ino or (dev is not None and st.st_dev != dev):
                os.close(fd)
                raise OSError("the file was replaced during the run")
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


@dataclass(frozen=True, slots=True)
class Task:
    """A batch to run: its lines (a list of raw lines, or a ``Range`` of a file), the number of
    its first line in the whole input, and the source's label and ``meta.filename``."""
    seq: int
    lines: object
    first_line: int
    label: str
    meta_name: str | None


@dataclass(slots=True)
class BatchResult:
    """What a batch gives back.  ``out`` holds its formatted events (None when the worker wrote
    them itself), ``printed`` its script ``print`` output when events go to an ``-o`` file;
    ``failure`` stops the run (``--strict``, a failed read), as do ``exit_request``
    (``exit(code, message)``) and ``fatal`` (a ``FatalError``'s message, hint and exit code,
    such as ``--strict-utf8`` on a bad line: raised again by the driver, as a sequential run
    raises it); ``write_failure`` is ``(errno, text)`` of a failed write by the
    worker, or ``SKIPPED`` when the run was stopping and the batch was not written."""
    seq: int
    state: RunState
    out: bytes | None = None
    printed: bytes = b""
    failure: str | None = None
    exit_request: tuple | None = None
    fatal: tuple | None = None
    write_failure: tuple | None = None
    stderr: str = ""  # what a --parallel worker wrote to stderr in this batch (escaped already)


SKIPPED = (0, "not written: the run was stopping")


class Lines:
    """A batch as an input source for ``Pipeline.read_stream`` (see ``reader.InputSource``):
    its lines were cut to the line cap by the driver (``reader.LongLine``), so ``cap`` is 0."""
    __slots__ = ("stream", "meta_name", "lines", "cap")

    def __init__(self, stream, meta_name):
        self.stream = self.lines = stream
        self.meta_name = meta_name
        self.cap = 0


def run_batch(pipe, task: Task) -> BatchResult:
    """Run *task*'s lines through *pipe* (compiled, ``--begin`` done) into fresh buffers."""
    out = io.BytesIO()
    # script print() shares the event buffer, unless events go to an -o file (then it is stdout)
    printed = io.BytesIO() if pipe.sink.prints_apart else out
    pipe.start_batch(out, printed, task.first_line, task.label)
    failure = exit_request = fatal = None
    try:
        lines = task.lines
        stream = io.BytesIO(lines.read()) if type(lines) is Range else lines
        pipe.current_source = source = Lines(stream, task.meta_name)
        pipe.read_stream(source)
    except StageFailed as fail:
        failure = fail.message
    except OSError as exc:  # reading a byte range
        failure = f"Failed to read '{task.label}': {exc.strerror or exc}"
    except Exception as exc:  # noqa: BLE001 - reported by the driver, never a traceback
        from kelora.errors import ExitRequest, FatalError

        if isinstance(exc, ExitRequest):
            exit_request = (exc.code, exc.message)
        elif isinstance(exc, FatalError):
            fatal = (exc.message, exc.hint, exc.exit_code)
        else:
            failure = f"worker failed: {type(exc).__name__}: {exc}"
    return BatchResult(task.seq, pipe.finish_batch(), out.getvalue(),
                       printed.getvalue() if printed is not out else b"", failure, exit_request, fatal)
