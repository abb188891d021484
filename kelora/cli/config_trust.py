"""Which `.kelora.ini` files may steer a run (COMPAT D15), like `direnv allow` and git's
`safe.directory`.

A project folder is not the user's: a cloned repository, an unpacked support bundle or a shared
folder can hold a `.kelora.ini` whose ``defaults`` add a script stage to every run started below
it.  So discovery is bounded and a discovered project file needs consent:

* discovery walks up from the current folder to the nearest folder holding ``.git`` (a folder
  or a file: worktrees and submodules) or to the home folder, never beyond; with neither above,
  only the current folder is searched;
* the user config and a `.kelora.ini` in the home folder itself are the user's own: trusted;
* any other file is used only once ``kelora --trust-config`` recorded its absolute path and
  SHA-256 in ``trusted-configs`` next to the user config (mode 0600); a changed file is
  untrusted again;
* a file owned by another user, or writable by group or others, is ignored even if trusted.

Only a digest is kept here; the file's bytes are read once, through one descriptor, so the bytes
that are hashed, checked and parsed are the same.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

TRUST_FILE = "trusted-configs"
CONFIG_NAME = ".kelora.ini"


@dataclass
class Found:
    path: Path            # the discovered file (absolute, not resolved: what the user sees)
    in_home: bool         # it lies in the home folder itself: the user's own
    searched: list[Path]  # the folders searched, nearest first


def home_dir(env: Mapping[str, str]) -> Path | None:
    home = env.get("HOME")
    if not home:
        return None
    try:
        return Path(home).expanduser().resolve()
    except (OSError, RuntimeError):
        return None


def search_folders(cwd: Path, home: Path | None) -> list[Path]:
    """The folders discovery looks in, nearest first (see the module docstring)."""
    cwd = cwd.resolve()
    chain = [cwd, *cwd.parents]
    for i, folder in enumerate(chain):
        if folder == home or os.path.lexists(folder / ".git"):
            return chain[: i + 1]
    return [cwd]


def discover(env: Mapping[str, str], cwd: Path) -> Found | None:
    home = home_dir(env)
    folders = search_folders(cwd, home)
    for folder in folders:
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return Found(candidate, folder == home, folders)
    return None


def digest(data: bytes) -> str:
    import hashlib  # (~3 ms at start-up: only when a config file is read)

    return hashlib.sha256(data).hexdigest()


def ownership_problem(entry: os.stat_result | None, content: os.stat_result) -> str | None:
    """Why a project config may not be used whatever the trust list says, or None."""
    me = os.geteuid()
    for st in (entry, content):
        if st is not None and st.st_uid != me:
            return f"owned by another user (uid {st.st_uid})"
    mode = stat.S_IMODE(content.st_mode)
    if mode & 0o022:
        return f"writable by group or others (mode {mode:04o}; fix with chmod go-w)"
    return None


def trust_file(user_config: Path) -> Path:
    return user_config.parent / TRUST_FILE


def read_trusted(user_config: Path) -> dict[str, str]:
    """``{absolute path: sha256}`` from the trust list; an unsafe or unreadable list is empty."""
    path = trust_file(user_config)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return {}
    try:
        st = os.fstat(fd)
        if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o022 or not stat.S_ISREG(st.st_mode):
            return {}  # someone else could have added entries
        with os.fdopen(fd, "rb", closefd=False) as fh:
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return {}
    finally:
        os.close(fd)
    out: dict[str, str] = {}
    for line in text.splitlines():
        sha, sep, name = line.partition("  ")
        if sep and len(sha) == 64:
            out[name] = sha
    return out


def record_trusted(user_config: Path, path: Path, sha: str) -> Path:
    """Add (or update) ``path`` in the trust list, written atomically with mode 0600."""
    target = trust_file(user_config)
    if "\n" in str(path) or "\r" in str(path):
        raise OSError(f"cannot record a path holding a line break: {str(path)!r}")
    entries = read_trusted(user_config)
    entries[str(path)] = sha
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = "".join(f"{h}  {p}\n" for p, h in sorted(entries.items()))
    write_atomic(target, text, mode=0o600)
    return target


def write_atomic(target: Path, text: str, mode: int) -> None:
    """Write *text* to *target* atomically with *mode* (kelora.atomicfile: a fresh temporary
    file, never through a symlink, renamed over *target*, which replaces a symlink rather than
    following it)."""
    from kelora import atomicfile

    atomicfile.write_atomic(str(target), text, mode=mode, in_place=False)
