"""The progress bar: drawn on a terminal's stderr for long runs over files, never per line."""
from __future__ import annotations

import io
import time

from kelora.report.progress import FileProgress
from kelora.run import reader


class _TTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_follows_the_file_offset_and_disappears(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_bytes(b'{"a":1}\n' * 50_000)
    err = _TTY()
    progress = FileProgress((str(path),), err, show_after=0.0, interval=0.02)
    assert progress.total == path.stat().st_size
    seen = []
    for src in progress.track(reader.sources((str(path),), io.BytesIO())):
        for i, _line in enumerate(src.stream):
            if i % 10_000 == 0:
                time.sleep(0.05)  # let the drawing thread look at the offset
                seen.append(progress._position())
        src.stream.close()
    progress.stop()
    assert seen == sorted(seen) and seen[-1] > 0
    assert progress.done == progress.total
    assert "big.jsonl" in err.getvalue()  # the bar was drawn, labelled with the file


def test_no_bar_for_short_runs(tmp_path):
    path = tmp_path / "small.jsonl"
    path.write_bytes(b'{"a":1}\n')
    err = _TTY()
    progress = FileProgress((str(path),), err, show_after=5.0)
    for src in progress.track(reader.sources((str(path),), io.BytesIO())):
        list(src.stream)
    progress.stop()
    assert err.getvalue() == ""
