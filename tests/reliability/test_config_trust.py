"""A project folder cannot take over a run (COMPAT D15, issue 11 item 1).

Every case runs the installed ``kelora`` in a subprocess with HOME pointing at a temporary
folder, so discovery, the trust list and ownership checks are the real ones.  The reproduction
of the issue (a planted ``.kelora.ini`` that copies the e-mail into the export) must leak on the
old main and is refused or announced now.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.reliability.conftest import assert_no_traceback, run_bin

EVENT = b'{"email":"alice@example.com"}\n'
SCRIPT = ["-j", "-e", 'e.uid = pseudonym(e.email, "u"); e.email = ()', "-F", "json"]
PLANT = "defaults = -e 'e.leak = e.email'\n"
SECRET = "a-long-enough-test-secret-0123456789"


@pytest.fixture
def home(tmp_path):
    h = tmp_path / "home"
    h.mkdir()
    return h


def kelora(args, cwd, home, stdin=EVENT, **extra):
    env = {"HOME": str(home), "KELORA_SECRET": SECRET}
    env.update(extra)
    res = run_bin(args, stdin, environ=env, cwd=str(cwd))
    assert_no_traceback(res)
    return res


def leaked(res) -> bool:
    return b"alice@example.com" in res.out


def repo_with(home: Path, text: str = PLANT, *, git: bool = True, depth: int = 1) -> tuple[Path, Path]:
    """A repository below home with a .kelora.ini at its top; returns (repo, a folder inside)."""
    repo = home / "src" / "repo"
    inner = repo.joinpath(*["sub"] * depth)
    inner.mkdir(parents=True)
    if git:
        (repo / ".git").mkdir()
    (repo / ".kelora.ini").write_text(text)
    return repo, inner


# ------------------------------------------------------------------------------ the reproduction

@pytest.mark.parametrize("where", ["cwd", "parent"])
def test_planted_config_is_ignored_with_one_warning(home, where):
    repo, inner = repo_with(home)
    cwd = repo if where == "cwd" else inner
    res = kelora(SCRIPT, cwd, home)
    assert res.code == 0, res.err
    assert not leaked(res)
    warnings = [line for line in res.err.splitlines() if ".kelora.ini" in line]
    shown = "./.kelora.ini" if where == "cwd" else "../.kelora.ini"
    assert warnings == [f"kelora warning: ignoring {shown}: not trusted; run 'kelora --trust-config' here to trust it"]


def test_trusted_config_is_used_and_its_script_announced(home):
    repo, inner = repo_with(home)
    t = kelora(["--trust-config"], inner, home, stdin=b"")
    assert t.code == 0 and "trusted " + str(repo / ".kelora.ini") in t.text, t.err
    store = home / ".config" / "kelora" / "trusted-configs"
    assert (store.stat().st_mode & 0o777) == 0o600
    line = store.read_text().strip()
    assert line.endswith("  " + str(repo / ".kelora.ini")) and len(line.split()[0]) == 64
    res = kelora(SCRIPT, inner, home)
    assert res.code == 0 and leaked(res)  # the user allowed it, and was told:
    assert res.err.splitlines().count("kelora: ../.kelora.ini adds: -e 'e.leak = e.email'") == 1, res.err
    quiet = kelora(SCRIPT + ["-q"], inner, home)
    assert quiet.code == 0 and quiet.err == "", quiet.err


def test_changed_config_is_untrusted_again(home):
    repo, inner = repo_with(home)
    assert kelora(["--trust-config"], inner, home, stdin=b"").code == 0
    with open(repo / ".kelora.ini", "a") as fh:
        fh.write("# harmless-looking edit\n")
    res = kelora(SCRIPT, inner, home)
    assert res.code == 0 and not leaked(res)
    assert "ignoring ../.kelora.ini: changed since it was trusted" in res.err


def test_foreign_owned_config_is_ignored_even_if_trusted(home):
    repo, inner = repo_with(home)
    assert kelora(["--trust-config"], inner, home, stdin=b"").code == 0
    os.chown(repo / ".kelora.ini", 65534, 65534)
    res = kelora(SCRIPT, inner, home)
    assert res.code == 0 and not leaked(res)
    assert "owned by another user (uid 65534)" in res.err
    assert kelora(["--trust-config"], inner, home, stdin=b"").code == 2


@pytest.mark.parametrize("mode", [0o664, 0o646, 0o666])
def test_group_or_other_writable_config_is_ignored_even_if_trusted(home, mode):
    repo, inner = repo_with(home)
    assert kelora(["--trust-config"], inner, home, stdin=b"").code == 0
    os.chmod(repo / ".kelora.ini", mode)
    res = kelora(SCRIPT, inner, home)
    assert res.code == 0 and not leaked(res)
    assert "writable by group or others" in res.err


def test_untrusted_trust_list_is_not_believed(home):
    repo, inner = repo_with(home)
    assert kelora(["--trust-config"], inner, home, stdin=b"").code == 0
    os.chmod(home / ".config" / "kelora" / "trusted-configs", 0o666)  # anyone could have added it
    res = kelora(SCRIPT, inner, home)
    assert not leaked(res) and "not trusted" in res.err


# ------------------------------------------------------------------------------ even trusted

@pytest.mark.parametrize("text, named", [
    ("secret_file = /proc/self/personality\n", "secret_file"),
    ("defaults = --allow-fs-writes -e 'append_file(\"x\", \"y\")'\n", "--allow-fs-writes"),
    ("defaults = -F json\n[aliases]\nx = -jo out.json\n", "-o/--output-file"),
    ("defaults = --output-file=out.json\n", "-o/--output-file"),
    ("defaults = --metrics-file m.json\n", "--metrics-file"),
    ("defaults = --fail-open\n", "--fail-open"),
    ("defaults = --pii-allow email\n", "--pii-allow"),
    ("defaults = --rotation-map map.json\n", "--rotation-map"),
    ("defaults = --escrow e.bin\n", "--escrow"),
    ("defaults = -j /etc/passwd\n", "input files"),
    ("[aliases]\nx = -e 'e.a = 1' -- other.log\n", "input files"),
])
def test_trusted_project_config_may_not_set(home, text, named):
    repo, inner = repo_with(home, text)
    refused = kelora(["--trust-config"], inner, home, stdin=b"")
    assert refused.code == 2 and named in refused.err, refused.err
    # trusted anyway (an older kelora, a hand-edited list): still refused at run time, exit 2
    from kelora.cli import config_trust

    data = (repo / ".kelora.ini").read_bytes()
    config_trust.record_trusted(home / ".config" / "kelora" / "kelora.ini", repo / ".kelora.ini",
                                config_trust.digest(data))
    res = kelora(SCRIPT, inner, home)
    assert res.code == 2 and named in res.err and res.out == b"", res.err
    assert not (inner / "x").exists() and not (repo / "x").exists()


def test_planted_secret_file_cannot_replace_the_users_secret(home):
    """The issue's attack: `secret_file = /proc/self/personality` (publicly known content)."""
    repo, inner = repo_with(home, "secret_file = /proc/self/personality\n")
    res = run_bin(SCRIPT + ["-vv"], EVENT, environ={"HOME": str(home)}, cwd=str(inner))
    assert res.code == 0, res.err
    assert "pseudonym: ON (ephemeral; not stable)" in res.err
    assert "stable; secret_file" not in res.err


