"""--escrow and reveal() (COMPAT D21) through the installed kelora."""
from __future__ import annotations

import base64
import json
import sqlite3
import subprocess

import pytest

from .helpers import BENCH, HORSE, KELORA_BIN, key_file, run

KEY = "k" * 8 + "-escrow-key-for-tests-0123456789-abcdef"  # 47 bytes
VALUES = ["alice@example.com", "bob@example.org", "José.Müller@exämple.de", "carol@example.net"]
PSEUDO = ["-e", 'e.t = pseudonym(e.u, "users"); e.u = ()', "-F", "json"]
REVEAL = ["-e", 'e.orig = reveal(e.t, "users")', "-F", "json"]


def lines(values=VALUES, repeat=2) -> bytes:
    return b"".join(json.dumps({"u": v}, ensure_ascii=False).encode() + b"\n" for v in values * repeat)


def env(**extra):
    out = {"KELORA_SECRET": BENCH, "KELORA_ESCROW_KEY": KEY}
    out.update(extra)
    return out


def test_round_trip(tmp_path):
    db = tmp_path / "audit.db"
    a = run(["-j", "--escrow", str(db), *PSEUDO], env=env(), stdin=lines())
    assert a.returncode == 0, a.stderr
    assert b"4 new rows" in a.stderr
    exported = a.stdout
    assert all(v.encode() not in exported for v in VALUES)
    # the compliance side: only the escrow key, no pseudonym secret
    b = run(["-j", "--escrow", str(db), *REVEAL, "-s=json"], env={"KELORA_ESCROW_KEY": KEY}, stdin=exported)
    assert b.returncode == 0, b.stderr
    assert json.loads(b.stdout)["reveals"] == 8
    c = run(["-j", "--escrow", str(db), *REVEAL], env={"KELORA_ESCROW_KEY": KEY}, stdin=exported)
    got = [json.loads(x)["orig"] for x in c.stdout.splitlines()]
    assert got == VALUES * 2
    assert b"8 reveals" in c.stderr
    # unknown token -> ()
    d = run(["-j", "--escrow", str(db), *REVEAL], env={"KELORA_ESCROW_KEY": KEY},
            stdin=b'{"t":"AAAAAAAAAAAAAAAAAAAAAAAA"}\n')
    assert json.loads(d.stdout) == {"t": "AAAAAAAAAAAAAAAAAAAAAAAA"}
    # rows are written once: a second run adds nothing
    e = run(["-j", "--escrow", str(db), *PSEUDO], env=env(), stdin=lines())
    assert b"0 new rows" in e.stderr


def test_key_from_file_and_trailing_newline(tmp_path):
    db = tmp_path / "a.db"
    kf = key_file(tmp_path, "k", (KEY + "\n").encode())
    a = run(["-j", "--escrow", str(db), *PSEUDO], env={"KELORA_SECRET": BENCH, "KELORA_ESCROW_KEY_FILE": kf},
            stdin=lines())
    assert a.returncode == 0, a.stderr
    b = run(["-j", "--escrow", str(db), *REVEAL], env={"KELORA_ESCROW_KEY": KEY}, stdin=a.stdout)
    assert b.returncode == 0, b.stderr
    assert json.loads(b.stdout.splitlines()[0])["orig"] == VALUES[0]


def test_wrong_key_refused_at_start(tmp_path):
    db = tmp_path / "a.db"
    assert run(["-j", "--escrow", str(db), *PSEUDO], env=env(), stdin=lines()).returncode == 0
    before = db.read_bytes()
    other = "x" * 40
    for args, e in ((PSEUDO, env(KELORA_ESCROW_KEY=other)), (REVEAL, {"KELORA_ESCROW_KEY": other})):
        r = run(["-j", "--escrow", str(db), *args], env=e, stdin=b'{"u":"zed@example.com","t":"x"}\n')
        assert r.returncode == 2, r.stderr
        assert b"does not open" in r.stderr and r.stdout == b""
        assert other.encode() not in r.stderr
    con = sqlite3.connect(db)
    assert con.execute("select count(*) from escrow").fetchone()[0] == len(VALUES)
    con.close()
    assert before  # (the file was not replaced)


