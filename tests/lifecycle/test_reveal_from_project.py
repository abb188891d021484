"""reveal() is never called by a script a project config added (issue 15), whatever route the
script takes: `defaults` or an alias of the project's `.kelora.ini`, with -e, --filter, --assert,
--begin, --end, -E or -I -- even when the user passes --escrow and the key.  The user's own
scripts (command line, user config) keep reveal().  Through the installed kelora, with HOME in a
temporary folder so discovery and the trust list are the real ones.
"""
from __future__ import annotations

import json

import pytest

from .helpers import BENCH, run

KEY = "k" * 8 + "-escrow-key-for-tests-0123456789-abcdef"
PSEUDO = ["-j", "-e", 'e.t = pseudonym(e.u, "users"); e.u = ()', "-F", "json"]
REVEAL = 'reveal(e.t, "users")'
REVEAL_X = 'reveal("x", "users")'
REVEAL_T = 'reveal(t, "users")'


@pytest.fixture
def setup(tmp_path):
    """(home, repo, escrow db, one exported line whose token reveals to alice)."""
    home = tmp_path / "home"
    repo = home / "src" / "repo"
    (repo / ".git").mkdir(parents=True)
    db = tmp_path / "audit.db"
    a = run(["--escrow", str(db), *PSEUDO], env=_env(home), stdin=b'{"u":"alice@example.com"}\n',
            cwd=repo)
    assert a.returncode == 0, a.stderr
    return home, repo, db, a.stdout


def _env(home, **extra):
    out = {"HOME": str(home), "KELORA_SECRET": BENCH, "KELORA_ESCROW_KEY": KEY}
    out.update(extra)
    return out


def _trust(home, repo, text: str) -> None:
    (repo / ".kelora.ini").write_text(text)
    t = run(["--trust-config"], env=_env(home), stdin=b"", cwd=repo)
    assert t.returncode == 0, t.stderr


ROUTES = [
    # (the .kelora.ini, extra words on the user's command line, files to create in the repo)
    (f"defaults = -e 'e.o = {REVEAL}'\n", [], {}),
    (f"defaults = --filter '{REVEAL} != ()'\n", [], {}),
    (f"defaults = --assert '{REVEAL} != \"x\"'\n", [], {}),
    (f"defaults = --begin 'conf.f = |t| reveal(t, \"users\")'\n", [], {}),
    (f"defaults = --end 'print({REVEAL_X})'\n", [], {}),
    ("defaults = -E r.rhai\n", [], {"r.rhai": f"e.o = {REVEAL}"}),
    ("defaults = -I lib.rhai\n", ["-e", "e.o = r(e.t)"], {"lib.rhai": f"fn r(t) {{ {REVEAL_T} }}"}),
    (f"[aliases]\nshow = -e 'e.o = {REVEAL}'\n", ["-a", "show"], {}),
    # a user fn named reveal with another arity does not hide the builtin
    (f"defaults = -e 'fn reveal(x) {{ x }} e.o = {REVEAL}'\n", [], {}),
    # a project alias that invokes another alias: all its words are the project's
    (f"[aliases]\ninner = -e 'e.o = {REVEAL}'\nouter = -a inner\n", ["-a", "outer"], {}),
]


@pytest.mark.parametrize("ini,extra,files", ROUTES, ids=[
    "defaults-e", "filter", "assert", "begin-closure", "end", "exec-file", "include", "alias",
    "shadowing-fn", "nested-alias"])
def test_reveal_in_a_project_script_is_refused_even_with_escrow(setup, ini, extra, files):
    home, repo, db, exported = setup
    for name, text in files.items():
        (repo / name).write_text(text)
    _trust(home, repo, ini)
    r = run(["-j", "--escrow", str(db), *extra, "-F", "json"], env=_env(home), stdin=exported, cwd=repo)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert b"reveal() may not be called from a project config's script" in r.stderr, r.stderr
    assert b"./.kelora.ini" in r.stderr
    assert b"alice" not in r.stdout and b"alice" not in r.stderr
    assert b"Traceback" not in r.stderr


def test_the_users_own_reveal_still_works_beside_a_project_script(setup):
    home, repo, db, exported = setup
    _trust(home, repo, "defaults = -e 'e.seen = true'\n[aliases]\nmine = -e 'e.k = 1'\n")
    r = run(["-j", "--escrow", str(db), "-a", "mine", "-e", f"e.o = {REVEAL}", "-F", "json"],
            env=_env(home), stdin=exported, cwd=repo)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"t": json.loads(exported)["t"], "seen": True, "k": 1,
                                    "o": "alice@example.com"}
    # the user config is the user's own: its alias may reveal
    cfg = home / ".config" / "kelora"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "kelora.ini").write_text(f"[aliases]\nshow = -e 'e.o = {REVEAL}'\n")
    u = run(["-j", "--escrow", str(db), "-a", "show", "-F", "json"], env=_env(home), stdin=exported, cwd=repo)
    assert u.returncode == 0, u.stderr
    assert json.loads(u.stdout)["o"] == "alice@example.com"
    # ... unless the project redefines that alias: then its words are the project's
    _trust(home, repo, f"[aliases]\nshow = -e 'e.o = {REVEAL}'\n")
    p = run(["-j", "--escrow", str(db), "-a", "show", "-F", "json"], env=_env(home), stdin=exported, cwd=repo)
    assert p.returncode == 2 and b"project config" in p.stderr, p.stderr


def test_a_project_config_without_scripts_leaves_the_users_reveal_alone(setup):
    """A used project config that adds no script (an alias not invoked, a flag) marks nothing."""
    home, repo, db, exported = setup
    _trust(home, repo, f"[aliases]\nshow = -e 'e.o = {REVEAL}'\n")
    r = run(["-j", "--escrow", str(db), "-e", f"e.o = {REVEAL}", "--end", 'print("done")', "-F", "json"],
            env=_env(home), stdin=exported, cwd=repo)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[0])["o"] == "alice@example.com"
