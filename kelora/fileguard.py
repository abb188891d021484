"""Files that kelora never reads for, or writes over, anyone (COMPAT D16).

* **The secret file** (``KELORA_SECRET_FILE``, any other ``KELORA_*SECRET*_FILE`` /
  ``KELORA_ESCROW_KEY*_FILE``, the config's ``secret_file``): recognised by device and inode, so
  a symlink or hard link to it is the same file.  Given to a flag that reads a file (``-E``,
  ``-I``, ``--config-file``, an input file) it is refused *before* anything is read, so no
  compile error or parse error can echo a line of it; given to a flag that writes (``-o``,
  ``--metrics-file``, ``--save-alias``) it is refused before it is touched.
* **/proc, /sys and /dev** for the script file functions: ``/proc/self/environ`` still holds the
  secret after kelora removed it from ``os.environ`` (the kernel shows the environment the
  process started with), ``/proc/<ppid>/environ`` holds the shell's.  Command-line flags only
  refuse *regular files* on procfs/sysfs (``-E /proc/self/environ``): ``/dev/stdin`` and the
  ``/dev/fd/N`` pipes of ``<(...)`` stay usable there.

* **The run's own files**: the files a run writes (``-o``, ``--metrics-file``,
  ``--rotation-map``, ``--escrow`` and the journal files SQLite keeps next to it) must be
  different files, and none of them an input (an input file, ``-E``, ``-I``,
  ``--config-file``): ``-o export.json --escrow export.json`` would replace the only key to the
  tokens by the export, ``--rotation-map in.jsonl`` the input.  Same file means same device and
  inode for an existing regular file (symlinks and hard links included), the same resolved path
  for a missing one; devices, FIFOs and terminals (``/dev/null``, ``/dev/stdout``) are not
  compared.  Refused with exit 2 before anything is read or written (``check_distinct_files``).

Messages name the path and the reason, never content.
"""
from __future__ import annotations

import os
import stat
from typing import Iterable, Mapping

from kelora.errors import FunctionError, UsageError
from kelora.escape import escape_line

SPECIAL_TREES = ("/proc", "/sys", "/dev")
_special_devs: frozenset[int] | None = None


def secret_file_paths(secret_env: Mapping[str, str], secret_file: str | None) -> list[str]:
    paths = [v for k, v in secret_env.items() if k.endswith("_FILE") and v]
    if secret_file:
        paths.append(secret_file)
    return paths


def file_ids(paths: Iterable[str], cwd: str | None = None) -> frozenset[tuple[int, int]]:
    ids = set()
    for p in paths:
        p = os.path.expanduser(p)
        if cwd and not os.path.isabs(p):
            p = os.path.join(cwd, p)
        try:
            st = os.stat(p)
        except (OSError, ValueError):
            continue
        ids.add((st.st_dev, st.st_ino))
    return frozenset(ids)


def _special_devices() -> frozenset[int]:
    """Devices of procfs and sysfs (their regular files expose environments and kernel state)."""
    global _special_devs
    if _special_devs is None:
        devs = set()
        for root in ("/proc", "/sys"):
            try:
                devs.add(os.stat(root).st_dev)
            except OSError:
                pass
        _special_devs = frozenset(devs)
    return _special_devs


def special_tree(path: str) -> str | None:
    """The special tree (/proc, /sys, /dev) ``path`` lies in, by name or after symlinks."""
    candidates = [os.path.abspath(path)]
    try:
        candidates.append(os.path.realpath(path))
    except (OSError, ValueError):
        pass
    for c in candidates:
        for root in SPECIAL_TREES:
            if c == root or c.startswith(root + "/"):
                return root
    return None


def is_kernel_file(st: os.stat_result) -> bool:
    """A regular file of procfs/sysfs (``/proc/self/environ``), not a pipe behind ``/dev/fd``."""
    return stat.S_ISREG(st.st_mode) and st.st_dev in _special_devices()


def check_flag_read(path: str, flag: str, protected: frozenset, st: os.stat_result | None = None) -> None:
    """Refuse a file given to a reading flag when it is the secret file or a kernel file."""
    if st is None:
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return  # the reader reports a missing file in its own words
    if (st.st_dev, st.st_ino) in protected:
        raise UsageError(f"refusing to read '{path}' ({flag}): it is the pseudonym secret file",
                         hint="the secret file is only read as the secret; check the arguments")
    if is_kernel_file(st):
        raise UsageError(f"refusing to read '{path}' ({flag}): kernel files under /proc and /sys are "
                         "refused (they can hold the environment, secrets included)")


def check_flag_write(path: str, flag: str, protected: frozenset) -> None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return
    if (st.st_dev, st.st_ino) in protected:
        raise UsageError(f"refusing to write to '{path}' ({flag}): it is the pseudonym secret file")


