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
