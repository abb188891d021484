"""The generated read loop (kelora/run/fastloop.py) against the general one.

`--take` with a limit no input reaches sends a run through the general per-event path
(`Pipeline._process`); without it, runs whose stages are all lean take the generated loop.
Both must give the same events, messages, stats and exit codes, for filters (inline or not),
exec stages, their errors, skip(), `e = ()`, --fail-closed and --strict.
"""
from __future__ import annotations

import json
import random
import subprocess

import pytest

from tests.cli.test_cli_cases import clean_env
from tests.conftest import KELORA_BIN


def _data() -> bytes:
    rnd = random.Random(5)
    values = [1, 2, 0, -3, 2.5, "x", "", "500", None, True, [1, 2], {"a": 1}, 600, 499]
    lines = []
    for i in range(200):
        keys = rnd.sample(["a", "b", "status", "level", "msg"], rnd.randrange(0, 5))
        lines.append(json.dumps({k: rnd.choice(values) for k in keys}))
        if i % 37 == 0:
            lines.append("not json")
        if i % 53 == 0:
            lines.append("")
    return ("\n".join(lines) + "\n").encode()


DATA = _data()

CASES = {
    "inline filter": ["--filter", "e.status >= 500"],
    "inline filter that raises": ["--filter", "10 / e.a > 1"],
    "filter giving no bool": ["--filter", "e.a"],
    "filter with a method": ["--filter", "e.msg.len() > 0"],
    "skip in a filter": ["--filter", "skip_if(e.a == 1)"],
    "two filters": ["--filter", "e.a > 0", "--filter", "e.b != ()"],
    "exec then inline filter": ["-e", "e.c = e.a * 2", "--filter", "e.c > 2"],
    "exec that raises": ["-e", "e.c = e.a + e.b"],
    "exec that raises, fail-closed": ["-e", "e.c = e.a + e.b", "--fail-closed"],
    "exec dropping the event": ["-e", "if e.a == 1 { e = () }"],
    # privacy stages (D17): a failure withholds the stage's targets, or drops the event
    "privacy stage, one write": ["-e", 'e.a = hash(e.a)'],
    "privacy stage, two writes": ["-e", 'e.b = hash(e.a); e.msg = ()'],
    "privacy stage, nested and untraceable": ["-e", 'if e.a == 1 { e[e.msg] = 1 } e.b = hash(e.b)'],
    "privacy stage, fail-open": ["-e", 'e.a = hash(e.a)', "--fail-open"],
    "exec skipping": ["-e", "skip_if(e.a == 2)", "--filter", "e.status != ()"],
    "three exec stages": ["-e", "e.x = e.a.to_string()", "-e", "e.y = e.x.len()", "-e", "e.a = ()"],
    "no stages, -k": ["-k", "a,status"],
    # a stage that is not lean (it declares a variable) sends the run through the general
    # fast loop of ingest.py instead: the same comparison covers that loop
    "lean and non-lean stages": ["-e", "let x = e.a; e.d = x", "-e", "e.c = e.a + e.b", "--filter", "e.c != ()"],
}


def _run(args):
    proc = subprocess.run([KELORA_BIN, "-j", *args, "-F", "json", "--stats=json"], input=DATA,
                          capture_output=True, env=clean_env(), timeout=60)
    stats = json.loads(proc.stdout) if proc.stdout.startswith(b"{") else None
    if stats is not None:
        stats.pop("throughput", None)
    return proc.returncode, stats, proc.stderr


