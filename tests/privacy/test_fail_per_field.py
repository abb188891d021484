"""Privacy stages fail closed per field (COMPAT D17; issue 11 item 4).

A failed `-e` stage that calls a value-hiding function withholds every field it may assign or
remove instead of restoring the raw value; untraceable targets drop the event; `--fail-closed`
drops, `--fail-open` restores (Kelora); both together are a usage error.  Through the installed
`kelora` (subprocess) for the reproductions, in-process for the rules.
"""
from __future__ import annotations

import json
import subprocess

import pytest

from kelora.lang import compile_script
from tests.cli.test_cli_cases import clean_env
from tests.conftest import KELORA_BIN
from tests.reliability.conftest import assert_accounting, run

SECRET = {"KELORA_SECRET": "kelora-test-secret-0123456789"}


def kelora(args, stdin: bytes, extra_env=None):
    proc = subprocess.run([KELORA_BIN, *args], input=stdin, capture_output=True,
                          env=clean_env({**SECRET, **(extra_env or {})}), timeout=60)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def events(text: str) -> list[dict]:
    return [json.loads(x) for x in text.splitlines() if x.strip()]


# ------------------------------------------------------------------ the issue's reproductions

def test_issue_repro_array_email_is_not_exported():
    code, out, err = kelora(["-j", "-e", 'e.uid = pseudonym(e.email, "users"); e.email = ()', "-F", "json"],
                            b'{"email":["alice@example.com"],"n":1}\n')
    assert code == 0
    assert "alice" not in out
    assert events(out) == [{"n": 1}]
    assert "1 field withheld from 1 event" in err


def test_issue_repro_access_log_ip_is_withheld_when_user_agent_is_missing():
    log = (b'203.0.113.9 - - [10/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1" 200 2326 "-" "-"\n'
           b'198.51.100.7 - - [10/Oct/2023:13:55:37 +0000] "GET /a HTTP/1.1" 200 12 "-" "Mozilla/5.0 Firefox/118.0"\n')
    code, out, err = kelora(["-f", "combined", "-e",
                             'e.ip = pseudonym(e.ip, "ips"); e.browser = parse_user_agent(e.user_agent).agent_family',
                             "-F", "json"], log)
    assert code == 0
    assert "203.0.113.9" not in out and "198.51.100.7" not in out
    first, second = events(out)
    assert "ip" not in first and first["status"] == 200  # the rest of the event is kept
    assert len(second["ip"]) == 24


def test_issue_repro_parallel_same_as_sequential():
    data = b"".join(json.dumps({"i": i, "email": ["x%d@example.com" % i] if i % 3 == 0 else "y%d@example.com" % i})
                    .encode() + b"\n" for i in range(300))
    args = ["-j", "-e", 'e.uid = pseudonym(e.email, "users"); e.email = ()', "-F", "json"]
    seq = kelora(args, data)
    par = kelora([*args, "--parallel", "--batch-size", "7", "--threads", "2"], data)
    assert seq[1] == par[1]
    assert "@example.com" not in par[1]
    assert "100 fields withheld from 100 events" in par[2]


# ------------------------------------------------------------------ targets

@pytest.mark.parametrize("script, paths, whole", [
    ('e.uid = pseudonym(e.email, "u"); e.email = ()', [("email",), ("uid",)], False),
    ('e.user.email = hash(e.user.email)', [("user", "email")], False),
    ('e["a"]["b"] = mask_ip(e.ip); e.list[0].x = 1', [("a", "b"), ("list",)], False),
    ('if e.x { e.y.z = normalized(e.msg) } else { e.w = 1 }', [("w",), ("y", "z")], False),
    ('e.tags.push(hash(e.a)); e.n += 1', [("n",), ("tags",)], False),
    ('for x in e.users { x.email = pseudonym(x.email, "u") }', [("users",)], False),
    ('let m = #{}; m.a = hash(e.a); e.m = m', [("m",)], False),
    ('e[name] = pseudonym(e.x, "u")', [], True),
    ('e.merge(#{a: hash(e.b)})', [], True),
    ('e.remove("a"); e.b = hash(e.b)', [("b",)], True),
    ('e = #{a: hash(e.a)}', [], True),
    ('e += #{a: hash(e.a)}', [], True),
    ('e.users.map(|u| { u.email = pseudonym(u.email, "u"); u })', [], True),
    ('let m = e.a.get(0); m.b = hash(e.x)', [], True),
])
def test_targets_are_computed_from_the_ast(script, paths, whole):
    prog = compile_script(script)
    assert prog.privacy
    assert sorted(prog.targets.paths) == paths
    assert prog.targets.whole is whole