@pytest.mark.parametrize("extra,needle", [
    ({"KELORA_ESCROW_KEY": BENCH + "-" * 20}, None),  # ok: differs
    ({"KELORA_SECRET": "s" * 40, "KELORA_ESCROW_KEY": "s" * 40}, b"equals a pseudonym secret"),
    ({"KELORA_ESCROW_KEY": "short-key"}, b"at least 32"),
    ({"KELORA_ESCROW_KEY": None}, b"needs a key"),
    ({"KELORA_SECRET": None}, b"stable pseudonym secret"),  # ephemeral key
    # variables are taken as given (keyring.resolve_secret): a newline does not make them differ
    ({"KELORA_SECRET": "s" * 40 + "\n", "KELORA_ESCROW_KEY": "s" * 40 + "\n"}, b"equals a pseudonym secret"),
    # the previous secret counts without --rotation-map too (its tokens are in older exports)
    ({"KELORA_SECRET_PREVIOUS": "p" * 40, "KELORA_ESCROW_KEY": "p" * 40}, b"equals a pseudonym secret"),
])
def test_key_rules(tmp_path, extra, needle):
    e = env()
    for k, v in extra.items():
        if v is None:
            e.pop(k)
        else:
            e[k] = v
    db = tmp_path / "a.db"
    r = run(["-j", "--escrow", str(db), *PSEUDO], env=e, stdin=lines())
    if needle is None:
        assert r.returncode == 0, r.stderr
        return
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr
    assert not db.exists()
    for secret in e.values():
        assert secret.encode() not in r.stderr + r.stdout


def test_key_file_readable_by_others_refused(tmp_path):
    kf = key_file(tmp_path, "k", KEY.encode(), mode=0o640)
    r = run(["-j", "--escrow", str(tmp_path / "a.db"), *PSEUDO],
            env={"KELORA_SECRET": BENCH, "KELORA_ESCROW_KEY_FILE": kf}, stdin=lines())
    assert r.returncode == 2 and b"group or others" in r.stderr


def test_reveal_only_run_never_creates_the_file(tmp_path):
    db = tmp_path / "missing.db"
    r = run(["-j", "--escrow", str(db), *REVEAL], env={"KELORA_ESCROW_KEY": KEY}, stdin=b'{"t":"x"}\n')
    assert r.returncode == 2 and b"does not exist" in r.stderr
    assert not db.exists()


def _snapshot(folder):
    return sorted((p.name, p.read_bytes()) for p in folder.iterdir())


def _other_sqlite(path):
    con = sqlite3.connect(path)
    con.execute("create table users (name text)")
    con.execute("insert into users values ('someone')")
    con.commit()
    con.close()


@pytest.mark.parametrize("kind", ["empty file", "other sqlite", "not sqlite", "key check deleted",
                                  "format changed"])
@pytest.mark.parametrize("script", ["reveal", "pseudonym"])
def test_a_file_that_is_not_a_kelora_escrow_is_refused_unchanged(tmp_path, kind, script):
    """An existing --escrow file is checked, reading only, before anything is written: an empty
    file, another application's SQLite database, a non-database, or an escrow whose key check
    (or format row) was deleted is refused with exit 2, byte for byte as it was, whatever the
    key; a reveal-only run never creates or changes a database."""
    folder = tmp_path / "box"
    folder.mkdir()
    db = folder / "x.db"
    if kind == "empty file":
        db.write_bytes(b"")
    elif kind == "other sqlite":
        _other_sqlite(db)
    elif kind == "not sqlite":
        db.write_bytes(b"not a database at all\n" * 100)
    else:
        made = run(["-j", "--escrow", str(db), *PSEUDO], env=env(), stdin=lines())
        assert made.returncode == 0, made.stderr
        con = sqlite3.connect(db)
        con.execute("delete from meta where name = ?", ("key_check" if kind == "key check deleted" else "format",))
        con.commit()
        con.close()
    before = _snapshot(folder)
    other_key = "another-escrow-key-of-at-least-32-bytes-xyz"
    if script == "reveal":
        r = run(["-j", "--escrow", str(db), *REVEAL], env={"KELORA_ESCROW_KEY": other_key},
                stdin=b'{"t":"AAAAAAAAAAAAAAAAAAAAAAAA"}\n')
    else:
        r = run(["-j", "--escrow", str(db), *PSEUDO], env=env(KELORA_ESCROW_KEY=other_key), stdin=lines())
    assert r.returncode == 2, r.stderr
    assert b"is not a kelora escrow database" in r.stderr and r.stdout == b"", r.stderr
    assert _snapshot(folder) == before  # no table, row, journal or temporary file added


def test_reveal_only_run_leaves_the_escrow_as_it_was(tmp_path):
    folder = tmp_path / "box"
    folder.mkdir()
    db = folder / "a.db"
    a = run(["-j", "--escrow", str(db), *PSEUDO], env=env(), stdin=lines())
    assert a.returncode == 0, a.stderr
    before = _snapshot(folder)
    b = run(["-j", "--escrow", str(db), *REVEAL], env={"KELORA_ESCROW_KEY": KEY}, stdin=a.stdout)
    assert b.returncode == 0 and b"8 reveals" in b.stderr, b.stderr
    assert _snapshot(folder) == before