# SQLite's companions of a database file: --escrow writes them too (WAL mode, or a rollback
# journal while it converts a fresh file)
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def file_identity(path: str) -> tuple | None:
    """What makes two paths the same file: ``(dev, ino)`` of an existing regular file, the
    resolved path of a missing one, None for anything else (a device, FIFO, socket, terminal:
    writing there twice is harmless or intended, and ``/dev/stdin`` is no file to protect)."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        try:
            return ("path", os.path.realpath(path))
        except (OSError, ValueError):
            return None
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return ("file", st.st_dev, st.st_ino)


def _identities(flag: str, path: str) -> list[tuple[tuple, str]]:
    """``[(identity, the path it is of)]``: the file itself, and for --escrow SQLite's journals."""
    names = [path]
    if flag == "--escrow":
        names += [path + s for s in SQLITE_COMPANIONS]
        try:
            real = os.path.realpath(path)  # (SQLite keeps them next to the file a symlink names)
        except (OSError, ValueError):
            real = path
        if real != path:
            names += [real + s for s in SQLITE_COMPANIONS]
    out = []
    for name in names:
        ident = file_identity(name)
        if ident is not None:
            out.append((ident, name))
    return out


def check_distinct_files(outputs: Iterable[tuple[str, str | None]],
                         inputs: Iterable[tuple[str, str | None]]) -> None:
    """Refuse (UsageError, exit 2) two outputs naming one file, or an output naming an input.
    *outputs* and *inputs* are ``(flag, path)``; a path of None, "" or "-" is skipped.  The
    escrow is read and written by its own flag: it is compared with the others only."""
    seen: dict[tuple, tuple[str, str]] = {}  # identity -> (flag, path) of an output
    for flag, path in outputs:
        if not path or path == "-":
            continue
        mine: dict[tuple, str] = {}
        for ident, name in _identities(flag, path):
            mine.setdefault(ident, name)
        for ident, name in mine.items():
            other = seen.get(ident)
            if other is not None:
                what = f"'{escape_line(name)}'"
                if name != path:
                    what += f" (SQLite's journal of '{escape_line(path)}')"
                raise UsageError(
                    f"{other[0]} and {flag} name the same file {what}",
                    hint="give each file the run writes its own name: one would replace the other")
        for ident in mine:
            seen[ident] = (flag, path)
    for in_flag, path in inputs:
        if not path or path == "-":
            continue
        ident = file_identity(path)
        other = seen.get(ident) if ident is not None else None
        if other is not None:
            raise UsageError(
                f"{other[0]} names '{escape_line(other[1])}', which is also an input ({in_flag}: "
                f"'{escape_line(path)}'); writing it would replace the input",
                hint="write the output to another file")


def read_flag_file(path: str, flag: str, protected: frozenset) -> bytes:
    """The bytes of a file named on the command line, after the checks above (on the opened
    descriptor, so a swapped file cannot slip through).  OSError for the caller to word."""
    with open(path, "rb") as fh:
        check_flag_read(path, flag, protected, os.fstat(fh.fileno()))
        return fh.read()


# --------------------------------------------------------------------------- script functions

def script_refusal(fn: str, path: str) -> FunctionError | None:
    root = special_tree(path)
    if root is not None:
        return FunctionError(f"{fn}(): '{path}' is under {root}; files under /proc, /sys and /dev are "
                             "not accessible from scripts (they can expose the environment, secrets included)")
    return None


def check_script_fd(ctx, fn: str, path: str, fd: int) -> None:
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) in protected_ids(ctx):
        raise FunctionError(f"{fn}(): '{path}' is the pseudonym secret file; scripts cannot access it")
    if is_kernel_file(st):
        raise FunctionError(f"{fn}(): '{path}' is a kernel file (/proc, /sys); scripts cannot access it")


def check_script_path(ctx, fn: str, path: str) -> None:
    """Refuse by name (/proc, /sys, /dev, also through symlinks) and, when the file exists, by
    identity with the secret file.  Raised at the call, so the stage fails at once."""
    err = script_refusal(fn, path)
    if err is not None:
        raise err
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return
    if (st.st_dev, st.st_ino) in protected_ids(ctx):
        raise FunctionError(f"{fn}(): '{path}' is the pseudonym secret file; scripts cannot access it")


def protected_ids(ctx) -> frozenset:
    ids = getattr(ctx, "_protected_ids", None)
    if ids is None:
        from kelora.keyring import secret_env_of

        ids = file_ids(secret_file_paths(secret_env_of(ctx), getattr(ctx, "secret_file", None)))
        try:
            ctx._protected_ids = ids
        except AttributeError:
            pass
    return ids
