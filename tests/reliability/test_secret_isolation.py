"""No script and no mistaken flag reaches the pseudonym secret (COMPAT D16, issue 11 items 2, 3).

The sweep runs the installed ``kelora`` with the secret in ``KELORA_SECRET_FILE`` (and, for the
environment route, in ``KELORA_SECRET``) and points every file function of the script language
and every flag that reads or writes a file at: the secret file, ``/proc/self/environ``, and a
symlink to each.  All stdout, stderr and files written are searched for the secret in raw, hex
and base64 forms (``assert_clean`` of test_secrets), and the secret file must be unchanged.
"""
from __future__ import annotations

import inspect
import os
import re
from pathlib import Path

import pytest

from kelora.builtins import registry
from tests.reliability.conftest import assert_no_traceback, run_bin
from tests.reliability.test_secrets import _forms

SECRET = "isolation-Secret-0a1b2c3d4e5f6789"
# one call per file function: {P} is the path under test
FILE_CALLS = {
    "read_file": 'read_file({P})',
    "read_lines": 'read_lines({P})',
    "append_file": 'append_file({P}, "appended")',
    "truncate_file": 'truncate_file({P})',
    "mkdir": 'mkdir({P})',
}


def needles() -> set[str]:
    raw = SECRET.encode()
    return _forms(raw) | {SECRET, "KELORA_SECRET=" + SECRET[:8]}


def assert_clean(*texts) -> None:
    found = needles()
    for text in texts:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        for needle in found:
            assert needle not in text, f"secret material {needle!r} leaked in: {text[:2000]}"


@pytest.fixture
def box(tmp_path):
    """A folder with the secret file (0600), symlinks to it and to /proc/self/environ."""
    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    (tmp_path / "secret-link").symlink_to(secret)
    (tmp_path / "environ-link").symlink_to("/proc/self/environ")
    (tmp_path / "home").mkdir()
    return tmp_path


TARGETS = ["secret", "secret-link", "/proc/self/environ", "environ-link"]


def kelora(box: Path, args, stdin=b'{"a":1}\n', **extra):
    env = {"HOME": str(box / "home"), "KELORA_SECRET_FILE": str(box / "secret"), "KELORA_IGNORE_CONFIG": "1"}
    env.update(extra)
    res = run_bin(args, stdin, environ=env, cwd=str(box))
    assert_no_traceback(res)
    return res


def all_output(box: Path, res) -> list:
    texts = [res.out, res.err]
    for p in box.rglob("*"):
        if p.is_file() and not p.is_symlink() and p.name != "secret":
            texts.append(p.read_bytes())
    return texts


def test_every_file_function_is_in_the_sweep():
    """A new file function must join FILE_CALLS (and the guard): no builtin outside
    kelora/builtins/files.py opens files."""
    names = {b.name for b in registry.load_all().values() if b.category == "files"} - {"get_env"}
    assert names == set(FILE_CALLS), names
    folder = Path(registry.__file__).parent
    for path in folder.glob("*.py"):
        if path.name == "files.py":
            continue
        assert not re.search(r"\bopen\(|os\.open|Path\(.*\)\.(read|write)_", path.read_text()), path


@pytest.mark.parametrize("fn", sorted(FILE_CALLS))
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("stage", ["--begin", "-e", "--end"])
def test_file_functions_refuse_secret_and_proc(box, fn, target, stage):
    call = FILE_CALLS[fn].replace("{P}", '"' + target + '"')
    if stage == "-e":
        args = ["-j", "--allow-fs-writes", "-e", "e.x = " + call, "-F", "json"]
    else:
        args = ["--no-input", "--allow-fs-writes", stage, "let x = " + call + "; print(x)"]
    res = kelora(box, args)
    assert_clean(*all_output(box, res))
    assert (box / "secret").read_text() == SECRET + "\n"
    assert (box / "secret-link").is_symlink()
    assert any(m in res.err for m in ("secret file", "is under /proc", "only be called during --begin")), res.err


def test_issue_reproduction_proc_environ(box):
    res = run_bin(["-j", "--begin", 'conf.env = read_file("/proc/self/environ")', "-e", "e.s = conf.env", "-F", "json"],
                  b"{}\n", environ={"KELORA_SECRET": SECRET, "HOME": str(box / "home"), "KELORA_IGNORE_CONFIG": "1"},
                  cwd=str(box))
    assert res.code == 1 and "/proc" in res.err
    assert_clean(res.out, res.err)


def test_issue_reproduction_get_env_secret_file(box):
    res = kelora(box, ["-j", "--begin", 'conf.s = read_file(get_env("KELORA_SECRET_FILE"))', "-e", "e.s = conf.s", "-F", "json"])
    assert res.code == 1 and "KELORA_SECRET_FILE is not readable" in res.err
    assert_clean(res.out, res.err)


@pytest.mark.parametrize("name", ["KELORA_SECRET", "KELORA_SECRET_FILE", "KELORA_SECRET_PREVIOUS",
                                  "KELORA_SECRET_PREVIOUS_FILE", "KELORA_ESCROW_KEY", "KELORA_ESCROW_KEY_FILE",
                                  "KELORA_MY_SECRET_X"])
def test_get_env_refuses_every_secret_name(box, name):
    res = kelora(box, ["-j", "-e", f'e.v = get_env("{name}", "none")', "-F", "json"], **{name: SECRET})
    assert '"v"' not in res.text and "not readable from scripts" in res.err
    assert_clean(res.out, res.err)


