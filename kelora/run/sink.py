"""Where events go: stdout or an `-o` file, formatted, counted, and (for files) committed atomically.

An `-o FILE` export is written to a temporary file next to FILE and renamed into place only when
the run completes, so a failed or interrupted run never leaves a half-written export (and never
clobbers the previous good one).
"""
from __future__ import annotations

import os
import tempfile

from kelora.atomicfile import is_regular_target, keep_mode, resolved_target
from kelora.config import Config
from kelora.errors import FatalError
from kelora.safetext import ERRORS
from kelora.report.stats import Stats


class OutputSink:
    def __init__(self, config: Config, env, stats: Stats):
        from kelora.formats import make_formatter
        from kelora.report.messages import use_color

        self.config = config
        self.env = env
        self.stats = stats
        self.collect = config.collects_stats
        self.suppressed = config.quiet or config.silent or config.data_only or config.output_format == "none"
        self.formatter = make_formatter(
            "json" if config.output_format == "none" else config.output_format,
            keys=config.keys,
            exclude_keys=config.exclude_keys,
            core=config.core,
            brief=config.brief,
            verbose=config.verbose,
            # colour is for the terminal: never inside an -o export
            color=use_color(config, env) and not config.output_file,
            terminal=env.stdout_isatty and not config.output_file,
            csv_safe=config.csv_safe,
        )
        self.select = self.formatter.select_fields
        # -k/-K/-c can leave an event empty (then it is dropped) even when nothing is printed
        self.selects = config.keys is not None or bool(config.exclude_keys) or config.core
        self.take = config.take
        self._tmp_path: str | None = None
        self._target: str | None = None  # where the temporary file is renamed to (-o, resolved)
        self._file = None
        self.out = env.stdout
        self.printed = env.stdout  # where script print() goes (stdout, also with -o)
        self._write = None
        self.flush_each = env.stdout_isatty and not config.output_file
        self.scan = None  # --scan-pii: called with each event that would be written
        self.ts_of = None  # EventTime.of, for the output time span of the stats

    def open(self, in_memory: bool = False) -> None:
        """Open the output: the ``-o`` file (a temporary file until ``close(commit=True)``) or
        stdout; *in_memory* (a process running batches for a driver): the env's stdout, which
        ``redirect`` replaces per batch, even when the run writes an ``-o`` file."""
        path = None if in_memory else self.config.output_file
        if path is not None and not is_regular_target(path):
            # a device, FIFO or /dev/stdout: cannot be replaced by a rename (and must not be:
            # `-o /dev/full` would swap the device node for a regular file) -> write in place
            try:
                self._file = open(path, "wb", buffering=1 << 20)
            except OSError as exc:
                raise FatalError(f"Failed to create output file '{path}': {exc.strerror or exc}")
            self.out = self._file
        elif path is not None:
            target = self._target = resolved_target(path)  # (a symlink: written at its target)
            folder = os.path.dirname(os.path.abspath(target))
            try:
                fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=folder)
            except OSError as exc:
                raise FatalError(f"Failed to create output file '{path}': {exc.strerror or exc}")
            self._tmp_path = tmp
            keep_mode(fd, target)
            self._file = os.fdopen(fd, "wb", buffering=1 << 20)
            self.out = self._file
        self._write = self.out.write

    @property
    def prints_apart(self) -> bool:
        """Whether script ``print`` goes apart from the events (they go to an ``-o`` file)."""
        return self.config.output_file is not None

    def redirect(self, out, printed, stats: Stats) -> None:
        """Write events into *out* and script ``print`` into *printed*, counting into *stats*:
        one batch of a ``--parallel`` or Dask run, whose bytes the driver writes (or the worker,
        in its turn).  The CSV header is not part of a batch: it is written once per run."""
        self.out, self._write, self.printed, self.stats = out, out.write, printed, stats
        self.flush_each = False
        self.take_header()

    def take_header(self) -> bytes | None:
        """The header (csv/tsv) not yet written, which the caller now writes; None when there
        is none or it was taken."""
        header = getattr(self.formatter, "header", None)
        if header is not None:
            self.formatter.header = None
        return header

    # ------------------------------------------------------------------ events
    def emit(self, event: dict | None, meta: dict | None, prefix: bytes = b"") -> None:
        """Write one event; *prefix* is a context marker (``* ``) for -A/-B/-C runs."""
        stats = self.stats
        if not event:
            stats.events_filtered += 1
            return
        if self.take is not None and stats.events_output >= self.take:
            stats.events_filtered += 1
            return
        if self.suppressed:
            if self.selects:
                selected = self.select(event)
                if not selected:
                    stats.events_filtered += 1
                    return
                if self.scan is not None:
                    self.scan(selected)
            elif self.scan is not None:
                self.scan(event)
            stats.events_output += 1
            if self.collect:
                stats.observe_output(event, self.ts_of, selected if self.selects else None)
            return
        if self.scan is not None:  # --scan-pii -o: the gate sees what is written
            self.scan(self.select(event) if self.selects else event)
        data = self.formatter(event, meta)
        if not data:
            stats.events_filtered += 1
            return
        if prefix:
            data = prefix + data
        try:
            self._write(data)
        except OSError as exc:  # disk full, I/O error: stop, and leave no partial export
            self.write_error(exc)
        stats.events_output += 1
        if self.collect:  # "Keys output": the keys written, after -k/-K/-c
            stats.observe_output(event, self.ts_of, self.select(event) if self.selects else None)
        if self.flush_each:
            self.out.flush()

    def fast_writer(self, observing: bool = False):
        """``(format, write)`` for a caller's own per-event loop, or None when this sink needs
        :meth:`emit` (suppressed output, --take, stats collection, flush per event on a TTY).
        The caller counts: empty ``format(event)`` -> filtered, else written -> output; an
        ``OSError`` from ``write`` goes through :meth:`write_error`.  *observing*: the caller
        also calls :meth:`output_observer`'s function with each written event (stats)."""
        if (self.suppressed or self.take is not None or (self.collect and not observing) or self.flush_each
                or self.scan is not None):
            return None
        return self.formatter, self._write

    def output_observer(self, event_time):
        """``observe(events)`` for a list of events a caller's loop wrote: what :meth:`emit`
        records for the stats ("Keys output", output levels and time span); None when stats
        are off.  (*event_time*: the run's EventTime, whose ``of`` is ``self.ts_of``.)"""
        if not self.collect:
            return None
        stats, ts_of = self.stats, self.ts_of
        if self.selects:
            select, observe = self.select, stats.observe_output

            def each(events):
                for event in events:
                    observe(event, ts_of, select(event))
            return each
        from kelora.report.observe import ChunkObserver

        return ChunkObserver(stats, event_time, output=True)

    @property
    def counts_only(self) -> bool:
        """Whether :meth:`emit` would only count each event (output suppressed, e.g. by ``-m`` or
        ``--stats``, with nothing selected or scanned on the way): written when not empty, else
        filtered.  A caller's own loop may then count instead of calling it, and with stats hand
        the events it counts as written to :meth:`output_observer`'s function."""
        return self.suppressed and self.take is None and not self.selects and self.scan is None

    def write_error(self, exc: OSError) -> None:
        """Raise what a failed event write means (BrokenPipeError passes through as is)."""
        if isinstance(exc, BrokenPipeError):
            raise exc
        target = self.config.output_file or "stdout"
        raise FatalError(f"Failed to write output to {target}: {exc.strerror or exc}")

    def write_raw(self, data: bytes) -> None:
        """Already formatted (and counted) output of a worker batch (--parallel)."""
        try:
            self._write(data)
        except OSError as exc:
            self.write_error(exc)
        if self.flush_each:
            self.out.flush()

    def script_print(self, text: str) -> None:
        """print() goes to stdout in order with the events (not into an -o file); on a terminal
        its control characters are escaped (D18)."""
        if self.env.stdout_isatty:
            from kelora.escape import escape_diag

            text = escape_diag(text)
        data = (text + "\n").encode("utf-8", ERRORS)
        self.printed.write(data)
        if self._file is None and self.flush_each:
            self.printed.flush()

    def flush_waiting(self) -> None:
        """The input is about to wait for its writer (a pipe, a terminal): write out the events
        held in the output buffer, so a reader of a live stream (`tail -f app.log | kelora`)
        sees each one as its line arrives.  An ``-o`` export shows nothing before the run ends."""
        if self._tmp_path is None:
            self.flush()

    def flush(self) -> None:
        try:
            self.out.flush()
            if self._file is not None:
                self.printed.flush()
        except ValueError:
            pass
        except BrokenPipeError:
            raise
        except OSError as exc:  # buffered event writes fail here (disk full, I/O error)
            target = self.config.output_file if self._file is not None else "stdout"
            raise FatalError(f"Failed to write output to {target}: {exc.strerror or exc}") from None

    # ------------------------------------------------------------------ end
    def close(self, commit: bool) -> None:
        if self._file is None:
            self.flush()
            return
        if not commit and self._tmp_path is not None:
            self.abort()  # nothing to keep: no flush or fsync of a file about to be removed
            return
        path = self.config.output_file
        try:
            self._file.flush()
            if self._tmp_path is not None:
                os.fsync(self._file.fileno())
            self._file.close()
        except OSError as exc:
            self.abort()
            raise FatalError(f"Failed to write output file '{path}': {exc.strerror or exc}")
        except BaseException:  # a signal during the final flush: still no temporary file
            self.abort()
            raise
        self._file = None
        if self._tmp_path is None:  # written in place (a device or FIFO): nothing to rename
            return
        if commit:
            try:
                os.replace(self._tmp_path, self._target)  # type: ignore[arg-type]
            except OSError as exc:
                self.abort()
                raise FatalError(f"Failed to write output file '{path}': {exc.strerror or exc}")
            except BaseException:
                self.abort()
                raise
            self._tmp_path = None
        else:
            self.abort()

    def abort(self) -> None:
        """Drop an unfinished -o export: the temporary file goes first (one quick call, so
        that a second signal cannot leave it behind), then the handle."""
        tmp, self._tmp_path = self._tmp_path, None
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
            except (OSError, ValueError):
                pass
