"""The built parse tables are cached only where no other user can write (docs/security.md):
Lark's own ``cache=True`` unpickles a file from a predictable name in the shared temporary
directory, so a file planted there by someone else would run code inside kelora."""
from __future__ import annotations

import glob
import os
import pickle
import shutil
import subprocess
import sys

import pytest

from kelora.lang.parser import PARSER_OPTIONS, grammar_text, parser_cache_path

KELORA = shutil.which("kelora", path=os.path.dirname(sys.executable)) or "kelora"


class _Planted:
    """Unpickling this creates *marker*: proof that the planted file was loaded."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _run(tmp: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TMPDIR=tmp)
    return subprocess.run([KELORA, "-e", "e.b = e.a + 1", "-j", "-F", "json"], input=b'{"a":1}\n',
                          capture_output=True, env=env, timeout=60)


def test_a_pickle_planted_at_larks_shared_cache_name_is_never_loaded(tmp_path, monkeypatch):
    from lark import Lark

    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    # the file Lark's cache=True would read: let Lark name it, then replace it as an attacker would
    monkeypatch.setattr("tempfile.tempdir", str(shared))
    Lark(grammar_text(), **PARSER_OPTIONS, cache=True)
    (planted,) = glob.glob(str(shared / ".lark_cache_*"))
    with open(planted, "rb") as f:
        header = f.readline()
    marker = tmp_path / "pwned"
    with open(planted, "wb") as f:
        f.write(header + pickle.dumps(_Planted(str(marker))))
    proc = _run(str(shared))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b'{"a":1,"b":2}\n'
    assert not marker.exists(), "kelora loaded a parser cache file another user could have planted"


def test_the_cache_lives_in_a_private_directory(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    path = parser_cache_path()
    folder = os.path.dirname(path)
    assert folder == str(tmp_path / f"kelora-{os.getuid()}")
    assert os.stat(folder).st_mode & 0o777 == 0o700


def test_a_directory_others_can_write_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    folder = tmp_path / f"kelora-{os.getuid()}"
    folder.mkdir()
    folder.chmod(0o777)
    assert parser_cache_path() is False
    proc = _run(str(tmp_path))  # (the command still works: the tables are built in memory)
    assert proc.returncode == 0 and proc.stdout == b'{"a":1,"b":2}\n', proc.stderr
    assert os.listdir(folder) == []


@pytest.mark.parametrize("mode", [0o666, 0o620])
def test_a_cache_file_others_can_write_is_not_used(tmp_path, monkeypatch, mode):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    path = parser_cache_path()
    marker = tmp_path / "pwned"
    with open(path, "wb") as f:
        f.write(b"x\n" + pickle.dumps(_Planted(str(marker))))
    os.chmod(path, mode)
    assert parser_cache_path() is False
    proc = _run(str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()


def test_a_symlink_in_place_of_the_directory_is_not_followed(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    os.symlink(elsewhere, tmp_path / f"kelora-{os.getuid()}")
    assert parser_cache_path() is False


def test_the_cache_runs_no_code_even_with_a_matching_key(tmp_path, monkeypatch):
    """A cache file with the right first line and a pickle that calls a function (written by a
    script with --allow-fs-writes, or anyone who can write the file) is not executed: the
    tables are read by an unpickler that refuses every global, and rebuilt."""
    from kelora.lang import parser as parser_mod

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    path = parser_cache_path()
    marker = tmp_path / "pwned"
    key = parser_mod._tables_key(grammar_text())
    with open(path, "wb") as f:
        f.write(key + b"\n" + pickle.dumps(_Planted(str(marker))))
    os.chmod(path, 0o600)
    proc = _run(str(tmp_path))
    assert proc.returncode == 0 and proc.stdout == b'{"a":1,"b":2}\n', proc.stderr
    assert not marker.exists(), "kelora ran code from its parser cache"
    assert open(path, "rb").readline() == key + b"\n"  # (rebuilt: the next run loads real tables)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert _run(str(tmp_path)).stdout == b'{"a":1,"b":2}\n'


def test_a_huge_or_special_cache_file_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    path = parser_cache_path()
    with open(path, "wb") as f:
        f.truncate(4 << 30)
    os.chmod(path, 0o600)
    # (it was read whole: 8 GB of memory and 20 s; under a 1 GiB limit Lark's load failed loudly)
    import resource

    limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    proc = subprocess.run([KELORA, "-e", "e.b = e.a + 1", "-j", "-F", "json"], input=b'{"a":1}\n',
                          capture_output=True, env=dict(os.environ, TMPDIR=str(tmp_path)), timeout=60,
                          preexec_fn=limit)
    assert proc.returncode == 0 and proc.stdout == b'{"a":1,"b":2}\n', proc.stderr
    assert proc.stderr == b""
    assert os.path.getsize(path) < 1 << 20  # (replaced by real tables)