def _events(args):
    proc = subprocess.run([KELORA_BIN, "-j", *args, "-F", "json"], input=DATA, capture_output=True,
                          env=clean_env(), timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("strict", [[], ["--strict"]], ids=["", "strict"])
def test_generated_loop_equals_the_general_path(name, strict):
    args = [*CASES[name], *strict]
    fast, general = _events(args), _events([*args, "--take", "1000000"])
    assert fast == general
    assert fast[1] or fast[0] == 1  # the case printed something (or --strict stopped it)


def test_stats_agree_after_the_generated_loop():
    # --stats turns the fast loops off: compare its counts with the generated loop's summary
    for name in ("inline filter that raises", "exec that raises, fail-closed", "exec dropping the event"):
        code, _, stderr = _events(CASES[name])
        stats_code, stats, _ = _run(CASES[name])
        assert code == stats_code
        summary = stderr.decode()
        assert f"{stats['events']['filtered']} events filtered" in summary or stats["events"]["filtered"] == 0, name



def test_filter_that_changes_the_event_keeps_its_change_beside_a_huge_integer():
    """A filter that removes a field, on a line holding an integer beyond 64 bits: the generated
    loop re-read such lines on output (for runs that leave the event as read), which put the
    removed field back."""
    data = b'{"a":123456789012345678901234567890,"level":"x"}\n{"a":1,"level":"y"}\n'
    run = lambda *extra: subprocess.run([KELORA_BIN, "-j", "--filter", 'e.remove("level") != ()', "-F", "json",
                                         *extra], input=data, capture_output=True, env=clean_env(), timeout=60)
    fast, general = run(), run("--take", "100")
    assert fast.stdout == b'{"a":123456789012345678901234567890}\n{"a":1}\n'
    assert (fast.returncode, fast.stdout, fast.stderr) == (general.returncode, general.stdout, general.stderr)


@pytest.mark.parametrize("out", [["-F", "none"], ["-q"]])
def test_single_filter_with_output_suppressed_sees_the_event(out):
    """One filter that is not written into the loop, output suppressed (the loop only counts):
    the loop handed the filter an empty scope (`e` was `()` for every event)."""
    args = ["--filter", "e.status > 500 && track_sum(\"n\", 1) == ()", *out, "-m"]
    run = lambda *extra: subprocess.run([KELORA_BIN, "-j", *args, *extra], input=DATA, capture_output=True,
                                        env=clean_env(), timeout=60)
    fast, general = run(), run("--take", "1000000")
    assert fast.returncode == general.returncode == 0
    assert b"Filter error" not in fast.stderr
    assert fast.stderr == general.stderr


# --------------------------------------------------------------------------- the T3 shortcut
# `track_unique(NAME, pseudonym(e.FIELD, DOMAIN))` skips the stage when the token is cached and
# already counted (fastloop._UNIQUE): metrics (first-seen order), messages, exit codes and stats
# must equal the general path's, with values of every type, repeats, missing fields, unhashable
# values, integers beyond 64 bits and events that are not objects.

def _t3_data() -> bytes:
    rnd = random.Random(17)
    values = ["ann", "bob", "ann", "", "x" * 40, 5, 5.0, "5", True, None, [1], {"k": 1},
              "é", 123456789012345678901234567890]
    lines = []
    for i in range(300):
        keys = rnd.sample(["a", "b", "status"], rnd.randrange(0, 4))
        ev = {k: rnd.choice(values) for k in keys}
        lines.append(json.dumps(ev))
        if i % 41 == 0:
            lines.append("[1, 2]")
        if i % 59 == 0:
            lines.append("")
    return ("\n".join(lines) + "\n").encode()


T3_DATA = _t3_data()
T3 = 'track_unique("u", pseudonym(e.a, "users"))'
T3_CASES = {
    "alone, counted only": ["-e", T3],
    "alone, events written": ["-e", T3, "-F", "json"],
    "then a filter": ["-e", T3, "--filter", "e.status != ()", "-F", "json"],
    "after an exec": ["-e", "e.a = e.b", "-e", T3, "-F", "json"],
    "two metrics, two domains": ["-e", T3, "-e", 'track_unique("v", pseudonym(e.b, "other"))'],
    "same metric name from another function first": ["-e", 'track_count("u")', "-e", T3],
}


def _t3_run(args, extra=()):
    env = clean_env({"KELORA_SECRET": "kelora-test-secret"})
    proc = subprocess.run([KELORA_BIN, "-j", *args, "--metrics=json", *extra], input=T3_DATA,
                          capture_output=True, env=env, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("name", list(T3_CASES))
@pytest.mark.parametrize("strict", [[], ["--strict"]], ids=["", "strict"])
def test_track_unique_shortcut_equals_the_general_path(name, strict):
    args = [*T3_CASES[name], *strict]
    fast, general = _t3_run(args), _t3_run([*args, "--take", "1000000"])
    assert fast == general
    assert fast[0] != 0 or b'"u"' in fast[1]


def test_track_unique_shortcut_in_first_seen_order_and_parallel():
    fast = _t3_run(T3_CASES["alone, counted only"])
    assert fast[0] == 0
    metrics = json.loads(fast[1][fast[1].index(b"{"):])
    assert len(metrics["u"]) == len(set(metrics["u"])) > 3
    for batch in ("1", "7", "1000"):
        par = _t3_run(T3_CASES["alone, counted only"], ("--parallel", "--threads", "2", "--batch-size", batch))
        assert par == fast, batch


def test_track_unique_shortcut_stats_equal():
    # --stats keeps the general loop: its counts must equal the summary of the shortcut loop
    args = T3_CASES["alone, counted only"]
    fast = _t3_run(args)
    with_stats = _t3_run([*args, "--stats=json"])
    assert fast[0] == with_stats[0]


# --------------------------------------------------------------------------- exact integers, lazily
# With stages the generated loop reads a line exactly (integers beyond 64 bits) only when a
# key the stages can reach holds a float or a container; an output that shows a huge float then
# takes the keys no stage reaches from the exact reading (fastloop.build_loop *keys*).  Every
# case must equal the general loop, which reads every such line exactly first.  (Filters alone
# once read nothing exactly: `--filter 'type_of(e.id) == "f64"'` kept 20-digit integers.)

BIG = 123456789012345678901234567890


def _big_data() -> bytes:
    rnd = random.Random(29)
    values = [BIG, -BIG, 18446744073709551615, 18446744073709551616, 1.5, 1e300, "t", [1, BIG], {"k": BIG},
              None, 7, "123456789012345678901234567890", -9223372036854775809, -18446744073709551615]
    lines = []
    for _ in range(200):
        keys = rnd.sample(["a", "b", "c", "user_email", "n"], rnd.randrange(1, 5))
        lines.append(json.dumps({k: rnd.choice(values) for k in keys}))
    return ("\n".join(lines) + "\n").encode()


BIG_DATA = _big_data()
BIG_SCRIPTS = {
    "reads one key": ["-e", 'e.user_id = pseudonym(e.user_email, "users")', "-e", "e.user_email = ()"],
    "reads a number": ["-e", "e.x = e.a", "-e", "e.y = if type_of(e.b) == \"f64\" { e.b * 2.0 } else { 1 }"],
    "writes only": ["-e", "e.c = 5"],
    "writes sometimes": ["-e", 'if e.n == 7 { e.a = "seven" }'],
    "copies a key": ["-e", "e.z = e.c"],
    "nothing named": ["-e", 'track_count("n")'],
    "the whole event": ["-e", "e.k = e.keys().len()"],
    "deletes": ["-e", "e.a = (); e.b = ()"],
    "filter on a number's type": ["--filter", 'type_of(e.a) == "f64"'],
    "filter on a number's text": ["--filter", "e.b.to_string().len() > 19"],
    "filter on the whole event": ["--filter", 'e.to_json().contains("8446744073709551616")'],
    "filter then exec": ["--filter", 'type_of(e.c) != "f64"', "-e", "e.d = 1"],
    # keys only compared with small numbers or non-numeric text are not checked (exact_reads)
    "filter compares with numbers": ["--filter", "e.a >= 500 || e.b != 7 || 1.5 > e.c"],
    "filter compares with text": ["--filter", 'e.a == "t" || e.b != "u"'],
    "filter orders text": ["--filter", 'e.a < "t"'],
    "filter compares with a numeric text": ["--filter", 'e.a == "7"'],
    "filter compares with a big number": ["--filter", "e.a != 9223372036854775807 && e.b < -4611686018427387904"],
    # (-9223372036854775809 reads as the float -2**63: `<` this literal holds only exactly)
    "filter compares with -2**63": ["--filter", "e.a < -9.223372036854776e18 || e.b < -9.223372036854776e18"],
    "filter compares and reads": ["--filter", "e.a > 5 && e.a.to_string().len() > 19"],
}


@pytest.mark.parametrize("fmt", ["json", "logfmt", "default"])
@pytest.mark.parametrize("name", list(BIG_SCRIPTS))
def test_exact_integers_read_lazily_equal_the_general_loop(name, fmt):
    env = clean_env({"KELORA_SECRET": "kelora-test-secret"})

    def run(extra=()):
        return subprocess.run([KELORA_BIN, "-j", *BIG_SCRIPTS[name], "-F", fmt, *extra], input=BIG_DATA,
                              capture_output=True, env=env, timeout=60)

    fast, general = run(), run(["--take", "1000000"])
    assert (fast.returncode, fast.stdout, fast.stderr) == (general.returncode, general.stdout, general.stderr)
    assert str(BIG).encode() in fast.stdout or name in ("deletes", "filter compares with a numeric text")


@pytest.mark.parametrize("script", ['e.a < "t"', 'e.a == "7"', 'e.a != "t"', "e.a >= 500", "e.a < -9.223372036854776e18",
                                    "e.a == 5 || e.a.to_string() == \"18446744073709551617\""])
def test_a_filter_that_cannot_tell_the_float_reads_no_line_exactly_and_agrees(script):
    """Program.exact_reads: a key a filter only compares with a small number or a non-numeric
    text is not checked; one it orders against text (which warns, quoting the number) is.  The
    first line's number is the one the once-only warnings quote."""
    data = b'{"a":18446744073709551617}\n{"a":-9223372036854775809}\n{"a":1}\n'
    runs = [subprocess.run([KELORA_BIN, "-j", "--filter", script, "-F", "json", *extra], input=data,
                           capture_output=True, env=clean_env(), timeout=60) for extra in ([], ["--take", "9"])]
    assert [(r.returncode, r.stdout, r.stderr) for r in runs[:1]] == [(r.returncode, r.stdout, r.stderr) for r in runs[1:]]
