"""The secret and the keys derived from it never appear in any output (COMPAT D9, D10).

Every invocation below (normal runs, verbosity, --show-config, stats, metrics, failing scripts,
bad files, --strict aborts, parse errors, exit(), crashes provoked by monkeypatching) is searched
for the secret and for the master and domain keys, in raw, hex and base64 forms.
"""
from __future__ import annotations

import base64
import binascii
import os

import pytest

from kelora import keyring
from tests.reliability.conftest import assert_no_traceback, run, run_bin

SECRET = "reliability-Secret-9f8e7d6c5b4a"
DOMAINS = ("users", "sessions", "ips", "x")
EVENTS = (b'{"user":"alice@example.com","sid":"tok-1","ip":"10.0.0.1","n":1}\n'
          b'{"user":"bob@example.com","sid":"tok-2","ip":"10.0.0.2","n":2}\n'
          b'{bad json\n'
          b'{"user":null,"sid":"tok-3","n":"three"}\n')
PSEUDO = 'e.user = pseudonym(e.user, "users"); e.sid = pseudonym(e.sid, "sessions")'


def _forms(raw: bytes) -> set[str]:
    """Ways a byte string could be printed: hex, base64 (std/url, padded or not), Python repr."""
    hexed = binascii.hexlify(raw).decode()
    out = {hexed, hexed.upper(), repr(raw)[2:-1]}
    for enc in (base64.b64encode, base64.urlsafe_b64encode, base64.b32encode):
        text = enc(raw).decode()
        out |= {text, text.rstrip("=")}
    out.add(hexed[:16])  # a truncated key print is still a leak
    return out


@pytest.fixture(scope="module")
def needles() -> set[str]:
    master = keyring.derive_master(SECRET.encode())
    found = {SECRET, SECRET.encode().hex(), base64.b64encode(SECRET.encode()).decode().rstrip("=")}
    found |= _forms(master)
    for d in DOMAINS:
        found |= _forms(keyring.domain_key(master, d))
    return found


def assert_clean(needles, *texts) -> None:
    for text in texts:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        for needle in needles:
            assert needle not in text, f"secret material {needle!r} leaked in: {text[:3000]}"


@pytest.fixture
def home(tmp_path):
    (tmp_path / "home").mkdir()
    return tmp_path


def _env(home, **extra):
    env = {"KELORA_SECRET": SECRET, "HOME": str(home / "home"), "KELORA_IGNORE_CONFIG": "1"}
    env.update(extra)
    return env


INVOCATIONS = [
    # (args, stdin) — each runs with KELORA_SECRET set
    (["-j", "-e", PSEUDO], EVENTS),
    (["-j", "-F", "json", "-e", PSEUDO], EVENTS),
    (["-j", "-F", "inspect", "-e", PSEUDO], EVENTS),
    (["-j", "-F", "logfmt", "-e", PSEUDO, "-v"], EVENTS),
    (["-j", "-e", PSEUDO, "-vv"], EVENTS),
    (["-j", "-e", PSEUDO, "-vvv"], EVENTS),
    (["-j", "-e", PSEUDO, "--stats"], EVENTS),
    (["-j", "-e", PSEUDO, "--stats=json"], EVENTS),
    (["-j", "-e", PSEUDO, "--with-stats", "--with-metrics", "-e", 'track_unique("u", e.user)'], EVENTS),
    (["-j", "-e", PSEUDO, "-e", 'track_unique("u", e.user); track_freq("s", e.sid)', "-m"], EVENTS),
    (["-j", "-e", PSEUDO, "-e", 'track_unique("u", e.user)', "-m=json"], EVENTS),
    (["-j", "-e", PSEUDO, "-e", 'track_unique("u", e.user)', "-m=full"], EVENTS),
    (["-j", "-e", 'e.u = pseudonym(e.user, "users")'], EVENTS),  # () argument: exec error
    (["-j", "-e", 'e.u = pseudonym(e.user, "")'], EVENTS),  # empty domain
    (["-j", "-e", 'e.u = pseudonym(e.n, "x") + e.missing'], EVENTS),
    (["-j", "--strict", "-e", PSEUDO], EVENTS),  # aborts at the parse error
    (["-j", "--strict", "-e", 'e.u = pseudonym(e.user, "users")'], EVENTS),
    (["-j", "--fail-closed", "-e", 'e.u = pseudonym(e.user, "users")', "-v"], EVENTS),
    (["-j", "--filter", 'pseudonym(e.sid, "sessions") > 3'], EVENTS),
    (["-j", "--assert", 'pseudonym(e.sid, "sessions") == "x"'], EVENTS),
    (["-j", "-e", PSEUDO, "-e", "if e.n == 2 { exit(3) }"], EVENTS),
    (["-j", "-e", PSEUDO, "-e", 'exit(4, "bye " + e.user)'], EVENTS),
    (["-j", "--begin", 'let k = pseudonym("a", "users"); print(k)', "--end", 'print(pseudonym("b", "ips"))'], EVENTS),
    (["-j", "--begin", 'let k = pseudonym("a", "users"); let x = 1 / 0'], EVENTS),
    (["-j", "--end", 'print(pseudonym("b", "ips")); let x = [][3]'], EVENTS),
    (["-j", "-e", "e.x = "], EVENTS),  # compile error
    (["-j", "-e", PSEUDO, "/no/such/file.jsonl"], b""),
    (["-f", "csv", "-e", 'e.u = pseudonym(e.a, "users")', "--strict"], b"a,b\n1,2\n3\n"),
    (["-j", "-e", PSEUDO, "--parallel", "--batch-size", "1"], EVENTS),
    (["-j", "-e", PSEUDO, "--no-such-flag"], EVENTS),
    (["-j", "-e", 'print(e); print(pseudonym(e.sid, "sessions")); eprint(e)'], EVENTS),
    (["-j", "-e", 'e.h = e.sid.hash(); e.b = bucket(e.sid); e.p = pseudonym(e.sid, "sessions")', "-F", "json"], EVENTS),
    (["-j", "-e", PSEUDO, "--silent"], EVENTS),
    (["-j", "-e", PSEUDO, "--help"], EVENTS),
]


