"""Interactive mode (issue 14, COMPAT D22) on a pseudo-terminal through the installed `kelora`."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import pytest

from tests.conftest import KELORA_BIN

pexpect = pytest.importorskip("pexpect")

SAMPLE = ('{"status":500,"level":"ERROR","user":"ann","email":"ann@example.com","tags":["a"],'
          '"lat":"12","bytes":100,"total":1}\n{"status":200,"level":"INFO","user":"bob"}\n')
SECRET = "interactive-secret-value-0123456789"


@pytest.fixture
def home(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.jsonl").write_text(SAMPLE)
    (tmp_path / "logs" / "more.jsonl").write_text('{"status":404}\n')
    return tmp_path


def spawn(home, *args, extra_env=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KELORA")}
    env.update({"XDG_CONFIG_HOME": str(home / "config"), "TERM": "dumb", **(extra_env or {})})
    child = pexpect.spawn(KELORA_BIN, list(args), env=env, cwd=str(home / "logs"), encoding="utf-8",
                          timeout=30, dimensions=(40, 200))
    child.expect_exact("kelora> ")
    return child


def run(child, line: str) -> str:
    """Send one line; the text printed before the next prompt (without the echoed line)."""
    child.sendline(line)
    child.expect_exact("kelora> ")
    out = child.before.replace("\r\n", "\n")
    return out.split("\n", 1)[1] if "\n" in out else ""


def finish(child, line=":quit") -> int:
    child.sendline(line)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_empty_command_line_on_a_terminal_opens_the_prompt_and_runs_a_command_line(home):
    child = spawn(home)
    out = run(child, "app.jsonl --filter 'e.status >= 500' -F json")
    assert '"status":500' in out and '"user":"ann"' in out
    assert "bob" not in out
    assert finish(child) == 0


def test_globs_expand_and_the_kelora_word_is_optional(home):
    child = spawn(home)
    help_text = run(child, ":help")
    assert "Glob patterns auto-expand" in help_text and ":eval EXPR" in help_text and ":quit" in help_text
    out = run(child, "kelora -j *.jsonl -k status -F csv")
    assert out.split() == ["status", "500", "200", "404"]
    assert finish(child, ":q") == 0


def test_load_and_eval_print_values_in_the_language_notation(home):
    child = spawn(home)
    out = run(child, ":load app.jsonl")
    assert "Loaded 2 events" in out and "status" in out
    assert run(child, ":eval e.status + 1").strip() == "501 (i64)"
    assert run(child, "? #{a: 1}").strip() == '#{"a": 1} (map)'
    out = run(child, "? e.lat + 1")  # the silent trap is named here too, then the value
    assert "kelora warning: `+` joined text and a number" in out and out.endswith('"121" (string)\n')
    assert run(child, "? e.nope").strip() == "()"
    assert run(child, "? let limit = 100").strip() == "()"
    assert run(child, "? e.bytes * limit").strip() == "10000 (i64)"
    assert run(child, ":event 2").splitlines()[0] == "event 2 of 2:"
    assert run(child, "? e.user").strip() == '"bob" (string)'
    assert finish(child, ":exit") == 0


def test_an_error_shows_its_line_and_caret(home):
    child = spawn(home)
    run(child, ":load app.jsonl")
    out = run(child, "? e.status +")
    assert "  1 | e.status +\n    |           ^\n  Error: unexpected end of script" in out
    out = run(child, "? e.nope.to_upper()")
    assert "    |        ^^^^^^^^" in out and "e.nope is missing" in out
    out = run(child, "? e.level == ERROR")
    assert "Variable not found: ERROR" in out and '"ERROR"' in out  # the compile-time advice (D23)
    out = run(child, "app.jsonl -e 'e.x = '")
    assert "^" in out and "exec script syntax error" in out
    assert finish(child) == 0


def test_fn_shows_help_and_search(home):
    child = spawn(home)
    assert "to_upper(text: string) -> string" in run(child, ":fn to_upper")
    assert "track_unique" in run(child, ":fn distinct")
    assert finish(child) == 0


def test_ctrl_d_and_ctrl_c_twice_exit_0(home):
    child = spawn(home)
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    child = spawn(home)
    child.sendintr()
    child.expect_exact("press Ctrl-C again")
    child.expect_exact("kelora> ")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_ctrl_c_cancels_a_running_command_and_leaves_no_temporary_file(home):
    big = home / "logs" / "big.jsonl"
    with big.open("w") as f:
        for i in range(400_000):
            f.write(f'{{"i":{i},"msg":"{"x" * 40}"}}\n')
    child = spawn(home)
    child.sendline("big.jsonl -e 'e.j = e.i * 2' -F json -o out.json")
    time.sleep(1.0)
    child.sendintr()
    child.expect_exact("kelora> ")
    assert sorted(os.listdir(home / "logs")) == ["app.jsonl", "big.jsonl", "more.jsonl"]
    assert run(child, "? 2 + 2").strip() == "4 (i64)"  # the prompt goes on
    assert finish(child) == 0


def test_history_persists_in_the_user_config_folder_with_mode_0600(home):
    child = spawn(home)
    run(child, "? 40 + 2")
    assert finish(child) == 0
    path = home / "config" / "kelora" / "interactive_history.txt"
    assert path.read_text().splitlines() == ["? 40 + 2", ":quit"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    child = spawn(home)
    child.send("\x1b[A\x1b[A\r")  # up twice: the line of the last session
    child.expect_exact("42 (i64)")
    child.expect_exact("kelora> ")
    assert finish(child) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_no_history_reads_and_writes_no_file(home):
    child = spawn(home, "--no-history")
    run(child, "? 1")
    assert finish(child) == 0
    assert not (home / "config" / "kelora").exists()


def test_config_defaults_do_not_stop_the_prompt(home):
    cfg = home / "config" / "kelora"
    cfg.mkdir(parents=True)
    (cfg / "kelora.ini").write_text("defaults = -j --no-stats\n")
    child = spawn(home)
    assert "404" in run(child, "more.jsonl -F json")
    assert finish(child) == 0


def test_tab_completes_fields_functions_and_files(home):
    child = spawn(home)
    run(child, ":load app.jsonl")
    child.send("? e.byt\t * 2\r")
    child.expect_exact("200 (i64)")
    child.expect_exact("kelora> ")
    child.send('? "ab".to_up\t)\r')
    child.expect_exact('"AB" (string)')
    child.expect_exact("kelora> ")
    child.send("mor\t -F json\r")
    child.expect_exact('{"status":404}')
    child.expect_exact("kelora> ")
    assert finish(child) == 0


def test_the_secret_never_shows_and_scripts_cannot_read_it(home):
    child = spawn(home, extra_env={"KELORA_SECRET": SECRET})
    run(child, ":load app.jsonl")
    out = run(child, '? get_env("KELORA_SECRET")')
    out += run(child, "app.jsonl -e 'e.s = get_env(\"KELORA_SECRET\")' -F json")
    out += run(child, '? pseudonym(e.user, "users")')
    assert SECRET not in out
    assert "(string)" in out  # the pseudonym itself works in :eval
    finish(child)
    assert SECRET not in (home / "config" / "kelora" / "interactive_history.txt").read_text()


def test_interactive_with_other_arguments_is_a_usage_error():
    proc = subprocess.run([KELORA_BIN, "--interactive", "-j", "x.log"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "--interactive cannot be combined" in proc.stderr


def test_empty_command_line_without_a_terminal_reads_stdin():
    proc = subprocess.run([KELORA_BIN], input='{"a":1}\n', capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == "a=1\n"


def test_wanted_needs_stdin_and_stdout_on_a_terminal():
    from kelora.run.env import Env
    from kelora.cli.interactive import wanted

    env = Env.for_test()
    assert not wanted([], env)
    env.stdin_isatty = True
    assert not wanted([], env)  # stdout piped: `kelora | less` is not a prompt
    env.stdout_isatty = True
    assert wanted([], env) and wanted(["--no-history"], env)
    assert not wanted(["-j"], env)
    assert wanted(["--interactive"], Env.for_test())


def test_glob_expansion_leaves_script_text_and_unmatched_patterns(tmp_path, monkeypatch):
    from kelora.cli.interactive.repl import expand_globs

    (tmp_path / "b.log").write_text("")
    (tmp_path / "a.log").write_text("")
    monkeypatch.chdir(tmp_path)
    assert expand_globs(["*.log", "-e", "e.x = e.y * 2", "nothing*.txt", "e.a[0]"]) == \
        ["a.log", "b.log", "-e", "e.x = e.y * 2", "nothing*.txt", "e.a[0]"]


def test_an_ordinary_command_does_not_import_the_interactive_mode():
    code = ("import sys, io\nfrom kelora.cli.app import run_command\nfrom kelora.run.env import Env\n"
            "env = Env.for_test(stdin=b'{\"a\":1}\\n')\nassert run_command(['-j'], env) == 0\n"
            "assert not [m for m in sys.modules if m.startswith('kelora.cli.interactive')], 'imported'\n"
            "import kelora.cli\nassert 'readline' not in sys.modules\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_exit_and_control_characters_in_warnings_and_file_names(home):
    """exit() evaluated at the prompt is reported and the session goes on (it ended the
    process with exit 134); warnings, :load errors and history paths escape control characters
    of the data and of file names (D18: they were written raw to the terminal)."""
    esc = "\x1b]0;PWNED\x07"
    (home / "logs" / "ev.jsonl").write_text('{"msg":"hi\\u009b2J\\u007f\\u001b[2J"}\n')
    (home / "logs" / f"zz{esc}.jsonl").write_text("")
    bad_history = home / f"xdg{esc}"
    (bad_history / "kelora" / "interactive_history.txt").mkdir(parents=True)
    child = spawn(home, extra_env={"XDG_CONFIG_HOME": str(bad_history)})
    assert "(exit(): a run would stop here with exit code 1: bye)" in run(child, '? exit(1, "bye")')
    run(child, ":load ev.jsonl")
    warned = run(child, "? e.msg > 3")
    assert "kelora warning:" in warned and "\\u{9b}" in warned and "\x9b" not in warned and "\x7f" not in warned
    empty = run(child, ":load zz*")
    assert "holds no events" in empty and "\x1b" not in empty and "\\u{1b}]0;PWNED" in empty
    child.sendline(":quit")
    child.expect(pexpect.EOF)
    assert "\x1b" not in child.before and "cannot write the history" in child.before
    child.close()
    assert child.exitstatus == 0


def test_script_text_typed_without_a_question_mark_gets_a_hint(home):
    # (it used to run as a command line: four "Failed to open file 'let'..." errors)
    child = spawn(home)
    out = run(child, "let x = 5")
    assert "to evaluate it, start the line with `?`: ? let x = 5" in out, out
    assert "Failed to open" not in out
    out = run(child, "e.status > 1")
    assert "start the line with `?`" in out, out
    out = run(child, "app.jsonl -F json --take 1")  # (a file name first: a command line)
    assert '"status":500' in out, out
    assert finish(child) == 0


def test_what_looks_like_script_text():
    from kelora.cli.interactive.repl import _looks_like_script

    assert _looks_like_script(["let", "x", "=", "5"]) and _looks_like_script(["print(e.a)"])
    assert _looks_like_script(["e.status", ">", "1"]) and _looks_like_script(["to_upper(\"a\")"])
    assert not _looks_like_script(["app.log", "-j"]) and not _looks_like_script(["-j", "let"])
    assert not _looks_like_script(["logs/*.json"])
