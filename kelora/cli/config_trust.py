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
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from kelora import fileguard
from kelora.safetext import escape_undecodable

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


# Characters a recorded path may not hold: C0 (line feed and carriage return above all), DEL, C1
# and the Unicode line and paragraph separators -- anything a reader of the list, or a terminal
# showing it, could take for the end of a line.
_LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def read_trusted(user_config: Path) -> dict[str, str]:
    """``{absolute path: sha256}`` from the trust list; an unsafe, unreadable or oversized list
    is empty (and ``record_trusted`` replaces it by one holding only what it records).

    The list is bytes: one ``<sha256>  <path>`` per "\\n" (nothing else ends a line), the path
    as the file system spells it (``os.fsencode``), so a folder name that is not UTF-8 matches."""
    path = trust_file(user_config)
    try:
        data, st = fileguard.read_own_file(str(path), follow=False)
    except (OSError, fileguard.OwnFileRefused):
        return {}
    if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o022:
        return {}  # someone else could have added entries
    out: dict[str, str] = {}
    for line in data.split(b"\n"):
        sha, sep, name = line.partition(b"  ")
        if sep and len(sha) == 64 and name:
            out[os.fsdecode(name)] = sha.decode("ascii", "replace")
    return out


def record_trusted(user_config: Path, path: Path, sha: str) -> Path:
    """Add (or update) ``path`` in the trust list, written atomically with mode 0600."""
    target = trust_file(user_config)
    name = str(path)
    if _LINE_BREAKING.search(name):
        raise UntrustablePath(
            f"cannot trust a config whose path holds a control character or line separator "
            f"({_LINE_BREAKING.sub(_escaped, escape_undecodable(name))}); rename the folder")
    entries = read_trusted(user_config)
    entries[name] = sha
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = b"".join(f"{h}  ".encode("ascii") + os.fsencode(p) + b"\n" for p, h in sorted(entries.items()))
    write_atomic(target, data, mode=0o600)
    return target


def _escaped(m: re.Match) -> str:
    return f"\\u{{{ord(m.group()):x}}}"


class UntrustablePath(ValueError):
    """A path the trust list cannot hold unambiguously."""


def write_atomic(target: Path, text: str | bytes, mode: int) -> None:
    """Write *text* to *target* atomically with *mode* (kelora.atomicfile: a fresh temporary
    file, never through a symlink, renamed over *target*, which replaces a symlink rather than
    following it)."""
    from kelora import atomicfile

    atomicfile.write_atomic(str(target), text, mode=mode, in_place=False)
