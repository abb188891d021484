"""`--save-alias` writes safely and stores what it was given (issue 11 item 7, issue 13).

* the config is written through a fresh O_EXCL temporary file in the same folder and renamed:
  a planted ``.kelora.ini.tmp`` symlink (the old fixed name) is never written through;
* scripts round-trip, newlines included, and a newline cannot inject config lines.
"""
from __future__ import annotations

import json

import pytest

from tests.reliability.conftest import assert_no_traceback, run_bin


def kelora(args, cwd, stdin=b""):
    res = run_bin(args, stdin, environ={"HOME": str(cwd), "KELORA_IGNORE_CONFIG": "1"}, cwd=str(cwd))
    assert_no_traceback(res)
    return res


def test_planted_tmp_symlink_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / ".kelora.ini.tmp").symlink_to(victim)
    (tmp_path / "c.ini.tmp").symlink_to(victim)
    for target in (".kelora.ini", "c.ini"):
        (tmp_path / target).write_text("")
        res = kelora(["--config-file", target, "-J", "--save-alias", "js"], tmp_path)
        assert res.code == 0, res.err
        assert (tmp_path / target).read_text() == "[aliases]\njs = -J\n"
    assert victim.read_text() == "precious\n"
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers == [".kelora.ini", ".kelora.ini.tmp", "c.ini", "c.ini.tmp", "victim.txt"]


def test_config_symlink_is_replaced_by_writing_its_target(tmp_path):
    """An explicit --config-file that is a symlink (dotfiles) is updated at its target."""
    real = tmp_path / "dotfiles.ini"
    real.write_text("defaults = -j\n")
    (tmp_path / "link.ini").symlink_to(real)
    res = kelora(["--config-file", "link.ini", "-J", "--save-alias", "js"], tmp_path)
    assert res.code == 0 and (tmp_path / "link.ini").is_symlink()
    assert real.read_text() == "defaults = -j\n\n[aliases]\njs = -J\n"


INJECT = 'e.a = 1;\n[aliases]\nevil = --allow-fs-writes\ndefaults = -F json\ne.b = "\'quoted\'"'


def test_newline_in_a_script_cannot_inject_config_lines(tmp_path):
    (tmp_path / "c.ini").write_text("")
    res = kelora(["--config-file", "c.ini", "-j", "-e", INJECT, "--save-alias", "safe"], tmp_path)
    assert res.code == 0, res.err
    text = (tmp_path / "c.ini").read_text()
    assert text.count("\n") == 2 and "evil" in text  # inside the one quoted value
    # the file still parses, and the alias gives back exactly the script
    from kelora.cli import config_file

    data = config_file.ConfigData()
    config_file.parse_file(tmp_path / "c.ini", data)
    assert set(data.aliases) == {"safe"} and data.defaults is None
    words = config_file.expand(["-a", "safe"], data)
    assert words == ["-j", "-e", INJECT]


@pytest.mark.parametrize("script", [
    "e.a = 1;\ne.b = 2",
    "e.s = \"tab\\there\";\r\ne.t = 'x'",
    "// comment \u2028 e.x = 1\ne.y = \"\u001b[2J\"",
    "e.q = \"$'not ansi'\"",
])
def test_saved_scripts_round_trip_through_a_run(tmp_path, script):
    (tmp_path / "c.ini").write_text("")
    res = kelora(["--config-file", "c.ini", "-j", "-F", "json", "-e", script, "--save-alias", "s"], tmp_path)
    assert res.code == 0, res.err
    assert "\x1b" not in (tmp_path / "c.ini").read_text()
    direct = kelora(["-j", "-F", "json", "-e", script], tmp_path, stdin=b'{"z":0}\n')
    via = kelora(["--config-file", "c.ini", "-a", "s"], tmp_path, stdin=b'{"z":0}\n')
    assert via.code == direct.code and via.out == direct.out, (via.err, direct.err)
    assert json.loads(via.out)["z"] == 0