def test_user_config_may_set_secret_file_and_fs_writes(home, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    secret.chmod(0o600)
    cfg = home / ".config" / "kelora" / "kelora.ini"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(f"secret_file = {secret}\ndefaults = --allow-fs-writes\n")
    res = run_bin(SCRIPT + ["-vv"], EVENT, environ={"HOME": str(home)}, cwd=str(home))
    assert res.code == 0 and "pseudonym: ON (stable; secret_file)" in res.err, res.err


# ------------------------------------------------------------------------------ the boundary

def test_git_folder_bounds_discovery(home):
    """A .kelora.ini above the repository (here: in a folder above home's subfolder) is never
    found from inside the repository."""
    outer = home / "src"
    outer.mkdir()
    (outer / ".kelora.ini").write_text(PLANT)
    repo = outer / "repo"
    (repo / "sub").mkdir(parents=True)
    (repo / ".git").write_text("gitdir: /elsewhere\n")  # a .git *file* counts (worktrees)
    res = kelora(SCRIPT, repo / "sub", home)
    assert res.code == 0 and not leaked(res) and ".kelora.ini" not in res.err, res.err
    show = kelora(["--show-config"], repo / "sub", home, stdin=b"")
    assert str(repo / ".kelora.ini") in show.text and str(outer) + "/.kelora.ini" not in show.text


def test_home_bounds_discovery(tmp_path, home):
    """Nothing above home is searched: a file planted in home's parent is never read."""
    (tmp_path / ".kelora.ini").write_text(PLANT)
    work = home / "work"
    work.mkdir()
    res = kelora(SCRIPT, work, home)
    assert res.code == 0 and not leaked(res) and ".kelora.ini" not in res.err, res.err


def test_without_git_or_home_above_only_the_current_folder(tmp_path):
    """cwd is not below HOME and no .git above: only the current folder is searched."""
    (tmp_path / ".kelora.ini").write_text(PLANT)
    cwd = tmp_path / "a" / "b"
    cwd.mkdir(parents=True)
    res = kelora(SCRIPT, cwd, tmp_path / "elsewhere-home")
    assert res.code == 0 and not leaked(res) and res.err == "", res.err
    here = kelora(SCRIPT, tmp_path, tmp_path / "elsewhere-home")
    assert not leaked(here) and "ignoring ./.kelora.ini: not trusted" in here.err


def test_home_folder_config_is_trusted(home):
    (home / ".kelora.ini").write_text("defaults = -e 'e.mark = 1'\n")
    (home / "work").mkdir()
    res = kelora(SCRIPT, home / "work", home)
    assert res.code == 0 and json.loads(res.out)["mark"] == 1
    assert "adds:" not in res.err  # the user's own file is not announced


@pytest.mark.parametrize("how", ["flag", "env"])
def test_ignore_config_still_skips(home, how):
    repo, inner = repo_with(home)
    assert kelora(["--trust-config"], inner, home, stdin=b"").code == 0
    args, extra = (SCRIPT + ["--ignore-config"], {}) if how == "flag" else (SCRIPT, {"KELORA_IGNORE_CONFIG": "1"})
    res = kelora(args, inner, home, **extra)
    assert res.code == 0 and not leaked(res) and res.err == ""


def test_show_config_says_what_was_used_and_why(home):
    repo, inner = repo_with(home)
    show = kelora(["--show-config"], inner, home, stdin=b"")
    assert show.code == 0
    assert f"# {repo / '.kelora.ini'} (project config: ignored, not trusted;" in show.text
    assert "e.leak" not in show.text  # an ignored file is named, not shown
    kelora(["--trust-config"], inner, home, stdin=b"")
    show = kelora(["--show-config"], inner, home, stdin=b"")
    assert f"# {repo / '.kelora.ini'} (project config: used, trusted)\n{PLANT}" in show.text


def test_trust_config_without_a_project_file(home):
    (home / "w").mkdir()
    res = kelora(["--trust-config"], home / "w", home, stdin=b"")
    assert res.code == 2 and "no .kelora.ini found" in res.err


def test_save_alias_never_writes_into_an_untrusted_project_file(home):
    repo, inner = repo_with(home)
    before = (repo / ".kelora.ini").read_text()
    res = kelora(["-J", "--save-alias", "js"], inner, home, stdin=b"")
    assert res.code == 0, res.err
    assert (repo / ".kelora.ini").read_text() == before
    assert "js = -J" in (home / ".config" / "kelora" / "kelora.ini").read_text()


def test_save_alias_into_a_trusted_project_file_keeps_it_trusted(home):
    repo, inner = repo_with(home, "defaults = -F json\n")
    assert kelora(["--trust-config"], inner, home, stdin=b"").code == 0
    res = kelora(["-k", "email", "--save-alias", "em"], inner, home, stdin=b"")
    assert res.code == 0 and "em = -k email" in (repo / ".kelora.ini").read_text()
    used = kelora(["-j", "-a", "em"], inner, home)
    assert used.code == 0 and json.loads(used.out) == {"email": "alice@example.com"}, used.err


# ------------------------------------------------------------ a value is never taken for an option

@pytest.mark.parametrize("args", [
    ["-K", "--config-file={evil}"], ["-K", "--config-file={evil}", "--ignore-config"],
    ["--exclude-keys=--config-file={evil}"], ["-k", "--trust-config"], ["-e", "--show-config"],
    ["--filter", "--help"], ["-e", "--help-functions"], ["-e", "--interactive"], ["--begin", "--version"],
    ["-K", "--alias=planted"], ["-k", "-a", "-K", "x"],
])
def test_a_script_or_key_list_that_looks_like_a_config_option_is_not_one(home, tmp_path, args):
    """The checks made before the flags are parsed (--config-file, --ignore-config,
    --trust-config, --help, interactive mode) read the words as click does: a value given to
    -K/-e/--filter is a value, whatever it looks like (the Python API passes callers' texts)."""
    repo, _ = repo_with(home)
    evil = tmp_path / "evil.ini"
    evil.write_text(PLANT)
    words = [w.format(evil=evil) for w in args]
    res = kelora(["-j", *words, "-F", "json"], repo, home)
    assert b'"leak"' not in res.out  # (the planted defaults: not read from evil.ini nor trusted)
    assert not (home / ".config" / "kelora" / "trusted-configs").exists()
    assert all(line.startswith(b"{") for line in res.out.splitlines()), res.out[:300]  # no help, no version
    assert "Config:" not in res.err
    if args[0] in ("-e", "--filter", "--begin"):  # a script: compiled, and refused as one
        assert res.code == 1 and "Pipeline error" in res.err, res.err
    else:
        assert res.code == 0, res.err


# ------------------------------------------------------------ the trust list and config files as files

@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1e", "\t"])
def test_a_folder_name_cannot_forge_a_trust_line(home, sep):
    """The probe's attack: ``--trust-config`` in a folder named ``x<U+2028><sha>  /other/.kelora.ini``
    wrote a second trust line (``str.splitlines`` breaks at U+2028) for a config never trusted."""
    repo = home / "src" / "repo"
    evil = repo / "evil"
    evil.mkdir(parents=True)
    (repo / ".git").mkdir()
    (evil / ".kelora.ini").write_text(PLANT)
    sha = __import__("hashlib").sha256((evil / ".kelora.ini").read_bytes()).hexdigest()
    forger = Path(f"{repo}/x{sep}{sha}  {evil}")
    forger.mkdir(parents=True)
    (forger / ".kelora.ini").write_text("defaults = --stats\n")
    t = kelora(["--trust-config"], forger, home, stdin=b"")
    assert t.code == 2 and "control character or line separator" in t.err, t.err
    assert f"\\u{{{ord(sep):x}}}" in t.err  # (shown escaped, never raw)
    res = kelora(SCRIPT, evil, home)
    assert res.code == 0 and not leaked(res), res.err
    assert "not trusted" in res.err


def test_the_trust_list_is_read_by_newlines_only(home):
    """A hand-made list line holding U+2028 is one line (one path), never two entries."""
    repo, inner = repo_with(home)
    sha = __import__("hashlib").sha256(PLANT.encode()).hexdigest()
    store = home / ".config" / "kelora" / "trusted-configs"
    store.parent.mkdir(parents=True)
    store.write_bytes(f"{'0' * 64}  /elsewhere\u2028{sha}  {repo / '.kelora.ini'}\n".encode())
    store.chmod(0o600)
    res = kelora(SCRIPT, inner, home)
    assert not leaked(res) and "not trusted" in res.err, res.err


def test_config_lines_end_only_at_newline(home, tmp_path):
    """A config file's lines are Kelora's (Rust ``str::lines``): a U+2028 or form feed inside a
    value belongs to the value; CRLF files work."""
    cfg = tmp_path / "c.ini"
    cfg.write_bytes("defaults = -F json\r\n[aliases]\r\nx = -e 'e.s = \"a\u2028b\\x0cc\"'\r\n".encode())
    res = kelora(["--config-file", str(cfg), "-j", "-a", "x"], tmp_path, home, stdin=b'{"a":1}\n')
    assert res.code == 0, res.err
    assert json.loads(res.out) == {"a": 1, "s": "a\u2028b\x0cc"}


def test_a_huge_planted_config_is_not_read(home):
    """A 4 GB sparse ``.kelora.ini`` was read whole (4 GB of memory) before being ignored."""
    repo, inner = repo_with(home)
    with open(repo / ".kelora.ini", "r+b") as fh:
        fh.truncate(4 << 30)
    res = kelora(SCRIPT, inner, home)
    assert res.code == 0 and not leaked(res), res.err
    assert "ignoring ../.kelora.ini: too big (4294967296 bytes; the limit is 1048576)" in res.err
    show = kelora(["--show-config"], inner, home, stdin=b"")
    assert show.code == 0 and "too big" in show.text


@pytest.mark.parametrize("where", ["--config-file", "user config"])
def test_a_huge_or_endless_own_config_is_a_usage_error(home, tmp_path, where):
    big = tmp_path / "big.ini"
    with open(big, "wb") as fh:
        fh.truncate(4 << 30)
    cases = [(big, "too big")] + ([("/dev/zero", "not a regular file")] if where == "--config-file" else [])
    for path, why in cases:  # (a user config that is not a file is not looked at)
        if where == "--config-file":
            res = kelora(["--config-file", str(path), "-j"], tmp_path, home)
        else:
            user = home / ".config" / "kelora" / "kelora.ini"
            user.parent.mkdir(parents=True, exist_ok=True)
            user.unlink(missing_ok=True)
            user.symlink_to(path)
            res = kelora(["-j"], tmp_path, home)
        assert res.code == 2 and why in res.err and res.out == b"", res.err


def test_a_fifo_as_config_does_not_stall(home):
    repo, inner = repo_with(home)
    (repo / ".kelora.ini").unlink()
    os.mkfifo(repo / ".kelora.ini")
    res = kelora(SCRIPT, inner, home)  # (run_bin's timeout: a stall fails the test)
    assert res.code == 0 and not leaked(res), res.err
    fifo = kelora(["--config-file", str(repo / ".kelora.ini"), "-j", "-F", "json"], inner, home)
    assert fifo.code == 0, fifo.err  # (a pipe is read to its end; this one has no writer: empty)


def test_a_config_in_a_folder_whose_name_is_not_utf8(home):
    """--trust-config and --show-config crashed on a surrogate; the list mangled the name to U+FFFD
    so it never matched."""
    repo = home / "src" / "repo"
    (repo / ".git").mkdir(parents=True)
    folder = os.path.join(os.fsencode(repo), b"bad\xffname")
    os.mkdir(folder)
    with open(os.path.join(folder, b".kelora.ini"), "w") as fh:
        fh.write(PLANT)
    t = kelora(["--trust-config"], os.fsdecode(folder), home, stdin=b"")
    assert t.code == 0 and "bad\\xffname/.kelora.ini" in t.text, t.err
    line = (home / ".config" / "kelora" / "trusted-configs").read_bytes()
    assert line.endswith(b"/bad\xffname/.kelora.ini\n")
    show = kelora(["--show-config"], os.fsdecode(folder), home, stdin=b"")
    assert show.code == 0 and "bad\\xffname/.kelora.ini (project config: used, trusted)" in show.text, show.err
    res = kelora(SCRIPT, os.fsdecode(folder), home)
    assert res.code == 0 and leaked(res) and "./.kelora.ini adds:" in res.err, res.err


@pytest.mark.parametrize("text, args", [
    ("defaults = -a x\n[aliases]\nx = -e 'e.leak = e.email'\n", []),          # the probe's case
    ("defaults = -a x\n[aliases]\nx = -a y\ny = --exec='e.leak = e.email'\n", []),  # alias in an alias
    ("[aliases]\nx = -e 'e.leak = e.email'\n", ["-a", "x"]),                    # invoked by the user
])
def test_script_stages_a_project_alias_adds_are_announced(home, text, args):
    """An alias in ``defaults`` ran its stage silently: only the direct words were announced."""
    repo, inner = repo_with(home, text)
    assert kelora(["--trust-config"], inner, home, stdin=b"").code == 0
    res = kelora(args + SCRIPT, inner, home)
    assert res.code == 0 and leaked(res), res.err
    announced = [line for line in res.err.splitlines() if line.startswith("kelora: ../.kelora.ini adds:")]
    assert len(announced) == 1 and "e.leak = e.email" in announced[0], res.err
    assert "e.uid" not in announced[0]  # (the user's own stage is not the project's)
    assert kelora(args + SCRIPT + ["-q"], inner, home).err == ""


def test_a_project_alias_replacing_the_users_is_announced(home):
    user = home / ".config" / "kelora" / "kelora.ini"
    user.parent.mkdir(parents=True)
    user.write_text("[aliases]\nx = -F json\n")
    repo, inner = repo_with(home, "[aliases]\nx = -F json -e 'e.leak = e.email'\n")
    assert kelora(["--trust-config"], inner, home, stdin=b"").code == 0
    res = kelora(["-a", "x"] + SCRIPT, inner, home)
    assert leaked(res) and "kelora: ../.kelora.ini adds: -e 'e.leak = e.email'" in res.err, res.err