@pytest.mark.parametrize("args, stdin", INVOCATIONS, ids=[" ".join(a)[:60] for a, _ in INVOCATIONS])
def test_no_secret_in_any_output(needles, home, args, stdin):
    res = run(args, stdin, environ=_env(home), cwd=home)
    assert_clean(needles, res.out, res.err)


def test_at_least_thirty_invocations_are_checked():
    assert len(INVOCATIONS) >= 30


def test_no_secret_in_metrics_file_and_output_file(needles, home):
    m, o = home / "m.json", home / "o.json"
    res = run(["-j", "-e", PSEUDO, "-e", 'track_unique("u", e.user); track_top("s", e.sid, 3)',
               "--metrics-file", str(m), "-o", str(o), "-F", "json"], EVENTS, environ=_env(home), cwd=home)
    assert res.code == 0, res.err
    assert_clean(needles, res.out, res.err, m.read_text(), o.read_text())


def test_no_secret_in_show_config_or_from_a_secret_file(needles, home):
    secret_file = home / "secret"
    secret_file.write_text(SECRET + "\n")
    secret_file.chmod(0o600)
    # the home folder's own .kelora.ini (COMPAT D15: a project file may not set secret_file)
    cfg = home / ".kelora.ini"
    cfg.write_text(f"secret_file = {secret_file}\ndefaults = -F json\n[aliases]\np = -e 'e.u = pseudonym(e.user, \"users\")'\n")
    env = {"HOME": str(home)}
    show = run(["--show-config"], b"", environ=env, cwd=home)
    assert show.code == 0 and str(secret_file) in show.text
    used = run(["-j", "-e", PSEUDO, "-vv"], EVENTS, environ=env, cwd=home)
    assert used.code == 0 and "pseudonym: ON (stable; secret_file)" in used.err
    via_env = run(["-j", "-e", PSEUDO, "-vvv", "--strict"], EVENTS,
                  environ={"HOME": str(home / "home"), "KELORA_SECRET_FILE": str(secret_file)}, cwd=home)
    assert via_env.code == 1
    assert_clean(needles, show.out, show.err, used.out, used.err, via_env.out, via_env.err)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o666])
def test_loose_secret_file_is_refused_without_showing_it(needles, home, mode):
    secret_file = home / "loose"
    secret_file.write_text(SECRET)
    secret_file.chmod(mode)
    res = run(["-j", "-e", PSEUDO], EVENTS,
              environ={"HOME": str(home / "home"), "KELORA_SECRET_FILE": str(secret_file)}, cwd=home)
    assert res.code == 2
    assert "accessible by group or others" in res.err and "chmod 600" in res.err
    assert res.out == b""
    assert_clean(needles, res.err)