def test_secret_variables_are_taken_out_of_the_process_environment(box):
    """What the kelora command does first (cli.main): the variables leave os.environ, so no
    script, forked worker or child process finds them there; other variables stay."""
    import subprocess
    import sys

    code = ("import os; from kelora.keyring import take_process_secrets, held_secrets; "
            "take_process_secrets(); print(sorted(k for k in os.environ if k.startswith('KELORA_'))); "
            "print(sorted(held_secrets()))")
    env = {"PATH": os.environ.get("PATH", ""), "KELORA_SECRET": SECRET, "KELORA_SECRET_FILE": "f",
           "KELORA_ESCROW_KEY_FILE": "k", "KELORA_SEED": "1"}
    # cwd: the installed kelora (not a checkout on sys.path) is what runs
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=str(box))
    assert p.stdout.splitlines() == ["['KELORA_SEED']",
                                     "['KELORA_ESCROW_KEY_FILE', 'KELORA_SECRET', 'KELORA_SECRET_FILE']"], p.stderr
    from kelora.cli import app as cli

    assert "take_process_secrets()" in inspect.getsource(cli.main)


def test_parallel_workers_still_pseudonymize_with_the_held_secret(box):
    one = kelora(box, ["-j", "-e", 'e.u = pseudonym(e.a, "u")', "-F", "json"], stdin=b'{"a":"x"}\n{"a":"y"}\n')
    par = kelora(box, ["-j", "-e", 'e.u = pseudonym(e.a, "u")', "-F", "json", "--parallel", "--batch-size", "1"],
                 stdin=b'{"a":"x"}\n{"a":"y"}\n')
    assert one.code == 0 and par.code == 0 and one.out == par.out, par.err
    assert "ephemeral" not in par.err


@pytest.mark.parametrize("flag", ["-E", "-I", "--config-file", "input"])
@pytest.mark.parametrize("target", TARGETS)
def test_flags_that_read_refuse_secret_and_kernel_files(box, flag, target):
    if flag == "input":
        args = ["-j", target]
    elif flag == "-I":
        args = ["-j", "-I", target, "-e", "e.x = 1"]
    else:
        args = ["-j", flag, target]
    res = kelora(box, args)
    assert res.code == 2, res.err
    assert "refusing to read" in res.err
    assert_clean(*all_output(box, res))


@pytest.mark.parametrize("flag", ["-o", "--metrics-file", "--save-alias", "--rotation-map", "--escrow"])
@pytest.mark.parametrize("target", ["secret", "secret-link"])
def test_flags_that_write_refuse_the_secret_file(box, flag, target):
    if flag == "--save-alias":
        args = ["--config-file", target, "-J", "--save-alias", "x"]
    else:
        args = ["-j", flag, target, "-e", 'track_count("n")']
    res = kelora(box, args)
    assert res.code == 2 and "pseudonym secret file" in res.err, res.err
    assert (box / "secret").read_text() == SECRET + "\n"
    assert (box / "secret-link").is_symlink()
    assert_clean(*all_output(box, res))


def test_process_substitution_still_works_for_scripts(box):
    """/dev/fd pipes are not kernel files: `-E <(...)` keeps working."""
    r, w = os.pipe()
    os.write(w, b"e.b = 2\n")
    os.close(w)
    env = {"HOME": str(box / "home"), "KELORA_IGNORE_CONFIG": "1", "PATH": os.environ.get("PATH", "")}
    import subprocess

    from tests.conftest import KELORA_BIN

    p = subprocess.run([KELORA_BIN, "-j", "-E", f"/dev/fd/{r}", "-F", "json"], input=b'{"a":1}\n',
                       capture_output=True, env=env, pass_fds=(r,), cwd=str(box))
    os.close(r)
    assert p.returncode == 0 and p.stdout == b'{"a":1,"b":2}\n', p.stderr


def test_short_secret_warns(box):
    res = run_bin(["-j", "-e", 'e.u = pseudonym("a", "u")'], b"{}\n",
                  environ={"KELORA_SECRET": "short", "HOME": str(box / "home"), "KELORA_IGNORE_CONFIG": "1"})
    assert res.code == 0 and "shorter than 16 bytes" in res.err
    long = run_bin(["-j", "-e", 'e.u = pseudonym("a", "u")'], b"{}\n",
                   environ={"KELORA_SECRET": SECRET, "HOME": str(box / "home"), "KELORA_IGNORE_CONFIG": "1"})
    assert "shorter than" not in long.err


def test_in_process_run_keeps_the_callers_environment():
    """The Python entry (run_command) never changes the mapping it was given."""
    from kelora.cli.app import run_command
    from kelora.run.env import Env

    environ = {"KELORA_SECRET": SECRET, "KELORA_IGNORE_CONFIG": "1"}
    env = Env.for_test(stdin=b'{"a":1}\n', environ=environ)
    run_command(["-j", "-e", 'e.u = pseudonym("a", "u"); e.g = get_env("KELORA_SECRET", "no")'], env=env)
    assert env.environ == environ and environ["KELORA_SECRET"] == SECRET  # untouched
    assert "not readable from scripts" in env.stderr.getvalue()
    assert_clean(env.stdout.getvalue(), env.stderr.getvalue())


def test_builtin_guard_source_is_documented():
    from kelora.builtins import files

    assert "fileguard" in inspect.getsource(files)
