"""--rotation-map (COMPAT D21): old and new tokens of a secret rotation, through the installed
kelora, checked against the golden vectors' derivation."""
from __future__ import annotations

import csv
import io
import json

import pytest

from kelora.privacy import rotation as R

from .helpers import BENCH, HORSE, VECTORS, key_file, masters, run, spec_token

VALUES = ["alice@example.com", "bob@example.org", "", "José.Müller@exämple.de", "用户@例子.公司",
          "emoji 😀 and a tab:\tend", "carol@example.net"]
SESSIONS = ["87808418f3f3645326e6809195432cf1", "", "abc"]


def fixture_lines() -> bytes:
    rows = [{"u": v, "s": SESSIONS[i % len(SESSIONS)]} for i, v in enumerate(VALUES * 3)]
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in rows)


SCRIPT = ["-e", 'e.u = pseudonym(e.u, "users"); e.s = pseudonym(e.s, "sessions")']
ENV = {"KELORA_SECRET": HORSE, "KELORA_SECRET_PREVIOUS": BENCH}


def expected_rows() -> list[tuple[str, str, str]]:
    m = masters()
    rows = {("users", spec_token(m[BENCH], "users", v), spec_token(m[HORSE], "users", v)) for v in VALUES}
    rows |= {("sessions", spec_token(m[BENCH], "sessions", v), spec_token(m[HORSE], "sessions", v))
             for v in SESSIONS}
    return sorted(rows)


def test_spec_helper_agrees_with_the_golden_vectors():
    m = masters()
    for v in VECTORS:
        assert spec_token(m[v["secret"]], v["domain"], v["value"]) == v["token"]


def test_rotation_map_csv_matches_the_derivation(tmp_path):
    out = tmp_path / "map.csv"
    r = run(["-j", *SCRIPT, "--rotation-map", str(out), "-F", "json"], env=ENV, stdin=fixture_lines())
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0] == ["domain", "old", "new"]
    assert [tuple(x) for x in rows[1:]] == expected_rows()
    # the known vectors, by name: alice under the old and the new secret
    assert ["users", "lJLFJ4vhI8t22lS9ZsPWhF-s", "B6aC2V_B82idC-DGRn-GBevK"] in rows
    # output events carry the current secret's tokens
    m = masters()
    events = [json.loads(x) for x in r.stdout.splitlines()]
    assert events[0]["u"] == spec_token(m[HORSE], "users", VALUES[0])
    assert {e["u"] for e in events} == {spec_token(m[HORSE], "users", v) for v in VALUES}
    err = r.stderr.decode()
    assert f"{len(VALUES) + len(SESSIONS)} mappings" in err and f"users: {len(VALUES)}" in err
    assert BENCH not in err and HORSE not in err


def test_rotation_map_jsonl_and_secret_file(tmp_path):
    out = tmp_path / "map.jsonl"
    prev = key_file(tmp_path, "prev", (BENCH + "\n").encode())
    r = run(["-j", *SCRIPT, "--rotation-map", str(out), "-q"],
            env={"KELORA_SECRET": HORSE, "KELORA_SECRET_PREVIOUS_FILE": prev}, stdin=fixture_lines())
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(x["domain"], x["old"], x["new"]) for x in rows] == expected_rows()


def test_previous_secret_file_readable_by_others_is_refused(tmp_path):
    prev = key_file(tmp_path, "prev", BENCH.encode(), mode=0o644)
    r = run(["-j", *SCRIPT, "--rotation-map", str(tmp_path / "m.csv")],
            env={"KELORA_SECRET": HORSE, "KELORA_SECRET_PREVIOUS_FILE": prev}, stdin=fixture_lines())
    assert r.returncode == 2 and b"group or others" in r.stderr
    assert not (tmp_path / "m.csv").exists()


@pytest.mark.parametrize("env,needle", [
    ({"KELORA_SECRET": HORSE}, b"KELORA_SECRET_PREVIOUS"),  # no previous secret
    ({"KELORA_SECRET": HORSE, "KELORA_SECRET_PREVIOUS": HORSE}, b"equals the current"),
    ({"KELORA_SECRET_PREVIOUS": BENCH}, b"ephemeral"),  # no current secret
])
def test_rotation_refusals_exit_2(tmp_path, env, needle):
    out = tmp_path / "m.csv"
    r = run(["-j", *SCRIPT, "--rotation-map", str(out)], env=env, stdin=fixture_lines())
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr
    assert HORSE.encode() not in r.stderr + r.stdout and BENCH.encode() not in r.stderr + r.stdout
    assert r.stdout == b"" and not out.exists()


