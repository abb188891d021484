"""Helpers for the reliability battery: run kelora in-process or as a subprocess, read stats.

The accounting invariant (kelora/report/stats.py) is checked from ``--stats=json`` alone:

    lines.read     = lines.filtered + lines.errors + lines.blank + lines.header + events.created
    events.created = events.output + events.filtered + events.errored
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

from kelora.cli.app import run_command
from kelora.run.env import Env
from tests.conftest import KELORA_BIN

@dataclass
class Result:
    code: int
    out: bytes
    err: str

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "replace")

    def stats(self) -> dict:
        """The --stats=json document (the last JSON object on stdout)."""
        text = self.text
        start = text.rfind('{\n  "format"')
        assert start >= 0, f"no --stats=json document in stdout: {text[-500:]!r} / {self.err[-500:]!r}"
        return json.loads(text[start:])


def run(args: list[str], stdin: bytes = b"", environ: dict | None = None, cwd=None) -> Result:
    """kelora in-process (fast).  Any Python exception escaping run_command fails the test."""
    env = Env.for_test(stdin=stdin, environ=environ or {}, cwd=cwd)
    code = run_command(list(args), env=env)
    return Result(int(code), env.stdout.getvalue(), env.stderr.getvalue())


def run_bin(args: list[str], stdin: bytes | None = b"", environ: dict | None = None,
            timeout: float = 30, cwd=None, preexec_fn=None) -> Result:
    """The installed console script in a subprocess (signals, pipes, rlimits, real exit codes)."""
    assert KELORA_BIN, "the kelora console script is not installed"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    env.update(environ or {})
    p = subprocess.run([KELORA_BIN, *args], input=stdin, capture_output=True, env=env,
                       timeout=timeout, cwd=cwd, preexec_fn=preexec_fn)
    return Result(p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"))


def assert_no_traceback(res: Result) -> None:
    for marker in ("Traceback (most recent call last)",):
        assert marker not in res.err, res.err[-2000:]
        assert marker not in res.text, res.text[-2000:]


def assert_accounting(stats: dict, *, emits: bool = False) -> None:
    """Every line read is filtered, an error, blank, a header, an event or joined to the record of
    an earlier line (CSV quoted newlines); every event is
    output, filtered or errored (not with emit_each, which replaces events)."""
    lines, events = stats["lines"], stats["events"]
    assert lines["read"] == (lines["filtered"] + lines["errors"] + lines["blank"] + lines["header"]
                             + events["created"] + lines.get("joined", 0)), stats
    if not emits:
        assert events["created"] == events["output"] + events["filtered"] + events["errored"], stats


def python_exe() -> str:
    return sys.executable


@pytest.fixture
def tmp(tmp_path):
    return tmp_path