def test_reveal_without_escrow_is_a_compile_error(tmp_path):
    r = run(["-j", *REVEAL], env={"KELORA_ESCROW_KEY": KEY}, stdin=b'{"t":"x"}\n')
    assert r.returncode == 1 and b"reveal() is available only with --escrow" in r.stderr
    assert r.stdout == b""


def _files(db):
    return [p for p in db.parent.iterdir() if p.name.startswith(db.name)]


def test_no_original_value_or_key_in_the_file(tmp_path):
    from kelora.privacy.escrow import derive_key

    db = tmp_path / "a.db"
    r = run(["-j", "--escrow", str(db), *PSEUDO], env=env(), stdin=lines())
    assert r.returncode == 0
    key = KEY.encode()
    aes = derive_key(key)
    needles = [key, key.hex().encode(), base64.b64encode(key), aes, aes.hex().encode(),
               base64.b64encode(aes), BENCH.encode()]
    for v in VALUES:
        raw = v.encode()
        needles += [raw, raw.hex().encode(), base64.b64encode(raw), v.encode("utf-16-le"),
                    v.split("@")[0].encode()]
    files = _files(db)
    assert files
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, (path.name, needle[:8])
    assert (db.stat().st_mode & 0o077) == 0  # owner-only


def test_two_concurrent_writers_and_parallel(tmp_path):
    db = tmp_path / "a.db"
    a_vals = [f"a{i}@example.com" for i in range(3000)]
    b_vals = [f"b{i}@example.com" for i in range(3000)] + a_vals[:500]  # overlap: insert-or-ignore
    fa, fb = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    fa.write_bytes(lines(a_vals, 1))
    fb.write_bytes(lines(b_vals, 1))
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith("KELORA")}
    base.update(env())
    procs = [subprocess.Popen([KELORA_BIN, "-j", str(f), "--escrow", str(db), *PSEUDO, *extra],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=base)
             for f, extra in ((fa, []), (fb, ["--parallel", "--batch-size", "200"]))]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    con = sqlite3.connect(db)
    assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert con.execute("select count(*) from escrow").fetchone()[0] == 6000
    con.close()
    # every token of both exports reveals its original
    for (out, _), vals in zip(outs, (a_vals, b_vals)):
        r = run(["-j", "--escrow", str(db), *REVEAL], env={"KELORA_ESCROW_KEY": KEY}, stdin=out)
        assert r.returncode == 0, r.stderr
        assert [json.loads(x)["orig"] for x in r.stdout.splitlines()] == vals


def test_interrupted_run_leaves_a_consistent_database(tmp_path):
    import os
    import signal
    import time

    db = tmp_path / "a.db"
    base = {k: v for k, v in os.environ.items() if not k.startswith("KELORA")}
    base.update(env())
    proc = subprocess.Popen([KELORA_BIN, "-j", "--escrow", str(db), *PSEUDO], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=base)
    proc.stdin.write(lines([f"u{i}@example.com" for i in range(2500)], 1))
    proc.stdin.flush()
    time.sleep(3)
    proc.send_signal(signal.SIGKILL)  # the worst case: no clean-up at all
    proc.wait(timeout=30)
    con = sqlite3.connect(db)
    assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
    n = con.execute("select count(*) from escrow").fetchone()[0]
    con.close()
    assert n % 1000 == 0  # whole batches only
    r = run(["-j", "--escrow", str(db), "-e", 'e.t = pseudonym(e.u, "users")', "-q"], env=env(),
            stdin=lines([f"u{i}@example.com" for i in range(2500)], 1))
    assert r.returncode == 0, r.stderr
    con = sqlite3.connect(db)
    assert con.execute("select count(*) from escrow").fetchone()[0] == 2500


def test_missing_cryptography_is_a_clear_refusal(tmp_path, monkeypatch):
    import sys

    from kelora.cli.app import run_command
    from kelora.run.env import Env

    monkeypatch.setitem(sys.modules, "cryptography", None)  # import fails
    test_env = Env.for_test(stdin=lines(), environ=env())
    code = run_command(["-j", "--escrow", str(tmp_path / "a.db"), *PSEUDO], test_env)
    assert code == 2
    assert "needs the 'cryptography' package" in test_env.stderr.getvalue()
    assert not (tmp_path / "a.db").exists()