def test_secret_variables_keep_their_bytes_alike(tmp_path):
    """KELORA_SECRET and KELORA_SECRET_PREVIOUS are taken as given, a trailing newline included:
    a secret ending in a newline, current on one run and previous on the next, is the same key
    (the map's old tokens are history's), and equal to the current one it is refused."""
    nl = "old-secret-with-newline-0123456789\n"
    script = ["-e", 'e.t = pseudonym(e.u, "users")', "-k", "t", "-F", "csvnh"]
    history = run(["-j", *script], env={"KELORA_SECRET": nl}, stdin=fixture_lines())
    assert history.returncode == 0, history.stderr
    out = tmp_path / "m.csv"
    current = run(["-j", *script, "--rotation-map", str(out)],
                  env={"KELORA_SECRET": HORSE, "KELORA_SECRET_PREVIOUS": nl}, stdin=fixture_lines())
    assert current.returncode == 0, current.stderr
    new_of = {old: new for _, old, new in list(csv.reader(io.StringIO(out.read_text())))[1:]}
    assert [new_of.get(t) for t in history.stdout.decode().split()] == current.stdout.decode().split()
    same = run(["-j", *script, "--rotation-map", str(tmp_path / "n.csv")],
               env={"KELORA_SECRET": nl, "KELORA_SECRET_PREVIOUS": nl}, stdin=fixture_lines())
    assert same.returncode == 2 and b"equals the current" in same.stderr
    assert not (tmp_path / "n.csv").exists()


def test_parallel_map_equals_sequential(tmp_path):
    lines = b"".join(json.dumps({"u": f"user{i % 700}@example.com", "s": f"s{i % 1300}"}).encode() + b"\n"
                     for i in range(5000))
    data = tmp_path / "in.jsonl"
    data.write_bytes(lines)
    seq, par = tmp_path / "seq.csv", tmp_path / "par.csv"
    a = run(["-j", str(data), *SCRIPT, "--rotation-map", str(seq), "-F", "json"], env=ENV)
    b = run(["-j", str(data), *SCRIPT, "--rotation-map", str(par), "-F", "json", "--parallel",
             "--threads", "2", "--batch-size", "97"], env=ENV)
    assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
    assert seq.read_bytes() == par.read_bytes()
    assert a.stdout == b.stdout
    assert len(seq.read_text().splitlines()) == 1 + 700 + 1300


def test_spilled_map_equals_in_memory(tmp_path, monkeypatch):
    """Past SPILL_ROWS the pairs go to a temporary SQLite file; the map is the same."""
    from kelora.cli.app import run_command
    from kelora.run.env import Env

    lines = b"".join(json.dumps({"u": f"user{i % 300}", "s": f"s{i % 50}"}).encode() + b"\n" for i in range(900))
    maps = []
    for limit in (R.SPILL_ROWS, 7):
        monkeypatch.setattr(R, "SPILL_ROWS", limit)
        out = tmp_path / f"m{limit}.csv"
        env = Env.for_test(stdin=lines, environ=ENV)
        assert run_command(["-j", *SCRIPT, "--rotation-map", str(out), "-q"], env) == 0, env.stderr.getvalue()
        maps.append(out.read_bytes())
    assert maps[0] == maps[1]
    assert not list(tmp_path.glob(".kelora-rotation-*"))  # the temporary file is gone


class _SameOld:
    """A previous keyring whose tokens all collide (only a broken derivation could do this)."""

    def pseudonymizer(self, domain):
        return lambda value: "SAME-OLD-TOKEN"


def test_collision_is_named_and_exits_1(tmp_path, monkeypatch):
    from kelora.cli.app import run_command
    from kelora.run.env import Env

    original = R.RotationMap.__init__

    def init(self, prev, path, **kw):
        original(self, _SameOld(), path, **kw)

    monkeypatch.setattr(R.RotationMap, "__init__", init)
    out = tmp_path / "m.csv"
    env = Env.for_test(stdin=b'{"u":"a"}\n{"u":"b"}\n', environ=ENV)
    code = run_command(["-j", "-e", 'e.u = pseudonym(e.u, "users")', "--rotation-map", str(out), "-q"], env)
    err = env.stderr.getvalue()
    assert code == 1
    assert "rotation collision in domain 'users', old token SAME-OLD-TOKEN maps to two new tokens" in err
    assert not out.exists()


