"""`--csv-safe` (COMPAT D19; issue 11 item 6): spreadsheet formulas are defused in csv/tsv cells.

Cells starting with `=`, `+`, `-`, `@`, TAB or CR get a leading `'` (the OWASP rule); cells that
fully match a number literal (`-5`, `+1.5`, also as strings) and a lone `-` are untouched.
Off by default (Kelora's output); `defaults = --csv-safe` in the config turns it on and
`--no-csv-safe` off again.  Through the installed `kelora`.
"""
from __future__ import annotations

import json
import subprocess

import pytest

from kelora.formats.outputs import csv_safe_text
from tests.cli.test_cli_cases import clean_env
from tests.conftest import KELORA_BIN

EVENT = {"f": '=HYPERLINK("http://evil.example","x")', "p": "+1+2", "m": "-2+3", "a": "@SUM(A1)",
         "t": "\tx", "r": "\rx", "n": -5, "ns": "-5", "pf": "+1.5", "e": "-1e5", "d": "-", "ok": "text",
         "fl": -1.5, "arr": ["=1+1"]}
KEYS = ",".join(EVENT)


def kelora(args, stdin: bytes, env=None, cwd=None):
    proc = subprocess.run([KELORA_BIN, *args], input=stdin, capture_output=True,
                          env=clean_env(env), timeout=60, cwd=cwd)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


DATA = (json.dumps(EVENT) + "\n").encode()


def test_issue_repro_formula_cells_are_defused():
    code, out, err = kelora(["-j", "-k", KEYS, "-F", "csv", "--csv-safe"], DATA)
    assert code == 0, err
    header, row = out.split("\n", 1)
    assert header == KEYS
    assert row == ("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",'+1+2,'-2+3,'@SUM(A1),"
                   "'\tx,\"'\rx\",-5,-5,+1.5,-1e5,-,text,-1.5,'=1+1\n")


def test_without_the_flag_cells_are_written_as_they_are():
    code, out, _ = kelora(["-j", "-k", "f,p,a", "-F", "csv"], DATA)
    assert out.splitlines()[1] == '"=HYPERLINK(""http://evil.example"",""x"")",+1+2,@SUM(A1)'


def test_tsv_too():
    code, out, _ = kelora(["-j", "-k", "p,a,ns", "-F", "tsvnh", "--csv-safe"], DATA)
    assert out == "'+1+2\t'@SUM(A1)\t-5\n"


def test_config_defaults_and_no_csv_safe(tmp_path):
    cfg = tmp_path / "kelora.ini"
    cfg.write_text("defaults = --csv-safe\n")
    args = ["--config-file", str(cfg), "-j", "-k", "p", "-F", "csvnh"]
    assert kelora(args, DATA)[1] == "'+1+2\n"
    assert kelora([*args, "--no-csv-safe"], DATA)[1] == "+1+2\n"


@pytest.mark.parametrize("text, safe", [
    ("=1", "'=1"), ("+x", "'+x"), ("-x", "'-x"), ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("-5", "-5"), ("+1.5", "+1.5"), ("-.5", "-.5"), ("-1e-3", "-1e-3"), ("-", "-"), ("", ""),
    ("- 5", "'- 5"), ("-5-5", "'-5-5"), ("plain", "plain"), ("a=b", "a=b"),
])
def test_the_rule(text, safe):
    assert csv_safe_text(text) == safe
