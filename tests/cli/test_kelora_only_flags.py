"""Kelora flags this version does not implement say so (exit 2), instead of a "similar argument"
tip that points to an unrelated flag (`--span-close` is not `--fail-closed`)."""
import subprocess

import pytest

import kelora
from kelora.cli.app import KELORA_ONLY_FLAGS
from tests.conftest import KELORA_BIN


@pytest.mark.parametrize("flag", sorted(KELORA_ONLY_FLAGS))
def test_each_kelora_only_flag_is_named_as_unsupported(flag, capsys):
    assert kelora.main(["-j", flag, "x", "/dev/null"]) == 2
    err = capsys.readouterr().err
    assert f"error: unexpected argument '{flag}' found" in err
    assert f"tip: {flag}" in err and "is not supported by this version of kelora" in err
    assert "similar argument" not in err


def test_through_the_command():
    got = subprocess.run([KELORA_BIN, "--span-close", "x"], input=b"{}\n", capture_output=True)
    assert got.returncode == 2
    assert b"tip: --span-close is not supported by this version of kelora" in got.stderr