class _OldTokens:
    def pseudonymizer(self, domain):
        return lambda value: f"old-{domain}-{value}"


def test_rows_of_all_domains_spill_together(tmp_path):
    """The spill limit counts the rows of every domain together: a domain per tenant, each with
    few rows, still moves them to the temporary file instead of keeping them all in memory."""
    m = R.RotationMap(_OldTokens(), str(tmp_path / "m.csv"), spill_rows=10)
    for i in range(50):
        d = f"tenant-{i:02d}"
        fn = m.wrap(d, lambda v, d=d: f"new-{d}-{v}")
        assert fn("x") == f"new-{d}-x"
        assert len(m.rows) < 10
    assert m._db is not None
    counts, collisions = m.check()
    assert not collisions and m.mappings == 50 and m.domains == 50
    assert len(counts) == R.SUMMARY_DOMAINS and counts["tenant-00"] == 1
    m.write()
    rows = list(csv.reader(io.StringIO((tmp_path / "m.csv").read_text())))
    assert rows[1] == ["tenant-00", "old-tenant-00-x", "new-tenant-00-x"] and len(rows) == 51
    m.close()


def test_summary_names_the_first_domains_and_counts_the_rest(tmp_path):
    stdin = b"".join(json.dumps({"v": "x", "d": f"dom{i:02d}"}).encode() + b"\n" for i in range(25))
    r = run(["-j", "-e", "e.t = pseudonym(e.v, e.d)", "-q", "--rotation-map", str(tmp_path / "m.csv")],
            env=ENV, stdin=stdin)
    assert r.returncode == 0, r.stderr
    assert r.stderr.decode().endswith("25 mappings (dom00: 1, dom01: 1, dom02: 1, dom03: 1, dom04: 1, "
                                      "dom05: 1, dom06: 1, dom07: 1, dom08: 1, dom09: 1, dom10: 1, "
                                      "dom11: 1, dom12: 1, dom13: 1, dom14: 1, dom15: 1, dom16: 1, "
                                      "dom17: 1, dom18: 1, dom19: 1, and 5 more domains)\n")


@pytest.mark.parametrize("spill", [None, 1])
def test_two_old_to_one_new_is_a_collision(tmp_path, spill):
    m = R.RotationMap(None, str(tmp_path / "m.csv"), spill_rows=spill)
    m.merge({"users": [("old1", "new"), ("old2", "new"), ("old3", "other")]})
    m.merge({"users": [("old1", "new")], "ips": [("x", "y")]})
    counts, collisions = m.check()
    assert counts == {"ips": 1, "users": 3}
    assert len(collisions) == 1 and "old1" in collisions[0] and "old2" in collisions[0] and "new" in collisions[0]
    m.close()


def test_summary_lines_stay_whole_with_newlines_in_domains_and_paths(tmp_path):
    """A domain chosen by the data (LF, CR, ESC) and a file name with a newline are escaped in
    the one-line summaries of --rotation-map and --escrow: each stays one line on stderr."""
    rows = [{"v": "x", "d": d} for d in ("new\nline", "car\rriage", "esc\x1b[2J")]
    stdin = b"".join(json.dumps(r).encode() + b"\n" for r in rows)
    out, db = tmp_path / "r\nmap.csv", tmp_path / "audit\n.db"
    r = run(["-j", "-e", "e.t = pseudonym(e.v, e.d)", "-q", "--rotation-map", str(out), "--escrow", str(db)],
            env={**ENV, "KELORA_ESCROW_KEY": "an-escrow-key-of-at-least-32-bytes-0123456789"}, stdin=stdin)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 2 and all(x.startswith("kelora: ") for x in lines), lines
    assert "new\\u{a}line: 1" in lines[1] and "car\\u{d}riage: 1" in lines[1] and "esc\\u{1b}[2J: 1" in lines[1]
    assert "r\\u{a}map.csv" in lines[1] and "audit\\u{a}.db" in lines[0]
    assert out.exists() and db.exists()
