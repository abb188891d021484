"""CLI golden cases: `tests/cli/*.toml`, each case run through the installed `kelora` command.

A case:

    [[case]]
    name = "filter keeps 5xx"
    args = ["-j", "--filter", "e.status >= 500"]
    stdin = '''
    {"status":200}
    {"status":503}
    '''
    stdout = '''
    {"status":503}
    '''                       # exact; or stdout_contains = [...]; stdout_json = [...] (parsed lines)
    stderr = ""               # exact; or stderr_contains = [...] / stderr_not_contains = [...]
    exit = 0
    env = { KELORA_SECRET = "s" }   # added to a clean environment
    files = { "in.log" = "..." }    # created in the case's working directory first
    files_after = { "out.json" = "..." }  # files expected to exist afterwards with this content
    absent_after = ["out.json"]     # files that must not exist afterwards

More keys:

    stdin_hex = "1f8b08..."         # binary stdin (instead of `stdin`)
    files = { "x.gz" = { hex = "1f8b..." }, "secret" = { text = "s3cret", mode = "600" } }
    unset_env = ["KELORA_IGNORE_CONFIG"]  # removed from the environment (config discovery cases)
    cwd = "sub/dir"                 # run in this subfolder of the case directory (created)
    stdout_regex = '...'            # re.fullmatch (DOTALL) against stdout; also stderr_regex
    files_after_contains = { "out" = ["..."] }
    xfail = "reason"                # a known bug: the case must fail (strict xfail)

`{ROOT}` in args is replaced by the repository root (for examples/), `{DIR}` in args and env
values by the case's directory.  Multi-line TOML strings drop their first newline, so the blocks
above read naturally.

The processes of all selected cases are started up front on a thread pool (each case is a
separate `kelora` process, so this is safe) and each test then checks its own result: the suite
costs about (cases x start-up time) / cores instead of cases x start-up time.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import KELORA_BIN, ROOT

CASE_DIR = Path(__file__).parent


def _load_cases():
    only = os.environ.get("KELORA_CASES")
    for path in sorted(CASE_DIR.glob("*.toml")):
        if only and only not in path.name:
            continue
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        seen = set()
        for i, case in enumerate(data.get("case", [])):
            name = case.get("name", f"case{i}")
            assert name not in seen, f"duplicate case name {name} in {path.name}"
            seen.add(name)
            marks = [pytest.mark.xfail(reason=case["xfail"], strict=True)] if case.get("xfail") else []
            yield pytest.param(case, id=f"{path.stem}::{name}", marks=marks)


def clean_env(extra: dict | None = None, unset: list | None = None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KELORA_") and k not in ("FORCE_COLOR", "NO_COLOR", "NO_EMOJI")}
    env["KELORA_IGNORE_CONFIG"] = "1"
    env["COLUMNS"] = "100"
    env.update({k: str(v) for k, v in (extra or {}).items()})
    for name in unset or ():
        env.pop(name, None)
    return env


def _write_files(case: dict, base: Path) -> None:
    for name, content in case.get("files", {}).items():
        target = base / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content, encoding="utf-8")
        elif "hex" in content:  # {hex = "..."} for binary fixtures
            target.write_bytes(bytes.fromhex(content["hex"]))
        else:
            target.write_text(content["text"], encoding="utf-8")
        if isinstance(content, dict) and "mode" in content:
            os.chmod(target, int(content["mode"], 8))


def run_case(case: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    _write_files(case, tmp_path)
    here = str(tmp_path)
    args = [a.replace("{ROOT}", str(ROOT)).replace("{DIR}", here) for a in case.get("args", [])]
    extra = {k: str(v).replace("{DIR}", here) for k, v in case.get("env", {}).items()}
    cwd = tmp_path / case["cwd"] if "cwd" in case else tmp_path
    cwd.mkdir(parents=True, exist_ok=True)
    if "stdin_hex" in case:
        data = bytes.fromhex(case["stdin_hex"])
    else:
        stdin = case.get("stdin")
        data = stdin.encode("utf-8") if stdin is not None else b""
    return subprocess.run(
        [KELORA_BIN, *args],
        input=data,
        capture_output=True,
        cwd=cwd,
        env=clean_env(extra, case.get("unset_env")),
        timeout=60,
    )


@pytest.fixture(scope="session")
def case_results(request, tmp_path_factory):
    """Run every selected case concurrently; map case id -> (process, directory)."""
    wanted = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "case" in callspec.params and item.originalname == "test_cli_case":
            wanted.append((callspec.id, callspec.params["case"]))

    # folders are made here, in one thread: tmp_path_factory is not thread-safe
    jobs = [(case_id, case, tmp_path_factory.mktemp("case")) for case_id, case in wanted]

    def one(job):
        case_id, case, folder = job
        return case_id, (run_case(case, folder), folder)

    workers = max(2, (os.cpu_count() or 2) * 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(one, jobs))


@pytest.mark.parametrize("case", list(_load_cases()))
def test_cli_case(case, request, case_results):
    proc, tmp_path = case_results[request.node.callspec.id]
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    context = f"\nargs: {case.get('args')}\n--- stdout ---\n{out}\n--- stderr ---\n{err}"
    assert "Traceback (most recent call last)" not in err, context
    if "exit" in case:
        assert proc.returncode == case["exit"], context
    if "stdout" in case:
        assert out == case["stdout"], context
    for needle in case.get("stdout_contains", []):
        assert needle in out, f"missing in stdout: {needle!r}{context}"
    for needle in case.get("stdout_not_contains", []):
        assert needle not in out, f"unexpected in stdout: {needle!r}{context}"
    if "stdout_regex" in case:
        assert re.fullmatch(case["stdout_regex"], out, re.DOTALL), context
    if "stdout_json" in case:
        got = [json.loads(line) for line in out.splitlines() if line.strip()]
        assert got == case["stdout_json"], context
    if "stderr" in case:
        assert err == case["stderr"], context
    for needle in case.get("stderr_contains", []):
        assert needle in err, f"missing in stderr: {needle!r}{context}"
    for needle in case.get("stderr_not_contains", []):
        assert needle not in err, f"unexpected in stderr: {needle!r}{context}"
    if "stderr_regex" in case:
        assert re.fullmatch(case["stderr_regex"], err, re.DOTALL), context
    for name, content in case.get("files_after", {}).items():
        target = tmp_path / name
        assert target.exists(), f"{name} was not written{context}"
        assert target.read_text(encoding="utf-8") == content, context
    for name, needles in case.get("files_after_contains", {}).items():
        target = tmp_path / name
        assert target.exists(), f"{name} was not written{context}"
        text = target.read_text(encoding="utf-8")
        for needle in needles:
            assert needle in text, f"missing in {name}: {needle!r}{context}"
    for name in case.get("absent_after", []):
        assert not (tmp_path / name).exists(), f"{name} should not exist{context}"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".kelora-")]
    assert not leftovers, f"temporary files left behind: {leftovers}{context}"
