"""The Python API (kelora/api.py): the examples of docs/api.md, and Pipeline.process giving what
the command line gives on the compliance and CLI golden cases."""
import io
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import kelora
from kelora.cli.app import run_command
from kelora.run.env import Env

ROOT = Path(__file__).resolve().parents[2]
SECRET = "api-test-secret-0123456789abcdef"


# ---------------------------------------------------------------------- docs/api.md
def _doc_blocks():
    text = (ROOT / "docs" / "api.md").read_text()
    blocks = re.findall(r"```(python|text)\n(.*?)```", text, re.S)
    pairs = []
    for i, (kind, body) in enumerate(blocks):
        if kind == "python":
            expected = blocks[i + 1][1] if i + 1 < len(blocks) and blocks[i + 1][0] == "text" else None
            pairs.append((body, expected))
    return pairs


def test_every_docs_api_example_runs_and_prints_what_the_doc_shows(tmp_path):
    pairs = _doc_blocks()
    assert len(pairs) >= 6
    script = "".join(f"print('@@BLOCK {i}@@', flush=True)\n{code}" for i, (code, _) in enumerate(pairs))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KELORA_")}
    env["KELORA_IGNORE_CONFIG"] = "1"
    proc = subprocess.run([sys.executable, "-u", "-c", script], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    outputs = re.split(r"@@BLOCK \d+@@\n", proc.stdout)[1:]
    assert len(outputs) == len(pairs)
    for (code, expected), got in zip(pairs, outputs):
        if expected is not None:
            assert got == expected, f"docs/api.md block:\n{code}"


# ---------------------------------------------------------------------- the same as the CLI
def _cli_events(argv, stdin: bytes, environ=None, stderr=None):
    env = Env.for_test(stdin, environ={"KELORA_SECRET": SECRET, **(environ or {})})
    code = run_command(["--ignore-config", *argv, "-F", "json"], env)
    if stderr is not None:
        stderr.append(env.stderr.getvalue())
    return code, [json.loads(line) for line in env.stdout.getvalue().splitlines() if line.strip()]


def _api_events(stages, events, **kw):
    p = kelora.Pipeline(stages=stages, secret=SECRET, **kw)
    out = list(p.process(events))
    return p, out


def _compliance_cases():
    for path in sorted((ROOT / "tests" / "compliance").glob("*.json")):
        data = json.loads(path.read_text())
        for group in data.get("groups", []):
            given = group.get("given")
            if not isinstance(given, dict):
                continue
            for case in group.get("cases", []):
                if "script" in case and "event" in case and not case.get("mode") and "print(" not in case["script"]:
                    yield pytest.param(given, case["script"], id=f"{path.stem}:{case['script'][:40]}")


@pytest.mark.parametrize("given,script", list(_compliance_cases())[::3])
def test_process_equals_the_cli_on_compliance_cases(given, script):
    line = json.dumps(given).encode() + b"\n"
    code, expected = _cli_events(["-j", "-e", script], line)
    p, got = _api_events([("exec", script)], [given])
    assert got == expected
    assert p.exit_code == code


_STAGE_FLAGS = {"-e": "exec", "--exec": "exec", "--filter": "filter", "--assert": "assert"}
_PLAIN_FLAGS = {"-j", "--begin", "--end", "-k", "--keys", "-K", "--exclude-keys"}


def _golden_cases():
    for path in sorted((ROOT / "tests" / "cli").glob("*.toml")):
        for case in tomllib.loads(path.read_text()).get("case", []):
            args, stdin = case.get("args", []), case.get("stdin")
            if not stdin or case.get("files") or case.get("env") or case.get("cwd") or "-j" not in args:
                continue
            stages, kw, i, ok = [], {}, 0, True
            while i < len(args):
                a = args[i]
                if a in _STAGE_FLAGS and i + 1 < len(args):
                    stages.append((_STAGE_FLAGS[a], args[i + 1]))
                    i += 2
                elif a in ("--begin", "--end") and i + 1 < len(args):
                    kw[a[2:]] = args[i + 1]
                    i += 2
                elif a in ("-k", "--keys") and i + 1 < len(args):
                    kw["keys"] = args[i + 1].split(",")
                    i += 2
                elif a == "-j":
                    i += 1
                else:
                    ok = False
                    break
            scripts = json.dumps([stages, kw])
            if ok and stages and "print" not in scripts and "exit(" not in scripts:
                yield pytest.param(args, stdin, stages, kw, id=f"{path.stem}:{case['name']}")


@pytest.mark.parametrize("args,stdin,stages,kw", list(_golden_cases()))
def test_process_equals_the_cli_on_golden_cases(args, stdin, stages, kw):
    data = stdin.lstrip("\n").encode()
    stderr = []
    code, expected = _cli_events(args, data, stderr=stderr)
    lines = [line for line in data.splitlines()]
    try:
        p, got = _api_events(stages, lines, **kw)
    except kelora.KeloraError as err:  # a script the command refuses before reading: the same message
        assert code != 0 and not expected
        assert stderr[0].startswith("kelora: " + str(err))
        return
    assert got == expected
    assert p.exit_code == code


def test_there_are_enough_golden_cases_to_compare():
    assert len(list(_golden_cases())) >= 15


# ---------------------------------------------------------------------- behaviour
def test_the_secret_argument_gives_the_cli_tokens_and_the_environment_is_never_changed():
    before = dict(os.environ)
    script = 'e.t = pseudonym(e.u, "users")'
    _, expected = _cli_events(["-j", "-e", script], b'{"u":"ann"}\n')
    _, got = _api_events([("exec", script)], [{"u": "ann"}])
    assert got == expected
    assert dict(os.environ) == before
    # the script cannot read the secret given as an argument
    p = kelora.Pipeline(exec='e.s = get_env("KELORA_SECRET")', secret=SECRET)
    assert list(p.process([{"a": 1}])) == [{"a": 1}]


def test_metrics_and_stats_raise_until_the_run_ends_and_each_process_is_a_new_run():
    p = kelora.Pipeline(exec='track_inc("n")', begin="conf.k = 1")
    with pytest.raises(kelora.KeloraError):
        p.metrics
    gen = p.process([{"a": 1}, {"a": 2}])
    next(gen)
    with pytest.raises(kelora.KeloraError):
        p.stats
    list(gen)
    assert p.metrics == {"n": 2}
    list(p.process([{"a": 3}]))
    assert p.metrics == {"n": 1}
    assert p.stats["events"]["created"] == 1


def test_errors_are_kelora_errors_with_the_cli_message():
    env = Env.for_test(b"{}\n")
    assert run_command(["--ignore-config", "-j", "-e", "e.x = nope(1)"], env) == 1
    with pytest.raises(kelora.ScriptCompileError) as err:
        kelora.Pipeline(exec="e.x = nope(1)")
    assert env.stderr.getvalue() == "kelora: " + str(err.value) + "\n"
    with pytest.raises(kelora.UsageError):
        kelora.Pipeline(exec="e.x = 1", args=["--parallel"])
    with pytest.raises(kelora.UsageError):
        kelora.Pipeline(stages=[("frobnicate", "e.x = 1")])
    with pytest.raises(kelora.UsageError):
        list(kelora.Pipeline().process([object()]))


def test_take_and_exit_end_the_run_early():
    p = kelora.Pipeline(args=["--take", "2"])
    assert list(p.process({"i": i} for i in range(10))) == [{"i": 0}, {"i": 1}]
    p = kelora.Pipeline(exec="if e.i == 3 { exit(4) }")
    assert len(list(p.process({"i": i} for i in range(10)))) == 3
    assert p.exit_code == 4


def test_main_runs_a_command_line_and_returns_its_exit_code(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"a":1}\n{"a":2}\n')
    out = tmp_path / "out.json"
    code = subprocess.run([sys.executable, "-c", "import kelora, sys; sys.exit(kelora.main(sys.argv[1:]) + 10)",
                           "--ignore-config", "-j", str(src), "--filter", "e.a > 1", "-F", "json", "-o", str(out)],
                          capture_output=True, timeout=60).returncode
    assert code == 10
    assert out.read_text() == '{"a":2}\n'
    assert kelora.main(["--ignore-config", "-j", str(tmp_path / "missing.jsonl")]) == 1


# ---------------------------------------------------------------------- hostile and odd callers
def test_a_value_is_never_taken_for_an_option_and_args_that_are_not_a_run_do_nothing(tmp_path, monkeypatch, capfd):
    """Callers pass their users' texts (a filter, a column list): none becomes an option, and an
    option in args= that would do something besides the run is refused before it acts."""
    home = tmp_path / "home"
    (home / "proj" / ".git").mkdir(parents=True)
    (home / "proj" / ".kelora.ini").write_text("defaults = -e 'e.planted = 1'\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.chdir(home / "proj")
    evil = tmp_path / "evil.ini"
    evil.write_text("defaults = --filter 'e.a > 0' -e 'e.planted = 1'\n")
    p = kelora.Pipeline(exclude_keys=[f"--config-file={evil}"])
    assert list(p.process([{"a": 1}, {"a": -1}])) == [{"a": 1}, {"a": -1}]
    with pytest.raises(kelora.ScriptError):
        kelora.Pipeline(filter=f"--config-file={evil}")
    with pytest.raises(kelora.ScriptError):
        kelora.Pipeline(filter="--trust-config")
    for args in (["--save-alias", "zz"], ["--trust-config"], ["--help"], ["--version"], ["--show-config"],
                 ["--config-file", str(evil)], ["-F", "logfmt"], ["-m"], ["--stats=json"], ["-q"],
                 ["--metrics-file", str(tmp_path / "m.json")], ["app.log"], ["--no-input"], ["--parallel"]):
        with pytest.raises(kelora.UsageError, match="not available in kelora.Pipeline"):
            kelora.Pipeline(exec="e.a = 1", args=args)
    assert not (home / ".config").exists()  # no alias saved, nothing trusted
    assert not (tmp_path / "m.json").exists()
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # (no help, no version on the process's streams)


def test_main_runs_where_stdout_has_no_file_descriptor_and_reports_a_bug_in_one_line(monkeypatch, capsys):
    import contextlib

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):  # (a notebook's stdout has no fileno either)
        assert kelora.main(["--version"]) == 0
    assert buf.getvalue() == f"kelora {kelora.__version__}\n"
    import kelora.cli.app as app

    def broken(args, env):
        raise RuntimeError("planted")
    monkeypatch.setattr(app, "run_command", broken)
    monkeypatch.delenv("KELORA_DEBUG", raising=False)
    assert kelora.main(["-j"]) == 134
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: planted" in err and "Traceback" not in err


def test_values_cross_the_dict_boundary_exactly_or_are_refused():
    p = kelora.Pipeline()
    assert list(p.process(['{"n": 18446744073709551616}'])) == [{"n": 18446744073709551616}]
    assert list(p.process([{"n": 2 ** 70, "m": [-(2 ** 80)]}])) == [{"n": 2 ** 70, "m": [-(2 ** 80)]}]
    assert list(p.process([{"a": None, "b": [None]}])) == [{"a": None, "b": [None]}]
    for bad in ({"f": float("nan")}, {"f": [float("inf")]}, {1: "a", "1": "b"}, {"n": 2 ** 70, "k": {2: 1}}):
        with pytest.raises(kelora.UsageError, match="event 1"):
            list(p.process([bad]))


def test_stats_equal_the_cli_and_diagnostics_hold_what_the_cli_prints_at_the_end():
    lines = [b'{"timestamp":"2024-01-01T00:00:00Z","level":"INFO","a":1}',
             b'{"timestamp":"2024-01-01T00:05:00Z","level":"ERROR","a":0,"b":2}', b"not json"]
    env = Env.for_test(b"\n".join(lines) + b"\n")
    run_command(["--ignore-config", "-j", "--filter", "e.a > 0", "--stats=json"], env)
    expected = json.loads(env.stdout.getvalue() or env.stderr.getvalue().split("\n", 1)[1])
    p = kelora.Pipeline(filter="e.a > 0")
    list(p.process(lines))
    got = p.stats
    for doc in (expected, got):
        doc.pop("throughput")
    assert got == expected
    # the end-of-run summary, and exit()'s message
    p = kelora.Pipeline(filter="e.nope.foo > 1")
    list(p.process([{"x": 1}, {"x": 2}]))
    env = Env.for_test(b'{"x":1}\n{"x":2}\n')
    assert run_command(["--ignore-config", "-j", "--filter", "e.nope.foo > 1", "-F", "json"], env) == p.exit_code == 1
    assert p.diagnostics == env.stderr.getvalue() and "Filter errors: 2 total" in p.diagnostics
    p = kelora.Pipeline(exec='exit(3, "stopping here")')
    assert list(p.process([{"x": 1}])) == [] and p.exit_code == 3 and p.diagnostics == "stopping here\n"


def test_control_characters_of_the_data_are_escaped_in_diagnostics_and_errors():
    p = kelora.Pipeline(exec="throw e.m", args=["-v"])
    list(p.process([{"m": "\x1b]0;pwned\x07"}]))
    assert "\x1b" not in p.diagnostics and "\\u{1b}]0;pwned" in p.diagnostics
    with pytest.raises(kelora.FatalError) as err:
        list(kelora.Pipeline(exec="throw e.m", strict=True).process([{"m": "\x1b]0;pwned\x07"}]))
    assert "\x1b" not in str(err.value) and "\\u{1b}" in str(err.value)


def test_pipelines_built_in_threads_at_once_all_compile():
    # (a fresh interpreter: the builtins are loaded on the first lookup, by whichever thread)
    code = ("import kelora, threading\nerrs = []\n"
            "def w():\n    try: kelora.Pipeline(exec='track_inc(\"n\"); e.x = to_int(e.a)')\n"
            "    except Exception as e: errs.append(str(e))\n"
            "ts = [threading.Thread(target=w) for _ in range(6)]\n[t.start() for t in ts]\n[t.join() for t in ts]\n"
            "print(len(errs))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout == "0\n", proc.stderr


def test_the_secret_argument_is_checked_kept_out_of_pickles_and_bytes_work_as_the_environment_gives_them():
    import pickle

    raw = b"\xff\xfe-a-binary-secret-0123456789"
    script = 'e.t = pseudonym(e.u, "users")'
    env = Env.for_test(b'{"u":"ann"}\n', environ={"KELORA_SECRET": raw.decode("utf-8", "surrogateescape")})
    run_command(["--ignore-config", "-j", "-e", script, "-F", "json"], env)
    got = list(kelora.Pipeline(exec=script, secret=raw).process([{"u": "ann"}]))
    assert got == [json.loads(env.stdout.getvalue())]
    p = kelora.Pipeline(exec=script, secret=SECRET)
    with pytest.raises(TypeError) as err:
        pickle.dumps(p)
    assert SECRET not in str(err.value) and SECRET not in repr(vars(p))
    for bad in ("", 12345):
        with pytest.raises(kelora.UsageError) as err:
            kelora.Pipeline(exec=script, secret=bad)
        assert "KELORA_SECRET must" not in str(err.value)
    pickle.loads(pickle.dumps(kelora.Pipeline(exec="e.a = 1")))  # (without a secret: fine)


def test_arguments_and_items_are_checked_and_each_run_has_its_own_results():
    assert list(kelora.Pipeline(keys="msg").process([{"msg": 1, "m": 2}])) == [{"msg": 1}]
    assert list(kelora.Pipeline(exclude_keys="msg").process([{"msg": 1, "m": 2}])) == [{"m": 2}]
    for kw in ({"keys": ["a,b"]}, {"exec": 5}, {"stages": [("exec",)]}, {"args": "-q"}, {"begin": ["x"]},
               {"input_format": None}, {"input_format": "yaml"}):
        with pytest.raises(kelora.UsageError):
            kelora.Pipeline(**kw)
    p = kelora.Pipeline(input_format="logfmt")
    assert list(p.process(["a=1\nb=2\n", b"c=3\r\n"])) == [{"a": 1}, {"b": 2}, {"c": 3}]
    for items in ('{"a":1}', b"{}", None, 5):
        with pytest.raises(kelora.UsageError):
            p.process(items)
    out = list(kelora.Pipeline().process(['{"a":"\ud800"}']))  # (a lone surrogate: invalid UTF-8, as read)
    assert len(out) == 1 and "\ufffd" in out[0]["a"]
    p = kelora.Pipeline(exec="print(e.a)")
    list(p.process([{"a": 1}]))
    list(p.process([{"a": 2}]))
    assert p.printed == b"2\n"
    first = p.process([{"a": 3}])
    next(first)
    list(p.process([{"a": 4}, {"a": 5}]))
    list(first)  # (an older run ending later does not replace the newer one's results)
    assert p.printed == b"4\n5\n" and p.stats["events"]["created"] == 2


def test_script_errors_keep_their_own_render_and_every_error_class_is_exported():
    with pytest.raises(kelora.ScriptSyntaxError) as err:
        kelora.Pipeline(exec="e.x = ")
    assert str(err.value).startswith("Pipeline error: exec script syntax error")
    assert err.value.render().startswith("exec script syntax error")
    for name in ("KeloraError", "UsageError", "FatalError", "ScriptError", "ScriptSyntaxError",
                 "ScriptCompileError", "ScriptRuntimeError", "InputError"):
        assert issubclass(getattr(kelora, name), kelora.KeloraError)


def test_second_probe_cycles_strict_items_eprint_and_odd_streams(monkeypatch):
    import contextlib

    loop: dict = {}
    loop["a"] = loop
    with pytest.raises(kelora.UsageError, match="holds itself"):
        list(kelora.Pipeline().process([loop]))  # (walked forever before)
    got = []
    with pytest.raises(kelora.FatalError):
        for event in kelora.Pipeline(input_format="logfmt", strict=True).process(["a=1\nb=2\nbad line\nc=3"]):
            got.append(event)
    assert got == [{"a": 1}, {"b": 2}]  # the events before the failure, as the command writes them
    p = kelora.Pipeline(exec='eprint("E\x1b[2J")')
    list(p.process([{"a": 1}]))
    assert p.diagnostics == "E\\u{1b}[2J\n"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert kelora.main(iter(["--version"])) == 0  # (an iterator was used up by the type check)
    assert buf.getvalue().startswith("kelora ")
    monkeypatch.setattr(sys, "stderr", None)
    assert kelora.main(["--version"]) == 0
    monkeypatch.undo()
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"a":1}\n'))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert kelora.main(["--ignore-config", "-j", "-F", "json"]) == 0
    assert buf.getvalue() == '{"a":1}\n'
    for bad in (None, 5):
        with pytest.raises(kelora.UsageError):
            kelora.main(bad)
    for kw in ({"stages": [(["exec"], "x")]}, {"exclude_keys": 0}, {"exclude_keys": ""}, {"strict": "no"}):
        with pytest.raises(kelora.UsageError):
            kelora.Pipeline(**kw)
    assert list(kelora.Pipeline(args=["-j"]).process(['{"a":1}'])) == [{"a": 1}]
    with pytest.raises(kelora.UsageError, match="--save-alias"):  # (the parser's suggestion)
        kelora.Pipeline(args=["--save-ali", "zz"])


def test_negative_integers_below_64_bits_stay_exact():
    line = b'{"x": -9223372036854775809, "y": -18446744073709551615}\n'
    env = Env.for_test(line)
    run_command(["--ignore-config", "-j", "-e", "e.z = 1", "-F", "json"], env)
    assert env.stdout.getvalue() == b'{"x":-9223372036854775809,"y":-18446744073709551615,"z":1}\n'
    env = Env.for_test(line)
    run_command(["--ignore-config", "-j", "-F", "json"], env)
    assert env.stdout.getvalue() == b'{"x":-9223372036854775809,"y":-18446744073709551615}\n'
    assert list(kelora.Pipeline().process([{"x": -2 ** 63 - 1}])) == [{"x": -2 ** 63 - 1}]


def test_auto_detection_sees_the_first_lines_together_as_the_command_does():
    """-f auto chooses from the first ~50 lines; fed one item at a time, the API chose from the
    first line alone (a Spark log whose first line holds commas became CSV)."""
    lines = ["17/06/09 20:10:40 INFO x.Backend: Registered signal handlers for [TERM, HUP, INT]"] + [
        f"17/06/09 20:10:{i:02d} INFO y.Manager: step {i} done" for i in range(60)]
    env = Env.for_test(("\n".join(lines) + "\n").encode())
    code = run_command(["--ignore-config", "-f", "auto", "-F", "json"], env)
    expected = [json.loads(line) for line in env.stdout.getvalue().splitlines()]
    assert expected[0] == {"line": lines[0]}
    p = kelora.Pipeline(input_format="auto")
    assert list(p.process(lines)) == expected and p.exit_code == code
    assert list(kelora.Pipeline(input_format="auto").process(lines[:3])) == expected[:3]  # (fewer than 50)