def test_empty_secret_is_an_error(home):
    res = run(["-j", "-e", PSEUDO], EVENTS, environ={"KELORA_SECRET": "", "HOME": str(home)}, cwd=home)
    assert res.code == 1 and "KELORA_SECRET must not be empty" in res.err


def test_argon2_failure_message_never_carries_the_secret(needles, home, monkeypatch):
    import argon2.low_level

    def broken(secret, *a, **k):
        raise ValueError(f"cannot hash {secret!r} / {secret.decode()}")

    monkeypatch.setattr(argon2.low_level, "hash_secret_raw", broken)
    monkeypatch.setattr(keyring, "_MASTER_CACHE", {})
    res = run(["-j", "-e", PSEUDO, "-vvv"], EVENTS, environ=_env(home), cwd=home)
    assert res.code == 1
    assert "pseudonym init failed: ValueError" in res.err
    assert_clean(needles, res.out, res.err)


def test_internal_crash_in_a_builtin_does_not_show_the_secret(needles, home, monkeypatch):
    """An unexpected Python exception inside pseudonym() is reported, without key material."""
    real = keyring.Keyring.token

    def exploding(self, value, domain):
        real(self, value, domain)
        raise RuntimeError(f"boom {self!r}")

    monkeypatch.setattr(keyring.Keyring, "token", exploding)
    monkeypatch.setattr(keyring.Keyring, "pseudonymizer",
                        lambda self, d: (lambda v, _s=self, _d=d: exploding(_s, v, _d)))
    res = run(["-j", "-e", PSEUDO, "-vvv"], EVENTS, environ=_env(home), cwd=home)
    assert_clean(needles, res.out, res.err)


def test_keyring_repr_and_pickle_hide_keys(needles):
    import pickle

    kr = keyring.Keyring(keyring.derive_master(SECRET.encode()), keyring.SOURCE_ENV)
    kr.token("alice", "users")
    assert_clean(needles, repr(kr), str(kr), pickle.dumps(kr).decode("latin-1"))


@pytest.mark.parametrize("args", [
    ["-j", "-e", PSEUDO, "-vvv"],
    ["-j", "--strict", "-e", 'e.u = pseudonym(e.user, "users")'],
    ["-j", "-e", PSEUDO, "--parallel", "--threads", "2", "-m", "-e", 'track_unique("u", e.user)'],
    ["-j", "-e", 'e.u = pseudonym(e.user, "users"); exit(9)'],
])
def test_no_secret_through_the_command(needles, home, args):
    res = run_bin(args, EVENTS, environ=_env(home), cwd=str(home))
    assert_no_traceback(res)
    assert_clean(needles, res.out, res.err)


def test_scripts_cannot_read_the_secret_from_the_environment(needles, home):
    res = run(["-j", "-e", 'e.s = get_env("KELORA_SECRET")', "-F", "json"], EVENTS, environ=_env(home), cwd=home)
    assert_clean(needles, res.out, res.err)


# ----------------------------------------------------------------------------------- ephemeral key

def test_ephemeral_key_comes_from_secrets(monkeypatch, home):
    """No KELORA_SECRET: the key is secrets.token_bytes(32) (COMPAT D9), not a PRNG."""
    import random

    calls = []
    fixed = bytes(range(32))

    def fake_token_bytes(n=None):
        calls.append(n)
        return fixed

    monkeypatch.setattr(keyring.secrets, "token_bytes", fake_token_bytes)
    monkeypatch.setattr(random, "getrandbits", lambda *a: pytest.fail("random used for the key"))
    monkeypatch.setattr(random, "randbytes", lambda *a: pytest.fail("random used for the key"))
    res = run(["-j", "-F", "json", "-e", 'e.u = pseudonym(e.sid, "sessions")'], EVENTS,
              environ={"HOME": str(home)}, cwd=home)
    assert res.code == 0, res.err
    assert calls == [32]
    import json

    first = json.loads(res.out.splitlines()[0])
    assert first["u"] == keyring.reference_token(fixed, "tok-1", "sessions")
    assert "KELORA_SECRET not set; using ephemeral key" in res.err


def test_ephemeral_keys_differ_between_runs(home):
    outs = {run(["-j", "-F", "json", "-e", 'e.u = pseudonym("same", "users")', "-k", "u"],
                b'{"a":1}\n', environ={"HOME": str(home)}, cwd=home).out for _ in range(3)}
    assert len(outs) == 3
