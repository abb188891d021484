"""A progress bar on stderr for long runs over files (only when stderr is a terminal).

It costs nothing per line: a background thread reads each open input file's offset
(``os.lseek(fd, 0, SEEK_CUR)``) a few times a second and draws a rich progress bar, and only
once the run has lasted ``show_after`` seconds, so short runs never flicker.  The bar is
transient: it disappears when the run ends, leaving stderr as it would be without it.
"""
from __future__ import annotations

import os
import threading
from typing import Iterator


class FileProgress:
    def __init__(self, paths: tuple[str, ...], stderr, *, show_after: float = 1.0, interval: float = 0.2):
        self.total = 0
        for path in paths:
            try:
                if path != "-" and os.path.isfile(path):
                    self.total += os.path.getsize(path)
            except OSError:
                pass
        self.stderr = stderr
        self.show_after = show_after
        self.interval = interval
        self.done = 0  # bytes of the files already finished
        self.fd: int | None = None
        self.label = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def track(self, sources: Iterator) -> Iterator:
        """Pass the inputs through, noting which file is being read."""
        self._start()
        try:
            for src in sources:
                fd = getattr(src, "fd", None)
                size = _size(fd) if fd is not None else 0
                if fd is not None:
                    from kelora.escape import escape_line

                    self.fd, self.label = fd, escape_line(src.label)  # a file name (D18)
                yield src
                self.fd = None  # the reader closes the file after this
                self.done += size
        finally:
            self.stop()

    def _position(self) -> int:
        fd = self.fd
        if fd is None:
            return self.done
        try:
            return self.done + os.lseek(fd, 0, os.SEEK_CUR)
        except OSError:
            return self.done

    def _start(self) -> None:
        if self._thread is None and self.total:
            self._thread = threading.Thread(target=self._run, name="kelora-progress", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        if self._stop.wait(self.show_after):
            return
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        from kelora.escape import raw_stream

        console = Console(file=raw_stream(self.stderr), stderr=True)  # rich writes its own codes
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                      TimeRemainingColumn(), console=console, transient=True) as bar:
            task = bar.add_task(self.label, total=self.total)
            while True:
                bar.update(task, completed=min(self._position(), self.total), description=self.label)
                if self._stop.wait(self.interval):
                    break

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None


def _size(fd: int) -> int:
    try:
        return os.fstat(fd).st_size
    except OSError:
        return 0