@pytest.mark.parametrize("script, privacy", [
    ('e.a = hash(e.a)', True),
    ('e.a = e.a.hash("xxh3")', True),
    ('e.a = bucket(e.a) % 4', True),
    ('fn f(x) { pseudonym(x, "u") } e.a = f(e.a)', True),            # through a user fn
    ('fn g(x) { f(x) } fn f(x) { mask_ip(x) } e.a = g(e.a)', True),  # two fns deep
    ('let f = |x| normalized(x); e.a = f.call(e.a)', True),          # a closure
    ('let g = Fn("to_upper"); e.a = g.call(e.a)', True),             # dynamic: unknown callee
    ('e.a = e.b.to_upper()', False),
    ('fn unused(x) { hash(x) } e.a = 1', False),                     # defined, never called
    ('e.a = "pseudonym(e.a)"', False),                               # script text is not code
])
def test_privacy_stage_detection(script, privacy):
    assert compile_script(script).privacy is privacy


def test_include_counts_for_privacy(tmp_path):
    inc = tmp_path / "lib.rhai"
    inc.write_text('fn anon(x) { pseudonym(x, "users") }\n')
    res = run(["-j", "-F", "json", "-I", str(inc), "-e", "e.u = anon(e.u); e.bad = e.nope + 1"],
              b'{"u":"alice","k":1}\n', environ=SECRET)
    assert res.code == 0
    assert events(res.text) == [{"k": 1}]


# ------------------------------------------------------------------ behaviour

def test_withholds_branches_that_did_not_run_and_keeps_the_rest():
    stage = 'if e.k == 1 { e.a = hash(e.a) } else { e.b = hash(e.b) } e.bad = e.nope + 1'
    res = run(["-j", "-F", "json", "-e", stage], b'{"k":1,"a":"A","b":"B","c":"C"}\n')
    assert events(res.text) == [{"k": 1, "c": "C"}]
    assert "2 fields withheld from 1 event" in res.err


def test_nested_target_withholds_only_that_key():
    res = run(["-j", "-F", "json", "-e", 'e.user.email = pseudonym(e.user.email, "u")'],
              b'{"user":{"email":["a@x.org"],"id":7},"n":1}\n', environ=SECRET)
    assert events(res.text) == [{"user": {"id": 7}, "n": 1}]


def test_untraceable_target_drops_the_event():
    args = ["-j", "-F", "json", "-e", 'let k = "a"; e[k] = hash(e.a)', "--stats=json"]
    res = run(args, b'{"a":[1],"b":2}\n{"a":"x","b":3}\n')
    doc = res.stats()
    assert doc["events"]["errored"] == 1 and doc["events"]["output"] == 1
    assert doc["withheld"] == {"fields": 0, "events": 0, "events_dropped": 1}
    assert_accounting(doc)
    res = run(args[:-1], b'{"a":[1],"b":2}\n')
    assert res.text == "" and "1 event dropped" in res.err


def test_non_privacy_stage_keeps_keloras_restore():
    res = run(["-j", "-F", "json", "-e", "e.a = e.a.to_upper(); e.bad = e.nope + 1"], b'{"a":"x"}\n')
    assert events(res.text) == [{"a": "x"}]
    assert "withheld" not in res.err


def test_fail_open_restores_and_fail_closed_drops():
    data = b'{"email":["alice@example.com"],"n":1}\n'
    stage = 'e.uid = pseudonym(e.email, "users"); e.email = ()'
    opened = run(["-j", "-F", "json", "--fail-open", "-e", stage], data, environ=SECRET)
    assert events(opened.text) == [{"email": ["alice@example.com"], "n": 1}]
    closed = run(["-j", "-F", "json", "--fail-closed", "-e", stage], data, environ=SECRET)
    assert closed.text == ""


def test_fail_open_with_fail_closed_is_a_usage_error():
    code, out, err = kelora(["-j", "--fail-open", "--fail-closed", "-e", "e.a = 1"], b"{}\n")
    assert code == 2 and out == ""
    assert "--fail-open" in err and "--fail-closed" in err


def test_for_loop_alias_is_rolled_back_in_a_non_privacy_stage():
    # a for variable changes the event in place: a failing stage must still leave it as it was
    res = run(["-j", "-F", "json", "-e", "for x in e.a { x.b = 7 } e.bad = e.nope + 1"],
              b'{"a":[{"b":1}]}\n')
    assert events(res.text) == [{"a": [{"b": 1}]}]


def test_for_loop_alias_in_a_privacy_stage_withholds_the_array():
    res = run(["-j", "-F", "json", "-e", 'for x in e.users { x.email = pseudonym(x.email, "u") }'],
              b'{"users":[{"email":"a@x.org"},{"email":[1]}],"n":1}\n', environ=SECRET)
    assert events(res.text) == [{"n": 1}]
