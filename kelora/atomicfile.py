"""Writing a file so that readers see the old version or the new one, never half of either.

Every file kelora produces at the end of a run (the ``-o`` export, ``--metrics-file``, the
rotation map, the config trust list, ``--save-alias``) goes through a temporary file in the
same folder — ``mkstemp``: a fresh name, created with O_EXCL and O_NOFOLLOW, never a fixed name
or a symlink followed — which is flushed to disk and then renamed over the target.  A target
that is not a regular file (``/dev/stdout``, a FIFO) is written in place: a rename would replace
the device node.  An output path that is a symlink is written at the file it points to (the
temporary file next to that file, renamed onto it), as Kelora's ``File::create`` writes through
the link: renaming onto the link itself would replace it and leave its target unchanged.
"""
from __future__ import annotations

import os
import stat
import tempfile
from typing import Callable, TextIO

from kelora.safetext import ERRORS


def is_regular_target(path: str) -> bool:
    """True unless *path* exists and is not a regular file (device, FIFO, socket)."""
    try:
        st = os.stat(path)
    except OSError:
        return True
    return stat.S_ISREG(st.st_mode)


def resolved_target(path: str) -> str:
    """Where an output written "to *path*" goes: the file a symlink points to (through every
    link; a dangling link: the file it names, which is created), else *path* itself."""
    if os.path.islink(path):
        return os.path.realpath(path)
    return path


def keep_mode(fd: int, path: str) -> None:
    """Give the temporary file (mkstemp: 0600) the mode *path* has, or would get from the
    umask, so an atomic replace does not change who may read the file."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        os.fchmod(fd, mode)
    except OSError:
        pass


def write_atomic(path: str, write: Callable[[TextIO], None] | str | bytes, *, mode: int | None = None,
                 prefix: str | None = None, newline: str | None = None, in_place: bool = True) -> None:
    """Write *path* atomically: *write* is the text (or bytes, written as they are), or a
    function given the open text file.
    *mode*: the new file's permissions (default: those *path* has, or the umask's).
    *in_place*: a device or FIFO target is written in place (outputs such as ``/dev/stdout``),
    and a symlink is written at its target (``resolved_target``); False (kelora's own config
    files): always replaced, even a symlink, never followed."""
    if in_place:
        path = resolved_target(path)
    raw = isinstance(write, bytes)
    body = (lambda fh: fh.write(write)) if isinstance(write, (str, bytes)) else write
    text_args = {} if raw else dict(encoding="utf-8", errors=ERRORS, newline=newline)
    if in_place and not is_regular_target(path):
        with open(path, "wb" if raw else "w", **text_args) as fh:
            body(fh)
        return
    folder = os.path.dirname(os.path.abspath(path))
    name = prefix if prefix is not None else f".{os.path.basename(path)}."
    fd, tmp = tempfile.mkstemp(prefix=name, suffix=".tmp", dir=folder)
    try:
        if mode is None:
            keep_mode(fd, path)
        else:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb" if raw else "w", **text_args) as fh:
            body(fh)
            fh.flush()
            os.fsync(fh.fileno())  # on disk before the rename makes it the file
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
