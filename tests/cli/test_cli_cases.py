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

`{ROOT}` in args is replaced by the repository root (for examples/).  Multi-line TOML strings
drop their first newline, so the blocks above read naturally.
"""
from __future__ import annotations

import json
import os
import subprocess
import tomllib
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
            yield pytest.param(case, id=f"{path.stem}::{name}")


def clean_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KELORA_") and k not in ("FORCE_COLOR", "NO_COLOR", "NO_EMOJI")}
    env["KELORA_IGNORE_CONFIG"] = "1"
    env["COLUMNS"] = "100"
    env.update({k: str(v) for k, v in (extra or {}).items()})
    return env


def run_case(case: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    for name, content in case.get("files", {}).items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content, encoding="utf-8")
        else:  # {hex = "..."} for binary fixtures
            target.write_bytes(bytes.fromhex(content["hex"]))
    args = [a.replace("{ROOT}", str(ROOT)) for a in case.get("args", [])]
    stdin = case.get("stdin")
    return subprocess.run(
        [KELORA_BIN, *args],
        input=stdin.encode("utf-8") if stdin is not None else b"",
        capture_output=True,
        cwd=tmp_path,
        env=clean_env(case.get("env")),
        timeout=60,
    )


@pytest.mark.parametrize("case", list(_load_cases()))
def test_cli_case(case, tmp_path):
    proc = run_case(case, tmp_path)
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
    if "stdout_json" in case:
        got = [json.loads(line) for line in out.splitlines() if line.strip()]
        assert got == case["stdout_json"], context
    if "stderr" in case:
        assert err == case["stderr"], context
    for needle in case.get("stderr_contains", []):
        assert needle in err, f"missing in stderr: {needle!r}{context}"
    for needle in case.get("stderr_not_contains", []):
        assert needle not in err, f"unexpected in stderr: {needle!r}{context}"
    for name, content in case.get("files_after", {}).items():
        target = tmp_path / name
        assert target.exists(), f"{name} was not written{context}"
        assert target.read_text(encoding="utf-8") == content, context
    for name in case.get("absent_after", []):
        assert not (tmp_path / name).exists(), f"{name} should not exist{context}"
