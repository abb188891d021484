"""`--stats` "Keys output" lists exactly the keys written, after -k/-K (issue 11 item 8),
through the installed `kelora`."""
from __future__ import annotations

import subprocess

import pytest

from tests.cli.test_cli_cases import clean_env
from tests.conftest import KELORA_BIN

EVENTS = b'{"a":1,"b":2,"email":"x@example.org"}\n{"a":3,"c":4}\n'


def _stats_lines(args) -> dict:
    p = subprocess.run([KELORA_BIN, "-j", *args], input=EVENTS, capture_output=True,
                       env=clean_env(), timeout=60)
    text = (p.stdout + p.stderr).decode()
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


@pytest.mark.parametrize("args, written", [
    (["-k", "a", "--stats"], "a"),
    (["-K", "email", "--stats"], "a,b,c"),
    (["-k", "a,c", "-F", "csv", "--stats"], "a,c"),
    (["-K", "email", "--with-stats", "-F", "json"], "a,b,c"),  # the block goes to stderr
    (["-k", "a", "-F", "none", "--stats"], "a"),  # nothing printed: the keys that would be
])
def test_stats_keys_output_lists_the_keys_written(args, written):
    lines = _stats_lines(args)
    assert lines["Keys seen"] == "a,b,c,email"
    assert lines["Keys output"] == written
