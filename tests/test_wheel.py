"""The installed wheel works on its own: the grammar ships inside the package."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile

from tests.conftest import ROOT


def test_wheel_contains_grammar_and_runs_without_the_checkout(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(ROOT)],
        capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    wheel = next((tmp_path / "dist").glob("kelora-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "kelora/kelora.lark" in names
        assert any(n.startswith("kelora-") and n.endswith("entry_points.txt") for n in names)
        zf.extractall(tmp_path / "site")
    # Run from the unpacked wheel only (no grammar/ folder beside it), in a fresh interpreter.
    script = (
        "import kelora, kelora.lang.parser as p;"
        "from kelora.lang import compile_script;"
        "from kelora.context import RunContext, Scope;"
        "prog = compile_script('e.a * 2', label='filter', mode='expression', stage='filter');"
        "print(kelora.__file__); print(prog.run(Scope({'a': 21}, {}, RunContext())))"
    )
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"))
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    where, value = run.stdout.split()
    assert where.startswith(str(tmp_path / "site")), "imported the checkout, not the wheel"
    assert value == "42"
