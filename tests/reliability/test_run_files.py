"""The files one run writes are distinct, and none is an input (kelora.fileguard.check_distinct_files).

``-o export.json --escrow export.json`` would replace the escrow (the only way back from the
tokens) by the export, ``--rotation-map in.jsonl`` the input.  Every such pair is refused with
exit 2 before anything is read or written, by path, through a symlink or a hard link, and the
message names both flags.
"""
from __future__ import annotations

import os

import pytest

from tests.reliability.conftest import assert_no_traceback, run_bin

ENV = {"KELORA_SECRET": "run-files-secret-0123456789abcdef",
       "KELORA_SECRET_PREVIOUS": "run-files-previous-0123456789abcdef",
       "KELORA_ESCROW_KEY": "run-files-escrow-key-of-at-least-32-bytes-0123",
       "KELORA_IGNORE_CONFIG": "1"}
SCRIPT = ["-e", 'e.t = pseudonym(e.email, "users"); e.email = ()', "-F", "json"]
LINE = b'{"email":"alice@example.com"}\n'
WRITERS = {"-o": "-o/--output-file", "--metrics-file": "--metrics-file",
           "--rotation-map": "--rotation-map", "--escrow": "--escrow"}
PAIRS = [(a, b) for i, a in enumerate(WRITERS) for b in list(WRITERS)[i + 1:]]


def kelora(box, args, environ=None):
    res = run_bin(args, stdin=b"", environ={**ENV, "HOME": str(box), **(environ or {})}, cwd=box)
    assert_no_traceback(res)
    return res


@pytest.fixture
def box(tmp_path):
    (tmp_path / "in.jsonl").write_bytes(LINE)
    return tmp_path


def listing(box):
    return sorted((p.name, p.read_bytes() if p.is_file() else None) for p in box.iterdir())


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink", "dot-slash"])
@pytest.mark.parametrize("first,second", PAIRS)
def test_two_outputs_naming_one_file_are_refused(box, first, second, how):
    target = box / "out.file"
    other = "out.file"
    if how in ("symlink", "hardlink"):
        target.write_bytes(b"kept\n")  # (an existing file: compared by device and inode)
        other = "alias.file"
        (os.symlink if how == "symlink" else os.link)(target, box / other)
    elif how == "dot-slash":
        other = "./out.file"
    before = listing(box)
    res = kelora(box, ["-j", "in.jsonl", *SCRIPT, first, "out.file", second, other])
    assert res.code == 2, res.err
    assert f"{WRITERS[first]} and {WRITERS[second]} name the same file" in res.err
    assert res.out == b""
    assert listing(box) == before  # nothing created, nothing replaced


@pytest.mark.parametrize("flag", list(WRITERS))
@pytest.mark.parametrize("reader", ["input", "-E", "-I", "--config-file", "symlink"])
def test_an_output_naming_an_input_is_refused(box, flag, reader):
    (box / "script.rhai").write_text('e.t = pseudonym(e.email, "users")\n')
    (box / "conf.ini").write_text("")
    (box / "link").symlink_to(box / "in.jsonl")
    args, target = {
        "input": (["-j", "in.jsonl", *SCRIPT], "in.jsonl"),
        "symlink": (["-j", "in.jsonl", *SCRIPT], "link"),
        "-E": (["-j", "in.jsonl", "-E", "script.rhai", "-F", "json"], "script.rhai"),
        "-I": (["-j", "in.jsonl", "-I", "script.rhai", *SCRIPT], "script.rhai"),
        "--config-file": (["-j", "in.jsonl", "--config-file", "conf.ini", *SCRIPT], "conf.ini"),
    }[reader]
    before = listing(box)
    res = kelora(box, [*args, flag, target])
    assert res.code == 2, res.err
    assert WRITERS[flag] in res.err and "also an input" in res.err
    assert listing(box) == before


def test_the_escrow_journal_is_the_escrows_file(box):
    before = listing(box)
    res = kelora(box, ["-j", "in.jsonl", *SCRIPT, "--escrow", "a.db", "-o", "a.db-wal"])
    assert res.code == 2 and "-o/--output-file and --escrow name the same file 'a.db-wal' (SQLite's journal of 'a.db')" in res.err, res.err
    assert listing(box) == before


def test_distinct_files_and_devices_still_work(box):
    """Each output its own file: the run writes them all; /dev/null twice is no clash; an escrow
    is read and written by its own flag."""
    res = kelora(box, ["-j", "in.jsonl", *SCRIPT, "-o", "out.json", "--metrics-file", "/dev/null",
                       "--rotation-map", "map.csv", "--escrow", "a.db", "--with-metrics"])
    assert res.code == 0, res.err
    assert all((box / n).exists() for n in ("out.json", "map.csv", "a.db"))
    res = kelora(box, ["-j", "in.jsonl", *SCRIPT, "-o", "/dev/null", "--metrics-file", "/dev/null"])
    assert res.code == 0, res.err
    res = run_bin(["-j", "out.json", "-e", 'e.o = reveal(e.t, "users")', "-F", "json", "--escrow", "a.db"],
                  environ={"KELORA_ESCROW_KEY": ENV["KELORA_ESCROW_KEY"], "HOME": str(box),
                           "KELORA_IGNORE_CONFIG": "1"}, cwd=box)
    assert res.code == 0 and b"alice@example.com" in res.out, res.err
