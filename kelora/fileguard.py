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
* **kelora's own state** (``own_state``): the parser cache folder, the user config folder (the
  user config and the trust list) and every config file the run used.  Script writers
  (``append_file``, ``truncate_file``, ``mkdir``) and output flags (``-o``, ``--metrics-file``,
  ``--rotation-map``, ``--escrow``) refuse it, by name after symlinks and, for a file that
  exists, by device and inode (hard links): with ``--allow-fs-writes`` a script could otherwise
  trust a config for the next run, or plant the parser cache that the next run loads.
* **kelora's own small files** (config files, the trust list, the parser cache) are read by
  ``read_own_file``: regular files only (a FIFO would stall the start, a device would never
  end), at most ``OWN_FILE_CAP`` bytes, checked on the open descriptor before anything is read
  (a planted 4 GB ``.kelora.ini`` must not be read whole only to be ignored).

Messages name the path and the reason, never content.
"""
from __future__ import annotations

import os
import stat
from typing import Callable, Iterable, Mapping

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


# --------------------------------------------------------------------------- kelora's own files

def cache_folder() -> str:
    """``<tmp>/kelora-<uid>``: the folder of the parser cache (kelora.lang.parser)."""
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"kelora-{os.getuid()}")


def user_config_folder(env: Mapping[str, str]) -> str:
    """``$XDG_CONFIG_HOME/kelora``, else ``~/.config/kelora``: the user config and the trust list."""
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser(env.get("HOME", "~")), ".config")
    return os.path.join(base, "kelora")


class OwnState:
    """The folders and files that are kelora's own (see the module docstring)."""

    def __init__(self, folders: Iterable[str], files: Iterable[str]):
        self.folders = [(f, _real(f)) for f in folders if f]
        self.files = [(f, _real(f)) for f in files if f]
        ids = set()
        for f in [f for f, _ in self.files]:
            _add_id(ids, f)
        for folder, _ in self.folders:  # (their files: the trust list, the cache, the config)
            _add_id(ids, folder)
            try:
                with os.scandir(folder) as it:
                    for entry in it:
                        _add_id(ids, entry.path)
            except OSError:
                pass
        self.ids = frozenset(ids)

    def refusal(self, path: str) -> str | None:
        """What of kelora's own *path* is (or lies in), or None."""
        names = {os.path.abspath(path), _real(path)}
        for shown, real in self.folders:
            for folder in {os.path.abspath(shown), real}:
                if any(n == folder or n.startswith(folder.rstrip("/") + "/") for n in names):
                    return f"in kelora's own folder {shown}"
        for shown, real in self.files:
            if names & {os.path.abspath(shown), real}:
                return f"kelora's own config file {shown}"
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return None
        return self.refusal_of(st)

    def refusal_of(self, st: os.stat_result) -> str | None:
        if (st.st_dev, st.st_ino) in self.ids:
            return "a file of kelora's own state (a config file, the trust list or the parser cache)"
        return None


def _real(path: str) -> str:
    try:
        return os.path.realpath(os.path.expanduser(path))
    except (OSError, ValueError):
        return os.path.abspath(path)


def _add_id(ids: set, path: str) -> None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return
    ids.add((st.st_dev, st.st_ino))


def own_state(env: Mapping[str, str], config_files: Iterable[str] = ()) -> OwnState:
    return OwnState([cache_folder(), user_config_folder(env)], config_files)


def check_flag_own_state(path: str, flag: str, state: OwnState) -> None:
    """Refuse an output flag that would write over kelora's own state (exit 2)."""
    why = state.refusal(path)
    if why is not None:
        raise UsageError(f"refusing to write to '{path}' ({flag}): it is {why}",
                         hint="kelora keeps its config, trust list and parser cache there; choose another path")

OWN_FILE_CAP = 1 << 20  # 1 MiB: far above any real config file, trust list or cache


class OwnFileRefused(Exception):
    """A file of kelora's own that is not read (the message says why, never its content);
    *too_big*: refused for its size (past the cap)."""

    def __init__(self, message: str, too_big: bool = False):
        super().__init__(message)
        self.too_big = too_big


def read_own_file(path: str, *, cap: int = OWN_FILE_CAP, follow: bool = True, pipes: bool = False,
                  check: Callable[[os.stat_result], None] | None = None) -> tuple[bytes, os.stat_result]:
    """The bytes of a config file, trust list or cache, and the status of what was read (one
    descriptor: what is checked is what is read).  Opened non-blocking (a FIFO without a writer
    must not stall), then refused unless it is a regular file (*pipes*: or a pipe, for
    ``--config-file <(...)``) of at most *cap* bytes -- by ``fstat``, and again while reading
    (``/proc`` files and pipes report no size).  *follow*: False refuses a symlink.  *check*
    is given the status before anything is read (``check_flag_read``: the secret file).
    OSError when it cannot be opened or read; OwnFileRefused otherwise."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= os.O_NOFOLLOW
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if check is not None:
            check(st)
        if not (stat.S_ISREG(st.st_mode) or (pipes and stat.S_ISFIFO(st.st_mode))):
            raise OwnFileRefused("not a regular file")
        if st.st_size > cap:
            raise OwnFileRefused(f"too big ({st.st_size} bytes; the limit is {cap})", too_big=True)
        os.set_blocking(fd, True)  # (a pipe is read to its end, as a file is)
        chunks, size = [], 0
        while size <= cap:
            chunk = os.read(fd, cap + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > cap:
            raise OwnFileRefused(f"too big (more than {cap} bytes)", too_big=True)
        return b"".join(chunks), st
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- script functions

def script_refusal(fn: str, path: str) -> FunctionError | None:
    root = special_tree(path)
    if root is not None:
        return FunctionError(f"{fn}(): '{path}' is under {root}; files under /proc, /sys and /dev are "
                             "not accessible from scripts (they can expose the environment, secrets included)")
    return None


def check_script_fd(ctx, fn: str, path: str, fd: int) -> None:
    check_script_stat(ctx, fn, path, os.fstat(fd))


def check_script_stat(ctx, fn: str, path: str, st: os.stat_result) -> None:
    """Refuse the opened file *st* when it is the secret file or a kernel file."""
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


def check_script_write(ctx, fn: str, path: str) -> None:
    """For the writers: ``check_script_path``, and never kelora's own state."""
    check_script_path(ctx, fn, path)
    why = script_own_state(ctx).refusal(path)
    if why is not None:
        raise FunctionError(f"{fn}(): '{path}' is {why}; scripts cannot write there")


def check_script_write_fd(ctx, fn: str, path: str, fd: int) -> None:
    check_script_fd(ctx, fn, path, fd)
    why = script_own_state(ctx).refusal_of(os.fstat(fd))
    if why is not None:
        raise FunctionError(f"{fn}(): '{path}' is {why}; scripts cannot write there")


def script_own_state(ctx) -> OwnState:
    state = getattr(ctx, "_own_state", None)
    if state is None:
        state = own_state(getattr(ctx, "env", None) or os.environ, getattr(ctx, "config_files", ()))
        try:
            ctx._own_state = state
        except AttributeError:
            pass
    return state


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
